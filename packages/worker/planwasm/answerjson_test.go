package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/plan"
)

// The hand-written encoders must render what encoding/json renders (with
// SetEscapeHTML(false): the shell's JSON.parse reads both the same, and
// jsonscan writes no HTML escapes), byte for byte.

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// awkward strings: HTML characters, controls, U+2028/9, invalid UTF-8.
var awkward = []string{"", "plain", `quote " backslash \ slash /`, "<a href='x'>&amp;</a>", "tab\tnl\ncr\r\x00\x1f\x7f",
	"line\u2028para\u2029", "bad \xff\xfe utf8 \xed\xa0\x80", "é 日本 🙂"}

func TestErrorAnswers(t *testing.T) {
	var errs []*apierr.Error
	for _, s := range awkward {
		errs = append(errs,
			apierr.New(apierr.BadRequest, "%s", s),
			apierr.New(apierr.BadRequest, "bad params").WithDetail("problems", []apierr.Problem{{Path: s, Message: s}}),
			apierr.New(apierr.Unauthorized, "%s", s).WithHeader("WWW-Authenticate", s).WithHeader(s, "x"),
		)
	}
	errs = append(errs,
		apierr.New(apierr.Internal, "no details"),
		apierr.New(apierr.SchemaValidationFailed, "many").WithDetail("problems", []apierr.Problem{
			{Path: "a", Line: 3, Column: 4, File: "f.yaml", Message: "m"}, {Path: "b", Line: -1, Message: "n"}}).
			WithDetail("count", 2).WithDetail("more", map[string]any{"z": []any{json.Number("1.50"), nil, true}, "a": "b"}).
			WithDetail("none", []apierr.Problem(nil)).WithDetail("empty", []apierr.Problem{}),
		&apierr.Error{Code: apierr.NotFound, Message: "empty maps", Details: map[string]any{}, Headers: map[string]string{}},
	)
	for _, e := range errs {
		got, err := appendError(nil, e)
		if err != nil {
			t.Fatalf("%+v: %v", e, err)
		}
		if want := marshal(t, errorAnswer{Error: e.Envelope(""), Headers: e.Headers}); !bytes.Equal(got, want) {
			t.Errorf("error answer\ngot  %s\nwant %s", got, want)
		}
		// With a request id too (the envelope's optional member).
		got, err = appendBody(nil, e.Envelope("req-<1>"))
		if err != nil {
			t.Fatal(err)
		}
		if want := marshal(t, e.Envelope("req-<1>")); !bytes.Equal(got, want) {
			t.Errorf("envelope\ngot  %s\nwant %s", got, want)
		}
	}
}

// A detail the encoder cannot render is a bug answered as a 500, never an
// empty answer.
func TestUnencodableDetail(t *testing.T) {
	if _, err := appendError(nil, apierr.New(apierr.BadRequest, "x").WithDetail("c", make(chan int))); err == nil {
		t.Fatal("a channel detail was encoded")
	}
}

func TestPlanAnswers(t *testing.T) {
	s := func(v string) *string { return &v }
	plans := []wirePlan{
		{},
		{Args: []*string{}, Columns: []plan.Column{}, CountArgs: []*string{}},
		{Connection: "main", Engine: "postgres", Op: plan.Select, SQL: `SELECT "id" FROM "items" WHERE "id" = $1`,
			Args: []*string{s("1"), nil, s("")}, CountSQL: "SELECT count(*)", CountArgs: []*string{nil, s("x")},
			Columns: []plan.Column{{Name: "id", Type: "bigint"}, {Name: "", Type: ""}}, Write: true, CapAffected: true,
			Check: true, CheckMessage: "check failed", Logic: "top", Readonly: true, MaxRows: 1000},
		{MaxRows: -3},
	}
	for _, a := range awkward {
		plans = append(plans, wirePlan{Connection: a, Engine: a, Op: plan.Op(a), SQL: a, Args: []*string{&a}, CountSQL: a,
			CountArgs: []*string{&a}, Columns: []plan.Column{{Name: a, Type: a}}, CheckMessage: a, Logic: a})
	}
	for _, w := range plans {
		got := appendOK(nil, appendPlan(nil, &w))
		if want := marshal(t, okAnswer{OK: w}); !bytes.Equal(got, want) {
			t.Errorf("plan answer\ngot  %s\nwant %s", got, want)
		}
	}
}

func FuzzPlanAnswer(f *testing.F) {
	for _, a := range awkward {
		f.Add(a, a, 0)
	}
	f.Fuzz(func(t *testing.T, a, b string, n int) {
		w := wirePlan{Connection: a, Engine: b, Op: plan.Op(a), SQL: b, Args: []*string{&a, nil, &b}, CountSQL: a,
			CountArgs: []*string{&b}, Columns: []plan.Column{{Name: a, Type: b}}, Check: n%2 == 0, CheckMessage: b,
			Logic: a, Readonly: n%3 == 0, MaxRows: n}
		if got, want := appendOK(nil, appendPlan(nil, &w)), marshal(t, okAnswer{OK: w}); !bytes.Equal(got, want) {
			t.Errorf("plan answer\ngot  %s\nwant %s", got, want)
		}
		e := apierr.New(apierr.BadRequest, "%s", a).WithDetail("problems", []apierr.Problem{{Path: b, Line: n, Message: a}}).WithHeader(a, b)
		got, err := appendError(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		if want := marshal(t, errorAnswer{Error: e.Envelope(""), Headers: e.Headers}); !bytes.Equal(got, want) {
			t.Errorf("error answer\ngot  %s\nwant %s", got, want)
		}
	})
}
