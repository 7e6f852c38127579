package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The SBOM is a CycloneDX 1.5 JSON document written from what the linker
// put into the release binaries (debug/buildinfo: the main module, every
// linked module with its version and go.sum hash, the Go toolchain), so it
// lists exactly what ships — not the whole module graph — with no extra
// tool or dependency (decision 0036).

// Bom is the part of CycloneDX 1.5 the release writes.
type Bom struct {
	BomFormat    string       `json:"bomFormat"`
	SpecVersion  string       `json:"specVersion"`
	SerialNumber string       `json:"serialNumber"`
	Version      int          `json:"version"`
	Metadata     BomMetadata  `json:"metadata"`
	Components   []Component  `json:"components"`
	Dependencies []Dependency `json:"dependencies"`
}

// BomMetadata says what the SBOM describes and when.
type BomMetadata struct {
	Timestamp string `json:"timestamp"`
	Tools     struct {
		Components []Component `json:"components"`
	} `json:"tools"`
	Component Component `json:"component"`
}

// Component is an application or a library.
type Component struct {
	Type       string     `json:"type"`
	BomRef     string     `json:"bom-ref,omitempty"`
	Name       string     `json:"name"`
	Version    string     `json:"version,omitempty"`
	Purl       string     `json:"purl,omitempty"`
	Licenses   []License  `json:"licenses,omitempty"`
	Properties []Property `json:"properties,omitempty"`
}

// License names an SPDX licence.
type License struct {
	License struct {
		ID string `json:"id"`
	} `json:"license"`
}

// Property is a name/value pair.
type Property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Dependency is an edge list of the dependency graph.
type Dependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

// purl is the package URL of a Go module (purl-spec, type golang).
func purl(path, version string) string {
	return "pkg:golang/" + path + "@" + strings.ReplaceAll(version, "+", "%2B")
}

// sbomName is the SBOM's file name.
func sbomName(version string) string { return "santokit_" + version + ".cdx.json" }

// writeSBOM reads the module lists of bins and writes their union.
func writeSBOM(out string, st Stamp, bins []string) (string, error) {
	type mod struct{ path, version, sum string }
	mods := map[string]mod{}
	var mainPath, goVersion string
	for _, b := range bins {
		bi, err := buildinfo.ReadFile(b)
		if err != nil {
			return "", fmt.Errorf("sbom: %s: %w", filepath.Base(b), err)
		}
		mainPath, goVersion = bi.Main.Path, bi.GoVersion
		for _, d := range bi.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			mods[d.Path+"@"+d.Version] = mod{d.Path, d.Version, d.Sum}
		}
	}
	keys := make([]string, 0, len(mods))
	for k := range mods {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	mainRef := purl(mainPath, st.Version)
	apache := License{}
	apache.License.ID = "Apache-2.0"
	bom := Bom{BomFormat: "CycloneDX", SpecVersion: "1.5", Version: 1}
	bom.Metadata.Timestamp = st.Date.Format(time.RFC3339)
	bom.Metadata.Tools.Components = []Component{{Type: "application", Name: "santokit tools/release", Version: st.Version}}
	bom.Metadata.Component = Component{Type: "application", BomRef: mainRef, Name: mainPath, Version: st.Version, Purl: mainRef,
		Licenses:   []License{apache},
		Properties: []Property{{Name: "santokit:commit", Value: st.Commit}, {Name: "santokit:programs", Value: "stk stk-hub stk-bridge"}}}
	std := purl("stdlib", goVersion)
	bom.Components = []Component{{Type: "library", BomRef: std, Name: "stdlib", Version: goVersion, Purl: std}}
	deps := []string{std}
	for _, k := range keys {
		m := mods[k]
		ref := purl(m.path, m.version)
		c := Component{Type: "library", BomRef: ref, Name: m.path, Version: m.version, Purl: ref}
		if m.sum != "" {
			c.Properties = []Property{{Name: "go:module:sum", Value: m.sum}}
		}
		bom.Components = append(bom.Components, c)
		deps = append(deps, ref)
	}
	bom.Dependencies = []Dependency{{Ref: mainRef, DependsOn: deps}}
	for _, d := range deps {
		bom.Dependencies = append(bom.Dependencies, Dependency{Ref: d, DependsOn: []string{}})
	}
	// A serial number derived from the content (a name-based UUID, version
	// 5 layout) keeps the document reproducible.
	body, err := json.Marshal(bom)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(body)
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	bom.SerialNumber = fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	body, err = json.MarshalIndent(bom, "", "  ")
	if err != nil {
		return "", err
	}
	name := sbomName(st.Version)
	return name, os.WriteFile(filepath.Join(out, name), append(body, '\n'), 0o644)
}
