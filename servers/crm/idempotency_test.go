package crm_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/servers/crm"
	"github.com/mcpfleet/mcpfleet/servers/crm/internal/testdb"
)

const aliceKey, bobKey = "mcpk_alice_crm_0123456789", "mcpk_bob_crm_0123456789"

// TestIdempotencyKeysArePerPrincipal: the same key and arguments from
// another principal create that principal's own record instead of
// replaying the first principal's, and a conflict names only the caller's
// own record, on SQLite and PostgreSQL.
func TestIdempotencyKeysArePerPrincipal(t *testing.T) {
	for _, driver := range testdb.Drivers {
		t.Run(driver, func(t *testing.T) {
			yaml := driverYAML(t, driver) + fmt.Sprintf(`transport: http
http: {addr: "127.0.0.1:0"}
auth:
  api_keys:
    - {id: alice, sha256: %s}
    - {id: bob, sha256: %s}
`, authn.HashAPIKey(aliceKey), authn.HashAPIKey(bobKey))
			h := coretest.Start(t, coretest.Options{YAML: yaml, Modules: []fx.Option{crm.Module}})
			alice := h.ConnectHTTP(t, coretest.BearerClient(aliceKey))
			bob := h.ConnectHTTP(t, coretest.BearerClient(bobKey))
			create := func(cs *mcp.ClientSession, email string) (*mcp.CallToolResult, created) {
				t.Helper()
				res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "create_contact", Arguments: map[string]any{
					"first_name": "Ada", "last_name": "Lovelace", "email": email, "idempotency_key": "import-42"}})
				if err != nil {
					t.Fatal(err)
				}
				var out crm.WriteOut[crm.ContactView]
				if !res.IsError {
					b, _ := json.Marshal(res.StructuredContent)
					if err := json.Unmarshal(b, &out); err != nil {
						t.Fatal(err)
					}
				}
				return res, created{ID: out.Record.ID, Replayed: out.Replayed}
			}
			_, a1 := create(alice, "ada@alice.example")
			_, a2 := create(alice, "ada@alice.example")
			if a1.ID == 0 || a2.ID != a1.ID || !a2.Replayed {
				t.Fatalf("alice's retry: %+v then %+v", a1, a2)
			}
			_, b1 := create(bob, "ada@alice.example")
			if b1.ID == 0 || b1.ID == a1.ID || b1.Replayed {
				t.Fatalf("bob's call with alice's key and arguments: %+v (alice's record is %d)", b1, a1.ID)
			}
			res, _ := create(bob, "someone@else.example")
			msg := text(res)
			if !res.IsError || !strings.Contains(msg, "conflict") || strings.Contains(msg, fmt.Sprintf("contact %d", a1.ID)) {
				t.Fatalf("bob's conflict: %s (alice's record %d, bob's %d)", msg, a1.ID, b1.ID)
			}
			if !strings.Contains(msg, fmt.Sprint(b1.ID)) {
				t.Errorf("bob's conflict does not name bob's own record %d: %s", b1.ID, msg)
			}
		})
	}
}

type created struct {
	ID       int64
	Replayed bool
}
