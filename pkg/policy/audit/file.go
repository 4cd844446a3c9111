package audit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Stream writes JSON lines to a stream such as stderr. A stream cannot be
// read back, so each process starts a new chain at seq 1.
type Stream struct {
	name  string
	chain string
	mu    sync.Mutex
	w     io.Writer
	seq   int64
	prev  string
	buf   []byte
}

// NewStream returns a Stream backend writing to w.
func NewStream(name string, w io.Writer, chain string) *Stream {
	return &Stream{name: name, w: w, chain: chain}
}

// Name implements Backend.
func (s *Stream) Name() string { return s.name }

// Append implements Backend.
func (s *Stream) Append(_ context.Context, recs []Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf, seq, prev, err := sealAll(s.buf[:0], recs, s.chain, s.seq, s.prev)
	s.buf = buf
	if err != nil {
		return err
	}
	if _, err := s.w.Write(buf); err != nil {
		return err
	}
	s.seq, s.prev = seq, prev
	return nil
}

// Close implements Backend.
func (s *Stream) Close() error { return nil }

// sealAll appends the sealed lines of recs to buf, continuing the chain
// from (seq, prev), and sets the records' chain fields.
func sealAll(buf []byte, recs []Record, chain string, seq int64, prev string) ([]byte, int64, string, error) {
	for i := range recs {
		var hash string
		buf, hash = appendSealed(buf, &recs[i], chain, seq+1, prev)
		seq++
		recs[i].Chain, recs[i].Seq, recs[i].PrevHash = chain, seq, prev
		prev = hash
		buf = append(buf, '\n')
	}
	return buf, seq, prev, nil
}

// File writes JSON lines to a file and rotates by size: path.1 is the
// newest rotated file, path.N the oldest. The chain continues across
// rotations and restarts: on open the last record of the file (or of
// path.1) gives the next seq and prev_hash.
//
// A written batch survives a crash of the process at once (it is in the
// kernel's page cache); fsync, which also makes it survive a crash of the
// machine, runs every batch by default or, with [File.SyncEvery], at most
// once per interval. The interval exists because a blocking fsync holds a
// Go scheduler slot: on a one-CPU server every fsync stalls every request
// for up to a scheduler tick (10 ms), so syncing each small batch caps
// throughput far below what the server can otherwise do.
type File struct {
	path     string
	chain    string
	maxBytes int64
	maxFiles int

	mu           sync.Mutex
	f            *os.File
	size         int64
	seq          int64
	prev         string
	buf          []byte
	syncInterval time.Duration
	lastSync     time.Time
	dirty        bool         // written since the last fsync
	anchor       *Checkpoints // nil: no checkpoints
}

// AnchorTo makes the file anchor its chain head in cp: after records are
// durable (fsynced), at most once per cp's interval, and at Close. Call it
// before the first Append.
func (fl *File) AnchorTo(cp *Checkpoints) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.anchor = cp
}

// anchorLocked writes a checkpoint of the durable head when one is due
// (always when final). A failed checkpoint does not fail the records
// (they are durable); it is retried at the next sync.
func (fl *File) anchorLocked(final bool) error {
	if fl.anchor == nil || fl.dirty || fl.seq == 0 {
		return nil
	}
	now := time.Now()
	if !final && !fl.anchor.Due(fl.seq, now) {
		return nil
	}
	return fl.anchor.Anchor(fl.chain, fl.seq, fl.prev, now)
}

// SyncEvery makes the file fsync at most once per interval instead of after
// every batch; [File.Flush] syncs what is left. Call it before the first
// Append.
func (fl *File) SyncEvery(interval time.Duration) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.syncInterval = interval
}

// FlushInterval is how long written records may wait for an fsync.
func (fl *File) FlushInterval() time.Duration {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.syncInterval
}

// Dirty reports whether records were written since the last fsync.
func (fl *File) Dirty() bool {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.dirty
}

// Flush fsyncs records written since the last fsync.
func (fl *File) Flush() error {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.syncLocked()
}

func (fl *File) syncLocked() error {
	if fl.f == nil || !fl.dirty {
		return nil
	}
	if err := fl.f.Sync(); err != nil {
		return err
	}
	fl.dirty, fl.lastSync = false, time.Now()
	// The records are durable whatever happens to the checkpoint; a failed
	// one is tried again at the next sync and at Close.
	_ = fl.anchorLocked(false)
	return nil
}

// OpenFile opens (or creates) the audit file at path. maxBytes <= 0
// disables rotation; maxFiles is how many rotated files are kept.
func OpenFile(path, chain string, maxBytes int64, maxFiles int) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("audit file: %w", err)
	}
	fl := &File{path: path, chain: chain, maxBytes: maxBytes, maxFiles: maxFiles}
	if err := fl.open(); err != nil {
		return nil, err
	}
	seq, prev, err := lastLink(path)
	if err != nil {
		fl.f.Close()
		return nil, err
	}
	if seq == 0 {
		if seq, prev, err = lastLink(path + ".1"); err != nil {
			fl.f.Close()
			return nil, err
		}
	}
	fl.seq, fl.prev = seq, prev
	return fl, nil
}

// ErrLocked says another process is writing the audit file.
var ErrLocked = errors.New("another process is writing this audit file")

func (fl *File) open() error {
	f, err := os.OpenFile(fl.path, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return fmt.Errorf("audit file: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return fmt.Errorf("audit file %s: %w", fl.path, err)
	}
	size, err := trimPartialLine(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("audit file %s: %w", fl.path, err)
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	fl.f, fl.size = f, size
	return nil
}

// trimPartialLine cuts a trailing line without a newline: a crash in the
// middle of a write left it, and its batch was never acknowledged.
func trimPartialLine(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if size == 0 {
		return 0, nil
	}
	const chunk = 64 << 10
	end := size
	for end > 0 {
		start := max(0, end-chunk)
		b := make([]byte, end-start)
		if _, err := f.ReadAt(b, start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			keep := start + int64(i) + 1
			if keep != size {
				if err := f.Truncate(keep); err != nil {
					return 0, err
				}
			}
			return keep, nil
		}
		end = start
	}
	return 0, f.Truncate(0)
}

// lastLink reads the chain position of the last record in path; 0 and ""
// when the file is missing or empty.
func lastLink(path string) (int64, string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	var last []byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			last = append(last[:0], sc.Bytes()...)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, "", fmt.Errorf("reading %s: %w", path, err)
	}
	if last == nil {
		return 0, "", nil
	}
	cf, err := checkLine(last)
	if err != nil {
		return 0, "", fmt.Errorf("the last record of %s cannot continue the chain: %w", path, err)
	}
	return cf.Seq, cf.Hash, nil
}

// Name implements Backend.
func (fl *File) Name() string { return "file:" + fl.path }

// Append implements Backend: one write and one fsync per batch. On error
// the file is cut back to its previous size.
func (fl *File) Append(_ context.Context, recs []Record) error {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.f == nil {
		if err := fl.open(); err != nil {
			return err
		}
	}
	buf, seq, prev, err := sealAll(fl.buf[:0], recs, fl.chain, fl.seq, fl.prev)
	fl.buf = buf
	if err != nil {
		return err
	}
	if fl.maxBytes > 0 && fl.size > 0 && fl.size+int64(len(buf)) > fl.maxBytes {
		if err := fl.rotate(); err != nil {
			return err
		}
	}
	if _, err := fl.f.Write(buf); err != nil {
		fl.undo()
		return err
	}
	if fl.syncInterval <= 0 || time.Since(fl.lastSync) >= fl.syncInterval {
		if err := fl.f.Sync(); err != nil {
			fl.undo()
			return err
		}
		fl.lastSync = time.Now()
		fl.dirty = false
	} else {
		fl.dirty = true
	}
	fl.size += int64(len(buf))
	fl.seq, fl.prev = seq, prev
	// A checkpoint failure leaves the records written: they are durable,
	// and the next sync anchors them.
	_ = fl.anchorLocked(false)
	return nil
}

func (fl *File) undo() {
	if err := fl.f.Truncate(fl.size); err != nil {
		// The file is in an unknown state: reopen (and trim) next time.
		fl.f.Close()
		fl.f = nil
		return
	}
	_, _ = fl.f.Seek(fl.size, io.SeekStart)
}

// rotate shifts path.N-1 to path.N ... path to path.1 and starts a new file.
func (fl *File) rotate() error {
	if err := fl.syncLocked(); err != nil {
		return err
	}
	if err := fl.f.Close(); err != nil {
		return err
	}
	fl.f = nil
	keep := max(fl.maxFiles, 1)
	_ = os.Remove(fl.path + "." + strconv.Itoa(keep))
	for i := keep - 1; i >= 1; i-- {
		from := fl.path + "." + strconv.Itoa(i)
		if _, err := os.Stat(from); err == nil {
			if err := os.Rename(from, fl.path+"."+strconv.Itoa(i+1)); err != nil {
				return err
			}
		}
	}
	if err := os.Rename(fl.path, fl.path+".1"); err != nil {
		return err
	}
	return fl.open()
}

// Close implements Backend.
func (fl *File) Close() error {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.f == nil {
		return nil
	}
	err := fl.syncLocked()
	if err == nil {
		err = fl.anchorLocked(true)
	}
	if cerr := fl.f.Close(); err == nil {
		err = cerr
	}
	fl.f = nil
	return err
}

// RotatedFiles lists path's rotated files and path itself, oldest first:
// the order in which to verify them.
func RotatedFiles(path string) []string {
	var older []string
	for i := 1; ; i++ {
		p := path + "." + strconv.Itoa(i)
		if _, err := os.Stat(p); err != nil {
			break
		}
		older = append(older, p)
	}
	out := make([]string, 0, len(older)+1)
	for i := len(older) - 1; i >= 0; i-- {
		out = append(out, older[i])
	}
	return append(out, path)
}
