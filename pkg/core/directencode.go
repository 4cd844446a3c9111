package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// plainResponse writes the response to a call with a numeric id whose
// result is what nearly every tool returns (one plain text block, its
// structured content, maybe isError) byte for byte as go-sdk's encoders
// would, without their reflection: go-sdk marshals the result with
// json.Marshal (HTML-escaped) and the envelope with an encoder that does
// not escape again. It returns nil for any other shape, which
// encodeResponse then encodes the general way; TestPlainResponseBytes holds
// the two to the same bytes. serverMeta is the `"_meta":{...}` member of a
// sessionless result (nil on a session).
func plainResponse(id jsonrpc.ID, res *mcp.CallToolResult, serverMeta []byte) []byte {
	n, isInt := id.Raw().(int64)
	if !isInt || res == nil || res.Meta != nil || len(res.Content) != 1 || res.InputRequests != nil || res.RequestState != "" {
		return nil
	}
	tc, ok := res.Content[0].(*mcp.TextContent)
	if !ok || tc.Meta != nil || tc.Annotations != nil {
		return nil
	}
	var sc json.RawMessage
	switch v := res.StructuredContent.(type) {
	case nil:
	case json.RawMessage:
		if v == nil {
			return nil
		}
		sc = v
	default:
		return nil
	}
	text, err := json.Marshal(tc.Text)
	if err != nil {
		return nil
	}
	b := bytes.NewBuffer(make([]byte, 0, 96+len(text)+len(sc)+len(serverMeta)))
	b.WriteString(`{"jsonrpc":"2.0","id":`)
	b.Write(strconv.AppendInt(b.AvailableBuffer(), n, 10))
	b.WriteString(`,"result":{`)
	if serverMeta != nil {
		b.Write(serverMeta)
		b.WriteByte(',')
	}
	b.WriteString(`"content":[{"type":"text","text":`)
	b.Write(text)
	b.WriteString(`}]`)
	if sc != nil {
		b.WriteString(`,"structuredContent":`)
		// Compacted in place; escaped as go-sdk's encoder does only when
		// there is something to escape.
		start := b.Len()
		if json.Compact(b, sc) != nil {
			return nil
		}
		if compact := b.Bytes()[start:]; needsHTMLEscape(compact) {
			compact = bytes.Clone(compact)
			b.Truncate(start)
			json.HTMLEscape(b, compact)
		}
	}
	if res.IsError {
		b.WriteString(`,"isError":true`)
	}
	if serverMeta != nil {
		b.WriteString(`,"resultType":"complete"`)
	}
	b.WriteString(`}}`)
	return b.Bytes()
}

// needsHTMLEscape reports whether json.HTMLEscape would change b: whether it
// holds <, >, & or U+2028 or U+2029.
func needsHTMLEscape(b []byte) bool {
	return bytes.ContainsAny(b, "<>&\u2028\u2029")
}

// serverMetaMember is the `"_meta"` member go-sdk adds to every result of
// the sessionless revision: the server's identity.
func serverMetaMember(impl *mcp.Implementation) []byte {
	data, err := json.Marshal(mcp.Meta{mcp.MetaKeyServerInfo: impl})
	if err != nil {
		return nil
	}
	return append([]byte(`"_meta":`), data...)
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

func writeSSE(w http.ResponseWriter, event, stream, index string, data []byte) {
	// Pieces straight into the response's buffer. No flush: the prime
	// event is flushed on a timer, and the handler returns right after the
	// result, which sends it with the end of the response in one write.
	_, _ = io.WriteString(w, "event: ")
	_, _ = io.WriteString(w, event)
	if stream != "" {
		// The event id, <stream>_<index> as go-sdk writes it, in pieces.
		_, _ = io.WriteString(w, "\nid: ")
		_, _ = io.WriteString(w, stream)
		_, _ = io.WriteString(w, "_")
		_, _ = io.WriteString(w, index)
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
