package core_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

// post sends body to the MCP endpoint with token and returns the status,
// the session id and the body.
func post(t *testing.T, h *coretest.Harness, token, session, body string) (int, string, string) {
	t.Helper()
	resp, b := rawPost(t, h.URL(), token, session, body)
	return resp.StatusCode, resp.Header.Get("Mcp-Session-Id"), b
}

func deleteSession(t *testing.T, h *coretest.Harness, token, id string) {
	t.Helper()
	req, _ := http.NewRequest("DELETE", h.URL(), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Mcp-Session-Id", id)
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func startLimited(t *testing.T, mutate func(*config.Config)) *coretest.Harness {
	return coretest.Start(t, coretest.Options{Modules: pathModules(new(atomic.Int64)), Config: func(c *config.Config) {
		c.Transport = "http"
		c.HTTP.Addr = "127.0.0.1:0"
		c.Auth.APIKeys = []config.APIKey{{ID: "alice", SHA256: authn.HashAPIKey(keyA)}, {ID: "bob", SHA256: authn.HashAPIKey(keyB)}}
		mutate(c)
	}})
}

// TestSessionsPerPrincipalAreCapped: a principal cannot open more than
// max_sessions_per_principal sessions (429 with a JSON-RPC error that
// says what to do); another principal still can; a session ended with
// DELETE frees its slot.
func TestSessionsPerPrincipalAreCapped(t *testing.T) {
	h := startLimited(t, func(c *config.Config) { c.Limits.MaxSessionsPerPrincipal = 3 })
	var ids []string
	for range 3 {
		status, id, body := post(t, h, keyA, "", initBody)
		if status != 200 || id == "" {
			t.Fatalf("initialize: %d %q %s", status, id, body)
		}
		ids = append(ids, id)
	}
	status, id, body := post(t, h, keyA, "", initBody)
	if status != http.StatusTooManyRequests || id != "" || !strings.Contains(body, "-32030") || !strings.Contains(body, "open sessions") {
		t.Fatalf("4th session: %d %q %s", status, id, body)
	}
	if status, _, _ := post(t, h, keyB, "", initBody); status != 200 {
		t.Fatalf("another principal: %d", status)
	}
	deleteSession(t, h, keyA, ids[0])
	// The slot comes back once go-sdk has closed the session.
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, id, body = post(t, h, keyA, "", initBody)
		if status == 200 && id != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after DELETE: %d %s", status, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The existing sessions keep working.
	if status, _, body := post(t, h, keyA, ids[1], `{"jsonrpc":"2.0","id":2,"method":"ping"}`); status != 200 {
		t.Errorf("ping on an open session: %d %s", status, body)
	}
}

// TestSessionsInTotalAreCapped: the server-wide cap answers 503.
func TestSessionsInTotalAreCapped(t *testing.T) {
	h := startLimited(t, func(c *config.Config) { c.Limits.MaxSessions = 2 })
	post(t, h, keyA, "", initBody)
	post(t, h, keyB, "", initBody)
	if status, _, body := post(t, h, keyB, "", initBody); status != http.StatusServiceUnavailable || !strings.Contains(body, "its limit") {
		t.Fatalf("3rd session: %d %s", status, body)
	}
}

// TestIdleSessionsFreeTheirSlots: sessions closed by the idle timeout
// count no more.
func TestIdleSessionsFreeTheirSlots(t *testing.T) {
	h := startLimited(t, func(c *config.Config) {
		c.Limits.MaxSessionsPerPrincipal = 1
		c.HTTP.SessionTimeout = 100 * time.Millisecond
	})
	if status, _, _ := post(t, h, keyA, "", initBody); status != 200 {
		t.Fatal(status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if status, _, _ := post(t, h, keyA, "", initBody); status == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the idle session's slot never came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInitializeIsRateLimited: initialize beyond the per-principal rate
// is refused with 429 and Retry-After, before any session is made.
func TestInitializeIsRateLimited(t *testing.T) {
	h := startLimited(t, func(c *config.Config) { c.Limits.InitializePerMinute = 2 })
	for range 2 {
		if status, _, _ := post(t, h, keyA, "", initBody); status != 200 {
			t.Fatal(status)
		}
	}
	status, id, body := post(t, h, keyA, "", initBody)
	if status != http.StatusTooManyRequests || id != "" || !strings.Contains(body, "-32031") || !strings.Contains(body, "per minute") {
		t.Fatalf("3rd initialize: %d %q %s", status, id, body)
	}
	if status, _, _ := post(t, h, keyB, "", initBody); status != 200 {
		t.Errorf("bob is limited by alice's rate: %d", status)
	}
}

// TestParseErrorsAreRefusedBeforeEitherPath: invalid UTF-8 and data after
// the JSON value get a -32700 parse error (400) on a new request and on an
// established session's tools/call (which the inline path would serve).
func TestParseErrorsAreRefusedBeforeEitherPath(t *testing.T) {
	h := startLimited(t, func(*config.Config) {})
	_, sid, _ := post(t, h, keyA, "", initBody)
	post(t, h, keyA, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	call := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read","arguments":{}}}`
	if status, _, body := post(t, h, keyA, sid, call); status != 200 || !strings.Contains(body, `"result"`) {
		t.Fatalf("valid call: %d %s", status, body)
	}
	for name, body := range map[string]string{
		"trailing data":         call + `{"jsonrpc":"2.0","id":4,"method":"tools/call"}`,
		"trailing garbage":      call + " x",
		"invalid UTF-8":         strings.Replace(call, `"read"`, "\"re\xffad\"", 1),
		"invalid UTF-8 in init": strings.Replace(initBody, `"t"`, "\"\xc3\x28\"", 1),
	} {
		session := sid
		if strings.Contains(name, "init") {
			session = ""
		}
		status, _, got := post(t, h, keyA, session, body)
		if status != http.StatusBadRequest || !strings.Contains(got, "-32700") {
			t.Errorf("%s: %d %s", name, status, got)
		}
	}
	if status, _, _ := post(t, h, keyA, sid, call+"\n  "); status != 200 {
		t.Errorf("trailing whitespace refused: %d", status)
	}
}

// TestSessionlessCallsSpendNoSessionLimits: 2026-07-28 requests open no
// session, so on a stateful server they neither take a session slot nor
// count against the initialize rate (they did: the 3rd sessionless call
// of a minute was refused as "too many initialize requests"), on either
// path.
func TestSessionlessCallsSpendNoSessionLimits(t *testing.T) {
	for _, direct := range []bool{true, false} {
		h := startLimited(t, func(c *config.Config) {
			c.Limits.InitializePerMinute, c.Limits.MaxSessionsPerPrincipal, c.HTTP.InlineToolCalls = 2, 1, direct
		})
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read","arguments":{},` + meta26 + `}}`
		for i := range 10 {
			req, _ := http.NewRequest(http.MethodPost, h.URL(), strings.NewReader(body))
			for k, v := range map[string]string{"Authorization": "Bearer " + keyA, "Content-Type": "application/json",
				"Accept": "application/json, text/event-stream", "Mcp-Protocol-Version": core.ProtocolSessionless,
				"Mcp-Method": "tools/call", "Mcp-Name": "read"} {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"result"`) {
				t.Fatalf("direct=%v: sessionless call %d: %d %s", direct, i+1, resp.StatusCode, b)
			}
		}
		if status, id, body := post(t, h, keyA, "", initBody); status != http.StatusOK || id == "" {
			t.Errorf("direct=%v: initialize after sessionless calls: %d %s", direct, status, body)
		}
	}
}
