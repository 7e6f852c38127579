package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// Password hashes wait for a free slot, so a burst of logins cannot make
// the Hub allocate 19 MiB per request without bound; a caller that gives up
// while waiting gets 503, and logins proceed once a slot frees.
func TestPasswordHashSlots(t *testing.T) {
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(st, rotRing(t, 1), auth.RBAC{Store: st}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := s.Bootstrap(t.Context(), "owner@example.com", "a-long-enough-password"); err != nil {
		t.Fatal(err)
	}
	for range cap(s.hashSlots) {
		s.hashSlots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = s.Login(ctx, hubapi.Login{Email: "owner@example.com", Password: "a-long-enough-password"}, "127.0.0.1")
	var e *apierr.Error
	if !errors.As(err, &e) || e.Code != apierr.ServiceUnavailable {
		t.Fatalf("login with every slot taken: %v", err)
	}
	for range cap(s.hashSlots) {
		<-s.hashSlots
	}
	if _, err := s.Login(t.Context(), hubapi.Login{Email: "owner@example.com", Password: "a-long-enough-password"}, "127.0.0.1"); err != nil {
		t.Fatalf("login with free slots: %v", err)
	}
}
