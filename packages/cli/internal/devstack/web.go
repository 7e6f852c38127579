package devstack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/santokit/santokit/internal/devissuer"
	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/cors"
	"github.com/santokit/santokit/packages/core/httperr"
	"github.com/santokit/santokit/packages/core/httpserve"
	"github.com/santokit/santokit/packages/core/requestid"
)

// Browser pages against stk dev (issue 15, decision 0029): the dev
// issuer's token endpoint, which mints what `stk dev token` prints for a
// user name typed into a page, and --web, a loopback static file server
// whose origin the Bridge and the token endpoint allow (CORS, SPEC §4.6).
const (
	// TokenPath is the token endpoint on the dev issuer's listener.
	TokenPath = "/dev/token"
	// DefaultWebAddr is --web-addr: a fixed port keeps the page's origin,
	// and so the CORS setting, the same across restarts.
	DefaultWebAddr = "127.0.0.1:4002"
	// WebConfigPath is served by --web: where the page finds the Bridge,
	// the env and the token endpoint, whatever ports stk dev listens on.
	WebConfigPath = "/santokit-dev.json"
	// maxTokenBody bounds a token request.
	maxTokenBody = 16 << 10
)

// TokenRequest is the body of POST /dev/token.
type TokenRequest struct {
	Sub    string         `json:"sub"`
	Roles  []string       `json:"roles,omitempty"`
	Claims map[string]any `json:"claims,omitempty"`
}

// TokenResponse is its answer: Token is what `stk dev token` prints,
// valid ExpiresIn seconds.
type TokenResponse struct {
	Token     string   `json:"token"`
	ExpiresIn int      `json:"expiresIn"`
	Sub       string   `json:"sub"`
	Roles     []string `json:"roles"`
	Issuer    string   `json:"issuer"`
}

// WebConfig is the body of WebConfigPath.
type WebConfig struct {
	BridgeURL string `json:"bridgeUrl"`
	Project   string `json:"project"`
	Env       string `json:"env"`
	TokenURL  string `json:"tokenUrl"`
	IssuerURL string `json:"issuerUrl"`
}

// tokenProblem is what is wrong with a token request, as the field and a
// message; "" when nothing is. `stk dev token` names the fields as flags,
// the endpoint as JSON fields.
func tokenProblem(sub string, roles []string, claims map[string]any) (field, msg string) {
	if strings.TrimSpace(sub) == "" {
		return "sub", "want the end user's id, e.g. alice"
	}
	for _, r := range roles {
		if strings.TrimSpace(r) == "" {
			return "role", "want a role name, e.g. editor"
		}
	}
	for k := range claims {
		for _, r := range reservedClaims {
			if k == r {
				return "claim " + k, "set by the token's own options (sub, roles, ttl)"
			}
		}
	}
	return "", ""
}

// tokenRoutes adds the token endpoint to the issuer's mux; policy allows
// the page origins (nil: no browser may call it, curl still can).
func tokenRoutes(policy *cors.Policy) func(*devissuer.Issuer, *http.ServeMux) {
	return func(iss *devissuer.Issuer, mux *http.ServeMux) {
		mux.Handle(TokenPath, withRequestID(loopbackHost(policy.Wrap(TokenPath, tokenHandler(iss), fail))))
	}
}

// withRequestID gives every answer an X-Request-Id (SPEC §3), as the
// Hub's and the Bridge's edges do.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", requestid.Accept(r.Header.Get("X-Request-Id")))
		next.ServeHTTP(w, r)
	})
}

// loopbackHost refuses a request whose Host is not a loopback name: a page
// of another site whose DNS name was rebound to 127.0.0.1 would otherwise
// be same-origin with these servers and could read tokens or files.
func loopbackHost(next http.Handler) http.Handler { return httpserve.LoopbackHostOnly(next, fail) }

// clip bounds a caller's text echoed in a message.
func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}

func fail(w http.ResponseWriter, r *http.Request, err error) {
	id := w.Header().Get("X-Request-Id")
	if id == "" {
		id = requestid.Accept(r.Header.Get("X-Request-Id"))
		w.Header().Set("X-Request-Id", id)
	}
	httperr.Write(w, id, err)
}

// tokenHandler mints an end-user token of iss for the posted sub and
// roles, valid DefaultTokenTTL: the token `stk dev token --sub S` prints.
func tokenHandler(iss *devissuer.Issuer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			fail(w, r, apierr.New(apierr.MethodNotAllowed, "%s takes POST {\"sub\": \"alice\", \"roles\": [...]}", TokenPath).WithHeader("Allow", "POST"))
			return
		}
		// A JSON content type makes a browser preflight a cross-origin
		// call, so only the allowed pages can send one.
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/json") {
			fail(w, r, apierr.New(apierr.BadRequest, "Content-Type %q: send application/json", clip(ct)))
			return
		}
		var req TokenRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTokenBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				fail(w, r, apierr.New(apierr.PayloadTooLarge, "the token request is over %d bytes", maxTokenBody))
				return
			}
			fail(w, r, apierr.New(apierr.BadRequest, "want a JSON body {\"sub\": \"alice\", \"roles\": [...], \"claims\": {...}}: %s", jsonProblem(err)))
			return
		}
		if dec.More() {
			fail(w, r, apierr.New(apierr.BadRequest, "want one JSON object, not several"))
			return
		}
		if field, msg := tokenProblem(req.Sub, req.Roles, req.Claims); field != "" {
			fail(w, r, apierr.New(apierr.BadRequest, "%s: %s", field, msg))
			return
		}
		exp := time.Now().Add(DefaultTokenTTL)
		tok, err := iss.Mint(req.Sub, req.Roles, req.Claims, DefaultTokenTTL, devissuer.WithExpiry(exp))
		if err != nil {
			fail(w, r, apierr.Wrap(apierr.Internal, err, "the dev issuer could not sign a token"))
			return
		}
		roles := req.Roles
		if roles == nil {
			roles = []string{}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(TokenResponse{Token: tok, ExpiresIn: int(DefaultTokenTTL / time.Second),
			Sub: req.Sub, Roles: roles, Issuer: iss.URL()})
	})
}

// jsonProblem says what is wrong with a JSON body without echoing it.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %s: want %s", te.Field, te.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "malformed JSON"
}

// corsOrigins are the origins stk dev's Bridge and token endpoint allow:
// the --web page's (as http://127.0.0.1:port and http://localhost:port,
// the two ways a browser may be pointed at it) and STK_CORS_ORIGINS.
func corsOrigins(webURL, fromEnv string) (*cors.Policy, error) {
	if strings.TrimSpace(fromEnv) == "*" {
		return cors.Parse("*") // allows the page already
	}
	var list []string
	if strings.TrimSpace(fromEnv) != "" {
		list = append(list, fromEnv)
	}
	if webURL != "" {
		list = append(list, webURL)
		if _, port, err := net.SplitHostPort(strings.TrimPrefix(webURL, "http://")); err == nil {
			list = append(list, "http://localhost:"+port)
		}
	}
	return cors.Parse(strings.Join(list, ","))
}

// tokenOrigins are the origins the token endpoint allows: corsOrigins
// without `*`. The Bridge may answer every page, since a page still needs
// a credential; the token endpoint mints that credential for any user, so
// `*` there would let any site the developer visits act as anyone on the
// dev database. It allows the --web page and origins listed by name.
func tokenOrigins(webURL, fromEnv string) (*cors.Policy, error) {
	if strings.TrimSpace(fromEnv) == "*" {
		fromEnv = ""
	}
	return corsOrigins(webURL, fromEnv)
}

// checkWebDir is --web's directory: it must exist and be a directory.
func checkWebDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("--web %s: no such directory", dir)
	case err != nil:
		return usagef("--web %s: %v", dir, unwrapPath(err))
	case !fi.IsDir():
		return usagef("--web %s: not a directory", dir)
	}
	return nil
}

// webHandler serves root's files (GET and HEAD) and cfg at WebConfigPath.
// Names starting with a dot are never served (a project directory's
// .santokit/ holds the master key and the issuer's keys), and os.Root
// keeps symbolic links from leading out of the directory.
func webHandler(root *os.Root, cfg WebConfig) http.Handler {
	files := http.FileServerFS(dotless{root.FS()})
	body, _ := json.Marshal(cfg)
	return withRequestID(loopbackHost(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			fail(w, r, apierr.New(apierr.MethodNotAllowed, "the --web server serves files: use GET").WithHeader("Allow", "GET, HEAD"))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path == WebConfigPath {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(append(body, '\n'))
			return
		}
		for _, seg := range strings.Split(r.URL.Path, "/") {
			if strings.HasPrefix(seg, ".") {
				fail(w, r, apierr.New(apierr.NotFound, "%s: no such file (names starting with a dot are not served)", r.URL.Path))
				return
			}
		}
		files.ServeHTTP(w, r)
	})))
}

// dotless is a file system whose directory reads leave out names starting
// with a dot, so that the --web server's directory listings do not name
// .santokit/ or .env (their contents are refused by webHandler already).
type dotless struct{ fs.FS }

func (d dotless) Open(name string) (fs.File, error) {
	f, err := d.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if dir, ok := f.(fs.ReadDirFile); ok {
		return dotlessDir{dir}, nil
	}
	return f, nil
}

type dotlessDir struct{ fs.ReadDirFile }

// ReadDir keeps ReadDir's contract for n > 0 (no empty batch before the
// end) by reading on when a batch held only dot names.
func (d dotlessDir) ReadDir(n int) ([]fs.DirEntry, error) {
	for {
		all, err := d.ReadDirFile.ReadDir(n)
		out := slices.DeleteFunc(all, func(e fs.DirEntry) bool { return strings.HasPrefix(e.Name(), ".") })
		if len(out) > 0 || err != nil || n <= 0 || len(all) == 0 {
			return out, err
		}
	}
}

// listenLoopback is listen for servers that must stay on loopback: they
// hand out tokens or files to whoever asks.
func listenLoopback(flag, addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, usagef("%s %q: want host:port, e.g. %s", flag, addr, DefaultWebAddr)
	}
	if !httpserve.LoopbackHost(host) {
		return nil, usagef("%s %q: must be a loopback address (127.0.0.1, ::1 or localhost)", flag, addr)
	}
	return listen(flag, addr)
}
