//go:build !wasip1

// The Hub's parsers (condition, logic, authconfig) that build the test
// bundles are not part of the wasip1 build.

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/bundle"
	"github.com/santokit/santokit/packages/core/jsonscan"
	"github.com/santokit/santokit/packages/core/plan"
)

// compileRealistic compiles the realistic bundle in the module, with three
// keys for one secret: active, revoked, expired.
func compileRealistic(t *testing.T, secret string) (handle string, raw []byte) {
	t.Helper()
	var b bundle.Bundle
	if err := json.Unmarshal(realisticBundle(t), &b); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(secret))
	past := time.UnixMilli(1000)
	b.APIKeys = []bundle.APIKey{
		{KeyID: "key_good", Roles: []string{"a", "w"}, Hash: hex.EncodeToString(sum[:]), Status: bundle.KeyActive},
		{KeyID: "key_revoked", Roles: []string{"a"}, Hash: hex.EncodeToString(sum[:]), Status: bundle.KeyRevoked},
		{KeyID: "key_expired", Roles: []string{"a"}, Hash: hex.EncodeToString(sum[:]), Status: bundle.KeyActive, ExpiresAt: &past},
	}
	raw, _ = json.Marshal(b)
	ok, code, msg := call(t, opCompile, `{"limits":{"MaxLimit":50,"MaxBatch":10},"bundle":`+string(raw)+`}`)
	if code != "" || ok["hasRelease"] != true {
		t.Fatalf("compile: %v %s %q", ok, code, msg)
	}
	return jsonNum(ok["env"].(float64)), raw
}

func TestAuthenticateByDigest(t *testing.T) {
	secret := "0123456789abcdefghijABCDEFGHIJ0123456789xyz"
	env, _ := compileRealistic(t, secret)
	digest := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	req := func(keyID, d string, now int64) string {
		return `{"env":` + env + `,"keyId":"` + keyID + `","digest":"` + d + `","now":` + strconv.FormatInt(now, 10) + `}`
	}
	ok, code, _ := call(t, opAuthenticate, req("key_good", digest(secret), 5000))
	if code != "" || ok["keyId"] != "key_good" || len(ok["roles"].([]any)) != 2 {
		t.Errorf("the good key: %v %s", ok, code)
	}
	for name, r := range map[string]string{
		"wrong secret": req("key_good", digest(secret+"x"), 5000),
		"revoked":      req("key_revoked", digest(secret), 5000),
		"expired":      req("key_expired", digest(secret), 5000),
		"unknown":      req("key_nope", digest(secret), 5000),
	} {
		if _, code, msg := call(t, opAuthenticate, r); code != "UNAUTHORIZED" || msg != "invalid API key" {
			t.Errorf("%s: %s %q, want UNAUTHORIZED invalid API key", name, code, msg)
		}
	}
	for name, r := range map[string]string{
		"short digest": req("key_good", digest(secret)[2:], 5000),
		"not hex":      req("key_good", strings.Repeat("zz", 32), 5000),
		"not JSON":     `{"env":`,
	} {
		if _, code, _ := call(t, opAuthenticate, r); code != "INTERNAL_ERROR" {
			t.Errorf("%s: %s, want INTERNAL_ERROR", name, code)
		}
	}
}

// The module plans exactly as the Bridge does: the same bundle, caller and
// body give the same plan as plan.Env.Plan natively.
func TestPlanLikeBridge(t *testing.T) {
	env, raw := compileRealistic(t, "s")
	var b bundle.Bundle
	_ = json.Unmarshal(raw, &b)
	native, err := plan.Compile(&b, plan.Limits{MaxLimit: 50, MaxBatch: 10})
	if err != nil {
		t.Fatal(err)
	}
	planned := 0
	claims := `{"sub":"u1","org":"acme <&>","level":9007199254740993,"roles":["a"]}`
	for _, body := range []string{
		`{"path":"db/main/memos/select","params":{"where":{"n":{"$gt":2},"price":{"$lt":1.5}},"limit":3}}`,
		`{"path":"db/main/memos/select","params":{"select":["id","org"],"orderBy":{"id":"desc"}}}`,
		`{"path":"db/main/memos/insert","params":{"data":{"org":"<x>","n":2}}}`,
		`{"path":"db/main/memos/select","params":{"where":{"nope":1}}}`,
		`{"path":"db/main/memos/delete","params":{"where":{"n":1}}}`,
		`{"path":"logics/types/integer","params":{"v":3}}`,
		`{"path":"logics/types/string","params":{"v":"<é>"}}`,
	} {
		caller := map[string]any{"endUser": true, "subject": "u1", "roles": []string{"a", "w", "reader"}, "claimsJSON": claims, "dropClaims": []string{"sub", "roles"}}
		head, _ := json.Marshal(map[string]any{"env": json.Number(env), "caller": caller})
		got := answer(opPlan, append(append(head, '\n'), body...))

		var want []byte
		pc := plan.Caller{EndUser: true, Subject: "u1", Roles: []string{"a", "w", "reader"}}
		dec := json.NewDecoder(strings.NewReader(claims))
		dec.UseNumber()
		_ = dec.Decode(&pc.Claims)
		delete(pc.Claims, "sub")
		delete(pc.Claims, "roles")
		tg, params, err := plan.DecodeRequest([]byte(body))
		var p *plan.Plan
		if err == nil {
			p, err = native.Plan(pc, tg, params)
		}
		if err != nil {
			want, _ = appendError(nil, apierr.As(err))
		} else {
			w := wirePlan{Connection: p.Connection, Engine: p.Engine, Op: p.Op, SQL: p.SQL, CountSQL: p.CountSQL,
				Columns: p.Columns, Write: p.Write, CapAffected: p.CapAffected, Check: p.Check,
				CheckMessage: p.CheckMessage, Logic: p.Logic, Readonly: p.Readonly, MaxRows: p.MaxRows}
			w.Args, _ = texts(p.Args)
			w.CountArgs, _ = texts(p.CountArgs)
			if w.Columns == nil {
				w.Columns = []plan.Column{}
			}
			want = marshal(t, okAnswer{OK: w})
			planned++
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\nmodule %s\nnative %s", body, got, want)
		}
	}
	if planned < 4 {
		t.Errorf("only %d bodies planned: the test should compare plans, not only errors", planned)
	}
	if !bytes.Contains(answer(opPlan, []byte(`{"env":`+env+`}`)), []byte("malformed plan request")) {
		t.Error("a plan request without its newline was not refused")
	}
}

// The caller's decoder agrees with json.Unmarshal (every field set, and
// the edge cases).
func TestCallerDecoder(t *testing.T) {
	full := caller{Anonymous: true, KeyID: "key_1", Roles: []string{"a", "<b>"}, EndUser: true, Subject: "u",
		ClaimsJSON: `{"n":1}`, DropClaims: []string{"sub"}}
	if z := zeros(reflect.ValueOf(full), "caller", nil); len(z) > 0 {
		t.Fatalf("the fixture leaves %v zero", z)
	}
	raw, _ := json.Marshal(full)
	for _, c := range []string{string(raw), `{}`, `null`, `{"roles":[],"dropClaims":null}`, `{"ROLES":["x"],"keyid":"k"}`,
		`{"roles":"a"}`, `{"anonymous":1}`, `{"claimsJSON":{}}`} {
		var want caller
		wantErr := json.Unmarshal([]byte(c), &want)
		tree, err := jsonscan.Decode([]byte(c))
		if err != nil {
			t.Fatal(err)
		}
		var d decoder
		var got caller
		d.caller(tree, &got)
		if (d.err == nil) != (wantErr == nil) || (wantErr == nil && !reflect.DeepEqual(got, want)) {
			t.Errorf("%s: %+v, %v; json.Unmarshal %+v, %v", c, got, d.err, want, wantErr)
		}
	}
}
