package aws_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/servers/aws"
	"github.com/mcpfleet/mcpfleet/servers/aws/internal/fakeaws"
)

// TestOutsideTheAllowlistNothingIsSent: an unknown account, a region the
// account does not allow, and writes to read-only or write-disabled
// accounts are refused before any request: no fake, STS included, sees
// anything.
func TestOutsideTheAllowlistNothingIsSent(t *testing.T) {
	s := startServer(t, setup{})
	for _, c := range []struct {
		tool string
		args obj
		want string
	}{
		{"describe_instances", obj{"account": "nope"}, `account "nope" is not configured; use one of: audit, dev (default), prod, stage`},
		{"describe_instances", obj{"region": "ap-south-1"}, `region "ap-south-1" is not allowed in account "dev"; use one of: eu-west-1, us-east-1`},
		{"get_caller_identity", obj{"account": "prod", "region": "us-east-1"}, `region "us-east-1" is not allowed in account "prod"`},
		{"list_buckets", obj{"account": "audit", "region": "eu-west-1"}, `region "eu-west-1" is not allowed in account "audit"`},
		{"stop_instances", obj{"account": "prod", "instance_ids": []string{"i-0000000000000000a"}}, `account "prod" is read-only`},
		{"put_object", obj{"account": "stage", "bucket": "logs", "key": "x", "text": "y"}, `writes are not enabled in account "stage"`},
		{"set_ecs_desired_count", obj{"account": "audit", "cluster": "web", "service": "api", "desired_count": 0}, `writes are not enabled in account "audit"`},
		{"reboot_instances", obj{"account": "prod", "region": "us-east-1", "instance_ids": []string{"i-0000000000000000a"}}, `not allowed in account "prod"`},
	} {
		if msg := s.fails(c.tool, c.args); !strings.Contains(msg, c.want) {
			t.Errorf("%s(%v) = %q, want %q", c.tool, c.args, msg, c.want)
		}
	}
	if reqs := s.fake.Requests(); len(reqs) != 0 {
		t.Errorf("refused calls reached AWS: %+v", reqs)
	}
}

// TestAccountsAndRegions: the default chain (environment), a named
// profile and a second region each sign with their own credentials and
// region, and every result names its account and region.
func TestAccountsAndRegions(t *testing.T) {
	s := startServer(t, setup{})
	dev := s.ok("get_caller_identity", obj{"region": "us-east-1"})
	audit := s.ok("get_caller_identity", obj{"account": "audit"})
	if str(dev, "account") != "dev" || str(dev, "region") != "us-east-1" || str(dev, "account_id") != fakeaws.BaseAccount {
		t.Errorf("dev = %v", dev)
	}
	if str(audit, "account") != "audit" || str(audit, "region") != "us-east-1" || str(audit, "account_id") != fakeaws.ProfileAccount {
		t.Errorf("audit (profile) = %v", audit)
	}
	reqs := s.fake.Requests()
	if len(reqs) != 2 || reqs[0].AccessKey != fakeaws.BaseKey || reqs[0].Region != "us-east-1" ||
		reqs[1].AccessKey != fakeaws.ProfileKey || reqs[1].Region != "us-east-1" {
		t.Errorf("requests = %+v", reqs)
	}
	accounts := s.ok("list_accounts", obj{})
	if length(accounts, "accounts") != 4 || str(accounts, "accounts.2.name") != "prod" || field(accounts, "accounts.2.read_only") != true ||
		field(accounts, "accounts.2.writes") != false || field(accounts, "accounts.1.default") != true {
		t.Errorf("list_accounts = %v", accounts)
	}
	one := s.ok("list_accounts", obj{"account": "prod"})
	if length(one, "accounts") != 1 || str(one, "accounts.0.role_arn") != "arn:aws:iam::222222222222:role/mcp-read" {
		t.Errorf("list_accounts(prod) = %v", one)
	}
	if msg := s.fails("list_accounts", obj{"account": "prod", "region": "us-east-1"}); !strings.Contains(msg, `not allowed in account "prod"`) {
		t.Errorf("list_accounts with a region outside prod: %s", msg)
	}
	if len(s.fake.Requests()) != 2 {
		t.Error("list_accounts sent a request")
	}
}

const aliceKey = "mcpk_alice_0123456789abcdef0123456789abcd"
const bobKey = "mcpk_bob_0123456789abcdef0123456789abcdef"

// httpYAML serves over HTTP with two API-key callers: alice and bob (sre).
func httpYAML(extra string) string {
	return fmt.Sprintf(`transport: http
http: {addr: "127.0.0.1:0"}
auth:
  api_keys:
    - {id: alice, sha256: %q}
    - {id: bob, sha256: %q, groups: [sre]}
%s`, authn.HashAPIKey(aliceKey), authn.HashAPIKey(bobKey), extra)
}

// TestAssumeRoleCarriesTheCaller: two accounts behind assume-role (prod,
// and stage chained from prod) against the fake STS. Each MCP caller gets
// its own session, whose RoleSessionName and SourceIdentity name the
// caller, with the account's external id; sessions are cached per caller;
// the chained role is assumed with the caller's prod session; and no
// credential appears in a result or the log.
func TestAssumeRoleCarriesTheCaller(t *testing.T) {
	s := startServer(t, setup{noConnect: true, yaml: httpYAML("")})
	alice := s.harness.ConnectHTTP(t, coretest.BearerClient(aliceKey))
	bob := s.harness.ConnectHTTP(t, coretest.BearerClient(bobKey))

	var results []string
	get := func(cs any, account string) obj {
		t.Helper()
		c := alice
		if cs == "bob" {
			c = bob
		}
		res := call(t, c, "get_caller_identity", obj{"account": account})
		results = append(results, text(res))
		return okResult(t, res, "get_caller_identity", nil)
	}
	a1 := get("alice", "prod")
	get("alice", "prod")
	b1 := get("bob", "prod")
	st := get("alice", "stage")

	if str(a1, "account_id") != "222222222222" || str(a1, "arn") != "arn:aws:sts::222222222222:assumed-role/mcp-read/mcp-alice" || str(a1, "account") != "prod" {
		t.Errorf("alice in prod = %v", a1)
	}
	if str(b1, "arn") != "arn:aws:sts::222222222222:assumed-role/mcp-read/mcp-bob" {
		t.Errorf("bob in prod = %v", b1)
	}
	if str(st, "account_id") != "444444444444" || str(st, "arn") != "arn:aws:sts::444444444444:assumed-role/mcp-stage/mcp-alice" {
		t.Errorf("alice in stage = %v", st)
	}
	calls := s.fake.AssumeCalls()
	if len(calls) != 3 {
		t.Fatalf("%d AssumeRole calls, want 3 (alice and bob in prod, cached; alice in stage): %+v", len(calls), calls)
	}
	for i, want := range []fakeaws.AssumeCall{
		{RoleARN: "arn:aws:iam::222222222222:role/mcp-read", SessionName: "mcp-alice", SourceIdentity: "alice", ExternalID: "ext-123", CallerKey: fakeaws.BaseKey},
		{RoleARN: "arn:aws:iam::222222222222:role/mcp-read", SessionName: "mcp-bob", SourceIdentity: "bob", ExternalID: "ext-123", CallerKey: fakeaws.BaseKey},
		{RoleARN: "arn:aws:iam::444444444444:role/mcp-stage", SessionName: "mcp-alice", SourceIdentity: "alice"},
	} {
		got := calls[i]
		if i == 2 {
			// Chained: assumed with alice's prod session, not the base key.
			if s.fake.AccountOf(got.CallerKey) != "222222222222" || !strings.HasPrefix(got.CallerKey, "ASIA") {
				t.Errorf("stage was assumed with %s (account %s), want alice's prod session", got.CallerKey, s.fake.AccountOf(got.CallerKey))
			}
			got.CallerKey = ""
		}
		if got != want {
			t.Errorf("AssumeRole %d = %+v, want %+v", i, got, want)
		}
	}
	// Every STS GetCallerIdentity was signed with an assumed session.
	for _, r := range s.fake.Requests() {
		if r.Op == "GetCallerIdentity" && !strings.HasPrefix(r.AccessKey, "ASIA") {
			t.Errorf("GetCallerIdentity signed with %s", r.AccessKey)
		}
	}
	secrets := []string{fakeaws.BaseSecret, "secret-ASIA", "token-1", "token-2", "ext-123", aliceKey}
	for _, sec := range secrets {
		for _, r := range results {
			if strings.Contains(r, sec) {
				t.Errorf("a result holds %q: %s", sec, r)
			}
		}
		if strings.Contains(s.harness.Logs(), sec) {
			t.Errorf("the log holds %q", sec)
		}
	}
}

// TestSessionNamesAreValidAndDistinct: principals whose subjects STS
// would refuse (issuer URLs, spaces, long ids) get valid, distinct
// session names and source identities.
func TestSessionNamesAreValidAndDistinct(t *testing.T) {
	names := map[string]bool{}
	for _, p := range []*authn.Principal{
		{Subject: "alice", Method: authn.MethodAPIKey},
		{Subject: "alice", Method: authn.MethodJWT, Issuer: "https://idp.example"},
		{Subject: "alice@example.com", Method: authn.MethodJWT, Issuer: "https://other.example"},
		{Subject: "a b/c:d", Method: authn.MethodJWT, Issuer: "https://idp.example"},
		{Subject: strings.Repeat("x", 100), Method: authn.MethodJWT, Issuer: "https://idp.example"},
		nil,
	} {
		name, identity := aws.SessionNameFor(p)
		if !validSTS(name) || !validSTS(identity) {
			t.Errorf("%+v: session %q, source identity %q", p, name, identity)
		}
		if names[name] {
			t.Errorf("%+v: session name %q is not unique", p, name)
		}
		names[name] = true
	}
}

func validSTS(s string) bool {
	if len(s) < 2 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+=,.@-", r)) {
			return false
		}
	}
	return true
}

// TestConfigErrors: bad accounts are refused at start with every problem
// named.
func TestConfigErrors(t *testing.T) {
	awsEnv(t)
	_, err := coretest.New(coretest.Options{YAML: `server: {name: aws}
aws:
  retry: {max_attempts: 0}
  accounts:
    Bad Name: {regions: [eu-west-1]}
    a: {regions: [], default: true}
    b:
      regions: [mars-1]
      default: true
      assume_role: {role_arn: "arn:aws:iam::1:role/x", source_account: c}
      endpoints: {ec2: "ftp://x", dynamo: "http://x"}
    c:
      regions: [eu-west-1]
      assume_role: {role_arn: "arn:aws:iam::123456789012:role/c", source_account: b}
`, Modules: appModules()})
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{
		"aws.accounts.Bad Name: name must be", "aws.accounts.a.regions: list at least one region", `"mars-1" is not a region name`,
		"role_arn \"arn:aws:iam::1:role/x\" is not an IAM role ARN", "the chain of source accounts loops", `endpoints.ec2 "ftp://x"`,
		`unknown service "dynamo"`, "exactly one account must have default: true", "aws.retry.max_attempts must be between 1 and 10",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	_, err = coretest.New(coretest.Options{YAML: "server: {name: aws}\n", Modules: appModules()})
	if err == nil || !strings.Contains(err.Error(), "aws: no account configured") {
		t.Errorf("no accounts: %v", err)
	}
}

// TestOneAccountFromTheEnvironment: MCPFLEET_AWS_REGIONS (and
// MCPFLEET_AWS_PROFILE) configure one account named default without a
// config file, as `mcpfleet up` starts the server; not together with
// aws.accounts.
func TestOneAccountFromTheEnvironment(t *testing.T) {
	awsEnv(t)
	h := coretest.Start(t, coretest.Options{YAML: "server: {name: aws}\n", Modules: appModules(),
		Env: map[string]string{"MCPFLEET_AWS_REGIONS": "us-east-1,eu-west-1", "MCPFLEET_AWS_PROFILE": "audit"}})
	cs := h.Connect(t, nil)
	out := okResult(t, call(t, cs, "list_accounts", obj{}), "list_accounts", nil)
	if length(out, "accounts") != 1 || str(out, "accounts.0.name") != "default" || field(out, "accounts.0.default") != true ||
		jsonString(field(out, "accounts.0.regions")) != `["us-east-1","eu-west-1"]` {
		t.Errorf("list_accounts = %v", out)
	}
	_, err := coretest.New(coretest.Options{YAML: "server: {name: aws}\naws: {accounts: {a: {regions: [eu-west-1]}}}\n", Modules: appModules(),
		Env: map[string]string{"MCPFLEET_AWS_REGIONS": "us-east-1"}})
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("shorthand with accounts: %v", err)
	}
}
