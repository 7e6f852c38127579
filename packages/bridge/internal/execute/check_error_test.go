package execute

import (
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

// A write under a check rule that the database itself refuses (here a
// duplicate key) answers the database's error — 409 naming the constraint
// — not an internal error: PostgreSQL fails such a statement before pgx has
// its result's columns, which the check's column count must not take for
// a bad plan (#18, found by the saas template's composite foreign key).
func TestCheckedWriteRefusedByTheDatabase(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			r := newRowEnv(t, engine)
			_, e := r.call(rowAlice, "db/main/docs/insert", `{"data":{"id":1,"owner_id":"alice","level":1,"title":"dup"}}`)
			if e == nil || e.Code != apierr.Conflict {
				t.Fatalf("duplicate id under a check: %v", e)
			}
			if got := r.ids("docs", `{"title":"dup"}`); got != "" {
				t.Errorf("written: %s", got)
			}
		})
	}
}
