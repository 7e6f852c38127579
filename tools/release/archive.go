package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"time"
)

// archiveName is the base name (no extension) of p's archive, which is also
// the one directory inside it.
func archiveName(version string, p Platform) string {
	return "santokit_" + version + "_" + p.OS + "_" + p.Arch
}

// entry is one file of an archive or image layer.
type entry struct {
	Name string // slash-separated; a trailing slash makes a directory
	Mode int64
	UID  int
	Data []byte
}

// writeArchive writes p's archive into out: its binaries, LICENSE and
// README.md under one directory, every header fixed (times = the commit's,
// owner root) so that the same inputs give the same bytes.
func writeArchive(out string, p Platform, st Stamp, bins []string, license, readme []byte) (string, error) {
	base := archiveName(st.Version, p)
	entries := []entry{{Name: base + "/", Mode: 0o755}}
	for _, b := range bins {
		data, err := os.ReadFile(b)
		if err != nil {
			return "", err
		}
		entries = append(entries, entry{Name: base + "/" + filepath.Base(b), Mode: 0o755, Data: data})
	}
	entries = append(entries,
		entry{Name: base + "/LICENSE", Mode: 0o644, Data: license},
		entry{Name: base + "/README.md", Mode: 0o644, Data: readme})
	var (
		data []byte
		err  error
		name string
	)
	if p.OS == "windows" {
		name = base + ".zip"
		data, err = zipBytes(entries, st.Date)
	} else {
		name = base + ".tar.gz"
		data, err = tarGz(entries, st.Date)
	}
	if err != nil {
		return "", err
	}
	return name, os.WriteFile(filepath.Join(out, name), data, 0o644)
}

// tarBytes writes entries as a tar stream in their order with fixed
// headers.
func tarBytes(w io.Writer, entries []entry, mtime time.Time) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: e.Mode, Uid: e.UID, Gid: e.UID, ModTime: mtime, Format: tar.FormatPAX}
		if e.Name[len(e.Name)-1] == '/' {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(e.Data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// tarGz is tarBytes gzipped with an empty gzip header (no name, no time).
func tarGz(entries []entry, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if err := tarBytes(zw, entries, mtime); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func zipBytes(entries []entry, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: mtime}
		h.SetMode(os.FileMode(e.Mode))
		if e.Name[len(e.Name)-1] == '/' {
			h.Method = zip.Store
			h.SetMode(os.ModeDir | os.FileMode(e.Mode))
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(e.Data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
