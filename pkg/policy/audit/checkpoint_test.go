package audit

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// writeAnchored writes n records to a file sink anchored to a checkpoint
// file (a checkpoint after every batch) and returns both paths.
func writeAnchored(t *testing.T, n int) (string, string) {
	t.Helper()
	dir := t.TempDir()
	path, cpPath := filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "other-volume", "audit.checkpoints")
	f, err := OpenFile(path, "crm", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := OpenCheckpoints(cpPath, testKey, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.AnchorTo(cp)
	a := New([]Backend{f}, Options{BatchSize: 3})
	write(t, a, 0, n)
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return path, cpPath
}

func writeLines(t *testing.T, path string, l []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(l, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyReportsRange: verify reports the first and last seq.
func TestVerifyReportsRange(t *testing.T) {
	path, _ := writeAnchored(t, 12)
	rep, err := VerifyFiles(path)
	if err != nil || rep.Broken != nil || rep.Ranges["crm"] != (Range{First: 1, Last: 12}) {
		t.Fatalf("%+v %v", rep, err)
	}
}

// TestVerifyRefusesAFileWithoutItsStart: a file whose first records were
// deleted (or that starts past seq 1 without its rotated predecessor) is
// not reported intact; --partial checks it as a part and says where it
// starts.
func TestVerifyRefusesAFileWithoutItsStart(t *testing.T) {
	path, _ := writeAnchored(t, 12)
	writeLines(t, path, lines(t, path)[4:])
	rep, err := VerifyFiles(path)
	if err != nil || rep.Broken == nil || rep.Broken.Seq != 5 || !strings.Contains(rep.Broken.Reason, "starts at seq 5") {
		t.Fatalf("head cut: %+v %v", rep, err)
	}
	rep, err = VerifyFilesWith(VerifyOptions{Partial: true}, path)
	if err != nil || rep.Broken != nil || rep.Ranges["crm"] != (Range{First: 5, Last: 12}) {
		t.Fatalf("partial: %+v %v", rep, err)
	}
}

// TestCheckpointsDetectACutTail: a chain cut after its last checkpoint
// verifies on its own but not against the checkpoints; an intact chain
// reaches its newest checkpoint; a forged or edited checkpoint is
// refused; a file starting past seq 1 is accepted when a checkpoint
// anchors its first record's predecessor.
func TestCheckpointsDetectACutTail(t *testing.T) {
	path, cpPath := writeAnchored(t, 20)
	cps, err := ReadCheckpoints(cpPath, testKey)
	if err != nil || cps[len(cps)-1].Seq != 20 {
		t.Fatalf("checkpoints: %+v %v", cps, err)
	}
	rep, err := VerifyFilesWith(VerifyOptions{Checkpoints: cps}, path)
	if err != nil || rep.Broken != nil || rep.Anchored["crm"] != 20 {
		t.Fatalf("intact: %+v %v", rep, err)
	}

	all := lines(t, path)
	writeLines(t, path, all[:17])
	if rep, _ := VerifyFiles(path); rep.Broken != nil {
		t.Fatalf("the chain alone cannot show the cut: %+v", rep)
	}
	rep, err = VerifyFilesWith(VerifyOptions{Checkpoints: cps}, path)
	if err != nil || rep.Broken == nil || !strings.Contains(rep.Broken.Reason, "anchors seq 20") || !strings.Contains(rep.Broken.Reason, "end at seq 17") {
		t.Fatalf("cut tail: %+v %v", rep, err)
	}

	// Forged: a checkpoint edited to bless a shorter chain.
	b, _ := os.ReadFile(cpPath)
	forged := strings.Replace(string(b), `"seq":20`, `"seq":17`, 1)
	os.WriteFile(cpPath, []byte(forged), 0o600)
	if _, err := ReadCheckpoints(cpPath, testKey); err == nil || !strings.Contains(err.Error(), "bad MAC") {
		t.Fatalf("forged checkpoint: %v", err)
	}
	if _, err := ReadCheckpoints(cpPath, []byte("another key that is 32 bytes lo")); err == nil {
		t.Fatal("wrong key accepted")
	}

	// The start anchored by a checkpoint: the file's older records were
	// rotated away, and the checkpoint at the seq before its first record
	// proves where it continues from.
	writeLines(t, path, all[cps[0].Seq:])
	rep, err = VerifyFilesWith(VerifyOptions{Checkpoints: cps}, path)
	if err != nil || rep.Broken != nil || rep.Ranges["crm"].First != cps[0].Seq+1 {
		t.Fatalf("anchored start: %+v %v", rep, err)
	}
}

// TestCheckpointsAreWrittenOnlyForDurableRecords: with an fsync interval,
// records written but not yet synced are not anchored (a crash would
// lose them and the checkpoint would then accuse a cut).
func TestCheckpointsAreWrittenOnlyForDurableRecords(t *testing.T) {
	dir := t.TempDir()
	f, _ := OpenFile(filepath.Join(dir, "a.jsonl"), "crm", 0, 0)
	f.SyncEvery(time.Hour)
	cp, _ := OpenCheckpoints(filepath.Join(dir, "cp"), testKey, 0)
	f.AnchorTo(cp)
	f.lastSync = time.Now()
	if err := f.Append(context.Background(), []Record{Record(*rec(1))}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cp")); err == nil {
		t.Fatal("a checkpoint anchors a record that was not fsynced")
	}
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	if cps, err := ReadCheckpoints(filepath.Join(dir, "cp"), testKey); err != nil || cps[0].Seq != 1 {
		t.Fatalf("after flush: %+v %v", cps, err)
	}
	f.Close()
}
