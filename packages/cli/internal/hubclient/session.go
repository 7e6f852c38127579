package hubclient

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/santokit/santokit/packages/cli/internal/credentials"
)

// RefreshMargin is how long before its expiry an access token is refreshed.
const RefreshMargin = 60 * time.Second

// RefreshTimeout bounds one refresh call, which runs to its end even when
// the command's context ends first (Session.refresh says why). Processes
// waiting for the credentials lock meanwhile wait longer than this.
const RefreshTimeout = 20 * time.Second

// Auth supplies the bearer token of requests.
type Auth interface {
	// Token is the token to send ("" for none).
	Token(ctx context.Context) (string, error)
	// Renew is asked once when the Hub answered 401 to rejected; it
	// returns a different token to retry with, or "" to give up.
	Renew(ctx context.Context, rejected string) (string, error)
}

// Session is the Auth of a login stored under one profile of a
// credentials store. It refreshes the access token shortly before it
// expires, and once after a 401, with the file's lock held and the file
// read again under it: when another process has refreshed meanwhile, its
// tokens are used instead of presenting the rotated refresh token again
// (which the Hub treats as theft and answers by revoking the session).
type Session struct {
	store   *credentials.Store
	profile string
	client  *Client
	now     func() time.Time
}

// WithSession makes the client authenticate with the login stored under
// profile in store. The tokens are only sent when the entry's Hub URL is
// the client's.
func WithSession(store *credentials.Store, profile string) Option {
	return func(c *Client) {
		c.auth = &Session{store: store, profile: profile, client: c, now: time.Now}
	}
}

// SessionEndedError means the Hub refused the stored refresh token (expired,
// revoked, or the session ended): the profile's entry has been removed and
// only a new login helps.
type SessionEndedError struct {
	Profile string
	HubURL  string
	// Err is the Hub's answer to the refresh.
	Err *Error
}

func (e *SessionEndedError) Error() string {
	return "the login of profile " + e.Profile + " at " + e.HubURL + " has expired or was revoked (" + e.Err.Message + ")"
}

func (e *SessionEndedError) Unwrap() error { return e.Err }

// entry is the profile's login, if it belongs to the client's Hub.
func (s *Session) entry(f credentials.File) (credentials.Entry, bool) {
	e, ok := f.Profiles[s.profile]
	if !ok || e.AccessToken == "" || credentials.NormalizeHub(e.Hub) != s.client.HubKey() {
		return credentials.Entry{}, false
	}
	return e, true
}

// fresh reports whether e's access token is usable without a refresh. An
// unknown expiry counts as fresh: a 401 will tell.
func (s *Session) fresh(e credentials.Entry) bool {
	return e.AccessExpiresAt.IsZero() || s.now().Add(RefreshMargin).Before(e.AccessExpiresAt)
}

// Token returns the stored access token, refreshed first when it expires
// within RefreshMargin; "" when the profile has no login at this Hub.
func (s *Session) Token(ctx context.Context) (string, error) {
	f, err := s.store.Load()
	if err != nil {
		return "", err
	}
	e, ok := s.entry(f)
	if !ok {
		return "", nil
	}
	if s.fresh(e) {
		return e.AccessToken, nil
	}
	return s.refresh(ctx, e.AccessToken)
}

// Renew refreshes after the Hub rejected the access token rejected.
func (s *Session) Renew(ctx context.Context, rejected string) (string, error) {
	return s.refresh(ctx, rejected)
}

// refresh replaces the access token stale. Under the lock it reads the file
// again: a different, fresh access token there means another process has
// refreshed already, and that one is used.
func (s *Session) refresh(ctx context.Context, stale string) (string, error) {
	var token string
	var ended *SessionEndedError
	err := s.store.Update(ctx, func(f *credentials.File) (bool, error) {
		e, ok := s.entry(*f)
		if !ok {
			return false, nil // logged out meanwhile
		}
		if e.AccessToken != stale && s.fresh(e) {
			token = e.AccessToken
			return false, nil
		}
		if e.RefreshToken == "" {
			token = e.AccessToken // nothing to refresh with: let the Hub judge
			return false, nil
		}
		// Once sent, the refresh must be seen through whatever happens to
		// the caller (^C, a completion's deadline): the Hub rotates the
		// token on receipt, and an answer lost here would leave the old,
		// now used, refresh token in the file for the next command to
		// present — which the Hub takes for theft and ends the session.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RefreshTimeout)
		defer cancel()
		t, err := s.client.Refresh(rctx, e.RefreshToken)
		if err != nil {
			var he *Error
			if errors.As(err, &he) && he.Status == http.StatusUnauthorized {
				delete(f.Profiles, s.profile)
				ended = &SessionEndedError{Profile: s.profile, HubURL: s.client.URL(), Err: he}
				return true, nil
			}
			return false, err
		}
		if t.AccessToken == "" {
			return false, &ResponseError{HubURL: s.client.URL(), Status: http.StatusOK, Reason: "no accessToken in the refresh answer"}
		}
		e.AccessToken, e.RefreshToken = t.AccessToken, t.RefreshToken
		e.AccessExpiresAt = ExpiresAt(s.now(), t.ExpiresIn)
		f.Profiles[s.profile] = e
		token = e.AccessToken
		return true, nil
	})
	if err != nil {
		return "", err
	}
	if ended != nil {
		return "", ended
	}
	return token, nil
}

// ExpiresAt is when a token that lives expiresIn seconds from now expires
// (zero when the Hub did not say).
func ExpiresAt(now time.Time, expiresIn int) time.Time {
	if expiresIn <= 0 {
		return time.Time{}
	}
	return now.UTC().Add(time.Duration(expiresIn) * time.Second).Truncate(time.Second)
}
