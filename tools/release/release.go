package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Platform is a GOOS/GOARCH pair.
type Platform struct{ OS, Arch string }

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// exe is the file name of program name on p.
func (p Platform) exe(name string) string {
	if p.OS == "windows" {
		return name + ".exe"
	}
	return name
}

// AllPlatforms are the release's targets (issue 18 item 4).
var AllPlatforms = []Platform{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// Programs are the Go commands of a release, by binary name.
var Programs = []struct{ Name, Pkg string }{
	{"stk", "./packages/cli/cmd/stk"},
	{"stk-hub", "./packages/hub/cmd/stk-hub"},
	{"stk-bridge", "./packages/bridge/cmd/stk-bridge"},
}

// buildinfoPkg receives the -X stamps.
const buildinfoPkg = "github.com/santokit/santokit/packages/core/buildinfo"

// Config says what Run builds.
type Config struct {
	Version   string
	Root      string // the repository's root
	Out       string // output directory, relative to Root unless absolute
	Platforms []Platform
	Images    bool
	NPM       bool
}

// Stamp is what a release build writes into buildinfo.
type Stamp struct {
	Version, Commit string
	Date            time.Time
}

var semver = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`)

// Run builds the release and returns the files written to the output
// directory, SHA256SUMS last.
func Run(ctx context.Context, cfg Config, log io.Writer) ([]string, error) {
	if !semver.MatchString(cfg.Version) {
		return nil, fmt.Errorf("-version %q: want vMAJOR.MINOR.PATCH, e.g. v1.2.3", cfg.Version)
	}
	if len(cfg.Platforms) == 0 {
		return nil, errors.New("no platforms")
	}
	out := cfg.Out
	if !filepath.IsAbs(out) {
		out = filepath.Join(cfg.Root, out)
	}
	// The output directory is emptied: never the repository or above it.
	if rel, err := filepath.Rel(out, cfg.Root); err != nil || rel == "." || !strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("-out %q: the output directory is emptied first, so it must not be or contain the repository", cfg.Out)
	}
	st, err := stamp(ctx, cfg.Root, cfg.Version)
	if err != nil {
		return nil, err
	}
	if cfg.NPM {
		// Checked before the long part: a tag whose package.json says
		// another version would publish a mislabelled tarball.
		if err := checkNPMVersion(cfg.Root, cfg.Version); err != nil {
			return nil, err
		}
	}
	if err := os.RemoveAll(out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "santokit-release-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	license, err := os.ReadFile(filepath.Join(cfg.Root, "LICENSE"))
	if err != nil {
		return nil, fmt.Errorf("the archives carry the licence: %w", err)
	}
	readme, err := os.ReadFile(filepath.Join(cfg.Root, "README.md"))
	if err != nil {
		return nil, err
	}
	var files []string
	var binaries []string
	for _, p := range cfg.Platforms {
		fmt.Fprintf(log, "release: building %s %s\n", cfg.Version, p)
		dir := filepath.Join(work, p.OS+"_"+p.Arch)
		bins, err := build(ctx, cfg.Root, p, st, dir)
		if err != nil {
			return nil, err
		}
		binaries = append(binaries, bins...)
		name, err := writeArchive(out, p, st, bins, license, readme)
		if err != nil {
			return nil, err
		}
		files = append(files, name)
		if cfg.Images && p.OS == "linux" {
			for _, prog := range ImagePrograms {
				name, err := writeImage(out, prog, p, st, filepath.Join(dir, prog.Name), license)
				if err != nil {
					return nil, fmt.Errorf("image %s %s: %w", prog.Name, p, err)
				}
				files = append(files, name)
			}
		}
	}
	sbom, err := writeSBOM(out, st, binaries)
	if err != nil {
		return nil, err
	}
	files = append(files, sbom)
	if cfg.NPM {
		name, err := npmPack(ctx, cfg.Root, out)
		if err != nil {
			return nil, err
		}
		files = append(files, name)
	}
	slices.Sort(files)
	if err := writeSums(out, files); err != nil {
		return nil, err
	}
	return append(files, "SHA256SUMS"), nil
}

// stamp finds the commit and its time (SOURCE_DATE_EPOCH overrides the
// time, as reproducible-builds.org defines it).
func stamp(ctx context.Context, root, version string) (Stamp, error) {
	commit, err := git(ctx, root, "rev-parse", "HEAD")
	if err != nil {
		return Stamp{}, err
	}
	secs := os.Getenv("SOURCE_DATE_EPOCH")
	if secs == "" {
		if secs, err = git(ctx, root, "log", "-1", "--format=%ct", "HEAD"); err != nil {
			return Stamp{}, err
		}
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || n < 0 {
		return Stamp{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970", secs)
	}
	return Stamp{Version: version, Commit: commit, Date: time.Unix(n, 0).UTC()}, nil
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("git %s: %s", strings.Join(args, " "), strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// build compiles the programs for p into dir and returns their paths, in
// Programs order.
func build(ctx context.Context, root string, p Platform, st Stamp, dir string) ([]string, error) {
	ldflags := strings.Join([]string{
		"-s", "-w", "-buildid=",
		"-X", buildinfoPkg + ".version=" + st.Version,
		"-X", buildinfoPkg + ".commit=" + st.Commit,
		"-X", buildinfoPkg + ".date=" + st.Date.Format(time.RFC3339),
	}, " ")
	var bins []string
	for _, prog := range Programs {
		bin := filepath.Join(dir, p.exe(prog.Name))
		// -buildvcs=false: the stamp says which commit; the toolchain's
		// vcs.modified would differ between a clean and a dirty checkout.
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", bin, prog.Pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch, "GOFLAGS=-mod=readonly")
		if p.Arch == "amd64" {
			cmd.Env = append(cmd.Env, "GOAMD64=v1")
		}
		if p.Arch == "arm64" {
			cmd.Env = append(cmd.Env, "GOARM64=v8.0")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s for %s: %v\n%s", prog.Name, p, err, out)
		}
		bins = append(bins, bin)
	}
	return bins, nil
}

// writeSums writes SHA256SUMS in sha256sum's format, sorted by name.
func writeSums(out string, files []string) error {
	var b strings.Builder
	for _, f := range files {
		sum, err := fileSHA256(filepath.Join(out, f))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, f)
	}
	return os.WriteFile(filepath.Join(out, "SHA256SUMS"), []byte(b.String()), 0o644)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkNPMVersion refuses a release whose @santokit/client manifest names
// another version: the version is bumped in the tagged commit.
func checkNPMVersion(root, version string) error {
	b, err := os.ReadFile(filepath.Join(root, "packages/client/package.json"))
	if err != nil {
		return err
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(b, &pkg); err != nil {
		return fmt.Errorf("packages/client/package.json: %w", err)
	}
	if want := strings.TrimPrefix(version, "v"); pkg.Version != want {
		return fmt.Errorf("packages/client/package.json has version %q; set it to %q for release %s (or pass -npm=false)", pkg.Version, want, version)
	}
	return nil
}

// npmPack runs `npm pack` for @santokit/client (its prepack script builds
// dist/) into out and returns the tarball's name.
func npmPack(ctx context.Context, root, out string) (string, error) {
	cmd := exec.CommandContext(ctx, "npm", "pack", "--workspace", "@santokit/client", "--pack-destination", out, "--json")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("npm pack @santokit/client: %w", err)
	}
	var packed []struct{ Filename string }
	if err := json.Unmarshal(b[strings.IndexByte(string(b), '['):], &packed); err != nil || len(packed) != 1 {
		return "", fmt.Errorf("npm pack: unexpected output %q", b)
	}
	return filepath.Base(packed[0].Filename), nil
}
