package httpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// CodeParseError is JSON-RPC's "Parse error".
const CodeParseError = -32700

// ParseGuard refuses a POST body that is not exactly one well-formed JSON
// value in valid UTF-8: invalid UTF-8 (which a lenient decoder would
// store as U+FFFD) and data after the JSON value (which a streaming
// decoder would ignore) are answered 400 with a JSON-RPC parse error
// (-32700) before the body reaches any handler. It wraps the whole MCP
// endpoint, so no handler behind it (go-sdk's, or any future fast path)
// sees such a body and answers it its own way. The body must already be
// bounded (Guard's limit).
func ParseGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		body, err := readBody(r)
		_ = r.Body.Close()
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				writeRPCError(w, http.StatusRequestEntityTooLarge, -32600, "request body exceeds the limit")
				return
			}
			writeRPCError(w, http.StatusBadRequest, CodeParseError, "parse error: the request body could not be read")
			return
		}
		if msg := checkJSON(body); msg != "" {
			writeRPCError(w, http.StatusBadRequest, CodeParseError, "parse error: "+msg)
			return
		}
		rb := &readBackBody{body: body}
		rb.Reset(body)
		r.Body = rb
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// readBody reads the whole body in one allocation when its length is
// announced (the usual case), so the check costs a scan, not a copy chain.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength <= 0 {
		return io.ReadAll(r.Body)
	}
	body := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(r.Body, body); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("the body is shorter than its Content-Length")
		}
		return nil, err
	}
	// Reading on to the end lets net/http see the body is done, so it
	// does not copy out "the rest" before reusing the connection.
	var probe [1]byte
	_, _ = r.Body.Read(probe[:])
	return body, nil
}

// readBackBody hands the checked bytes to the next handler (one
// allocation: a reader that closes).
type readBackBody struct {
	bytes.Reader
	body []byte
}

func (*readBackBody) Close() error { return nil }

// CheckedBody returns the body ParseGuard checked when r still carries it
// unread, so a handler behind can look at it without copying it (and
// without having to put it back).
func CheckedBody(r *http.Request) ([]byte, bool) {
	rb, ok := r.Body.(*readBackBody)
	if !ok || rb.Len() != len(rb.body) {
		return nil, false
	}
	return rb.body, true
}

// checkJSON says what is wrong with body, or "".
func checkJSON(body []byte) string {
	if !utf8.Valid(body) {
		i := 0
		for i < len(body) {
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		return "invalid UTF-8 at byte " + strconv.Itoa(i)
	}
	if json.Valid(body) {
		return ""
	}
	// Say whether the value itself is broken or something follows it.
	dec := json.NewDecoder(bytes.NewReader(body))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return "the body is not valid JSON"
	}
	return "data after the JSON value at byte " + strconv.FormatInt(dec.InputOffset(), 10)
}

func writeRPCError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"jsonrpc": "2.0",
		"id":      nil,
		"error":   map[string]any{"code": code, "message": msg},
	})
}
