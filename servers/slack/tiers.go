package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

// methodTiers are Slack's published rate-limit tiers of the Web API
// methods this server calls. Tier 1 allows about 1 request a minute, tier
// 2 about 20, tier 3 about 50, tier 4 about 100, each per workspace and
// method. Methods not listed are treated as tier 3.
var methodTiers = map[string]int{
	"auth.test":             4,
	"conversations.list":    2,
	"conversations.info":    3,
	"conversations.members": 4,
	"conversations.history": 3,
	"conversations.replies": 3,
	"chat.getPermalink":     4,
	"search.messages":       2,
	"users.list":            2,
	"users.info":            4,
	"users.lookupByEmail":   3,
	"users.profile.get":     4,
	"users.getPresence":     3,
	"usergroups.list":       2,
	"usergroups.users.list": 2,
	"files.info":            4,
	"reactions.add":         3,
	"reactions.remove":      2,
	"chat.scheduleMessage":  3,
	"chat.postMessage":      0, // special: limits.post_per_minute
	"conversations.mark":    3,
}

// ErrTierLimited is returned, wrapped in a *TierWaitError, when a method's
// tier limit cannot grant a slot before the request's deadline.
var ErrTierLimited = errors.New("slack method rate limit reached")

// TierWaitError says which method is limited and how long until a slot.
type TierWaitError struct {
	Method string
	Wait   time.Duration
}

func (e *TierWaitError) Error() string {
	return fmt.Sprintf("%v: %s has no free request slot for %s, past the call's deadline; retry after that", ErrTierLimited, e.Method, e.Wait.Round(time.Second))
}

func (e *TierWaitError) Unwrap() error { return ErrTierLimited }

// tierLimiter enforces per-method tier limits of one workspace before a
// request reaches core's upstream transport (which adds retries honouring
// Retry-After, spans and the breaker). Waits are bounded by the request's
// context: a wait that would outlast it fails at once, so a tool never
// sleeps past its timeout.
//
// This belongs in core's upstream client as per-route limits; it lives
// here until core has them.
type tierLimiter struct {
	next  http.RoundTripper
	clock upstream.Clock
	rpm   map[int]float64
	post  float64
	burst float64

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

func newTierLimiter(next http.RoundTripper, clock upstream.Clock, l LimitsConfig) *tierLimiter {
	return &tierLimiter{next: next, clock: clock, rpm: l.Tiers, post: l.PostPerMinute, burst: l.BurstSeconds, limiters: map[string]*rate.Limiter{}}
}

func (t *tierLimiter) limiter(method string) *rate.Limiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l, ok := t.limiters[method]; ok {
		return l
	}
	tier, ok := methodTiers[method]
	if !ok {
		tier = 3
	}
	rpm := t.post
	if tier != 0 {
		rpm = t.rpm[tier]
	}
	var l *rate.Limiter
	if rpm <= 0 {
		l = rate.NewLimiter(rate.Inf, 1)
	} else {
		l = rate.NewLimiter(rate.Limit(rpm/60), max(1, int(rpm/60*t.burst)))
	}
	t.limiters[method] = l
	return l
}

func (t *tierLimiter) RoundTrip(req *http.Request) (*http.Response, error) {
	method := path.Base(req.URL.Path)
	l := t.limiter(method)
	now := t.clock.Now()
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		if deadline, ok := req.Context().Deadline(); ok && d > deadline.Sub(now) {
			r.CancelAt(now)
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return nil, &TierWaitError{Method: method, Wait: d}
		}
		if err := t.clock.Sleep(req.Context(), d); err != nil {
			r.CancelAt(t.clock.Now())
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return nil, err
		}
	}
	return t.next.RoundTrip(req)
}

// realClock is the wall clock, for services built without a test clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
