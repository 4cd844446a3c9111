package slack_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/bench/echo"
	"github.com/mcpfleet/mcpfleet/bench/loadgen"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/pkg/observability"
	"github.com/mcpfleet/mcpfleet/pkg/policy"
	"github.com/mcpfleet/mcpfleet/servers/slack"
	"github.com/mcpfleet/mcpfleet/servers/slack/internal/fakeslack"
)

// slackTiers are Slack's published requests per minute per tier.
var slackTiers = map[int]float64{1: 1, 2: 20, 3: 50, 4: 100}

// fakeTiers maps the methods the warm-up calls to their tiers, as the
// server's own table does.
var fakeTiers = map[string]int{"users.list": 2, "conversations.list": 2, "users.info": 4, "conversations.info": 3, "auth.test": 4}

// BenchmarkWarmUp starts the Slack server against a fake workspace of
// 50,000 users and 20,000 channels that enforces Slack's tier limits
// (429 ratelimited with Retry-After), with the server's tier limiter set
// to the published rates and bursts (the fake allows a quarter more, as
// Slack's "20+ per minute" does). Slack's real rates would make one run take some
// fourteen minutes (250 users.list pages at 20 a minute), so both sides
// run SLACK_BENCH_TIER_SCALE (default 100) times faster; real-time
// figures are the measured ones times the scale. Run it alone:
//
//	go test -run '^$' -bench BenchmarkWarmUp -benchtime 1x ./servers/slack/
//
// Reported: init-ms (start of the server to the first initialize answer,
// over the in-memory transport: it must not wait for the warm-up),
// complete-s (start to both directories complete), complete-real-min
// (the same at Slack's real rates), upstream-calls (requests the fake
// received for the warm-up, 429s included), ratelimited (of those, the
// ones the fake refused).
func BenchmarkWarmUp(b *testing.B) {
	scale := 100.0
	if v := os.Getenv("SLACK_BENCH_TIER_SCALE"); v != "" {
		var err error
		if scale, err = strconv.ParseFloat(v, 64); err != nil || scale <= 0 {
			b.Fatalf("SLACK_BENCH_TIER_SCALE %q", v)
		}
	}
	tiers, fakeRPM := map[int]float64{}, map[int]float64{}
	for k, v := range slackTiers {
		tiers[k] = v * scale
		// Slack documents its tiers as "20+ per minute" and so on: the
		// fake allows a quarter more than the client sends, so a client
		// that keeps to the published rate is not refused for jitter.
		fakeRPM[k] = v * scale * 1.25
	}
	var initDur, complete time.Duration
	var calls, limited int
	for b.Loop() {
		fake := fakeslack.New(b, fakeslack.Options{Users: 50_000, Channels: 20_000, TierRPM: fakeRPM, Tiers: fakeTiers, BurstSeconds: 6 / scale})
		tierYAML := fmt.Sprintf("{1: %g, 2: %g, 3: %g, 4: %g}", tiers[1], tiers[2], tiers[3], tiers[4])
		yaml := fmt.Sprintf(`server: {name: slack}
log: {level: warn}
cache: {max_bytes: 256MiB}
slack:
  workspaces:
    big:
      api_url: %s
      token: %s
  cache: {warm_up: true, users_page_size: 200, channels_page_size: 1000, retry_after: 1s}
  limits: {tiers: %s, post_per_minute: %g, burst_seconds: %g}
`, fake.URL(), fakeslack.BotToken, tierYAML, 60*scale, 6/scale)
		start := time.Now()
		h := coretest.Start(b, coretest.Options{YAML: yaml, Modules: []fx.Option{slack.Module}})
		cs := h.Connect(b, nil)
		initDur = time.Since(start)
		s := &server{t: b, cs: cs, fake: fake, harness: h}
		for {
			out := s.ok("get_workspace", obj{})
			if str(out, "users_directory.status") == "complete" && str(out, "channels_directory.status") == "complete" {
				if field(out, "users_directory.loaded") != float64(50_004) || field(out, "channels_directory.loaded") != float64(20_006) {
					b.Fatalf("incomplete directory served as complete: %v", out)
				}
				break
			}
			if time.Since(start) > 5*time.Minute {
				b.Fatalf("warm-up not complete after 5 minutes: %v", out)
			}
			time.Sleep(20 * time.Millisecond)
		}
		complete = time.Since(start)
		calls, limited = 0, 0
		for _, r := range fake.Requests() {
			if r.Method == "users.list" || r.Method == "conversations.list" {
				calls++
			}
		}
		limited = fake.Limited()
		_ = cs.Close()
	}
	b.ReportMetric(float64(initDur.Microseconds())/1000, "init-ms")
	b.ReportMetric(complete.Seconds(), "complete-s")
	b.ReportMetric(complete.Minutes()*scale, "complete-real-min")
	b.ReportMetric(float64(calls), "upstream-calls")
	b.ReportMetric(float64(limited), "ratelimited")
}

// BenchmarkChannelHistory drives get_channel_history over Streamable HTTP
// from 16 sessions (bench/loadgen), through the full production chain:
// API-key authentication, observability, policy with audit to a file, the
// Slack module and slack-go over core's upstream transport, against the
// loopback fake Slack. Run it alone:
//
//	go test -run '^$' -bench BenchmarkChannelHistory -benchtime 1x ./servers/slack/
//
// SLACK_BENCH_DURATION (default 5s) sets each measurement. Sub-benchmarks:
// echo (the trivial tool in the same server and chain: the stack's
// ceiling at this moment), warm (user and channel directories loaded
// before the run: names resolve without calls; one conversations.history
// per call) and cold (no warm-up: the first calls fetch the channel and
// each author on their own, later ones find them in the directory). The
// tier limiter is off here (it would hold conversations.history to 50 a
// minute): this measures the server, not the limiter.
func BenchmarkChannelHistory(b *testing.B) {
	duration := 5 * time.Second
	if v := os.Getenv("SLACK_BENCH_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		duration = d
	}
	args := json.RawMessage(`{"channel":"C0GENERAL","limit":"20"}`)
	for _, mode := range []struct{ name, tool, warm string }{
		{"echo", "echo", "false"},
		{"warm", "get_channel_history", "true"},
		{"cold", "get_channel_history", "false"},
	} {
		b.Run(mode.name, func(b *testing.B) {
			fake := fakeslack.New(b, fakeslack.Options{Users: 2000, Channels: 500})
			key := "mcpk_bench_key_0123456789abcdef0123456789"
			audit := filepath.Join(b.TempDir(), "audit.jsonl")
			yaml := fmt.Sprintf(`server: {name: slack}
transport: http
http: {addr: "127.0.0.1:0"}
auth:
  api_keys: [{id: bench, sha256: %q}]
log: {level: warn}
policy:
  audit:
    sinks: [{type: file, path: %q}]
slack:
  workspaces:
    main:
      api_url: %s
      token: %s
  cache: {warm_up: %s}
  limits: {tiers: {1: 1e9, 2: 1e9, 3: 1e9, 4: 1e9}}
`, authn.HashAPIKey(key), audit, fake.URL(), fakeslack.BotToken, mode.warm)
			h := coretest.Start(b, coretest.Options{YAML: yaml, Modules: []fx.Option{slack.Module, echo.Module, observability.Module, policy.Module}})
			if mode.warm == "true" {
				s := &server{t: b, cs: h.ConnectHTTP(b, coretest.BearerClient(key)), fake: fake, harness: h}
				waitDirectory(b, s, "main")
			}
			a := args
			if mode.tool == "echo" {
				a = json.RawMessage(`{"message":"hi"}`)
			}
			client := loadgen.NewClient(16)
			defer client.CloseIdleConnections()
			before := fake.Total()
			res := loadgen.Bench(b, client, loadgen.Target{URL: h.URL(), Token: key}, loadgen.Load{
				Sessions: 16, Duration: duration, Tool: mode.tool, Args: a,
			})
			if res.Calls > 0 {
				b.ReportMetric(float64(fake.Total()-before)/float64(res.Calls), "upstream/call")
			}
		})
	}
}
