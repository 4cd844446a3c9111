// Package ratelimit takes tokens from named token buckets, either in
// process (golang.org/x/time/rate) or in Redis shared by every replica
// (GCRA, github.com/go-redis/redis_rate).
package ratelimit

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// Key names one bucket. It is comparable, so the in-memory limiter uses it
// as a map key without building a string.
type Key struct {
	Limit, Principal, Role, Tool, Server string
}

// String renders the key for a shared store.
func (k Key) String() string {
	var b strings.Builder
	b.WriteString(k.Limit)
	for _, part := range [...]struct{ tag, v string }{{"p", k.Principal}, {"r", k.Role}, {"t", k.Tool}, {"s", k.Server}} {
		if part.v != "" {
			b.WriteString("|" + part.tag + "=")
			b.WriteString(part.v)
		}
	}
	return b.String()
}

// Limit is Count tokens per Period with bursts up to Burst.
type Limit struct {
	Count  int
	Period time.Duration
	Burst  int
}

// Result is the outcome of taking a token.
type Result struct {
	Allowed bool
	// RetryAfter is how long until a token is available when refused.
	RetryAfter time.Duration
}

// Limiter takes one token from a bucket.
type Limiter interface {
	Allow(ctx context.Context, key Key, l Limit) (Result, error)
}

// Memory is an in-process Limiter. Buckets that are full (idle) are
// dropped when a shard grows past its bound, so memory stays bounded
// whatever the number of principals.
type Memory struct {
	seed   maphash.Seed
	now    func() time.Time
	shards [32]shard
}

type shard struct {
	mu sync.Mutex
	m  map[Key]*bucket
}

type bucket struct {
	lim   *rate.Limiter
	limit Limit
}

// maxBucketsPerShard triggers the sweep of idle buckets (a variable so
// that tests can reach it quickly).
var maxBucketsPerShard = 4096

// NewMemory returns an in-process limiter.
func NewMemory() *Memory {
	m := &Memory{seed: maphash.MakeSeed(), now: time.Now}
	for i := range m.shards {
		m.shards[i].m = map[Key]*bucket{}
	}
	return m
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key Key, l Limit) (Result, error) {
	now := m.now()
	sh := &m.shards[maphash.Comparable(m.seed, key)%uint64(len(m.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b, ok := sh.m[key]
	if !ok || b.limit != l {
		if len(sh.m) >= maxBucketsPerShard {
			sh.sweep(now)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(float64(l.Count)/l.Period.Seconds()), l.Burst), limit: l}
		sh.m[key] = b
	}
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return Result{RetryAfter: l.Period}, nil
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return Result{RetryAfter: d}, nil
	}
	return Result{Allowed: true}, nil
}

// sweep drops buckets that have refilled completely: forgetting them
// changes nothing.
func (sh *shard) sweep(now time.Time) {
	for k, b := range sh.m {
		if b.lim.TokensAt(now) >= float64(b.limit.Burst) {
			delete(sh.m, k)
		}
	}
}

// Redis is a Limiter whose buckets live in Redis, shared by every replica
// that uses the same prefix.
type Redis struct {
	lim     *redis_rate.Limiter
	prefix  string
	timeout time.Duration
}

// NewRedis returns a Redis-backed limiter. Keys are prefix + Key.String();
// timeout bounds one round trip.
func NewRedis(client redis.UniversalClient, prefix string, timeout time.Duration) *Redis {
	return &Redis{lim: redis_rate.NewLimiter(client), prefix: prefix, timeout: timeout}
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key Key, l Limit) (Result, error) {
	if r.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}
	res, err := r.lim.Allow(ctx, r.prefix+key.String(), redis_rate.Limit{Rate: l.Count, Burst: l.Burst, Period: l.Period})
	if err != nil {
		return Result{}, err
	}
	if res.Allowed > 0 {
		return Result{Allowed: true}, nil
	}
	return Result{RetryAfter: res.RetryAfter}, nil
}
