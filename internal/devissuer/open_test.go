package devissuer

import (
	"errors"
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Open mints with the keys a served issuer keeps in its file, as the
// served URL, so its tokens verify against that issuer's published key.
func TestOpenMintsWithTheServedKeys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "issuer.keys")
	served := start(t, Options{KeyFile: file})
	minter, err := Open(file, served.URL())
	if err != nil {
		t.Fatal(err)
	}
	if err := minter.Close(); err != nil {
		t.Fatalf("Close of an issuer that serves nothing: %v", err)
	}
	tok, err := minter.Mint("alice", []string{"editor"}, map[string]any{"org": "acme"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) {
		return served.PublicKey(tk.Header["kid"].(string)), nil
	}, jwt.WithValidMethods([]string{EdDSA}), jwt.WithIssuer(served.URL()), jwt.WithExpirationRequired())
	if err != nil || !parsed.Valid {
		t.Fatalf("token of Open does not verify against the served key: %v", err)
	}
	if claims["sub"] != "alice" || claims["org"] != "acme" {
		t.Fatalf("claims %v", claims)
	}

	_, err = Open(filepath.Join(t.TempDir(), "none.keys"), served.URL())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open of a missing file: %v, want fs.ErrNotExist", err)
	}
}

// A listener given to Start is served, and refused when not on loopback.
func TestStartOnAListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	iss := start(t, Options{Listener: ln})
	if iss.URL() != "http://"+ln.Addr().String() {
		t.Fatalf("URL %s, listener %s", iss.URL(), ln.Addr())
	}
	var d map[string]any
	getJSON(t, iss.URL()+"/.well-known/openid-configuration", &d)
	if d["issuer"] != iss.URL() {
		t.Fatalf("discovery %v", d)
	}

	wide, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer wide.Close()
	if _, err := Start(Options{Listener: wide}); err == nil || !strings.Contains(err.Error(), "not loopback") {
		t.Fatalf("Start on 0.0.0.0: %v", err)
	}
}
