package github_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/servers/github"
	"github.com/mcpfleet/mcpfleet/servers/github/internal/fakegithub"
)

func decodeConfig(t *testing.T, yaml string, env map[string]string) (github.Config, error) {
	t.Helper()
	doc, err := config.Parse(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, []byte(yaml))
	if err != nil {
		return github.Config{}, err
	}
	cfg := github.NewDefaultConfig()
	if err := doc.Section(github.SectionName, &cfg); err != nil {
		return github.Config{}, err
	}
	if err := cfg.Normalize(); err != nil {
		return github.Config{}, err
	}
	return cfg, cfg.Validate()
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       string // "" means valid
	}{
		{"nothing", "", "no connection configured; set MCPFLEET_GITHUB_TOKEN"},
		{"shorthand", "github:\n  token: x\n", ""},
		{"both forms", "github:\n  token: x\n  connections:\n    a: {token: y}\n", "set either github.token"},
		{"no auth", "github:\n  connections:\n    a: {base_url: 'https://ghe.example.com'}\n", "set token (a personal access token) or app"},
		{"two auths", "github:\n  connections:\n    a: {token: x, app: {app_id: 1, installation_id: 2, private_key: k}}\n", "set either token or app, not both"},
		{"app incomplete", "github:\n  connections:\n    a: {app: {app_id: 1}}\n", "app.installation_id must be a positive number"},
		{"bad url", "github:\n  connections:\n    a: {token: x, base_url: 'ftp://x'}\n", "is not an http(s) URL"},
		{"url with credentials", "github:\n  connections:\n    a: {token: x, base_url: 'https://u:p@ghe.example.com'}\n", "without credentials"},
		{"bad name", "github:\n  connections:\n    Bad Name: {token: x}\n", "name must be 1-32 lower case"},
		{"no default", "github:\n  connections:\n    a: {token: x}\n    b: {token: y}\n", "exactly one connection must have default: true (found 0"},
		{"two defaults", "github:\n  connections:\n    a: {token: x, default: true}\n    b: {token: y, default: true}\n", "(found 2: a, b)"},
		{"one default", "github:\n  connections:\n    a: {token: x, default: true}\n    b: {token: y}\n", ""},
		{"bad allow", "github:\n  connections:\n    a: {token: x, allow: ['a/b/c']}\n", "is not an owner or owner/repository"},
		{"bad glob", "github:\n  connections:\n    a: {token: x, allow: ['a/[']}\n", "bad glob"},
		{"unknown key", "github:\n  connections:\n    a: {token: x, tokn: y}\n", "field tokn not found"},
		{"upstream kept defaults", "github:\n  connections:\n    a: {token: x, upstream: {timeout: 5s}}\n", ""},
		{"bad upstream", "github:\n  connections:\n    a: {token: x, upstream: {timeout: 0s}}\n", "github.connections.a.upstream: upstream github-a: timeout must be positive"},
		{"bad cache", "github:\n  token: x\n  cache: {ttl: 2h, keep: 1h}\n", "keep (1h0m0s) must be at least github.cache.ttl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeConfig(t, tc.yaml, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("valid config refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	cfg, err := decodeConfig(t, "", map[string]string{"MCPFLEET_GITHUB_TOKEN": "env:GH_TOKEN", "GH_TOKEN": "ghp_secret", "MCPFLEET_GITHUB_CACHE_TTL": "5s"})
	if err != nil {
		t.Fatal(err)
	}
	conn := cfg.Connections[github.DefaultConnectionName]
	if conn.Token.Reveal() != "ghp_secret" || !conn.Default || cfg.Cache.TTL.String() != "5s" || conn.Upstream.Name != "github-default" {
		t.Errorf("config from the environment: %+v", cfg)
	}
	if strings.Contains(conn.Token.String(), "ghp_secret") {
		t.Error("the token prints")
	}
}

// TestSeveralConnections: two accounts at once, each call on the one it
// names (or the default), each with its own credential and rules.
func TestSeveralConnections(t *testing.T) {
	other := fakegithub.New(t, fakegithub.Options{Token: "ghp_enterprise"})
	s := startServer(t, setup{connections: "    dotcom:\n      base_url: {{URL}}\n      token: {{TOKEN}}\n      default: true\n" +
		"    ghe:\n      base_url: " + other.URL() + "\n      token: ghp_enterprise\n      read_only: true\n"})
	s.ok("get_repository", hello)
	s.ok("get_repository", merge(hello, obj{"connection": "ghe"}))
	if s.fake.Count() != 1 || other.Count() != 1 {
		t.Errorf("requests: default fake %d, enterprise fake %d; want 1 each", s.fake.Count(), other.Count())
	}
	if got := other.Requests()[0]; got.Auth != "Bearer ghp_enterprise" {
		t.Errorf("enterprise request authorized with %q", got.Auth)
	}
	if msg := s.fails("create_issue", with(obj{"title": "x", "connection": "ghe"})); !strings.Contains(msg, `connection "ghe" is read-only`) {
		t.Errorf("write on the read-only connection: %s", msg)
	}
	s.ok("create_issue", with(obj{"title": "x"}))
	me := s.ok("get_me", obj{"connection": "ghe"})
	if str(me, "connection") != "ghe" || field(me, "read_only") != true {
		t.Errorf("get_me on ghe = %v", me)
	}
}

// TestMissingConnectionFailsStartup: the server refuses to start, with one
// line saying what to set.
func TestMissingConnectionFailsStartup(t *testing.T) {
	_, err := coretest.New(coretest.Options{YAML: "server:\n  name: github\n", Modules: []fx.Option{github.Module}})
	if err == nil || !strings.Contains(err.Error(), "github: no connection configured; set MCPFLEET_GITHUB_TOKEN") {
		t.Errorf("startup without a connection: %v", err)
	}
}

// TestReadmeConfigExample keeps the README's config example valid.
func TestReadmeConfigExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README has no yaml example")
	}
	key := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(key, []byte("not parsed by Validate"), 0o600); err != nil {
		t.Fatal(err)
	}
	example = strings.ReplaceAll(example, "/etc/mcp/app.pem", key)
	cfg, err := decodeConfig(t, example, map[string]string{"GITHUB_TOKEN": "ghp_x"})
	if err != nil {
		t.Fatalf("README example: %v", err)
	}
	if len(cfg.Connections) != 2 || !cfg.Connections["dotcom"].Default || cfg.Connections["ghe"].Upstream.Retry.MaxRetries != 3 ||
		cfg.Limits.MaxFileBytes != 200<<10 {
		t.Errorf("README example decoded to %+v", cfg)
	}
}
