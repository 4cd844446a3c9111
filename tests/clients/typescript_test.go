package clients_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/tests/internal/fixturetest"
)

// fixtureTools is what tools/list shows over HTTP: the tools of the
// conformance suite (0.2.0-alpha.12's scenarios, conformanceTools) and the
// whoami probe.
const (
	conformanceTools = 35
	fixtureTools     = conformanceTools + 1
)

func TestTypeScriptClientWithJWT(t *testing.T) {
	t.Parallel()
	requireClients(t)
	st := fixturetest.Start(t, fixturetest.Options{})
	run := tsClient(t, st.URL(), st.Token("ada"),
		step{"op": "listTools"},
		step{"op": "callTool", "name": "json_schema_2020_12_tool", "arguments": map[string]any{
			"name": "Ada", "contactMethod": "phone", "phone": "+1 555", "address": map[string]any{"city": "London"}}},
		step{"op": "readResource", "uri": "test://static-text"},
		step{"op": "getPrompt", "name": "test_prompt_with_arguments", "arguments": map[string]any{"arg1": "x", "arg2": "y"}},
		step{"op": "callTool", "name": "whoami"},
		step{"op": "callTool", "name": "test_sampling", "arguments": map[string]any{"prompt": "hello"}},
		step{"op": "callTool", "name": "test_elicitation", "arguments": map[string]any{"message": "who?"}},
		step{"op": "setLoggingLevel", "level": "info"},
		step{"op": "callTool", "name": "test_tool_with_logging"},
		step{"op": "callTool", "name": "test_tool_with_progress", "progress": true},
	)
	if run.Error != nil {
		t.Fatalf("client error: %s: %s (http %+v)", run.Error.Name, run.Error.Message, run.HTTP)
	}
	if run.Server.Name != "test" || run.SessionID == "" || run.ProtocolVersion == "" {
		t.Errorf("server %+v, session %q, protocol %q", run.Server, run.SessionID, run.ProtocolVersion)
	}

	tools := result[struct {
		Tools []struct {
			Name        string         `json:"name"`
			InputSchema map[string]any `json:"inputSchema"`
		} `json:"tools"`
	}](t, run, 0)
	if len(tools.Tools) != fixtureTools {
		t.Errorf("listed %d tools, want %d", len(tools.Tools), fixtureTools)
	}
	i := slices.IndexFunc(tools.Tools, func(x struct {
		Name        string         `json:"name"`
		InputSchema map[string]any `json:"inputSchema"`
	}) bool {
		return x.Name == "json_schema_2020_12_tool"
	})
	if i < 0 || tools.Tools[i].InputSchema["$schema"] != "https://json-schema.org/draft/2020-12/schema" || tools.Tools[i].InputSchema["$defs"] == nil {
		t.Errorf("json_schema_2020_12_tool's schema did not survive: %+v", tools.Tools)
	}

	call := result[toolResult](t, run, 1)
	if call.IsError || call.StructuredContent["via"] != "phone" || call.StructuredContent["city"] != "London" {
		t.Errorf("json_schema_2020_12_tool: %+v", call)
	}
	res := result[struct {
		Contents []struct {
			URI  string `json:"uri"`
			Text string `json:"text"`
		} `json:"contents"`
	}](t, run, 2)
	if len(res.Contents) != 1 || res.Contents[0].URI != "test://static-text" || res.Contents[0].Text == "" {
		t.Errorf("readResource: %+v", res)
	}
	prompt := result[struct {
		Messages []struct {
			Content struct{ Text string } `json:"content"`
		} `json:"messages"`
	}](t, run, 3)
	if len(prompt.Messages) != 1 || prompt.Messages[0].Content.Text != "Prompt with arguments: arg1='x', arg2='y'" {
		t.Errorf("getPrompt: %+v", prompt)
	}
	who := result[toolResult](t, run, 4)
	if who.StructuredContent["subject"] != "ada" || who.StructuredContent["method"] != "jwt" {
		t.Errorf("whoami: %+v", who.StructuredContent)
	}
	// The server asks the client mid-call, over the same HTTP session.
	if r := result[toolResult](t, run, 5); r.IsError || r.text() != "LLM response: echo: hello" {
		t.Errorf("test_sampling: %+v", r)
	}
	if r := result[toolResult](t, run, 6); r.IsError || !strings.Contains(r.text(), `"username":"ada"`) {
		t.Errorf("test_elicitation: %+v", r)
	}
	var logs []any
	var progress []float64
	for _, n := range run.Notifications {
		switch n.Method {
		case "notifications/message":
			logs = append(logs, n.Data)
		case "notifications/progress":
			progress = append(progress, n.Progress)
		}
	}
	if len(logs) != 3 || !slices.Equal(progress, []float64{0, 50, 100}) {
		t.Errorf("notifications: logs %v, progress %v", logs, progress)
	}
	if n := st.Requests("tools/call"); n != 6 {
		t.Errorf("server saw %d tool calls, want 6", n)
	}
}

func TestTypeScriptClientWithAPIKey(t *testing.T) {
	t.Parallel()
	requireClients(t)
	st := fixturetest.Start(t, fixturetest.Options{})
	run := tsClient(t, st.URL(), fixturetest.APIKey,
		step{"op": "callTool", "name": "whoami"},
		step{"op": "callTool", "name": "test_simple_text"},
	)
	if run.Error != nil {
		t.Fatalf("client error: %s", run.Error.Message)
	}
	if who := result[toolResult](t, run, 0); who.StructuredContent["subject"] != fixturetest.APIKeyID || who.StructuredContent["method"] != "api_key" {
		t.Errorf("whoami: %+v", who.StructuredContent)
	}
	if r := result[toolResult](t, run, 1); r.IsError || r.text() == "" {
		t.Errorf("test_simple_text: %+v", r)
	}
}

func TestTypeScriptClientWithoutTokenGets401(t *testing.T) {
	t.Parallel()
	requireClients(t)
	st := fixturetest.Start(t, fixturetest.Options{})
	run := tsClient(t, st.URL(), "", step{"op": "listTools"})
	if run.Error == nil || run.Error.Code != float64(401) {
		t.Fatalf("want a 401 error, got %+v", run.Error)
	}
	if len(run.HTTP) == 0 || run.HTTP[0].Status != 401 {
		t.Fatalf("http: %+v", run.HTTP)
	}
	want := `resource_metadata="` + st.BaseURL() + `/.well-known/oauth-protected-resource/mcp"`
	if !strings.HasPrefix(run.HTTP[0].WWWAuthenticate, "Bearer ") || !strings.Contains(run.HTTP[0].WWWAuthenticate, want) {
		t.Errorf("WWW-Authenticate %q does not name %s", run.HTTP[0].WWWAuthenticate, want)
	}
	if n := st.Requests("initialize"); n != 0 {
		t.Errorf("%d initialize requests reached the server", n)
	}
}

// The SDK's OAuth discovery, what a host runs after a 401, finds this
// server's protected resource metadata and, through it, the issuer.
func TestTypeScriptClientDiscoversTheAuthorizationServer(t *testing.T) {
	t.Parallel()
	requireClients(t)
	st := fixturetest.Start(t, fixturetest.Options{})
	out := runNode(t, nil, "node", "discover.mjs", st.URL())
	var got struct {
		Status    int `json:"status"`
		Challenge struct {
			ResourceMetadataURL string `json:"resourceMetadataUrl"`
		} `json:"challenge"`
		AuthorizationServerURL string `json:"authorizationServerUrl"`
		ResourceMetadata       struct {
			Resource             string   `json:"resource"`
			AuthorizationServers []string `json:"authorization_servers"`
		} `json:"resourceMetadata"`
		AuthorizationServerIssuer string `json:"authorizationServerIssuer"`
		Error                     *struct{ Message string }
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("discover.mjs printed %q: %v", out, err)
	}
	if got.Error != nil {
		t.Fatalf("discovery failed: %s", got.Error.Message)
	}
	iss := st.Issuer.URL()
	if got.Status != 401 || got.Challenge.ResourceMetadataURL != st.BaseURL()+"/.well-known/oauth-protected-resource/mcp" ||
		got.ResourceMetadata.Resource != st.URL() || !slices.Equal(got.ResourceMetadata.AuthorizationServers, []string{iss}) ||
		strings.TrimSuffix(got.AuthorizationServerURL, "/") != iss || got.AuthorizationServerIssuer != iss {
		t.Errorf("discovery: %+v", got)
	}
}
