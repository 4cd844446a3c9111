package aws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"
	"go.uber.org/goleak"

	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/servers/aws"
	"github.com/mcpfleet/mcpfleet/servers/aws/internal/fakeaws"
)

// Shared result helpers (coretest), under the names these tests use.
var (
	text   = coretest.Text
	field  = coretest.Field
	str    = coretest.Str
	length = coretest.Len
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server is the AWS server under test, connected to the fake AWS.
type server struct {
	t       testing.TB
	cs      *mcp.ClientSession
	fake    *fakeaws.Fake
	harness *coretest.Harness
}

// setup describes a test server.
type setup struct {
	// accounts is the YAML of aws.accounts (indented 4 spaces); {{EP}} is
	// the fake's endpoints map. testAccounts when empty.
	accounts string
	// aws is more YAML inside the aws section (indented 2 spaces).
	aws string
	// yaml is more top-level YAML.
	yaml      string
	modules   []fx.Option
	noConnect bool
}

// testAccounts: dev (default credential chain from the environment,
// writes on, two regions), prod (a role assumed per caller with an
// external id, read-only), audit (a named profile), stage (a role
// chained from prod's, writes not enabled).
const testAccounts = `    dev:
      default: true
      regions: [eu-west-1, us-east-1]
      writes: true
      s3_path_style: true
      endpoints: {{EP}}
    prod:
      regions: [eu-west-1]
      read_only: true
      writes: true
      assume_role: {role_arn: "arn:aws:iam::222222222222:role/mcp-read", external_id: ext-123}
      endpoints: {{EP}}
    audit:
      profile: audit
      regions: [us-east-1]
      endpoints: {{EP}}
    stage:
      regions: [eu-west-1]
      assume_role: {role_arn: "arn:aws:iam::444444444444:role/mcp-stage", source_account: prod}
      endpoints: {{EP}}
`

// awsEnv isolates the SDK from the machine: credentials of the default
// chain from the environment, shared files with one profile, no
// instance metadata.
func awsEnv(t testing.TB) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(creds, []byte(fmt.Sprintf("[audit]\naws_access_key_id = %s\naws_secret_access_key = %s\n", fakeaws.ProfileKey, fakeaws.ProfileSecret)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("[profile audit]\nregion = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": fakeaws.BaseKey, "AWS_SECRET_ACCESS_KEY": fakeaws.BaseSecret, "AWS_SESSION_TOKEN": "",
		"AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_CONFIG_FILE": cfg, "AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": "", "AWS_RETRY_MODE": "", "AWS_MAX_ATTEMPTS": "",
	} {
		t.Setenv(k, v)
	}
}

func startServer(t testing.TB, s setup) *server {
	t.Helper()
	awsEnv(t)
	fake := fakeaws.New(t)
	accounts := s.accounts
	if accounts == "" {
		accounts = testAccounts
	}
	accounts = strings.ReplaceAll(accounts, "{{EP}}", fake.EndpointsYAML())
	section := s.aws
	if section == "" {
		// Backoff of at most a millisecond: retries cost no time.
		section = "  retry: {max_attempts: 3, max_backoff: 1ms}\n  limits: {query_wait: 2s, query_poll: 10ms}\n"
	}
	yaml := "server:\n  name: aws\ntools:\n  toolsets: [all]\naws:\n  accounts:\n" + accounts + section + s.yaml
	h := coretest.Start(t, coretest.Options{YAML: yaml, Modules: append([]fx.Option{aws.Module}, s.modules...)})
	srv := &server{t: t, fake: fake, harness: h}
	if !s.noConnect {
		srv.cs = h.Connect(t, nil)
	}
	return srv
}

type obj = map[string]any

func call(t testing.TB, cs *mcp.ClientSession, name string, args obj) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error: %v", name, err)
	}
	return res
}

func okResult(t testing.TB, res *mcp.CallToolResult, name string, args obj) obj {
	t.Helper()
	if res.IsError {
		t.Fatalf("%s(%v) failed: %s", name, args, text(res))
	}
	var out obj
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: structured content: %v", name, err)
	}
	return out
}

func (s *server) ok(name string, args obj) obj {
	s.t.Helper()
	return okResult(s.t, call(s.t, s.cs, name, args), name, args)
}

func (s *server) fails(name string, args obj) string {
	s.t.Helper()
	res := call(s.t, s.cs, name, args)
	if !res.IsError {
		s.t.Fatalf("%s(%v) succeeded, want a tool error: %s", name, args, text(res))
	}
	return text(res)
}

func merge(a, b obj) obj {
	out := obj{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func appModules() []fx.Option { return []fx.Option{aws.Module} }
