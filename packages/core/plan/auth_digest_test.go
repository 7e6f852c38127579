package plan

import (
	"crypto/sha256"
	"reflect"
	"testing"
	"time"
)

// The Workers runtime hashes the secret with WebCrypto and calls
// AuthenticateDigest; the Bridge calls Authenticate. Both must answer every
// key alike.
func TestAuthenticateDigestIsAuthenticate(t *testing.T) {
	e := fixtureEnv(t)
	for _, tc := range []struct {
		name, id, secret string
		now              time.Time
		ok               bool
	}{
		{"good", keyWriter, secret, fixtureNow, true},
		{"good until its expiry", keyWriter, secret, fixtureNow.Add(time.Hour - time.Nanosecond), true},
		{"unknown id", "key_01JD3W00000000000000000XXX", secret, fixtureNow, false},
		{"wrong secret", keyWriter, secret[:len(secret)-1] + "x", fixtureNow, false},
		{"revoked", keyRevoked, secret, fixtureNow, false},
		{"expired", keyExpired, secret, fixtureNow, false},
		{"expires exactly now", keyWriter, secret, fixtureNow.Add(time.Hour), false},
		{"malformed stored hash", "key_01JD3W000000000000000000BH", secret, fixtureNow, false},
	} {
		want, wantErr := e.Authenticate(tc.id, tc.secret, tc.now)
		got, err := e.AuthenticateDigest(tc.id, sha256.Sum256([]byte(tc.secret)), tc.now)
		if (err == nil) != tc.ok || (wantErr == nil) != tc.ok {
			t.Errorf("%s: Authenticate err %v, AuthenticateDigest err %v; want ok=%v", tc.name, wantErr, err, tc.ok)
			continue
		}
		if !reflect.DeepEqual(got, want) || (err != nil && err.Error() != wantErr.Error()) {
			t.Errorf("%s: AuthenticateDigest = %+v, %v; Authenticate = %+v, %v", tc.name, got, err, want, wantErr)
		}
	}
	// An all-zero digest never matches an unknown id's zero hash.
	if _, err := e.AuthenticateDigest("key_01JD3W00000000000000000XXX", [32]byte{}, fixtureNow); err == nil {
		t.Error("an unknown id with a zero digest was accepted")
	}
}
