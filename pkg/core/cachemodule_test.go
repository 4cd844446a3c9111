package core_test

import (
	"context"
	"testing"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/cache"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

// The cache is a module of its own: core.Module alone provides none, and
// with CacheModule the backend exists from start to stop.
func TestCacheModule(t *testing.T) {
	if _, err := coretest.New(coretest.Options{Modules: []fx.Option{fx.Invoke(func(cache.Cache) {})}}); err == nil {
		t.Fatal("core.Module alone provided a cache")
	}
	if _, err := coretest.New(coretest.Options{Modules: []fx.Option{fx.Invoke(func(*core.Upstreams) {})}}); err == nil {
		t.Fatal("core.Module alone provided the upstream factory")
	}

	var c cache.Cache
	h := coretest.Start(t, coretest.Options{Modules: []fx.Option{core.CacheModule, core.UpstreamModule, fx.Populate(&c)}})
	ctx := context.Background()
	if err := c.Set(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.Get(ctx, "k"); err != nil || !ok || string(v) != "v" {
		t.Fatalf("Get = %q %v %v", v, ok, err)
	}
	if err := h.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get(ctx, "k"); err == nil {
		t.Error("the cache answered after the app stopped")
	}
}
