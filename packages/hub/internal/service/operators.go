package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/core/names"
	"github.com/santokit/santokit/packages/core/requestid"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// Operator auth (SPEC §7.1): bootstrap, login, refresh with rotation and
// reuse detection, logout, whoami, and user accounts.

// SessionTTL is how long a login session (and a refresh token) lives.
const SessionTTL = 30 * 24 * time.Hour

// ErrNoOperator: an enforced Hub with no user and no bootstrap variables.
var ErrNoOperator = errors.New("no operator user exists yet: set STK_BOOTSTRAP_ADMIN_EMAIL and " +
	"STK_BOOTSTRAP_ADMIN_PASSWORD (at least 12 characters) for the first start; they create the first org owner " +
	"and are ignored once a user exists (or set STK_DISABLE_AUTH=true for local development only)")

// Bootstrap creates the first org owner when no user exists. With users
// present the variables are ignored (reported as false).
func (s *Service) Bootstrap(ctx context.Context, email, password string) (created bool, err error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if email == "" || password == "" {
		return false, ErrNoOperator
	}
	email, err = names.Email("email", email)
	if err != nil {
		return false, fmt.Errorf("STK_BOOTSTRAP_ADMIN_EMAIL: %w", err)
	}
	if err := auth.CheckNewPassword(password); err != nil {
		return false, fmt.Errorf("STK_BOOTSTRAP_ADMIN_PASSWORD: %w", err)
	}
	org, err := s.store.GetOrg(ctx, store.DefaultOrg)
	if err != nil {
		return false, err
	}
	u, err := s.newUser(ctx, email, password)
	if err != nil {
		return false, err
	}
	if err := s.store.CreateUser(ctx, u, org.ID, auth.OrgOwner); err != nil {
		return false, err
	}
	s.append(ctx, auth.Principal{Name: "bootstrap (STK_BOOTSTRAP_ADMIN_EMAIL)"}, org.ID, "", auth.UserCreate,
		"user "+email+" as owner of org "+store.DefaultOrg, outcomeSuccess)
	return true, nil
}

func (s *Service) newUser(ctx context.Context, email, password string) (store.User, error) {
	var hash string
	err := s.hashing(ctx, func() (err error) {
		hash, err = auth.HashPassword(password)
		return err
	})
	if err != nil {
		return store.User{}, err
	}
	return store.User{ID: ids.New(ids.User), Email: email, PasswordHash: hash, Status: store.UserActive, CreatedAt: s.now()}, nil
}

// hashing runs fn (an argon2id hash, 19 MiB and tens of milliseconds)
// once one of a few slots is free, so that a burst of logins cannot make
// the Hub allocate memory without bound; waiting ends with ctx.
func (s *Service) hashing(ctx context.Context, fn func() error) error {
	select {
	case s.hashSlots <- struct{}{}:
		defer func() { <-s.hashSlots }()
		return fn()
	case <-ctx.Done():
		return apierr.Wrap(apierr.ServiceUnavailable, ctx.Err(), "the Hub is busy checking passwords: try again")
	}
}

var errBadLogin = apierr.New(apierr.Unauthorized, "wrong email or password")

// Login checks an email and password and opens a session. A wrong password
// and an unknown or disabled account give the same 401 after the same work
// (SPEC §7.1); failures count against the email and the client address.
func (s *Service) Login(ctx context.Context, in hubapi.Login, clientAddr string) (hubapi.Tokens, error) {
	if in.Email == "" || in.Password == "" {
		return hubapi.Tokens{}, apierr.New(apierr.BadRequest, "email and password are required")
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	// The email counts by its digest: the limiter keeps its keys for a
	// window, and the body may carry an email of a megabyte.
	digest := sha256.Sum256([]byte(email))
	keys := []string{"email:" + hex.EncodeToString(digest[:16]), "addr:" + clientAddr}
	if wait := s.logins.Blocked(keys...); wait > 0 {
		return hubapi.Tokens{}, apierr.New(apierr.TooManyRequests, "too many failed logins: try again in %d seconds", retryAfter(wait)).
			WithHeader("Retry-After", strconv.Itoa(retryAfter(wait)))
	}
	u, err := s.store.GetUserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return hubapi.Tokens{}, storeErr(err, "user")
	}
	var ok bool
	if err := s.hashing(ctx, func() error {
		ok = auth.VerifyPassword(u.PasswordHash, in.Password) // an unknown email checks a dummy hash
		return nil
	}); err != nil {
		return hubapi.Tokens{}, err
	}
	if !ok || u.Status != store.UserActive {
		s.logins.Fail(keys...)
		return hubapi.Tokens{}, errBadLogin
	}
	return s.openSession(ctx, u.ID)
}

// openSession starts a login session for userID and answers its first
// token pair: the one path of password and OAuth logins, so refresh
// rotation and reuse detection are the same for both.
func (s *Service) openSession(ctx context.Context, userID string) (hubapi.Tokens, error) {
	now := s.now()
	refresh, hash, err := auth.NewSecret(auth.RefreshPrefix)
	if err != nil {
		return hubapi.Tokens{}, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	sess := store.Session{ID: ids.New(ids.Session), UserID: userID, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := s.store.CreateSession(ctx, sess, hash, sess.ExpiresAt); err != nil {
		return hubapi.Tokens{}, storeErr(err, "session")
	}
	return s.tokens(ctx, userID, sess.ID, refresh)
}

func retryAfter(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

func (s *Service) tokens(ctx context.Context, userID, sessionID, refresh string) (hubapi.Tokens, error) {
	access, _, err := s.keys.Sign(ctx, userID, sessionID)
	if err != nil {
		return hubapi.Tokens{}, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	return hubapi.Tokens{AccessToken: access, RefreshToken: refresh, ExpiresIn: int(auth.AccessTTL / time.Second),
		TokenType: "Bearer"}, nil
}

// Refresh exchanges a refresh token for new tokens. The presented token is
// spent; presenting it again revokes the whole session (SPEC §7.1).
func (s *Service) Refresh(ctx context.Context, in hubapi.Refresh) (hubapi.Tokens, error) {
	if in.RefreshToken == "" {
		return hubapi.Tokens{}, apierr.New(apierr.BadRequest, "refreshToken is required").
			WithDetail("problems", []apierr.Problem{{Path: "refreshToken", Message: "required"}})
	}
	if !strings.HasPrefix(in.RefreshToken, auth.RefreshPrefix) {
		return hubapi.Tokens{}, apierr.New(apierr.Unauthorized, "refresh token is invalid")
	}
	now := s.now()
	refresh, hash, err := auth.NewSecret(auth.RefreshPrefix)
	if err != nil {
		return hubapi.Tokens{}, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	sess, err := s.store.RotateRefresh(ctx, auth.HashSecret(in.RefreshToken), hash, now, now.Add(SessionTTL))
	switch {
	case errors.Is(err, store.ErrRefreshReused):
		s.log.Warn("refresh token reused: session revoked", "requestId", requestid.From(ctx))
		return hubapi.Tokens{}, apierr.New(apierr.Unauthorized, "refresh token was already used: the session is revoked, log in again")
	case errors.Is(err, store.ErrNotFound):
		return hubapi.Tokens{}, apierr.New(apierr.Unauthorized, "refresh token is invalid, expired or revoked: log in again")
	case err != nil:
		return hubapi.Tokens{}, storeErr(err, "session")
	}
	u, err := s.store.GetUser(ctx, sess.UserID)
	if err != nil {
		return hubapi.Tokens{}, storeErr(err, "user")
	}
	if u.Status != store.UserActive {
		return hubapi.Tokens{}, apierr.New(apierr.Unauthorized, "this user is disabled")
	}
	return s.tokens(ctx, u.ID, sess.ID, refresh)
}

// Logout ends the caller's session, or the session of the given refresh
// token (which must belong to the caller).
func (s *Service) Logout(ctx context.Context, p auth.Principal, in hubapi.Refresh) error {
	sessionID := p.SessionID
	if in.RefreshToken != "" {
		sess, err := s.store.SessionOfRefresh(ctx, auth.HashSecret(in.RefreshToken))
		// Holding the refresh token is proof enough to end its session,
		// even when the access token has expired; an operator may not end
		// another user's session with a token it somehow holds (nor its
		// own instead, as if that had been asked).
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Not a live session's: the bearer's session, if any, ends.
		case err != nil:
			return storeErr(err, "session")
		case !p.Authenticated() || p.Kind == auth.KindDev || sess.UserID == p.UserID:
			sessionID = sess.ID
		default:
			return apierr.New(apierr.Forbidden, "that refresh token belongs to another user's session")
		}
	}
	if !p.Authenticated() && sessionID == "" {
		return auth.Unauthenticated(p)
	}
	if sessionID == "" {
		return apierr.New(apierr.BadRequest, "nothing to log out: a CI token has no session (revoke it with stk token revoke)")
	}
	if err := s.store.RevokeSession(ctx, sessionID, s.now()); err != nil {
		return storeErr(err, "session")
	}
	return nil
}

// Whoami describes the caller and its memberships.
func (s *Service) Whoami(ctx context.Context, p auth.Principal) (hubapi.Whoami, error) {
	if !p.Authenticated() {
		return hubapi.Whoami{}, auth.Unauthenticated(p)
	}
	out := hubapi.Whoami{Kind: p.Kind, ID: p.ID, Name: p.Name, Orgs: []hubapi.Membership{}, Projects: []hubapi.Membership{},
		TokenProject: p.TokenProject, TokenRole: p.TokenRole, ExpiresAt: p.ExpiresAt}
	if p.Kind == auth.KindDev {
		return out, nil
	}
	u, err := s.store.GetUser(ctx, p.UserID)
	if err != nil {
		return hubapi.Whoami{}, storeErr(err, "user")
	}
	out.Email = u.Email
	for _, t := range []struct {
		table store.MemberTable
		into  *[]hubapi.Membership
		org   bool
	}{{store.OrgMembers, &out.Orgs, true}, {store.ProjectMembers, &out.Projects, false}} {
		rows, err := s.store.ListMemberships(ctx, t.table, u.ID)
		if err != nil {
			return hubapi.Whoami{}, storeErr(err, "memberships")
		}
		for _, m := range rows {
			*t.into = append(*t.into, memberOut(m, t.org, false))
		}
	}
	return out, nil
}

// CreateUser creates an operator account (org owners and admins of the
// Hub's default org). The new user has no role until `stk member add`.
func (s *Service) CreateUser(ctx context.Context, p auth.Principal, in hubapi.CreateUser) (hubapi.User, error) {
	email, err := names.Email("email", in.Email)
	if err != nil {
		return hubapi.User{}, err
	}
	if err := auth.CheckNewPassword(in.Password); err != nil {
		return hubapi.User{}, apierr.New(apierr.BadRequest, "%s", err.Error()).
			WithDetail("problems", []apierr.Problem{{Path: "password", Message: err.Error()}})
	}
	if err := s.authorize(ctx, p, auth.UserCreate, auth.Target{Org: store.DefaultOrg}); err != nil {
		return hubapi.User{}, err
	}
	u, err := s.newUser(ctx, email, in.Password)
	if err != nil {
		return hubapi.User{}, apierr.Wrap(apierr.Internal, err, "internal error")
	}
	if err := s.store.CreateUser(ctx, u, "", ""); err != nil {
		return hubapi.User{}, storeErr(err, "user "+email)
	}
	s.recordOrg(ctx, p, store.DefaultOrg, auth.UserCreate, "user "+email)
	return userOut(u), nil
}

// ListUsers lists every operator account.
func (s *Service) ListUsers(ctx context.Context, p auth.Principal) ([]hubapi.User, error) {
	if err := s.authorize(ctx, p, auth.UserRead, auth.Target{Org: store.DefaultOrg}); err != nil {
		return nil, err
	}
	rows, err := s.store.ListUsers(ctx)
	if err != nil {
		return nil, storeErr(err, "users")
	}
	out := make([]hubapi.User, 0, len(rows))
	for _, u := range rows {
		out = append(out, userOut(u))
	}
	return out, nil
}

// DisableUser disables an account: its sessions end and its CI tokens stop
// working at once. Only an owner may disable an owner, and nobody disables
// themselves (that would lock the last owner out).
func (s *Service) DisableUser(ctx context.Context, p auth.Principal, email string) (hubapi.User, error) {
	if err := s.authorize(ctx, p, auth.UserDisable, auth.Target{Org: store.DefaultOrg}); err != nil {
		return hubapi.User{}, err
	}
	u, err := s.store.GetUserByEmail(ctx, strings.ToLower(email))
	if err != nil {
		return hubapi.User{}, storeErr(err, "user "+email)
	}
	if u.ID == p.UserID {
		return hubapi.User{}, apierr.New(apierr.Conflict, "you cannot disable your own account")
	}
	if err := s.needOwnerFor(ctx, p, auth.UserDisable, u.ID); err != nil {
		return hubapi.User{}, err
	}
	if err := s.store.DisableUser(ctx, u.ID, s.now()); err != nil {
		return hubapi.User{}, storeErr(err, "user "+email)
	}
	u.Status = store.UserDisabled
	s.recordOrg(ctx, p, store.DefaultOrg, auth.UserDisable, "user "+u.Email)
	return userOut(u), nil
}

// needOwnerFor refuses a non-owner acting (action) on an owner of any org
// the caller is not owner of, and records the refusal.
func (s *Service) needOwnerFor(ctx context.Context, p auth.Principal, action auth.Action, userID string) error {
	if p.Kind == auth.KindDev {
		return nil
	}
	orgs, err := s.store.ListMemberships(ctx, store.OrgMembers, userID)
	if err != nil {
		return storeErr(err, "memberships")
	}
	for _, m := range orgs {
		if m.Role != auth.OrgOwner {
			continue
		}
		mine, err := s.store.Role(ctx, store.OrgMembers, m.Scope, p.UserID)
		if err != nil {
			return storeErr(err, "memberships")
		}
		if mine != auth.OrgOwner {
			return s.deny(ctx, p, m.Scope, "", action, "user "+m.Email,
				apierr.New(apierr.Forbidden, "only an owner of org %s may change its owner %s", m.ScopeName, m.Email))
		}
	}
	return nil
}

func userOut(u store.User) hubapi.User {
	return hubapi.User{ID: u.ID, Email: u.Email, Status: u.Status, CreatedAt: u.CreatedAt}
}

// recordOrg appends a successful org-level event.
func (s *Service) recordOrg(ctx context.Context, p auth.Principal, orgName string, action auth.Action, target string) {
	org, err := s.store.GetOrg(ctx, orgName)
	if err != nil {
		s.log.Error("audit event not stored: org missing", "requestId", requestid.From(ctx), "action", string(action))
		return
	}
	s.append(ctx, p, org.ID, "", action, target, outcomeSuccess)
}
