package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// lintWorkflows runs actionlint (syntax, expressions, job needs, action
// inputs, runner labels) over the given files.
func lintWorkflows(t *testing.T, paths []string) []*actionlint.Error {
	t.Helper()
	l, err := actionlint.NewLinter(os.Stderr, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFiles(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	return errs
}

func TestWorkflows(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	for _, want := range []string{"ci.yml", "release.yml"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("no workflow %s (have %v)", want, names)
		}
	}
	for _, e := range lintWorkflows(t, paths) {
		t.Errorf("%s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}
	// What the workflows must do, beyond being valid.
	ci, _ := os.ReadFile(filepath.Join(root, ".github", "workflows", "ci.yml"))
	for _, want := range []string{"make unit", "make lint", "make conformance", "terraform fmt -check", "terraform validate", "tflint", "postgres:", "redis:"} {
		if !strings.Contains(string(ci), want) {
			t.Errorf("ci.yml does not run %q", want)
		}
	}
	rel, _ := os.ReadFile(filepath.Join(root, ".github", "workflows", "release.yml"))
	for _, want := range []string{"tags: [\"v*\"]", "sbom: true", "provenance: mode=max", "git diff --name-only", "servers/${{ matrix.server }}/Dockerfile"} {
		if !strings.Contains(string(rel), want) {
			t.Errorf("release.yml lacks %q", want)
		}
	}
}

// TestWorkflowLintCatchesMistakes proves actionlint is really checking.
func TestWorkflowLintCatchesMistakes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yml")
	bad := "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: missing\n    steps:\n      - run: echo ${{ github.nope.x }}\n"
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if errs := lintWorkflows(t, []string{path}); len(errs) < 2 {
		t.Errorf("actionlint found %d problems in a broken workflow", len(errs))
	}
}
