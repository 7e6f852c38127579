package plan

import (
	"strconv"
	"strings"
	"testing"
)

// BenchmarkPlanSelectByPK measures the per-request planner path of a
// select-by-primary-key with an API key: credential check (SHA-256 and
// constant-time compare), authorization, params decoding (core/filter
// included), SQL text and args. The Env is compiled once, as per bundle
// load. Target (issue #4): ≤ 10 µs and ≤ 40 allocations per call.
func BenchmarkPlanSelectByPK(b *testing.B) {
	e := fixtureEnv(b)
	target, err := ParsePath("db/main/users/select")
	if err != nil {
		b.Fatal(err)
	}
	params := []byte(`{"where":{"id":12345}}`)
	b.ReportAllocs()
	for b.Loop() {
		c, err := e.Authenticate(keyReader, secret, fixtureNow)
		if err != nil {
			b.Fatal(err)
		}
		p, err := e.Plan(c, target, params)
		if err != nil || p.SQL == "" {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlanInsertBatch plans a 100-row insert (one JSON argument).
func BenchmarkPlanInsertBatch(b *testing.B) {
	e := fixtureEnv(b)
	target := Target{Connection: "main", Table: "users", Op: Insert}
	rows := make([]string, 100)
	for i := range rows {
		rows[i] = `{"name":"user ` + strconv.Itoa(i) + `","age":` + strconv.Itoa(i) + `,"created_at":"2024-05-01T10:00:00Z","active":true}`
	}
	params := []byte(`{"data":[` + strings.Join(rows, ",") + `],"returning":["id"]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Plan(writer, target, params); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompile is the per-bundle-load cost for the fixture (5 tables on
// each of 2 connections).
func BenchmarkCompile(b *testing.B) {
	bu := fixtureBundle(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(bu, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}
