package core

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
)

// Sessions cost memory and goroutines for as long as they live (the idle
// timeout), so a principal that opens them in a loop could exhaust the
// server. The session limiter caps open sessions per principal and in
// total, and rate-limits initialize per principal. It counts a session
// from its initialize request (pending) until go-sdk closes it (DELETE,
// idle expiry, shutdown), so concurrent initializes cannot overshoot.

// JSON-RPC error codes of the limits (server-defined range).
const (
	// CodeTooManySessions: a session cap is reached.
	CodeTooManySessions = -32030
	// CodeRateLimited: initialize came too fast.
	CodeRateLimited = -32031
)

// maxRateEntries bounds the per-principal initialize limiters kept; past
// it the map starts over (a principal then gets a fresh burst, which is
// still bounded by the session caps).
const maxRateEntries = 10_000

type sessionLimiter struct {
	maxTotal, maxPer int
	perMinute        int
	idle             time.Duration

	mu      sync.Mutex
	open    map[string]int // sessions and pending initializes per owner
	total   int
	limiter map[string]*rate.Limiter
}

func newSessionLimiter(maxTotal, maxPer, perMinute int, idle time.Duration) *sessionLimiter {
	return &sessionLimiter{maxTotal: maxTotal, maxPer: maxPer, perMinute: perMinute, idle: idle,
		open: map[string]int{}, limiter: map[string]*rate.Limiter{}}
}

// reserve takes a slot for a new session of owner; it returns a refusal
// (HTTP status, JSON-RPC code, message, retry-after seconds) or ok.
func (l *sessionLimiter) reserve(owner string) (status, code int, msg string, retry int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.limiter[owner]
	if lim == nil {
		if len(l.limiter) >= maxRateEntries {
			clear(l.limiter)
		}
		lim = rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), l.perMinute)
		l.limiter[owner] = lim
	}
	r := lim.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		secs := int(math.Ceil(d.Seconds()))
		return http.StatusTooManyRequests, CodeRateLimited,
			"too many initialize requests: at most " + strconv.Itoa(l.perMinute) + " per minute per principal; retry after " +
				strconv.Itoa(secs) + " seconds", secs, false
	}
	if l.open[owner] >= l.maxPer {
		return http.StatusTooManyRequests, CodeTooManySessions,
			"this principal has " + strconv.Itoa(l.open[owner]) + " open sessions, the limit; end sessions it no longer uses " +
				"(HTTP DELETE with Mcp-Session-Id) or wait for idle ones to expire after " + l.idle.String(), 60, false
	}
	if l.total >= l.maxTotal {
		return http.StatusServiceUnavailable, CodeTooManySessions,
			"the server has " + strconv.Itoa(l.total) + " open sessions, its limit; retry later", 60, false
	}
	l.open[owner]++
	l.total++
	return 0, 0, "", 0, true
}

// release frees a slot: a session that ended, or an initialize that did
// not open one.
func (l *sessionLimiter) release(owner string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[owner] <= 1 {
		delete(l.open, owner)
	} else {
		l.open[owner]--
	}
	l.total--
}

// limitSessions guards session creation: a POST without a session id is
// an initialize (anything else without a session is refused by go-sdk).
// Its slot is kept when the response carries a new session id, and
// handed back when the session ends (sessions.register).
func limitSessions(l *sessionLimiter, s *sessions, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Mcp-Session-Id") != "" {
			next.ServeHTTP(w, r)
			return
		}
		owner := tokenUser(r)
		status, code, msg, retry, ok := l.reserve(owner)
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", strconv.Itoa(retry))
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": nil,
				"error": map[string]any{"code": code, "message": msg}})
			return
		}
		rw := &sessionIDWriter{ResponseWriter: w}
		next.ServeHTTP(rw, r)
		if id := rw.Header().Get("Mcp-Session-Id"); id == "" || !s.adopt(id) {
			l.release(owner) // no session was opened
		}
	})
}

// sessionIDWriter lets the limiter see the response headers; it passes
// Flush through for streamed responses.
type sessionIDWriter struct{ http.ResponseWriter }

func (w *sessionIDWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *sessionIDWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// adopt hands the limiter slot of a new session to the session, which
// releases it when it ends; false when the session is unknown or already
// gone (the caller then releases the slot itself).
func (s *sessions) adopt(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byID[id]
	if e == nil {
		return false
	}
	e.adopted = true
	return true
}

// tokenUser is the authenticated principal of r ("" without auth): the
// owner a session slot is counted against.
func tokenUser(r *http.Request) string {
	if ti := authn.TokenInfo(r.Context()); ti != nil {
		return ti.UserID
	}
	return ""
}
