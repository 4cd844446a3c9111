package audit

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func encodingJSON(t testing.TB, r Record) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// FuzzAppendRecord: the hand-written encoder writes what encoding/json
// writes, byte for byte.
func FuzzAppendRecord(f *testing.F) {
	f.Add("crm", "jwt:https://idp|ada", "a \"quoted\" \\ path\n\t<b>&</b>", "\x00\x1f\u2028\u2029\xff", "é漢字🙂", int64(-5), int64(1700000000123456789))
	f.Add("", "", "", "", "", int64(0), int64(0))
	f.Fuzz(func(t *testing.T, chain, principal, reason, errText, tool string, seq, nanos int64) {
		r := Record{Chain: chain, Seq: seq, Time: time.Unix(0, nanos).UTC(), Server: chain, Principal: principal,
			Roles: []string{tool, reason}, Client: errText, Method: "tools/call", Tool: tool, ArgsDigest: "sha256:x",
			Decision: "allow", Rule: reason, Reason: reason, Approval: errText, Outcome: "ok", Error: errText,
			LatencyUS: seq, TraceID: tool, Policy: principal, PrevHash: chain}
		if r.Time.Year() < 0 || r.Time.Year() > 9999 {
			return
		}
		want := encodingJSON(t, r)
		got := appendRecord(nil, &r)
		if !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

func TestAppendRecordEmptyRoles(t *testing.T) {
	r := Record{Time: time.Unix(1, 0).UTC(), Roles: []string{}}
	if got, want := appendRecord(nil, &r), encodingJSON(t, r); !bytes.Equal(got, want) {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
}

func BenchmarkSeal(b *testing.B) {
	r := Record(*rec(3))
	r.Roles = []string{"users", "admins"}
	b.ReportAllocs()
	for b.Loop() {
		Seal(r, "crm", 42, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	}
}
