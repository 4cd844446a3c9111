package audit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	goleak.VerifyTestMain(m)
}

func rec(i int) *Static {
	return &Static{Time: time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC), Server: "crm", Principal: "jwt:alice",
		Method: "tools/call", Tool: fmt.Sprintf("tool_%d", i), ArgsDigest: "sha256:00", Decision: "allow",
		Rule: "r", Outcome: "ok", Policy: "sha256:pp", LatencyUS: int64(i)}
}

func write(t *testing.T, a *Auditor, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := a.Reserve(context.Background()); err != nil {
			t.Fatal(err)
		}
		a.Submit(rec(i))
	}
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func TestFileChainAndVerify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f, err := OpenFile(path, "crm", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	a := New([]Backend{f}, Options{QueueSize: 4, BatchSize: 3})
	write(t, a, 0, 10)
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := a.Stats()[0]; st.Written != 10 || st.Dropped != 0 || st.Backlog != 0 {
		t.Fatalf("stats %+v", st)
	}
	rep, err := VerifyFiles(path)
	if err != nil || rep.Broken != nil || rep.Records != 10 || rep.Chains["crm"] != 10 {
		t.Fatalf("verify: %+v %v", rep, err)
	}

	// A restarted sink continues the chain.
	f2, err := OpenFile(path, "crm", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	a2 := New([]Backend{f2}, Options{})
	write(t, a2, 10, 5)
	if err := a2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rep, _ := VerifyFiles(path); rep.Broken != nil || rep.Records != 15 {
		t.Fatalf("after restart: %+v", rep.Broken)
	}
	orig := lines(t, path)

	tamper := func(name string, edit func([]string) []string, wantLine int, wantReason string) {
		t.Run(name, func(t *testing.T) {
			edited := edit(append([]string(nil), orig...))
			p := filepath.Join(t.TempDir(), "edited.jsonl")
			os.WriteFile(p, []byte(strings.Join(edited, "\n")+"\n"), 0o600)
			rep, err := VerifyFiles(p)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Broken == nil || rep.Broken.Position != fmt.Sprintf("%s:%d", p, wantLine) || !strings.Contains(rep.Broken.Reason, wantReason) {
				t.Fatalf("got %+v, want line %d: %s", rep.Broken, wantLine, wantReason)
			}
		})
	}
	tamper("edited field", func(l []string) []string {
		l[6] = strings.Replace(l[6], `"decision":"allow"`, `"decision":"deny"`, 1)
		return l
	}, 7, "modified")
	tamper("edited and rehashed", func(l []string) []string {
		// An attacker who recomputes the record's own hash still breaks the
		// link to the next record.
		r := rec(6)
		r.Decision = "deny"
		var prev string
		fmt.Sscanf(l[5][strings.Index(l[5], `"hash":"`)+8:], "%64s", &prev)
		line, _, _ := Seal(Record(*r), "crm", 7, prev)
		l[6] = string(line)
		return l
	}, 8, "prev_hash")
	tamper("removed record", func(l []string) []string { return append(l[:3], l[4:]...) }, 4, "prev_hash")
	tamper("swapped records", func(l []string) []string { l[2], l[3] = l[3], l[2]; return l }, 3, "prev_hash")
	tamper("not a record", func(l []string) []string { l[0] = `{"x":1}`; return l }, 1, "not a sealed")
}

func TestFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f, err := OpenFile(path, "crm", 2000, 3)
	if err != nil {
		t.Fatal(err)
	}
	a := New([]Backend{f}, Options{BatchSize: 2})
	write(t, a, 0, 40)
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	files := RotatedFiles(path)
	if len(files) != 4 {
		t.Fatalf("files: %v", files)
	}
	for _, p := range files {
		if st, _ := os.Stat(p); st.Size() > 2000 {
			t.Errorf("%s is %d bytes", p, st.Size())
		}
	}
	// Retention removed the oldest records: the kept files alone are not
	// the whole chain, and verify says so unless told to check a part.
	rep, err := VerifyFiles(files...)
	if err != nil || rep.Broken == nil || !strings.Contains(rep.Broken.Reason, "records before it are missing") {
		t.Fatalf("verify without the first records: %+v %v", rep, err)
	}
	// As a part, the kept files form one unbroken chain ending at seq 40.
	rep, err = VerifyFilesWith(VerifyOptions{Partial: true}, files...)
	if err != nil || rep.Broken != nil || rep.Chains["crm"] != 40 || rep.Ranges["crm"].Last != 40 || rep.Ranges["crm"].First <= 1 {
		t.Fatalf("verify rotated: %+v %v", rep, err)
	}
	// Verifying out of order is caught.
	if rep, _ := VerifyFilesWith(VerifyOptions{Partial: true}, files[1], files[0]); rep.Broken == nil {
		t.Fatal("reordered files verified")
	}
}

func TestFileTrimsPartialLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f, _ := OpenFile(path, "crm", 0, 0)
	a := New([]Backend{f}, Options{})
	write(t, a, 0, 3)
	a.Close(context.Background())
	// A crash in the middle of a write leaves half a line.
	fh, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString(`{"chain":"crm","seq":4,"ti`)
	fh.Close()
	f2, err := OpenFile(path, "crm", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	a2 := New([]Backend{f2}, Options{})
	write(t, a2, 3, 2)
	a2.Close(context.Background())
	if rep, _ := VerifyFiles(path); rep.Broken != nil || rep.Records != 5 {
		t.Fatalf("verify: %+v", rep)
	}
}

func TestStreamAndSeal(t *testing.T) {
	var buf bytes.Buffer
	a := New([]Backend{NewStream("stderr", &buf, "crm")}, Options{})
	write(t, a, 0, 3)
	a.Close(context.Background())
	rep, err := VerifyReader(&buf, "stderr")
	if err != nil || rep.Broken != nil || rep.Records != 3 {
		t.Fatalf("%+v %v", rep, err)
	}
	line, hash, err := Seal(Record(*rec(1)), "c", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	f, err := checkLine(line)
	if err != nil || f.Hash != hash || f.Seq != 1 || !bytes.HasPrefix(line, []byte(`{"chain":"c","seq":1,`)) {
		t.Fatalf("%s %v", line, err)
	}
}

func TestReserveAfterClose(t *testing.T) {
	a := New([]Backend{NewStream("x", &bytes.Buffer{}, "c")}, Options{})
	a.Close(context.Background())
	if err := a.Reserve(context.Background()); err != ErrClosed {
		t.Fatalf("got %v", err)
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestFileSyncInterval: with an interval, batches are written at once (a
// crash of the process loses nothing) and fsynced within the interval, by
// the next write or, when things go quiet, by the pipeline.
func TestFileSyncInterval(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f, err := OpenFile(path, "crm", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.SyncEvery(time.Hour)
	a := New([]Backend{f}, Options{})
	if err := f.Append(context.Background(), []Record{{Server: "crm", Tool: "first"}}); err != nil {
		t.Fatal(err)
	}
	if f.Dirty() {
		t.Fatal("the first batch after opening must be synced (no sync yet)")
	}
	if err := f.Append(context.Background(), []Record{{Server: "crm", Tool: "second"}}); err != nil {
		t.Fatal(err)
	}
	if !f.Dirty() {
		t.Fatal("a batch within the interval was synced")
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), `"second"`) {
		t.Fatal("a written batch is not in the file before fsync")
	}
	if err := f.Flush(); err != nil || f.Dirty() {
		t.Fatalf("Flush: %v, dirty=%v", err, f.Dirty())
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rep, err := VerifyFiles(path); err != nil || rep.Broken != nil {
		t.Errorf("chain: %v %+v", err, rep.Broken)
	}
}

// countingBackend counts Appends and records.
type countingBackend struct {
	mu              sync.Mutex
	appends, record int
}

func (c *countingBackend) Name() string { return "count" }
func (c *countingBackend) Append(_ context.Context, recs []Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.appends++
	c.record += len(recs)
	return nil
}
func (c *countingBackend) Close() error { return nil }

// TestLingerBatchesABusyStream: records that arrive while the writer has
// just written wait for the linger and go out together; none is lost.
func TestLingerBatchesABusyStream(t *testing.T) {
	for _, linger := range []time.Duration{-1, 20 * time.Millisecond} {
		b := &countingBackend{}
		a := New([]Backend{b}, Options{Linger: linger})
		for i := range 300 {
			if err := a.Reserve(context.Background()); err != nil {
				t.Fatal(err)
			}
			a.Submit(rec(i))
			if i%30 == 0 {
				time.Sleep(time.Millisecond) // let the writer run between bursts
			}
		}
		if err := a.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		b.mu.Lock()
		appends, records := b.appends, b.record
		b.mu.Unlock()
		if records != 300 {
			t.Fatalf("linger %v: %d records written, want 300", linger, records)
		}
		t.Logf("linger %v: %d appends for 300 records", linger, appends)
		if linger > 0 && appends > 5 {
			t.Errorf("linger %v: %d appends, want the bursts batched", linger, appends)
		}
	}
}
