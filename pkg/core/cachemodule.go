package core

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core/cache"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/health"
)

// CacheModule provides the configured cache (section "cache") as a
// cache.Cache, with a readiness check, to the servers that use one;
// core.Module does not bundle it. The backend (a Redis client, or the
// memory cache) is built when the app starts and closed when it stops, so
// building the graph alone (--print-config, --list-tools) opens nothing.
var CacheModule = fx.Module("core.cache", fx.Provide(newCache))

type cacheResult struct {
	fx.Out
	Cache cache.Cache
	Check health.Check `group:"mcpfleet.health"`
}

// newCache builds the lifecycle-managed cache and its readiness check.
// Keys are prefixed with the server name so servers sharing one Redis never
// collide.
func newCache(lc fx.Lifecycle, cfg config.Config, tel Telemetry) cacheResult {
	c := cfg.Cache
	c.KeyPrefix += cfg.Server.Name + ":"
	lcc := &lifecycleCache{}
	lc.Append(fx.StartStopHook(
		func() error {
			b, err := cache.New(c, cache.Options{Name: cfg.Server.Name, Meters: tel.Meters})
			if err != nil {
				return err
			}
			lcc.backend.Store(&b)
			return nil
		},
		func() error {
			if b := lcc.backend.Swap(nil); b != nil {
				return (*b).Close()
			}
			return nil
		},
	))
	return cacheResult{Cache: lcc, Check: cache.HealthCheck(lcc)}
}

// errCacheNotStarted is what the cache answers outside the app's run;
// callers treat a cache error as a miss.
var errCacheNotStarted = errors.New("cache: not started")

// lifecycleCache is a cache.Backend whose backend exists between the app's
// start and stop.
type lifecycleCache struct {
	backend atomic.Pointer[cache.Backend]
}

func (l *lifecycleCache) get() (cache.Backend, error) {
	if b := l.backend.Load(); b != nil {
		return *b, nil
	}
	return nil, errCacheNotStarted
}

func (l *lifecycleCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := l.get()
	if err != nil {
		return nil, false, err
	}
	return b.Get(ctx, key)
}

func (l *lifecycleCache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	b, err := l.get()
	if err != nil {
		return err
	}
	return b.Set(ctx, key, value, ttl)
}

func (l *lifecycleCache) Delete(ctx context.Context, key string) error {
	b, err := l.get()
	if err != nil {
		return err
	}
	return b.Delete(ctx, key)
}

func (l *lifecycleCache) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	b, err := l.get()
	if err != nil {
		return false, err
	}
	return b.CompareAndSwap(ctx, key, old, value, ttl)
}

func (l *lifecycleCache) Ping(ctx context.Context) error {
	b, err := l.get()
	if err != nil {
		return err
	}
	return b.Ping(ctx)
}

// Close is the stop hook's job; the app owns the backend.
func (l *lifecycleCache) Close() error { return nil }
