package core_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

// The differential test sends one corpus of requests, valid and invalid, in
// both protocol revisions, to two servers that differ only in
// http.inline_tool_calls (the switch of the former inline path), and fails
// on any difference in status, relevant headers, JSON-RPC error codes or
// results. It pins the promise that every request has go-sdk's behaviour
// whatever the config says, in each deployment (stateful, stateless,
// stateless with JSON responses); the corpus is also checked against what
// go-sdk answers for a few cases the inline path used to get wrong. A fast
// path for tools/call, should one return, is switched by the same flag and
// must pass this test unchanged.

type dprobe struct {
	name    string
	method  string // HTTP method; POST when empty
	headers map[string]string
	body    string
	session bool // send the 2025-11-25 session's id
}

// talkModules adds a tool that sends progress and a log message, and one
// whose result is over diffResultLimit, to the tools of pathModules.
func talkModules(seen *atomic.Int64) []fx.Option {
	return append(pathModules(seen), core.AsTool(func() *core.ToolDef {
		return core.NewTool(spec("talk", "demo", core.ReadOnly), func(ctx context.Context, call *core.Call, _ pathIn) (pathOut, error) {
			if tok := call.Request.Params.GetProgressToken(); tok != nil {
				_ = call.Session().NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: 1, Total: 2})
			}
			return pathOut{Caller: "talk"}, nil
		})
	}), core.AsTool(func() *core.ToolDef {
		return core.NewTool(spec("big", "demo", core.ReadOnly), func(context.Context, *core.Call, pathIn) (pathOut, error) {
			return pathOut{Caller: strings.Repeat("x", 2*diffResultLimit)}, nil
		})
	}), core.AsTool(func() *core.ToolDef {
		// client reports what the session tells of the client.
		return core.NewTool(spec("client", "demo", core.ReadOnly), func(_ context.Context, call *core.Call, _ pathIn) (clientOut, error) {
			var out clientOut
			if ip := call.Session().InitializeParams(); ip != nil {
				if ip.ClientInfo != nil {
					out.Name = ip.ClientInfo.Name
				}
				out.Elicitation = ip.Capabilities != nil && ip.Capabilities.Elicitation != nil
			}
			return out, nil
		})
	}), core.AsTool(func() *core.ToolDef {
		// ask needs the user: an input-required result under 2026-07-28,
		// go-sdk asking mid-call on a 2025-11-25 session.
		return core.NewTool(spec("ask", "demo", core.ReadOnly), func(ctx context.Context, call *core.Call, _ pathIn) (pathOut, error) {
			if call.InputResponses() == nil {
				return pathOut{}, &core.InputRequired{State: "s", Requests: mcp.InputRequestMap{"ok": &mcp.ElicitParams{
					Message: "proceed?", RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"ok": map[string]any{"type": "boolean"}}}}}}
			}
			return pathOut{Caller: "asked"}, nil
		})
	}))
}

type clientOut struct {
	Name        string `json:"name" jsonschema:"the client's name"`
	Elicitation bool   `json:"elicitation" jsonschema:"whether it declared elicitation"`
}

// diffResultLimit is limits.max_result_bytes of the differential servers.
const diffResultLimit = 4096

const v25, v26 = "2025-11-25", "2026-07-28"

func call25(id, name, args string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"` + name + `","arguments":` + args + `}}`
}

func call26(id, name, args string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"` + name + `","arguments":` + args + `,` + meta26 + `}}`
}

func nested(depth int) string {
	return `{"fail":"x","x":` + strings.Repeat(`[`, depth) + strings.Repeat(`]`, depth) + `}`
}

func corpus() []dprobe {
	h25 := func(extra map[string]string) map[string]string {
		m := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream", "Mcp-Protocol-Version": v25}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	h26 := func(method, name string, extra map[string]string) map[string]string {
		m := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream", "Mcp-Protocol-Version": v26, "Mcp-Method": method}
		if name != "" {
			m["Mcp-Name"] = name
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	ok25 := call25("7", "read", "{}")
	var c []dprobe
	add := func(name string, headers map[string]string, body string, session bool) {
		c = append(c, dprobe{name: name, headers: headers, body: body, session: session})
	}
	// Content types.
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "text/plain", "", "application/x-www-form-urlencoded", "application/json-seq"} {
		add("content-type "+ct, h25(map[string]string{"Content-Type": ct}), ok25, true)
	}
	// Accept headers.
	for _, acc := range []string{"application/json, text/event-stream", "application/json", "text/event-stream", "*/*", "", "application/*, text/*", "text/html"} {
		add("accept "+acc, h25(map[string]string{"Accept": acc}), ok25, true)
	}
	// Id types.
	for _, id := range []string{`1`, `"s"`, `1.5`, `-3`, `null`, `{}`, `[]`, `true`, `"" `} {
		add("id "+id, h25(nil), call25(id, "read", "{}"), true)
	}
	// Before logging/setLevel below, after which this session's calls
	// go to go-sdk (a tool's log messages then belong on its stream).
	add("2025 input required", h25(nil), call25("18", "ask", "{}"), true)
	add("no id (a notification)", h25(nil), `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"read"}}`, true)
	// Protocol versions.
	for _, v := range []string{"2025-06-18", "2025-03-26", "2024-11-05", "1999-01-01", "", "not-a-date"} {
		add("version "+v, h25(map[string]string{"Mcp-Protocol-Version": v}), ok25, true)
	}
	// Nesting depth and trailing data.
	for _, d := range []int{10, 100, 1000, 10000} {
		add(fmt.Sprintf("nesting %d", d), h25(nil), call25("8", "read", nested(d)), true)
	}
	for _, tail := range []string{" {}", "garbage", "\n", `{"jsonrpc":"2.0","id":9,"method":"ping"}`} {
		add("trailing "+tail, h25(nil), ok25+tail, true)
	}
	// Batches.
	for _, b := range []string{`[` + ok25 + `]`, `[` + ok25 + `,` + call25("8", "read", "{}") + `]`, `[]`, `[{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}]`} {
		add("batch "+b[:min(len(b), 20)], h25(nil), b, true)
	}
	// Malformed.
	for _, m := range []string{`{`, ``, `null`, `"str"`, `{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"read"}}`,
		`{"jsonrpc":"2.0","id":1,"params":{}}`, `{"jsonrpc":"2.0","id":1,"method":5}`, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[]}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}`} {
		add("malformed "+m, h25(nil), m, true)
	}
	// Methods: unknown, removed in 2026, listed.
	for _, m := range []string{"foo/bar", "ping", "logging/setLevel", "tools/list", "prompts/list", "resources/list"} {
		add("2025 "+m, h25(nil), `{"jsonrpc":"2.0","id":3,"method":"`+m+`","params":{"level":"info"}}`, true)
		add("2026 "+m, h26(m, "", nil), `{"jsonrpc":"2.0","id":3,"method":"`+m+`","params":{"level":"info",`+meta26+`}}`, false)
	}
	// Tool calls: progress, errors, unknown tools, invalid arguments.
	add("2025 progress", h25(nil), `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"talk","_meta":{"progressToken":"p"}}}`, true)
	add("2026 progress", h26("tools/call", "talk", nil), `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"talk","_meta":{"progressToken":"p","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`, false)
	add("2025 cancel unknown request", h25(nil), `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":999}}`, true)
	for _, args := range []string{`{}`, `{"fail":"tool"}`, `{"fail":"protocol"}`, `{"fail":7}`, `{"unknown":1}`, `[]`, `"x"`} {
		add("2025 args "+args, h25(nil), call25("5", "read", args), true)
		add("2026 args "+args, h26("tools/call", "read", nil), call26("5", "read", args), false)
	}
	add("2025 unknown tool", h25(nil), call25("6", "nope", "{}"), true)
	add("2026 unknown tool", h26("tools/call", "nope", nil), call26("6", "nope", "{}"), false)
	// 2026 header rules.
	add("2026 discover", h26("server/discover", "", nil), `{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{`+meta26+`}}`, false)
	add("2026 Mcp-Name mismatch", h26("tools/call", "write", nil), call26("2", "read", "{}"), false)
	add("2026 Mcp-Name missing", h26("tools/call", "", nil), call26("2", "read", "{}"), false)
	add("2026 Mcp-Method mismatch", h26("tools/list", "read", nil), call26("2", "read", "{}"), false)
	add("2026 Mcp-Method missing", h26("", "read", map[string]string{"Mcp-Method": ""}), call26("2", "read", "{}"), false)
	add("2026 meta version mismatch", h26("tools/call", "read", nil), strings.Replace(call26("2", "read", "{}"), `"2026-07-28"`, `"2025-11-25"`, 1), false)
	add("2026 meta missing", h26("tools/call", "read", nil), call25("2", "read", "{}"), false)
	add("2026 unknown version", h26("tools/call", "read", map[string]string{"Mcp-Protocol-Version": "2099-01-01"}), strings.Replace(call26("2", "read", "{}"), `"2026-07-28"`, `"2099-01-01"`, 1), false)
	add("2026 with a session id", h26("tools/call", "read", nil), call26("2", "read", "{}"), true)
	add("2026 tasks/result", h26("tasks/result", "x", nil), `{"jsonrpc":"2.0","id":1,"method":"tasks/result","params":{"taskId":"x",`+meta26+`}}`, false)
	// The edges a tools/call fast path would have to get right: the hot
	// request in both revisions (sessionless, and 2025-11-25 without a
	// session) with every id type, _meta shape and progress token, tool
	// and protocol errors and Accept variants. (A 2025-11-25 request without a
	// session reaches the stateful handler here: go-sdk answers it as a
	// request before initialize.)
	for _, id := range []string{`1`, `"s"`, `1.5`, `-3`, `0`, `9007199254740993`, `1e3`, `null`, `{}`, `[]`, `true`, `""`} {
		add("2026 id "+id, h26("tools/call", "read", nil), call26(id, "read", "{}"), false)
		add("2025 sessionless id "+id, h25(nil), call25(id, "read", "{}"), false)
	}
	for _, m := range []string{
		`"_meta":{}`,
		`"_meta":null`,
		`"_meta":{"progressToken":7,"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`,
		`"_meta":{"progressToken":{"a":1},"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`,
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}`,
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":"x"}`,
		`"_meta":{"io.modelcontextprotocol/protocolVersion":7,"io.modelcontextprotocol/clientCapabilities":{}}`,
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"debug"}`,
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"x.example/custom":[1,2]}`,
	} {
		body := `{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"talk","arguments":{},` + m + `}}`
		add("2026 meta "+m, h26("tools/call", "talk", nil), body, false)
		add("2025 sessionless meta "+m, h25(nil), body, false)
	}
	for _, args := range []string{`{"fail":"tool"}`, `{"fail":"protocol"}`, `{"fail":7}`, `null`} {
		add("2025 sessionless args "+args, h25(nil), call25("12", "read", args), false)
	}
	for _, acc := range []string{"application/json", "text/event-stream", "*/*", "application/json, text/event-stream;q=0.5"} {
		add("2026 accept "+acc, h26("tools/call", "read", map[string]string{"Accept": acc}), call26("13", "read", "{}"), false)
	}
	add("2026 params with extra fields", h26("tools/call", "read", nil), `{"jsonrpc":"2.0","id":14,"method":"tools/call","params":{"name":"read","arguments":{},"extra":1,`+meta26+`}}`, false)
	add("2026 duplicate method key", h26("tools/call", "read", nil), `{"jsonrpc":"2.0","id":15,"method":"tools/list","method":"tools/call","params":{"name":"read","arguments":{},`+meta26+`}}`, false)
	add("2026 notification tools/call", h26("tools/call", "read", nil), `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"read","arguments":{},`+meta26+`}}`, false)
	add("2026 input required", h26("tools/call", "ask", nil), call26("18", "ask", "{}"), false)
	// The session a sessionless call sees: its client's identity and
	// capabilities, decoded as go-sdk decodes them (names match exactly).
	for _, m := range []string{
		`"io.modelcontextprotocol/clientCapabilities":{"elicitation":{}},"io.modelcontextprotocol/clientInfo":{"name":"lower","version":"1"}`,
		`"io.modelcontextprotocol/clientCapabilities":{"Elicitation":{}},"io.modelcontextprotocol/clientInfo":{"Name":"upper","version":"1"}`,
		`"io.modelcontextprotocol/clientCapabilities":{"elicitation":{"form":{}}}`,
	} {
		body := `{"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":"client","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",` + m + `}}}`
		add("2026 client "+m, h26("tools/call", "client", nil), body, false)
	}
	add("2025 oversized result", h25(nil), call25("17", "big", "{}"), true)
	add("2026 oversized result", h26("tools/call", "big", nil), call26("17", "big", "{}"), false)
	add("2026 requestState", h26("tools/call", "read", nil), `{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"read","arguments":{},"requestState":"forged",`+meta26+`}}`, false)
	// Other HTTP methods and sessions.
	c = append(c,
		dprobe{name: "GET without session", method: http.MethodGet, headers: map[string]string{"Accept": "text/event-stream", "Mcp-Protocol-Version": v25}},
		dprobe{name: "DELETE unknown session", method: http.MethodDelete, headers: map[string]string{"Mcp-Session-Id": "nope", "Mcp-Protocol-Version": v25}},
		dprobe{name: "PUT", method: http.MethodPut, headers: h25(nil), body: ok25, session: true},
		dprobe{name: "unknown session", headers: h25(map[string]string{"Mcp-Session-Id": "nope"}), body: ok25},
		dprobe{name: "POST with Last-Event-ID", headers: h25(map[string]string{"Last-Event-ID": "x_1"}), body: ok25, session: true},
		dprobe{name: "2026 POST with Last-Event-ID", headers: map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
			"Mcp-Protocol-Version": v26, "Mcp-Method": "tools/call", "Mcp-Name": "read", "Last-Event-ID": "x_1"}, body: call26("19", "read", "{}")},
		dprobe{name: "2026 GET", method: http.MethodGet, headers: map[string]string{"Accept": "text/event-stream", "Mcp-Protocol-Version": v26}},
	)
	return c
}

// answer is what the differential compares of one response.
type answer struct {
	Status      int
	ContentType string
	Allow       string
	HasSession  bool
	Messages    []string // JSON-RPC messages, canonical
	Events      []string // SSE framing: each event's name and whether it has an id
	Cache       string   // Cache-Control
	Text        string   // a non-JSON-RPC body
}

func canonical(raw []byte) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "invalid JSON: " + string(raw)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func send(t *testing.T, url, session string, p dprobe) answer {
	t.Helper()
	method := p.method
	if method == "" {
		method = http.MethodPost
	}
	req, _ := http.NewRequest(method, url, strings.NewReader(p.body))
	for k, v := range p.headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	req.Header.Set("Authorization", "Bearer "+keyA)
	if p.session {
		req.Header.Set("Mcp-Session-Id", session)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	defer resp.Body.Close()
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	a := answer{Status: resp.StatusCode, ContentType: ct, Allow: resp.Header.Get("Allow"), HasSession: resp.Header.Get("Mcp-Session-Id") != "",
		Cache: resp.Header.Get("Cache-Control")}
	if ct == "text/event-stream" {
		// Read events until the stream ends (the response is complete).
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				a.Events = append(a.Events, event)
				event = ""
			case strings.HasPrefix(line, "event: "):
				event += strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				event += "+id"
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok && data != "" {
				a.Messages = append(a.Messages, canonical([]byte(data)))
			}
		}
		return a
	}
	body, _ := io.ReadAll(resp.Body)
	if ct == "application/json" {
		a.Messages = []string{canonical(bytes.TrimSpace(body))}
	} else {
		a.Text = strings.TrimSpace(string(body))
	}
	return a
}

func TestDifferentialCorpus(t *testing.T) {
	// Every deployment a fast path could serve: sessions (2025-11-25 on a
	// session, 2026-07-28 beside it), stateless, and stateless with plain
	// JSON responses instead of SSE.
	for _, dep := range []struct {
		name      string
		stateless bool
		json      bool
	}{{"stateful", false, false}, {"stateless", true, false}, {"stateless json", true, true}} {
		t.Run(dep.name, func(t *testing.T) {
			differential(t, func(c *config.Config) {
				c.HTTP.Stateless, c.HTTP.JSONResponse = dep.stateless, dep.json
				c.Limits.MaxResultBytes = diffResultLimit
				// One key, so both sign an input-required result alike.
				c.HTTP.RequestStateKey = config.NewSecret(strings.Repeat("k", 32))
			})
		})
	}
}

func differential(t *testing.T, deploy func(*config.Config)) {
	var seenA, seenB atomic.Int64
	servers := []*coretest.Harness{
		startHTTP(t, talkModules(&seenA), func(c *config.Config) { deploy(c); c.HTTP.InlineToolCalls = true }),
		startHTTP(t, talkModules(&seenB), func(c *config.Config) { deploy(c); c.HTTP.InlineToolCalls = false }),
	}
	stateful := !servers[0].Config.HTTP.Stateless
	sessions := []string{"no-session", "no-session"}
	if stateful {
		sessions = []string{openSessionVersion(t, servers[0].URL(), keyA, v25), openSessionVersion(t, servers[1].URL(), keyA, v25)}
	}
	c := corpus()
	if len(c) < 60 {
		t.Fatalf("corpus has %d requests, want at least 60", len(c))
	}
	got := make(map[string]answer, len(c))
	served := map[string]bool{} // answered by the direct path
	for _, p := range c {
		before := servers[0].Server.DirectCalls()
		a := send(t, servers[0].URL(), sessions[0], p)
		served[p.name] = servers[0].Server.DirectCalls() > before
		b := send(t, servers[1].URL(), sessions[1], p)
		aj, _ := json.Marshal(a)
		bj, _ := json.Marshal(b)
		if string(aj) != string(bj) {
			t.Errorf("%s: the servers disagree\n inline_tool_calls=true:  %s\n inline_tool_calls=false: %s", p.name, aj, bj)
		}
		got[p.name] = a
	}
	if seenA.Load() != seenB.Load() {
		t.Errorf("middleware saw %d and %d calls", seenA.Load(), seenB.Load())
	}
	direct := servers[0].Server.DirectCalls()
	if direct == 0 || servers[1].Server.DirectCalls() != 0 {
		t.Errorf("direct path answered %d and %d requests, want some and none", direct, servers[1].Server.DirectCalls())
	}
	t.Logf("corpus: %d requests, both servers answered identically; the direct path answered %d of them", len(c), direct)
	// The direct path serves the hot requests and leaves the rest to go-sdk.
	want := map[string]bool{"2026 id 1": true, `2026 id "s"`: true, "2026 input required": true, "2026 args {}": true,
		`2026 args {"fail":"protocol"}`: true, "2026 oversized result": true,
		"2026 progress": false, "2026 unknown tool": false, "2026 Mcp-Name mismatch": false, "2026 requestState": false,
		"2026 params with extra fields": false,
		// go-sdk's decoder reads the envelope on both paths: the last "method" wins.
		"2026 duplicate method key": true,
		`2026 meta "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"debug"}`: false}
	if stateful {
		maps.Copy(want, map[string]bool{"id 1": true, "content-type application/json; charset=utf-8": true, "2025 input required": true,
			"nesting 100": true, "2025 progress": false, "id 1.5": true, "accept application/json": false, "2025 args {}": false})
	}
	for name, direct := range want {
		if served[name] != direct {
			t.Errorf("%s: served by the direct path: %v, want %v", name, served[name], direct)
		}
	}
	if !stateful {
		return
	}
	// Cases the removed inline path answered differently from go-sdk.
	for name, status := range map[string]int{
		"content-type text/plain": http.StatusUnsupportedMediaType,
		"content-type ":           http.StatusUnsupportedMediaType,
		"accept application/json": http.StatusBadRequest,
		"id {}":                   http.StatusBadRequest,
		"id []":                   http.StatusBadRequest,
		"2026 Mcp-Name mismatch":  http.StatusBadRequest,
		"2026 unknown version":    http.StatusBadRequest,
		"PUT":                     http.StatusMethodNotAllowed,
		"unknown session":         http.StatusNotFound,
	} {
		if got[name].Status != status {
			t.Errorf("%s: status %d, want %d (%+v)", name, got[name].Status, status, got[name])
		}
	}
}
