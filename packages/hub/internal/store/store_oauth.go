package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Operator login through OAuth/OIDC providers (SPEC §7.1, decision 0026):
// linked identities, logins in progress at a provider, one-time codes for
// the CLI's loopback and device codes. Every code and state is stored as a
// digest the caller computes; the store never sees a usable secret.

// Identity links (Provider, Subject) to an operator user.
type Identity struct {
	Provider    string
	Subject     string
	UserID      string
	Email       string
	CreatedAt   time.Time
	LastLoginAt time.Time
}

// OAuthFlow is a login in progress at a provider, keyed by the digest of
// the Hub's state. A browser flow has RedirectURI, CLIState and
// CodeChallenge; a device flow has DeviceHash. Ciphertext holds the Hub's
// PKCE verifier and nonce, sealed under KeyVersion.
type OAuthFlow struct {
	StateHash     string
	Provider      string
	RedirectURI   string
	CLIState      string
	CodeChallenge string
	DeviceHash    string
	KeyVersion    string
	Ciphertext    []byte
	CreatedAt     time.Time
	ExpiresAt     time.Time
}

// OAuthCode is a one-time code for the CLI's loopback, bound to the
// CLI's PKCE challenge.
type OAuthCode struct {
	Hash          string
	UserID        string
	Provider      string
	CodeChallenge string
	CreatedAt     time.Time
	ExpiresAt     time.Time
}

// Device code statuses.
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
)

// DeviceCode is a device-flow login (RFC 8628).
type DeviceCode struct {
	Hash         string
	UserCodeHash string
	Provider     string
	Status       string
	Result       string // the refusal's reason when Denied
	UserID       string // the approved user
	Interval     time.Duration
	LastPollAt   *time.Time
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// GetIdentity returns the identity (provider, subject).
func (s *Store) GetIdentity(ctx context.Context, provider, subject string) (Identity, error) {
	var i Identity
	err := s.queryRow(ctx, s.db, `SELECT provider, subject, user_id, email, created_at, last_login_at
FROM oauth_identities WHERE provider = ? AND subject = ?`, provider, subject).
		Scan(&i.Provider, &i.Subject, &i.UserID, &i.Email, timeCol{&i.CreatedAt}, timeCol{&i.LastLoginAt})
	if err != nil {
		return Identity{}, s.fail(err, "get identity")
	}
	return i, nil
}

// LinkIdentity stores a new link. An identity already linked →
// ErrConflict; an unknown user → ErrNotFound.
func (s *Store) LinkIdentity(ctx context.Context, i Identity) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO oauth_identities (provider, subject, user_id, email, created_at, last_login_at)
VALUES (?, ?, ?, ?, ?, ?)`, i.Provider, i.Subject, i.UserID, i.Email, micros(i.CreatedAt), micros(i.LastLoginAt))
	if err != nil {
		return s.fail(err, "link identity")
	}
	return nil
}

// TouchIdentity records a login by the identity.
func (s *Store) TouchIdentity(ctx context.Context, provider, subject string, at time.Time) error {
	if _, err := s.exec(ctx, s.db, `UPDATE oauth_identities SET last_login_at = ? WHERE provider = ? AND subject = ?`,
		micros(at), provider, subject); err != nil {
		return s.fail(err, "touch identity")
	}
	return nil
}

// ListIdentities returns the identities linked to a user, by provider.
func (s *Store) ListIdentities(ctx context.Context, userID string) ([]Identity, error) {
	rows, err := s.query(ctx, s.db, `SELECT provider, subject, user_id, email, created_at, last_login_at
FROM oauth_identities WHERE user_id = ? ORDER BY provider, subject`, userID)
	if err != nil {
		return nil, s.fail(err, "list identities")
	}
	out, err := collect(rows, func(sc interface{ Scan(...any) error }) (Identity, error) {
		var i Identity
		err := sc.Scan(&i.Provider, &i.Subject, &i.UserID, &i.Email, timeCol{&i.CreatedAt}, timeCol{&i.LastLoginAt})
		return i, err
	})
	if err != nil {
		return nil, s.fail(err, "list identities")
	}
	return out, nil
}

// CreateOAuthFlow stores a login in progress.
func (s *Store) CreateOAuthFlow(ctx context.Context, f OAuthFlow) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO oauth_flows
    (state_hash, provider, redirect_uri, cli_state, code_challenge, device_hash, key_version, ciphertext, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.StateHash, f.Provider, nullString(f.RedirectURI), nullString(f.CLIState),
		nullString(f.CodeChallenge), nullString(f.DeviceHash), f.KeyVersion, f.Ciphertext, micros(f.CreatedAt), micros(f.ExpiresAt))
	if err != nil {
		return s.fail(err, "create oauth flow")
	}
	return nil
}

// TakeOAuthFlow removes and returns the flow of stateHash: a state is
// good once. One unknown, already taken or expired at now → ErrNotFound.
func (s *Store) TakeOAuthFlow(ctx context.Context, stateHash string, now time.Time) (OAuthFlow, error) {
	var (
		f                            OAuthFlow
		redirect, cliState, ch, devH sql.NullString
	)
	err := s.queryRow(ctx, s.db, `DELETE FROM oauth_flows WHERE state_hash = ?
RETURNING state_hash, provider, redirect_uri, cli_state, code_challenge, device_hash, key_version, ciphertext, created_at, expires_at`,
		stateHash).Scan(&f.StateHash, &f.Provider, &redirect, &cliState, &ch, &devH, &f.KeyVersion, &f.Ciphertext,
		timeCol{&f.CreatedAt}, timeCol{&f.ExpiresAt})
	if err != nil {
		return OAuthFlow{}, s.fail(err, "take oauth flow")
	}
	if !now.Before(f.ExpiresAt) {
		return OAuthFlow{}, s.fail(ErrNotFound, "take oauth flow")
	}
	f.RedirectURI, f.CLIState, f.CodeChallenge, f.DeviceHash = redirect.String, cliState.String, ch.String, devH.String
	return f, nil
}

// CreateOAuthCode stores a one-time code.
func (s *Store) CreateOAuthCode(ctx context.Context, c OAuthCode) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO oauth_codes (hash, user_id, provider, code_challenge, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?)`, c.Hash, c.UserID, c.Provider, c.CodeChallenge, micros(c.CreatedAt), micros(c.ExpiresAt))
	if err != nil {
		return s.fail(err, "create oauth code")
	}
	return nil
}

// TakeOAuthCode removes and returns the one-time code of hash, whatever
// the caller then decides: a code is spent at its first presentation.
// One unknown, already taken or expired at now → ErrNotFound.
func (s *Store) TakeOAuthCode(ctx context.Context, hash string, now time.Time) (OAuthCode, error) {
	var c OAuthCode
	err := s.queryRow(ctx, s.db, `DELETE FROM oauth_codes WHERE hash = ?
RETURNING hash, user_id, provider, code_challenge, created_at, expires_at`, hash).
		Scan(&c.Hash, &c.UserID, &c.Provider, &c.CodeChallenge, timeCol{&c.CreatedAt}, timeCol{&c.ExpiresAt})
	if err != nil {
		return OAuthCode{}, s.fail(err, "take oauth code")
	}
	if !now.Before(c.ExpiresAt) {
		return OAuthCode{}, s.fail(ErrNotFound, "take oauth code")
	}
	return c, nil
}

// CreateDeviceCode stores a pending device code. A user code already in
// use → ErrConflict (the caller draws another).
func (s *Store) CreateDeviceCode(ctx context.Context, d DeviceCode) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO device_codes
    (hash, user_code_hash, provider, status, result, user_id, interval_ms, last_poll_at, created_at, expires_at)
VALUES (?, ?, ?, ?, NULL, NULL, ?, NULL, ?, ?)`, d.Hash, d.UserCodeHash, d.Provider, DevicePending,
		d.Interval.Milliseconds(), micros(d.CreatedAt), micros(d.ExpiresAt))
	if err != nil {
		return s.fail(err, "create device code")
	}
	return nil
}

const deviceCols = `hash, user_code_hash, provider, status, result, user_id, interval_ms, last_poll_at, created_at, expires_at FROM device_codes`

func scanDevice(sc interface{ Scan(...any) error }) (DeviceCode, error) {
	var (
		d            DeviceCode
		result, user sql.NullString
		ms           int64
	)
	err := sc.Scan(&d.Hash, &d.UserCodeHash, &d.Provider, &d.Status, &result, &user, &ms, nullTimeCol{&d.LastPollAt},
		timeCol{&d.CreatedAt}, timeCol{&d.ExpiresAt})
	d.Result, d.UserID, d.Interval = result.String, user.String, time.Duration(ms)*time.Millisecond
	return d, err
}

// PendingDeviceCode returns the pending device code whose user code has
// the digest userCodeHash, unexpired at now; else ErrNotFound.
func (s *Store) PendingDeviceCode(ctx context.Context, userCodeHash string, now time.Time) (DeviceCode, error) {
	d, err := scanDevice(s.queryRow(ctx, s.db, `SELECT `+deviceCols+` WHERE user_code_hash = ? AND status = ? AND expires_at > ?`,
		userCodeHash, DevicePending, micros(now)))
	if err != nil {
		return DeviceCode{}, s.fail(err, "get device code")
	}
	return d, nil
}

// SettleDeviceCode records the outcome of a device login: approved for
// userID, or denied with result. Only a pending, unexpired code settles;
// else ErrNotFound.
func (s *Store) SettleDeviceCode(ctx context.Context, hash, status, result, userID string, now time.Time) error {
	res, err := s.exec(ctx, s.db, `UPDATE device_codes SET status = ?, result = ?, user_id = ?
WHERE hash = ? AND status = ? AND expires_at > ?`, status, nullString(result), nullString(userID), hash, DevicePending, micros(now))
	if err != nil {
		return s.fail(err, "settle device code")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.fail(ErrNotFound, "settle device code")
	}
	return nil
}

// ErrSlowDown: a device code was polled sooner than its interval after
// the previous poll; PollDeviceCode has lengthened the interval.
var ErrSlowDown = errors.New("store: device code polled too fast")

// PollDeviceCode records a poll of the device code hash at now and returns
// the code as it stands. Unknown or expired → ErrNotFound. A poll sooner
// than the interval since the previous one (or racing another) adds step
// to the interval and returns the code with ErrSlowDown. An approved code
// is deleted by the poll that returns it: it is exchanged once.
func (s *Store) PollDeviceCode(ctx context.Context, hash string, now time.Time, step time.Duration) (DeviceCode, error) {
	var out DeviceCode
	slow := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		d, err := scanDevice(s.queryRow(ctx, tx, `SELECT `+deviceCols+` WHERE hash = ?`, hash))
		if err != nil {
			return err
		}
		if !now.Before(d.ExpiresAt) {
			return ErrNotFound
		}
		var prev int64
		if d.LastPollAt != nil {
			prev = micros(*d.LastPollAt)
			slow = now.Sub(*d.LastPollAt) < d.Interval
		}
		if slow {
			d.Interval += step
		}
		// The previous poll time in the WHERE makes two racing polls
		// update one row: the loser polled too fast as well.
		res, err := s.exec(ctx, tx, `UPDATE device_codes SET last_poll_at = ?, interval_ms = ?
WHERE hash = ? AND COALESCE(last_poll_at, 0) = ?`, micros(now), d.Interval.Milliseconds(), hash, prev)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			slow = true
			out = d
			return nil
		}
		d.LastPollAt = &now
		out = d
		if slow || d.Status != DeviceApproved {
			return nil
		}
		_, err = s.exec(ctx, tx, `DELETE FROM device_codes WHERE hash = ?`, hash)
		return err
	})
	if err != nil {
		return DeviceCode{}, s.fail(err, "poll device code")
	}
	if slow {
		return out, ErrSlowDown
	}
	return out, nil
}

// SweepOAuth deletes the flows, one-time codes and device codes expired at
// now, so that abandoned logins do not pile up.
func (s *Store) SweepOAuth(ctx context.Context, now time.Time) error {
	for _, table := range []string{"oauth_flows", "oauth_codes", "device_codes"} {
		if _, err := s.exec(ctx, s.db, `DELETE FROM `+table+` WHERE expires_at <= ?`, micros(now)); err != nil {
			return s.fail(err, "sweep %s", table)
		}
	}
	return nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
