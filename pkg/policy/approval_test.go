package policy

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/pkg/policy/approval"
	"github.com/mcpfleet/mcpfleet/pkg/policy/internal/testenv"
)

const testHMACKey = "0123456789abcdef0123456789abcdef"

// planToken calls a tool that needs approval without a token and returns
// the token of the plan.
func planToken(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any) string {
	t.Helper()
	res := call(t, cs, tool, args)
	meta, _ := res.Meta[MetaKey].(map[string]any)
	tok, _ := meta[ConfirmationTokenArg].(string)
	if !res.IsError || meta["approval"] != "required" || tok == "" || !strings.Contains(text(res), "nothing was changed") ||
		!strings.Contains(text(res), tok) {
		t.Fatalf("plan: %s %v", text(res), res.Meta)
	}
	return tok
}

func withToken(args map[string]any, tok string) map[string]any {
	out := map[string]any{ConfirmationTokenArg: tok}
	for k, v := range args {
		out[k] = v
	}
	return out
}

// TestPlanConfirmStatelessHTTP runs two replicas in stateless HTTP mode
// with a shared key and Redis: a plan from one is confirmed on the other;
// replayed, expired, other-caller and changed-argument tokens are refused,
// and every step is audited.
func TestPlanConfirmStatelessHTTP(t *testing.T) {
	_, prefix := testenv.Redis(t)
	opts := serverOpts{
		apiKeys: []string{"admin-key", "admin2-key"},
		http:    `{addr: "127.0.0.1:0", stateless: true}`,
		policyYAML: "approval: {hmac_key: " + testHMACKey + "}\n" +
			"rate_limit: {backend: redis, redis_url: \"" + testenv.RedisURL + "\", key_prefix: \"" + prefix + "\"}\n",
	}
	a := startServer(t, opts)
	b := startServer(t, opts)
	admin := a.h.ConnectHTTP(t, coretest.BearerClient(apiKey("admin-key")))
	adminOnB := b.h.ConnectHTTP(t, coretest.BearerClient(apiKey("admin-key")))
	admin2 := a.h.ConnectHTTP(t, coretest.BearerClient(apiKey("admin2-key")))

	args := map[string]any{"id": "n1"}
	tok := planToken(t, admin, "delete_note", args)
	if _, deleted := a.notes.counts(); deleted != 0 {
		t.Fatal("the plan changed something")
	}
	// Other caller, changed arguments: refused, and the token stays good.
	res := call(t, admin2, "delete_note", withToken(args, tok))
	if !res.IsError || !strings.Contains(text(res), approval.ErrOtherCaller.Error()) {
		t.Fatalf("other caller: %s", text(res))
	}
	res = call(t, admin, "delete_note", withToken(map[string]any{"id": "n2"}, tok))
	if !res.IsError || !strings.Contains(text(res), approval.ErrArgsChanged.Error()) {
		t.Fatalf("changed arguments: %s", text(res))
	}
	res = call(t, admin, "read_note", withToken(args, tok))
	if !res.IsError || !strings.Contains(text(res), "unexpected additional properties") && !strings.Contains(text(res), "confirmation_token") {
		// A token on a tool that needs none is dropped; read_note runs.
		if res.IsError {
			t.Fatalf("read_note with a stray token: %s", text(res))
		}
	}
	// Confirmed on the other replica.
	res = call(t, adminOnB, "delete_note", withToken(args, tok))
	if res.IsError {
		t.Fatalf("confirm: %s", text(res))
	}
	if _, deleted := b.notes.counts(); deleted != 1 {
		t.Fatalf("confirmed call did not run")
	}
	// Replayed on either replica.
	for _, cs := range []*mcp.ClientSession{admin, adminOnB} {
		res = call(t, cs, "delete_note", withToken(args, tok))
		if !res.IsError || !strings.Contains(text(res), approval.ErrReplayed.Error()) {
			t.Fatalf("replay: %s", text(res))
		}
	}
	// Expired.
	tok2 := planToken(t, admin, "delete_note", args)
	b.enf.signer.SetClock(func() time.Time { return time.Now().Add(10 * time.Minute) })
	res = call(t, adminOnB, "delete_note", withToken(args, tok2))
	if !res.IsError || !strings.Contains(text(res), approval.ErrExpired.Error()) {
		t.Fatalf("expired: %s", text(res))
	}
	if _, deleted := a.notes.counts(); deleted != 0 {
		t.Fatal("a refused confirmation ran on replica a")
	}
	if _, deleted := b.notes.counts(); deleted != 1 {
		t.Fatal("a refused confirmation ran on replica b")
	}

	recsA := a.records(t, 6)
	wantA := []struct{ approval, outcome string }{
		{"required", OutcomeApprovalRequired}, {"refused", OutcomeApprovalRefused}, {"refused", OutcomeApprovalRefused},
		{"", OutcomeOK}, {"refused", OutcomeApprovalRefused}, {"required", OutcomeApprovalRequired},
	}
	for i, w := range wantA {
		if recsA[i].Approval != w.approval || recsA[i].Outcome != w.outcome {
			t.Errorf("replica a record %d: approval=%q outcome=%q, want %+v", i, recsA[i].Approval, recsA[i].Outcome, w)
		}
	}
	if recsA[1].Principal != "api_key:admin2-key" || recsA[0].Principal != "api_key:admin-key" {
		t.Errorf("principals: %s %s", recsA[0].Principal, recsA[1].Principal)
	}
	recsB := b.records(t, 3)
	if recsB[0].Approval != "confirmed" || recsB[0].Outcome != OutcomeOK || recsB[2].Outcome != OutcomeApprovalRefused {
		t.Errorf("replica b: %+v", recsB)
	}
	// The digest of the confirmed call's arguments matches the plan's: the
	// token is not part of the arguments.
	if recsB[0].ArgsDigest != recsA[0].ArgsDigest {
		t.Error("the confirmation token changed the audited argument digest")
	}

	// Readiness shows the policy hash.
	resp, err := http.Get(a.h.BaseURL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ready struct {
		Checks map[string]struct {
			Status string         `json:"status"`
			Detail map[string]any `json:"detail"`
		} `json:"checks"`
	}
	json.NewDecoder(resp.Body).Decode(&ready)
	if c := ready.Checks["policy"]; c.Status != "ok" || c.Detail["hash"] != a.enf.Document().Hash() || c.Detail["version"] != float64(1) {
		t.Errorf("readyz: %+v", ready)
	}
}

// TestElicitation: a client that supports elicitation is asked; accept
// runs the call, decline refuses it, and both are audited. Clients on the
// current protocol get the question in an input-required result (no
// server-to-client request, so it works statelessly); older clients get an
// elicitation request during the call.
func TestElicitation(t *testing.T) {
	s := startServer(t, serverOpts{subject: "ada", groups: []string{"admins"}})
	answer := "accept"
	var asked []string
	opts := &mcp.ClientOptions{ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
		asked = append(asked, req.Params.Message)
		if answer == "accept" {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"approve": true}}, nil
		}
		return &mcp.ElicitResult{Action: answer}, nil
	}}
	legacy := connectVersion(t, s, opts, "2025-06-18")
	for _, c := range []struct {
		name string
		cs   *mcp.ClientSession
		recs []struct{ approval, outcome string }
	}{
		{"input request", s.h.Connect(t, opts), []struct{ approval, outcome string }{
			{"requested", OutcomeApprovalRequired}, {"elicited", OutcomeOK}, {"requested", OutcomeApprovalRequired}, {"declined", OutcomeApprovalDeclined}}},
		{"direct request", legacy, []struct{ approval, outcome string }{
			{"elicited", OutcomeOK}, {"declined", OutcomeApprovalDeclined}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(readRecords(t, s.audit))
			_, deleted0 := s.notes.counts()
			asked = nil
			answer = "accept"
			res := call(t, c.cs, "delete_note", map[string]any{"id": "n1"})
			if res.IsError || len(asked) != 1 || !strings.Contains(asked[0], "delete_note") || !strings.Contains(asked[0], `"id":"n1"`) {
				t.Fatalf("accepted: %s (asked %q)", text(res), asked)
			}
			answer = "decline"
			res = call(t, c.cs, "delete_note", map[string]any{"id": "n2"})
			if !res.IsError || !strings.Contains(text(res), "did not approve") {
				t.Fatalf("declined: %s", text(res))
			}
			if _, deleted := s.notes.counts(); deleted != deleted0+1 {
				t.Fatalf("%d deletions", deleted-deleted0)
			}
			recs := s.records(t, before+len(c.recs))[before:]
			for i, w := range c.recs {
				if recs[i].Approval != w.approval || recs[i].Outcome != w.outcome {
					t.Errorf("record %d: approval=%q outcome=%q, want %+v", i, recs[i].Approval, recs[i].Outcome, w)
				}
			}
		})
	}

	// Without elicitation support the same server returns a plan.
	plain := s.h.Connect(t, nil)
	tok := planToken(t, plain, "delete_note", map[string]any{"id": "n3"})
	if res := call(t, plain, "delete_note", withToken(map[string]any{"id": "n3"}, tok)); res.IsError {
		t.Fatalf("confirm: %s", text(res))
	}
}

// connectVersion opens an in-memory session on a given protocol version.
func connectVersion(t *testing.T, s *testServer, opts *mcp.ClientOptions, version string) *mcp.ClientSession {
	t.Helper()
	ct, st := mcp.NewInMemoryTransports()
	ctx := context.Background()
	if _, err := s.h.Server.MCP.Connect(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "legacy", Version: "1"}, opts).Connect(ctx, ct, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	if got := cs.InitializeResult().ProtocolVersion; got != version {
		t.Fatalf("negotiated %s", got)
	}
	return cs
}
