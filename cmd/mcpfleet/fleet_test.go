package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
)

func TestUpRefusesNonLoopback(t *testing.T) {
	for _, cmd := range []string{"up", "run"} {
		code, _, errOut := mcpfleet(t, cmd, "--addr", "0.0.0.0:8080")
		if code != 2 || !strings.Contains(errOut, "not a loopback address") {
			t.Errorf("%s: exit %d: %s", cmd, code, errOut)
		}
	}
}

func TestAPIKeyNew(t *testing.T) {
	code, out, _ := mcpfleet(t, "apikey", "new", "--id", "ci-bot")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var key, sum string
	for line := range strings.SplitSeq(out, "\n") {
		if k, ok := strings.CutPrefix(line, "key (give it to the client; it is not stored anywhere): "); ok {
			key = k
		}
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "sha256: "); ok {
			sum = s
		}
	}
	if !strings.HasPrefix(key, authn.APIKeyPrefix) || len(key) < 40 || sum != authn.HashAPIKey(key) {
		t.Errorf("key %q, sha256 %q:\n%s", key, sum, out)
	}
	if code, _, _ := mcpfleet(t, "apikey", "new"); code != 2 {
		t.Errorf("missing --id: exit %d", code)
	}
}

func TestServerTableCredentials(t *testing.T) {
	byName := map[string]fleetServer{}
	for _, s := range fleetTable {
		byName[s.name] = s
	}
	t.Setenv("HOME", t.TempDir()) // no ~/.aws here
	for _, c := range []struct {
		server string
		env    map[string]string
		miss   string
		child  []string
	}{
		{"crm", nil, "", nil},
		{"aws", map[string]string{"HOME": "/nonexistent"}, "AWS_PROFILE", []string{"MCPFLEET_AWS_REGIONS=us-east-1"}},
		// Without a config file the AWS server gets one account on the
		// default chain, in the environment's region.
		{"aws", map[string]string{"AWS_PROFILE": "dev"}, "", []string{"MCPFLEET_AWS_REGIONS=us-east-1"}},
		{"aws", map[string]string{"AWS_PROFILE": "dev", "AWS_REGION": "eu-west-1"}, "", []string{"MCPFLEET_AWS_REGIONS=eu-west-1"}},
		{"aws", map[string]string{"AWS_PROFILE": "dev", "MCPFLEET_CONFIG": "fleet.yaml"}, "", nil},
		{"github", nil, "GITHUB_TOKEN", nil},
		{"github", map[string]string{"GITHUB_TOKEN": "x"}, "", []string{"MCPFLEET_GITHUB_TOKEN=env:GITHUB_TOKEN"}},
		{"github", map[string]string{"MCPFLEET_GITHUB_TOKEN": "x"}, "", nil},
		{"slack", nil, "SLACK_TOKEN", nil},
		{"slack", map[string]string{"SLACK_TOKEN": "x"}, "", []string{"MCPFLEET_SLACK_TOKEN=env:SLACK_TOKEN"}},
		// A user token alone runs the server (search and unreads need it).
		{"slack", map[string]string{"SLACK_USER_TOKEN": "x"}, "", []string{"MCPFLEET_SLACK_USER_TOKEN=env:SLACK_USER_TOKEN"}},
		{"slack", map[string]string{"SLACK_TOKEN": "x", "MCPFLEET_SLACK_USER_TOKEN": "y"}, "", []string{"MCPFLEET_SLACK_TOKEN=env:SLACK_TOKEN"}},
	} {
		getenv := func(k string) string { return c.env[k] }
		s := byName[c.server]
		miss := s.missingCreds(getenv)
		if got := ""; len(miss) > 0 {
			got = miss[0].alias
			if got != c.miss {
				t.Errorf("%s %v: missing %q, want %q", c.server, c.env, got, c.miss)
			}
		} else if c.miss != "" {
			t.Errorf("%s %v: nothing missing, want %q", c.server, c.env, c.miss)
		}
		if got := s.credEnv(getenv); !slices.Equal(got, c.child) {
			t.Errorf("%s %v: child env %v, want %v", c.server, c.env, got, c.child)
		}
	}
}

// TestCLIHelpAndVersion: asked-for help is output with exit 0 and the
// right command path; the version answers to both spellings.
func TestCLIHelpAndVersion(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--help"}, "usage: mcpfleet run ["},
		{[]string{"up", "--help"}, "usage: mcpfleet up ["},
		{[]string{"up", "-h"}, "-servers string"},
		{[]string{"hostconfig", "--help"}, "usage: mcpfleet hostconfig --client"},
		{[]string{"catalog", "-help"}, "usage: mcpfleet catalog --out DIR"},
		{[]string{"install", "--help"}, "usage: mcpfleet install --dir DIR"},
		{[]string{"apikey", "new", "--help"}, "usage: mcpfleet apikey new --id NAME"},
		{[]string{"policy", "check", "--help"}, "usage: mcpfleet policy check FILE..."},
	} {
		code, out, errOut := mcpfleet(t, c.args...)
		if code != 0 || !strings.Contains(out, c.want) || strings.Contains(out, "mcpfleet mcpfleet") || errOut != "" {
			t.Errorf("%v: exit %d\nstdout %q\nstderr %q", c.args, code, out, errOut)
		}
	}
	for _, args := range [][]string{{"--version"}, {"version"}, {"-version"}} {
		code, out, _ := mcpfleet(t, args...)
		if code != 0 || !strings.HasPrefix(out, "mcpfleet ") || len(strings.Fields(out)) < 2 {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
}

// TestHelpColumnsAligned: every command's summary starts in one column.
func TestHelpColumnsAligned(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"policy", "help"}, {"audit", "help"}} {
		_, out, _ := mcpfleet(t, args...)
		col := -1
		lines := 0
		for _, line := range strings.Split(out, "\n") {
			if !strings.HasPrefix(line, "  ") {
				continue
			}
			// The summary starts after the first run of 3+ spaces past
			// the command column.
			i := strings.Index(line[2:], "   ")
			if i < 0 {
				t.Errorf("%v: no column gap in %q", args, line)
				continue
			}
			start := 2 + i + len(line[2+i:]) - len(strings.TrimLeft(line[2+i:], " "))
			if col >= 0 && start != col {
				t.Errorf("%v: summary at column %d, others at %d:\n%s", args, start, col, out)
			}
			col = start
			lines++
		}
		if lines < 1 {
			t.Errorf("%v: %d command lines:\n%s", args, lines, out)
		}
	}
}

// TestWaitReadyUpstreamDown: a remote server whose only failing readiness
// checks are its upstream's is serving, and up says why it is not ready;
// any other failing check (or a local server's) keeps up waiting.
func TestWaitReadyUpstreamDown(t *testing.T) {
	byName := map[string]fleetServer{}
	for _, s := range fleetTable {
		byName[s.name] = s
	}
	const upstreamDown = `{"status":"unavailable","checks":{"cache":{"status":"ok"},"slack_main":{"status":"unavailable","error":"slack workspace \"main\" cannot be reached"}}}`
	const cacheDown = `{"status":"unavailable","checks":{"cache":{"status":"unavailable","error":"redis down"},"slack_main":{"status":"ok"}}}`
	for _, c := range []struct {
		server, body string
		serving      bool
	}{
		{"slack", upstreamDown, true},
		{"slack", cacheDown, false},
		{"crm", `{"status":"unavailable","checks":{"crm_database":{"status":"unavailable","error":"opening"}}}`, false},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var requests atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if requests.Add(1) == 3 {
				cancel() // still waiting after three answers: enough
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(c.body))
		}))
		ch := &child{server: byName[c.server], addr: strings.TrimPrefix(srv.URL, "http://"), done: make(chan struct{})}
		notReady, err := waitReady(ctx, ch)
		srv.Close()
		cancel()
		if c.serving && (err != nil || !strings.Contains(notReady, `slack_main: slack workspace "main" cannot be reached`)) {
			t.Errorf("%s %s: notReady %q, err %v; want serving with the reason", c.server, c.body, notReady, err)
		}
		if !c.serving && (notReady != "" || err == nil) {
			t.Errorf("%s %s: notReady %q, err %v; want still waiting", c.server, c.body, notReady, err)
		}
	}
}
