package core

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// go-sdk's Streamable HTTP handlers serve every request but the tools/call
// requests the direct path (direct.go) answers exactly as they would.

type unreachableKey struct{}

// ClientReachable reports whether the handler serving ctx can send requests
// to the client while the call runs (elicitation, sampling, roots). It is
// false for a request without a session (stateless HTTP, and every
// 2026-07-28 request): there the server asks through an input-required
// result instead.
func ClientReachable(ctx context.Context) bool { return ctx.Value(unreachableKey{}) == nil }

// reachability marks requests served by a session the server cannot call
// back on, and ties them to their HTTP request: without a session the
// request is the call's whole life, and a notifications/cancelled would
// arrive on another temporary session that knows nothing of the call, so a
// client that gives up (closes the request) cancels the call. go-sdk does
// this itself only for 2026-07-28 requests.
func reachability(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		// Only the stateless HTTP handler records the request (in-memory
		// and stdio sessions have no id either, but can be called back).
		if httpCtx, ok := ctx.Value(httpRequestKey{}).(context.Context); ok {
			if ss, ok := req.GetSession().(*mcp.ServerSession); ok && ss.ID() == "" {
				ctx = context.WithValue(ctx, unreachableKey{}, true)
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
				stop := context.AfterFunc(httpCtx, cancel)
				defer stop()
			}
		}
		return next(ctx, method, req)
	}
}

type httpRequestKey struct{}

// withHTTPRequest records each request's context for [reachability]; go-sdk
// keeps context values when it detaches a handler from the request.
func withHTTPRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), httpRequestKey{}, r.Context())))
	})
}

// sessions tracks go-sdk's sessions by id so core can find them,
// knows who owns each (the principal that initialized it) and closes sessions
// that have been idle too long.
type sessions struct {
	mu      sync.RWMutex
	byID    map[string]*sessionEntry
	idle    time.Duration
	now     func() time.Time
	stop    chan struct{}
	done    chan struct{}
	stopped sync.Once
	limits  *sessionLimiter // nil: sessions are not limited
}

type sessionEntry struct {
	ss         *mcp.ServerSession
	owner      string
	version    string       // negotiated protocol version
	lastActive atomic.Int64 // unix nanoseconds
	adopted    bool         // holds a session limiter slot; under sessions.mu
	// callable: the client declared sampling or elicitation, so a tool may
	// call it back, which only go-sdk's stream for the request can carry.
	callable bool
	// logging: the client set a log level, so a tool's log messages go to
	// it on the request's stream.
	logging atomic.Bool

	mu       sync.Mutex
	inflight map[string]directCall // direct-path calls by request id
	closed   bool
	// ended, when a resuming client waits for a direct-path stream, is
	// closed (and cleared) as the next direct-path call ends.
	ended chan struct{}
}

// directCall is a direct-path call in flight.
type directCall struct {
	cancel context.CancelFunc
	stream string // its SSE stream in the event store; "" for none
}

// quiet reports whether nothing but a call's result can reach this
// session's client while the call runs, so the direct path may serve it.
func (e *sessionEntry) quiet() bool { return !e.callable && !e.logging.Load() }

// begin records a direct-path call; false when its id is already in
// flight (go-sdk refuses a duplicate) or the session has ended.
func (e *sessionEntry) begin(id string, call directCall) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.inflight[id]; dup || e.closed {
		return false
	}
	if e.inflight == nil {
		e.inflight = map[string]directCall{}
	}
	e.inflight[id] = call
	return true
}

func (e *sessionEntry) end(id string) {
	e.mu.Lock()
	delete(e.inflight, id)
	if e.ended != nil {
		close(e.ended)
		e.ended = nil
	}
	e.mu.Unlock()
}

// awaitStream returns once no direct-path call of this session writes to
// stream, or when ctx ends. go-sdk hands a client that resumes a stream
// still in use the rest of it as it is written; a direct-path stream is not
// go-sdk's to hand over, so the client waits here until the call's events
// are all in the event store, and go-sdk then replays them.
func (e *sessionEntry) awaitStream(ctx context.Context, stream string) {
	for {
		e.mu.Lock()
		busy := false
		for _, c := range e.inflight {
			if c.stream == stream {
				busy = true
				break
			}
		}
		if !busy {
			e.mu.Unlock()
			return
		}
		if e.ended == nil {
			e.ended = make(chan struct{})
		}
		ended := e.ended
		e.mu.Unlock()
		select {
		case <-ended:
		case <-ctx.Done():
			return
		}
	}
}

// cancel ends the direct-path call with this id, if there is one.
func (e *sessionEntry) cancel(id string) {
	e.mu.Lock()
	c := e.inflight[id]
	e.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
}

// closeAll cancels every direct-path call when the session ends, as
// go-sdk cancels its own calls then.
func (e *sessionEntry) closeAll() {
	e.mu.Lock()
	e.closed = true
	calls := e.inflight
	e.inflight = nil
	e.mu.Unlock()
	for _, c := range calls {
		c.cancel()
	}
}

func newSessions(idle time.Duration, now func() time.Time) *sessions {
	return &sessions{byID: map[string]*sessionEntry{}, idle: idle, now: now, stop: make(chan struct{}), done: make(chan struct{})}
}

// middleware registers each session when its initialize succeeds.
func (s *sessions) middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if method == "logging/setLevel" && err == nil {
			if ss, ok := req.GetSession().(*mcp.ServerSession); ok && ss.ID() != "" {
				if e := s.get(ss.ID()); e != nil {
					e.logging.Store(true)
				}
			}
		}
		if method == "initialize" && err == nil {
			if ss, ok := req.GetSession().(*mcp.ServerSession); ok {
				owner := ""
				if extra := req.GetExtra(); extra != nil && extra.TokenInfo != nil {
					owner = extra.TokenInfo.UserID
				}
				if ir, ok := res.(*mcp.InitializeResult); ok {
					s.register(ss, owner, ir.ProtocolVersion)
				}
			}
		}
		return res, err
	}
}

// register records a session and forgets it when go-sdk closes it.
func (s *sessions) register(ss *mcp.ServerSession, owner, version string) {
	id := ss.ID()
	if id == "" {
		return // stateless: no session to come back to
	}
	e := &sessionEntry{ss: ss, owner: owner, version: version}
	if ip := ss.InitializeParams(); ip != nil && ip.Capabilities != nil {
		//lint:ignore SA1019 clients before 2026-07-28 may still be asked to sample
		e.callable = ip.Capabilities.Sampling != nil || ip.Capabilities.Elicitation != nil
	}
	e.lastActive.Store(s.now().UnixNano())
	s.mu.Lock()
	s.byID[id] = e
	s.mu.Unlock()
	go func() {
		_ = ss.Wait()
		e.closeAll()
		s.mu.Lock()
		delete(s.byID, id)
		adopted := e.adopted
		s.mu.Unlock()
		if adopted {
			s.limits.release(owner)
		}
	}()
}

func (s *sessions) get(id string) *sessionEntry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byID[id]
}

// touch records activity on a session from any request that names it, and
// returns the session (nil when unknown).
func (s *sessions) touch(id string) *sessionEntry {
	e := s.get(id)
	if e != nil {
		e.lastActive.Store(s.now().UnixNano())
	}
	return e
}

// reap closes sessions idle longer than the timeout, every interval.
func (s *sessions) reap(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		cutoff := s.now().Add(-s.idle).UnixNano()
		var idle []*mcp.ServerSession
		s.mu.RLock()
		for _, e := range s.byID {
			if e.lastActive.Load() < cutoff {
				idle = append(idle, e.ss)
			}
		}
		s.mu.RUnlock()
		for _, ss := range idle {
			_ = ss.Close() // go-sdk then answers 404 for the session id
		}
	}
}

func (s *sessions) start() {
	interval := min(s.idle/4, time.Minute)
	go s.reap(max(interval, 10*time.Millisecond))
}

func (s *sessions) close() {
	s.stopped.Do(func() { close(s.stop) })
	<-s.done
}

// touchSessions records session activity from every request that names a
// session, so idle sessions are closed by the same clock on every path.
func touchSessions(s *sessions, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("Mcp-Session-Id"); id != "" {
			s.touch(id)
		}
		next.ServeHTTP(w, r)
	})
}
