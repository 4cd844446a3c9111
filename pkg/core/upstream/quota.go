package upstream

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Quota is the upstream's rate-limit quota as its last response reported
// it (X-RateLimit-* headers).
type Quota struct {
	// Resource is the quota's name when the upstream has several
	// (GitHub's X-RateLimit-Resource: core, search, graphql); "" otherwise.
	Resource string `json:"resource,omitempty"`
	// Limit is the quota per window; -1 when not sent.
	Limit int64 `json:"limit"`
	// Remaining is what was left of it.
	Remaining int64 `json:"remaining"`
	// Reset is when the window restarts; zero when not sent.
	Reset time.Time `json:"reset,omitzero"`
	// ObservedAt is when the response carrying these numbers arrived.
	ObservedAt time.Time `json:"observed_at"`
}

// quotas keeps the last Quota seen per resource.
type quotas struct {
	mu   sync.Mutex
	last map[string]Quota
}

// observe records the quota headers of h, if any, and returns what it
// recorded.
func (r *quotas) observe(h http.Header, now time.Time) (Quota, bool) {
	remaining, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Remaining")), 10, 64)
	if err != nil {
		return Quota{}, false
	}
	rl := Quota{
		Resource:   h.Get("X-RateLimit-Resource"),
		Limit:      -1,
		Remaining:  remaining,
		ObservedAt: now,
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Limit")), 10, 64); err == nil {
		rl.Limit = n
	}
	if at, ok := parseReset(h.Get("X-RateLimit-Reset"), now); ok {
		rl.Reset = at
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last = map[string]Quota{}
	}
	r.last[rl.Resource] = rl
	return rl, true
}

// snapshot returns the recorded quotas sorted by resource.
func (r *quotas) snapshot() []Quota {
	r.mu.Lock()
	out := make([]Quota, 0, len(r.last))
	for _, rl := range r.last {
		out = append(out, rl)
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b Quota) int { return strings.Compare(a.Resource, b.Resource) })
	return out
}
