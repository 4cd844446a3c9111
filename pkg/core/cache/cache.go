// Package cache is the key/value cache domain servers put upstream answers
// in: an in-process LRU bounded in bytes, or Redis shared by every replica.
//
// Callers treat any cache error as a miss: a broken cache makes a server
// slower, never wrong. Values are opaque bytes; callers choose the encoding
// and the key layout (include everything the answer depends on, such as the
// upstream account, so one caller never sees another's data).
package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/health"
)

// Cache stores values under string keys for a bounded time.
type Cache interface {
	// Get returns the value under key and whether it was found. A value
	// past its TTL is never returned. The returned slice is the caller's.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Set stores a copy of value under key for ttl; a zero ttl means no
	// expiry (the entry still goes when the cache needs room).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// CompareAndSwap stores a copy of value under key for ttl only if key
	// holds exactly old now (present and not expired), as one step that no
	// other writer, on this replica or another, can interleave with. It
	// reports whether it stored.
	CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error)
}

// Backend is a Cache with a lifecycle, as built by [New]: whoever builds one
// closes it, and Ping tells readiness whether it can be reached.
type Backend interface {
	Cache
	Ping(ctx context.Context) error
	Close() error
}

// Backend names, used in config and as the cache.backend metric attribute.
const (
	BackendMemory = "memory"
	BackendRedis  = "redis"
)

var (
	// ErrTooLarge is returned by Set for an entry bigger than the whole
	// memory cache.
	ErrTooLarge = errors.New("cache: entry is larger than the cache")
	// ErrEmptyKey is returned for an empty key.
	ErrEmptyKey = errors.New("cache: key is empty")
	// ErrNegativeTTL is returned by Set for a negative ttl.
	ErrNegativeTTL = errors.New("cache: ttl is negative")
)

// Options are what [New] needs beside the config.
type Options struct {
	// Name tells caches apart in metrics (the server name, "github").
	Name string
	// Meters receives hit, miss, error and eviction counts; nil means none.
	Meters metric.MeterProvider
}

// New builds the backend cfg selects. A Redis backend gets the key prefix
// cfg.KeyPrefix; it does not connect until first used (see Ping).
func New(cfg config.Cache, opts Options) (Backend, error) {
	switch cfg.Backend {
	case BackendMemory:
		return NewMemory(MemoryOptions{Name: opts.Name, MaxBytes: int64(cfg.MaxBytes), Meters: opts.Meters})
	case BackendRedis:
		if !cfg.RedisURL.IsSet() {
			return nil, errors.New("cache: redis_url is required for the redis backend")
		}
		return NewRedis(cfg.RedisURL.Reveal(), RedisOptions{Name: opts.Name, Prefix: cfg.KeyPrefix, Meters: opts.Meters})
	}
	return nil, fmt.Errorf("cache: backend %q is not %s or %s", cfg.Backend, BackendMemory, BackendRedis)
}

// HealthCheck is a readiness check named "cache" that pings b.
//
// Whether to register it is a choice: callers survive a cache outage (a
// cache error is a miss), so failing readiness on it trades a slower server
// for no server. Register it where the cache carries state that must be
// shared, such as rate-limit or session data.
func HealthCheck(b Backend) health.Check {
	return health.Check{Name: "cache", Func: func(ctx context.Context) (any, error) {
		return nil, b.Ping(ctx)
	}}
}

func checkKey(key string) error {
	if key == "" {
		return ErrEmptyKey
	}
	return nil
}
