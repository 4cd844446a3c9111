package cache

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// counters collects every counter data point as "name{k=v,...}" -> value.
func counters(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				out[m.Name+"{"+dp.Attributes.Encoded(attribute.DefaultEncoder())+"}"] += dp.Value
			}
		}
	}
	return out
}

func TestMemoryMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })

	c, err := NewMemory(MemoryOptions{Name: "crm", MaxBytes: 20, Meters: mp})
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{now: time.Unix(1000, 0)}
	c.now = clk.Now
	ctx := context.Background()

	mustSet(t, c, "a", "123456789", time.Second) // 10 bytes
	mustSet(t, c, "b", "123456789", 0)
	get(t, c, "a")                            // hit
	get(t, c, "zz")                           // miss
	mustSet(t, c, "c", "123456789", 0)        // evicts b: capacity
	clk.Advance(time.Second)                  //
	mustSet(t, c, "d", "123456789", 0)        // evicts a, expired
	get(t, c, "c")                            // hit
	_ = c.Set(ctx, "e", make([]byte, 100), 0) // too large: error
	_, _, _ = c.Get(ctx, "")                  // empty key: error
	mustSet(t, c, "x", "1", time.Second)      // evicts c: capacity
	clk.Advance(time.Second)                  //
	get(t, c, "x")                            // expired on lookup: miss + eviction

	// Attributes are encoded sorted by key.
	base := "cache.backend=memory,cache.name=crm"
	want := map[string]int64{
		"mcpfleet.cache.hits{" + base + "}":                                                            2,
		"mcpfleet.cache.misses{" + base + "}":                                                          2,
		"mcpfleet.cache.errors{" + base + ",cache.operation=get}":                                      1,
		"mcpfleet.cache.errors{" + base + ",cache.operation=set}":                                      1,
		"mcpfleet.cache.evictions{cache.backend=memory,cache.eviction.reason=capacity,cache.name=crm}": 2,
		"mcpfleet.cache.evictions{cache.backend=memory,cache.eviction.reason=expired,cache.name=crm}":  2,
	}
	got := counters(t, reader)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected data point %s = %d", k, got[k])
		}
	}
}
