package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcpfleet/mcpfleet/pkg/policy/internal/testenv"
)

func TestMemory(t *testing.T) {
	m := NewMemory()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	k := Key{Limit: "l#1", Principal: "jwt:alice"}
	l := Limit{Count: 2, Period: time.Second, Burst: 2}
	for i := range 2 {
		if r, _ := m.Allow(ctx, k, l); !r.Allowed {
			t.Fatalf("call %d refused", i)
		}
	}
	r, _ := m.Allow(ctx, k, l)
	if r.Allowed || r.RetryAfter != 500*time.Millisecond {
		t.Fatalf("third call: %+v", r)
	}
	// Another principal has its own bucket.
	if r, _ := m.Allow(ctx, Key{Limit: "l#1", Principal: "jwt:bob"}, l); !r.Allowed {
		t.Fatal("bob refused")
	}
	now = now.Add(500 * time.Millisecond)
	if r, _ := m.Allow(ctx, k, l); !r.Allowed {
		t.Fatal("refill did not happen")
	}
	// A changed limit starts a new bucket.
	if r, _ := m.Allow(ctx, k, Limit{Count: 10, Period: time.Second, Burst: 10}); !r.Allowed {
		t.Fatal("new limit refused")
	}
}

func TestMemoryStaysBounded(t *testing.T) {
	defer func(n int) { maxBucketsPerShard = n }(maxBucketsPerShard)
	maxBucketsPerShard = 64
	m := NewMemory()
	ctx := context.Background()
	l := Limit{Count: 1000, Period: time.Second, Burst: 1}
	for i := range 40 * maxBucketsPerShard {
		m.Allow(ctx, Key{Limit: "l", Principal: string(rune(i))}, l)
	}
	total := 0
	for i := range m.shards {
		total += len(m.shards[i].m)
	}
	if total > len(m.shards)*maxBucketsPerShard {
		t.Fatalf("%d buckets kept", total)
	}
}

func TestRedisSharedBudget(t *testing.T) {
	client, prefix := testenv.Redis(t)
	a := NewRedis(client, prefix, time.Second)
	b := NewRedis(client, prefix, time.Second)
	ctx := context.Background()
	k := Key{Limit: "shared#1", Tool: "t"}
	l := Limit{Count: 4, Period: time.Minute, Burst: 4}
	allowed := 0
	var last Result
	for i := range 10 {
		lim := a
		if i%2 == 1 {
			lim = b
		}
		r, err := lim.Allow(ctx, k, l)
		if err != nil {
			t.Fatal(err)
		}
		if r.Allowed {
			allowed++
		}
		last = r
	}
	if allowed != 4 {
		t.Fatalf("%d calls allowed across two limiters; the shared budget is 4", allowed)
	}
	if last.Allowed || last.RetryAfter <= 0 || last.RetryAfter > 15*time.Second {
		t.Fatalf("refusal: %+v", last)
	}
}

func TestRedisDown(t *testing.T) {
	client, prefix := testenv.Redis(t)
	opts := *client.Options()
	opts.Addr = "127.0.0.1:1" // nothing listens there
	unreachable := redis.NewClient(&opts)
	defer unreachable.Close()
	down := NewRedis(unreachable, prefix, 200*time.Millisecond)
	if _, err := down.Allow(context.Background(), Key{Limit: "x"}, Limit{Count: 1, Period: time.Second, Burst: 1}); err == nil {
		t.Fatal("no error from an unreachable Redis")
	}
}
