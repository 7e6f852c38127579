package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Operator auth rows (SPEC §7.1): users, org and project memberships,
// login sessions with rotating refresh tokens, CI tokens and the keys that
// sign access tokens.

// User statuses.
const (
	UserActive   = "active"
	UserDisabled = "disabled"
)

// ErrRefreshReused: a refresh token that was already exchanged came back.
// RotateRefresh has revoked its session when it returns this.
var ErrRefreshReused = errors.New("store: refresh token reused")

// User is an operator account. Email is stored lower-cased.
type User struct {
	ID           string
	Email        string
	PasswordHash string
	Status       string
	CreatedAt    time.Time
}

// Member is one role of a user in an org (Scope = org id) or a project
// (Scope = project id). ScopeName, Email and Active (the user's status) are
// filled on reads.
type Member struct {
	Scope     string
	ScopeName string
	UserID    string
	Email     string
	Role      string
	CreatedAt time.Time
	Active    bool
}

// Session is a login session. Its refresh tokens rotate; the session (and
// the sid claim of its access tokens) stays until logout, expiry or reuse.
type Session struct {
	ID        string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// CIToken is a CI token (stkpat_…). ProjectID/Role are its optional scope.
type CIToken struct {
	ID          string
	Name        string
	UserID      string
	UserEmail   string // filled on reads
	ProjectID   string
	ProjectName string // filled on reads
	Role        string
	SecretHash  string
	Status      string // KeyActive | KeyRevoked
	CreatedAt   time.Time
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
}

// SigningKey is an Ed25519 key that signs access tokens; the private key
// is held sealed (Ciphertext under KeyVersion).
type SigningKey struct {
	ID         string
	PublicKey  []byte
	Ciphertext []byte
	KeyVersion string
	CreatedAt  time.Time
	RetiredAt  *time.Time
}

// CountUsers returns how many users exist (enabled or not).
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.queryRow(ctx, s.db, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, s.fail(err, "count users")
	}
	return n, nil
}

// CreateUser stores u and, when orgID is set, makes it a member of that org
// with orgRole, in one transaction. A taken email → ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u User, orgID, orgRole string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx,
			`INSERT INTO users (id, email, password_hash, status, created_at) VALUES (?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.PasswordHash, u.Status, micros(u.CreatedAt)); err != nil {
			return err
		}
		if orgID == "" {
			return nil
		}
		_, err := s.exec(ctx, tx, `INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`,
			orgID, u.ID, orgRole, micros(u.CreatedAt))
		return err
	})
	if err != nil {
		return s.fail(err, "create user")
	}
	return nil
}

const userCols = `id, email, password_hash, status, created_at FROM users`

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var u User
	err := sc.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.Status, timeCol{&u.CreatedAt})
	return u, err
}

// GetUserByEmail returns the user with that (lower-cased) email.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (User, error) {
	u, err := scanUser(s.queryRow(ctx, s.db, `SELECT `+userCols+` WHERE email = ?`, email))
	if err != nil {
		return User{}, s.fail(err, "get user")
	}
	return u, nil
}

// GetUser returns the user with that id.
func (s *Store) GetUser(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.queryRow(ctx, s.db, `SELECT `+userCols+` WHERE id = ?`, id))
	if err != nil {
		return User{}, s.fail(err, "get user")
	}
	return u, nil
}

// ListUsers returns every user, ordered by email.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+userCols+` ORDER BY email`)
	if err != nil {
		return nil, s.fail(err, "list users")
	}
	out, err := collect(rows, scanUser)
	if err != nil {
		return nil, s.fail(err, "list users")
	}
	return out, nil
}

// DisableUser marks the user disabled and revokes its open sessions, in one
// transaction. Its CI tokens stop working too: a token acts with its
// creator's current role, and a disabled user has none.
func (s *Store) DisableUser(ctx context.Context, id string, at time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE users SET status = ? WHERE id = ?`, UserDisabled, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = s.exec(ctx, tx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, micros(at), id)
		return err
	})
	if err != nil {
		return s.fail(err, "disable user")
	}
	return nil
}

// CreateOrg stores o and makes ownerID its owner, in one transaction. A
// taken name → ErrConflict.
func (s *Store) CreateOrg(ctx context.Context, o Org, ownerID string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)`,
			o.ID, o.Name, micros(o.CreatedAt)); err != nil {
			return err
		}
		if ownerID == "" {
			return nil
		}
		_, err := s.exec(ctx, tx, `INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, 'owner', ?)`,
			o.ID, ownerID, micros(o.CreatedAt))
		return err
	})
	if err != nil {
		return s.fail(err, "create org %q", o.Name)
	}
	return nil
}

// ListOrgs returns every org, ordered by name.
func (s *Store) ListOrgs(ctx context.Context) ([]Org, error) {
	rows, err := s.query(ctx, s.db, `SELECT id, name, created_at FROM orgs ORDER BY name`)
	if err != nil {
		return nil, s.fail(err, "list orgs")
	}
	out, err := collect(rows, func(sc interface{ Scan(...any) error }) (Org, error) {
		var o Org
		err := sc.Scan(&o.ID, &o.Name, timeCol{&o.CreatedAt})
		return o, err
	})
	if err != nil {
		return nil, s.fail(err, "list orgs")
	}
	return out, nil
}

// MemberTable is a kind of membership: its table and scope table.
type MemberTable struct{ table, scopeCol, scopeTable string }

var (
	// OrgMembers are roles in orgs (scope: org id).
	OrgMembers = MemberTable{"org_members", "org_id", "orgs"}
	// ProjectMembers are roles in projects (scope: project id).
	ProjectMembers = MemberTable{"project_members", "project_id", "projects"}
)

// PutMember sets the user's role in the scope, creating the membership if
// needed; it reports whether it was created. An unknown user or scope →
// ErrNotFound.
func (s *Store) PutMember(ctx context.Context, t MemberTable, m Member) (bool, error) {
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE `+t.table+` SET role = ? WHERE `+t.scopeCol+` = ? AND user_id = ?`,
			m.Role, m.Scope, m.UserID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		created = true
		_, err = s.exec(ctx, tx, `INSERT INTO `+t.table+` (`+t.scopeCol+`, user_id, role, created_at) VALUES (?, ?, ?, ?)`,
			m.Scope, m.UserID, m.Role, micros(m.CreatedAt))
		return err
	})
	if err != nil {
		return false, s.fail(err, "put member")
	}
	return created, nil
}

// DeleteMember removes the membership; ErrNotFound if there is none.
func (s *Store) DeleteMember(ctx context.Context, t MemberTable, scope, userID string) error {
	res, err := s.exec(ctx, s.db, `DELETE FROM `+t.table+` WHERE `+t.scopeCol+` = ? AND user_id = ?`, scope, userID)
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			err = ErrNotFound
		}
	}
	if err != nil {
		return s.fail(err, "delete member")
	}
	return nil
}

func (t MemberTable) cols() string {
	return `m.` + t.scopeCol + `, x.name, m.user_id, u.email, m.role, m.created_at, u.status FROM ` + t.table + ` m
JOIN users u ON u.id = m.user_id JOIN ` + t.scopeTable + ` x ON x.id = m.` + t.scopeCol
}

func scanMember(sc interface{ Scan(...any) error }) (Member, error) {
	var m Member
	var status string
	err := sc.Scan(&m.Scope, &m.ScopeName, &m.UserID, &m.Email, &m.Role, timeCol{&m.CreatedAt}, &status)
	m.Active = status == UserActive
	return m, err
}

// Role returns the role the user acts with in the scope, or "" when it has
// none. A disabled user has no role anywhere.
func (s *Store) Role(ctx context.Context, t MemberTable, scope, userID string) (string, error) {
	return s.role(ctx, t, scope, userID, `AND u.status = 'active'`)
}

// MemberRole returns the membership's role as stored, whatever the user's
// status ("" when there is none): what managing members works on, so that a
// disabled user's memberships can still be changed and removed.
func (s *Store) MemberRole(ctx context.Context, t MemberTable, scope, userID string) (string, error) {
	return s.role(ctx, t, scope, userID, ``)
}

func (s *Store) role(ctx context.Context, t MemberTable, scope, userID, cond string) (string, error) {
	var role string
	err := s.queryRow(ctx, s.db, `SELECT m.role FROM `+t.table+` m JOIN users u ON u.id = m.user_id
WHERE m.`+t.scopeCol+` = ? AND m.user_id = ? `+cond, scope, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", s.fail(err, "get role")
	}
	return role, nil
}

// ListMembers returns the members of a scope, ordered by email.
func (s *Store) ListMembers(ctx context.Context, t MemberTable, scope string) ([]Member, error) {
	return s.members(ctx, `SELECT `+t.cols()+` WHERE m.`+t.scopeCol+` = ? ORDER BY u.email`, scope)
}

// ListMemberships returns the user's memberships of one kind, ordered by
// scope name.
func (s *Store) ListMemberships(ctx context.Context, t MemberTable, userID string) ([]Member, error) {
	return s.members(ctx, `SELECT `+t.cols()+` WHERE m.user_id = ? ORDER BY x.name`, userID)
}

func (s *Store) members(ctx context.Context, query string, arg string) ([]Member, error) {
	rows, err := s.query(ctx, s.db, query, arg)
	if err != nil {
		return nil, s.fail(err, "list members")
	}
	out, err := collect(rows, scanMember)
	if err != nil {
		return nil, s.fail(err, "list members")
	}
	return out, nil
}

// CreateSession stores a session and its first refresh token (by hash).
func (s *Store) CreateSession(ctx context.Context, sess Session, refreshHash string, refreshExpires time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			sess.ID, sess.UserID, micros(sess.CreatedAt), micros(sess.ExpiresAt)); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, `INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			refreshHash, sess.ID, micros(sess.CreatedAt), micros(refreshExpires))
		return err
	})
	if err != nil {
		return s.fail(err, "create session")
	}
	return nil
}

const sessionCols = `s.id, s.user_id, s.created_at, s.expires_at, s.revoked_at FROM sessions s`

func scanSession(sc interface{ Scan(...any) error }) (Session, error) {
	var x Session
	err := sc.Scan(&x.ID, &x.UserID, timeCol{&x.CreatedAt}, timeCol{&x.ExpiresAt}, nullTimeCol{&x.RevokedAt})
	return x, err
}

// GetSession returns the session with that id.
func (s *Store) GetSession(ctx context.Context, id string) (Session, error) {
	x, err := scanSession(s.queryRow(ctx, s.db, `SELECT `+sessionCols+` WHERE s.id = ?`, id))
	if err != nil {
		return Session{}, s.fail(err, "get session")
	}
	return x, nil
}

// RotateRefresh exchanges the refresh token oldHash for newHash in one
// transaction and returns its session. A token never issued, expired, or of
// a revoked or expired session → ErrNotFound. A token already exchanged →
// the session is revoked (committed) and ErrRefreshReused is returned:
// someone holds a copy of a rotated token (SPEC §7.1).
func (s *Store) RotateRefresh(ctx context.Context, oldHash, newHash string, now, expires time.Time) (Session, error) {
	var (
		sess   Session
		reused bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var (
			tokExpires time.Time
			usedAt     *time.Time
		)
		row := s.queryRow(ctx, tx, `SELECT s.id, s.user_id, s.created_at, s.expires_at, s.revoked_at, r.expires_at, r.used_at
FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.hash = ?`, oldHash)
		if err := row.Scan(&sess.ID, &sess.UserID, timeCol{&sess.CreatedAt}, timeCol{&sess.ExpiresAt},
			nullTimeCol{&sess.RevokedAt}, timeCol{&tokExpires}, nullTimeCol{&usedAt}); err != nil {
			return err
		}
		if sess.RevokedAt != nil || !now.Before(sess.ExpiresAt) {
			return ErrNotFound
		}
		// A reuse revokes the session, committed with the answer.
		revoke := func() error {
			reused = true
			_, err := s.exec(ctx, tx, `UPDATE sessions SET revoked_at = ? WHERE id = ?`, micros(now), sess.ID)
			return err
		}
		if usedAt != nil {
			return revoke()
		}
		if !now.Before(tokExpires) {
			return ErrNotFound
		}
		// The WHERE on used_at makes two concurrent exchanges of one token
		// race for one row. The loser sees no row updated: it read the
		// token unused before the winner's commit (PostgreSQL's read
		// committed), and it is a reuse all the same — the session goes.
		res, err := s.exec(ctx, tx, `UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL`, micros(now), oldHash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return revoke()
		}
		_, err = s.exec(ctx, tx, `INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			newHash, sess.ID, micros(now), micros(expires))
		return err
	})
	if err != nil {
		return Session{}, s.fail(err, "rotate refresh token")
	}
	if reused {
		return Session{}, s.fail(ErrRefreshReused, "rotate refresh token")
	}
	return sess, nil
}

// RevokeSession ends a session (logout); revoking twice is not an error.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	if _, err := s.exec(ctx, s.db, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, micros(at), id); err != nil {
		return s.fail(err, "revoke session")
	}
	return nil
}

// SessionOfRefresh returns the session a refresh token belongs to.
func (s *Store) SessionOfRefresh(ctx context.Context, hash string) (Session, error) {
	x, err := scanSession(s.queryRow(ctx, s.db,
		`SELECT `+sessionCols+` JOIN refresh_tokens r ON r.session_id = s.id WHERE r.hash = ?`, hash))
	if err != nil {
		return Session{}, s.fail(err, "get session")
	}
	return x, nil
}

// CreateToken stores a CI token. A taken id or hash → ErrConflict; an
// unknown user or project → ErrNotFound.
func (s *Store) CreateToken(ctx context.Context, t CIToken) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO ci_tokens
    (id, name, user_id, project_id, role, secret_hash, status, created_at, expires_at, revoked_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
		t.ID, t.Name, t.UserID, nullIfEmpty(t.ProjectID), nullIfEmpty(t.Role), t.SecretHash, KeyActive,
		micros(t.CreatedAt), nullMicros(t.ExpiresAt))
	if err != nil {
		return s.fail(err, "create token %q", t.Name)
	}
	return nil
}

const tokenCols = `t.id, t.name, t.user_id, u.email, COALESCE(t.project_id, ''), COALESCE(p.name, ''),
    COALESCE(t.role, ''), t.secret_hash, t.status, t.created_at, t.expires_at, t.revoked_at
FROM ci_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN projects p ON p.id = t.project_id`

func scanToken(sc interface{ Scan(...any) error }) (CIToken, error) {
	var t CIToken
	err := sc.Scan(&t.ID, &t.Name, &t.UserID, &t.UserEmail, &t.ProjectID, &t.ProjectName, &t.Role,
		&t.SecretHash, &t.Status, timeCol{&t.CreatedAt}, nullTimeCol{&t.ExpiresAt}, nullTimeCol{&t.RevokedAt})
	return t, err
}

// GetTokenByHash returns the token whose secret hashes to hash.
func (s *Store) GetTokenByHash(ctx context.Context, hash string) (CIToken, error) {
	t, err := scanToken(s.queryRow(ctx, s.db, `SELECT `+tokenCols+` WHERE t.secret_hash = ?`, hash))
	if err != nil {
		return CIToken{}, s.fail(err, "get token")
	}
	return t, nil
}

// GetToken returns the token with that id.
func (s *Store) GetToken(ctx context.Context, id string) (CIToken, error) {
	t, err := scanToken(s.queryRow(ctx, s.db, `SELECT `+tokenCols+` WHERE t.id = ?`, id))
	if err != nil {
		return CIToken{}, s.fail(err, "get token %q", id)
	}
	return t, nil
}

// ListTokens returns the tokens created by userID ("" for every user),
// newest first.
func (s *Store) ListTokens(ctx context.Context, userID string) ([]CIToken, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+tokenCols+` WHERE (? = '' OR t.user_id = ?)
ORDER BY t.created_at DESC, t.id DESC`, userID, userID)
	if err != nil {
		return nil, s.fail(err, "list tokens")
	}
	out, err := collect(rows, scanToken)
	if err != nil {
		return nil, s.fail(err, "list tokens")
	}
	return out, nil
}

// RevokeToken marks the token revoked (idempotent) and returns it.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) (CIToken, error) {
	if _, err := s.exec(ctx, s.db, `UPDATE ci_tokens SET status = ?, revoked_at = ? WHERE id = ? AND status = ?`,
		KeyRevoked, micros(at), id, KeyActive); err != nil {
		return CIToken{}, s.fail(err, "revoke token %q", id)
	}
	return s.GetToken(ctx, id)
}

// AddSigningKey stores k as the signing key and retires every other
// unretired key at k.CreatedAt, in one transaction.
func (s *Store) AddSigningKey(ctx context.Context, k SigningKey) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL`, micros(k.CreatedAt)); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, `INSERT INTO signing_keys (id, public_key, ciphertext, key_version, created_at) VALUES (?, ?, ?, ?, ?)`,
			k.ID, k.PublicKey, k.Ciphertext, k.KeyVersion, micros(k.CreatedAt))
		return err
	})
	if err != nil {
		return s.fail(err, "add signing key")
	}
	return nil
}

// ActiveSigningKeyID is the id of the key that signs, or "" when none does:
// a one-row read that lets every Hub notice a rotation made elsewhere (by
// another replica, or by `stk-hub keys rotate-signing`) within moments.
func (s *Store) ActiveSigningKeyID(ctx context.Context) (string, error) {
	var id string
	err := s.queryRow(ctx, s.db, `SELECT id FROM signing_keys WHERE retired_at IS NULL
ORDER BY created_at DESC, id DESC LIMIT 1`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", s.fail(err, "read the active signing key")
	}
	return id, nil
}

// SigningKeys returns the keys not retired before since, newest first: the
// first is the one that signs (when it is not retired).
func (s *Store) SigningKeys(ctx context.Context, since time.Time) ([]SigningKey, error) {
	rows, err := s.query(ctx, s.db, `SELECT id, public_key, ciphertext, key_version, created_at, retired_at
FROM signing_keys WHERE retired_at IS NULL OR retired_at >= ? ORDER BY created_at DESC, id DESC`, micros(since))
	if err != nil {
		return nil, s.fail(err, "list signing keys")
	}
	out, err := collect(rows, func(sc interface{ Scan(...any) error }) (SigningKey, error) {
		var k SigningKey
		err := sc.Scan(&k.ID, &k.PublicKey, &k.Ciphertext, &k.KeyVersion, timeCol{&k.CreatedAt}, nullTimeCol{&k.RetiredAt})
		return k, err
	})
	if err != nil {
		return nil, s.fail(err, "list signing keys")
	}
	return out, nil
}
