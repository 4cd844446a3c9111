package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/mcpfleet/mcpfleet/pkg/core/config"
)

const testRedisURL = "redis://127.0.0.1:6379/0"

// testRedis returns a raw client on the local Redis and a random key prefix
// whose keys are deleted when the test ends. Without Redis the test fails
// under CI=true and is skipped elsewhere.
func testRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	opts, err := redis.ParseURL(testRedisURL)
	if err != nil {
		t.Fatal(err)
	}
	opts.DisableIdentity = true
	raw := redis.NewClient(opts)
	t.Cleanup(func() { _ = raw.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := raw.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis at %s is required when CI=true: %v", testRedisURL, err)
		}
		t.Skipf("Redis not reachable at %s (%v): start redis-server on 127.0.0.1:6379 to run this test", testRedisURL, err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "mcpfleet-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := raw.Keys(ctx, prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			err = raw.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Errorf("cleaning up %s*: %v", prefix, err)
		}
	})
	return raw, prefix
}

func newTestRedis(t *testing.T, prefix string, opts RedisOptions) *Redis {
	t.Helper()
	opts.Prefix = prefix
	c, err := NewRedis(testRedisURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisRoundTrip(t *testing.T) {
	raw, prefix := testRedis(t)
	c := newTestRedis(t, prefix, RedisOptions{Name: "test"})
	ctx := context.Background()

	if got := get(t, c, "k"); got != "<miss>" {
		t.Fatalf("fresh key = %q", got)
	}
	mustSet(t, c, "k", "value", time.Minute)
	if got := get(t, c, "k"); got != "value" {
		t.Fatalf("k = %q", got)
	}
	// The key is stored under the prefix, with the TTL.
	ttl, err := raw.PTTL(ctx, prefix+"k").Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("PTTL = %v, %v; want within (0, 1m]", ttl, err)
	}
	mustSet(t, c, "forever", "v", 0)
	if ttl, err := raw.PTTL(ctx, prefix+"forever").Result(); err != nil || ttl != -1 {
		t.Errorf("zero TTL stored as PTTL %v, %v; want -1 (no expiry)", ttl, err)
	}

	if err := c.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if got := get(t, c, "k"); got != "<miss>" {
		t.Errorf("deleted key = %q", got)
	}
	if err := c.Delete(ctx, "never-set"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
	if err := c.Set(ctx, "k", []byte("v"), -time.Second); !errors.Is(err, ErrNegativeTTL) {
		t.Errorf("negative TTL: %v", err)
	}
	if _, _, err := c.Get(ctx, ""); !errors.Is(err, ErrEmptyKey) {
		t.Errorf("empty key: %v", err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestRedisExpiry(t *testing.T) {
	_, prefix := testRedis(t)
	c := newTestRedis(t, prefix, RedisOptions{})
	mustSet(t, c, "k", "v", time.Millisecond)
	// Redis keeps time itself, so no clock can be injected: wait for the
	// expiry to show, bounded, instead of sleeping a guessed interval.
	for deadline := time.Now().Add(5 * time.Second); get(t, c, "k") != "<miss>"; {
		if time.Now().After(deadline) {
			t.Fatal("key with a 1ms TTL still there after 5s")
		}
		runtime.Gosched()
	}
}

func TestRedisPrefixesIsolate(t *testing.T) {
	raw, prefix := testRedis(t)
	a := newTestRedis(t, prefix+"a:", RedisOptions{})
	b := newTestRedis(t, prefix+"b:", RedisOptions{})
	mustSet(t, a, "k", "from a", time.Minute)
	if got := get(t, b, "k"); got != "<miss>" {
		t.Errorf("b sees a's key: %q", got)
	}
	keys, err := raw.Keys(context.Background(), prefix+"*").Result()
	if err != nil || !slices.Equal(keys, []string{prefix + "a:k"}) {
		t.Errorf("keys = %v, %v; want [%sa:k]", keys, err, prefix)
	}
}

func TestRedisErrorsSurface(t *testing.T) {
	// A port nothing listens on: every operation fails fast.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	c, err := NewRedis("redis://"+addr+"/0?max_retries=-1", RedisOptions{Name: "down", Meters: mp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()

	if _, ok, err := c.Get(ctx, "k"); err == nil || ok {
		t.Errorf("Get on a down Redis = %v, %v; want an error", ok, err)
	}
	if err := c.Set(ctx, "k", []byte("v"), time.Minute); err == nil {
		t.Error("Set on a down Redis succeeded")
	}
	if err := c.Delete(ctx, "k"); err == nil {
		t.Error("Delete on a down Redis succeeded")
	}
	if _, err := HealthCheck(c).Func(ctx); err == nil {
		t.Error("health check passed on a down Redis")
	}
	got := counters(t, reader)
	for _, op := range []string{"get", "set", "delete"} {
		k := "mcpfleet.cache.errors{cache.backend=redis,cache.name=down,cache.operation=" + op + "}"
		if got[k] != 1 {
			t.Errorf("%s = %d, want 1", k, got[k])
		}
	}
}

func TestRedisMetrics(t *testing.T) {
	_, prefix := testRedis(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	c := newTestRedis(t, prefix, RedisOptions{Name: "gh", Meters: mp})
	get(t, c, "k")
	mustSet(t, c, "k", "v", time.Minute)
	get(t, c, "k")
	get(t, c, "k")
	got := counters(t, reader)
	if k := "mcpfleet.cache.hits{cache.backend=redis,cache.name=gh}"; got[k] != 2 {
		t.Errorf("%s = %d, want 2", k, got[k])
	}
	if k := "mcpfleet.cache.misses{cache.backend=redis,cache.name=gh}"; got[k] != 1 {
		t.Errorf("%s = %d, want 1", k, got[k])
	}
}

func TestNewRedisKeepsPasswordOutOfErrors(t *testing.T) {
	for _, u := range []string{
		"redis://user:s3cret@127.0.0.1:notaport/0",
		"http://user:s3cret@127.0.0.1:6379",
		"redis://user:s3cret@127.0.0.1:6379/notadb",
		"redis://user:s3cret@%zz",
	} {
		_, err := NewRedis(u, RedisOptions{})
		if err == nil {
			t.Errorf("NewRedis accepted a bad URL")
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error reveals the password: %v", err)
		}
	}
}

func TestNewFromConfig(t *testing.T) {
	cfg := config.NewDefaultConfig().Cache
	b, err := New(cfg, Options{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.(*Memory); !ok {
		t.Errorf("default backend is %T, want *Memory", b)
	}
	_ = b.Close()

	cfg.Backend = BackendRedis
	if _, err := New(cfg, Options{}); err == nil {
		t.Error("redis backend without a URL accepted")
	}
	cfg.RedisURL = config.NewSecret(testRedisURL)
	b, err = New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := b.(*Redis); !ok {
		t.Errorf("redis backend is %T, want *Redis", b)
	} else if r.prefix != cfg.KeyPrefix {
		t.Errorf("redis prefix = %q, want %q", r.prefix, cfg.KeyPrefix)
	}
	_ = b.Close()

	cfg.Backend = "memcached"
	if _, err := New(cfg, Options{}); err == nil {
		t.Error("unknown backend accepted")
	}
}
