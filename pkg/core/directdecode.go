package core

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	segjson "github.com/segmentio/encoding/json"
)

// Reading a request for the direct path: as go-sdk's decoder reads it, or
// not at all.

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
	if !objectKeys(body, func(k, v []byte) bool {
		switch string(k) {
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

// decodeMeta reads a _meta object as go-sdk's decoder does (the same
// values, reflect.DeepEqual), or reports false for a form it leaves to
// that decoder: not an object, a repeated or escaped key, a key that is
// not UTF-8. go-sdk's decoder gives every object it reads into an any a
// map sized for 64 entries, about 2.6 KB; a 2026-07-28 request's _meta
// holds two or three objects of a few keys each, and those maps were
// about 5 KB of the 12 KB such a call allocated.
func decodeMeta(v []byte) (map[string]any, bool) {
	m := map[string]any{}
	ok := objectKeys(v, func(k, val []byte) bool {
		if !utf8.Valid(k) {
			return false
		}
		var x any
		if val[0] == '{' {
			sub, ok := decodeMeta(val)
			if !ok {
				return false
			}
			x = sub
		} else if _, err := segjson.Parse(val, &x, segjson.DontMatchCaseInsensitiveStructFields); err != nil {
			return false
		}
		m[string(k)] = x
		return true
	})
	return m, ok
}

// objectKeys calls fn with each key and raw value of a well-formed JSON
// object (ParseGuard has checked the body), in order; it returns false as
// soon as fn does, or when a key repeats or is escaped (a form decoders
// may read differently).
func objectKeys(obj []byte, fn func(key, val []byte) bool) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	var seen [8][]byte
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
		key := obj[i+1 : end]
		for _, k := range keys {
			if bytes.Equal(k, key) {
				return false
			}
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
