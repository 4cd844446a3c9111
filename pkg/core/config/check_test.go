package config

import (
	"errors"
	"strings"
	"testing"
)

// TestProblemsAtTheirLines: every problem in every section is reported,
// each at the line of the file where it is written.
func TestProblemsAtTheirLines(t *testing.T) {
	file := `server:
  name: demo
http:
  addr: "127.0.0.1:9000"
  adr: x
limits:
  max_concurrent_calls: lots
  tool_timeout: soon
auth:
  oidc:
    isuer: https://issuer.example
crm:
  drver: sqlite
`
	d, err := Parse(nil, []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	d.CollectErrors()
	c := NewDefaultConfig()
	if err := c.Decode(d); err != nil {
		t.Fatalf("collecting: Decode returned %v", err)
	}
	var crm struct {
		Driver string `yaml:"driver"`
	}
	if err := d.Section("crm", &crm); err != nil {
		t.Fatal(err)
	}
	got := d.Err()
	if got == nil {
		t.Fatal("no problems reported")
	}
	for _, want := range []string{
		"config section http: line 5: unknown key http.adr (did you mean addr?)",
		"config section limits: line 7: cannot unmarshal !!str `lots` into int",
		"config section limits: line 8: cannot unmarshal !!str `soon` into time.Duration",
		"config section auth: line 11: unknown key auth.oidc.isuer (did you mean issuer?)",
		"config section crm: line 13: unknown key crm.drver (did you mean driver?)",
	} {
		if !strings.Contains(got.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, got)
		}
	}
	if c.HTTP.Addr != "127.0.0.1:9000" {
		t.Errorf("good keys beside bad ones must still decode: addr = %q", c.HTTP.Addr)
	}

	// Without CollectErrors, Section returns the same problems at once.
	d2, _ := Parse(nil, []byte(file))
	c2 := NewDefaultConfig()
	err = c2.Decode(d2)
	if err == nil || !strings.Contains(err.Error(), "line 5") || !strings.Contains(err.Error(), "line 11") {
		t.Errorf("Decode = %v", err)
	}
}

func TestUnknownKeysInListsAndMaps(t *testing.T) {
	d, _ := Parse(nil, []byte("auth:\n  api_keys:\n    - id: a\n      sha265: x\n"))
	c := NewDefaultConfig()
	err := c.Decode(d)
	if err == nil || !strings.Contains(err.Error(), "line 4: unknown key auth.api_keys[0].sha265 (did you mean sha256?)") {
		t.Errorf("Decode = %v", err)
	}
}

func TestCheckEnv(t *testing.T) {
	vars := map[string]string{"MCPFLEET_HTTP_ADDR": "127.0.0.1:1", "MCPFLEET_APPROVAL_KEY": "k"}
	d, _ := Parse(env(vars), []byte("crm: {}\ncache: {redis_url: env:MCPFLEET_APPROVAL_KEY}\n"))
	c := NewDefaultConfig()
	if err := c.Decode(d); err != nil {
		t.Fatal(err)
	}
	var crm struct {
		Driver string `yaml:"driver"`
	}
	if err := d.Section("crm", &crm); err != nil {
		t.Fatal(err)
	}
	ok := []string{
		"MCPFLEET_HTTP_ADDR=127.0.0.1:1",
		"MCPFLEET_CRM_DRIVER=sqlite",
		"MCPFLEET_APPROVAL_KEY=k",              // read by a secret reference
		"MCPFLEET_CONFIG=/etc/mcp.yaml",        // the config file
		"MCPFLEET_TEST_POSTGRES_DSN=postgres:", // test databases
		"MCPFLEET_GITHUB_TOKEN=env:GH",         // another server's section
		"HOME=/root",
	}
	if err := d.CheckEnv(ok); err != nil {
		t.Errorf("valid environment refused: %v", err)
	}
	err := d.CheckEnv(append(ok, "MCPFLEET_HTTP_ADRR=x", "MCPFLEET_CRM_DRVER=postgres", "MCPFLEET_HTTPP_PATH=/m", "MCPFLEET_CRM_NOTHING_LIKE_IT=1"))
	if err == nil {
		t.Fatal("typos accepted")
	}
	for _, want := range []string{
		"MCPFLEET_HTTP_ADRR sets no config key; did you mean MCPFLEET_HTTP_ADDR?",
		"MCPFLEET_CRM_DRVER sets no config key; did you mean MCPFLEET_CRM_DRIVER?",
		"MCPFLEET_HTTPP_PATH sets no config key; did you mean MCPFLEET_HTTP_PATH?",
		"MCPFLEET_CRM_NOTHING_LIKE_IT sets no config key; --print-config shows the keys",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if n := len(strings.Split(err.Error(), "\n")); n != 4 {
		t.Errorf("%d problems reported, want 4: %v", n, err)
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Error("problems are not joined")
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"ADRR", "ADDR", 1}, {"DRVER", "DRIVER", 1}, {"abc", "abc", 0}, {"", "abc", 3}, {"ab", "ba", 1}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestAPIKeysFromEnvironment(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	list := "[{id: ci-bot, sha256: " + hash + ", groups: [bots]}]"
	for name, vars := range map[string]map[string]string{
		"literal":   {"MCPFLEET_AUTH_API_KEYS_FROM": list},
		"reference": {"MCPFLEET_AUTH_API_KEYS_FROM": "env:CI_KEYS", "CI_KEYS": list},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := decode(t, env(vars), "auth:\n  api_keys:\n    - {id: laptop, sha256: "+strings.Repeat("cd", 32)+"}\n")
			if len(c.Auth.APIKeys) != 2 || c.Auth.APIKeys[1].ID != "ci-bot" || c.Auth.APIKeys[1].SHA256 != hash || c.Auth.APIKeys[1].Groups[0] != "bots" {
				t.Fatalf("api_keys = %+v", c.Auth.APIKeys)
			}
			c.Transport = TransportHTTP
			if err := c.Validate(); err != nil {
				t.Errorf("valid keys refused: %v", err)
			}
		})
	}
	d, _ := Parse(env(map[string]string{"MCPFLEET_AUTH_API_KEYS_FROM": "[{id: x, sha: mcpk_secretvalue}]"}))
	c := NewDefaultConfig()
	err := c.Decode(d)
	if err == nil || !strings.Contains(err.Error(), "auth.api_keys_from ([redacted])") || strings.Contains(err.Error(), "mcpk_secretvalue") {
		t.Errorf("bad list: %v", err)
	}
}
