package commands

import (
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Tree returns stk's whole command tree, completion included, for
// documentation: the CLI reference in docs/cli is generated from it (make
// docs). Its flags hold the defaults --help prints; nothing in it reads the
// environment, so the tree is the same on every machine.
func Tree() *cobra.Command {
	a := newApp(strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" })
	a.version = "dev"
	return a.newRoot()
}
