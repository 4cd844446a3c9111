package clients_test

import (
	"encoding/json"
	"testing"

	"github.com/mcpfleet/mcpfleet/tests/internal/fixturetest"
)

// inspector runs the MCP Inspector CLI (pinned in package-lock.json) and
// decodes the JSON it prints.
func inspector(t *testing.T, into any, args ...string) {
	t.Helper()
	requireClients(t)
	out := runNode(t, nil, "npx", append([]string{"--no-install", "mcp-inspector", "--cli"}, args...)...)
	if err := json.Unmarshal(out, into); err != nil {
		t.Fatalf("mcp-inspector printed %q: %v", out, err)
	}
}

type toolList struct {
	Tools []struct {
		Name string `json:"name"`
	} `json:"tools"`
}

func TestInspectorOverStdio(t *testing.T) {
	t.Parallel()
	requireClients(t)
	bin := fixtureBinary(t)

	var tools toolList
	inspector(t, &tools, bin, "--transport", "stdio", "--method", "tools/list")
	if len(tools.Tools) != conformanceTools {
		t.Errorf("tools/list over stdio: %d tools, want the %d conformance tools: %+v", len(tools.Tools), conformanceTools, tools)
	}

	var call toolResult
	inspector(t, &call, bin, "--method", "tools/call", "--tool-name", "json_schema_2020_12_tool",
		"--tool-arg", "name=Ada", "email=ada@example.com")
	if call.IsError || call.StructuredContent["via"] != "email" || call.StructuredContent["at"] != "ada@example.com" {
		t.Errorf("tools/call over stdio: %+v", call)
	}

	var bad toolResult
	inspector(t, &bad, bin, "--method", "tools/call", "--tool-name", "json_schema_2020_12_tool", "--tool-arg", "name=Ada")
	if !bad.IsError {
		t.Errorf("a call without phone or email succeeded: %+v", bad)
	}

	var prompt struct {
		Messages []struct {
			Content struct{ Text string } `json:"content"`
		} `json:"messages"`
	}
	inspector(t, &prompt, bin, "--method", "prompts/get", "--prompt-name", "test_prompt_with_arguments", "--prompt-args", "arg1=a", "arg2=b")
	if len(prompt.Messages) != 1 || prompt.Messages[0].Content.Text != "Prompt with arguments: arg1='a', arg2='b'" {
		t.Errorf("prompts/get over stdio: %+v", prompt)
	}
}

func TestInspectorOverHTTP(t *testing.T) {
	t.Parallel()
	requireClients(t)
	st := fixturetest.Start(t, fixturetest.Options{})
	auth := "Authorization: Bearer " + st.Token("inspector")

	var tools toolList
	inspector(t, &tools, st.URL(), "--transport", "http", "--header", auth, "--method", "tools/list")
	if len(tools.Tools) != fixtureTools {
		t.Errorf("tools/list over HTTP: %d tools, want %d", len(tools.Tools), fixtureTools)
	}
	var res struct {
		Contents []struct {
			MIMEType string `json:"mimeType"`
			Blob     string `json:"blob"`
		} `json:"contents"`
	}
	inspector(t, &res, st.URL(), "--transport", "http", "--header", auth, "--method", "resources/read", "--uri", "test://static-binary")
	if len(res.Contents) != 1 || res.Contents[0].MIMEType != "image/png" || res.Contents[0].Blob == "" {
		t.Errorf("resources/read over HTTP: %+v", res)
	}
}
