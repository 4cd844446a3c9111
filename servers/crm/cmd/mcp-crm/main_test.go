package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestImportExportDemoCommands(t *testing.T) {
	dir := t.TempDir()
	lookup := env(map[string]string{"MCPFLEET_CRM_DATA_DIR": dir})
	run := func(name string, stdin string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := runCommand(t.Context(), name, args, strings.NewReader(stdin), &out, &errOut, lookup)
		return code, out.String(), errOut.String()
	}
	csvPath := filepath.Join(dir, "companies.csv")
	if err := os.WriteFile(csvPath, []byte("name,domain\nAcme,acme.example\nBad,not a domain\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run("import", "", "--type", "companies", csvPath)
	if code != 1 || !strings.Contains(stderr, "line 3: domain") || !strings.Contains(stderr, "nothing was imported") {
		t.Fatalf("import of a bad file: code %d\n%s", code, stderr)
	}
	code, stdout, stderr := run("import", "", "--type", "companies", "--skip-errors", csvPath)
	if code != 3 || !strings.Contains(stdout, "imported 1 of 2 companies") {
		t.Fatalf("import --skip-errors: code %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = run("import", "first_name,email\nAda,ada@acme.example\n", "--type", "contacts", "-")
	if code != 0 || !strings.Contains(stdout, "imported 1 of 1 contacts") {
		t.Fatalf("import from stdin: code %d %s", code, stdout)
	}
	code, stdout, _ = run("export", "", "--type", "contacts")
	if code != 0 || !strings.Contains(stdout, "Ada,,ada@acme.example") {
		t.Fatalf("export: code %d\n%s", code, stdout)
	}
	if code, stdout, _ = run("demo", ""); code != 0 || !strings.Contains(stdout, "not empty") {
		t.Fatalf("demo into a non-empty database: code %d %s", code, stdout)
	}
	if code, _, stderr = run("export", "", "--type", "tasks"); code != 1 || !strings.Contains(stderr, `cannot export "tasks"`) {
		t.Fatalf("export of an unknown type: code %d %s", code, stderr)
	}
	if code, _, _ = run("import", "", "--type", "contacts"); code != 1 {
		t.Fatalf("import without a file: code %d", code)
	}
}

// TestServeHTTP starts the real binary's server (defaults YAML, demo data,
// auth off on loopback) and uses it over Streamable HTTP as a host would.
func TestServeHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	lookup := env(map[string]string{
		"MCPFLEET_CRM_DATA_DIR":       t.TempDir(),
		"MCPFLEET_CRM_LOAD_DEMO_DATA": "true",
		"MCPFLEET_AUTH_DISABLED":      "true",
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int)
	var logs bytes.Buffer
	go func() {
		done <- core.Run(ctx, app(), []string{"--transport", "http", "--addr", addr}, core.Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &logs}, lookup)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("server exited with %d:\n%s", code, logs.String())
		}
	}()
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if !strings.Contains(string(body), `"crm_database"`) {
					t.Fatalf("readiness lacks the database check: %s", body)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: base + "/mcp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if cs.InitializeResult().ServerInfo.Name != "crm" {
		t.Fatalf("server info = %+v", cs.InitializeResult().ServerInfo)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search_records", Arguments: map[string]any{"type": "companies", "query": "northwind"}})
	if err != nil || res.IsError {
		t.Fatalf("search: %v %+v", err, res)
	}
	var found struct{ Count int }
	b, _ := json.Marshal(res.StructuredContent)
	if json.Unmarshal(b, &found); found.Count == 0 {
		t.Fatalf("demo data not searchable: %s", b)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "create_contact", Arguments: map[string]any{"first_name": "Http", "email": "http@example.com"}})
	if err != nil || res.IsError {
		t.Fatalf("create_contact: %v %+v", err, res)
	}
}
