package core

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	segjson "github.com/segmentio/encoding/json"

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
//     request on a session this server keeps, whose client cannot be called
//     back (it declared no roots, sampling or elicitation), that set no log
//     level and asked for no progress: so nothing but the result can be
//     sent while the call runs, on either path;
//   - Content-Type, Accept and protocol headers go-sdk accepts, no
//     Last-Event-ID, and under 2026-07-28 Mcp-Method and Mcp-Name that match
//     the body;
//   - one JSON-RPC call of tools/call, decoded by go-sdk's own decoder, with
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
}

func newDirectPath(srv *Server, next http.Handler, stateful, jsonResponse bool, events mcp.EventStore) *directPath {
	return &directPath{srv: srv, next: next, stateful: stateful, jsonResponse: jsonResponse, events: events,
		sessionless: newSessionlessSessions(srv.MCP), serverMeta: serverMetaMember(srv.impl)}
}

// callParams is tools/call's params as go-sdk decodes them: these keys and
// no others (an unknown key might be a field go-sdk knows and core does not).
type callParams struct {
	Meta           map[string]any  `json:"_meta,omitempty"`
	Name           string          `json:"name"`
	Arguments      json.RawMessage `json:"arguments,omitempty"`
	RequestState   string          `json:"requestState,omitempty"`
	InputResponses json.RawMessage `json:"inputResponses,omitempty"`
}

var knownCallKeys = map[string]bool{"_meta": true, "name": true, "arguments": true}

func (d *directPath) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	version := r.Header.Get("Mcp-Protocol-Version")
	sessionID := r.Header.Get("Mcp-Session-Id")
	sessionless := version == ProtocolSessionless
	var entry *sessionEntry
	switch {
	case r.Method != http.MethodPost || r.Body == nil || len(r.Header.Values("Last-Event-ID")) > 0:
	case sessionless:
	case d.stateful && sessionID != "" && version == ProtocolStateful:
		entry = d.srv.sessions.get(sessionID)
	}
	if (!sessionless && entry == nil) || !headersAccepted(r) {
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

// headersAccepted reports whether go-sdk's handlers accept the request's
// Content-Type and Accept headers (the same tests they make).
func headersAccepted(r *http.Request) bool {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/json" {
		return false
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
	hasName, hasMeta := false, false
	if !objectKeys(req.Params, func(k string, v []byte) bool {
		switch k {
		case "name":
			hasName = len(v) > 0 && v[0] == '"'
			return true
		case "arguments":
			return true
		case "_meta":
			hasMeta = true
			// Decoders disagree on which of two equal keys wins.
			return v[0] != '{' || objectKeys(v, func(string, []byte) bool { return true })
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
	if hasMeta && p.Meta == nil {
		return nil, nil, false // "_meta": null
	}
	if _, ok := p.Meta["progressToken"]; ok {
		return nil, nil, false // progress goes on go-sdk's stream
	}
	if entry != nil {
		if len(p.Meta) > 0 || !entry.quiet() || entry.version != ProtocolStateful || (entry.owner != "" && entry.owner != tokenUser(r)) {
			return nil, nil, false
		}
	} else {
		if r.Header.Get("Mcp-Method") != "tools/call" || r.Header.Get("Mcp-Name") != p.Name {
			return nil, nil, false
		}
		if v, ok := p.Meta[mcp.MetaKeyProtocolVersion].(string); !ok || v != ProtocolSessionless {
			return nil, nil, false
		}
		if _, ok := p.Meta[mcp.MetaKeyLogLevel]; ok {
			return nil, nil, false
		}
	}
	return req, &mcp.CallToolParamsRaw{Meta: mcp.Meta(p.Meta), Name: p.Name, Arguments: p.Arguments}, true
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

// fulfillInputRequests asks the client of a session what a tool's
// input-required result asks, as go-sdk's multi-round-trip middleware does
// (in key order, so that the first failure reported is always the same).
func fulfillInputRequests(ctx context.Context, ss *mcp.ServerSession, requests mcp.InputRequestMap) (mcp.InputResponseMap, error) {
	responses := make(mcp.InputResponseMap, len(requests))
	for _, id := range slices.Sorted(maps.Keys(requests)) {
		var resp mcp.InputResponse
		var err error
		switch p := requests[id].(type) {
		case *mcp.ElicitParams:
			resp, err = ss.Elicit(ctx, p)
		case *mcp.CreateMessageWithToolsParams:
			resp, err = ss.CreateMessageWithTools(ctx, p)
		case *mcp.ListRootsParams:
			resp, err = ss.ListRoots(ctx, p)
		default:
			err = fmt.Errorf("unknown input request type: %T", p)
		}
		if err != nil {
			return nil, fmt.Errorf("multi-round-trip: %w", fmt.Errorf("fulfilling input request %q: %w", id, err))
		}
		responses[id] = resp
	}
	return responses, nil
}

// wireMessage is a JSON-RPC message as go-sdk's decoder reads it.
type wireMessage struct {
	VersionTag string          `json:"jsonrpc"`
	ID         any             `json:"id,omitempty"`
	Method     json.RawMessage `json:"method"`
	Params     json.RawMessage `json:"params,omitempty"`
}

// maxDepth is go-sdk's limit on the nesting of a message.
const maxDepth = 1000

// decodeCall decodes a request as go-sdk's jsonrpc.DecodeMessage does (the
// same decoder, flags and id rules) without its 32 KiB read buffer, which
// profiles showed as three quarters of the bytes a call allocates. ok is
// false for anything that is not a request go-sdk would decode.
func decodeCall(body []byte) (*jsonrpc.Request, bool) {
	if tooDeep(body, maxDepth) {
		return nil, false
	}
	if req, ok := decodePlainCall(body); ok {
		return req, true
	}
	return decodeCallGeneral(body)
}

// decodeCallGeneral is decodeCall with go-sdk's decoder.
func decodeCallGeneral(body []byte) (*jsonrpc.Request, bool) {
	var msg wireMessage
	if _, err := segjson.Parse(body, &msg, segjson.DontMatchCaseInsensitiveStructFields); err != nil {
		return nil, false
	}
	if msg.VersionTag != "2.0" || len(msg.Method) == 0 {
		return nil, false
	}
	id, err := jsonrpc.MakeID(msg.ID)
	if err != nil {
		return nil, false
	}
	var method string
	if _, err := segjson.Parse(msg.Method, &method, segjson.DontMatchCaseInsensitiveStructFields); err != nil {
		return nil, false
	}
	return &jsonrpc.Request{ID: id, Method: method, Params: msg.Params}, true
}

// decodePlainCall reads the usual request (the four keys once each, in
// any order, "2.0", an integer id of at most 15 digits or a string id and
// a method without escapes) straight from the bytes; for anything else it
// says no and decodeCall uses go-sdk's decoder. The two agree on every
// request this one reads (TestPlainCallDecoding).
func decodePlainCall(body []byte) (*jsonrpc.Request, bool) {
	var req jsonrpc.Request
	var version, id, method []byte
	if !objectKeys(body, func(k string, v []byte) bool {
		switch k {
		case "jsonrpc":
			version = v
		case "id":
			id = v
		case "method":
			method = v
		case "params":
			req.Params = v
		default:
			return false
		}
		return true
	}) || string(version) != `"2.0"` || len(id) == 0 || !plainString(method) {
		return nil, false
	}
	req.Method = string(method[1 : len(method)-1])
	switch {
	case plainString(id):
		req.ID, _ = jsonrpc.MakeID(string(id[1 : len(id)-1]))
	case plainInt(id):
		n, err := strconv.ParseInt(string(id), 10, 64)
		if err != nil {
			return nil, false
		}
		req.ID, _ = jsonrpc.MakeID(float64(n))
	default:
		return nil, false
	}
	return &req, true
}

// plainString reports whether v is a JSON string of printable ASCII
// without escapes (whose decoded text is its bytes, whatever a decoder
// does with escapes or invalid UTF-8).
func plainString(v []byte) bool {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return false
	}
	for _, c := range v[1 : len(v)-1] {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// plainInt reports whether v is an integer of at most 15 digits (exact in
// a float64, as go-sdk decodes ids), without a leading zero.
func plainInt(v []byte) bool {
	d := v
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 15 || (d[0] == '0' && len(d) > 1) {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// tooDeep reports whether JSON nests objects and arrays deeper than max.
func tooDeep(data []byte, max int) bool {
	depth, inString, escaped := 0, false, false
	for _, b := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch b {
		case '"':
			inString = true
		case '{', '[':
			if depth++; depth > max {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

// objectKeys calls fn with each key and raw value of a well-formed JSON
// object (ParseGuard has checked the body), in order; it returns false as
// soon as fn does, or when a key repeats or is escaped (a form decoders
// may read differently).
func objectKeys(obj []byte, fn func(key string, val []byte) bool) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	var seen [8]string
	keys := seen[:0]
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return true
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return false
		}
		end := i + 1
		for end < len(obj) && obj[end] != '"' {
			if obj[end] == '\\' {
				return false
			}
			end++
		}
		if end >= len(obj) {
			return false
		}
		key := string(obj[i+1 : end])
		if slices.Contains(keys, key) {
			return false
		}
		keys = append(keys, key)
		i = skipSpace(obj, end+1)
		if i >= len(obj) || obj[i] != ':' {
			return false
		}
		i = skipSpace(obj, i+1)
		vend := skipValue(obj, i)
		if vend <= i || !fn(key, obj[i:vend]) {
			return false
		}
		i = skipSpace(obj, vend)
		if i >= len(obj) {
			return false
		}
		if obj[i] == '}' {
			return true
		}
		if obj[i] != ',' {
			return false
		}
		i = skipSpace(obj, i+1)
	}
	return false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value at b[i].
func skipValue(b []byte, i int) int {
	depth, inString, escaped := 0, false, false
	for j := i; j < len(b); j++ {
		c := b[j]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
				if depth == 0 {
					return j + 1
				}
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return j // the end of the enclosing object
			}
			if depth--; depth == 0 {
				return j + 1
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return j
			}
		}
	}
	return len(b)
}

// serveOnSession answers a 2025-11-25 call on a session as go-sdk's
// stateful handler would: an SSE stream (with the event store's priming
// event and event ids, so a client can resume it) or one JSON body.
func (d *directPath) serveOnSession(w http.ResponseWriter, r *http.Request, req *jsonrpc.Request, params *mcp.CallToolParamsRaw, entry *sessionEntry, sessionID string) {
	key := idKey(req.ID)
	// The call outlives its HTTP request, as on go-sdk's path (the result
	// then waits in the event store); the client cancels it with
	// notifications/cancelled, and closing the session cancels it too.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	if !entry.begin(key, cancel) {
		writeRPCError(w, http.StatusBadRequest, req.ID, &jsonrpc.Error{
			Code:    jsonrpc.CodeInvalidRequest,
			Message: fmt.Sprintf("duplicate in-flight request ID %v", req.ID.Raw()),
		})
		return
	}
	defer entry.end(key)
	entry.lastActive.Store(d.srv.sessions.now().UnixNano())

	w.Header().Set("Cache-Control", "no-cache, no-transform")
	var streamID string
	finish := func() {} // after it, only this goroutine writes to w
	useStore := !d.jsonResponse && d.events != nil
	if d.jsonResponse {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Connection", "keep-alive")
		if useStore {
			streamID = rand.Text()
			if err := d.events.Open(ctx, sessionID, streamID); err != nil {
				http.Error(w, fmt.Sprintf("storing stream: %v", err), http.StatusInternalServerError)
				return
			}
			_ = d.events.Append(ctx, sessionID, streamID, nil)
			writeSSE(w, "prime", streamID+"_0", nil)
			// The priming event gives the client an id to resume from
			// should the stream break while the call runs; a call done
			// sooner sends it with its result in one write.
			var mu sync.Mutex
			done := false
			t := time.AfterFunc(primeFlushDelay, func() {
				mu.Lock()
				defer mu.Unlock()
				if !done {
					_ = http.NewResponseController(w).Flush()
				}
			})
			finish = func() {
				mu.Lock()
				done = true
				mu.Unlock()
				t.Stop()
			}
		}
	}
	creq := &mcp.CallToolRequest{Session: entry.ss, Params: params, Extra: &mcp.RequestExtra{
		TokenInfo:      auth.TokenInfoFromContext(r.Context()),
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
		writeSSE(w, "message", streamID+"_1", data)
	default:
		writeSSE(w, "message", "", data)
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
	ctx := context.WithValue(r.Context(), httpRequestKey{}, r.Context())
	w.Header().Set("Cache-Control", "no-cache, no-transform")
	if d.jsonResponse {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Connection", "keep-alive")
	}
	creq := &mcp.CallToolRequest{Session: ss, Params: params, Extra: &mcp.RequestExtra{
		TokenInfo:      auth.TokenInfoFromContext(r.Context()),
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
	writeSSE(w, "message", "", data)
}

// errorStatus is the HTTP status 2026-07-28 gives a protocol error in
// place of 200 (go-sdk's mapping).
func errorStatus(err error) int {
	var wire *jsonrpc.Error
	if err == nil || !errors.As(err, &wire) {
		return 0
	}
	switch wire.Code {
	case jsonrpc.CodeMethodNotFound:
		return http.StatusNotFound
	case jsonrpc.CodeInvalidParams, mcp.CodeUnsupportedProtocolVersion, mcp.CodeMissingRequiredClientCapabilities:
		return http.StatusBadRequest
	}
	return 0
}

// callOutcome is what the chain returned for a call.
type callOutcome struct {
	res *mcp.CallToolResult
	err error
}

func callResult(res mcp.Result, err error) callOutcome {
	if err != nil {
		return callOutcome{err: err}
	}
	r, _ := res.(*mcp.CallToolResult)
	return callOutcome{res: r}
}

// encodeResponse encodes a call's outcome as go-sdk's JSON-RPC layer does
// (no HTML escaping). Under 2026-07-28 a result also carries its
// resultType and the server's identity in _meta.
func encodeResponse(id jsonrpc.ID, out callOutcome, sessionless bool, impl *mcp.Implementation, serverMeta []byte) []byte {
	if out.err == nil {
		if !sessionless {
			serverMeta = nil
		}
		if data := plainResponse(id, out.res, serverMeta); data != nil {
			return data
		}
	}
	return generalResponse(id, out, sessionless, impl)
}

// generalResponse encodes any outcome with go-sdk's encoders.
func generalResponse(id jsonrpc.ID, out callOutcome, sessionless bool, impl *mcp.Implementation) []byte {
	resp := &jsonrpc.Response{ID: id}
	if out.err != nil {
		resp.Error = out.err
	} else {
		raw, merr := encodeResult(out.res, sessionless, impl)
		if merr != nil {
			resp.Error = merr
		} else {
			resp.Result = raw
		}
	}
	data, err := jsonrpc.EncodeMessage(resp)
	if err != nil {
		data, _ = jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error()}})
	}
	return data
}

func encodeResult(res *mcp.CallToolResult, sessionless bool, impl *mcp.Implementation) (json.RawMessage, error) {
	if res == nil {
		return json.RawMessage("null"), nil
	}
	inputRequests := res.InputRequests
	inputRequired := inputRequests != nil
	if sessionless {
		r2 := *res
		m := mcp.Meta{}
		for k, v := range res.Meta {
			m[k] = v
		}
		if _, ok := m[mcp.MetaKeyServerInfo]; !ok && impl != nil {
			m[mcp.MetaKeyServerInfo] = impl
		}
		r2.Meta = m
		r2.InputRequests = nil
		res = &r2
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return nil, err
	}
	raw := bytes.TrimRight(buf.Bytes(), "\n")
	if !sessionless || len(raw) < 2 || raw[len(raw)-1] != '}' {
		return raw, nil
	}
	// go-sdk marks a result of the sessionless revision with its type,
	// after the result's own fields and before its input requests; the
	// field is not settable from outside go-sdk, so the same bytes are
	// written here.
	out := append(bytes.Clone(raw[:len(raw)-1]), `,"resultType":"complete"}`...)
	if inputRequired {
		out = append(out[:len(raw)-1], `,"resultType":"input_required","inputRequests":`...)
		buf.Reset() // raw is not used after this
		if err := enc.Encode(inputRequests); err != nil {
			return nil, err
		}
		out = append(append(out, bytes.TrimRight(buf.Bytes(), "\n")...), '}')
	}
	return out, nil
}

func writeSSE(w http.ResponseWriter, event, id string, data []byte) {
	// Pieces straight into the response's buffer. No flush: the prime
	// event is flushed on a timer, and the handler returns right after the
	// result, which sends it with the end of the response in one write.
	_, _ = io.WriteString(w, "event: ")
	_, _ = io.WriteString(w, event)
	if id != "" {
		_, _ = io.WriteString(w, "\nid: ")
		_, _ = io.WriteString(w, id)
	}
	_, _ = io.WriteString(w, "\ndata: ")
	_, _ = w.Write(data)
	_, _ = io.WriteString(w, "\n\n")
}

// primeFlushDelay is how long a call may run before its priming event is
// sent on its own.
const primeFlushDelay = 5 * time.Millisecond

func writeRPCError(w http.ResponseWriter, status int, id jsonrpc.ID, e *jsonrpc.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if data, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: e}); err == nil {
		_, _ = w.Write(data)
	}
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

// sessionlessInitializeParams decodes the client's capabilities and
// identity as go-sdk does for a sessionless request.
func sessionlessInitializeParams(capsRaw, infoRaw []byte) (*mcp.InitializeParams, bool) {
	var caps struct {
		mcp.ClientCapabilities
		Roots *mcp.RootCapabilities `json:"roots,omitempty"`
	}
	if segjson.Unmarshal(capsRaw, &caps) != nil || !bytes.HasPrefix(capsRaw, []byte("{")) {
		return nil, false
	}
	c := caps.ClientCapabilities
	c.RootsV2 = caps.Roots
	if c.RootsV2 != nil {
		c.Roots = *c.RootsV2
	}
	ip := &mcp.InitializeParams{ProtocolVersion: ProtocolSessionless, Capabilities: &c}
	if infoRaw != nil {
		var impl mcp.Implementation
		if segjson.Unmarshal(infoRaw, &impl) != nil || !bytes.HasPrefix(infoRaw, []byte("{")) {
			return nil, false
		}
		ip.ClientInfo = &impl
	}
	return ip, true
}
