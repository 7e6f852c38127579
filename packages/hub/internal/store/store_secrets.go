package store

import (
	"context"
	"database/sql"
	"fmt"
)

// SecretTable names a table whose rows hold a secret sealed by the key ring
// (SPEC §10): a ciphertext column beside the key version that sealed it.
type SecretTable string

// The tables of sealed secrets.
const (
	// ConnectionSecrets: connection URLs, bound to project/env/name.
	ConnectionSecrets SecretTable = "connections"
	// SigningKeySecrets: the Ed25519 keys that sign access tokens, bound to
	// their id.
	SigningKeySecrets SecretTable = "signing_keys"
)

// SecretTables lists every table of sealed secrets, in the order reports
// show them.
func SecretTables() []SecretTable { return []SecretTable{ConnectionSecrets, SigningKeySecrets} }

// Label is the table's name as operators read it ("signing keys").
func (t SecretTable) Label() string {
	if t == SigningKeySecrets {
		return "signing keys"
	}
	return string(t)
}

// selectSealed is the query that lists a table's secrets for rotation. Table
// names never come from input: only these constants reach SQL text.
func (t SecretTable) selectSealed() (string, error) {
	switch t {
	case ConnectionSecrets:
		return `SELECT c.id, c.key_version, c.ciphertext, p.name, e.name, c.name
FROM connections c JOIN envs e ON e.id = c.env_id JOIN projects p ON p.id = e.project_id
WHERE c.key_version <> ? AND c.id > ? ORDER BY c.id LIMIT ?`, nil
	case SigningKeySecrets:
		return `SELECT id, key_version, ciphertext, '', '', '' FROM signing_keys
WHERE key_version <> ? AND id > ? ORDER BY id LIMIT ?`, nil
	}
	return "", fmt.Errorf("store: %q is not a table of secrets", string(t))
}

// Sealed is one sealed secret as rotation sees it.
type Sealed struct {
	Table      SecretTable
	ID         string
	KeyVersion string
	Ciphertext []byte
	// Project, Env and Name locate a connection, whose associated data they
	// make (secrets.ConnectionAAD); empty for signing keys, whose associated
	// data is their ID.
	Project, Env, Name string
}

// KeyVersionCount says how many secrets of a table one key version seals.
type KeyVersionCount struct {
	Table      SecretTable
	KeyVersion string
	Count      int
}

// CountKeyVersions counts the sealed secrets per table and key version,
// ordered by table (SecretTables order) then version. Versions that seal
// nothing do not appear.
func (s *Store) CountKeyVersions(ctx context.Context) ([]KeyVersionCount, error) {
	var out []KeyVersionCount
	for _, t := range SecretTables() {
		// t is one of the constants above, never input.
		rows, err := s.query(ctx, s.db, `SELECT key_version, COUNT(*) FROM `+string(t)+` GROUP BY key_version ORDER BY key_version`)
		if err != nil {
			return nil, s.fail(err, "count key versions of %s", t)
		}
		got, err := collect(rows, func(sc interface{ Scan(...any) error }) (KeyVersionCount, error) {
			c := KeyVersionCount{Table: t}
			return c, sc.Scan(&c.KeyVersion, &c.Count)
		})
		if err != nil {
			return nil, s.fail(err, "count key versions of %s", t)
		}
		out = append(out, got...)
	}
	return out, nil
}

// ListSealed returns up to limit secrets of table that are not sealed with
// key version except, whose id sorts after the cursor after ("" to start),
// ordered by id. Rotation pages through a table with it: the cursor, not the
// key version, moves it on, so a row it cannot re-encrypt is passed once
// rather than returned forever.
func (s *Store) ListSealed(ctx context.Context, table SecretTable, except, after string, limit int) ([]Sealed, error) {
	q, err := table.selectSealed()
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, s.db, q, except, after, limit)
	if err != nil {
		return nil, s.fail(err, "list sealed %s", table)
	}
	out, err := collect(rows, func(sc interface{ Scan(...any) error }) (Sealed, error) {
		x := Sealed{Table: table}
		return x, sc.Scan(&x.ID, &x.KeyVersion, &x.Ciphertext, &x.Project, &x.Env, &x.Name)
	})
	if err != nil {
		return nil, s.fail(err, "list sealed %s", table)
	}
	return out, nil
}

// Reseal is a new ciphertext for a row that held Old when it was read.
type Reseal struct {
	Old           Sealed
	NewVersion    string
	NewCiphertext []byte
}

// WriteReseals stores a batch of re-encrypted secrets of one table in one
// transaction and returns how many rows took their new ciphertext. A row is
// written only if it still holds the key version and ciphertext it was read
// with: one that another writer changed meanwhile (a connection set or
// rotated through the API) keeps that writer's value, which is never
// overwritten by the older secret. The plaintexts do not change, so no env
// revision is bumped.
func (s *Store) WriteReseals(ctx context.Context, table SecretTable, batch []Reseal) (int, error) {
	if _, err := table.selectSealed(); err != nil {
		return 0, err
	}
	written := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		written = 0
		for _, r := range batch {
			if r.Old.Table != table {
				return fmt.Errorf("store: a secret of %s in a batch of %s", r.Old.Table, table)
			}
			// Comparing the ciphertext too (nonces are fresh on every seal)
			// catches a concurrent write under the same old key version, as a
			// Hub replica still running the old ring would make.
			res, err := s.exec(ctx, tx, `UPDATE `+string(table)+` SET ciphertext = ?, key_version = ?
WHERE id = ? AND key_version = ? AND ciphertext = ?`,
				r.NewCiphertext, r.NewVersion, r.Old.ID, r.Old.KeyVersion, r.Old.Ciphertext)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			written += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, s.fail(err, "re-encrypt %s", table)
	}
	return written, nil
}
