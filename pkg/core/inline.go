package core

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The inline path serves the hottest request, a tools/call POST on an
// established session, without go-sdk's per-message machinery. Profiles of
// go-sdk's Streamable HTTP handler show most of a trivial call's CPU spent
// decoding the same message several times (each decode allocating a 32 KiB
// buffer, hence heavy GC), in a goroutine per message and in SSE framing. The
// inline path decodes the envelope once, runs the same middleware chain and
// the same typed tool handler, and answers with a plain JSON response, which
// the Streamable HTTP transport allows for any POST.
//
// Everything else (initialize, lists, resources, prompts, notifications, GET
// streams, DELETE, batches, unknown sessions, calls that carry a progress
// token, tools that talk back to the client, tools that change things) goes
// to go-sdk untouched, so protocol handling stays go-sdk's. A call that is not
// eligible is handed over with its body intact.

type inlineKey struct{}

// ClientReachable reports whether the handler serving ctx can send requests
// or notifications to the client while the call runs (elicitation, progress).
// It is false on the inline path, where the response is a single JSON body.
func ClientReachable(ctx context.Context) bool { return ctx.Value(inlineKey{}) == nil }

// sessions tracks go-sdk's sessions by id so the inline path can find them,
// knows who owns each (the principal that initialized it) and closes sessions
// that have been idle too long, counting activity on both paths.
type sessions struct {
	mu      sync.RWMutex
	byID    map[string]*sessionEntry
	idle    time.Duration
	stop    chan struct{}
	done    chan struct{}
	stopped sync.Once
	limits  *sessionLimiter // nil: sessions are not limited
}

type sessionEntry struct {
	ss         *mcp.ServerSession
	owner      string
	version    string       // negotiated protocol version
	lastActive atomic.Int64 // unix nanoseconds
	adopted    bool         // holds a session limiter slot; under sessions.mu
}

func newSessions(idle time.Duration) *sessions {
	return &sessions{byID: map[string]*sessionEntry{}, idle: idle, stop: make(chan struct{}), done: make(chan struct{})}
}

// middleware registers each session when its initialize succeeds.
func (s *sessions) middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if method == "initialize" && err == nil {
			if ss, ok := req.GetSession().(*mcp.ServerSession); ok {
				owner := ""
				if extra := req.GetExtra(); extra != nil && extra.TokenInfo != nil {
					owner = extra.TokenInfo.UserID
				}
				if ir, ok := res.(*mcp.InitializeResult); ok {
					s.register(ss, owner, ir.ProtocolVersion)
				}
			}
		}
		return res, err
	}
}

// register records a session and forgets it when go-sdk closes it.
func (s *sessions) register(ss *mcp.ServerSession, owner, version string) {
	id := ss.ID()
	if id == "" {
		return // stateless: no session to come back to
	}
	e := &sessionEntry{ss: ss, owner: owner, version: version}
	e.lastActive.Store(time.Now().UnixNano())
	s.mu.Lock()
	s.byID[id] = e
	s.mu.Unlock()
	go func() {
		_ = ss.Wait()
		s.mu.Lock()
		delete(s.byID, id)
		adopted := e.adopted
		s.mu.Unlock()
		if adopted {
			s.limits.release(owner)
		}
	}()
}

func (s *sessions) get(id string) *sessionEntry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byID[id]
}

// touch records activity on a session from any request that names it, and
// returns the session (nil when unknown).
func (s *sessions) touch(id string) *sessionEntry {
	e := s.get(id)
	if e != nil {
		e.lastActive.Store(time.Now().UnixNano())
	}
	return e
}

// reap closes sessions idle longer than the timeout, every interval.
func (s *sessions) reap(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		cutoff := time.Now().Add(-s.idle).UnixNano()
		var idle []*mcp.ServerSession
		s.mu.RLock()
		for _, e := range s.byID {
			if e.lastActive.Load() < cutoff {
				idle = append(idle, e.ss)
			}
		}
		s.mu.RUnlock()
		for _, ss := range idle {
			_ = ss.Close() // go-sdk then answers 404 for the session id
		}
	}
}

func (s *sessions) start() {
	interval := min(s.idle/4, time.Minute)
	go s.reap(max(interval, 10*time.Millisecond))
}

func (s *sessions) close() {
	s.stopped.Do(func() { close(s.stop) })
	<-s.done
}

// touchSessions records session activity when the inline path is off.
func touchSessions(s *sessions, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("Mcp-Session-Id"); id != "" {
			s.touch(id)
		}
		next.ServeHTTP(w, r)
	})
}

// inlineHandler answers eligible tools/call POSTs itself and passes every
// other request to next (go-sdk's Streamable HTTP handler).
type inlineHandler struct {
	server   *Server
	sessions *sessions
	next     http.Handler
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// envelope is the part of a JSON-RPC request the inline path needs.
type envelope struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

func (h *inlineHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("Mcp-Session-Id")
	var sess *sessionEntry
	if id != "" {
		sess = h.sessions.touch(id)
	}
	if r.Method != http.MethodPost || id == "" || !acceptsJSON(r.Header.Values("Accept")) {
		h.next.ServeHTTP(w, r)
		return
	}
	if sess == nil || sess.owner != tokenUser(r) {
		// Unknown, closed or someone else's session: go-sdk refuses it.
		h.next.ServeHTTP(w, r)
		return
	}
	if v := r.Header.Get("Mcp-Protocol-Version"); v == "" || v != sess.version {
		h.next.ServeHTTP(w, r)
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if _, err := buf.ReadFrom(r.Body); err != nil {
		// Too large (MaxBytesReader) or a broken connection.
		http.Error(w, "reading request body: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	body := buf.Bytes()
	req, env, ok := h.parse(body, sess.ss, r)
	if !ok {
		r.Body = io.NopCloser(bytes.NewReader(bytes.Clone(body)))
		h.next.ServeHTTP(w, r)
		return
	}
	ctx := context.WithValue(r.Context(), inlineKey{}, true)
	res, err := h.server.inlineChain(ctx, "tools/call", req)
	out := bufPool.Get().(*bytes.Buffer)
	out.Reset()
	defer bufPool.Put(out)
	writeResponse(out, env.ID, res, err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}

// parse decides whether the body is an inline-eligible call and, if so,
// builds the request exactly as go-sdk would hand it to middleware.
func (h *inlineHandler) parse(body []byte, ss *mcp.ServerSession, r *http.Request) (*mcp.CallToolRequest, *envelope, bool) {
	if len(body) == 0 || body[0] != '{' {
		return nil, nil, false // batches and junk: go-sdk's error handling
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil || env.JSONRPC != "2.0" || env.Method != "tools/call" || len(env.ID) == 0 {
		return nil, nil, false
	}
	var params mcp.CallToolParamsRaw
	if err := json.Unmarshal(env.Params, &params); err != nil || params.RequestState != "" || params.InputResponses != nil {
		return nil, nil, false
	}
	if params.Meta != nil && params.Meta["progressToken"] != nil {
		return nil, nil, false // the client wants progress on a stream
	}
	td := h.server.inlineTools[params.Name]
	if td == nil {
		return nil, nil, false
	}
	return &mcp.CallToolRequest{
		Session: ss,
		Params:  &params,
		Extra:   &mcp.RequestExtra{TokenInfo: auth.TokenInfoFromContext(r.Context()), Header: r.Header},
	}, &env, true
}

func tokenUser(r *http.Request) string {
	if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
		return ti.UserID
	}
	return ""
}

func acceptsJSON(values []string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			if mt == "application/json" || mt == "*/*" || mt == "application/*" {
				return true
			}
		}
	}
	return false
}

func writeResponse(out *bytes.Buffer, id json.RawMessage, res mcp.Result, err error) {
	out.WriteString(`{"jsonrpc":"2.0","id":`)
	out.Write(id)
	if err == nil {
		data, merr := json.Marshal(res)
		if merr == nil {
			out.WriteString(`,"result":`)
			out.Write(data)
			out.WriteByte('}')
			return
		}
		err = merr
	}
	wire, ok := protocolError(err)
	if !ok {
		wire = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error()}
	}
	data, _ := json.Marshal(wire)
	out.WriteString(`,"error":`)
	out.Write(data)
	out.WriteByte('}')
}
