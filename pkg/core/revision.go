package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Protocol revisions core serves on one endpoint. Revision 2026-07-28 has no
// initialize and no sessions: every request carries its protocol version and
// client capabilities in params._meta (and the version in the
// MCP-Protocol-Version header too). go-sdk serves it only on a stateless
// handler, so a stateful server runs a stateless handler beside its
// session-keeping one and picks per request.
const (
	// ProtocolSessionless is the first revision without sessions.
	ProtocolSessionless = "2026-07-28"
	// ProtocolStateful is the newest revision with initialize and sessions.
	ProtocolStateful = "2025-11-25"
)

// revisionRouter sends each request to the handler for its protocol
// revision: sessionless requests (2026-07-28 and later) to a stateless
// go-sdk handler, everything else to the configured stateful one. Both wrap
// the same *mcp.Server, so tools, middleware and policy are shared.
type revisionRouter struct {
	stateful  http.Handler
	stateless http.Handler
}

func (h *revisionRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch rt, id := route(r); rt {
	case toStateless:
		h.stateless.ServeHTTP(w, r)
	case toNeedsSession:
		// go-sdk would open a session for the request and answer it with
		// the invalid JSON-RPC code 0 ("invalid during session
		// initialization") and HTTP 200; the spec (2025-11-25, Session
		// Management) says a server that requires a session SHOULD answer
		// such a request with 400 Bad Request.
		writeNeedsSession(w, id)
	default:
		h.stateful.ServeHTTP(w, r)
	}
}

type routeTo int

const (
	toStateful routeTo = iota
	toStateless
	toNeedsSession
)

// route decides which handler serves r. A sessionless revision (2026-07-28
// and later) named by the header goes to the stateless handler. Otherwise a
// POST without a session id is peeked at: one that carries a per-request
// protocol version in _meta (and no header), or asks server/discover, is
// sessionless, and the stateless handler answers it, including with the
// header-mismatch error the revision prescribes; an initialize opens a
// session; any other method needs a session it does not have. The body is
// restored for whichever handler serves it. id is the request's id, for
// the needs-session answer.
func route(r *http.Request) (routeTo, json.RawMessage) {
	v := r.Header.Get("Mcp-Protocol-Version")
	if v != "" && v >= ProtocolSessionless {
		return toStateless, nil
	}
	if r.Method != http.MethodPost || r.Header.Get("Mcp-Session-Id") != "" || r.Body == nil {
		return toStateful, nil
	}
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
	if err != nil {
		return toStateful, nil // the stateful handler reports the read error (413 or 400)
	}
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Meta map[string]json.RawMessage `json:"_meta"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &msg) != nil {
		return toStateful, nil // batches and junk: the stateful handler's errors
	}
	_, hasVersion := msg.Params.Meta[mcp.MetaKeyProtocolVersion]
	switch {
	case v == "" && (hasVersion || msg.Method == "server/discover"):
		return toStateless, nil
	case msg.Method == "" || msg.Method == "initialize":
		return toStateful, nil
	}
	return toNeedsSession, msg.ID
}

// writeNeedsSession answers a request that needs a session and has none:
// 400 with an invalid-request error saying how to get one.
func writeNeedsSession(w http.ResponseWriter, id json.RawMessage) {
	if len(id) == 0 || id[0] == '{' || id[0] == '[' {
		id = json.RawMessage("null") // none, or not a valid id to echo
	}
	body, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{JSONRPC: "2.0", ID: id, Error: struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{Code: -32600, Message: "Bad Request: this request needs a session: send initialize first and then the Mcp-Session-Id header it returns (protocol " + ProtocolStateful + "), or speak protocol " + ProtocolSessionless + ", which has no sessions"}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(body)
}

// errReader replays a read error after the bytes that were read before it,
// so a handler sees a too-large body exactly as it would have.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err == nil {
		return 0, io.EOF
	}
	return 0, e.err
}

// taskHeaders enforces the routing header of the tasks methods: tasks/get,
// tasks/update and tasks/cancel name their task in Mcp-Name, which must
// match params.taskId (go-sdk checks Mcp-Name only for the methods it
// knows). A mismatch is a 400 with a HeaderMismatch (-32020) error.
func taskHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.Header.Get("Mcp-Method")
		if r.Method != http.MethodPost || (method != "tasks/get" && method != "tasks/update" && method != "tasks/cancel") ||
			r.Header.Get("Mcp-Protocol-Version") < ProtocolSessionless {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				TaskID *string `json:"taskId"`
			} `json:"params"`
		}
		if json.Unmarshal(body, &msg) != nil || msg.Method != method || msg.Params.TaskID == nil {
			next.ServeHTTP(w, r) // go-sdk reports these
			return
		}
		name := strings.TrimSpace(r.Header.Get("Mcp-Name"))
		if name == *msg.Params.TaskID {
			next.ServeHTTP(w, r)
			return
		}
		problem := "missing required Mcp-Name header for method " + method
		if name != "" {
			problem = "header mismatch: Mcp-Name header value does not match params.taskId"
		}
		id := msg.ID
		if len(id) == 0 {
			id = json.RawMessage("null")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":%q}}`, id, mcp.CodeHeaderMismatch, problem)
	})
}
