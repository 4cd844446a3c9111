// Package canon produces the canonical JSON form of tool arguments: object
// members sorted by key, no insignificant whitespace, numbers and strings
// exactly as written. Two argument objects that differ only in member
// order or layout get the same bytes, so their digests can bind a
// confirmation token or identify a call in the audit log.
//
// It is a small hand-written pass over the bytes rather than a decode to
// map[string]any and back, because the audit log digests every call's
// arguments.
package canon

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// maxDepth bounds nesting, as encoding/json does.
const maxDepth = 10000

// JSON returns the canonical form of raw. Every string value (not object
// keys) is passed through transform when it is not nil, as its JSON
// content between the quotes; the result must stay valid JSON string
// content (the redactor's masks do). Empty input and null are the empty
// object.
func JSON(raw []byte, transform func(string) string) ([]byte, error) {
	raw = TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return []byte("{}"), nil
	}
	if !json.Valid(raw) {
		// encoding/json's message says what is wrong and where.
		var v any
		err := json.Unmarshal(raw, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, fmt.Errorf("arguments are not valid JSON: %w", err)
	}
	c := canonicalizer{in: raw, transform: transform}
	out, err := c.value(make([]byte, 0, len(raw)), 0)
	if err != nil {
		return nil, err
	}
	c.skipSpace()
	if c.pos != len(c.in) {
		return nil, errors.New("arguments hold more than one JSON value")
	}
	return out, nil
}

// TrimSpace trims JSON whitespace (space, tab, CR, LF), and only that:
// bytes.TrimSpace would also take away characters that make input invalid.
func TrimSpace(b []byte) []byte {
	return bytes.Trim(b, " \t\r\n")
}

// Digest is "sha256:" followed by the hex SHA-256 of the canonical form.
func Digest(raw []byte, transform func(string) string) (string, error) {
	c, err := JSON(raw, transform)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	var buf [len("sha256:") + 2*sha256.Size]byte
	n := copy(buf[:], "sha256:")
	hex.Encode(buf[n:], sum[:])
	return string(buf[:]), nil
}

// canonicalizer rewrites input already known to be valid JSON.
type canonicalizer struct {
	in        []byte
	pos       int
	transform func(string) string
}

func (c *canonicalizer) skipSpace() {
	for c.pos < len(c.in) {
		switch c.in[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

func (c *canonicalizer) value(out []byte, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errors.New("arguments are nested too deeply")
	}
	c.skipSpace()
	switch c.in[c.pos] {
	case '{':
		return c.object(out, depth)
	case '[':
		c.pos++
		out = append(out, '[')
		c.skipSpace()
		if c.in[c.pos] == ']' {
			c.pos++
			return append(out, ']'), nil
		}
		for {
			var err error
			if out, err = c.value(out, depth+1); err != nil {
				return nil, err
			}
			c.skipSpace()
			if c.in[c.pos] == ']' {
				c.pos++
				return append(out, ']'), nil
			}
			c.pos++ // ','
			out = append(out, ',')
		}
	case '"':
		s := c.str()
		out = append(out, '"')
		if c.transform != nil {
			out = append(out, c.transform(string(s))...)
		} else {
			out = append(out, s...)
		}
		return append(out, '"'), nil
	}
	// A number or a literal: copy it.
	start := c.pos
	for c.pos < len(c.in) && !isDelim(c.in[c.pos]) {
		c.pos++
	}
	return append(out, c.in[start:c.pos]...), nil
}

func isDelim(b byte) bool {
	switch b {
	case ',', ']', '}', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// str returns the content of the string at pos (without quotes, escapes
// as written) and moves past it.
func (c *canonicalizer) str() []byte {
	c.pos++ // opening quote
	start := c.pos
	for c.in[c.pos] != '"' {
		if c.in[c.pos] == '\\' {
			c.pos++
		}
		c.pos++
	}
	s := c.in[start:c.pos]
	c.pos++
	return s
}

type member struct {
	key, val []byte
}

func (c *canonicalizer) object(out []byte, depth int) ([]byte, error) {
	c.pos++
	c.skipSpace()
	if c.in[c.pos] == '}' {
		c.pos++
		return append(out, '{', '}'), nil
	}
	var members []member
	for {
		c.skipSpace()
		key := c.str()
		c.skipSpace()
		c.pos++ // ':'
		val, err := c.value(nil, depth+1)
		if err != nil {
			return nil, err
		}
		members = append(members, member{key, val})
		c.skipSpace()
		if c.in[c.pos] == '}' {
			c.pos++
			break
		}
		c.pos++ // ','
	}
	slices.SortStableFunc(members, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	out = append(out, '{')
	for i, m := range members {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, m.key...)
		out = append(out, '"', ':')
		out = append(out, m.val...)
	}
	return append(out, '}'), nil
}

// Without returns raw (a JSON object) with key removed and whether it was
// present, plus the removed value. Other members keep their exact bytes.
func Without(raw []byte, key string) (rest []byte, value json.RawMessage, found bool, err error) {
	raw = TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return raw, nil, false, nil
	}
	if !bytes.Contains(raw, []byte(key)) {
		return raw, nil, false, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		// Not an object: leave it to the tool's schema validation to refuse.
		return raw, nil, false, nil
	}
	value, found = m[key]
	if !found {
		return raw, nil, false, nil
	}
	delete(m, key)
	rest, err = json.Marshal(m)
	return rest, value, true, err
}
