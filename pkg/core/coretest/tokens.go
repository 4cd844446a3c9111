package coretest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ToolListSize is what a tools/list answer costs, in JSON bytes. Tokens are
// estimated as bytes / 4, the usual rule of thumb for English and JSON with
// cl100k/o200k-style tokenizers.
type ToolListSize struct {
	// Tools is the number of tools listed.
	Tools int
	// Model is what a host puts in the model's context on every turn: each
	// tool's name, description and input schema (the tool formats of
	// Claude and OpenAI carry no output schema).
	Model int
	// Wire is the whole tools/list result, annotations and output schemas
	// included.
	Wire int
	// OutputSchemas counts the tools listed with an output schema.
	OutputSchemas int
	// Names are the tools listed.
	Names []string
}

// ModelTokens estimates the model-facing tokens.
func (s ToolListSize) ModelTokens() int { return s.Model / 4 }

// WireTokens estimates the tokens of the whole message.
func (s ToolListSize) WireTokens() int { return s.Wire / 4 }

// MeasureToolList lists the tools of cs and measures the answer, for the
// token-budget test every server has.
func MeasureToolList(t testing.TB, cs *mcp.ClientSession) ToolListSize {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	sz := ToolListSize{Tools: len(res.Tools), Wire: len(wire)}
	for _, tool := range res.Tools {
		b, _ := json.Marshal(struct {
			Name        string `json:"name"`
			Description string `json:"description"`
			InputSchema any    `json:"input_schema"`
		}{tool.Name, tool.Description, tool.InputSchema})
		sz.Model += len(b)
		sz.Names = append(sz.Names, tool.Name)
		if tool.OutputSchema != nil {
			sz.OutputSchemas++
		}
	}
	return sz
}
