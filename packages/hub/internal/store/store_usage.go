package store

import (
	"context"
	"database/sql"
	"time"
)

// KeyUse is when an API key was last seen used by a Bridge.
type KeyUse struct {
	KeyID      string
	LastUsedAt time.Time
}

// TouchAPIKeys moves each key's last_used_at forward to the reported time,
// in one transaction, and returns how many keys changed. A time older than
// the stored one changes nothing (Bridges report independently and out of
// order), and so does an unknown key (deleted since). It bumps no revision:
// usage is not configuration (SPEC §8.1).
func (s *Store) TouchAPIKeys(ctx context.Context, uses []KeyUse) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, u := range uses {
			at := micros(u.LastUsedAt)
			res, err := s.exec(ctx, tx, `UPDATE api_keys SET last_used_at = ?
WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, at, u.KeyID, at)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(k)
		}
		return nil
	})
	if err != nil {
		return 0, s.fail(err, "record API key usage")
	}
	return n, nil
}
