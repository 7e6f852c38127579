//go:build !wasip1

package authconfig

// Parsing is left out of the wasip1 build: the Workers planner reads the
// auth config in its parsed form from the bundle (JSON), and the YAML
// parser, net/url and net/netip would only add to its wasm module
// (decision 0030).

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/santokit/santokit/packages/core/yamlsrc"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/names"
)

// MaxIssuers bounds the issuers of one env: each costs the Bridge a JWKS
// cache and a refresh budget, and no real app trusts more than a handful.
const MaxIssuers = 32

// maxText bounds each string value (URLs, audience, claim name).
const maxText = 2048

// issuerKeys are the keys an issuer entry may have, in the order messages
// list them.
var issuerKeys = []string{"name", "issuer", "audience", "jwksUrl", "rolesClaim"}

// Hash is the content hash of an auth.yaml text, as the Hub records it for
// a staged version and folds it into a release's content hash.
func Hash(src []byte) string {
	sum := sha256.Sum256(src)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Parse reads and validates an auth.yaml (SPEC §7.3). It reports every
// problem it finds, each with its path, line and column, rather than
// stopping at the first. The document is nil whenever there is a problem:
// an auth config with problems must never be staged or served.
//
// Anchors, aliases, tags and merge keys are refused: the file is a short
// list of issuers, and refusing them keeps what is read exactly what is
// written.
func Parse(src []byte) (*Document, []apierr.Problem) {
	f, pr := yamlsrc.Parse(src)
	if pr != nil {
		return nil, []apierr.Problem{*pr}
	}
	var bodies []ast.Node
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			bodies = append(bodies, doc.Body)
		}
	}
	if len(bodies) == 0 {
		return nil, []apierr.Problem{{Line: 1, Column: 1, Message: "the file is empty: expected version and issuers"}}
	}
	r := &reader{}
	if len(bodies) > 1 {
		r.add(bodies[1], "", "only one YAML document is allowed")
	}
	d := r.document(bodies[0])
	if len(r.problems) > 0 {
		sort.SliceStable(r.problems, func(i, j int) bool {
			a, b := r.problems[i], r.problems[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Column < b.Column
		})
		return nil, r.problems
	}
	return d, nil
}

// reader walks one YAML document into a Document, collecting problems.
type reader struct{ problems []apierr.Problem }

func (r *reader) add(at ast.Node, path, format string, args ...any) {
	line, col := position(at)
	r.problems = append(r.problems, apierr.Problem{Path: path, Line: line, Column: col,
		Message: fmt.Sprintf(format, args...)})
}

// position is where a node starts (1-based; 0 when unknown). A block
// mapping's own token is the ':' of its first entry, so its first key is
// used instead.
func position(n ast.Node) (line, col int) {
	switch v := n.(type) {
	case nil:
		return 0, 0
	case *ast.MappingNode:
		if v != nil && !v.IsFlowStyle && len(v.Values) > 0 && v.Values[0] != nil {
			return position(v.Values[0])
		}
	case *ast.MappingValueNode:
		if v != nil && v.Key != nil {
			return position(v.Key)
		}
	}
	if n == nil {
		return 0, 0
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

// orKey is the value node for positions, or the key when the value has
// none (an empty value).
func orKey(value, key ast.Node) ast.Node {
	if line, _ := position(value); line >= 1 {
		return value
	}
	return key
}

// plain refuses the YAML features this file does not need (anchors,
// aliases, tags); ok=false means a problem was reported.
func (r *reader) plain(n ast.Node, path string) bool {
	switch n.(type) {
	case *ast.AnchorNode, *ast.AliasNode:
		r.add(n, path, "anchors and aliases are not allowed in auth.yaml")
		return false
	case *ast.TagNode:
		r.add(n, path, "YAML tags are not allowed in auth.yaml")
		return false
	}
	return true
}

// entry is one key of a mapping with the key's text.
type entry struct {
	key   string
	keyAt ast.Node
	value ast.Node
}

// entries lists the keys of a mapping; keys that are not plain strings are
// reported and left out (the YAML parser already refuses repeated keys).
func (r *reader) entries(m *ast.MappingNode, path string) []entry {
	var out []entry
	for _, mv := range m.Values {
		if mv == nil || mv.Key == nil {
			continue
		}
		k := ast.Node(mv.Key)
		if mk, ok := k.(*ast.MappingKeyNode); ok && mk != nil {
			k = mk.Value
		}
		if !r.plain(k, path) {
			continue
		}
		s, ok := k.(*ast.StringNode)
		if !ok || s == nil {
			r.add(mv.Key, path, "a key must be a plain string")
			continue
		}
		out = append(out, entry{key: s.Value, keyAt: mv.Key, value: mv.Value})
	}
	return out
}

// join is the problem path of key under path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (r *reader) document(body ast.Node) *Document {
	d := &Document{Issuers: []Issuer{}}
	if !r.plain(body, "") {
		return d
	}
	m, ok := body.(*ast.MappingNode)
	if !ok || m == nil {
		r.add(body, "", "the document must be a mapping with the keys version and issuers")
		return d
	}
	var sawVersion, sawIssuers bool
	for _, e := range r.entries(m, "") {
		switch e.key {
		case "version":
			sawVersion = true
			d.Version = r.version(e)
		case "issuers":
			sawIssuers = true
			d.Issuers = r.issuers(e)
		default:
			r.add(e.keyAt, clip(e.key), "unknown key %q (allowed: version, issuers)", clip(e.key))
		}
	}
	if !sawVersion {
		r.add(m, "version", "version is required (version: 1)")
	}
	if !sawIssuers {
		r.add(m, "issuers", "issuers is required (a list; [] trusts no issuer)")
	}
	return d
}

func (r *reader) version(e entry) int {
	if !r.plain(e.value, "version") {
		return 0
	}
	if n, ok := e.value.(*ast.IntegerNode); ok && n != nil && fmt.Sprint(n.Value) == "1" {
		return Version
	}
	r.add(orKey(e.value, e.keyAt), "version", "version must be 1")
	return 0
}

func (r *reader) issuers(e entry) []Issuer {
	out := []Issuer{}
	if !r.plain(e.value, "issuers") {
		return out
	}
	seq, ok := e.value.(*ast.SequenceNode)
	if !ok || seq == nil {
		r.add(orKey(e.value, e.keyAt), "issuers", "issuers must be a list of issuers (each with name and issuer)")
		return out
	}
	if len(seq.Values) > MaxIssuers {
		r.add(seq, "issuers", "too many issuers (%d): at most %d", len(seq.Values), MaxIssuers)
		return out
	}
	names := map[string]int{}
	for i, item := range seq.Values {
		path := fmt.Sprintf("issuers[%d]", i)
		is, ok := r.issuer(item, path)
		if is.Name != "" {
			if line, dup := names[is.Name]; dup {
				r.add(item, path+".name", "issuer name %q is used twice (also at line %d)", is.Name, line)
				continue
			}
			names[is.Name] = is.Line
		}
		if ok {
			out = append(out, is)
		}
	}
	return out
}

// issuer reads and checks one issuer entry.
func (r *reader) issuer(n ast.Node, path string) (Issuer, bool) {
	if !r.plain(n, path) {
		return Issuer{}, false
	}
	m, ok := n.(*ast.MappingNode)
	if !ok || m == nil {
		r.add(n, path, "an issuer must be a mapping with name and issuer")
		return Issuer{}, false
	}
	line, _ := position(m)
	is := Issuer{Line: line}
	before := len(r.problems)
	for _, e := range r.entries(m, path) {
		keyPath := join(path, e.key)
		var dst *string
		switch e.key {
		case "name":
			dst = &is.Name
		case "issuer":
			dst = &is.Issuer
		case "audience":
			dst = &is.Audience
		case "jwksUrl":
			dst = &is.JWKSURL
		case "rolesClaim":
			dst = &is.RolesClaim
		default:
			r.add(e.keyAt, join(path, clip(e.key)), "unknown key %q in an issuer (allowed: %s)",
				clip(e.key), strings.Join(issuerKeys, ", "))
			continue
		}
		s, ok := r.text(e, keyPath)
		if !ok {
			continue
		}
		*dst = s
		at := orKey(e.value, e.keyAt)
		switch e.key {
		case "name":
			if !names.IsResource(s) {
				r.add(at, keyPath, "invalid issuer name %q: use 1-63 characters, lowercase letters, digits and '-', starting with a letter", clip(s))
			}
		case "issuer":
			if why := CheckURL(s, false); why != "" {
				r.add(at, keyPath, "issuer %s", why)
			}
		case "jwksUrl":
			if why := CheckURL(s, true); why != "" {
				r.add(at, keyPath, "jwksUrl %s", why)
			}
		}
	}
	if is.Name == "" && !hasKey(m, "name") {
		r.add(m, path+".name", "an issuer needs a name")
	}
	if is.Issuer == "" && !hasKey(m, "issuer") {
		r.add(m, path+".issuer", "an issuer needs issuer (its exact iss URL)")
	}
	return is, len(r.problems) == before
}

// hasKey reports whether mapping m writes key (whatever its value).
func hasKey(m *ast.MappingNode, key string) bool {
	for _, mv := range m.Values {
		if mv != nil && mv.Key != nil {
			if s, ok := mv.Key.(*ast.StringNode); ok && s != nil && s.Value == key {
				return true
			}
		}
	}
	return false
}

// text reads a non-empty string value of at most maxText bytes.
func (r *reader) text(e entry, path string) (string, bool) {
	if !r.plain(e.value, path) {
		return "", false
	}
	s, ok := e.value.(*ast.StringNode)
	if !ok || s == nil {
		r.add(orKey(e.value, e.keyAt), path, "%s must be a string", e.key)
		return "", false
	}
	if strings.TrimSpace(s.Value) == "" {
		r.add(orKey(e.value, e.keyAt), path, "%s must not be empty", e.key)
		return "", false
	}
	if len(s.Value) > maxText {
		r.add(e.value, path, "%s is longer than %d bytes", e.key, maxText)
		return "", false
	}
	return s.Value, true
}

// CheckURL says why u is not an acceptable issuer (query=false) or JWKS URL
// (query=true), or "" when it is: an absolute https:// URL with a host, no
// userinfo and no fragment; http:// only for loopback hosts (127.0.0.0/8,
// [::1], localhost), which serve development and tests (SPEC §7.3). An
// issuer identifier has no query either (OpenID Connect Discovery §2).
func CheckURL(u string, query bool) string {
	// Messages never echo the URL: a malformed one may hold a credential
	// (user:password@host without a scheme parses as an opaque URL).
	p, err := url.Parse(u)
	if err != nil || !p.IsAbs() || p.Opaque != "" {
		return "must be an absolute https:// URL (https://host/…)"
	}
	if p.User != nil {
		return "must not carry a user or password"
	}
	if p.Fragment != "" || strings.Contains(u, "#") {
		return "must not have a fragment (#…)"
	}
	if !query && (p.RawQuery != "" || p.ForceQuery) {
		return "must not have a query (?…)"
	}
	host := p.Hostname()
	if host == "" {
		return "must name a host"
	}
	switch strings.ToLower(p.Scheme) {
	case "https":
		return ""
	case "http":
		if IsLoopback(host) {
			return ""
		}
		return fmt.Sprintf("must use https:// (http:// is allowed only for loopback hosts: 127.0.0.1, [::1], localhost; found host %q)", clip(host))
	}
	return fmt.Sprintf("must be an https:// URL (found scheme %q)", clip(p.Scheme))
}

// IsLoopback reports whether host (without port or brackets) is localhost
// or an address of 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Zone() == "" && a.Unmap().IsLoopback()
}

// clip keeps echoed input short so messages stay readable.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
