package plan

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
)

// FuzzParams: whatever the params bytes, Plan never panics, every error is
// an *apierr.Error, and every plan has as many placeholders as args. The
// seed corpus is in testdata/fuzz/FuzzParams (run with
// go test -fuzz FuzzParams ./packages/core/plan/).
func FuzzParams(f *testing.F) {
	for _, s := range []string{
		`{"where":{"id":1}}`,
		`{"select":["id","name"],"where":{"$or":[{"age":{"$gte":18}},{"name":{"$like":"a\\%"}}]},"orderBy":[{"name":"desc"}],"limit":5,"offset":1,"count":true}`,
		`{"data":[{"name":"a","tags":["x",null],"meta":{"k":[1]}},{"name":"b","tags":[],"meta":null}],"returning":["id"]}`,
		`{"data":{"name":"a","avatar":"AAE=","created_at":"2024-05-01T10:00:00Z"},"where":{"id":{"$in":[1,2]}},"returning":false}`,
		`{"orderBy":{"name":"asc","id":"desc"}}`,
		`{"where":{"nums":[[1,2],[3,4]]}}`,
	} {
		for op := uint8(0); op < 4; op++ {
			f.Add(op, []byte(s))
		}
	}
	e := fixtureEnv(f)
	ops := []Op{Select, Insert, Update, Delete}
	callers := []Caller{admin, reader, enduser, super}
	f.Fuzz(func(t *testing.T, op uint8, params []byte) {
		o := ops[int(op)%4]
		c := callers[int(op/4)%len(callers)]
		for _, tg := range []Target{
			{Connection: "main", Table: "users", Op: o},
			{Connection: "lite", Table: "users", Op: o},
			{Connection: "main", Table: "posts", Op: o},
		} {
			p, err := e.Plan(c, tg, params)
			if err != nil {
				var ae *apierr.Error
				if !errors.As(err, &ae) || ae.Code == apierr.Internal {
					t.Fatalf("Plan(%s) error %v (%T)", params, err, err)
				}
				continue
			}
			if p.SQL == "" {
				t.Fatalf("empty SQL for %s", params)
			}
			checkPlaceholders(t, p)
		}
	})
}

func checkPlaceholders(t *testing.T, p *Plan) {
	t.Helper()
	if p.Engine == "sqlite" {
		// Literal '?' never occurs in generated text but placeholders.
		if n := strings.Count(p.SQL, "?"); n != len(p.Args) {
			t.Fatalf("%d placeholders, %d args: %s", n, len(p.Args), p.SQL)
		}
		if p.CountSQL != "" && strings.Count(p.CountSQL, "?") != len(p.CountArgs) {
			t.Fatalf("count placeholders: %s %v", p.CountSQL, p.CountArgs)
		}
		return
	}
	for i := 1; i <= len(p.Args); i++ {
		if !strings.Contains(p.SQL, fmt.Sprintf("$%d", i)) {
			t.Fatalf("no $%d: %s", i, p.SQL)
		}
	}
	if strings.Contains(p.SQL, fmt.Sprintf("$%d", len(p.Args)+1)) {
		t.Fatalf("placeholder beyond args: %s", p.SQL)
	}
}
