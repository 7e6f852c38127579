package execute

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/santokit/santokit/packages/bridge/internal/dbpool"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/plan"
	"github.com/santokit/santokit/packages/core/tracing"
)

// One span per SQL statement on both engines (SPEC §12; decision 0032):
// a select with count is two sibling spans under the caller's, the second
// marked count; a logic's operation is its statement's first keyword; a
// failing statement's span is failed with a fixed description; no span
// carries the SQL text or a bound value.
func TestStatementSpans(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tracer := tracing.FromProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
			d := newDB(t, engine, &Executor{StatementTimeout: 5 * time.Second, MaxAffected: 100, Tracer: tracer})
			setupUsers(d)
			userCols := cols("id:bigint", "email:text", "name:text", "age:integer")
			run := func(p *plan.Plan) (tracetest.SpanStubs, error) {
				t.Helper()
				exp.Reset()
				ctx, parent := tracer.Start(context.Background(), "POST /call", 0)
				pool, release, err := d.pools.Acquire("p", "e", bundle.Connection{Name: "main", Engine: d.engine, URL: d.url, Version: 1})
				if err != nil {
					t.Fatal(err)
				}
				defer release()
				_, _, err = d.x.Run(ctx, pool, p, nil)
				parent.End()
				var stmts tracetest.SpanStubs
				for _, s := range exp.GetSpans() {
					if s.Name == "POST /call" {
						continue
					}
					if s.Parent.SpanID() != parent.SpanContext().SpanID() {
						t.Fatalf("span %q is not the caller's child", s.Name)
					}
					for _, a := range s.Attributes {
						if v := a.Value.String(); strings.Contains(v, "FROM") || strings.Contains(v, "b@x") || strings.Contains(v, "Zoe") {
							t.Fatalf("span %q attribute %s = %q holds SQL or a value", s.Name, a.Key, v)
						}
					}
					stmts = append(stmts, s)
				}
				return stmts, err
			}
			attr := func(s tracetest.SpanStub, k string) string {
				for _, a := range s.Attributes {
					if string(a.Key) == k {
						return a.Value.String()
					}
				}
				return ""
			}
			system := map[string]string{dbpool.Postgres: "postgresql", dbpool.SQLite: "sqlite"}[engine]

			spans, err := run(&plan.Plan{Connection: "main", Engine: engine, Table: "users", Op: plan.Select, Columns: userCols,
				SQL: `SELECT id, email, name, age FROM users WHERE email = ` + d.ph("1"), Args: []any{"b@x"},
				CountSQL: `SELECT count(*) FROM users WHERE email = ` + d.ph("1"), CountArgs: []any{"b@x"}})
			if err != nil || len(spans) != 2 {
				t.Fatalf("select with count: %v, %d spans", err, len(spans))
			}
			for i, s := range spans {
				if s.Name != "SELECT users" || attr(s, "db.system") != system || attr(s, "db.operation") != "SELECT" ||
					attr(s, "db.sql.table") != "users" || attr(s, "santokit.connection") != "main" {
					t.Fatalf("span %d: %s %v", i, s.Name, s.Attributes)
				}
			}
			if attr(spans[0], "santokit.statement") != "" || attr(spans[1], "santokit.statement") != "count" ||
				spans[1].StartTime.Before(spans[0].EndTime) {
				t.Fatalf("the count is the second statement, after the first: %v / %v", spans[0].Attributes, spans[1].Attributes)
			}

			spans, err = run(&plan.Plan{Connection: "main", Engine: engine, Table: "users", Op: plan.Insert, Write: true,
				SQL: `INSERT INTO users (email, name) VALUES (` + d.ph("1") + `, ` + d.ph("2") + `)`, Args: []any{"a@x", "Zoe"}})
			if err == nil || len(spans) != 1 || spans[0].Name != "INSERT users" || spans[0].Status.Code != codes.Error ||
				spans[0].Status.Description != "statement failed" {
				t.Fatalf("failing insert: %v, %+v", err, spans)
			}

			spans, err = run(&plan.Plan{Connection: "main", Engine: engine, Logic: "people/adults", Readonly: true,
				SQL: "\n  with a as (SELECT id FROM users WHERE age > " + d.ph("1") + ") SELECT count(*) AS n FROM a", Args: []any{int64(18)}})
			if err != nil || len(spans) != 1 || spans[0].Name != "WITH people/adults" || attr(spans[0], "santokit.logic") != "people/adults" ||
				attr(spans[0], "db.operation") != "WITH" || attr(spans[0], "db.sql.table") != "" {
				t.Fatalf("logic: %v, %+v", err, spans)
			}
		})
	}
}
