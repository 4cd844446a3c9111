package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// fullVersion is the version this binary reports: the -ldflags value, else
// the module version Go stamped from VCS tags, with the commit when known.
func fullVersion() string {
	v := version
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" && !strings.Contains(v, rev[:min(12, len(rev))]) {
		v += " (" + rev[:min(12, len(rev))] + dirty + ")"
	}
	return v
}

// findRepoRoot returns the mcpfleet source tree containing dir: the nearest
// parent with a go.work that uses ./cmd/mcpfleet.
func findRepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.work")); err == nil && strings.Contains(string(b), "./cmd/mcpfleet") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside an mcpfleet source tree (no go.work using ./cmd/mcpfleet above the working directory); pass --bin-dir with installed binaries")
		}
		dir = parent
	}
}

// inSource reports whether the source tree at root has the server; servers
// land one by one, and a tree without one skips it.
func inSource(root string, s fleetServer) bool {
	_, err := os.Stat(filepath.Join(root, filepath.FromSlash(s.pkgPath()), "main.go"))
	return err == nil
}

// buildServers compiles the given servers (and, with self, mcpfleet) from
// the source tree at root into dir with one `go build`, and returns the
// servers built. Servers missing from the tree are skipped with a line on
// w.
func buildServers(ctx context.Context, root, dir string, servers []fleetServer, self bool, w io.Writer) ([]fleetServer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var built []fleetServer
	var pkgs []string
	if self {
		pkgs = append(pkgs, "./cmd/mcpfleet")
	}
	for _, s := range servers {
		if !inSource(root, s) {
			fmt.Fprintf(w, "mcpfleet: skipping %s: servers/%s is not in this source tree yet\n", s.name, s.name)
			continue
		}
		built = append(built, s)
		pkgs = append(pkgs, s.pkgPath())
	}
	if len(pkgs) == 0 {
		return nil, nil
	}
	v := strings.Fields(fullVersion())[0]
	args := append([]string{"build", "-trimpath", "-ldflags", "-s -w -X main.version=" + v, "-o", abs + string(os.PathSeparator)}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Stdout = w
	cmd.Stderr = w
	// Static binaries: the same build the containers use.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build: %w", err)
	}
	return built, nil
}

// installed returns the servers whose binaries are in dir, with a line on
// w for each one that is not.
func installed(dir string, servers []fleetServer, w io.Writer) []fleetServer {
	var out []fleetServer
	for _, s := range servers {
		if fi, err := os.Stat(filepath.Join(dir, s.binaryName())); err != nil || fi.IsDir() {
			fmt.Fprintf(w, "mcpfleet: skipping %s: %s is not installed in %s\n", s.name, s.binaryName(), dir)
			continue
		}
		out = append(out, s)
	}
	return out
}

// defaultBinDir is where installed server binaries are looked for: next to
// this executable (make install and mcpfleet install put them together).
func defaultBinDir() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return filepath.Dir(exe)
}
