package core

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// InputRequired is what a tool returns (as its error) when it cannot finish
// without answers from the client: the user (elicitation), the client's
// model (sampling) or its roots. The call ends with an input-required
// result; the client asks, then calls again with the answers
// ([Call.InputResponses]) and State ([Call.RequestState]).
//
// This works on every revision and transport without the tool saying so in
// advance: a 2026-07-28 client receives the input-required result, and for
// clients on earlier revisions go-sdk asks them mid-call on their session and
// calls the tool again with the answers. Nothing is kept on the server
// between rounds, so the retry may land on any replica.
type InputRequired struct {
	// Requests are the questions, keyed by names the tool chooses.
	Requests mcp.InputRequestMap
	// State is handed back unchanged on the retry. core signs it, so the
	// tool can trust what comes back; a client that alters it gets an
	// invalid-params error.
	State string
}

func (e *InputRequired) Error() string {
	keys := make([]string, 0, len(e.Requests))
	for k := range e.Requests {
		keys = append(keys, k)
	}
	return "input required: " + strings.Join(keys, ", ")
}

// InputResponses returns the client's answers to the questions of an
// earlier [InputRequired], keyed as asked; nil on a first call.
func (c *Call) InputResponses() mcp.InputResponseMap {
	if c == nil || c.Request == nil || c.Request.Params == nil {
		return nil
	}
	return c.Request.Params.InputResponses
}

// RequestState returns the State of the [InputRequired] this call answers,
// verified; "" on a first call.
func (c *Call) RequestState() string {
	if c == nil {
		return ""
	}
	return c.state
}

// ClientCapabilities returns what the client declared: per request under
// 2026-07-28, at initialize before. Never nil.
func (c *Call) ClientCapabilities() *mcp.ClientCapabilities {
	if c != nil && c.Request != nil && c.Request.Session != nil {
		if caps := c.Request.ClientCapabilities(); caps != nil {
			return caps
		}
	}
	return &mcp.ClientCapabilities{}
}

// CodeMissingClientCapability is the JSON-RPC error for a request that needs
// a client capability the client did not declare (2026-07-28).
const CodeMissingClientCapability int64 = -32021

// RequireCapability returns the protocol error a tool returns when it needs
// a client capability (e.g. "sampling") that the client did not declare.
func RequireCapability(name string) error {
	return &jsonrpc.Error{
		Code:    CodeMissingClientCapability,
		Message: fmt.Sprintf("this request needs the client capability %q, which the client did not declare", name),
		Data:    []byte(fmt.Sprintf(`{"requiredCapabilities":{%q:{}}}`, name)),
	}
}

// stateSigner protects request state round-tripped through the client.
type stateSigner struct{ key []byte }

// RequestStateKey is the HMAC key core signs request state with. Servers
// behind a load balancer must give every replica the same key
// (http.request_state_key, or one provided into the fx graph); without one
// each process draws its own.
type RequestStateKey []byte

func newStateSigner(key RequestStateKey) *stateSigner {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	return &stateSigner{key: key}
}

func (s *stateSigner) mac(tool, state string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(tool))
	m.Write([]byte{0})
	m.Write([]byte(state))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// statePrefix marks request state core signed. Other layers (the policy's
// approval tokens) put their own state in the same field; a tool only ever
// sees state core signed for it.
const statePrefix = "mcpfleet1."

// sign binds state to the tool it belongs to.
func (s *stateSigner) sign(tool, state string) string {
	return statePrefix + s.mac(tool, state) + "." + state
}

// open verifies signed state and returns what the tool signed: "" for
// state core did not sign (the tool never sees it), an error for state
// that claims core's signature but fails it.
func (s *stateSigner) open(tool, signed string) (string, error) {
	rest, ours := strings.CutPrefix(signed, statePrefix)
	if !ours {
		return "", nil
	}
	mac, state, ok := strings.Cut(rest, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(s.mac(tool, state))) {
		return "", &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "requestState failed its integrity check; call the tool again without inputResponses"}
	}
	return state, nil
}
