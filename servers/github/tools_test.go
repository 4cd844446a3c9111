package github_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/servers/github"

	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
	"github.com/mcpfleet/mcpfleet/servers/github/internal/fakegithub"
)

// toolCase is one tool exercised against the fake GitHub: its happy path,
// a 404, a rate-limited 403 followed by the retry, and a 422.
type toolCase struct {
	name string // subtest name; the tool name unless a tool has several cases
	tool string
	args obj
	// check inspects the happy path's result.
	check func(t *testing.T, s *server, out obj)
	// missing are arguments GitHub answers with 404; nil means the same
	// arguments against repository octo/missing.
	missing obj
	// inject404 makes GitHub answer the happy path's first request with
	// 404 (for tools whose arguments cannot name a missing object).
	inject404 bool
	// invalid are arguments GitHub answers with 422; nil means GitHub is
	// made to answer the happy path's first request with a 422.
	invalid obj
}

var hello = obj{"owner": "octo", "repo": "hello"}

func with(extra obj) obj { return merge(hello, extra) }

// clean reports whether s has no hidden characters and no HTML comments.
func clean(t *testing.T, what, s string) {
	t.Helper()
	for _, bad := range []string{"\u200B", "\u200D", "\u202E", "\u202C", "\u2066", "\U000E0041", "<!--", "<img", "<b>", "<div"} {
		if strings.Contains(s, bad) {
			t.Errorf("%s contains %q: %q", what, bad, s)
		}
	}
}

func wrapped(t *testing.T, what, s string) {
	t.Helper()
	if !strings.HasPrefix(s, untrusted.Open) || !strings.HasSuffix(s, untrusted.Close) {
		t.Errorf("%s is not marked as untrusted: %q", what, s)
	}
	clean(t, what, s)
}

func toolCases() []toolCase {
	return []toolCase{
		{tool: "get_me", args: obj{}, check: func(t *testing.T, _ *server, out obj) {
			if str(out, "login") != "octocat" || str(out, "name") != "The Octocat" || str(out, "auth") != "token" {
				t.Errorf("get_me = %v", out)
			}
		}},
		{tool: "get_teams", args: obj{"method": "teams", "org": "octo"}, missing: obj{"method": "teams", "org": "nope"},
			check: func(t *testing.T, _ *server, out obj) {
				if length(out, "teams") != 2 || str(out, "teams.0.slug") != "core" {
					t.Errorf("teams = %v", out)
				}
			}},
		{name: "get_teams/members", tool: "get_teams", args: obj{"method": "members", "org": "octo", "team": "core"},
			missing: obj{"method": "members", "org": "octo", "team": "nope"},
			check: func(t *testing.T, _ *server, out obj) {
				if length(out, "members") != 2 || str(out, "members.1.login") != "hubot" {
					t.Errorf("members = %v", out)
				}
			}},
		{tool: "get_repository", args: hello, check: func(t *testing.T, _ *server, out obj) {
			if str(out, "full_name") != "octo/hello" || str(out, "default_branch") != "main" || field(out, "can_push") != true {
				t.Errorf("repository = %v", out)
			}
			if str(out, "description") != "A friendly demo repository for the fake & tests" || str(out, "notice") != github.UntrustedNotice {
				t.Errorf("description %q not cleaned, or notice missing", str(out, "description"))
			}
		}},
		{tool: "get_repository_content", args: with(obj{"method": "file", "path": "README.md"}), missing: with(obj{"method": "file", "path": "nope.txt"}),
			check: func(t *testing.T, _ *server, out obj) {
				content := str(out, "file.content")
				wrapped(t, "README", content)
				if !strings.Contains(content, "A friendly project.") || strings.Contains(content, "approve every") {
					t.Errorf("README = %q", content)
				}
				if str(out, "file.sha") != fakegithub.BlobSHA(fakegithub.HostileReadme) {
					t.Errorf("sha = %q", str(out, "file.sha"))
				}
			}},
		{name: "get_repository_content/dir", tool: "get_repository_content", args: with(obj{"method": "file", "path": ""}),
			check: func(t *testing.T, _ *server, out obj) {
				var names []string
				for _, e := range field(out, "entries").([]any) {
					names = append(names, str(e, "path")+":"+str(e, "type"))
				}
				if !slices.Equal(names, []string{"README.md:file", "bin:dir", "data:dir", "docs:dir", "main.go:file"}) {
					t.Errorf("root listing = %v", names)
				}
			}},
		{name: "get_repository_content/binary", tool: "get_repository_content", args: with(obj{"method": "file", "path": "bin/logo.png"}),
			check: func(t *testing.T, _ *server, out obj) {
				if str(out, "file.content") != "" || !strings.Contains(str(out, "file.omitted"), "binary") || str(out, "file.download_url") == "" {
					t.Errorf("binary file = %v", out)
				}
			}},
		{name: "get_repository_content/large", tool: "get_repository_content", args: with(obj{"method": "file", "path": "data/large.txt"}),
			check: func(t *testing.T, _ *server, out obj) {
				if str(out, "file.content") != "" || !strings.Contains(str(out, "file.omitted"), "over the 204800-byte limit") || str(out, "file.url") == "" {
					t.Errorf("large file = %v", out)
				}
			}},
		{name: "get_repository_content/tree", tool: "get_repository_content", args: with(obj{"method": "tree", "path": "docs", "ref": "main"}),
			check: func(t *testing.T, _ *server, out obj) {
				if length(out, "entries") != 1 || str(out, "entries.0.path") != "docs/guide.md" || str(out, "entries.0.type") != "file" {
					t.Errorf("tree = %v", out)
				}
			}},
		{tool: "list_repository_items", args: with(obj{"kind": "branches"}), invalid: with(obj{"kind": "commits", "ref": "nosuchref"}),
			check: func(t *testing.T, _ *server, out obj) {
				if length(out, "branches") != 2 || str(out, "branches.1.name") != "main" || field(out, "branches.1.protected") != true {
					t.Errorf("branches = %v", out)
				}
			}},
		{name: "list_repository_items/releases", tool: "list_repository_items", args: with(obj{"kind": "releases"}),
			check: func(t *testing.T, _ *server, out obj) {
				notes := str(out, "releases.0.notes")
				wrapped(t, "release notes", notes)
				if strings.Contains(notes, "rm -rf") || !strings.Contains(notes, "with a fix") {
					t.Errorf("notes = %q", notes)
				}
			}},
		{name: "list_repository_items/commits", tool: "list_repository_items", args: with(obj{"kind": "commits", "ref": "main", "limit": 1}),
			check: func(t *testing.T, _ *server, out obj) {
				if length(out, "commits") != 1 || str(out, "commits.0.message") != "Fix greeting" || str(out, "next_cursor") != "2" {
					t.Errorf("commits = %v", out)
				}
			}},
		{name: "list_repository_items/labels", tool: "list_repository_items", args: with(obj{"kind": "labels"}),
			check: func(t *testing.T, _ *server, out obj) {
				if length(out, "labels") != 2 || str(out, "labels.0.name") != "bug" {
					t.Errorf("labels = %v", out)
				}
			}},
		{tool: "get_commit", args: with(obj{"method": "details", "sha": "main"}), invalid: with(obj{"method": "details", "sha": "deadbeef"}),
			check: func(t *testing.T, _ *server, out obj) {
				wrapped(t, "commit message", str(out, "commit.message"))
				wrapped(t, "patch", str(out, "files.0.patch"))
				if str(out, "files.0.path") != "main.go" || field(out, "commit.additions") != float64(3) {
					t.Errorf("commit = %v", out)
				}
			}},
		{name: "get_commit/compare", tool: "get_commit", args: with(obj{"method": "compare", "base": "main", "head": "feature"}),
			check: func(t *testing.T, _ *server, out obj) {
				if str(out, "comparison.status") != "ahead" || length(out, "comparison.commits") != 1 {
					t.Errorf("compare = %v", out)
				}
			}},
		{tool: "search", args: obj{"kind": "issues", "query": "windows", "owner": "octo", "repo": "hello"}, inject404: true,
			invalid: obj{"kind": "issues", "query": "((broken", "owner": "octo", "repo": "hello"},
			check: func(t *testing.T, s *server, out obj) {
				searches := s.fake.Searches()
				if last := searches[len(searches)-1]; last != "windows repo:octo/hello is:issue" {
					t.Errorf("query sent = %q", last)
				}
				if length(out, "issues") != 3 || str(out, "issues.0.repo") != "octo/hello" {
					t.Errorf("search = %v", out)
				}
				clean(t, "title", str(out, "issues.0.title"))
			}},
		{name: "search/code", tool: "search", args: obj{"kind": "code", "query": "println"},
			check: func(t *testing.T, s *server, out obj) {
				if length(out, "code") != 3 || str(out, "code.0.path") != "main.go" {
					t.Errorf("code search = %v", out)
				}
			}},
		{tool: "create_branch", args: with(obj{"branch": "topic", "from": "main"}), invalid: with(obj{"branch": "main"}),
			check: func(t *testing.T, s *server, out obj) {
				if len(str(out, "sha")) != 40 {
					t.Errorf("create_branch = %v", out)
				}
			}},
		{tool: "create_or_update_file", args: with(obj{"path": "notes/new.txt", "content": "hi\n", "message": "Add notes"}),
			invalid: with(obj{"path": "main.go", "content": "x", "message": "Overwrite without sha"}),
			check: func(t *testing.T, s *server, out obj) {
				if len(str(out, "sha")) != 40 {
					t.Errorf("create_or_update_file = %v", out)
				}
			}},
		{name: "create_or_update_file/update", tool: "create_or_update_file",
			args: with(obj{"path": "main.go", "content": "package main\n", "message": "Update", "sha": fakegithub.BlobSHA("package main\n\nfunc main() { println(\"hello\") }\n")}),
			check: func(t *testing.T, s *server, out obj) {
				got := s.ok("get_repository_content", with(obj{"method": "file", "path": "main.go"}))
				if str(got, "file.content") != untrusted.Wrap("package main\n") {
					t.Errorf("file after update = %q", str(got, "file.content"))
				}
			}},
		{tool: "push_files", args: with(obj{"branch": "feature", "message": "Two files", "files": []obj{{"path": "a.txt", "content": "A"}, {"path": "b/c.txt", "content": "C"}}}),
			missing: with(obj{"branch": "nope", "message": "x", "files": []obj{{"path": "a.txt", "content": "A"}}}),
			check: func(t *testing.T, s *server, out obj) {
				var methods []string
				for _, r := range s.fake.Requests() {
					if r.Method != http.MethodGet {
						methods = append(methods, r.Method+" "+r.Path)
					}
				}
				want := []string{"POST /repos/octo/hello/git/trees", "POST /repos/octo/hello/git/commits", "PATCH /repos/octo/hello/git/refs/heads/feature"}
				if !slices.Equal(methods, want) || len(str(out, "sha")) != 40 {
					t.Errorf("push_files wrote %v, returned %v", methods, out)
				}
			}},
		{tool: "list_issues", args: hello, check: func(t *testing.T, _ *server, out obj) {
			if length(out, "issues") != 2 || field(out, "issues.0.number") != float64(2) || field(out, "issues.1.number") != float64(1) {
				t.Errorf("issues (pull request 4 and closed 3 excluded) = %v", out)
			}
			if str(out, "issues.1.title") != "Build fails on Windows" || str(out, "notice") == "" {
				t.Errorf("title not cleaned or notice missing: %v", out)
			}
		}},
		{tool: "get_issue", args: with(obj{"number": 1}), missing: with(obj{"number": 99}),
			check: func(t *testing.T, _ *server, out obj) {
				body := str(out, "issue.body")
				wrapped(t, "issue body", body)
				if strings.Count(body, untrusted.Open) != 1 || strings.Count(body, untrusted.Close) != 1 || strings.Contains(body, ".env") {
					t.Errorf("issue body = %q", body)
				}
				wrapped(t, "comment", str(out, "comments.0.body"))
				if strings.Contains(str(out, "comments.0.body"), "wontfix") {
					t.Errorf("hidden comment instruction survived: %q", str(out, "comments.0.body"))
				}
			}},
		{name: "get_issue/sub_issues", tool: "get_issue", args: with(obj{"number": 1, "method": "sub_issues"}),
			check: func(t *testing.T, _ *server, out obj) {
				if length(out, "sub_issues") != 1 || field(out, "sub_issues.0.number") != float64(2) {
					t.Errorf("sub-issues = %v", out)
				}
			}},
		{tool: "create_issue", args: with(obj{"title": "New bug", "body": "Details", "labels": []string{"bug"}}), invalid: with(obj{"title": " "}),
			check: func(t *testing.T, _ *server, out obj) {
				if field(out, "number") != float64(5) || str(out, "state") != "open" {
					t.Errorf("create_issue = %v", out)
				}
			}},
		{tool: "update_issue", args: with(obj{"number": 2, "state": "closed", "state_reason": "completed", "labels": []string{}}), missing: with(obj{"number": 99, "title": "x"}),
			check: func(t *testing.T, s *server, out obj) {
				got := s.ok("get_issue", with(obj{"number": 2}))
				if str(got, "issue.state") != "closed" || str(got, "issue.state_reason") != "completed" || length(got, "issue.labels") != 0 {
					t.Errorf("issue after update = %v", got)
				}
			}},
		{tool: "add_issue_comment", args: with(obj{"number": 2, "body": "Thanks!"}), missing: with(obj{"number": 99, "body": "x"}),
			check: func(t *testing.T, s *server, out obj) {
				got := s.ok("get_issue", with(obj{"number": 2, "method": "comments"}))
				if length(got, "comments") != 1 || !strings.Contains(str(got, "comments.0.body"), "Thanks!") {
					t.Errorf("comments after adding one = %v", got)
				}
			}},
		{tool: "manage_sub_issue", args: with(obj{"number": 1, "sub_issue": 3, "method": "add"}), missing: with(obj{"number": 1, "sub_issue": 99, "method": "add"}),
			invalid: with(obj{"number": 1, "sub_issue": 2, "method": "add"}),
			check: func(t *testing.T, s *server, out obj) {
				got := s.ok("get_issue", with(obj{"number": 1, "method": "sub_issues"}))
				if length(got, "sub_issues") != 2 {
					t.Errorf("sub-issues after add = %v", got)
				}
				s.ok("manage_sub_issue", with(obj{"number": 1, "sub_issue": 2, "method": "remove"}))
				got = s.ok("get_issue", with(obj{"number": 1, "method": "sub_issues"}))
				if length(got, "sub_issues") != 1 || field(got, "sub_issues.0.number") != float64(3) {
					t.Errorf("sub-issues after remove = %v", got)
				}
			}},
		{tool: "list_pull_requests", args: hello, check: func(t *testing.T, _ *server, out obj) {
			if length(out, "pull_requests") != 1 || str(out, "pull_requests.0.head") != "octo:feature" {
				t.Errorf("pull requests = %v", out)
			}
		}},
		{tool: "get_pull_request", args: with(obj{"number": 4}), missing: with(obj{"number": 99}),
			check: func(t *testing.T, _ *server, out obj) {
				wrapped(t, "pull request body", str(out, "pull_request.body"))
				if str(out, "pull_request.head_sha") == "" || field(out, "pull_request.mergeable") != true {
					t.Errorf("pull request = %v", out)
				}
			}},
		{name: "get_pull_request/diff", tool: "get_pull_request", args: with(obj{"number": 4, "method": "diff"}),
			check: func(t *testing.T, _ *server, out obj) {
				wrapped(t, "diff", str(out, "diff"))
				if !strings.Contains(str(out, "diff"), "+new") || field(out, "diff_truncated") != nil {
					t.Errorf("diff = %v", out)
				}
			}},
		{name: "get_pull_request/files", tool: "get_pull_request", args: with(obj{"number": 4, "method": "files"}),
			check: func(t *testing.T, _ *server, out obj) {
				if length(out, "files") != 1 || str(out, "files.0.path") != "main.go" {
					t.Errorf("files = %v", out)
				}
			}},
		{name: "get_pull_request/reviews", tool: "get_pull_request", args: with(obj{"number": 4, "method": "reviews"}),
			check: func(t *testing.T, _ *server, out obj) {
				if length(out, "reviews") != 1 || str(out, "reviews.0.state") != "COMMENTED" {
					t.Errorf("reviews = %v", out)
				}
			}},
		{name: "get_pull_request/comments", tool: "get_pull_request", args: with(obj{"number": 4, "method": "comments"}),
			check: func(t *testing.T, _ *server, out obj) {
				if length(out, "review_comments") != 1 || str(out, "review_comments.0.path") != "main.go" {
					t.Errorf("review comments = %v", out)
				}
			}},
		{name: "get_pull_request/checks", tool: "get_pull_request", args: with(obj{"number": 4, "method": "checks"}),
			check: func(t *testing.T, _ *server, out obj) {
				if str(out, "checks.state") != "failure" || str(out, "checks.statuses.0.context") != "ci/lint" || str(out, "checks.check_runs.0.conclusion") != "failure" {
					t.Errorf("checks = %v", out)
				}
			}},
		{tool: "create_pull_request", args: with(obj{"title": "Feature", "head": "feature", "base": "main", "draft": true}),
			invalid: with(obj{"title": "Nothing", "head": "main", "base": "main"}),
			check: func(t *testing.T, _ *server, out obj) {
				if field(out, "number") != float64(5) {
					t.Errorf("create_pull_request = %v", out)
				}
			}},
		{tool: "update_pull_request", args: with(obj{"number": 4, "title": "Better title", "reviewers": []string{"hubot"}}), missing: with(obj{"number": 99, "title": "x"}),
			invalid: with(obj{"number": 4, "reviewers": []string{"stranger"}}),
			check: func(t *testing.T, s *server, out obj) {
				got := s.ok("get_pull_request", with(obj{"number": 4}))
				if str(got, "pull_request.title") != "Better title" || str(got, "pull_request.requested_reviewers.0") != "hubot" {
					t.Errorf("pull request after update = %v", got)
				}
			}},
		{tool: "merge_pull_request", args: with(obj{"number": 4, "merge_method": "squash"}), missing: with(obj{"number": 99}),
			check: func(t *testing.T, s *server, out obj) {
				if field(out, "merged") != true || len(str(out, "sha")) != 40 {
					t.Errorf("merge = %v", out)
				}
				if msg := s.fails("merge_pull_request", with(obj{"number": 4})); !strings.Contains(msg, "405") {
					t.Errorf("second merge: %s", msg)
				}
			}},
		{tool: "submit_pull_request_review", args: with(obj{"number": 4, "event": "COMMENT", "body": "Some notes", "comments": []obj{{"path": "main.go", "line": 1, "body": "Why?"}}}),
			missing: with(obj{"number": 99, "event": "APPROVE"}),
			invalid: with(obj{"number": 4, "event": "COMMENT", "comments": []obj{{"path": "main.go", "line": 5000, "body": "?"}}}),
			check: func(t *testing.T, s *server, out obj) {
				if str(out, "state") != "COMMENTED" {
					t.Errorf("review = %v", out)
				}
			}},
		{tool: "get_actions", args: with(obj{"method": "runs", "workflow": "ci.yml"}), missing: with(obj{"method": "runs", "workflow": "other.yml"}),
			check: func(t *testing.T, _ *server, out obj) {
				if length(out, "runs") != 1 || str(out, "runs.0.conclusion") != "failure" || len(str(out, "runs.0.sha")) != 12 {
					t.Errorf("runs = %v", out)
				}
			}},
		{name: "get_actions/jobs", tool: "get_actions", args: with(obj{"method": "jobs", "run_id": 30433642}), missing: with(obj{"method": "jobs", "run_id": 1}),
			check: func(t *testing.T, _ *server, out obj) {
				if str(out, "jobs.0.name") != "test" || str(out, "jobs.0.failed_steps.0") != "Run go test ./..." {
					t.Errorf("jobs (failed first) = %v", out)
				}
			}},
		{name: "get_actions/job_logs", tool: "get_actions", args: with(obj{"method": "job_logs", "run_id": 30433642, "lines": 5}),
			missing: with(obj{"method": "job_logs", "job_id": 1}),
			check: func(t *testing.T, s *server, out obj) {
				if length(out, "logs") != 1 || str(out, "logs.0.name") != "test" || str(out, "logs.0.errors.0") != "Process completed with exit code 1." {
					t.Fatalf("logs = %v", out)
				}
				step, tailText := str(out, "logs.0.failed_step_log"), str(out, "logs.0.tail")
				wrapped(t, "failed step log", step)
				wrapped(t, "tail", tailText)
				if !strings.Contains(step, "--- FAIL: TestGreeting") || strings.Contains(step, "\x1b") || strings.Contains(step, "2025-05-01T") {
					t.Errorf("failed step section = %q", step)
				}
				if strings.Count(tailText, "\n") != 6 || !strings.Contains(tailText, "Post job cleanup.") {
					t.Errorf("tail = %q", tailText)
				}
				for _, r := range s.fake.Requests() {
					if strings.HasPrefix(r.Path, "/_logs/") && r.Auth != "" {
						t.Errorf("the log download carried the GitHub credential: %q", r.Auth)
					}
				}
			}},
		{tool: "trigger_workflow", args: with(obj{"method": "dispatch", "workflow": "ci.yml", "ref": "main", "inputs": obj{"level": "debug"}}),
			missing: with(obj{"method": "dispatch", "workflow": "other.yml", "ref": "main"}),
			invalid: with(obj{"method": "dispatch", "workflow": "ci.yml", "ref": "nope"}),
			check: func(t *testing.T, s *server, out obj) {
				if field(out, "done") != true {
					t.Errorf("dispatch = %v", out)
				}
				s.ok("trigger_workflow", with(obj{"method": "rerun_failed", "run_id": 30433642}))
			}},
		{tool: "get_security_alerts", args: with(obj{"kind": "code_scanning"}), missing: with(obj{"kind": "code_scanning", "number": 99}),
			check: func(t *testing.T, _ *server, out obj) {
				if str(out, "alerts.0.severity") != "high" || str(out, "alerts.0.location") != "db.go:42" {
					t.Errorf("code scanning = %v", out)
				}
			}},
		{name: "get_security_alerts/dependabot", tool: "get_security_alerts", args: with(obj{"kind": "dependabot", "number": 2}),
			invalid: with(obj{"kind": "dependabot", "severity": "extreme"}),
			check: func(t *testing.T, _ *server, out obj) {
				if str(out, "alerts.0.package") != "golang.org/x/net" || str(out, "alerts.0.fixed_in") != "0.17.0" {
					t.Errorf("dependabot = %v", out)
				}
				wrapped(t, "advisory", str(out, "alerts.0.description"))
			}},
		{name: "get_security_alerts/secret_scanning", tool: "get_security_alerts", args: with(obj{"kind": "secret_scanning"}),
			check: func(t *testing.T, s *server, out obj) {
				res := s.call("get_security_alerts", with(obj{"kind": "secret_scanning"}))
				if strings.Contains(text(res), "LEAKEDSECRET") {
					t.Error("the secret value reached the model")
				}
				if str(out, "alerts.0.secret_type") != "github_personal_access_token" {
					t.Errorf("secret scanning = %v", out)
				}
			}},
		{tool: "list_notifications", args: obj{}, missing: obj{"owner": "octo", "repo": "missing"},
			check: func(t *testing.T, _ *server, out obj) {
				if length(out, "notifications") != 3 ||
					!strings.HasSuffix(str(out, "notifications.1.url"), "/octo/hello/pull/4") {
					t.Errorf("notifications = %v", out)
				}
			}},
		{tool: "mark_notifications_read", args: obj{"thread_id": "101"}, missing: obj{"thread_id": "999"},
			check: func(t *testing.T, s *server, out obj) {
				got := s.ok("list_notifications", obj{})
				if length(got, "notifications") != 2 {
					t.Errorf("unread after marking one read = %v", got)
				}
			}},
		{name: "mark_notifications_read/repo", tool: "mark_notifications_read", args: obj{"owner": "octo", "repo": "hello"},
			check: func(t *testing.T, s *server, out obj) {
				got := s.ok("list_notifications", obj{})
				if length(got, "notifications") != 1 || str(got, "notifications.0.repo") != "other/elsewhere" {
					t.Errorf("unread after marking octo/hello read = %v", got)
				}
			}},
	}
}

// TestTools runs every tool against the fake GitHub: the happy path, a
// 404, a rate-limited 403 and the retry after the reset GitHub names, and
// a 422 validation error. Each subtest gets a fresh fake.
func TestTools(t *testing.T) {
	t.Parallel()
	tested := map[string]bool{}
	for _, tc := range toolCases() {
		tested[tc.tool] = true
		name := tc.name
		if name == "" {
			name = tc.tool
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			t.Run("ok", func(t *testing.T) {
				s := startServer(t, setup{})
				tc.check(t, s, s.ok(tc.tool, tc.args))
			})
			t.Run("not_found", func(t *testing.T) {
				s := startServer(t, setup{})
				args := tc.missing
				if args == nil {
					if _, ok := tc.args["repo"]; !ok || tc.inject404 {
						s.fake.FailNext(http.StatusNotFound, `{"message":"Not Found"}`)
						args = tc.args
					} else {
						args = merge(tc.args, obj{"repo": "missing"})
					}
				}
				if msg := s.fails(tc.tool, args); !strings.Contains(msg, "not found on GitHub") || !strings.Contains(msg, "404") {
					t.Errorf("404 error: %s", msg)
				}
			})
			t.Run("rate_limited", func(t *testing.T) {
				s := startServer(t, setup{})
				s.fake.RateLimitNext("primary", 1)
				tc.check(t, s, s.ok(tc.tool, tc.args))
				reqs := s.fake.Requests()
				if reqs[0].Status != http.StatusForbidden || reqs[1].Status >= 300 {
					t.Errorf("want a 403 then the retry's success; got %d then %d", reqs[0].Status, reqs[1].Status)
				}
				if reqs[0].Method != reqs[1].Method || reqs[0].Path != reqs[1].Path {
					t.Errorf("the retry was not the same request: %s %s, then %s %s", reqs[0].Method, reqs[0].Path, reqs[1].Method, reqs[1].Path)
				}
				waits := s.clock.Sleeps()
				if len(waits) != 1 || waits[0] <= 0 || waits[0] > 2*time.Second {
					t.Errorf("waited %v before the retry; want the time to X-RateLimit-Reset (0-2s)", waits)
				}
			})
			t.Run("invalid", func(t *testing.T) {
				s := startServer(t, setup{})
				args := tc.invalid
				if args == nil {
					s.fake.FailNext(http.StatusUnprocessableEntity, fakegithub.ValidationFailed)
					args = tc.args
				}
				msg := s.fails(tc.tool, args)
				if !strings.Contains(msg, "422") || !strings.Contains(msg, "fix the arguments") {
					t.Errorf("422 error: %s", msg)
				}
				if tc.invalid == nil && !strings.Contains(msg, "Issue title missing_field") {
					t.Errorf("422 error does not carry GitHub's field errors: %s", msg)
				}
			})
		})
	}
	s := startServer(t, setup{noConnect: true})
	for _, td := range s.harness.Catalog.AllTools() {
		if !tested[td.Spec().Name] {
			t.Errorf("tool %s has no test case", td.Spec().Name)
		}
	}
}
