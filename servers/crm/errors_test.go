package crm_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// TestErrorsFirstUser covers the CRM errors a first user hit: each is
// reported once, bounded, with a valid JSON-RPC code where it is a
// protocol error, and says what to do next.
func TestErrorsFirstUser(t *testing.T) {
	s := startServer(t, store.SQLite, "  load_demo_data: true\n")
	ctx := context.Background()

	t.Run("bad currency reported once", func(t *testing.T) {
		msg := callErr(t, s, "create_deal", obj{"name": "X", "amount": 10, "currency": "usd"}, "currency")
		if n := strings.Count(msg, "ISO 4217"); n != 1 {
			t.Errorf("currency error appears %d times: %q", n, msg)
		}
	})

	t.Run("null in contact_ids", func(t *testing.T) {
		msg := callErr(t, s, "create_deal", obj{"name": "X", "contact_ids": []any{nil}}, "contact_ids[]: got null, want integer")
		if strings.Contains(msg, "reflect") {
			t.Errorf("Go internals in the message: %q", msg)
		}
	})

	t.Run("huge values are quoted short", func(t *testing.T) {
		huge := strings.Repeat("9", 1_000_000)
		for _, args := range []obj{
			{"name": "X", "close_date": huge},
			{"name": "X", "currency": huge},
			{"name": strings.Repeat("n", 1_000_000)},
		} {
			res := s.raw(t, "create_deal", args)
			if got := text(res); !res.IsError || len(got) > 400 {
				t.Errorf("%d-byte error: %.200q", len(got), got)
			}
		}
	})

	var wire *jsonrpc.Error
	t.Run("prompt for a missing company", func(t *testing.T) {
		_, err := s.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "account_brief", Arguments: map[string]string{"company_id": "999999"}})
		if !errors.As(err, &wire) || wire.Code != jsonrpc.CodeInvalidParams || !strings.Contains(wire.Message, "search_records") {
			t.Errorf("missing company: %v", err)
		}
		_, err = s.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "account_brief", Arguments: map[string]string{"company_id": strings.Repeat("x", 100_000)}})
		if !errors.As(err, &wire) || wire.Code != jsonrpc.CodeInvalidParams || len(wire.Message) > core.MaxErrorBytes {
			t.Errorf("bad company id: %.300v", err)
		}
	})

	t.Run("resource with a non-numeric id", func(t *testing.T) {
		_, err := s.cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "crm://deals/abc"})
		if !errors.As(err, &wire) || wire.Code != jsonrpc.CodeInvalidParams ||
			!strings.Contains(wire.Message, "positive number") || !strings.Contains(wire.Message, "search_records with type deals") {
			t.Errorf("crm://deals/abc: %v", err)
		}
		_, err = s.cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "crm://deals/999999"})
		if !errors.As(err, &wire) || wire.Code != jsonrpc.CodeInvalidParams || !strings.Contains(wire.Message, "no deal 999999") {
			t.Errorf("crm://deals/999999: %v", err)
		}
	})
}
