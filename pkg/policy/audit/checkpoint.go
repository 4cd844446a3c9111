package audit

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// A hash chain proves that nothing inside it was edited, removed or
// reordered, but not that its end is the real end: cutting the last
// records off leaves a valid chain. A checkpoint anchors the chain head
// somewhere else: a line {"chain","seq","hash","time","mac"} appended to a
// checkpoint file, the MAC an HMAC-SHA256 under a key the audit file's
// readers do not need. Verifying against the checkpoints proves the chain
// reaches at least the last checkpoint, with the same record there. Kept
// on another volume or host (or an append-only store), the checkpoint file
// survives whoever cuts the audit file; the key keeps anyone without it
// from writing a checkpoint that would bless a shortened chain.

// Checkpoint is one anchored chain head.
type Checkpoint struct {
	Chain string    `json:"chain"`
	Seq   int64     `json:"seq"`
	Hash  string    `json:"hash"`
	Time  time.Time `json:"time"`
	MAC   string    `json:"mac"`
}

func (c *Checkpoint) mac(key []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "mcpfleet-audit-checkpoint\x00%s\x00%d\x00%s\x00%s", c.Chain, c.Seq, c.Hash, c.Time.UTC().Format(time.RFC3339Nano))
	return hex.EncodeToString(m.Sum(nil))
}

// MinCheckpointKeyLen is the shortest accepted checkpoint key.
const MinCheckpointKeyLen = 32

// Checkpoints appends signed checkpoints to a file.
type Checkpoints struct {
	path  string
	key   []byte
	every time.Duration

	mu       sync.Mutex
	lastSeq  int64
	lastTime time.Time
}

// OpenCheckpoints prepares the checkpoint file at path; a checkpoint is
// written at most every interval (and always by [Checkpoints.Final]).
func OpenCheckpoints(path string, key []byte, every time.Duration) (*Checkpoints, error) {
	if len(key) < MinCheckpointKeyLen {
		return nil, fmt.Errorf("audit checkpoint key must be at least %d bytes", MinCheckpointKeyLen)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("audit checkpoints: %w", err)
	}
	return &Checkpoints{path: path, key: key, every: every}, nil
}

// Due reports whether seq should be anchored now.
func (c *Checkpoints) Due(seq int64, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return seq > c.lastSeq && now.Sub(c.lastTime) >= c.every
}

// Anchor appends a checkpoint of (chain, seq, hash) and fsyncs it. Call it
// only for records that are durable in the audit file.
func (c *Checkpoints) Anchor(chain string, seq int64, hash string, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq <= c.lastSeq || seq == 0 {
		return nil
	}
	cp := Checkpoint{Chain: chain, Seq: seq, Hash: hash, Time: now.UTC()}
	cp.MAC = cp.mac(c.key)
	line, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(c.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("audit checkpoints: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("audit checkpoints: %w", err)
	}
	c.lastSeq, c.lastTime = seq, now
	return nil
}

// ReadCheckpoints reads and authenticates a checkpoint file. A line whose
// MAC does not verify is an error: someone without the key wrote it.
func ReadCheckpoints(path string, key []byte) ([]Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Checkpoint
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var cp Checkpoint
		if err := json.Unmarshal(sc.Bytes(), &cp); err != nil {
			return nil, fmt.Errorf("%s:%d: not a checkpoint: %w", path, n, err)
		}
		if !hmac.Equal([]byte(cp.MAC), []byte(cp.mac(key))) {
			return nil, fmt.Errorf("%s:%d: checkpoint of seq %d has a bad MAC: forged, edited, or checked with the wrong key", path, n, cp.Seq)
		}
		out = append(out, cp)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New(path + ": no checkpoints")
	}
	return out, nil
}

// anchors indexes checkpoints for verification.
type anchors struct {
	bySeq map[string]map[int64]Checkpoint
	last  map[string]Checkpoint
}

func newAnchors(cps []Checkpoint) *anchors {
	a := &anchors{bySeq: map[string]map[int64]Checkpoint{}, last: map[string]Checkpoint{}}
	for _, cp := range cps {
		if a.bySeq[cp.Chain] == nil {
			a.bySeq[cp.Chain] = map[int64]Checkpoint{}
		}
		a.bySeq[cp.Chain][cp.Seq] = cp
		if cp.Seq > a.last[cp.Chain].Seq {
			a.last[cp.Chain] = cp
		}
	}
	return a
}

// check compares a verified record with the checkpoint at its seq.
func (a *anchors) check(f chainFields) string {
	if a == nil {
		return ""
	}
	if cp, ok := a.bySeq[f.Chain][f.Seq]; ok && cp.Hash != f.Hash {
		return "the record differs from the checkpoint signed at " + cp.Time.Format(time.RFC3339) + " for seq " + strconv.FormatInt(f.Seq, 10)
	}
	return ""
}

// continues reports whether a record's prev_hash is anchored: the
// checkpoint at seq-1 holds that hash.
func (a *anchors) continues(f chainFields) bool {
	if a == nil {
		return false
	}
	cp, ok := a.bySeq[f.Chain][f.Seq-1]
	return ok && cp.Hash == f.PrevHash
}
