package cache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core/cache"
)

func ExampleMemory() {
	c, err := cache.NewMemory(cache.MemoryOptions{Name: "github", MaxBytes: 1 << 20})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	// Include everything the answer depends on in the key.
	key := "repo:octo-org/octo-repo:v1"
	if _, ok, err := c.Get(ctx, key); err != nil || !ok {
		// A miss (or a cache error, treated the same): ask the upstream,
		// then remember the answer.
		_ = c.Set(ctx, key, []byte(`{"stars":42}`), 5*time.Minute)
	}
	v, ok, _ := c.Get(ctx, key)
	fmt.Println(string(v), ok)
	// Output: {"stars":42} true
}
