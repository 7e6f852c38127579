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
	"github.com/santokit/santokit/packages/core/dbtarget"
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
	s := New(st, rotRing(t, 1), auth.RBAC{Store: st}, &dbtarget.Policy{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
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

// listAuthz refuses project "hidden" and fails on project "broken".
type listAuthz struct{}

func (listAuthz) Authorize(_ context.Context, _ auth.Principal, _ auth.Action, t auth.Target) error {
	switch t.Project {
	case "hidden":
		return apierr.New(apierr.Forbidden, "no role on project hidden")
	case "broken":
		return apierr.Wrap(apierr.Internal, errors.New("store gone"), "internal error")
	}
	return nil
}

// A project the caller may not read is left out of the list; a failure to
// decide is an error, never a silently shorter list.
func TestListProjectsRefusalAndFailure(t *testing.T) {
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	setup := New(st, rotRing(t, 1), auth.AllowAll{}, &dbtarget.Policy{}, log)
	for _, name := range []string{"demo", "hidden"} {
		if _, err := setup.CreateProject(t.Context(), auth.Dev(), hubapi.CreateProject{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	s := New(st, rotRing(t, 1), listAuthz{}, &dbtarget.Policy{}, log)
	got, err := s.ListProjects(t.Context(), auth.Dev())
	if err != nil || len(got) != 1 || got[0].Name != "demo" {
		t.Fatalf("list: %+v, %v; want demo alone", got, err)
	}
	if _, err := setup.CreateProject(t.Context(), auth.Dev(), hubapi.CreateProject{Name: "broken"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ListProjects(t.Context(), auth.Dev()); err == nil || apierr.As(err).Code != apierr.Internal {
		t.Fatalf("list with a failing decision: %+v, %v; want the error", got, err)
	}
}
