// Package audit writes one structured record per tool call to durable
// sinks and chains the records by hash, so that editing, removing or
// reordering a record is detectable.
//
// Each record carries prev_hash, the hash of the record before it in the
// same chain, and hash, the SHA-256 of the record's own JSON (everything
// before the trailing "hash" member). Sinks: JSON lines to stdout, stderr
// or a rotated file, and PostgreSQL.
//
// Where durability starts: [Auditor.Submit] only enqueues. A record is
// durable once its sink has committed it (a file write followed by fsync,
// or a committed PostgreSQL transaction); [Options.OnCommit] reports that
// point. Records are never dropped to make room: the queue is bounded and
// [Auditor.Reserve] blocks (backpressure) until there is space, so a call
// does not run unless its record has a place in every sink's queue. A
// graceful shutdown flushes every queued record; only a crash (kill -9)
// or a shutdown deadline can lose records that were queued but not yet
// committed, and the latter is counted as dropped.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Record is one audited call.
type Record struct {
	// Chain names the hash chain (the server name); Seq numbers records in
	// it from 1.
	Chain string    `json:"chain"`
	Seq   int64     `json:"seq"`
	Time  time.Time `json:"time"`
	// Server is the server that handled the call.
	Server string `json:"server"`
	// Principal is the caller's stable id (method:issuer|subject).
	Principal string   `json:"principal"`
	Roles     []string `json:"roles"`
	// Client is the OAuth client id, or the MCP client's name and version.
	Client string `json:"client,omitempty"`
	Method string `json:"method"`
	Tool   string `json:"tool"`
	// ArgsDigest is the SHA-256 of the canonical JSON of the arguments
	// after redaction.
	ArgsDigest string `json:"args_digest"`
	// Decision is allow or deny; Rule and Reason say why.
	Decision string `json:"decision"`
	Rule     string `json:"rule"`
	Reason   string `json:"reason,omitempty"`
	// Approval is how a call needing approval went: required (a plan was
	// returned), confirmed (a token was redeemed), elicited (the user
	// accepted), declined, or refused (a bad token).
	Approval string `json:"approval,omitempty"`
	// Outcome is ok, tool_error, protocol_error, denied, rate_limited,
	// approval_required, approval_declined or approval_refused.
	Outcome   string `json:"outcome"`
	Error     string `json:"error,omitempty"`
	LatencyUS int64  `json:"latency_us"`
	TraceID   string `json:"trace_id,omitempty"`
	// Policy is the content hash of the policy document in force.
	Policy   string `json:"policy"`
	PrevHash string `json:"prev_hash"`
}

// Source produces a record. Sinks call AuditRecord off the request path,
// so expensive parts (digests, redaction) are computed there; it must be
// safe to call more than once and from several goroutines.
type Source interface {
	AuditRecord() Record
}

// Static is a Source for a record that is already complete.
type Static Record

// AuditRecord implements Source.
func (s *Static) AuditRecord() Record { return Record(*s) }

// hashSuffixLen is the length of `,"hash":"<64 hex>"}`.
const hashSuffixLen = len(`,"hash":""}`) + 64

// Seal sets the chain position of rec and returns its JSON line (without
// newline) and its hash.
func Seal(rec Record, chain string, seq int64, prev string) (line []byte, hash string, err error) {
	line, hash = appendSealed(nil, &rec, chain, seq, prev)
	return line, hash, nil
}

// appendSealed appends rec's sealed JSON line (without newline) to b and
// returns it with the record's hash: the record is written once, hashed
// where it lies, and closed with its hash, so a batch of records is sealed
// into one growing buffer.
func appendSealed(b []byte, rec *Record, chain string, seq int64, prev string) ([]byte, string) {
	r := *rec
	r.Chain, r.Seq, r.PrevHash = chain, seq, prev
	start := len(b)
	b = appendRecord(b, &r)
	sum := sha256.Sum256(b[start:])
	b = append(b[:len(b)-1], `,"hash":"`...)
	at := len(b)
	b = hex.AppendEncode(b, sum[:])
	hash := string(b[at:])
	return append(b, `"}`...), hash
}

// appendRecord writes r as encoding/json would (field order, omitempty,
// no HTML escaping) without reflection: every call's record goes through
// here.
func appendRecord(b []byte, r *Record) []byte {
	b = append(b, `{"chain":`...)
	b = appendString(b, r.Chain)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, r.Seq, 10)
	b = append(b, `,"time":"`...)
	b = r.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","server":`...)
	b = appendString(b, r.Server)
	b = append(b, `,"principal":`...)
	b = appendString(b, r.Principal)
	b = append(b, `,"roles":[`...)
	for i, role := range r.Roles {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, role)
	}
	b = append(b, ']')
	b = appendOpt(b, `,"client":`, r.Client)
	b = append(b, `,"method":`...)
	b = appendString(b, r.Method)
	b = append(b, `,"tool":`...)
	b = appendString(b, r.Tool)
	b = append(b, `,"args_digest":`...)
	b = appendString(b, r.ArgsDigest)
	b = append(b, `,"decision":`...)
	b = appendString(b, r.Decision)
	b = append(b, `,"rule":`...)
	b = appendString(b, r.Rule)
	b = appendOpt(b, `,"reason":`, r.Reason)
	b = appendOpt(b, `,"approval":`, r.Approval)
	b = append(b, `,"outcome":`...)
	b = appendString(b, r.Outcome)
	b = appendOpt(b, `,"error":`, r.Error)
	b = append(b, `,"latency_us":`...)
	b = strconv.AppendInt(b, r.LatencyUS, 10)
	b = appendOpt(b, `,"trace_id":`, r.TraceID)
	b = append(b, `,"policy":`...)
	b = appendString(b, r.Policy)
	b = append(b, `,"prev_hash":`...)
	b = appendString(b, r.PrevHash)
	return append(b, '}')
}

func appendOpt(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendString(append(b, key...), v)
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does with HTML escaping off:
// quotes, backslashes and control characters escaped, invalid UTF-8
// replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// chainFields are the members verification reads from a line.
type chainFields struct {
	Chain    string `json:"chain"`
	Seq      int64  `json:"seq"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// checkLine recomputes a line's hash and returns its chain fields.
func checkLine(line []byte) (chainFields, error) {
	var f chainFields
	line = bytes.TrimRight(line, "\r\n")
	if len(line) < hashSuffixLen+2 || !bytes.HasPrefix(line[len(line)-hashSuffixLen:], []byte(`,"hash":"`)) ||
		!bytes.HasSuffix(line, []byte(`"}`)) {
		return f, errors.New("the line is not a sealed audit record (it must end with the hash member)")
	}
	if err := json.Unmarshal(line, &f); err != nil {
		return f, fmt.Errorf("the line is not valid JSON: %v", err)
	}
	body := make([]byte, 0, len(line)-hashSuffixLen+1)
	body = append(body, line[:len(line)-hashSuffixLen]...)
	body = append(body, '}')
	sum := sha256.Sum256(body)
	if got := hex.EncodeToString(sum[:]); got != f.Hash || string(line[len(line)-66:len(line)-2]) != f.Hash {
		return f, errors.New("hash mismatch: the record was modified after it was written")
	}
	return f, nil
}

// Break describes the first broken link in a chain.
type Break struct {
	// Position is where the record is: "file:line" or "table row".
	Position string `json:"position"`
	Seq      int64  `json:"seq"`
	Reason   string `json:"reason"`
}

func (b *Break) Error() string {
	return fmt.Sprintf("%s (seq %d): %s", b.Position, b.Seq, b.Reason)
}

// chainState follows a chain through verification.
type chainState struct {
	started bool
	chain   string
	seq     int64
	hash    string
}

// next checks that f follows the records seen so far.
func (c *chainState) next(f chainFields) string {
	defer func() { c.started, c.chain, c.seq, c.hash = true, f.Chain, f.Seq, f.Hash }()
	if !c.started {
		if f.Seq == 1 && f.PrevHash != "" {
			return "the first record of the chain (seq 1) has a prev_hash"
		}
		if f.Seq < 1 {
			return "seq must start at 1"
		}
		return ""
	}
	switch {
	case f.Chain != c.chain:
		return fmt.Sprintf("chain %q follows chain %q", f.Chain, c.chain)
	case f.PrevHash != c.hash:
		return "prev_hash does not match the hash of the record before it: a record was removed, inserted or reordered"
	case f.Seq != c.seq+1:
		return fmt.Sprintf("seq %d follows seq %d: records are missing", f.Seq, c.seq)
	}
	return ""
}
