package github_test

import (
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

// TestErrorsFirstUser covers what a first user hit: every error is
// bounded, quotes input short, and says what to do next, and nothing
// unbounded reaches GitHub.
func TestErrorsFirstUser(t *testing.T) {
	s := startServer(t, setup{})
	huge := strings.Repeat("r", 1_000_000)

	t.Run("1 MB repo argument", func(t *testing.T) {
		before := s.fake.Count()
		got := s.fails("get_issue", obj{"owner": "octo", "repo": huge, "number": 1})
		if len(got) > 300 || !strings.Contains(got, "(1000000 bytes)") || !strings.Contains(got, "give owner and repo separately") {
			t.Errorf("%d-byte error: %.300q", len(got), got)
		}
		if s.fake.Count() != before {
			t.Error("a bad repo name reached GitHub")
		}
	})

	t.Run("search query over GitHub's limit", func(t *testing.T) {
		before := len(s.fake.Searches())
		got := s.fails("search", obj{"kind": "issues", "query": strings.Repeat("word ", 200_000), "owner": "octo", "repo": "hello"})
		if len(got) > core.MaxErrorBytes || !strings.Contains(got, "at most 256") {
			t.Errorf("long query: %.300q", got)
		}
		got = s.fails("search", obj{"kind": "issues", "query": "a OR b OR c OR d OR e OR f OR g", "owner": "octo", "repo": "hello"})
		if !strings.Contains(got, "6 AND/OR/NOT operators") || !strings.Contains(got, "split it") {
			t.Errorf("too many operators: %q", got)
		}
		if n := len(s.fake.Searches()); n != before {
			t.Errorf("%d searches reached GitHub; refused queries must not", n-before)
		}
		// A query at the limit still goes through.
		s.ok("search", obj{"kind": "issues", "query": strings.Repeat("x", 256), "owner": "octo", "repo": "hello"})
	})

	t.Run("unexpected upstream body", func(t *testing.T) {
		s.fake.FailNext(200, `[1, 2, 3]`)
		got := s.fails("get_issue", obj{"owner": "octo", "repo": "hello", "number": 1})
		if strings.Contains(got, "Go value") || strings.Contains(got, "github.Issue") ||
			!strings.Contains(got, "a JSON array where an object was expected") || !strings.Contains(got, "base_url") {
			t.Errorf("unexpected body: %q", got)
		}
	})

	t.Run("long upstream error path", func(t *testing.T) {
		got := s.fails("get_repository_content", obj{"owner": "octo", "repo": "hello", "path": strings.Repeat("d/", 20_000) + "f"})
		if len(got) > core.MaxErrorBytes {
			t.Errorf("%d-byte error", len(got))
		}
	})
}
