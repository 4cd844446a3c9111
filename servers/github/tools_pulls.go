package github

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gh "github.com/google/go-github/v66/github"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

// ListPullsIn filters a repository's pull requests.
type ListPullsIn struct {
	RepoArgs
	State     string `json:"state,omitempty" jsonschema:"open (default), closed or all"`
	Head      string `json:"head,omitempty" jsonschema:"only from this head, as user:branch"`
	Base      string `json:"base,omitempty" jsonschema:"only into this base branch"`
	Sort      string `json:"sort,omitempty" jsonschema:"created (default), updated, popularity or long-running"`
	Direction string `json:"direction,omitempty" jsonschema:"desc or asc"`
	Page
}

// Enums lists the values core accepts for ListPullsIn's enumerated properties.
func (ListPullsIn) Enums() map[string][]string {
	return map[string][]string{"state": {"open", "closed", "all"}, "sort": {"created", "updated", "popularity", "long-running"}, "direction": {"asc", "desc"}}
}

// PullSummary is a pull request in a list.
type PullSummary struct {
	Number    int    `json:"number"`
	Title     string `json:"title"`
	State     string `json:"state"`
	Draft     bool   `json:"draft,omitempty"`
	Author    string `json:"author,omitempty"`
	Head      string `json:"head"`
	Base      string `json:"base"`
	UpdatedAt string `json:"updated_at,omitempty"`
	URL       string `json:"url"`
}

// PullsOut is a page of pull requests.
type PullsOut struct {
	Notice       string        `json:"notice"`
	PullRequests []PullSummary `json:"pull_requests"`
	NextCursor   string        `json:"next_cursor,omitempty"`
}

func newListPullRequests(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "list_pull_requests",
		Title:       "List pull requests",
		Description: "Lists a repository's pull requests with filters, one page at a time. Use search with kind pull_requests for text search.",
		Toolset:     toolsetPullRequests, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"pull_requests:read"},
	}, func(ctx context.Context, c *Conn, in ListPullsIn) (PullsOut, error) {
		opts, err := in.options()
		if err != nil {
			return PullsOut{}, err
		}
		if err := checkRef("base", in.Base); err != nil {
			return PullsOut{}, err
		}
		prs, resp, err := c.client.PullRequests.List(ctx, in.Owner, in.Repo, &gh.PullRequestListOptions{
			State: in.State, Head: in.Head, Base: in.Base, Sort: in.Sort, Direction: in.Direction, ListOptions: opts,
		})
		if err != nil {
			return PullsOut{}, err
		}
		out := PullsOut{Notice: UntrustedNotice, PullRequests: []PullSummary{}, NextCursor: next(resp)}
		for _, pr := range prs {
			out.PullRequests = append(out.PullRequests, PullSummary{Number: pr.GetNumber(), Title: untrusted.Line(pr.GetTitle()),
				State: pr.GetState(), Draft: pr.GetDraft(), Author: login(pr.User), Head: pr.GetHead().GetLabel(),
				Base: pr.GetBase().GetRef(), UpdatedAt: ts(pr.UpdatedAt), URL: pr.GetHTMLURL()})
		}
		return out, nil
	})
}

// PullIn reads one aspect of a pull request.
type PullIn struct {
	RepoArgs
	Number int    `json:"number" jsonschema:"pull request number"`
	Method string `json:"method,omitempty" jsonschema:"details (default), diff (unified, size-capped), files (paged, with patches), reviews, comments (review comments on lines), checks (CI status of the head commit)"`
	Page
}

// Enums lists the values core accepts for PullIn's enumerated properties.
func (PullIn) Enums() map[string][]string {
	return map[string][]string{"method": {"details", "diff", "files", "reviews", "comments", "checks"}}
}

// Pull is a pull request's details.
type Pull struct {
	Number             int      `json:"number"`
	Title              string   `json:"title"`
	State              string   `json:"state"`
	Draft              bool     `json:"draft,omitempty"`
	Merged             bool     `json:"merged,omitempty"`
	Mergeable          *bool    `json:"mergeable,omitempty"`
	MergeableState     string   `json:"mergeable_state,omitempty"`
	Author             string   `json:"author,omitempty"`
	Head               string   `json:"head"`
	HeadSHA            string   `json:"head_sha"`
	Base               string   `json:"base"`
	Labels             []string `json:"labels,omitempty"`
	RequestedReviewers []string `json:"requested_reviewers,omitempty"`
	Commits            int      `json:"commits"`
	ChangedFiles       int      `json:"changed_files"`
	Additions          int      `json:"additions"`
	Deletions          int      `json:"deletions"`
	CreatedAt          string   `json:"created_at,omitempty"`
	UpdatedAt          string   `json:"updated_at,omitempty"`
	MergedAt           string   `json:"merged_at,omitempty"`
	Body               string   `json:"body,omitempty"`
	URL                string   `json:"url"`
}

// Review is a pull request review.
type Review struct {
	ID          int64  `json:"id"`
	Author      string `json:"author,omitempty"`
	State       string `json:"state"`
	SubmittedAt string `json:"submitted_at,omitempty"`
	Body        string `json:"body,omitempty"`
}

// ReviewComment is a comment on a line of a pull request's diff.
type ReviewComment struct {
	ID        int64  `json:"id"`
	Author    string `json:"author,omitempty"`
	Path      string `json:"path"`
	Line      int    `json:"line,omitempty"`
	InReplyTo int64  `json:"in_reply_to,omitempty"`
	CreatedAt string `json:"created_at,omitempty"`
	Body      string `json:"body"`
}

// Checks is the CI state of a commit: commit statuses and check runs.
type Checks struct {
	SHA       string     `json:"sha"`
	State     string     `json:"state"`
	Statuses  []Status   `json:"statuses,omitempty"`
	CheckRuns []CheckRun `json:"check_runs,omitempty"`
}

// Status is a commit status.
type Status struct {
	Context     string `json:"context"`
	State       string `json:"state"`
	Description string `json:"description,omitempty"`
}

// CheckRun is a check run.
type CheckRun struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	Conclusion string `json:"conclusion,omitempty"`
	URL        string `json:"url,omitempty"`
}

// PullOut is one aspect of a pull request.
type PullOut struct {
	Notice         string          `json:"notice"`
	PullRequest    *Pull           `json:"pull_request,omitempty"`
	Diff           string          `json:"diff,omitempty"`
	DiffTruncated  bool            `json:"diff_truncated,omitempty"`
	Files          []FileChange    `json:"files,omitempty"`
	Reviews        []Review        `json:"reviews,omitempty"`
	ReviewComments []ReviewComment `json:"review_comments,omitempty"`
	Checks         *Checks         `json:"checks,omitempty"`
	NextCursor     string          `json:"next_cursor,omitempty"`
}

func newGetPullRequest(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_pull_request",
		Title: "Get a pull request",
		Description: "Returns a pull request's details, its unified diff (size-capped), changed files with patches, reviews, " +
			"review comments or CI checks, chosen by method. Page files, reviews and comments with the cursor.",
		Toolset: toolsetPullRequests, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"pull_requests:read"},
	}, func(ctx context.Context, c *Conn, in PullIn) (PullOut, error) {
		if in.Number <= 0 {
			return PullOut{}, errors.New("number must be a positive pull request number")
		}
		opts, err := in.options()
		if err != nil {
			return PullOut{}, err
		}
		out := PullOut{Notice: UntrustedNotice}
		var resp *gh.Response
		switch in.Method {
		case "diff":
			var diff string
			diff, _, err = c.client.PullRequests.GetRaw(ctx, in.Owner, in.Repo, in.Number, gh.RawOptions{Type: gh.Diff})
			if err == nil {
				cut := false
				diff, cut = untrusted.Truncate(diff, int(s.cfg.Limits.MaxDiffBytes))
				if cut {
					diff += "\n[diff truncated at the size limit: use method files with the cursor to read every file]"
				}
				out.Diff, out.DiffTruncated = untrusted.Code(diff), cut
			}
		case "files":
			var fs []*gh.CommitFile
			fs, resp, err = c.client.PullRequests.ListFiles(ctx, in.Owner, in.Repo, in.Number, &opts)
			out.Files = fileChanges(fs, int(s.cfg.Limits.MaxPatchBytes), int(s.cfg.Limits.MaxDiffBytes))
		case "reviews":
			var rs []*gh.PullRequestReview
			rs, resp, err = c.client.PullRequests.ListReviews(ctx, in.Owner, in.Repo, in.Number, &opts)
			for _, r := range rs {
				out.Reviews = append(out.Reviews, Review{ID: r.GetID(), Author: login(r.User), State: r.GetState(),
					SubmittedAt: ts(r.SubmittedAt), Body: untrusted.Body(r.GetBody())})
			}
		case "comments":
			var cs []*gh.PullRequestComment
			cs, resp, err = c.client.PullRequests.ListComments(ctx, in.Owner, in.Repo, in.Number, &gh.PullRequestListCommentsOptions{ListOptions: opts})
			for _, cm := range cs {
				out.ReviewComments = append(out.ReviewComments, ReviewComment{ID: cm.GetID(), Author: login(cm.User), Path: cm.GetPath(),
					Line: cm.GetLine(), InReplyTo: cm.GetInReplyTo(), CreatedAt: ts(cm.CreatedAt), Body: untrusted.Body(cm.GetBody())})
			}
		case "checks":
			out.Checks, err = checks(ctx, c, in.Owner, in.Repo, in.Number)
		default:
			pr := new(gh.PullRequest)
			if err = getJSON(ctx, c, fmt.Sprintf("repos/%s/%s/pulls/%d", in.Owner, in.Repo, in.Number), pr); err == nil {
				out.PullRequest = pullView(pr)
			}
		}
		if err != nil {
			return PullOut{}, err
		}
		out.NextCursor = next(resp)
		return out, nil
	})
}

func pullView(pr *gh.PullRequest) *Pull {
	var reviewers []string
	for _, u := range pr.RequestedReviewers {
		reviewers = append(reviewers, u.GetLogin())
	}
	for _, t := range pr.RequestedTeams {
		reviewers = append(reviewers, "team:"+t.GetSlug())
	}
	return &Pull{
		Number: pr.GetNumber(), Title: untrusted.Line(pr.GetTitle()), State: pr.GetState(), Draft: pr.GetDraft(),
		Merged: pr.GetMerged(), Mergeable: pr.Mergeable, MergeableState: pr.GetMergeableState(), Author: login(pr.User),
		Head: pr.GetHead().GetLabel(), HeadSHA: pr.GetHead().GetSHA(), Base: pr.GetBase().GetRef(), Labels: labelNames(pr.Labels),
		RequestedReviewers: reviewers, Commits: pr.GetCommits(), ChangedFiles: pr.GetChangedFiles(),
		Additions: pr.GetAdditions(), Deletions: pr.GetDeletions(), CreatedAt: ts(pr.CreatedAt), UpdatedAt: ts(pr.UpdatedAt),
		MergedAt: ts(pr.MergedAt), Body: untrusted.Body(pr.GetBody()), URL: pr.GetHTMLURL(),
	}
}

// checks combines the commit statuses and check runs of a pull request's
// head commit.
func checks(ctx context.Context, c *Conn, owner, repo string, number int) (*Checks, error) {
	pr, _, err := c.client.PullRequests.Get(ctx, owner, repo, number)
	if err != nil {
		return nil, err
	}
	sha := pr.GetHead().GetSHA()
	st, _, err := c.client.Repositories.GetCombinedStatus(ctx, owner, repo, sha, &gh.ListOptions{PerPage: maxPageSize})
	if err != nil {
		return nil, err
	}
	out := &Checks{SHA: sha, State: st.GetState()}
	for _, s := range st.Statuses {
		out.Statuses = append(out.Statuses, Status{Context: s.GetContext(), State: s.GetState(), Description: untrusted.Line(s.GetDescription())})
	}
	runs, _, err := c.client.Checks.ListCheckRunsForRef(ctx, owner, repo, sha, &gh.ListCheckRunsOptions{ListOptions: gh.ListOptions{PerPage: maxPageSize}})
	if err != nil {
		return nil, err
	}
	for _, r := range runs.CheckRuns {
		out.CheckRuns = append(out.CheckRuns, CheckRun{Name: untrusted.Line(r.GetName()), Status: r.GetStatus(), Conclusion: r.GetConclusion(), URL: r.GetHTMLURL()})
		if out.State != "failure" && (r.GetConclusion() == "failure" || r.GetConclusion() == "timed_out") {
			out.State = "failure"
		}
	}
	return out, nil
}

// CreatePullIn opens a pull request.
type CreatePullIn struct {
	RepoArgs
	Title string `json:"title" jsonschema:"pull request title"`
	Head  string `json:"head" jsonschema:"branch with the changes (user:branch for a fork)"`
	Base  string `json:"base" jsonschema:"branch to merge into"`
	Body  string `json:"body,omitempty" jsonschema:"description (Markdown)"`
	Draft bool   `json:"draft,omitempty" jsonschema:"open as a draft"`
}

func newCreatePullRequest(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "create_pull_request",
		Title:       "Create a pull request",
		Description: "Opens a pull request from head into base, optionally as a draft.",
		Toolset:     toolsetPullRequests, Effect: core.Additive, Idempotent: core.No, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"pull_requests:write"},
	}, func(ctx context.Context, c *Conn, in CreatePullIn) (Ref, error) {
		if in.Title == "" || in.Head == "" || in.Base == "" {
			return Ref{}, errors.New("title, head and base are required")
		}
		headBranch := in.Head
		if _, b, ok := strings.Cut(in.Head, ":"); ok {
			headBranch = b
		}
		if err := errors.Join(checkRef("head", headBranch), checkRef("base", in.Base)); err != nil {
			return Ref{}, err
		}
		pr, _, err := c.client.PullRequests.Create(ctx, in.Owner, in.Repo, &gh.NewPullRequest{
			Title: gh.String(in.Title), Head: gh.String(in.Head), Base: gh.String(in.Base), Body: gh.String(in.Body), Draft: gh.Bool(in.Draft),
		})
		if err != nil {
			return Ref{}, err
		}
		return Ref{Number: pr.GetNumber(), State: pr.GetState(), URL: pr.GetHTMLURL()}, nil
	})
}

// UpdatePullIn changes a pull request or requests reviews.
type UpdatePullIn struct {
	RepoArgs
	Number        int      `json:"number" jsonschema:"pull request number"`
	Title         string   `json:"title,omitempty" jsonschema:"new title"`
	Body          string   `json:"body,omitempty" jsonschema:"new description, replacing the old one"`
	State         string   `json:"state,omitempty" jsonschema:"open or closed"`
	Base          string   `json:"base,omitempty" jsonschema:"new base branch"`
	Reviewers     []string `json:"reviewers,omitempty" jsonschema:"logins to request a review from"`
	TeamReviewers []string `json:"team_reviewers,omitempty" jsonschema:"team slugs to request a review from"`
}

// Enums lists the values core accepts for UpdatePullIn's enumerated properties.
func (UpdatePullIn) Enums() map[string][]string {
	return map[string][]string{"state": {"open", "closed"}}
}

func newUpdatePullRequest(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "update_pull_request",
		Title: "Update a pull request",
		Description: "Changes a pull request's title, description, state (close or reopen) or base branch, " +
			"and requests reviews from users or teams.",
		Toolset: toolsetPullRequests, Effect: core.Additive, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"pull_requests:write"},
	}, func(ctx context.Context, c *Conn, in UpdatePullIn) (Ref, error) {
		if in.Number <= 0 {
			return Ref{}, errors.New("number must be a positive pull request number")
		}
		if err := checkRef("base", in.Base); err != nil {
			return Ref{}, err
		}
		edit := &gh.PullRequest{}
		changed := false
		if in.Title != "" {
			edit.Title, changed = gh.String(in.Title), true
		}
		if in.Body != "" {
			edit.Body, changed = gh.String(in.Body), true
		}
		if in.State != "" {
			edit.State, changed = gh.String(in.State), true
		}
		if in.Base != "" {
			edit.Base, changed = &gh.PullRequestBranch{Ref: gh.String(in.Base)}, true
		}
		wantReviews := len(in.Reviewers) > 0 || len(in.TeamReviewers) > 0
		if !changed && !wantReviews {
			return Ref{}, errors.New("nothing to change: give at least one of title, body, state, base, reviewers, team_reviewers")
		}
		var pr *gh.PullRequest
		var err error
		if changed {
			if pr, _, err = c.client.PullRequests.Edit(ctx, in.Owner, in.Repo, in.Number, edit); err != nil {
				return Ref{}, err
			}
		}
		if wantReviews {
			if pr, _, err = c.client.PullRequests.RequestReviewers(ctx, in.Owner, in.Repo, in.Number,
				gh.ReviewersRequest{Reviewers: in.Reviewers, TeamReviewers: in.TeamReviewers}); err != nil {
				return Ref{}, err
			}
		}
		return Ref{Number: pr.GetNumber(), State: pr.GetState(), URL: pr.GetHTMLURL()}, nil
	})
}

// MergeIn merges a pull request.
type MergeIn struct {
	RepoArgs
	Number        int    `json:"number" jsonschema:"pull request number"`
	MergeMethod   string `json:"merge_method,omitempty" jsonschema:"merge (default), squash or rebase"`
	CommitTitle   string `json:"commit_title,omitempty" jsonschema:"title of the merge or squash commit"`
	CommitMessage string `json:"commit_message,omitempty" jsonschema:"message of the merge or squash commit"`
	SHA           string `json:"sha,omitempty" jsonschema:"head SHA you reviewed; the merge fails if the branch has moved since"`
}

// Enums lists the values core accepts for MergeIn's enumerated properties.
func (MergeIn) Enums() map[string][]string {
	return map[string][]string{"merge_method": {"merge", "squash", "rebase"}}
}

func newMergePullRequest(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "merge_pull_request",
		Title: "Merge a pull request",
		Description: "Merges a pull request into its base branch by merge commit, squash or rebase. " +
			"Pass the head sha you reviewed so that later pushes are not merged unseen.",
		Toolset: toolsetPullRequests, Effect: core.Destructive, Idempotent: core.No, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"contents:write", "pull_requests:write"},
	}, func(ctx context.Context, c *Conn, in MergeIn) (MergeOut, error) {
		if in.Number <= 0 {
			return MergeOut{}, errors.New("number must be a positive pull request number")
		}
		if in.SHA != "" && !shaRE.MatchString(in.SHA) {
			return MergeOut{}, fmt.Errorf("sha %s is not a 40-character commit SHA", core.Quote(in.SHA))
		}
		res, _, err := c.client.PullRequests.Merge(ctx, in.Owner, in.Repo, in.Number, in.CommitMessage,
			&gh.PullRequestOptions{CommitTitle: in.CommitTitle, SHA: in.SHA, MergeMethod: in.MergeMethod})
		if err != nil {
			return MergeOut{}, err
		}
		return MergeOut{Merged: res.GetMerged(), SHA: res.GetSHA(), Message: untrusted.Line(res.GetMessage())}, nil
	})
}

// MergeOut is the result of a merge.
type MergeOut struct {
	Merged  bool   `json:"merged"`
	SHA     string `json:"sha,omitempty"`
	Message string `json:"message,omitempty"`
}

// ReviewIn submits a review.
type ReviewIn struct {
	RepoArgs
	Number   int           `json:"number" jsonschema:"pull request number"`
	Event    string        `json:"event" jsonschema:"APPROVE, REQUEST_CHANGES or COMMENT"`
	Body     string        `json:"body,omitempty" jsonschema:"review summary (required for REQUEST_CHANGES and COMMENT)"`
	CommitID string        `json:"commit_id,omitempty" jsonschema:"SHA the review is for (the head when empty)"`
	Comments []LineComment `json:"comments,omitempty" jsonschema:"comments on lines of the diff"`
}

// Enums lists the values core accepts for ReviewIn's enumerated properties.
func (ReviewIn) Enums() map[string][]string {
	return map[string][]string{"event": {"APPROVE", "REQUEST_CHANGES", "COMMENT"}}
}

// LineComment is a review comment on a line.
type LineComment struct {
	Path string `json:"path" jsonschema:"file path"`
	Line int    `json:"line" jsonschema:"line number in the file"`
	Side string `json:"side,omitempty" jsonschema:"RIGHT (new version, default) or LEFT (old version)"`
	Body string `json:"body" jsonschema:"comment"`
}

func newSubmitPullRequestReview(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "submit_pull_request_review",
		Title: "Review a pull request",
		Description: "Submits a review of a pull request: approve, request changes or comment, " +
			"with a summary and optional comments on lines of the diff.",
		Toolset: toolsetPullRequests, Effect: core.Additive, Idempotent: core.No, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"pull_requests:write"},
	}, func(ctx context.Context, c *Conn, in ReviewIn) (Ref, error) {
		if in.Number <= 0 {
			return Ref{}, errors.New("number must be a positive pull request number")
		}
		if in.Event != "APPROVE" && strings.TrimSpace(in.Body) == "" && len(in.Comments) == 0 {
			return Ref{}, fmt.Errorf("event %s needs a body or comments", in.Event)
		}
		req := &gh.PullRequestReviewRequest{Event: gh.String(in.Event)}
		if in.Body != "" {
			req.Body = gh.String(in.Body)
		}
		if in.CommitID != "" {
			req.CommitID = gh.String(in.CommitID)
		}
		for _, lc := range in.Comments {
			if err := checkPath(lc.Path); err != nil || lc.Path == "" || lc.Line <= 0 {
				return Ref{}, fmt.Errorf("comment on %s line %d: a comment needs a path and a positive line", core.Quote(lc.Path), lc.Line)
			}
			side := lc.Side
			if side == "" {
				side = "RIGHT"
			}
			if side != "RIGHT" && side != "LEFT" {
				return Ref{}, fmt.Errorf("comment side %s is not RIGHT or LEFT", core.Quote(lc.Side))
			}
			req.Comments = append(req.Comments, &gh.DraftReviewComment{Path: gh.String(lc.Path), Line: gh.Int(lc.Line), Side: gh.String(side), Body: gh.String(lc.Body)})
		}
		r, _, err := c.client.PullRequests.CreateReview(ctx, in.Owner, in.Repo, in.Number, req)
		if err != nil {
			return Ref{}, err
		}
		return Ref{ID: r.GetID(), State: r.GetState(), URL: r.GetHTMLURL()}, nil
	})
}
