package upstream

import (
	"strings"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core/config"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := NewDefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := Config{
		Name:     "GitHub API",
		Timeout:  0,
		Deadline: -time.Second,
		Retry:    Retry{MaxRetries: 11, BackoffBase: 0, BackoffMax: -1},
		RateLimit: RateLimit{
			RequestsPerSecond: 5,
			Burst:             0,
		},
		Breaker:             Breaker{FailureThreshold: 3},
		MaxIdleConnsPerHost: -1,
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{
		"name", "timeout must be positive", "deadline", "max_retries", "backoff_base", "backoff_max",
		"burst", "open_duration", "max_idle_conns_per_host",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	if _, err := New(cfg, Deps{}); err == nil {
		t.Error("New accepted an invalid config")
	}
}

func TestConfigDecodesFromADomainSection(t *testing.T) {
	env := map[string]string{"MCPFLEET_GITHUB_UPSTREAM_RATE_LIMIT_REQUESTS_PER_SECOND": "2.5"}
	doc, err := config.Parse(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, []byte(`
github:
  upstream:
    name: github
    timeout: 5s
    retry:
      max_retries: 2
      retry_on_500: true
    breaker:
      open_duration: 1m
`))
	if err != nil {
		t.Fatal(err)
	}
	var section struct {
		Upstream Config `yaml:"upstream"`
	}
	section.Upstream = NewDefaultConfig()
	if err := doc.Section("github", &section); err != nil {
		t.Fatal(err)
	}
	got, want := section.Upstream, NewDefaultConfig()
	want.Name, want.Timeout = "github", 5*time.Second
	want.Retry.MaxRetries, want.Retry.RetryOn500 = 2, true
	want.Breaker.OpenDuration = time.Minute
	want.RateLimit.RequestsPerSecond = 2.5
	if got != want {
		t.Errorf("decoded %+v\nwant    %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}

	// Keys are strict: a typo fails instead of being ignored.
	doc, _ = config.Parse(nil, []byte("github:\n  upstream:\n    retries: 2\n"))
	if err := doc.Section("github", &section); err == nil {
		t.Error("unknown key accepted")
	}
}
