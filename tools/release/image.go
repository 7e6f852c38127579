package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ImageProgram is a server shipped as a container image.
type ImageProgram struct {
	Name string
	Port string
	// Env is the image's defaults: listen on every interface (a
	// container's loopback is unreachable from outside it).
	Env []string
}

// ImagePrograms are the images of a release.
var ImagePrograms = []ImageProgram{
	{Name: "stk-hub", Port: "4000", Env: []string{"STK_HUB_ADDR=0.0.0.0:4000", "STK_HUB_DATABASE_URL=sqlite:///data/santokit-hub.db"}},
	{Name: "stk-bridge", Port: "3000", Env: []string{"STK_BRIDGE_ADDR=0.0.0.0:3000"}},
}

// Image facts the test checks.
const (
	imageUser    = "65532:65532"
	nonRootUID   = 65532
	imageBinDir  = "/usr/local/bin/"
	imageDataDir = "/data"
	// caBundle is Debian's CA bundle path, read on the build host and
	// written at the same path in the image.
	caBundle = "/etc/ssl/certs/ca-certificates.crt"
)

// imageName is the OCI layout tarball of prog for p.
func imageName(prog, version string, p Platform) string {
	return prog + "_" + version + "_" + p.OS + "_" + p.Arch + ".oci.tar"
}

// writeImage builds prog's image for p — a base layer (CA certificates,
// passwd/group naming the non-root user, /data and /tmp, the licence) and a
// layer with the static binary — and writes it into out as an OCI image
// layout in a tar (`podman load -i`, `docker load -i`, `skopeo copy
// oci-archive:…`). Every time in it is the commit's.
func writeImage(out string, prog ImageProgram, p Platform, st Stamp, bin string, license []byte) (string, error) {
	ca, err := os.ReadFile(caBundle)
	if err != nil {
		return "", fmt.Errorf("CA certificates for the image: %w (install Debian's ca-certificates)", err)
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	base := []entry{
		{Name: "data/", Mode: 0o755, UID: nonRootUID},
		{Name: "etc/", Mode: 0o755},
		{Name: "etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{Name: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{Name: "etc/ssl/", Mode: 0o755},
		{Name: "etc/ssl/certs/", Mode: 0o755},
		{Name: "etc/ssl/certs/ca-certificates.crt", Mode: 0o644, Data: ca},
		{Name: "home/", Mode: 0o755},
		{Name: "home/nonroot/", Mode: 0o700, UID: nonRootUID},
		{Name: "tmp/", Mode: 0o1777},
		{Name: "usr/", Mode: 0o755},
		{Name: "usr/share/", Mode: 0o755},
		{Name: "usr/share/doc/", Mode: 0o755},
		{Name: "usr/share/doc/santokit/", Mode: 0o755},
		{Name: "usr/share/doc/santokit/LICENSE", Mode: 0o644, Data: license},
	}
	app := []entry{
		{Name: "usr/local/", Mode: 0o755},
		{Name: "usr/local/bin/", Mode: 0o755},
		{Name: "usr/local/bin/" + prog.Name, Mode: 0o755, Data: binary},
	}
	created := v1.Time{Time: st.Date}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, l := range []struct {
		entries []entry
		by      string
	}{{base, "santokit base: CA certificates, non-root user 65532, /data"}, {app, "santokit " + prog.Name + " " + st.Version}} {
		var buf bytes.Buffer
		if err := tarBytes(&buf, l.entries, st.Date); err != nil {
			return "", err
		}
		data := buf.Bytes()
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
			tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return "", err
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{Created: created, CreatedBy: l.by}}); err != nil {
			return "", err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cf = cf.DeepCopy()
	cf.Created = created
	cf.OS, cf.Architecture = p.OS, p.Arch
	exe := imageBinDir + prog.Name
	labels := map[string]string{
		"org.opencontainers.image.title":       prog.Name,
		"org.opencontainers.image.description": "Santokit " + prog.Name,
		"org.opencontainers.image.version":     st.Version,
		"org.opencontainers.image.revision":    st.Commit,
		"org.opencontainers.image.created":     st.Date.Format(time.RFC3339),
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.source":      "https://github.com/santokit/santokit",
		// The OCI config has no health check; Docker's Healthcheck
		// below is honoured by Docker and podman, and the label says
		// the same for orchestrators that read neither (decision 0036).
		"io.santokit.healthcheck": "http://127.0.0.1:" + prog.Port + "/healthz",
	}
	cf.Config = v1.Config{
		User:         imageUser,
		Entrypoint:   []string{exe},
		Env:          append([]string{"PATH=/usr/local/bin", "SSL_CERT_FILE=" + caBundle}, prog.Env...),
		WorkingDir:   imageDataDir,
		ExposedPorts: map[string]struct{}{prog.Port + "/tcp": {}},
		Volumes:      map[string]struct{}{imageDataDir: {}},
		Labels:       labels,
		StopSignal:   "SIGTERM",
		Healthcheck: &v1.HealthConfig{
			Test:     []string{"CMD", exe, "healthcheck", "http://127.0.0.1:" + prog.Port + "/healthz"},
			Interval: 10 * time.Second, Timeout: 5 * time.Second, StartPeriod: 5 * time.Second, Retries: 3,
		},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", err
	}

	dir, err := os.MkdirTemp("", "santokit-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", err
	}
	if err := lp.AppendImage(img,
		layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "santokit/" + prog.Name + ":" + st.Version}),
		layout.WithPlatform(v1.Platform{OS: p.OS, Architecture: p.Arch})); err != nil {
		return "", err
	}
	name := imageName(prog.Name, st.Version, p)
	return name, tarDir(dir, filepath.Join(out, name), st)
}

// tarDir writes the files under dir into a tar at dst, sorted, with fixed
// headers.
func tarDir(dir, dst string, st Stamp) error {
	var entries []entry
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			entries = append(entries, entry{Name: rel + "/", Mode: 0o755})
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		entries = append(entries, entry{Name: rel, Mode: 0o644, Data: data})
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.Name, b.Name) })
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	if err := tarBytes(f, entries, st.Date); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
