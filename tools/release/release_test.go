package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

const testVersion = "v0.0.0-test"

// TestReleaseHost is the release dry run for the host platform: it builds
// the release twice into two directories and checks that every file is the
// same bytes (reproducible), that SHA256SUMS lists them, the archive's
// contents, the stamped version through the real binaries, the SBOM, and
// the images' OCI layout and config; then the podman test runs an image.
func TestReleaseHost(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	host := Platform{runtime.GOOS, runtime.GOARCH}
	cfg := Config{Version: testVersion, Root: root, Platforms: []Platform{host}, Images: true}
	var outs [2]string
	var files [2][]string
	for i := range outs {
		outs[i] = filepath.Join(t.TempDir(), "dist")
		cfg.Out = outs[i]
		var log bytes.Buffer
		if files[i], err = Run(context.Background(), cfg, &log); err != nil {
			t.Fatalf("release run %d: %v\n%s", i+1, err, log.String())
		}
	}
	want := []string{archiveName(testVersion, host) + ".tar.gz", sbomName(testVersion), "SHA256SUMS"}
	if host.OS == "windows" {
		want[0] = archiveName(testVersion, host) + ".zip"
	}
	if host.OS == "linux" {
		want = append(want, imageName("stk-bridge", testVersion, host), imageName("stk-hub", testVersion, host))
	}
	if got := slices.Sorted(slices.Values(files[0])); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("release files %q, want %q", got, want)
	}
	t.Run("reproducible", func(t *testing.T) {
		if !slices.Equal(files[0], files[1]) {
			t.Fatalf("second run wrote %q, first %q", files[1], files[0])
		}
		for _, f := range files[0] {
			a, _ := os.ReadFile(filepath.Join(outs[0], f))
			b, _ := os.ReadFile(filepath.Join(outs[1], f))
			if len(a) == 0 || !bytes.Equal(a, b) {
				t.Errorf("%s differs between two builds of the same commit (%d and %d bytes)", f, len(a), len(b))
			}
		}
	})
	out := outs[0]
	t.Run("SHA256SUMS", func(t *testing.T) { checkSums(t, out, files[0]) })
	bins := t.TempDir()
	t.Run("archive", func(t *testing.T) {
		if host.OS == "windows" {
			t.Skip("the archive check reads tar.gz; CI runs linux")
		}
		checkArchive(t, filepath.Join(out, want[0]), bins, root)
	})
	t.Run("stamped version", func(t *testing.T) { checkStamp(t, root, bins, host) })
	t.Run("SBOM", func(t *testing.T) { checkSBOM(t, filepath.Join(out, sbomName(testVersion))) })
	if host.OS != "linux" {
		return
	}
	for _, prog := range ImagePrograms {
		t.Run("image "+prog.Name, func(t *testing.T) {
			checkImage(t, filepath.Join(out, imageName(prog.Name, testVersion, host)), prog, host, filepath.Join(bins, prog.Name))
		})
	}
	t.Run("podman", func(t *testing.T) { runImage(t, filepath.Join(out, imageName("stk-hub", testVersion, host))) })
}

func checkSums(t *testing.T, out string, files []string) {
	b, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(sum) {
			t.Fatalf("SHA256SUMS line %q is not sha256sum's format", sc.Text())
		}
		got, err := fileSHA256(filepath.Join(out, name))
		if err != nil || got != sum {
			t.Errorf("SHA256SUMS says %s for %s, the file hashes to %s (%v)", sum, name, got, err)
		}
		listed = append(listed, name)
	}
	wantListed := slices.DeleteFunc(slices.Clone(files), func(f string) bool { return f == "SHA256SUMS" })
	if !slices.Equal(listed, slices.Sorted(slices.Values(wantListed))) {
		t.Errorf("SHA256SUMS lists %q, want %q", listed, wantListed)
	}
}

// checkArchive checks the archive's entries and extracts the binaries into
// bins.
func checkArchive(t *testing.T, path, bins, root string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := strings.TrimSuffix(filepath.Base(path), ".tar.gz")
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Uid != 0 || h.Uname != "" || !h.ModTime.Equal(h.ModTime.Truncate(time.Second)) {
			t.Errorf("%s: owner %d %q: want root with no name", h.Name, h.Uid, h.Uname)
		}
		data, _ := io.ReadAll(tr)
		switch base := strings.TrimPrefix(h.Name, dir+"/"); base {
		case "stk", "stk-hub", "stk-bridge":
			if h.Mode != 0o755 {
				t.Errorf("%s: mode %o, want 755", h.Name, h.Mode)
			}
			if err := os.WriteFile(filepath.Join(bins, base), data, 0o755); err != nil {
				t.Fatal(err)
			}
		case "LICENSE", "README.md":
			src, _ := os.ReadFile(filepath.Join(root, base))
			if !bytes.Equal(data, src) {
				t.Errorf("%s is not the repository's %s", h.Name, base)
			}
		}
	}
	want := []string{dir + "/", dir + "/stk", dir + "/stk-hub", dir + "/stk-bridge", dir + "/LICENSE", dir + "/README.md"}
	if !slices.Equal(names, want) {
		t.Fatalf("archive entries %q, want %q", names, want)
	}
	lic, _ := os.ReadFile(filepath.Join(root, "LICENSE"))
	if !bytes.Contains(lic, []byte("Apache License")) || !bytes.Contains(lic, []byte("Version 2.0, January 2004")) {
		t.Errorf("LICENSE is not the Apache License 2.0 text")
	}
}

// checkStamp runs the released binaries: `version` names the release and
// the commit, and the Bridge's GET /v1/version answers the same.
func checkStamp(t *testing.T, root, bins string, host Platform) {
	commit, err := git(context.Background(), root, "rev-parse", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	short := commit[:12]
	for _, prog := range []string{"stk-hub", "stk-bridge"} {
		out, err := exec.Command(filepath.Join(bins, host.exe(prog)), "version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), prog+" "+testVersion+" (commit "+short+", ") {
			t.Errorf("%s version: %q (%v), want %s %s (commit %s, <date>)", prog, out, err, prog, testVersion, short)
		}
	}
	out, err := exec.Command(filepath.Join(bins, host.exe("stk")), "version", "--json", "--hub", "http://127.0.0.1:1").CombinedOutput()
	var v versionJSON
	if err != nil || json.Unmarshal(out, &v) != nil || v.Client != testVersion || v.ClientCommit != commit || v.ClientDate == "" {
		t.Errorf("stk version --json: %s (%v), want client %s commit %s", out, err, testVersion, commit)
	}

	// The Bridge starts without a reachable Hub; /healthz and /v1/version answer.
	addr := freeAddr(t)
	cmd := exec.Command(filepath.Join(bins, host.exe("stk-bridge")))
	cmd.Env = append(os.Environ(), "STK_BRIDGE_ADDR="+addr, "STK_BRIDGE_TOKEN=release-test", "STK_HUB_URL=http://127.0.0.1:1")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	health := "http://" + addr + "/healthz"
	if err := waitHTTP(health, 10*time.Second); err != nil {
		t.Fatalf("stk-bridge never answered /healthz: %v\n%s", err, logs.String())
	}
	if out, err := exec.Command(filepath.Join(bins, host.exe("stk-bridge")), "healthcheck", health).CombinedOutput(); err != nil {
		t.Errorf("stk-bridge healthcheck %s: %v %s", health, err, out)
	}
	if out, err := exec.Command(filepath.Join(bins, host.exe("stk-bridge")), "healthcheck", "http://"+addr+"/nothing").CombinedOutput(); err == nil {
		t.Errorf("stk-bridge healthcheck of a 404 succeeded: %s", out)
	}
	resp, err := http.Get("http://" + addr + "/v1/version")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var bv struct{ Version, Commit, Date string }
	if err := json.NewDecoder(resp.Body).Decode(&bv); err != nil || resp.StatusCode != 200 ||
		bv.Version != testVersion || bv.Commit != commit || bv.Date != v.ClientDate {
		t.Errorf("Bridge GET /v1/version: %d %+v (%v), want %s %s %s", resp.StatusCode, bv, err, testVersion, commit, v.ClientDate)
	}
}

type versionJSON struct {
	Client       string `json:"client"`
	ClientCommit string `json:"clientCommit"`
	ClientDate   string `json:"clientDate"`
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitHTTP(url string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkSBOM checks the CycloneDX 1.5 rules the document must meet: the
// required top-level fields, a urn:uuid serial number, a purl and a unique
// bom-ref on every component, dependency refs that exist, and the modules
// that the programs link.
func checkSBOM(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var bom Bom
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&bom); err != nil {
		t.Fatalf("SBOM: %v", err)
	}
	if bom.BomFormat != "CycloneDX" || bom.SpecVersion != "1.5" || bom.Version != 1 {
		t.Errorf("SBOM header %q %q %d", bom.BomFormat, bom.SpecVersion, bom.Version)
	}
	if !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(bom.SerialNumber) {
		t.Errorf("serialNumber %q is not a urn:uuid", bom.SerialNumber)
	}
	if _, err := time.Parse(time.RFC3339, bom.Metadata.Timestamp); err != nil {
		t.Errorf("metadata.timestamp: %v", err)
	}
	mc := bom.Metadata.Component
	if mc.Name != "github.com/santokit/santokit" || mc.Version != testVersion || len(mc.Licenses) != 1 || mc.Licenses[0].License.ID != "Apache-2.0" {
		t.Errorf("metadata.component %+v", mc)
	}
	purlRE := regexp.MustCompile(`^pkg:golang/[A-Za-z0-9.\-_~/]+@[A-Za-z0-9.\-_~%]+$`)
	refs := map[string]bool{mc.BomRef: true}
	names := map[string]bool{}
	for i, c := range append([]Component{mc}, bom.Components...) {
		if c.Type != "application" && c.Type != "library" || c.Name == "" || c.Version == "" || !purlRE.MatchString(c.Purl) || c.BomRef != c.Purl {
			t.Errorf("component %+v: want a type, name, version and a golang purl as its bom-ref", c)
		}
		if i > 0 {
			if refs[c.BomRef] {
				t.Errorf("bom-ref %q twice", c.BomRef)
			}
			refs[c.BomRef] = true
		}
		names[c.Name] = true
	}
	for _, d := range bom.Dependencies {
		for _, r := range append([]string{d.Ref}, d.DependsOn...) {
			if !refs[r] {
				t.Errorf("dependency ref %q names no component", r)
			}
		}
	}
	for _, m := range []string{"stdlib", "github.com/jackc/pgx/v5", "modernc.org/sqlite", "github.com/spf13/cobra", "github.com/google/cel-go"} {
		if !names[m] {
			t.Errorf("SBOM lacks %s, which the programs link", m)
		}
	}
}

// checkImage reads the OCI layout tarball: a valid image (digests, sizes,
// diff IDs) for the platform, the config (non-root user, entrypoint, env,
// labels, health check), and the layers (the very binary of the archive,
// CA certificates, the user in /etc/passwd).
func checkImage(t *testing.T, path string, prog ImageProgram, p Platform, archived string) {
	dir := t.TempDir()
	untar(t, path, dir)
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Platform == nil || im.Manifests[0].Platform.Architecture != p.Arch ||
		im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "santokit/"+prog.Name+":"+testVersion {
		t.Fatalf("index.json: %+v", im.Manifests)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("image does not validate: %v", err)
	}
	if mt, _ := img.MediaType(); mt != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("manifest media type %s", mt)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	exe := imageBinDir + prog.Name
	if c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{exe}) || len(c.Cmd) != 0 || cf.OS != "linux" || cf.Architecture != p.Arch {
		t.Errorf("config: user %q entrypoint %q cmd %q os/arch %s/%s", c.User, c.Entrypoint, c.Cmd, cf.OS, cf.Architecture)
	}
	for _, e := range append([]string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}, prog.Env...) {
		if !slices.Contains(c.Env, e) {
			t.Errorf("env %q lacks %s", c.Env, e)
		}
	}
	for k, v := range map[string]string{"org.opencontainers.image.version": testVersion, "org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.title": prog.Name, "io.santokit.healthcheck": "http://127.0.0.1:" + prog.Port + "/healthz"} {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	if hc := c.Healthcheck; hc == nil || !slices.Equal(hc.Test, []string{"CMD", exe, "healthcheck", "http://127.0.0.1:" + prog.Port + "/healthz"}) {
		t.Errorf("healthcheck %+v", c.Healthcheck)
	}
	if _, ok := c.ExposedPorts[prog.Port+"/tcp"]; !ok {
		t.Errorf("exposed ports %v lack %s/tcp", c.ExposedPorts, prog.Port)
	}
	files := layerFiles(t, img)
	want, _ := os.ReadFile(archived)
	if bin := files["usr/local/bin/"+prog.Name]; len(want) == 0 || !bytes.Equal(bin.data, want) || bin.mode != 0o755 {
		t.Errorf("image binary %s: %d bytes mode %o, want the archive's %d bytes mode 755", prog.Name, len(bin.data), bin.mode, len(want))
	}
	if ca := files["etc/ssl/certs/ca-certificates.crt"]; !bytes.Contains(ca.data, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Errorf("image lacks CA certificates")
	}
	if pw := files["etc/passwd"]; !bytes.Contains(pw.data, []byte("nonroot:x:65532:65532:")) {
		t.Errorf("/etc/passwd lacks the non-root user: %q", pw.data)
	}
	if d, ok := files["data/"]; !ok || d.uid != nonRootUID {
		t.Errorf("/data must belong to %d: %+v", nonRootUID, d)
	}
}

type layerFile struct {
	data      []byte
	mode, uid int64
}

func layerFiles(t *testing.T, img v1.Image) map[string]layerFile {
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]layerFile{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(tr)
			files[h.Name] = layerFile{data, h.Mode, int64(h.Uid)}
		}
		rc.Close()
	}
	return files
}

func untar(t *testing.T, path, dir string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, _ := io.ReadAll(tr)
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runImage loads the stk-hub image into podman, runs it and gets /healthz
// (and /v1/version) from the published port. It skips, printing why, only
// where podman is not installed or cannot run a container (as inside an
// unprivileged container, where crun may not set rlimits).
func runImage(t *testing.T, path string) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("podman is not installed (apt-get install podman); the image was checked from its OCI layout above")
	}
	out, err := exec.Command(podman, "load", "-q", "-i", path).CombinedOutput()
	if err != nil {
		t.Fatalf("podman load: %v\n%s", err, out)
	}
	ref := "localhost/santokit/stk-hub:" + testVersion
	t.Cleanup(func() { _ = exec.Command(podman, "rmi", "-f", ref).Run() })
	addr := freeAddr(t)
	name := fmt.Sprintf("santokit-release-test-%d", os.Getpid())
	out, err = exec.Command(podman, "run", "-d", "--rm", "--name", name, "-p", addr+":4000",
		"-e", "STK_MASTER_KEYS=v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", ref).CombinedOutput()
	if err != nil {
		t.Skipf("podman cannot run containers on this machine: %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { _ = exec.Command(podman, "rm", "-f", name).Run() })
	if err := waitHTTP("http://"+addr+"/healthz", 30*time.Second); err != nil {
		logs, _ := exec.Command(podman, "logs", name).CombinedOutput()
		t.Fatalf("the stk-hub container never answered /healthz: %v\n%s", err, logs)
	}
	out, err = exec.Command(podman, "healthcheck", "run", name).CombinedOutput()
	if err != nil {
		t.Errorf("podman healthcheck run: %v %s", err, out)
	}
	resp, err := http.Get("http://" + addr + "/v1/version")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Version string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.Version != testVersion {
		t.Errorf("the container's Hub says version %q, want %s", v.Version, testVersion)
	}
}

// TestManifestsLicence: every package manifest of the repository says
// Apache-2.0, the LICENSE at the root (issue 18 item 5); a new workspace
// package that forgets it fails here.
func TestManifestsLicence(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out, err := git(context.Background(), root, "ls-files", "--cached", "--others", "--exclude-standard", "--", "package.json", "*/package.json")
	if err != nil {
		t.Fatal(err)
	}
	manifests := strings.Fields(out)
	if !slices.Contains(manifests, "package.json") || !slices.Contains(manifests, "packages/client/package.json") {
		t.Fatalf("manifests found: %q", manifests)
	}
	for _, m := range manifests {
		b, err := os.ReadFile(filepath.Join(root, m))
		if err != nil {
			t.Fatal(err)
		}
		var pkg struct{ License string }
		if err := json.Unmarshal(b, &pkg); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if pkg.License != "Apache-2.0" {
			t.Errorf("%s: license %q, want \"Apache-2.0\"", m, pkg.License)
		}
	}
	for _, lic := range []string{"LICENSE", "packages/client/LICENSE"} {
		b, err := os.ReadFile(filepath.Join(root, lic))
		if err != nil || !bytes.Contains(b, []byte("Apache License")) || !bytes.Contains(b, []byte("Version 2.0, January 2004")) {
			t.Errorf("%s is not the Apache License 2.0 (%v)", lic, err)
		}
	}
}

// TestRunRefuses: bad versions and an output directory that would empty the
// repository are refused before anything is built or removed.
func TestRunRefuses(t *testing.T) {
	root := t.TempDir()
	keep := filepath.Join(root, "keep")
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	host := []Platform{{runtime.GOOS, runtime.GOARCH}}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Version: "1.2.3", Root: root, Out: "dist", Platforms: host}, `-version "1.2.3": want vMAJOR.MINOR.PATCH`},
		{Config{Version: "v1.2", Root: root, Out: "dist", Platforms: host}, `-version "v1.2"`},
		{Config{Version: "v1.2.3", Root: root, Out: ".", Platforms: host}, `-out ".": the output directory is emptied first`},
		{Config{Version: "v1.2.3", Root: root, Out: "..", Platforms: host}, `-out "..": the output directory is emptied first`},
		{Config{Version: "v1.2.3", Root: root, Out: "dist"}, "no platforms"},
	} {
		_, err := Run(context.Background(), tc.cfg, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("a refused run removed a file: %v", err)
	}
	if _, err := parsePlatforms("linux"); err == nil {
		t.Error(`-platforms "linux" accepted`)
	}
	if p, err := parsePlatforms("linux/arm64, windows/amd64"); err != nil || len(p) != 2 || p[1] != (Platform{"windows", "amd64"}) {
		t.Errorf("parsePlatforms = %v, %v", p, err)
	}
}
