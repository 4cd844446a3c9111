package github

import (
	"slices"
	"strings"
	"unicode/utf8"

	gh "github.com/google/go-github/v66/github"

	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

// Compact views of GitHub objects. GitHub's JSON carries dozens of URL
// fields per object; a model needs a handful of fields and the web URL.
// Every text written by a user goes through package untrusted: short
// fields are cleaned (untrusted.Line), long ones cleaned and wrapped in
// markers (untrusted.Body), and results carrying either set Notice.

// Repo is a repository.
type Repo struct {
	FullName      string   `json:"full_name"`
	Description   string   `json:"description,omitempty"`
	Private       bool     `json:"private"`
	Archived      bool     `json:"archived,omitempty"`
	Fork          bool     `json:"fork,omitempty"`
	DefaultBranch string   `json:"default_branch,omitempty"`
	Language      string   `json:"language,omitempty"`
	Topics        []string `json:"topics,omitempty"`
	Stars         int      `json:"stars"`
	Forks         int      `json:"forks"`
	OpenIssues    int      `json:"open_issues"`
	CanPush       bool     `json:"can_push,omitempty"`
	PushedAt      string   `json:"pushed_at,omitempty"`
	URL           string   `json:"url"`
}

func repoView(r *gh.Repository) Repo {
	return Repo{
		FullName:      r.GetFullName(),
		Description:   untrusted.Line(r.GetDescription()),
		Private:       r.GetPrivate(),
		Archived:      r.GetArchived(),
		Fork:          r.GetFork(),
		DefaultBranch: r.GetDefaultBranch(),
		Language:      r.GetLanguage(),
		Topics:        r.Topics,
		Stars:         r.GetStargazersCount(),
		Forks:         r.GetForksCount(),
		OpenIssues:    r.GetOpenIssuesCount(),
		CanPush:       r.GetPermissions()["push"],
		PushedAt:      ts(r.PushedAt),
		URL:           r.GetHTMLURL(),
	}
}

// IssueSummary is an issue or pull request in a list.
type IssueSummary struct {
	Repo      string   `json:"repo,omitempty"`
	Number    int      `json:"number"`
	Title     string   `json:"title"`
	State     string   `json:"state"`
	Author    string   `json:"author,omitempty"`
	Labels    []string `json:"labels,omitempty"`
	Assignees []string `json:"assignees,omitempty"`
	Comments  int      `json:"comments,omitempty"`
	PR        bool     `json:"pull_request,omitempty"`
	UpdatedAt string   `json:"updated_at,omitempty"`
	URL       string   `json:"url"`
}

func issueSummary(i *gh.Issue, withRepo bool) IssueSummary {
	s := IssueSummary{
		Number:    i.GetNumber(),
		Title:     untrusted.Line(i.GetTitle()),
		State:     i.GetState(),
		Author:    login(i.User),
		Labels:    labelNames(i.Labels),
		Assignees: logins(i.Assignees),
		Comments:  i.GetComments(),
		PR:        i.IsPullRequest(),
		UpdatedAt: ts(i.UpdatedAt),
		URL:       i.GetHTMLURL(),
	}
	if withRepo {
		s.Repo = repoFromURL(i.GetRepositoryURL())
	}
	return s
}

// repoFromURL takes "owner/repo" from an API URL ending in
// /repos/{owner}/{repo}.
func repoFromURL(u string) string {
	_, after, ok := strings.Cut(u, "/repos/")
	if !ok {
		return ""
	}
	parts := strings.SplitN(after, "/", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

func labelNames(ls []*gh.Label) []string {
	var out []string
	for _, l := range ls {
		out = append(out, untrusted.Line(l.GetName()))
	}
	return out
}

// Issue is one issue with its body.
type Issue struct {
	Number      int      `json:"number"`
	Title       string   `json:"title"`
	State       string   `json:"state"`
	StateReason string   `json:"state_reason,omitempty"`
	Author      string   `json:"author,omitempty"`
	Labels      []string `json:"labels,omitempty"`
	Assignees   []string `json:"assignees,omitempty"`
	Milestone   string   `json:"milestone,omitempty"`
	Comments    int      `json:"comments"`
	CreatedAt   string   `json:"created_at,omitempty"`
	UpdatedAt   string   `json:"updated_at,omitempty"`
	ClosedAt    string   `json:"closed_at,omitempty"`
	Body        string   `json:"body,omitempty"`
	URL         string   `json:"url"`
}

func issueView(i *gh.Issue) *Issue {
	return &Issue{
		Number:      i.GetNumber(),
		Title:       untrusted.Line(i.GetTitle()),
		State:       i.GetState(),
		StateReason: i.GetStateReason(),
		Author:      login(i.User),
		Labels:      labelNames(i.Labels),
		Assignees:   logins(i.Assignees),
		Milestone:   untrusted.Line(i.GetMilestone().GetTitle()),
		Comments:    i.GetComments(),
		CreatedAt:   ts(i.CreatedAt),
		UpdatedAt:   ts(i.UpdatedAt),
		ClosedAt:    ts(i.ClosedAt),
		Body:        untrusted.Body(i.GetBody()),
		URL:         i.GetHTMLURL(),
	}
}

// Comment is an issue or pull request conversation comment.
type Comment struct {
	ID        int64  `json:"id"`
	Author    string `json:"author,omitempty"`
	CreatedAt string `json:"created_at,omitempty"`
	Body      string `json:"body"`
}

func commentViews(cs []*gh.IssueComment) []Comment {
	out := make([]Comment, 0, len(cs))
	for _, c := range cs {
		out = append(out, Comment{ID: c.GetID(), Author: login(c.User), CreatedAt: ts(c.CreatedAt), Body: untrusted.Body(c.GetBody())})
	}
	return out
}

// Ref is what a write returns: where the created or changed object is.
type Ref struct {
	Number int    `json:"number,omitempty"`
	ID     int64  `json:"id,omitempty"`
	State  string `json:"state,omitempty"`
	SHA    string `json:"sha,omitempty"`
	URL    string `json:"url,omitempty"`
}

// Commit is a commit in a list.
type Commit struct {
	SHA     string `json:"sha"`
	Message string `json:"message"`
	Author  string `json:"author,omitempty"`
	Date    string `json:"date,omitempty"`
}

// firstLine is a commit message's subject, cleaned and bounded.
func firstLine(msg string) string {
	subject, _, _ := strings.Cut(msg, "\n")
	return untrusted.ShortLine(subject, 200)
}

func commitView(c *gh.RepositoryCommit) Commit {
	author := login(c.Author)
	if author == "" {
		author = untrusted.Line(c.GetCommit().GetAuthor().GetName())
	}
	return Commit{
		SHA:     c.GetSHA(),
		Message: firstLine(c.GetCommit().GetMessage()),
		Author:  author,
		Date:    ts(c.GetCommit().GetAuthor().Date),
	}
}

// FileChange is a changed file of a commit, comparison or pull request.
type FileChange struct {
	Path           string `json:"path"`
	Status         string `json:"status"`
	Additions      int    `json:"additions"`
	Deletions      int    `json:"deletions"`
	PreviousPath   string `json:"previous_path,omitempty"`
	Patch          string `json:"patch,omitempty"`
	PatchTruncated bool   `json:"patch_truncated,omitempty"`
}

// fileChanges converts files, cutting each patch to maxPatch bytes and
// dropping patches once the total passes maxTotal.
func fileChanges(fs []*gh.CommitFile, maxPatch, maxTotal int) []FileChange {
	out := make([]FileChange, 0, len(fs))
	total := 0
	for _, f := range fs {
		fc := FileChange{
			Path: f.GetFilename(), Status: f.GetStatus(), Additions: f.GetAdditions(), Deletions: f.GetDeletions(),
			PreviousPath: f.GetPreviousFilename(),
		}
		patch, cut := untrusted.Truncate(f.GetPatch(), maxPatch)
		if total+len(patch) > maxTotal {
			patch, cut = "", f.GetPatch() != ""
		}
		total += len(patch)
		fc.Patch, fc.PatchTruncated = untrusted.Code(patch), cut
		out = append(out, fc)
	}
	return out
}

// isBinary reports whether content looks binary: invalid UTF-8 or a NUL
// byte near the start (git's own test).
func isBinary(b []byte) bool {
	head := b[:min(len(b), 8000)]
	return slices.Contains(head, 0) || !utf8.Valid(b)
}
