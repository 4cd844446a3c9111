package crm

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// Page sizes.
const (
	defaultLimit = 20
	maxLimit     = 100
	// maxOffset bounds how deep ranked results can be paged: past it the
	// query should be narrowed, not paged.
	maxOffset = 2000
)

// cursor is the opaque next_cursor: where the next page starts and a
// fingerprint of the query it belongs to.
type cursor struct {
	Query  string `json:"q"`
	Offset int    `json:"o,omitempty"`
	After  int64  `json:"a,omitempty"`
}

var errBadCursor = errors.New("cursor is invalid or belongs to another query; pass next_cursor from the previous result unchanged, with the same filters, or leave it out to start over")

// fingerprint identifies a query's filters (everything but the page).
func fingerprint(parts ...any) string {
	b, _ := json.Marshal(parts)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses s, which must belong to the query with fingerprint fp.
func decodeCursor(s, fp string) (cursor, error) {
	var c cursor
	if s == "" {
		return c, nil
	}
	if len(s) > 512 {
		return c, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.Query != fp || c.Offset < 0 || c.After < 0 || c.Offset > maxOffset {
		return cursor{}, errBadCursor
	}
	return c, nil
}

// pageLimit applies the default and the cap.
func pageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return defaultLimit, nil
	case n < 0 || n > maxLimit:
		return 0, fmt.Errorf("limit %d is out of range; use 1 to %d and page with next_cursor", n, maxLimit)
	}
	return n, nil
}
