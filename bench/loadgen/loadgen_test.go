package loadgen_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/bench/echo"
	"github.com/mcpfleet/mcpfleet/bench/loadgen"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

// TestDriver runs the driver against a real server with JSON and SSE
// responses, stateless, and speaking 2026-07-28 (to a stateful and a
// stateless server): every call must complete and be counted, a failing
// call must be counted as one, and one pool's sessions must serve several
// slices whose results merge.
func TestDriver(t *testing.T) {
	for _, tc := range []struct {
		name            string
		json, stateless bool
		revision        string
	}{{"json", true, false, ""}, {"sse", false, false, ""}, {"stateless", false, true, ""},
		{"2026 on stateful", false, false, loadgen.Sessionless}, {"2026 on stateless", false, true, loadgen.Sessionless}} {
		t.Run(tc.name, func(t *testing.T) {
			h := coretest.Start(t, coretest.Options{Modules: []fx.Option{echo.Module}, Config: func(c *config.Config) {
				c.Transport = "http"
				c.HTTP.Addr = "127.0.0.1:0"
				c.HTTP.JSONResponse = tc.json
				c.HTTP.Stateless = tc.stateless
				c.Auth.Disabled = true
			}})
			target := loadgen.Target{URL: h.URL(), Stateless: tc.stateless, Revision: tc.revision}
			res, err := loadgen.Run(context.Background(), loadgen.NewClient(2), target,
				loadgen.Load{Sessions: 2, Duration: 300 * time.Millisecond, Tool: "echo", Args: json.RawMessage(`{"message":"hi"}`)})
			if err != nil {
				t.Fatal(err)
			}
			if res.Calls == 0 || res.Errors != 0 || res.P50 <= 0 || res.P99 < res.P50 {
				t.Errorf("result %+v", res)
			}
			bad, err := loadgen.Run(context.Background(), loadgen.NewClient(1), target,
				loadgen.Load{Sessions: 1, Duration: 100 * time.Millisecond, Tool: "echo", Args: json.RawMessage(`{"wrong":1}`)})
			if err != nil {
				t.Fatal(err)
			}
			if bad.Calls != 0 || bad.Errors == 0 || bad.FirstError == "" {
				t.Errorf("failing calls not counted as errors: %+v", bad)
			}

			// A pool's sessions serve several slices, and the slices merge.
			pool, err := loadgen.Open(context.Background(), loadgen.NewClient(2), target, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			a := pool.Run(context.Background(), 100*time.Millisecond, "echo", json.RawMessage(`{"message":"a"}`))
			b := pool.Run(context.Background(), 100*time.Millisecond, "echo", json.RawMessage(`{"message":"b"}`))
			m := loadgen.Merge(a, b)
			if a.Calls == 0 || b.Calls == 0 || a.Errors+b.Errors != 0 {
				t.Fatalf("slices on one pool: %+v, %+v", a, b)
			}
			if m.Calls != a.Calls+b.Calls || m.Elapsed != a.Elapsed+b.Elapsed ||
				m.P50 < min(a.P50, b.P50) || m.P50 > max(a.P50, b.P50) || m.P99 < m.P50 {
				t.Errorf("Merge(%+v, %+v) = %+v", a, b, m)
			}
		})
	}
}
