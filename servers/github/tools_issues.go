package github

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gh "github.com/google/go-github/v66/github"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

// ListIssuesIn filters a repository's issues.
type ListIssuesIn struct {
	RepoArgs
	State     string   `json:"state,omitempty" jsonschema:"open (default), closed or all"`
	Labels    []string `json:"labels,omitempty" jsonschema:"only issues with all of these labels"`
	Assignee  string   `json:"assignee,omitempty" jsonschema:"login, 'none' or '*'"`
	Creator   string   `json:"creator,omitempty" jsonschema:"login of the author"`
	Mentioned string   `json:"mentioned,omitempty" jsonschema:"login mentioned in the issue"`
	Since     string   `json:"since,omitempty" jsonschema:"only issues updated at or after this RFC 3339 time"`
	Sort      string   `json:"sort,omitempty" jsonschema:"created (default), updated or comments"`
	Direction string   `json:"direction,omitempty" jsonschema:"desc (default) or asc"`
	Page
}

// Enums lists the values core accepts for ListIssuesIn's enumerated properties.
func (ListIssuesIn) Enums() map[string][]string {
	return map[string][]string{"state": {"open", "closed", "all"}, "sort": {"created", "updated", "comments"}, "direction": {"asc", "desc"}}
}

// IssuesOut is a page of issues.
type IssuesOut struct {
	Notice     string         `json:"notice"`
	Issues     []IssueSummary `json:"issues"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

func newListIssues(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "list_issues",
		Title: "List issues",
		Description: "Lists a repository's issues (not pull requests) with filters, newest first, one page at a time. " +
			"Use search with kind issues for text search across repositories.",
		Toolset: toolsetIssues, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"issues:read"},
	}, func(ctx context.Context, c *Conn, in ListIssuesIn) (IssuesOut, error) {
		opts, err := in.options()
		if err != nil {
			return IssuesOut{}, err
		}
		since, err := parseTime("since", in.Since)
		if err != nil {
			return IssuesOut{}, err
		}
		issues, resp, err := c.client.Issues.ListByRepo(ctx, in.Owner, in.Repo, &gh.IssueListByRepoOptions{
			State: in.State, Labels: in.Labels, Assignee: in.Assignee, Creator: in.Creator, Mentioned: in.Mentioned,
			Since: since, Sort: in.Sort, Direction: in.Direction, ListOptions: opts,
		})
		if err != nil {
			return IssuesOut{}, err
		}
		out := IssuesOut{Notice: UntrustedNotice, Issues: []IssueSummary{}, NextCursor: next(resp)}
		for _, i := range issues {
			if i.IsPullRequest() {
				continue // GitHub lists pull requests as issues too
			}
			out.Issues = append(out.Issues, issueSummary(i, false))
		}
		return out, nil
	})
}

// IssueIn reads an issue.
type IssueIn struct {
	RepoArgs
	Number int    `json:"number" jsonschema:"issue number"`
	Method string `json:"method,omitempty" jsonschema:"details (default): the issue and its first comments; comments: a page of comments; sub_issues: its sub-issues"`
	Page
}

// Enums lists the values core accepts for IssueIn's enumerated properties.
func (IssueIn) Enums() map[string][]string {
	return map[string][]string{"method": {"details", "comments", "sub_issues"}}
}

// IssueOut is an issue, a page of its comments or its sub-issues.
type IssueOut struct {
	Notice     string         `json:"notice"`
	Issue      *Issue         `json:"issue,omitempty"`
	Comments   []Comment      `json:"comments,omitempty"`
	SubIssues  []IssueSummary `json:"sub_issues,omitempty"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

func newGetIssue(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_issue",
		Title: "Get an issue",
		Description: "Returns an issue with its body and first page of comments (method details), further comments (method comments, " +
			"with the cursor) or its sub-issues (method sub_issues). Also works for a pull request's conversation.",
		Toolset: toolsetIssues, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"issues:read"},
	}, func(ctx context.Context, c *Conn, in IssueIn) (IssueOut, error) {
		if in.Number <= 0 {
			return IssueOut{}, errors.New("number must be a positive issue number")
		}
		opts, err := in.options()
		if err != nil {
			return IssueOut{}, err
		}
		out := IssueOut{Notice: UntrustedNotice}
		switch in.Method {
		case "sub_issues":
			subs, resp, err := listSubIssues(ctx, c, in.Owner, in.Repo, in.Number, opts)
			if err != nil {
				return IssueOut{}, err
			}
			for _, i := range subs {
				out.SubIssues = append(out.SubIssues, issueSummary(i, false))
			}
			out.NextCursor = next(resp)
			return out, nil
		case "", "details":
			issue := new(gh.Issue)
			if err := getJSON(ctx, c, fmt.Sprintf("repos/%s/%s/issues/%d", in.Owner, in.Repo, in.Number), issue); err != nil {
				return IssueOut{}, err
			}
			out.Issue = issueView(issue)
			if issue.GetComments() == 0 {
				return out, nil
			}
		}
		comments, resp, err := c.client.Issues.ListComments(ctx, in.Owner, in.Repo, in.Number, &gh.IssueListCommentsOptions{ListOptions: opts})
		if err != nil {
			return IssueOut{}, err
		}
		out.Comments, out.NextCursor = commentViews(comments), next(resp)
		return out, nil
	})
}

// listSubIssues calls the sub-issues API, which go-github v66 predates.
func listSubIssues(ctx context.Context, c *Conn, owner, repo string, number int, opts gh.ListOptions) ([]*gh.Issue, *gh.Response, error) {
	u := fmt.Sprintf("repos/%s/%s/issues/%d/sub_issues?page=%d&per_page=%d", owner, repo, number, opts.Page, opts.PerPage)
	req, err := c.client.NewRequest("GET", u, nil)
	if err != nil {
		return nil, nil, err
	}
	var issues []*gh.Issue
	resp, err := c.client.Do(ctx, req, &issues)
	return issues, resp, err
}

// CreateIssueIn opens an issue.
type CreateIssueIn struct {
	RepoArgs
	Title     string   `json:"title" jsonschema:"issue title"`
	Body      string   `json:"body,omitempty" jsonschema:"issue body (Markdown)"`
	Labels    []string `json:"labels,omitempty" jsonschema:"label names"`
	Assignees []string `json:"assignees,omitempty" jsonschema:"logins to assign"`
	Milestone int      `json:"milestone,omitempty" jsonschema:"milestone number"`
}

func newCreateIssue(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "create_issue",
		Title:       "Create an issue",
		Description: "Opens an issue with a title, body, labels, assignees and milestone.",
		Toolset:     toolsetIssues, Effect: core.Additive, Idempotent: core.No, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"issues:write"},
	}, func(ctx context.Context, c *Conn, in CreateIssueIn) (Ref, error) {
		req := &gh.IssueRequest{Title: gh.String(in.Title)}
		if in.Labels != nil {
			req.Labels = &in.Labels
		}
		if in.Assignees != nil {
			req.Assignees = &in.Assignees
		}
		if in.Body != "" {
			req.Body = gh.String(in.Body)
		}
		if in.Milestone > 0 {
			req.Milestone = gh.Int(in.Milestone)
		}
		i, _, err := c.client.Issues.Create(ctx, in.Owner, in.Repo, req)
		if err != nil {
			return Ref{}, err
		}
		return Ref{Number: i.GetNumber(), State: i.GetState(), URL: i.GetHTMLURL()}, nil
	})
}

// UpdateIssueIn changes an issue; fields left out stay as they are.
type UpdateIssueIn struct {
	RepoArgs
	Number      int      `json:"number" jsonschema:"issue number"`
	Title       string   `json:"title,omitempty" jsonschema:"new title"`
	Body        string   `json:"body,omitempty" jsonschema:"new body, replacing the old one"`
	State       string   `json:"state,omitempty" jsonschema:"open or closed"`
	StateReason string   `json:"state_reason,omitempty" jsonschema:"why it was closed or reopened"`
	Labels      []string `json:"labels,omitempty" jsonschema:"the complete new set of labels ([] removes all)"`
	Assignees   []string `json:"assignees,omitempty" jsonschema:"the complete new set of assignees ([] removes all)"`
	Milestone   int      `json:"milestone,omitempty" jsonschema:"milestone number"`
}

// Enums lists the values core accepts for UpdateIssueIn's enumerated properties.
func (UpdateIssueIn) Enums() map[string][]string {
	return map[string][]string{"state": {"open", "closed"}, "state_reason": {"completed", "not_planned", "reopened"}}
}

func newUpdateIssue(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "update_issue",
		Title: "Update an issue",
		Description: "Changes an issue's title, body, state (close or reopen, with a reason), labels, assignees or milestone. " +
			"Labels and assignees replace the current sets; GitHub keeps the edit history.",
		Toolset: toolsetIssues, Effect: core.Additive, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"issues:write"},
	}, func(ctx context.Context, c *Conn, in UpdateIssueIn) (Ref, error) {
		if in.Number <= 0 {
			return Ref{}, errors.New("number must be a positive issue number")
		}
		req := &gh.IssueRequest{}
		changed := false
		set := func(dst **string, v string) {
			if v != "" {
				*dst, changed = gh.String(v), true
			}
		}
		set(&req.Title, in.Title)
		set(&req.Body, in.Body)
		set(&req.State, in.State)
		set(&req.StateReason, in.StateReason)
		if in.Labels != nil {
			req.Labels, changed = &in.Labels, true
		}
		if in.Assignees != nil {
			req.Assignees, changed = &in.Assignees, true
		}
		if in.Milestone > 0 {
			req.Milestone, changed = gh.Int(in.Milestone), true
		}
		if !changed {
			return Ref{}, errors.New("nothing to change: give at least one of title, body, state, state_reason, labels, assignees, milestone")
		}
		i, _, err := c.client.Issues.Edit(ctx, in.Owner, in.Repo, in.Number, req)
		if err != nil {
			return Ref{}, err
		}
		return Ref{Number: i.GetNumber(), State: i.GetState(), URL: i.GetHTMLURL()}, nil
	})
}

// CommentIn comments on an issue or pull request.
type CommentIn struct {
	RepoArgs
	Number int    `json:"number" jsonschema:"issue or pull request number"`
	Body   string `json:"body" jsonschema:"comment (Markdown)"`
}

func newAddIssueComment(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "add_issue_comment",
		Title:       "Comment on an issue or pull request",
		Description: "Adds a comment to the conversation of an issue or pull request.",
		Toolset:     toolsetIssues, Effect: core.Additive, Idempotent: core.No, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"issues:write"},
	}, func(ctx context.Context, c *Conn, in CommentIn) (Ref, error) {
		if in.Number <= 0 || strings.TrimSpace(in.Body) == "" {
			return Ref{}, errors.New("number and a non-empty body are required")
		}
		cm, _, err := c.client.Issues.CreateComment(ctx, in.Owner, in.Repo, in.Number, &gh.IssueComment{Body: gh.String(in.Body)})
		if err != nil {
			return Ref{}, err
		}
		return Ref{ID: cm.GetID(), URL: cm.GetHTMLURL()}, nil
	})
}

// SubIssueIn links or unlinks a sub-issue.
type SubIssueIn struct {
	RepoArgs
	Number   int    `json:"number" jsonschema:"parent issue number"`
	SubIssue int    `json:"sub_issue" jsonschema:"number of the issue (in the same repository) to add or remove as a sub-issue"`
	Method   string `json:"method" jsonschema:"add or remove"`
}

// Enums lists the values core accepts for SubIssueIn's enumerated properties.
func (SubIssueIn) Enums() map[string][]string {
	return map[string][]string{"method": {"add", "remove"}}
}

func newManageSubIssue(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "manage_sub_issue",
		Title: "Add or remove a sub-issue",
		Description: "Adds an issue as a sub-issue of a parent issue, or removes that link. " +
			"Removing only unlinks: both issues stay.",
		Toolset: toolsetIssues, Effect: core.Additive, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"issues:write"},
	}, func(ctx context.Context, c *Conn, in SubIssueIn) (Ref, error) {
		if in.Number <= 0 || in.SubIssue <= 0 || in.Number == in.SubIssue {
			return Ref{}, errors.New("number and sub_issue must be two different positive issue numbers")
		}
		sub, _, err := c.client.Issues.Get(ctx, in.Owner, in.Repo, in.SubIssue)
		if err != nil {
			return Ref{}, err
		}
		body := map[string]int64{"sub_issue_id": sub.GetID()}
		method, u := "POST", fmt.Sprintf("repos/%s/%s/issues/%d/sub_issues", in.Owner, in.Repo, in.Number)
		if in.Method == "remove" {
			method, u = "DELETE", fmt.Sprintf("repos/%s/%s/issues/%d/sub_issue", in.Owner, in.Repo, in.Number)
		}
		req, err := c.client.NewRequest(method, u, body)
		if err != nil {
			return Ref{}, err
		}
		var parent gh.Issue
		if _, err := c.client.Do(ctx, req, &parent); err != nil {
			return Ref{}, err
		}
		return Ref{Number: in.Number, URL: parent.GetHTMLURL()}, nil
	})
}
