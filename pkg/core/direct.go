package core

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	segjson "github.com/segmentio/encoding/json"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/httpserver"
)

// The direct path answers the hottest request, a tools/call whose whole
// answer is its one result message, without go-sdk's per-message
// machinery. Profiles of go-sdk's Streamable HTTP handler put most of a
// trivial call's CPU in decoding the same message about ten times (each
// decode allocating a 32 KiB buffer), in a temporary session per
// sessionless request and in a goroutine per message.
//
// It must answer exactly as go-sdk would (TestDifferentialCorpus sends the
// same corpus to servers with the path on and off and fails on any
// difference), so it takes only requests whose every part it can decide
// the way go-sdk does, and hands everything else to go-sdk untouched:
//
//   - a 2026-07-28 request (stateless by definition), or a 2025-11-25
//     request on a session this server keeps, whose client declared
//     neither sampling nor elicitation, that set no log level and asked for
//     no progress: so nothing but the result can be sent while the call
//     runs, on either path (docs/architecture.md names the one exception:
//     a tool asking for roots);
//   - Content-Type, Accept and protocol headers go-sdk accepts, no
//     Last-Event-ID, and under 2026-07-28 Mcp-Method and Mcp-Name that match
//     the body;
//   - one JSON-RPC call of tools/call, decoded as go-sdk's decoder does, with
//     params whose keys go-sdk knows, naming a registered tool that does
//     not run as a task and maps no argument to a header, carrying no
//     request state or input responses (an input-required retry);
//   - under 2026-07-28, a _meta with the protocol version (the header's)
//     and valid client capabilities, and no log level or progress token.
//
// Such a call runs through the same middleware chain (policy, audit,
// tracing, metrics) and the same tool handler as on go-sdk's path, and its
// response is framed as go-sdk frames it (SSE or JSON, the event store's
// priming event and ids, resultType and serverInfo under 2026-07-28, HTTP
// status for protocol errors). Cancellation reaches it: a 2026-07-28 call
// ends with its HTTP request, a 2025-11-25 call with the client's
// notifications/cancelled or the end of its session.

// directPath serves eligible tools/call requests and passes every other
// request to next.
type directPath struct {
	srv          *Server
	next         http.Handler
	stateful     bool
	jsonResponse bool           // the configured response format
	events       mcp.EventStore // the stateful handler's store; nil for none
	sessionless  *sessionlessSessions
	serverMeta   []byte // serverMetaMember of the server, for sessionless results
	// primeFlushes keeps primeFlushes whose timers were stopped before
	// they fired, so that a call does not allocate a timer and its
	// closure: almost every call ends within primeFlushDelay.
	primeFlushes sync.Pool
}

func newDirectPath(srv *Server, next http.Handler, stateful, jsonResponse bool, events mcp.EventStore) *directPath {
	return &directPath{srv: srv, next: next, stateful: stateful, jsonResponse: jsonResponse, events: events,
		sessionless: newSessionlessSessions(srv.MCP), serverMeta: serverMetaMember(srv.impl)}
}

// callParams is tools/call's params as go-sdk decodes them: these keys and
// no others (an unknown key might be a field go-sdk knows and core does
// not). _meta is read apart, by decodeMeta.
type callParams struct {
	Name           string          `json:"name"`
	Arguments      json.RawMessage `json:"arguments,omitempty"`
	RequestState   string          `json:"requestState,omitempty"`
	InputResponses json.RawMessage `json:"inputResponses,omitempty"`
}

func (d *directPath) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	version := r.Header.Get("Mcp-Protocol-Version")
	sessionID := r.Header.Get("Mcp-Session-Id")
	sessionless := version == ProtocolSessionless
	// Only a POST carries a call; go-sdk refuses a POST with Last-Event-ID.
	post := r.Method == http.MethodPost && r.Body != nil && len(r.Header.Values("Last-Event-ID")) == 0
	if r.Method == http.MethodGet && d.stateful && sessionID != "" && d.events != nil {
		d.awaitResumedStream(r, sessionID)
		d.next.ServeHTTP(w, r)
		return
	}
	var entry *sessionEntry
	if post && !sessionless && d.stateful && sessionID != "" && version == ProtocolStateful {
		entry = d.srv.sessions.get(sessionID)
	}
	if !post || (!sessionless && entry == nil) || !headersAccepted(r) {
		d.next.ServeHTTP(w, r)
		return
	}
	body, ok := httpserver.CheckedBody(r)
	if !ok {
		var err error
		body, err = io.ReadAll(r.Body)
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
		if err != nil {
			d.next.ServeHTTP(w, r)
			return
		}
	}
	if entry != nil {
		if cancelled := cancelledRequest(body); cancelled != "" {
			// A client cancelling a call it sent on this session: the call
			// may be ours. go-sdk still gets the notification (and answers
			// 202), as it would without this path.
			entry.cancel(cancelled)
			d.next.ServeHTTP(w, r)
			return
		}
	}
	req, params, ok := d.eligible(r, body, entry)
	if !ok {
		d.next.ServeHTTP(w, r)
		return
	}
	d.srv.directCalls.Add(1)
	if sessionless {
		d.serveSessionless(w, r, req, params)
	} else {
		d.serveOnSession(w, r, req, params, entry, sessionID)
	}
}

// awaitResumedStream holds a GET that resumes (Last-Event-ID) the stream of
// a direct-path call still running until the call's result is in the event
// store: on go-sdk's path the GET would take over the stream and get the
// result as it is written. Only the session's owner waits; go-sdk refuses
// anyone else.
func (d *directPath) awaitResumedStream(r *http.Request, sessionID string) {
	// go-sdk's own test of an event id (exactly one "_", then an index):
	// it refuses any other at once, and so must this wait.
	stream, index, ok := strings.Cut(r.Header.Get("Last-Event-ID"), "_")
	if n, err := strconv.Atoi(index); !ok || stream == "" || strings.Contains(index, "_") || err != nil || n < 0 {
		return
	}
	entry := d.srv.sessions.get(sessionID)
	if entry == nil || (entry.owner != "" && entry.owner != tokenUser(r)) {
		return
	}
	entry.awaitStream(r.Context(), stream)
}

// headersAccepted reports whether go-sdk's handlers accept the request's
// Content-Type and Accept headers (the same tests they make).
func headersAccepted(r *http.Request) bool {
	// The usual value needs no parsing (ParseMediaType allocates).
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return false
		}
	}
	var jsonOK, streamOK bool
	for _, value := range r.Header.Values("Accept") {
		for raw := range strings.SplitSeq(value, ",") {
			base, _, _ := strings.Cut(strings.TrimSpace(raw), ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				streamOK = true
			case "*/*":
				jsonOK, streamOK = true, true
			}
		}
	}
	return jsonOK && streamOK
}

// cancelledRequest returns the request id a notifications/cancelled body
// names (as canonical JSON), or "".
func cancelledRequest(body []byte) string {
	if !bytes.Contains(body, []byte(`"notifications/cancelled"`)) {
		return ""
	}
	var msg struct {
		Method string `json:"method"`
		Params struct {
			RequestID json.RawMessage `json:"requestId"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Method != "notifications/cancelled" || len(msg.Params.RequestID) == 0 {
		return ""
	}
	id, err := jsonrpc.MakeID(rawIDValue(msg.Params.RequestID))
	if err != nil || !id.IsValid() {
		return ""
	}
	return idKey(id)
}

func rawIDValue(raw json.RawMessage) any {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	return v
}

// idKey names a request id in the in-flight set (ids of the two kinds
// never collide).
func idKey(id jsonrpc.ID) string {
	switch v := id.Raw().(type) {
	case int64:
		return "i" + strconv.FormatInt(v, 10)
	case string:
		return "s" + v
	}
	return fmt.Sprint(id.Raw())
}

// eligible decodes the body and decides whether the direct path may serve
// it; when it may, it returns the call as go-sdk would hand it to the
// middleware (its session filled in by the caller).
func (d *directPath) eligible(r *http.Request, body []byte, entry *sessionEntry) (*jsonrpc.Request, *mcp.CallToolParamsRaw, bool) {
	if len(body) == 0 || body[0] != '{' || !bytes.Contains(body, []byte(`"tools/call"`)) {
		return nil, nil, false
	}
	req, ok := decodeCall(body)
	if !ok || req.Method != "tools/call" || !req.IsCall() || len(req.Params) == 0 || req.Params[0] != '{' {
		return nil, nil, false
	}
	hasName := false
	var meta map[string]any
	if !objectKeys(req.Params, func(k, v []byte) bool {
		switch string(k) {
		case "name":
			hasName = len(v) > 0 && v[0] == '"'
			return true
		case "arguments":
			return true
		case "_meta":
			// null, any other non-object and the forms decoders read
			// differently (repeated keys) go to go-sdk.
			var ok bool
			meta, ok = decodeMeta(v)
			return ok
		}
		return false // a key go-sdk may know and core does not
	}) || !hasName {
		return nil, nil, false
	}
	var p callParams
	if _, err := segjson.Parse(req.Params, &p, segjson.DontMatchCaseInsensitiveStructFields); err != nil {
		return nil, nil, false
	}
	td := d.srv.tools[p.Name]
	if td == nil || td.spec.Task != TaskNever || d.srv.headerParams[p.Name] {
		return nil, nil, false
	}
	if _, ok := meta["progressToken"]; ok {
		return nil, nil, false // progress goes on go-sdk's stream
	}
	if entry != nil {
		if len(meta) > 0 || !entry.quiet() || entry.version != ProtocolStateful || (entry.owner != "" && entry.owner != tokenUser(r)) {
			return nil, nil, false
		}
	} else {
		if r.Header.Get("Mcp-Method") != "tools/call" || r.Header.Get("Mcp-Name") != p.Name {
			return nil, nil, false
		}
		if v, ok := meta[mcp.MetaKeyProtocolVersion].(string); !ok || v != ProtocolSessionless {
			return nil, nil, false
		}
		if _, ok := meta[metaKeyLogLevel]; ok {
			return nil, nil, false
		}
	}
	return req, &mcp.CallToolParamsRaw{Meta: mcp.Meta(meta), Name: p.Name, Arguments: p.Arguments}, true
}

// callTool ends the direct path's chain with what go-sdk does for a
// tools/call inside its middleware: its own callTool (unknown tools,
// results of the sessionless revision, content never null) and, for
// clients that take no input-required results, its multi-round-trip
// middleware, which asks the client itself and calls the tool again.
func (s *Server) callTool(ctx context.Context, _ string, req mcp.Request) (mcp.Result, error) {
	creq := req.(*mcp.CallToolRequest)
	h, ok := s.handlers[creq.Params.Name]
	if !ok {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown tool %q", creq.Params.Name)}
	}
	sessionless := true
	if ip := creq.Session.InitializeParams(); ip != nil {
		sessionless = ip.ProtocolVersion >= ProtocolSessionless
	}
	res, err := h(ctx, creq)
	if err != nil || res == nil {
		return res, err
	}
	if res.InputRequests != nil && (len(res.Content) > 0 || res.StructuredContent != nil) {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "server bug: result has both content and inputRequests"}
	}
	if res.Content == nil && !(sessionless && res.InputRequests != nil) {
		r2 := *res
		r2.Content = []mcp.Content{}
		res = &r2
	}
	if sessionless || res.InputRequests == nil {
		return res, nil
	}
	if len(res.InputRequests) == 0 {
		return nil, errors.New("the server is busy, retry later")
	}
	responses, err := fulfillInputRequests(ctx, creq.Session, res.InputRequests)
	if err != nil {
		return nil, err
	}
	retry := *creq
	params := *creq.Params
	params.InputResponses, params.RequestState = responses, res.RequestState
	retry.Params = &params
	return s.callTool(ctx, "tools/call", &retry)
}

// serveOnSession answers a 2025-11-25 call on a session as go-sdk's
// stateful handler would: an SSE stream (with the event store's priming
// event and event ids, so a client can resume it) or one JSON body.
func (d *directPath) serveOnSession(w http.ResponseWriter, r *http.Request, req *jsonrpc.Request, params *mcp.CallToolParamsRaw, entry *sessionEntry, sessionID string) {
	key := idKey(req.ID)
	// The call outlives its HTTP request, as on go-sdk's path (the result
	// then waits in the event store); the client cancels it with
	// notifications/cancelled, and closing the session cancels it too.
	ctx, cancel := d.srv.callContext(context.WithoutCancel(r.Context()), params.Name)
	defer cancel()
	useStore := !d.jsonResponse && d.events != nil
	var streamID string
	if useStore {
		streamID = rand.Text()
	}
	if !entry.begin(key, directCall{cancel: cancel, stream: streamID}) {
		writeRPCError(w, http.StatusBadRequest, req.ID, &jsonrpc.Error{
			Code:    jsonrpc.CodeInvalidRequest,
			Message: fmt.Sprintf("duplicate in-flight request ID %v", req.ID.Raw()),
		})
		return
	}
	defer entry.end(key)
	entry.lastActive.Store(d.srv.sessions.now().UnixNano())

	w.Header().Set("Cache-Control", "no-cache, no-transform")
	finish := func() {} // after it, only this goroutine writes to w
	if d.jsonResponse {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Connection", "keep-alive")
		if useStore {
			if err := d.events.Open(ctx, sessionID, streamID); err != nil {
				http.Error(w, fmt.Sprintf("storing stream: %v", err), http.StatusInternalServerError)
				return
			}
			_ = d.events.Append(ctx, sessionID, streamID, nil)
			writeSSE(w, "prime", streamID, "0", nil)
			// The priming event gives the client an id to resume from
			// should the stream break while the call runs; a call done
			// sooner sends it with its result in one write.
			pf := d.startPrimeFlush(w)
			finish = pf.finish
		}
	}
	creq := &mcp.CallToolRequest{Session: entry.ss, Params: params, Extra: &mcp.RequestExtra{
		TokenInfo:      authn.TokenInfo(r.Context()),
		Header:         r.Header,
		CloseSSEStream: func(mcp.CloseSSEStreamArgs) {},
	}}
	data := encodeResponse(req.ID, callResult(d.srv.direct(ctx, "tools/call", creq)), false, nil, nil)
	finish()
	switch {
	case d.jsonResponse:
		_, _ = w.Write(data)
	case useStore:
		_ = d.events.Append(ctx, sessionID, streamID, data)
		writeSSE(w, "message", streamID, "1", data)
	default:
		writeSSE(w, "message", "", "", data)
	}
}

// primeFlush sends a long call's priming event on its own.
type primeFlush struct {
	w     http.ResponseWriter
	timer *time.Timer
	pool  *sync.Pool // where finish returns it
	mu    sync.Mutex
	done  bool // the handler writes to w again
}

// startPrimeFlush arms a primeFlush for w.
func (d *directPath) startPrimeFlush(w http.ResponseWriter) *primeFlush {
	if p, ok := d.primeFlushes.Get().(*primeFlush); ok {
		p.w, p.done = w, false
		p.timer.Reset(primeFlushDelay)
		return p
	}
	p := &primeFlush{w: w, pool: &d.primeFlushes}
	p.timer = time.AfterFunc(primeFlushDelay, p.flush)
	return p
}

func (p *primeFlush) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done {
		_ = http.NewResponseController(p.w).Flush()
	}
}

// finish stops the timer; after it, only the handler writes to w. The
// primeFlush is reused only when its timer had not fired: one that fired
// may still be running flush.
func (p *primeFlush) finish() {
	p.mu.Lock()
	p.done = true
	p.w = nil
	p.mu.Unlock()
	if p.timer.Stop() {
		p.pool.Put(p)
	}
}

// serveSessionless answers a 2026-07-28 call as go-sdk's stateless
// handler would. The call ends with its HTTP request.
func (d *directPath) serveSessionless(w http.ResponseWriter, r *http.Request, req *jsonrpc.Request, params *mcp.CallToolParamsRaw) {
	ss, release, ok := d.sessionless.get(params.Meta)
	if !ok {
		d.next.ServeHTTP(w, r) // the body is still whole: go-sdk reports the _meta
		return
	}
	defer release()
	ctx, cancel := d.srv.callContext(context.WithValue(r.Context(), httpRequestKey{}, r.Context()), params.Name)
	defer cancel()
	w.Header().Set("Cache-Control", "no-cache, no-transform")
	if d.jsonResponse {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Connection", "keep-alive")
	}
	creq := &mcp.CallToolRequest{Session: ss, Params: params, Extra: &mcp.RequestExtra{
		TokenInfo:      authn.TokenInfo(r.Context()),
		Header:         r.Header,
		CloseSSEStream: func(mcp.CloseSSEStreamArgs) {}, // deprecated in 2026-07-28: go-sdk ignores it too
	}}
	out := callResult(d.srv.direct(ctx, "tools/call", creq))
	data := encodeResponse(req.ID, out, true, d.srv.impl, d.serverMeta)
	if status := errorStatus(out.err); status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(data)
		return
	}
	if d.jsonResponse {
		_, _ = w.Write(data)
		return
	}
	writeSSE(w, "message", "", "", data)
}

// sessionlessSessions keeps one go-sdk session per distinct client (its
// capabilities and clientInfo from _meta) for 2026-07-28 calls on the
// direct path. go-sdk makes a temporary session per sessionless request;
// what a handler can see of one (no id, the client's InitializeParams, no
// way to call the client back) is the same for every request of a client,
// so one session serves them all.
type sessionlessSessions struct {
	server *mcp.Server
	mu     sync.Mutex
	byKey  map[string]*mcp.ServerSession
}

// maxSessionlessSessions bounds the sessions kept; a request from a client
// past the bound gets a session of its own, closed after it.
const maxSessionlessSessions = 256

func newSessionlessSessions(server *mcp.Server) *sessionlessSessions {
	return &sessionlessSessions{server: server, byKey: map[string]*mcp.ServerSession{}}
}

// get returns the session for a call's _meta; ok is false when the _meta
// is not valid (go-sdk then answers the request).
func (s *sessionlessSessions) get(meta mcp.Meta) (ss *mcp.ServerSession, release func(), ok bool) {
	caps, hasCaps := meta[mcp.MetaKeyClientCapabilities]
	info, hasInfo := meta[mcp.MetaKeyClientInfo]
	if !hasCaps || caps == nil || (hasInfo && info == nil) {
		return nil, nil, false
	}
	capsRaw, err := json.Marshal(caps)
	if err != nil {
		return nil, nil, false
	}
	var infoRaw []byte
	if hasInfo {
		if infoRaw, err = json.Marshal(info); err != nil {
			return nil, nil, false
		}
	}
	key := string(capsRaw) + "\x00" + string(infoRaw)
	s.mu.Lock()
	ss = s.byKey[key]
	s.mu.Unlock()
	if ss != nil {
		return ss, func() {}, true
	}
	ip, ok := sessionlessInitializeParams(capsRaw, infoRaw)
	if !ok {
		return nil, nil, false
	}
	t := &mcp.StreamableServerTransport{Stateless: true}
	ss, err = s.server.Connect(context.Background(), t, // not the request's: the session outlives it
		&mcp.ServerSessionOptions{State: &mcp.ServerSessionState{InitializeParams: ip}})
	if err != nil {
		return nil, nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev := s.byKey[key]; prev != nil {
		_ = ss.Close()
		return prev, func() {}, true
	}
	if len(s.byKey) >= maxSessionlessSessions {
		return ss, func() { _ = ss.Close() }, true
	}
	s.byKey[key] = ss
	return ss, func() {}, true
}
