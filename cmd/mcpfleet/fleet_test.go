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
	t.Setenv("HOME", t.TempDir()) // no ~/.aws here
	for _, c := range []struct {
		server string
		env    map[string]string
		miss   string
		child  []string
	}{
		{"crm", nil, "", nil},
		{"aws", map[string]string{"HOME": "/nonexistent"}, "AWS_PROFILE", nil},
		{"aws", map[string]string{"AWS_PROFILE": "dev"}, "", nil},
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
