package github_test

import (
	"strings"
	"testing"
)

// Enums are declared on the input types and checked by core's schema
// validation: a value outside the list is an invalid-arguments tool error
// naming the property and the allowed values, and GitHub is never called.
func TestEnumsAreValidatedBeforeGitHubIsCalled(t *testing.T) {
	s := startServer(t, setup{})
	for _, tc := range []struct {
		tool string
		args obj
		want string
	}{
		{"list_issues", merge(hello, obj{"state": "merged"}), `state: value "merged" is not one of: open, closed, all`},
		{"list_issues", merge(hello, obj{"direction": "sideways"}), "direction: value"},
		{"merge_pull_request", merge(hello, obj{"pull_number": 1, "merge_method": "octopus"}), "merge_method: value"},
		{"search", obj{"kind": "users", "query": "x"}, "kind: value"},
	} {
		before := len(s.requestsSince(0))
		msg := s.fails(tc.tool, tc.args)
		if !strings.Contains(msg, "invalid arguments") || !strings.Contains(msg, tc.want) {
			t.Errorf("%s(%v) = %q, want an invalid-arguments error with %q", tc.tool, tc.args, msg, tc.want)
		}
		if after := len(s.requestsSince(0)); after != before {
			t.Errorf("%s with a bad enum reached GitHub (%d requests)", tc.tool, after-before)
		}
	}
}
