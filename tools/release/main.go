// Command release builds a Santokit release into dist/ (make release
// VERSION=vX.Y.Z, decision 0036): stk, stk-hub and stk-bridge for each
// platform, reproducibly (CGO_ENABLED=0, -trimpath, no build id, version,
// commit and date stamped into package buildinfo, the date taken from the
// commit or SOURCE_DATE_EPOCH so a rebuild gives the same bytes); a tar.gz
// (zip on windows) per platform with LICENSE and README.md; OCI layout
// tarballs of the stk-hub and stk-bridge images per linux platform, built
// without a container daemon; a CycloneDX 1.5 JSON SBOM; the npm tarball of
// @santokit/client; and SHA256SUMS over all of them.
//
// `go run ./tools/release -version v0.0.0 -platforms host -npm=false` is the
// dry run the test suite does for the host platform.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
)

func main() {
	var (
		cfg       Config
		platforms string
	)
	flag.StringVar(&cfg.Version, "version", "", "release version, vMAJOR.MINOR.PATCH[-pre] (required)")
	flag.StringVar(&cfg.Out, "out", "dist", "output directory (emptied first)")
	flag.StringVar(&platforms, "platforms", "all", `"all", "host", or a comma list of os/arch`)
	flag.BoolVar(&cfg.Images, "images", true, "build the stk-hub and stk-bridge OCI images for the linux platforms")
	flag.BoolVar(&cfg.NPM, "npm", true, "npm pack @santokit/client into the output directory")
	flag.Parse()
	if flag.NArg() > 0 {
		fail(fmt.Errorf("unexpected arguments %q", flag.Args()))
	}
	var err error
	if cfg.Platforms, err = parsePlatforms(platforms); err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg.Root, err = os.Getwd()
	if err != nil {
		fail(err)
	}
	files, err := Run(ctx, cfg, os.Stderr)
	if err != nil {
		fail(err)
	}
	for _, f := range files {
		fmt.Println(f)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "release:", err)
	os.Exit(1)
}

// parsePlatforms reads the -platforms flag.
func parsePlatforms(s string) ([]Platform, error) {
	switch s {
	case "all":
		return AllPlatforms, nil
	case "host":
		return []Platform{{runtime.GOOS, runtime.GOARCH}}, nil
	}
	var out []Platform
	for _, p := range strings.Split(s, ",") {
		goos, goarch, ok := strings.Cut(strings.TrimSpace(p), "/")
		if !ok || goos == "" || goarch == "" {
			return nil, fmt.Errorf("-platforms: %q is not os/arch", p)
		}
		out = append(out, Platform{goos, goarch})
	}
	return out, nil
}
