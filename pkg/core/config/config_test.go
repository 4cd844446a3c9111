package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func decode(t *testing.T, lookup func(string) (string, bool), layers ...string) (Config, *Document) {
	t.Helper()
	var bs [][]byte
	for _, l := range layers {
		bs = append(bs, []byte(l))
	}
	d, err := Parse(lookup, bs...)
	if err != nil {
		t.Fatal(err)
	}
	c := NewDefaultConfig()
	if err := c.Decode(d); err != nil {
		t.Fatal(err)
	}
	return c, d
}

func TestLayersEnvAndFlags(t *testing.T) {
	defaults := `
server: {name: crm, title: CRM}
transport: http
http: {addr: "127.0.0.1:9000", allowed_hosts: [a.example]}
`
	file := `
http:
  addr: "127.0.0.1:9100"
  max_body_bytes: 2MiB
tools: {toolsets: [contacts]}
`
	c, _ := decode(t, env(map[string]string{
		"MCPFLEET_HTTP_SESSION_TIMEOUT": "5m",
		"MCPFLEET_TOOLS_DISABLED":       "a, b",
		"MCPFLEET_LIMITS_TOOL_TIMEOUT":  "7s",
		"MCPFLEET_AUTH_DISABLED":        "true",
	}), defaults, file)
	Flags{Addr: "127.0.0.1:9200", ReadOnly: true}.Apply(&c)

	if c.Server.Name != "crm" || c.Server.Title != "CRM" {
		t.Errorf("server from defaults lost: %+v", c.Server)
	}
	if c.HTTP.Addr != "127.0.0.1:9200" {
		t.Errorf("flag did not win: %s", c.HTTP.Addr)
	}
	if c.HTTP.MaxBodyBytes != 2<<20 {
		t.Errorf("max_body_bytes = %d", c.HTTP.MaxBodyBytes)
	}
	if got := c.HTTP.AllowedHosts; len(got) != 1 || got[0] != "a.example" {
		t.Errorf("merge lost a sibling key from defaults: %v", got)
	}
	if c.HTTP.SessionTimeout != 5*time.Minute || c.Limits.ToolTimeout != 7*time.Second {
		t.Errorf("env durations not applied: %v %v", c.HTTP.SessionTimeout, c.Limits.ToolTimeout)
	}
	if got := c.Tools.Disabled; len(got) != 2 || got[1] != "b" {
		t.Errorf("env list = %q", got)
	}
	if !c.Tools.ReadOnly || !c.Auth.Disabled {
		t.Error("read-only flag or auth env not applied")
	}
	if c.HTTP.ShutdownTimeout != 15*time.Second {
		t.Errorf("untouched default changed: %v", c.HTTP.ShutdownTimeout)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
}

func TestUnknownKeysFail(t *testing.T) {
	for _, doc := range []string{
		"http: {adr: x}",
		"auth: {oidc: {isuer: x}}",
		"limits: {max_concurrent_calls: lots}",
	} {
		d, err := Parse(nil, []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		c := NewDefaultConfig()
		if err := c.Decode(d); err == nil {
			t.Errorf("%q: decoded without error", doc)
		}
	}
	if _, err := Parse(nil, []byte("- just\n- a list\n")); err == nil {
		t.Error("a top-level list was accepted")
	}
	if _, err := Parse(nil, []byte("http: {addr: [unclosed")); err == nil {
		t.Error("broken YAML was accepted")
	}
}

func TestUnusedSections(t *testing.T) {
	_, d := decode(t, nil, "crm: {driver: sqlite}\nobservabilty: {}\n")
	var crm struct {
		Driver string `yaml:"driver"`
	}
	if err := d.Section("crm", &crm); err != nil || crm.Driver != "sqlite" {
		t.Fatalf("section: %v %+v", err, crm)
	}
	if got := d.Unused(); len(got) != 1 || got[0] != "observabilty" {
		t.Errorf("Unused = %v", got)
	}
}

type secretHolder struct {
	Token Secret   `yaml:"token"`
	Keys  []Secret `yaml:"keys"`
}

func TestSecretsNeverPrint(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tok")
	if err := os.WriteFile(file, []byte("from-file-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Parse(env(map[string]string{"GH_TOKEN": "env-value-123"}), []byte(fmt.Sprintf(`
app:
  token: env:GH_TOKEN
  keys: ["file:%s", "literal-value-456"]
cache: {backend: redis, redis_url: "redis://:pw-789@127.0.0.1:6379"}
`, file)))
	if err != nil {
		t.Fatal(err)
	}
	var h secretHolder
	if err := d.Section("app", &h); err != nil {
		t.Fatal(err)
	}
	c := NewDefaultConfig()
	if err := c.Decode(d); err != nil {
		t.Fatal(err)
	}
	if h.Token.Reveal() != "env-value-123" || h.Keys[0].Reveal() != "from-file-value" || h.Keys[1].Reveal() != "literal-value-456" {
		t.Fatalf("values not resolved: %q %q %q", h.Token.Reveal(), h.Keys[0].Reveal(), h.Keys[1].Reveal())
	}
	eff, err := d.Effective()
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("cfg", "secret", h.Token, "all", h)
	printed := strings.Join([]string{string(eff), fmt.Sprint(h), fmt.Sprintf("%+v %#v", h, h), logged.String()}, "\n")
	for _, v := range []string{"env-value-123", "from-file-value", "literal-value-456", "pw-789"} {
		if strings.Contains(printed, v) {
			t.Errorf("secret value %q printed:\n%s", v, printed)
		}
	}
	if !strings.Contains(string(eff), "env:GH_TOKEN") || !strings.Contains(string(eff), "[redacted]") {
		t.Errorf("effective config should show references and [redacted]:\n%s", eff)
	}
}

func TestSecretReferenceErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"app: {token: env:MISSING}", "MISSING is not set"},
		{"app: {token: file:/nonexistent/secret}", "/nonexistent/secret"},
		{"app: {token: 'env:'}", "names no variable"},
	} {
		d, err := Parse(env(nil), []byte(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		var h secretHolder
		err = d.Section("app", &h)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.doc, err, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	base := func() Config {
		c := NewDefaultConfig()
		c.Transport = TransportHTTP
		c.Auth.APIKeys = []APIKey{{ID: "ci", SHA256: strings.Repeat("ab", 32)}}
		return c
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"bad transport", func(c *Config) { c.Transport = "grpc" }, "transport"},
		{"auth off on public addr", func(c *Config) {
			c.HTTP.Addr = "0.0.0.0:8080"
			c.HTTP.PublicURL = "https://mcp.example"
			c.Auth.Disabled = true
		}, "loopback"},
		{"no auth configured", func(c *Config) { c.Auth.APIKeys = nil }, "auth.oidc.issuer or auth.api_keys"},
		{"public addr without host check", func(c *Config) { c.HTTP.Addr = "0.0.0.0:8080" }, "allowed_hosts"},
		{"hmac alg", func(c *Config) {
			c.Auth.OIDC.Issuer = "https://idp.example"
			c.Auth.OIDC.Algorithms = []string{"HS256"}
		}, "HS256"},
		{"none alg", func(c *Config) { c.Auth.OIDC.Issuer = "https://idp.example"; c.Auth.OIDC.Algorithms = []string{"none"} }, "none"},
		{"plaintext key", func(c *Config) { c.Auth.APIKeys[0].SHA256 = "mcpk_secret" }, "64 hex"},
		{"half tls", func(c *Config) { c.HTTP.TLS.CertFile = "c.pem" }, "tls"},
		{"redis without url", func(c *Config) { c.Cache.Backend = "redis" }, "redis_url"},
		{"zero concurrency", func(c *Config) { c.Limits.MaxConcurrentCalls = 0 }, "max_concurrent_calls"},
		{"bad origin", func(c *Config) { c.HTTP.AllowedOrigins = []string{"example.com"} }, "allowed_origins"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want mention of %q", err, tc.want)
			}
		})
	}
	c := base()
	if err := c.Validate(); err != nil {
		t.Errorf("base config refused: %v", err)
	}
}

func TestURLs(t *testing.T) {
	c := NewDefaultConfig()
	c.HTTP.Addr = "0.0.0.0:8443"
	c.HTTP.TLS = TLS{CertFile: "c", KeyFile: "k"}
	if got := c.ResourceURL(); got != "https://localhost:8443/mcp" {
		t.Errorf("ResourceURL = %s", got)
	}
	c.HTTP.PublicURL = "https://mcp.example.com/"
	if got := c.MCPURL(); got != "https://mcp.example.com/mcp" {
		t.Errorf("MCPURL = %s", got)
	}
	c.Auth.Resource = "https://api.example.com/crm"
	if got := c.ResourceURL(); got != c.Auth.Resource {
		t.Errorf("explicit resource ignored: %s", got)
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"512": 512, "4MiB": 4 << 20, "1 KiB": 1024, "2GB": 2e9} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "-1", "4XB", "MiB"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) accepted", bad)
		}
	}
	if s := ByteSize(4 << 20).String(); s != "4MiB" {
		t.Errorf("String = %s", s)
	}
}
