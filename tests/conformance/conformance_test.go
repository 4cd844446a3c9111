package conformance

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func writeChecks(t *testing.T, dir, name, checks string) {
	t.Helper()
	d := filepath.Join(dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "checks.json"), []byte(checks), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadResultsAndJudge(t *testing.T) {
	dir := t.TempDir()
	writeChecks(t, dir, "server-tools-call-sampling-2026-11-24T02-21-41-509Z", `[{"status":"FAILURE"}]`)
	writeChecks(t, dir, "server-elicitation-sep1034-defaults-2026-11-24T02-21-41-557Z", `[{"status":"SUCCESS"},{"status":"SUCCESS"}]`)
	writeChecks(t, dir, "server-server-sse-polling-2026-11-24T02-21-41-570Z", `[{"status":"INFO"},{"status":"WARNING"}]`)
	writeChecks(t, dir, "server-ping-2026-11-24T02-21-41-570Z", `[{"status":"FAILURE"},{"status":"SUCCESS"}]`)
	if err := os.WriteFile(filepath.Join(dir, "suite.log"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	results, err := ReadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Scenario{
		{Name: "elicitation-sep1034-defaults", Passed: 2},
		{Name: "ping", Passed: 1, Failed: 1},
		{Name: "server-sse-polling", Warnings: 1},
		{Name: "tools-call-sampling", Failed: 1},
	}
	if !slices.Equal(results, want) {
		t.Fatalf("results = %+v, want %+v", results, want)
	}

	v := Judge(results, []string{"tools-call-sampling", "elicitation-sep1034-defaults", "never-ran"}, true)
	if !slices.Equal(v.Unexpected, []string{"ping", "server-sse-polling"}) || !slices.Equal(v.Stale, []string{"elicitation-sep1034-defaults"}) ||
		!slices.Equal(v.NotRun, []string{"never-ran"}) || v.OK() {
		t.Errorf("verdict = %+v", v)
	}
	// Without a baseline, warnings do not fail a scenario.
	v = Judge(results, nil, false)
	if !slices.Equal(v.Unexpected, []string{"ping", "tools-call-sampling"}) || len(v.Stale) != 0 {
		t.Errorf("verdict without baseline = %+v", v)
	}
	if p, f, w := v.Totals(); p != 3 || f != 2 || w != 1 {
		t.Errorf("totals = %d %d %d", p, f, w)
	}
	if v := Judge(results[:1], nil, true); !v.OK() {
		t.Errorf("a run without failures is not OK: %+v", v)
	}
	if v := Judge(nil, nil, false); v.OK() {
		t.Error("a run without scenarios is OK")
	}
}

func TestStatelessBaselineParses(t *testing.T) {
	bl, err := ParseBaseline(StatelessBaseline)
	if err != nil {
		t.Fatal(err)
	}
	// Every scenario of both revisions passes: nothing is expected to fail.
	if len(bl.Server) != 0 || len(bl.Client) != 0 {
		t.Errorf("baseline = %+v, want empty", bl)
	}
	if _, err := ParseBaseline([]byte("servers:\n  - x\n")); err == nil {
		t.Error("a misspelt section was accepted")
	}
}
