package cache

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
)

// RedisOptions configure [NewRedis].
type RedisOptions struct {
	// Name tells caches apart in metrics.
	Name string
	// Prefix starts every key, so that servers sharing one Redis never see
	// each other's entries ("mcpfleet:github:").
	Prefix string
	// Meters receives the cache metrics; nil means none.
	Meters metric.MeterProvider
}

// Redis is a cache in Redis, shared by every replica that uses the same URL
// and prefix. Expiry is Redis's own. Errors (Redis down, timeouts) are
// returned and counted; callers treat them as misses.
type Redis struct {
	client *redis.Client
	prefix string
	m      *metrics
}

// NewRedis returns a cache on the Redis at rawURL (redis://[user:password@]
// host:port[/db] or rediss:// for TLS). It does not connect yet: the first
// operation or [Redis.Ping] does.
func NewRedis(rawURL string, opts RedisOptions) (*Redis, error) {
	ro, err := redis.ParseURL(rawURL)
	if err != nil {
		// url.Error quotes the whole URL, password included: keep only
		// its reason.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("cache: redis URL: %w", err)
	}
	// CLIENT SETINFO is noise on the server and fails on older versions.
	ro.DisableIdentity = true
	// One dial per attempt instead of five: a cache that is down should
	// cost callers a fast miss, not half a second of redials. Command
	// retries and timeouts stay tunable in the URL (max_retries,
	// dial_timeout, read_timeout).
	ro.DialerRetries = 1
	return &Redis{
		client: redis.NewClient(ro),
		prefix: opts.Prefix,
		m:      newMetrics(opts.Meters, BackendRedis, opts.Name),
	}, nil
}

// Get implements [Cache].
func (c *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := checkKey(key); err != nil {
		c.m.fail(ctx, opGet)
		return nil, false, err
	}
	v, err := c.client.Get(ctx, c.prefix+key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		c.m.miss(ctx)
		return nil, false, nil
	case err != nil:
		c.m.fail(ctx, opGet)
		return nil, false, fmt.Errorf("cache: redis get: %w", err)
	}
	c.m.hit(ctx)
	return v, true, nil
}

// Set implements [Cache].
func (c *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	err := checkKey(key)
	if err == nil && ttl < 0 {
		err = ErrNegativeTTL
	}
	if err == nil {
		// ttl 0 is "no expiry" for go-redis as for this package.
		if err = c.client.Set(ctx, c.prefix+key, value, ttl).Err(); err != nil {
			err = fmt.Errorf("cache: redis set: %w", err)
		}
	}
	if err != nil {
		c.m.fail(ctx, opSet)
	}
	return err
}

// casScript sets KEYS[1] to ARGV[2] (with a PX of ARGV[3] when positive)
// only if it holds ARGV[1]: Redis runs a script as one step.
var casScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
`)

// CompareAndSwap implements [Cache].
func (c *Redis) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	err := checkKey(key)
	if err == nil && ttl < 0 {
		err = ErrNegativeTTL
	}
	if err != nil {
		c.m.fail(ctx, opSet)
		return false, err
	}
	n, err := casScript.Run(ctx, c.client, []string{c.prefix + key}, old, value, ttl.Milliseconds()).Int()
	if err != nil {
		c.m.fail(ctx, opSet)
		return false, fmt.Errorf("cache: redis compare-and-swap: %w", err)
	}
	return n == 1, nil
}

// Delete implements [Cache].
func (c *Redis) Delete(ctx context.Context, key string) error {
	err := checkKey(key)
	if err == nil {
		if err = c.client.Del(ctx, c.prefix+key).Err(); err != nil {
			err = fmt.Errorf("cache: redis delete: %w", err)
		}
	}
	if err != nil {
		c.m.fail(ctx, opDelete)
	}
	return err
}

// Ping checks that Redis answers (PING); use it as a readiness check.
func (c *Redis) Ping(ctx context.Context) error {
	if err := c.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cache: redis ping: %w", err)
	}
	return nil
}

// Close closes the connection pool.
func (c *Redis) Close() error { return c.client.Close() }

var _ Backend = (*Redis)(nil)
