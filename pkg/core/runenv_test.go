package core_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

func runEnv(t *testing.T, environ []string, args ...string) (int, string) {
	t.Helper()
	var out, errs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := core.RunEnv(ctx, demoApp(), args, core.Streams{In: strings.NewReader(""), Out: &out, Err: &errs}, environ)
	return code, errs.String()
}

// TestRunEnvStopsOnTypos: a misspelt MCPFLEET_* variable stops the start
// with the nearest valid name instead of being ignored.
func TestRunEnvStopsOnTypos(t *testing.T) {
	code, stderr := runEnv(t, []string{"MCPFLEET_HTTP_ADRR=127.0.0.1:9", "PATH=/bin"}, "--print-config")
	if code != 1 || !strings.Contains(stderr, "MCPFLEET_HTTP_ADRR sets no config key; did you mean MCPFLEET_HTTP_ADDR?") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if code, stderr := runEnv(t, []string{"MCPFLEET_HTTP_ADDR=127.0.0.1:9", "MCPFLEET_CONFIG="}, "--print-config"); code != 0 {
		t.Errorf("valid environment: exit %d, stderr %q", code, stderr)
	}
}

// TestRunReportsEveryBadSection: one start names every problem of the
// config file, each at its line.
func TestRunReportsEveryBadSection(t *testing.T) {
	path := writeFile(t, "server:\n  name: demo\nhttp:\n  adr: x\nlog:\n  levle: debug\n")
	code, stderr := runEnv(t, nil, "--config", path)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"line 4: unknown key http.adr (did you mean addr?)", "line 6: unknown key log.levle (did you mean level?)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
	if strings.Count(strings.TrimSuffix(stderr, "\n"), "\n") != 0 {
		t.Errorf("start errors are one line: %q", stderr)
	}
}
