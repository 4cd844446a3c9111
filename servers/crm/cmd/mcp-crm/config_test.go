package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/servers/crm"
)

// TestStartReportsEveryConfigProblem: a misspelt variable stops the start
// with the nearest valid name, and a config file with problems in several
// sections (core's and the CRM's) names all of them at their lines.
func TestStartReportsEveryConfigProblem(t *testing.T) {
	run := func(environ []string, args ...string) (int, string) {
		var out, errs bytes.Buffer
		code := core.RunEnv(t.Context(), app(), args, core.Streams{In: strings.NewReader(""), Out: &out, Err: &errs}, environ)
		return code, errs.String()
	}
	dir := t.TempDir()
	code, stderr := run([]string{"MCPFLEET_CRM_DATA_DIR=" + dir, "MCPFLEET_CRM_DRVER=postgres"}, "--print-config")
	if code != 1 || !strings.Contains(stderr, "MCPFLEET_CRM_DRVER sets no config key; did you mean MCPFLEET_CRM_DRIVER?") {
		t.Errorf("env typo: exit %d: %s", code, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused start created %d files in the data directory", len(entries))
	}

	path := filepath.Join(dir, "crm.yaml")
	if err := os.WriteFile(path, []byte("http:\n  adr: x\ncrm:\n  data_dir: "+dir+"\n  drver: postgres\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stderr = run(nil, "--config", path, "--print-config")
	for _, want := range []string{"line 2: unknown key http.adr (did you mean addr?)", "line 5: unknown key crm.drver (did you mean driver?)"} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, stderr %q lacks %q", code, stderr, want)
		}
	}
}

// TestDefaultDataDirIsPerUser: without data_dir the database goes to the
// per-user data directory, wherever the process was started.
func TestDefaultDataDirIsPerUser(t *testing.T) {
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	t.Chdir(t.TempDir())
	var out, errs bytes.Buffer
	if code := runCommand(t.Context(), "demo", nil, strings.NewReader(""), &out, &errs, env(nil)); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errs.String())
	}
	if _, err := os.Stat(filepath.Join(data, "mcpfleet", "crm", "crm.db")); err != nil {
		t.Errorf("database not in the per-user data directory: %v", err)
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("the working directory got %d entries", len(entries))
	}
	if runtime.GOOS == "linux" {
		home := t.TempDir()
		t.Setenv("XDG_DATA_HOME", "")
		t.Setenv("HOME", home)
		if got := crm.NewDefaultConfig().DataDir; got != filepath.Join(home, ".local", "share", "mcpfleet", "crm") {
			t.Errorf("without XDG_DATA_HOME: %s", got)
		}
	}
}

// TestDataCommandsStopOnTypos: a misspelt variable stops export and import
// before they touch a database the user did not mean.
func TestDataCommandsStopOnTypos(t *testing.T) {
	dir := t.TempDir()
	var out, errs bytes.Buffer
	code := runCommandEnv(t.Context(), "export", []string{"--type", "all"}, strings.NewReader(""), &out, &errs,
		[]string{"MCPFLEET_CRM_DATA_DIR=" + dir, "MCPFLEET_CRM_DRVER=postgres", "MCPFLEET_HTTP_ADDR=127.0.0.1:1"})
	if code != 1 || !strings.Contains(errs.String(), "did you mean MCPFLEET_CRM_DRIVER?") || out.Len() != 0 {
		t.Errorf("exit %d, stdout %d bytes, stderr %q", code, out.Len(), errs.String())
	}
	out.Reset()
	errs.Reset()
	if code := runCommandEnv(t.Context(), "export", []string{"--type", "all"}, strings.NewReader(""), &out, &errs,
		[]string{"MCPFLEET_CRM_DATA_DIR=" + dir, "MCPFLEET_HTTP_ADDR=127.0.0.1:1"}); code != 0 {
		t.Errorf("valid environment: exit %d: %s", code, errs.String())
	}
}
