package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// call runs one operation as the host would and decodes the answer.
func call(t *testing.T, op uint32, req string) (ok map[string]any, code, msg string) {
	t.Helper()
	var a struct {
		OK    map[string]any `json:"ok"`
		Error struct {
			Error struct{ Code, Message string } `json:"error"`
		} `json:"error"`
	}
	if err := json.Unmarshal(answer(op, []byte(req)), &a); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	return a.OK, a.Error.Error.Code, a.Error.Error.Message
}

func TestOperations(t *testing.T) {
	if _, code, msg := call(t, opDecode, `{"path":"db/main/items/select","extra":1}`); code != "BAD_REQUEST" || !strings.Contains(msg, "extra") {
		t.Errorf("decode of an unknown field: %s %q", code, msg)
	}
	if ok, code, _ := call(t, opDecode, `{"path":"db/main/items/select"}`); code != "" || ok == nil {
		t.Errorf("decode of a good body: %s", code)
	}
	if _, code, _ := call(t, opKeyID, `{"key":"stk_nope"}`); code != "UNAUTHORIZED" {
		t.Errorf("a malformed key: %s, want UNAUTHORIZED", code)
	}
	key := "stk_key_01ARZ3NDEKTSV4RRFFQ69G5FAV_0123456789abcdefghijABCDEFGHIJ0123456789xyz"
	if ok, _, _ := call(t, opKeyID, `{"key":"`+key+`"}`); ok["keyId"] != "key_01ARZ3NDEKTSV4RRFFQ69G5FAV" {
		t.Errorf("keyId: %v", ok)
	}
	ok, code, msg := call(t, opCompile, `{"limits":{"MaxLimit":10,"MaxBatch":10},"bundle":{"project":"p","env":"e","revision":3,"release":null,"connections":[],"apiKeys":[]}}`)
	if code != "" || ok["hasRelease"] != false {
		t.Fatalf("compile: %v %s %q", ok, code, msg)
	}
	env := ok["env"].(float64)
	head, _ := json.Marshal(map[string]any{"env": env, "caller": map[string]any{"roles": []string{"reader"}}})
	req := string(head) + "\n" + `{"path":"db/main/items/select"}`
	if _, code, msg := call(t, opPlan, req); code != "NOT_FOUND" || !strings.Contains(msg, "no current release") {
		t.Errorf("plan without a release: %s %q", code, msg)
	}
	if _, code, _ := call(t, opAuthenticate, `{"env":`+jsonNum(env)+`,"keyId":"key_01ARZ3NDEKTSV4RRFFQ69G5FAV","digest":"`+strings.Repeat("00", 32)+`","now":0}`); code != "UNAUTHORIZED" {
		t.Errorf("an unknown key: %s, want UNAUTHORIZED", code)
	}
	call(t, opDrop, `{"env":`+jsonNum(env)+`}`)
	if _, code, _ := call(t, opPlan, req); code != "INTERNAL_ERROR" {
		t.Errorf("plan on a dropped env: %s, want INTERNAL_ERROR", code)
	}
}

func jsonNum(f float64) string { b, _ := json.Marshal(f); return string(b) }
