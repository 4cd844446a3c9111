package policy

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestHotReload: a valid change takes effect; a broken document is
// rejected with an error log, a metric and a readiness detail, and the
// policy in force stays.
func TestHotReload(t *testing.T) {
	path := writePolicy(t, "")
	s := startServer(t, serverOpts{policyFile: path, subject: "ursula"})
	listChanged := make(chan struct{}, 4)
	cs := s.h.Connect(t, &mcp.ClientOptions{ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
		listChanged <- struct{}{}
	}})
	first := s.enf.Document().Hash()
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "add_note", Arguments: map[string]any{"text": "x"}}); err == nil {
		t.Fatal("user may add before the change")
	}
	denied, _ := s.metricValue(t, "mcpfleet.policy.decisions", "decision=deny")
	if denied != 1 {
		t.Fatalf("denials counted before the reload: %d, want 1", denied)
	}

	// A valid change arrives as a file change.
	base, _ := os.ReadFile("testdata/server.yaml")
	good := strings.Replace(string(base), "roles: [admins]\n", "roles: [admins, users]\n", 1)
	if good == string(base) {
		t.Fatal("test policy changed shape")
	}
	replaceFile(t, path, good)
	waitFor(t, func() bool { return s.enf.Document().Hash() != first })
	second := s.enf.Document().Hash()
	if res := call(t, cs, "add_note", map[string]any{"text": "x"}); res.IsError {
		t.Fatalf("reloaded policy not applied: %s", text(res))
	}
	select {
	case <-listChanged: // what the caller may see changed
	case <-time.After(10 * time.Second):
		t.Error("clients were not told to re-list tools after the reload")
	}

	// A broken document (unknown role) is rejected.
	broken := strings.Replace(good, "roles: [admins, users]", "roles: [admins, ghosts]", 1)
	replaceFile(t, path, broken)
	waitFor(t, func() bool { return s.enf.lastReloadErr.Load() != nil })
	if s.enf.Document().Hash() != second {
		t.Fatal("a broken policy replaced the one in force")
	}
	if res := call(t, cs, "add_note", map[string]any{"text": "x"}); res.IsError {
		t.Fatalf("old policy no longer in force: %s", text(res))
	}
	logs := s.h.Logs()
	if !strings.Contains(logs, "policy reload rejected; the previous policy stays in force") || !strings.Contains(logs, `role \"ghosts\" is not declared`) {
		t.Errorf("logs: %s", logs)
	}
	if n, _ := s.metricValue(t, "mcpfleet.policy.reloads", "result=failure"); n < 1 {
		t.Error("failed reload not counted")
	}
	detail, _ := s.enf.HealthCheck().Func(t.Context())
	d := detail.(map[string]any)
	if d["hash"] != second || !strings.Contains(d["last_reload_error"].(string), "ghosts") {
		t.Errorf("readiness detail: %v", d)
	}
	// A syntax error is rejected too, on SIGHUP.
	os.WriteFile(path, []byte("version: 1\ndefault: [\n"), 0o600)
	s.enf.lastReloadErr.Store(nil)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.enf.lastReloadErr.Load() != nil })
	if s.enf.Document().Hash() != second {
		t.Fatal("a broken policy replaced the one in force")
	}
	// Fixing the file recovers.
	replaceFile(t, path, string(base))
	waitFor(t, func() bool { return s.enf.Document().Hash() == first })
	if n, _ := s.metricValue(t, "mcpfleet.policy.reloads", "result=success"); n != 2 {
		t.Errorf("successful reloads: %d", n)
	}
	// Decision counts are cumulative across reloads: the denial before the
	// first reload is still counted, and the calls since add to the total.
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "add_note", Arguments: map[string]any{"text": "x"}}); err == nil {
		t.Fatal("user may add after the policy went back")
	}
	if n, _ := s.metricValue(t, "mcpfleet.policy.decisions", "decision=deny"); n != 2 {
		t.Errorf("denials counted after three reloads: %d, want 2", n)
	}
	if n, _ := s.metricValue(t, "mcpfleet.policy.decisions", "decision=allow"); n != 2 {
		t.Errorf("allowed calls counted: %d, want 2", n)
	}
	if !strings.Contains(s.h.Logs(), "SIGHUP received") {
		t.Error("SIGHUP not logged")
	}
}

// replaceFile swaps the file atomically, as editors and config management
// do.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestReloadWithoutFile(t *testing.T) {
	s := startServer(t, serverOpts{})
	s.enf.cfg.File = ""
	if err := s.enf.Reload(); err == nil {
		t.Fatal("reload of the built-in default succeeded")
	}
}
