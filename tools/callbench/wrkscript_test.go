package main

import (
	"os"
	"strings"
	"testing"
)

// TestWrkScriptHeaders: the wrk script sends every header of the
// credential, so the end-user point really runs as an end user (a script
// with only the API key would measure the API-key path twice).
func TestWrkScriptHeaders(t *testing.T) {
	dir := t.TempDir()
	cred := credential{"Authorization": "Bearer aaa.bbb.ccc", "X-Santokit-Project": "bench", "X-Santokit-Env": "prod"}
	path, err := wrkScript(dir, "call-user.lua", selectByPK, cred)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lua := string(b)
	for _, want := range []string{
		`wrk.headers["Authorization"] = "Bearer aaa.bbb.ccc"`,
		`wrk.headers["X-Santokit-Env"] = "prod"`,
		`wrk.headers["X-Santokit-Project"] = "bench"`,
		`wrk.headers["Content-Type"] = "application/json"`,
	} {
		if !strings.Contains(lua, want+"\n") {
			t.Errorf("script lacks %s:\n%s", want, lua)
		}
	}
	if strings.Contains(lua, "X-Santokit-Api-Key") {
		t.Errorf("an end user's script sends an API key:\n%s", lua)
	}
}

// TestWrkScriptLogic: the logic point's script calls the logic with the id
// as its param, so the logic point does not measure the Auto CRUD select.
func TestWrkScriptLogic(t *testing.T) {
	path, err := wrkScript(t.TempDir(), "logic.lua", logicByPK, credential{"X-Santokit-Api-Key": "k"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `'{"path":"logics/items/by-id","params":{"id":' .. id .. '}}'`
	if !strings.Contains(string(b), want) {
		t.Errorf("script lacks %s:\n%s", want, b)
	}
	if got := string(logicByPK.body(7)); got != `{"path":"logics/items/by-id","params":{"id":7}}` {
		t.Errorf("body %s", got)
	}
}
