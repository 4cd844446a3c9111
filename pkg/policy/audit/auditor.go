package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Backend durably appends records to one chain.
type Backend interface {
	// Name identifies the sink in logs and metrics ("file:/var/log/a.jsonl").
	Name() string
	// Append writes recs as the next records of the chain, setting their
	// chain position. It is all or nothing: on error no record of recs is
	// part of the chain, and Append is called again with the same records.
	Append(ctx context.Context, recs []Record) error
	// Close releases the backend's resources.
	Close() error
}

// ErrClosed is returned by Reserve once shutdown has begun.
var ErrClosed = errors.New("audit: the audit log is shutting down")

// Options configure an Auditor.
type Options struct {
	// QueueSize bounds the records reserved but not yet committed, per
	// sink. Reserve blocks when it is reached.
	QueueSize int
	// BatchSize bounds the records written in one Append.
	BatchSize int
	Logger    *slog.Logger
	// OnCommit, when set, is called after each successful Append with the
	// sink's name and the last record committed: the point of durability.
	OnCommit func(sink string, last Record)
	// MinBackoff and MaxBackoff bound the wait between failed Appends.
	MinBackoff, MaxBackoff time.Duration
	// Linger is how long a writer that has just written waits for more
	// records before writing a batch that is not full, so a busy server
	// writes (and seals and anchors) many records at once instead of one
	// or two per write. A record that arrives after a quiet spell is
	// written at once. Zero means DefaultLinger; negative, no wait.
	Linger time.Duration
}

// DefaultLinger is the Linger of a zero Options: at most about two
// hundred writes a second per sink under load, each record written within
// 5 ms of the previous write. Profiles at one client put the writer's
// wake-ups and writes at 1 ms lingers at a tenth of a call's CPU.
const DefaultLinger = 5 * time.Millisecond

// Auditor fans records out to its sinks, each with its own bounded queue
// and writer goroutine.
type Auditor struct {
	pipes  []*pipeline
	closed atomic.Bool
}

// Stats describe one sink.
type Stats struct {
	Sink string
	// Backlog is how many records are reserved, queued or being written.
	Backlog int
	Written int64
	// Failures counts failed Append attempts (each is retried).
	Failures int64
	// Dropped counts records lost because a shutdown deadline passed
	// before they were committed.
	Dropped   int64
	LastError string
}

// New starts a writer per backend.
func New(backends []Backend, o Options) *Auditor {
	if o.QueueSize <= 0 {
		o.QueueSize = 10_000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 50 * time.Millisecond
	}
	if o.Linger == 0 {
		o.Linger = DefaultLinger
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = 5 * time.Second
	}
	a := &Auditor{}
	for _, b := range backends {
		ctx, cancel := context.WithCancel(context.Background())
		p := &pipeline{backend: b, opts: o, slots: make(chan struct{}, o.QueueSize), wake: make(chan struct{}, 1),
			closing: make(chan struct{}), done: make(chan struct{}), ctx: ctx, cancel: cancel}
		a.pipes = append(a.pipes, p)
		go p.run()
	}
	return a
}

// Reserve takes a place in every sink's queue for one record, waiting
// while a queue is full. After a successful Reserve the caller must call
// Submit or Release exactly once.
func (a *Auditor) Reserve(ctx context.Context) error {
	if a.closed.Load() {
		return ErrClosed
	}
	for i, p := range a.pipes {
		select {
		case p.slots <- struct{}{}:
			continue
		default:
		}
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			a.release(i)
			return fmt.Errorf("audit queue of %s is full: %w", p.backend.Name(), ctx.Err())
		case <-p.closing:
			a.release(i)
			return ErrClosed
		}
	}
	return nil
}

func (a *Auditor) release(n int) {
	for _, p := range a.pipes[:n] {
		<-p.slots
	}
}

// Release gives back a reservation without a record.
func (a *Auditor) Release() { a.release(len(a.pipes)) }

// Submit queues the record of a reservation in every sink.
func (a *Auditor) Submit(src Source) {
	for _, p := range a.pipes {
		p.mu.Lock()
		p.items = append(p.items, src)
		p.mu.Unlock()
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// Stats reports every sink.
func (a *Auditor) Stats() []Stats {
	out := make([]Stats, len(a.pipes))
	for i, p := range a.pipes {
		out[i] = Stats{Sink: p.backend.Name(), Backlog: len(p.slots), Written: p.written.Load(),
			Failures: p.failures.Load(), Dropped: p.dropped.Load()}
		if e := p.lastErr.Load(); e != nil {
			out[i].LastError = *e
		}
	}
	return out
}

// Close stops accepting reservations and flushes every queued record,
// retrying while a sink is down, until ctx ends. Records still queued then
// are counted as dropped and reported in the error. Close is safe to call
// more than once.
func (a *Auditor) Close(ctx context.Context) error {
	a.closed.Store(true)
	var errs []error
	for _, p := range a.pipes {
		p.closeOnce.Do(func() { close(p.closing) })
	}
	for _, p := range a.pipes {
		select {
		case <-p.done:
		case <-ctx.Done():
			p.cancel()
			<-p.done
		}
		p.cancel()
		if n := p.dropped.Load(); n > 0 {
			errs = append(errs, fmt.Errorf("audit sink %s: %d records were not written before the shutdown deadline", p.backend.Name(), n))
		}
		if err := p.backend.Close(); err != nil {
			errs = append(errs, fmt.Errorf("audit sink %s: %w", p.backend.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// flusher is a backend that may hold written records for a while before
// making them durable (a file that fsyncs on an interval).
type flusher interface {
	Dirty() bool
	FlushInterval() time.Duration
	Flush() error
}

type pipeline struct {
	backend Backend
	opts    Options
	// slots holds one token per record reserved and not yet committed.
	slots     chan struct{}
	mu        sync.Mutex
	items     []Source
	wake      chan struct{}
	closing   chan struct{}
	closeOnce sync.Once
	done      chan struct{}
	ctx       context.Context
	cancel    context.CancelFunc

	written, failures, dropped atomic.Int64
	lastErr                    atomic.Pointer[string]
}

func (p *pipeline) run() {
	defer close(p.done)
	var recs []Record
	var lastWrite time.Time
	for {
		p.mu.Lock()
		n := min(len(p.items), p.opts.BatchSize)
		if n > 0 && n < p.opts.BatchSize && p.opts.Linger > 0 {
			if wait := p.opts.Linger - time.Since(lastWrite); wait > 0 {
				p.mu.Unlock()
				// Busy: let the batch fill for the rest of the linger.
				select {
				case <-time.After(wait):
				case <-p.closing:
				}
				p.mu.Lock()
				n = min(len(p.items), p.opts.BatchSize)
			}
		}
		batch := append([]Source(nil), p.items[:n]...)
		p.mu.Unlock()
		if n == 0 {
			// A sink that syncs on an interval gets its last records
			// synced once things go quiet.
			var flushDue <-chan time.Time
			fl, lazy := p.backend.(flusher)
			var timer *time.Timer
			if lazy && fl.Dirty() {
				timer = time.NewTimer(fl.FlushInterval())
				flushDue = timer.C
			}
			stopTimer := func() {
				if timer != nil {
					timer.Stop()
				}
			}
			select {
			case <-flushDue:
				if err := fl.Flush(); err != nil {
					p.opts.Logger.Warn("audit sink fsync failed", "sink", p.backend.Name(), "error", err.Error())
				}
				continue
			case <-p.wake:
				stopTimer()
				continue
			case <-p.closing:
				stopTimer()
				// Done once nothing is queued or reserved.
				if len(p.slots) == 0 {
					return
				}
				select {
				case <-p.wake:
				case <-p.ctx.Done():
					p.dropped.Add(int64(len(p.slots)))
					return
				case <-time.After(10 * time.Millisecond):
				}
				continue
			}
		}
		recs = recs[:0]
		for _, src := range batch {
			recs = append(recs, src.AuditRecord())
		}
		lastWrite = time.Now()
		if !p.write(recs) {
			// Hard stop: everything queued is lost.
			p.mu.Lock()
			p.dropped.Add(int64(len(p.items)))
			p.mu.Unlock()
			return
		}
		p.mu.Lock()
		p.items = p.items[n:]
		if len(p.items) == 0 {
			p.items = nil // let the backing array go
		}
		p.mu.Unlock()
		for range n {
			<-p.slots
		}
		p.written.Add(int64(n))
		if p.opts.OnCommit != nil {
			p.opts.OnCommit(p.backend.Name(), recs[n-1])
		}
	}
}

// write appends recs, retrying with backoff until it succeeds or the
// pipeline is stopped hard.
func (p *pipeline) write(recs []Record) bool {
	backoff := p.opts.MinBackoff
	for attempt := 1; ; attempt++ {
		err := p.backend.Append(p.ctx, recs)
		if err == nil {
			if attempt > 1 {
				p.opts.Logger.Info("audit sink recovered", "sink", p.backend.Name(), "attempts", attempt)
				p.lastErr.Store(nil)
			}
			return true
		}
		p.failures.Add(1)
		msg := err.Error()
		p.lastErr.Store(&msg)
		if attempt == 1 || attempt%20 == 0 {
			p.opts.Logger.Warn("audit sink write failed; records wait and are retried", "sink", p.backend.Name(),
				"error", msg, "attempt", attempt, "backlog", len(p.slots))
		}
		select {
		case <-p.ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, p.opts.MaxBackoff)
	}
}
