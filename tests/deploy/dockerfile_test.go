// Package deploy checks the deployment artefacts that cannot run here:
// every Dockerfile (buildkit's parser), the Terraform modules (HCL and
// terraform-config-inspect) and the GitHub workflows (actionlint).
package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// root is the repository root (tests/deploy is two levels down).
const root = "../.."

// digestPinned matches an image reference pinned by digest.
var digestPinned = regexp.MustCompile(`^[a-z0-9.\-/:_]+@sha256:[a-f0-9]{64}$`)

// instruction is one parsed Dockerfile instruction.
type instruction struct {
	cmd   string // lower case: from, run, label, user, ...
	args  []string
	flags []string
	line  int
	json  bool // exec form (JSON array)
}

// reporter is where checks report problems: a *testing.T, or a recorder
// in the tests that prove the checks catch mistakes.
type reporter interface {
	Errorf(format string, args ...any)
}

// recorder collects what a check reports.
type recorder struct{ msgs []string }

func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *recorder) has(sub string) bool {
	for _, m := range r.msgs {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}

func parseDockerfile(t reporter, path string) []instruction {
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("%v", err)
		return nil
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return nil
	}
	for _, w := range res.Warnings {
		t.Errorf("%s: %s", path, w.Short)
	}
	var out []instruction
	for _, n := range res.AST.Children {
		in := instruction{cmd: strings.ToLower(n.Value), flags: n.Flags, line: n.StartLine, json: n.Attributes["json"]}
		for a := n.Next; a != nil; a = a.Next {
			in.args = append(in.args, a.Value)
		}
		out = append(out, in)
	}
	return out
}

// servers returns every server directory with sources (cmd/mcp-<name>) and
// every directory that has a Dockerfile.
func serverDirs(t *testing.T) (withSource, withDockerfile []string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, "servers"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "gateway" {
			continue
		}
		name := e.Name()
		if _, err := os.Stat(filepath.Join(root, "servers", name, "cmd", "mcp-"+name, "main.go")); err == nil {
			withSource = append(withSource, name)
		}
		if _, err := os.Stat(filepath.Join(root, "servers", name, "Dockerfile")); err == nil {
			withDockerfile = append(withDockerfile, name)
		}
	}
	return withSource, withDockerfile
}

// TestDockerfiles checks every server's Dockerfile: multi-stage, a static
// binary (CGO_ENABLED=0), every base pinned by digest, a non-root user,
// the OCI labels including io.modelcontextprotocol.server.name, a health
// check, and an exec-form entrypoint running the server's binary.
func TestDockerfiles(t *testing.T) {
	withSource, withDockerfile := serverDirs(t)
	for _, name := range withSource {
		if !contains(withDockerfile, name) {
			t.Errorf("servers/%s has no Dockerfile", name)
		}
	}
	if len(withDockerfile) == 0 {
		t.Fatal("no Dockerfiles found")
	}
	for _, name := range withDockerfile {
		t.Run(name, func(t *testing.T) { checkDockerfileAt(t, filepath.Join(root, "servers", name, "Dockerfile"), name) })
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func checkDockerfileAt(t reporter, path, name string) {
	ins := parseDockerfile(t, path)
	var froms, users []instruction
	labels := map[string]string{}
	var static, healthcheck bool
	var entrypoint []string
	var entrypointJSON bool
	stageStarts := 0
	for _, in := range ins {
		switch in.cmd {
		case "from":
			froms = append(froms, in)
			stageStarts++
			users = nil // USER applies per stage; the last stage's counts
			labels = map[string]string{}
		case "run":
			cmd := strings.Join(in.args, " ")
			if strings.Contains(cmd, "go build") {
				if !strings.Contains(cmd, "CGO_ENABLED=0") {
					t.Errorf("line %d: go build without CGO_ENABLED=0", in.line)
				}
				if strings.Contains(cmd, "./cmd/mcp-"+name) {
					static = true
				}
			}
		case "label":
			for i := 0; i+1 < len(in.args); i += 3 {
				// buildkit gives key, value, separator triples.
				labels[in.args[i]] = strings.Trim(in.args[i+1], `"`)
			}
		case "user":
			users = append(users, in)
		case "healthcheck":
			healthcheck = len(in.args) > 0 && in.args[0] != "NONE"
		case "entrypoint":
			entrypoint, entrypointJSON = in.args, in.json
		}
	}
	if len(froms) < 2 {
		t.Errorf("not multi-stage: %d FROM", len(froms))
	}
	for _, f := range froms {
		if !digestPinned.MatchString(f.args[0]) {
			t.Errorf("line %d: base %q is not pinned by digest", f.line, f.args[0])
		}
	}
	if !static {
		t.Errorf("no CGO_ENABLED=0 go build of ./cmd/mcp-%s", name)
	}
	if len(users) == 0 {
		t.Errorf("the final stage sets no USER")
	} else if u := users[len(users)-1].args[0]; u == "root" || u == "0" || strings.HasPrefix(u, "0:") {
		t.Errorf("final USER %q is root", u)
	}
	for _, key := range []string{"org.opencontainers.image.title", "org.opencontainers.image.description",
		"org.opencontainers.image.version", "io.modelcontextprotocol.server.name"} {
		if labels[key] == "" {
			t.Errorf("final stage lacks LABEL %s (have %v)", key, labels)
		}
	}
	if got, want := labels["io.modelcontextprotocol.server.name"], "io.github.mcpfleet/"+name; got != want {
		t.Errorf("io.modelcontextprotocol.server.name = %q, want %q", got, want)
	}
	if !healthcheck {
		t.Errorf("no HEALTHCHECK")
	}
	if !entrypointJSON || len(entrypoint) != 1 || entrypoint[0] != "/usr/local/bin/mcp-"+name {
		t.Errorf("ENTRYPOINT %v is not the exec form of /usr/local/bin/mcp-%s", entrypoint, name)
	}
}

// TestDockerfileRulesCatchMistakes feeds the checks a Dockerfile that
// breaks every rule, so a passing TestDockerfiles means something.
func TestDockerfileRulesCatchMistakes(t *testing.T) {
	bad := `FROM golang:1.26 AS build
RUN go build -o /out/mcp-x ./cmd/mcp-x
FROM alpine:3
LABEL org.opencontainers.image.title="x"
USER root
ENTRYPOINT /usr/local/bin/mcp-x
`
	dir := t.TempDir()
	path := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	checkDockerfileAt(rec, path, "x")
	for _, want := range []string{"not pinned by digest", "without CGO_ENABLED=0", "is root", "lacks LABEL io.modelcontextprotocol.server.name", "no HEALTHCHECK", "exec form"} {
		if !rec.has(want) {
			t.Errorf("no complaint %q in %v", want, rec.msgs)
		}
	}
}
