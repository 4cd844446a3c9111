package main

import (
	"bytes"
	"context"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is written by the fleet's goroutines and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestFleetRun starts the local fleet, finds the CRM ready with its demo
// data and answering MCP, and stops it by cancelling.
func TestFleetRun(t *testing.T) {
	addr := freeAddr(t)
	var out, errOut lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"run", "--addr", addr, "--data-dir", t.TempDir()},
			&env{stdout: &out, stderr: &errOut, getenv: os.Getenv})
	}()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("fleet not ready: %s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "crm      "+base+"/mcp") || !strings.Contains(out.String(), "claude mcp add --transport http crm") {
		t.Errorf("banner: %s", out.String())
	}
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Mcp-Session-Id") == "" {
		t.Errorf("initialize without credentials on the local fleet: %d", resp.StatusCode)
	}
	if !strings.Contains(errOut.String(), "loaded demo data") {
		t.Errorf("demo data not loaded: %s", errOut.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d: %s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("fleet did not stop")
	}
}

func TestFleetRunRefusesNonLoopback(t *testing.T) {
	code, _, errOut := mcpfleet(t, "run", "--addr", "0.0.0.0:8080")
	if code != 2 || !strings.Contains(errOut, "not a loopback address") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

func TestAPIKeyNew(t *testing.T) {
	code, out, _ := mcpfleet(t, "apikey", "new", "--id", "ci-bot")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var key, sum string
	for line := range strings.SplitSeq(out, "\n") {
		if k, ok := strings.CutPrefix(line, "key (give it to the client; it is not stored anywhere): "); ok {
			key = k
		}
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "sha256: "); ok {
			sum = s
		}
	}
	if !strings.HasPrefix(key, authn.APIKeyPrefix) || len(key) < 40 || sum != authn.HashAPIKey(key) {
		t.Errorf("key %q, sha256 %q:\n%s", key, sum, out)
	}
	if code, _, _ := mcpfleet(t, "apikey", "new"); code != 2 {
		t.Errorf("missing --id: exit %d", code)
	}
}

func TestFleetSkipsGitHubWithoutToken(t *testing.T) {
	fleet := localFleet(t.TempDir(), false)
	for _, s := range fleet {
		if s.name != "github" {
			continue
		}
		if ok, why := s.enabled(func(string) string { return "" }); ok || !strings.Contains(why, "GITHUB_TOKEN") {
			t.Errorf("github without a token: %v %q", ok, why)
		}
		if ok, _ := s.enabled(func(k string) string { return map[string]string{"GITHUB_TOKEN": "x"}[k] }); !ok {
			t.Error("github with GITHUB_TOKEN is skipped")
		}
		return
	}
	t.Fatal("github is not in the local fleet")
}
