package main

import (
	"slices"
	"strings"
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
	for _, c := range []struct {
		server string
		env    map[string]string
		miss   string
		child  []string
	}{
		{"crm", nil, "", nil},
		{"aws", nil, "", nil},
		{"github", nil, "GITHUB_TOKEN", nil},
		{"github", map[string]string{"GITHUB_TOKEN": "x"}, "", []string{"MCPFLEET_GITHUB_TOKEN=env:GITHUB_TOKEN"}},
		{"github", map[string]string{"MCPFLEET_GITHUB_TOKEN": "x"}, "", nil},
		{"slack", nil, "SLACK_TOKEN", nil},
		{"slack", map[string]string{"SLACK_TOKEN": "x"}, "", []string{"MCPFLEET_SLACK_TOKEN=env:SLACK_TOKEN"}},
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
