package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/hub/internal/auth"
	"github.com/santokit/santokit/packages/hub/internal/secrets"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// Key ring maintenance (SPEC §10): `stk-hub keys status|rotate`, the start
// check that every stored secret can be opened, and `connections rotate`.
// Nothing here returns or logs a plaintext or key material: reports hold
// counts, key versions and connection names only.

// TableKeys counts one table's secrets per key version.
type TableKeys struct {
	Table    string         `json:"table"`
	Versions map[string]int `json:"versions"`
	Total    int            `json:"total"`
}

// VersionKeys says how many secrets one key version seals, per table.
type VersionKeys struct {
	Version     string `json:"version"`
	Active      bool   `json:"active"`
	InRing      bool   `json:"inRing"`
	Connections int    `json:"connections"`
	SigningKeys int    `json:"signingKeys"`
	Total       int    `json:"total"`
}

// KeyStatus is what `stk-hub keys status` reports.
type KeyStatus struct {
	Active string   `json:"active"`
	Ring   []string `json:"ring"`
	// Versions lists the ring's versions (active first, even those sealing
	// nothing), then versions missing from the ring.
	Versions []VersionKeys `json:"versions"`
	Tables   []TableKeys   `json:"tables"`
	Total    int           `json:"total"`
	// Missing are the versions that seal stored secrets but are not in the
	// ring: those secrets cannot be opened.
	Missing []string `json:"missing"`
}

// Version returns the entry of version v (zero counts if none).
func (k KeyStatus) Version(v string) VersionKeys {
	for _, x := range k.Versions {
		if x.Version == v {
			return x
		}
	}
	return VersionKeys{Version: v}
}

// KeyRingStatus counts the stored secrets per key version and table.
func KeyRingStatus(ctx context.Context, st *store.Store, ring *secrets.Ring) (KeyStatus, error) {
	counts, err := st.CountKeyVersions(ctx)
	if err != nil {
		return KeyStatus{}, err
	}
	ks := KeyStatus{Active: ring.Active(), Ring: ring.Versions(), Missing: []string{}}
	byVersion := map[string]*VersionKeys{}
	version := func(v string) *VersionKeys {
		if x, ok := byVersion[v]; ok {
			return x
		}
		x := &VersionKeys{Version: v, Active: v == ring.Active(), InRing: ring.Has(v)}
		byVersion[v] = x
		return x
	}
	for _, v := range ring.Versions() {
		version(v)
	}
	for _, t := range store.SecretTables() {
		tk := TableKeys{Table: string(t), Versions: map[string]int{}}
		for _, c := range counts {
			if c.Table != t {
				continue
			}
			tk.Versions[c.KeyVersion] += c.Count
			tk.Total += c.Count
			x := version(c.KeyVersion)
			x.Total += c.Count
			if t == store.SigningKeySecrets {
				x.SigningKeys += c.Count
			} else {
				x.Connections += c.Count
			}
		}
		ks.Tables = append(ks.Tables, tk)
		ks.Total += tk.Total
	}
	for _, v := range ring.Versions() {
		ks.Versions = append(ks.Versions, *byVersion[v])
	}
	var missing []VersionKeys
	for _, x := range byVersion {
		if !x.InRing {
			missing = append(missing, *x)
		}
	}
	slices.SortFunc(missing, func(a, b VersionKeys) int { return strings.Compare(a.Version, b.Version) })
	for _, x := range missing {
		ks.Versions = append(ks.Versions, x)
		ks.Missing = append(ks.Missing, x.Version)
	}
	return ks, nil
}

// CheckKeyRing refuses a key ring that lacks a version some stored secret
// is sealed with: a Hub started with it would fail later, on the first use
// of each such secret, instead of now. The error says which versions, how
// many secrets each seals, and how to recover.
func CheckKeyRing(ctx context.Context, st *store.Store, ring *secrets.Ring) error {
	ks, err := KeyRingStatus(ctx, st, ring)
	if err != nil {
		return fmt.Errorf("check the key ring against the stored secrets: %w", err)
	}
	if len(ks.Missing) == 0 {
		return nil
	}
	var parts []string
	for _, v := range ks.Missing {
		parts = append(parts, describeVersion(ks.Version(v)))
	}
	noun, it := "version", "it"
	if len(ks.Missing) > 1 {
		noun, it = "versions", "them"
	}
	return fmt.Errorf("STK_MASTER_KEYS lacks key %s %s: add %s back to the ring (the active key stays first), "+
		"run stk-hub keys rotate, then remove %s", noun, strings.Join(parts, "; "), it, it)
}

// describeVersion: "v1, which seals 3 secrets (connections: 2, signing keys: 1)".
func describeVersion(x VersionKeys) string {
	return fmt.Sprintf("%s, which seals %s (connections: %d, signing keys: %d)",
		x.Version, plural(x.Total, "secret"), x.Connections, x.SigningKeys)
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// DefaultRotateBatch is how many secrets one rotation transaction writes.
const DefaultRotateBatch = 100

// RotateOptions shape RotateKeys.
type RotateOptions struct {
	// BatchSize is the number of secrets per transaction (default
	// DefaultRotateBatch).
	BatchSize int
	// AfterBatch, if set, is called after each committed batch with the
	// table and the rows it wrote (progress; tests interrupt a run here).
	AfterBatch func(table store.SecretTable, written int)
}

// TableRotation is what a rotation did to one table.
type TableRotation struct {
	Table string `json:"table"`
	// Rotated secrets were re-encrypted under the active key by this run.
	Rotated int `json:"rotated"`
	// AlreadyCurrent secrets were sealed with the active key when the run
	// began.
	AlreadyCurrent int `json:"alreadyCurrent"`
	// Skipped secrets changed under the run (another writer set them); they
	// keep that writer's value and a next run sees them again if needed.
	Skipped int `json:"skipped"`
	// Failed secrets could not be opened (their key version is missing from
	// the ring, or they do not authenticate) and are unchanged.
	Failed int `json:"failed"`
}

// RotateReport is what `stk-hub keys rotate` reports.
type RotateReport struct {
	Active string          `json:"active"`
	Tables []TableRotation `json:"tables"`
	// Rotated is the total over the tables.
	Rotated int `json:"rotated"`
	// Failures name the secrets that could not be re-encrypted and why,
	// without any secret.
	Failures []string `json:"failures"`
}

// Table returns the report of one table.
func (r RotateReport) Table(t store.SecretTable) TableRotation {
	for _, x := range r.Tables {
		if x.Table == string(t) {
			return x
		}
	}
	return TableRotation{Table: string(t)}
}

// ErrRotateIncomplete: some secrets could not be re-encrypted (the report's
// Failures say which).
var ErrRotateIncomplete = errors.New("some secrets could not be re-encrypted")

// RotateKeys re-encrypts every stored secret that is not sealed with the
// ring's active key under the active key (SPEC §10). It pages through each
// table by id and writes each batch in a transaction of its own, each row
// only if it still holds what was read; an interrupted run leaves every
// row readable under the key version it records, and the next run goes on
// from there. A run with nothing to do changes nothing. Plaintexts do not
// change, so env revisions are not bumped.
//
// On ctx's end or a store failure the report so far comes back with the
// error; secrets that cannot be opened are counted, named in Failures, left
// as they are, and make the error ErrRotateIncomplete.
func RotateKeys(ctx context.Context, st *store.Store, ring *secrets.Ring, opts RotateOptions) (RotateReport, error) {
	batch := opts.BatchSize
	if batch <= 0 {
		batch = DefaultRotateBatch
	}
	active := ring.Active()
	rep := RotateReport{Active: active, Failures: []string{}}
	ks, err := KeyRingStatus(ctx, st, ring)
	if err != nil {
		return rep, err
	}
	for _, t := range store.SecretTables() {
		tr := TableRotation{Table: string(t)}
		for _, tk := range ks.Tables {
			if tk.Table == string(t) {
				tr.AlreadyCurrent = tk.Versions[active]
			}
		}
		err := rotateTable(ctx, st, ring, t, batch, opts.AfterBatch, &tr, &rep.Failures)
		rep.Tables = append(rep.Tables, tr)
		rep.Rotated += tr.Rotated
		if err != nil {
			return rep, err
		}
	}
	if len(rep.Failures) > 0 {
		return rep, ErrRotateIncomplete
	}
	return rep, nil
}

func rotateTable(ctx context.Context, st *store.Store, ring *secrets.Ring, t store.SecretTable, batch int,
	after func(store.SecretTable, int), tr *TableRotation, failures *[]string) error {
	cursor := ""
	for {
		rows, err := st.ListSealed(ctx, t, ring.Active(), cursor, batch)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		cursor = rows[len(rows)-1].ID
		reseals := make([]store.Reseal, 0, len(rows))
		for _, row := range rows {
			version, blob, err := ring.Reseal(row.KeyVersion, row.Ciphertext, sealedAAD(row))
			if err != nil {
				tr.Failed++
				*failures = append(*failures, fmt.Sprintf("%s: %s", describeSealed(row), whyNotOpened(row, err)))
				continue
			}
			reseals = append(reseals, store.Reseal{Old: row, NewVersion: version, NewCiphertext: blob})
		}
		if len(reseals) > 0 {
			n, err := st.WriteReseals(ctx, t, reseals)
			if err != nil {
				return err
			}
			tr.Rotated += n
			tr.Skipped += len(reseals) - n
			if after != nil {
				after(t, n)
			}
		}
		if len(rows) < batch {
			return nil
		}
	}
}

// sealedAAD is the associated data a stored secret was sealed with.
func sealedAAD(x store.Sealed) []byte {
	if x.Table == store.SigningKeySecrets {
		return secrets.SigningKeyAAD(x.ID)
	}
	return secrets.ConnectionAAD(x.Project, x.Env, x.Name)
}

// describeSealed names a secret for operators, without its value.
func describeSealed(x store.Sealed) string {
	if x.Table == store.SigningKeySecrets {
		return "signing key " + x.ID
	}
	return fmt.Sprintf("connection %s/%s/%s", x.Project, x.Env, x.Name)
}

func whyNotOpened(x store.Sealed, err error) string {
	if errors.Is(err, secrets.ErrUnknownVersion) {
		return fmt.Sprintf("sealed with key %s, which STK_MASTER_KEYS lacks", x.KeyVersion)
	}
	if errors.Is(err, secrets.ErrDecrypt) {
		return fmt.Sprintf("does not authenticate under key %s (wrong key material for that version, or a damaged row)", x.KeyVersion)
	}
	return "cannot be re-encrypted"
}

// RotateConnection replaces the URL of an existing connection (SPEC §10,
// `stk connections rotate`): a new version sealed under the active key, and
// the env's revision bumped so that Bridges pick it up (SPEC §8.1). The
// engine stays: in.Engine, if given, must be the stored one, and so must the
// URL's scheme. An unknown connection is NOT_FOUND, never created.
func (s *Service) RotateConnection(ctx context.Context, p auth.Principal, project, env, name string, in hubapi.PutConnection) (hubapi.Connection, error) {
	engine, err := checkURL(in.Engine, in.URL)
	if err != nil {
		return hubapi.Connection{}, err
	}
	sc, row, err := s.connection(ctx, p, auth.ConnectionRotate, project, env, name)
	if err != nil {
		return hubapi.Connection{}, err
	}
	if engine != row.Engine {
		path, what := "url", "the url's scheme"
		if in.Engine != "" {
			path, what = "engine", "engine "+in.Engine
		}
		msg := fmt.Sprintf("%s does not match the connection's engine %s: a rotation replaces the URL only (use connections set to change the engine)", what, row.Engine)
		return hubapi.Connection{}, apierr.New(apierr.BadRequest, "%s", msg).
			WithDetail("problems", []apierr.Problem{{Path: path, Message: msg}})
	}
	if err := s.admitURL(ctx, name, engine, in); err != nil {
		return hubapi.Connection{}, err
	}
	// Connections are never deleted, so the row just read is the one the
	// upsert updates (its version + 1); it cannot create one.
	out, _, err := s.saveConnection(ctx, p, sc, auth.ConnectionRotate,
		store.Connection{ID: row.ID, EnvID: sc.env.ID, Name: name, Engine: row.Engine, CreatedAt: row.CreatedAt}, in.URL)
	if err != nil {
		return hubapi.Connection{}, err
	}
	return connectionOut(project, env, out), nil
}
