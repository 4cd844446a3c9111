package crm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"
	"go.uber.org/goleak"

	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/servers/crm"
	"github.com/mcpfleet/mcpfleet/servers/crm/internal/testdb"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// Shared result helpers (coretest), under the names these tests use.
var (
	text = coretest.Text
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	goleak.VerifyTestMain(m)
}

// server is a running CRM with an in-memory client session.
type server struct {
	cs      *mcp.ClientSession
	svc     *crm.Service
	harness *coretest.Harness
}

// driverYAML is the crm section selecting a fresh database on driver.
func driverYAML(t testing.TB, driver string) string {
	t.Helper()
	if driver == store.SQLite {
		return crm.TestYAML(t.TempDir())
	}
	return fmt.Sprintf("server:\n  name: crm\ncrm:\n  driver: postgres\n  dsn: %q\n", testdb.PostgresDSN(t))
}

// startServer runs the CRM on driver; extra is YAML merged into the crm
// section (indented two spaces).
func startServer(t testing.TB, driver, extra string) *server {
	t.Helper()
	var svc *crm.Service
	h := coretest.Start(t, coretest.Options{
		YAML:    driverYAML(t, driver) + extra,
		Modules: []fx.Option{crm.Module, fx.Populate(&svc)},
	})
	return &server{cs: h.Connect(t, nil), svc: svc, harness: h}
}

// eachDriver runs fn against SQLite and PostgreSQL.
func eachDriver(t *testing.T, extra string, fn func(t *testing.T, s *server)) {
	for _, d := range testdb.Drivers {
		t.Run(d, func(t *testing.T) { fn(t, startServer(t, d, extra)) })
	}
}

func (s *server) raw(t testing.TB, tool string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := s.cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error: %v", tool, err)
	}
	return res
}

// call runs a tool that must succeed and decodes its structured result.
func call[T any](t testing.TB, s *server, tool string, args any) T {
	t.Helper()
	res := s.raw(t, tool, args)
	if res.IsError {
		t.Fatalf("%s(%v): tool error: %s", tool, args, text(res))
	}
	var out T
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: decoding %s: %v", tool, b, err)
	}
	return out
}

// callErr runs a tool that must fail with a tool error containing want.
func callErr(t *testing.T, s *server, tool string, args any, want string) string {
	t.Helper()
	res := s.raw(t, tool, args)
	if !res.IsError {
		t.Fatalf("%s(%v) succeeded, want a tool error containing %q", tool, args, want)
	}
	msg := text(res)
	if !strings.Contains(msg, want) {
		t.Fatalf("%s error = %q, want it to contain %q", tool, msg, want)
	}
	return msg
}

// counts returns the number of records of each kind.
func (s *server) counts(t testing.TB) map[store.Kind]int64 {
	t.Helper()
	c, err := s.svc.Store().Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type obj = map[string]any
