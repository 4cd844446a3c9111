package aws_test

import (
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
	"github.com/mcpfleet/mcpfleet/servers/aws/internal/fakeaws"
)

// An AWS service (or a proxy in front of it) that quotes credentials in
// its error text must not hand a caller any credential the server holds:
// the secret keys that never travel (signing keeps them local), an
// assumed role's keys and session token, another account's.
func TestCredentialsNeverComeBackInErrors(t *testing.T) {
	s := startServer(t, setup{})
	// prod assumes a role: its keys and session token arrive from STS.
	s.ok("describe_instances", obj{"account": "prod"})
	calls := s.fake.AssumeCalls()
	if len(calls) != 1 {
		t.Fatalf("AssumeRole calls %d, want 1", len(calls))
	}
	s.fake.EchoCredentials()
	for _, account := range []string{"dev", "prod"} {
		s.fake.Fail("ec2", "DescribeInstances", fakeaws.Deny, 1)
		msg := s.fails("describe_instances", obj{"account": account})
		for _, secret := range []string{fakeaws.BaseSecret, fakeaws.ProfileSecret, "secret-ASIA", "FwoGfake-session-token-1"} {
			if strings.Contains(msg, secret) {
				t.Errorf("%s: tool error holds credential %q: %s", account, secret, msg)
			}
		}
		if !strings.Contains(msg, "UnauthorizedOperation") || !strings.Contains(msg, upstream.Redacted) {
			t.Errorf("%s: tool error lost the code or the redaction mark: %s", account, msg)
		}
	}
}
