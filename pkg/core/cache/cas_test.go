package cache

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Compare-and-swap on both backends: it stores only over exactly the value
// read, never over a missing or expired key, and under contention every
// increment lands exactly once.
func TestCompareAndSwap(t *testing.T) {
	backends := map[string]func(t *testing.T) Cache{
		"memory": func(t *testing.T) Cache {
			c, err := NewMemory(MemoryOptions{MaxBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		"redis": func(t *testing.T) Cache {
			_, prefix := testRedis(t)
			return newTestRedis(t, prefix, RedisOptions{Name: "test"})
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			c := open(t)
			ctx := context.Background()
			swap := func(old, value string) bool {
				t.Helper()
				ok, err := c.CompareAndSwap(ctx, "k", []byte(old), []byte(value), time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			if swap("", "v1") {
				t.Error("swapped over a missing key")
			}
			mustSet(t, c, "k", "v1", time.Minute)
			if swap("v0", "v2") {
				t.Error("swapped over a value it did not read")
			}
			if !swap("v1", "v2") || get(t, c, "k") != "v2" {
				t.Errorf("did not swap over the value it read: %q", get(t, c, "k"))
			}
			if _, err := c.CompareAndSwap(ctx, "k", []byte("v2"), []byte("v3"), -time.Second); err == nil {
				t.Error("negative TTL accepted")
			}
			mustSet(t, c, "short", "s", 20*time.Millisecond)
			time.Sleep(60 * time.Millisecond)
			if ok, err := c.CompareAndSwap(ctx, "short", []byte("s"), []byte("t"), time.Minute); ok || err != nil {
				t.Errorf("swapped over an expired key: %v %v", ok, err)
			}

			// Counters from 8 writers, each read-modify-swap in a loop: no
			// increment is lost.
			mustSet(t, c, "n", "0", time.Minute)
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for range 25 {
						for {
							raw, _, err := c.Get(ctx, "n")
							if err != nil {
								t.Error(err)
								return
							}
							var n int
							fmt.Sscan(string(raw), &n)
							ok, err := c.CompareAndSwap(ctx, "n", raw, []byte(fmt.Sprint(n+1)), time.Minute)
							if err != nil {
								t.Error(err)
								return
							}
							if ok {
								break
							}
						}
					}
				})
			}
			wg.Wait()
			if got := get(t, c, "n"); got != "200" {
				t.Errorf("8 writers x 25 increments = %s, want 200", got)
			}
		})
	}
}
