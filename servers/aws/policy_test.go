package aws_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/pkg/policy"
)

var examplePolicy = filepath.Join("..", "..", "examples", "policies", "aws.yaml")

// TestExamplePolicyOnlySRETouchesProd decides calls to the server's real
// tools under examples/policies/aws.yaml with the policy engine: the
// account argument decides.
func TestExamplePolicyOnlySRETouchesProd(t *testing.T) {
	doc, err := policy.Load(examplePolicy)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.NewEngine(doc)
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, setup{noConnect: true})
	alice := &authn.Principal{Subject: "alice", Method: authn.MethodJWT, Issuer: "https://idp.example"}
	sam := &authn.Principal{Subject: "sam", Method: authn.MethodJWT, Issuer: "https://idp.example", Groups: []string{"sre"}}
	for _, c := range []struct {
		who      *authn.Principal
		tool     string
		args     obj
		allowed  bool
		rule     string
		approval bool
	}{
		{alice, "describe_instances", obj{"account": "dev"}, true, "everyone-uses-aws", false},
		{alice, "describe_instances", obj{}, true, "everyone-uses-aws", false},
		{alice, "describe_instances", obj{"account": "prod"}, false, "only-sre-touches-prod", false},
		{alice, "stop_instances", obj{"account": "prod", "instance_ids": []string{"i-1"}}, false, "only-sre-touches-prod", false},
		{sam, "describe_instances", obj{"account": "prod"}, true, "everyone-uses-aws", false},
		{sam, "stop_instances", obj{"account": "prod", "instance_ids": []string{"i-1"}}, true, "everyone-uses-aws", true},
		{sam, "start_instances", obj{"account": "prod", "instance_ids": []string{"i-1"}}, true, "everyone-uses-aws", false},
	} {
		spec, ok := s.harness.Catalog.Spec(c.tool)
		if !ok {
			t.Fatalf("no tool %s", c.tool)
		}
		raw, _ := json.Marshal(c.args)
		d := eng.Decide(policy.Input{Principal: c.who, Server: "aws", Tool: spec, Args: raw})
		if d.Allowed != c.allowed || d.Rule != c.rule || (d.Approval != "") != c.approval {
			t.Errorf("%s %s(%s): allowed %v rule %s approval %q, want %v %s %v", c.who.Subject, c.tool, raw, d.Allowed, d.Rule, d.Approval, c.allowed, c.rule, c.approval)
		}
	}
}

// TestPolicyDeniesProdBeforeAnyRequest runs the server with the policy
// module and the example policy over HTTP: alice's call to prod is a tool
// error naming the rule, and reaches neither STS nor EC2; bob (group sre)
// gets through.
func TestPolicyDeniesProdBeforeAnyRequest(t *testing.T) {
	path, _ := filepath.Abs(examplePolicy)
	s := startServer(t, setup{noConnect: true, yaml: httpYAML("policy: {file: " + path + "}\n"), modules: []fx.Option{policy.Module}})
	alice := s.harness.ConnectHTTP(t, coretest.BearerClient(aliceKey))
	bob := s.harness.ConnectHTTP(t, coretest.BearerClient(bobKey))
	res := call(t, alice, "describe_instances", obj{"account": "prod"})
	if !res.IsError || !strings.Contains(text(res), "only SRE may use the prod AWS account") {
		t.Errorf("alice in prod: %s", text(res))
	}
	if reqs := s.fake.Requests(); len(reqs) != 0 {
		t.Errorf("a denied call reached AWS: %+v", reqs)
	}
	okResult(t, call(t, alice, "describe_instances", obj{}), "describe_instances", nil)
	out := okResult(t, call(t, bob, "describe_instances", obj{"account": "prod"}), "describe_instances", nil)
	if str(out, "account") != "prod" {
		t.Errorf("bob in prod: %v", out)
	}
	if calls := s.fake.AssumeCalls(); len(calls) != 1 || calls[0].SourceIdentity != "bob" {
		t.Errorf("AssumeRole calls: %+v", calls)
	}
}
