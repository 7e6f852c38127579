package commands

import (
	"testing"

	"github.com/santokit/santokit/internal/testpg"
)

// TestMain stops the throwaway PostgreSQL cluster that `stk dev --db`
// tests start on first use.
func TestMain(m *testing.M) { testpg.Main(m) }
