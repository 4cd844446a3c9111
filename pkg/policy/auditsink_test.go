package policy

import (
	"context"
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/pkg/policy/audit"
)

// TestDefaultAuditSinkIsAFileOfItsOwn: with no sinks configured, records
// go to a file of their own (not the log stream on stderr), whatever
// log.level says, and `audit verify` reads that file as it is.
func TestDefaultAuditSinkIsAFileOfItsOwn(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MCPFLEET_AUDIT_DIR", dir)
	h := coretest.Start(t, coretest.Options{
		YAML:    "server: {name: notes}\nlog: {level: error}\nauth:\n  stdio: {subject: ursula}\npolicy:\n  file: testdata/server.yaml\n",
		Modules: []fx.Option{toolsModule(&notes{}), Module},
	})
	cs := h.Connect(t, nil)
	call(t, cs, "read_note", map[string]any{"id": "1"})
	call(t, cs, "read_note", map[string]any{"id": "2"})
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	path := DefaultAuditPath("notes")
	if !strings.HasPrefix(path, dir) {
		t.Fatalf("default path %s is not under MCPFLEET_AUDIT_DIR", path)
	}
	rep, err := audit.VerifyFiles(path)
	if err != nil || rep.Broken != nil || rep.Ranges["notes"] != (audit.Range{First: 1, Last: 2}) {
		t.Fatalf("verify %s: %+v %v", path, rep, err)
	}
	if strings.Contains(h.Logs(), `"args_digest"`) {
		t.Errorf("audit records reached the log stream: %s", h.Logs())
	}
}
