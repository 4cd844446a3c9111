package github

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	gh "github.com/google/go-github/v66/github"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

// RepoOut is one repository.
type RepoOut struct {
	Notice string `json:"notice"`
	Repo
}

func newGetRepository(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "get_repository",
		Title:       "Get a repository",
		Description: "Returns a repository's description, visibility, default branch, language, topics, counts and whether you can push.",
		Toolset:     toolsetRepos, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"metadata:read"},
	}, func(ctx context.Context, c *Conn, in RepoArgs) (RepoOut, error) {
		var r gh.Repository
		if err := getJSON(ctx, c, "repos/"+in.Owner+"/"+in.Repo, &r); err != nil {
			return RepoOut{}, err
		}
		return RepoOut{Notice: UntrustedNotice, Repo: repoView(&r)}, nil
	})
}

// defaultBranch returns the repository's default branch.
func defaultBranch(ctx context.Context, c *Conn, owner, repo string) (string, error) {
	var r struct {
		DefaultBranch string `json:"default_branch"`
	}
	if err := getJSON(ctx, c, "repos/"+owner+"/"+repo, &r); err != nil {
		return "", err
	}
	return r.DefaultBranch, nil
}

// ContentIn reads a file, a directory or the tree.
type ContentIn struct {
	RepoArgs
	Method string `json:"method" jsonschema:"file: a file's contents, or a directory's entries; tree: every path of the repository under path (recursive)"`
	Path   string `json:"path,omitempty" jsonschema:"path in the repository; empty for the root"`
	Ref    string `json:"ref,omitempty" jsonschema:"branch, tag or commit SHA (default branch when empty)"`
	Page
}

// Enums lists the values core accepts for ContentIn's enumerated properties.
func (ContentIn) Enums() map[string][]string {
	return map[string][]string{"method": {"file", "tree"}}
}

// File is a file's metadata and, when small and text, its contents.
type File struct {
	Path string `json:"path"`
	SHA  string `json:"sha"`
	Size int    `json:"size"`
	// Content is set for text files up to the size limit.
	Content string `json:"content,omitempty"`
	// Omitted says why Content is empty.
	Omitted     string `json:"omitted,omitempty"`
	URL         string `json:"url,omitempty"`
	DownloadURL string `json:"download_url,omitempty"`
}

// Entry is a directory or tree entry.
type Entry struct {
	Path string `json:"path"`
	Type string `json:"type"`
	Size int    `json:"size,omitempty"`
}

// ContentOut is a file, or entries of a directory or tree.
type ContentOut struct {
	Notice     string  `json:"notice,omitempty"`
	File       *File   `json:"file,omitempty"`
	Entries    []Entry `json:"entries,omitempty"`
	Total      int     `json:"total,omitempty"`
	NextCursor string  `json:"next_cursor,omitempty"`
	// Truncated: GitHub cut the tree short (over 100,000 entries).
	Truncated bool `json:"truncated,omitempty"`
}

func newGetRepositoryContent(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_repository_content",
		Title: "Get file contents or tree",
		Description: "Reads a file (text up to a size limit; larger or binary files return metadata and a link) or lists a directory " +
			"(method file), or lists every path under a directory recursively (method tree, paged).",
		Toolset: toolsetRepos, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"contents:read"},
	}, func(ctx context.Context, c *Conn, in ContentIn) (ContentOut, error) {
		if err := errors.Join(checkPath(in.Path), checkRef("ref", in.Ref)); err != nil {
			return ContentOut{}, err
		}
		if in.Method == "tree" {
			return s.tree(ctx, c, in)
		}
		return s.contents(ctx, c, in.Owner, in.Repo, in.Path, in.Ref)
	})
}

func (s *Service) contents(ctx context.Context, c *Conn, owner, repo, path, ref string) (ContentOut, error) {
	file, dir, _, err := c.client.Repositories.GetContents(ctx, owner, repo, path, &gh.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		return ContentOut{}, err
	}
	if file == nil {
		out := ContentOut{Total: len(dir)}
		for _, e := range dir {
			out.Entries = append(out.Entries, Entry{Path: e.GetPath(), Type: e.GetType(), Size: e.GetSize()})
		}
		return out, nil
	}
	return ContentOut{Notice: UntrustedNotice, File: s.fileView(file)}, nil
}

// fileView applies the size cap and the binary test, then cleans and
// wraps the text.
func (s *Service) fileView(fc *gh.RepositoryContent) *File {
	f := &File{Path: fc.GetPath(), SHA: fc.GetSHA(), Size: fc.GetSize(), URL: fc.GetHTMLURL(), DownloadURL: fc.GetDownloadURL()}
	limit := int(s.cfg.Limits.MaxFileBytes)
	switch {
	case fc.GetType() != "file":
		f.Omitted = fc.GetType() + ": no contents"
	case f.Size > limit:
		f.Omitted = fmt.Sprintf("file is %d bytes, over the %d-byte limit; download it from download_url", f.Size, limit)
	default:
		text, err := fc.GetContent()
		switch {
		case err != nil:
			f.Omitted = "contents not readable: " + oneLine(err.Error())
		case isBinary([]byte(text)):
			f.Omitted = "binary file; download it from download_url"
		default:
			f.Content = untrusted.File(f.Path, text)
		}
	}
	return f
}

func (s *Service) tree(ctx context.Context, c *Conn, in ContentIn) (ContentOut, error) {
	ref := in.Ref
	if ref == "" {
		var err error
		if ref, err = defaultBranch(ctx, c, in.Owner, in.Repo); err != nil {
			return ContentOut{}, err
		}
	}
	t, _, err := c.client.Git.GetTree(ctx, in.Owner, in.Repo, ref, true)
	if err != nil {
		return ContentOut{}, err
	}
	prefix := strings.TrimSuffix(in.Path, "/")
	var all []Entry
	for _, e := range t.Entries {
		p := e.GetPath()
		if prefix != "" && !strings.HasPrefix(p, prefix+"/") {
			continue
		}
		typ := e.GetType()
		if typ == "blob" {
			typ = "file"
		} else if typ == "tree" {
			typ = "dir"
		}
		all = append(all, Entry{Path: p, Type: typ, Size: e.GetSize()})
	}
	opts, err := in.options()
	if err != nil {
		return ContentOut{}, err
	}
	start := min((opts.Page-1)*opts.PerPage, len(all))
	end := min(start+opts.PerPage, len(all))
	out := ContentOut{Entries: all[start:end], Total: len(all), Truncated: t.GetTruncated()}
	if end < len(all) {
		out.NextCursor = strconv.Itoa(opts.Page + 1)
	}
	return out, nil
}

// ItemsIn lists one kind of repository item.
type ItemsIn struct {
	RepoArgs
	Kind   string `json:"kind" jsonschema:"what to list"`
	Ref    string `json:"ref,omitempty" jsonschema:"commits: branch, tag or SHA to start from (default branch when empty)"`
	Path   string `json:"path,omitempty" jsonschema:"commits: only those touching this path"`
	Author string `json:"author,omitempty" jsonschema:"commits: GitHub login or e-mail of the author"`
	Since  string `json:"since,omitempty" jsonschema:"commits: not before this RFC 3339 time"`
	Until  string `json:"until,omitempty" jsonschema:"commits: not after this RFC 3339 time"`
	Page
}

// Enums lists the values core accepts for ItemsIn's enumerated properties.
func (ItemsIn) Enums() map[string][]string {
	return map[string][]string{"kind": {"branches", "tags", "releases", "commits", "labels"}}
}

// Branch is a branch.
type Branch struct {
	Name      string `json:"name"`
	SHA       string `json:"sha"`
	Protected bool   `json:"protected,omitempty"`
}

// Tag is a tag.
type Tag struct {
	Name string `json:"name"`
	SHA  string `json:"sha"`
}

// Release is a release.
type Release struct {
	Tag         string `json:"tag"`
	Name        string `json:"name,omitempty"`
	Draft       bool   `json:"draft,omitempty"`
	Prerelease  bool   `json:"prerelease,omitempty"`
	PublishedAt string `json:"published_at,omitempty"`
	Notes       string `json:"notes,omitempty"`
	URL         string `json:"url"`
}

// Label is an issue label.
type Label struct {
	Name        string `json:"name"`
	Color       string `json:"color,omitempty"`
	Description string `json:"description,omitempty"`
}

// ItemsOut lists branches, tags, releases, commits or labels.
type ItemsOut struct {
	Notice     string    `json:"notice,omitempty"`
	Branches   []Branch  `json:"branches,omitempty"`
	Tags       []Tag     `json:"tags,omitempty"`
	Releases   []Release `json:"releases,omitempty"`
	Commits    []Commit  `json:"commits,omitempty"`
	Labels     []Label   `json:"labels,omitempty"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// releaseNotesLimit bounds each release's notes in a list.
const releaseNotesLimit = 2000

func newListRepositoryItems(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "list_repository_items",
		Title:       "List branches, tags, releases, commits or labels",
		Description: "Lists a repository's branches, tags, releases (with notes), commits (filter by ref, path, author, time) or issue labels, one page at a time.",
		Toolset:     toolsetRepos, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"contents:read"},
	}, func(ctx context.Context, c *Conn, in ItemsIn) (ItemsOut, error) {
		opts, err := in.options()
		if err != nil {
			return ItemsOut{}, err
		}
		var out ItemsOut
		var resp *gh.Response
		switch in.Kind {
		case "branches":
			var bs []*gh.Branch
			bs, resp, err = c.client.Repositories.ListBranches(ctx, in.Owner, in.Repo, &gh.BranchListOptions{ListOptions: opts})
			for _, b := range bs {
				out.Branches = append(out.Branches, Branch{Name: b.GetName(), SHA: b.GetCommit().GetSHA(), Protected: b.GetProtected()})
			}
		case "tags":
			var tags []*gh.RepositoryTag
			tags, resp, err = c.client.Repositories.ListTags(ctx, in.Owner, in.Repo, &opts)
			for _, t := range tags {
				out.Tags = append(out.Tags, Tag{Name: t.GetName(), SHA: t.GetCommit().GetSHA()})
			}
		case "releases":
			var rs []*gh.RepositoryRelease
			rs, resp, err = c.client.Repositories.ListReleases(ctx, in.Owner, in.Repo, &opts)
			for _, r := range rs {
				notes, cut := untrusted.Truncate(untrusted.Markdown(r.GetBody()), releaseNotesLimit)
				if cut {
					notes += "\n[notes truncated; see url]"
				}
				out.Releases = append(out.Releases, Release{Tag: r.GetTagName(), Name: untrusted.Line(r.GetName()), Draft: r.GetDraft(),
					Prerelease: r.GetPrerelease(), PublishedAt: ts(r.PublishedAt), Notes: untrusted.Wrap(notes), URL: r.GetHTMLURL()})
			}
			out.Notice = UntrustedNotice
		case "commits":
			copts, cerr := commitOptions(in, opts)
			if cerr != nil {
				return ItemsOut{}, cerr
			}
			var cs []*gh.RepositoryCommit
			cs, resp, err = c.client.Repositories.ListCommits(ctx, in.Owner, in.Repo, copts)
			for _, cm := range cs {
				out.Commits = append(out.Commits, commitView(cm))
			}
			out.Notice = UntrustedNotice
		case "labels":
			var ls []*gh.Label
			ls, resp, err = c.client.Issues.ListLabels(ctx, in.Owner, in.Repo, &opts)
			for _, l := range ls {
				out.Labels = append(out.Labels, Label{Name: untrusted.Line(l.GetName()), Color: l.GetColor(), Description: untrusted.Line(l.GetDescription())})
			}
			out.Notice = UntrustedNotice
		}
		if err != nil {
			return ItemsOut{}, err
		}
		out.NextCursor = next(resp)
		return out, nil
	})
}

func commitOptions(in ItemsIn, opts gh.ListOptions) (*gh.CommitsListOptions, error) {
	since, err1 := parseTime("since", in.Since)
	until, err2 := parseTime("until", in.Until)
	if err := errors.Join(err1, err2, checkRef("ref", in.Ref), checkPath(in.Path)); err != nil {
		return nil, err
	}
	return &gh.CommitsListOptions{SHA: in.Ref, Path: in.Path, Author: in.Author, Since: since, Until: until, ListOptions: opts}, nil
}

// CommitIn reads a commit or compares two refs.
type CommitIn struct {
	RepoArgs
	Method string `json:"method" jsonschema:"details: one commit with its changed files; compare: commits and files between base and head"`
	SHA    string `json:"sha,omitempty" jsonschema:"details: commit SHA, branch or tag"`
	Base   string `json:"base,omitempty" jsonschema:"compare: base branch, tag or SHA"`
	Head   string `json:"head,omitempty" jsonschema:"compare: head branch, tag or SHA"`
	Page
}

// Enums lists the values core accepts for CommitIn's enumerated properties.
func (CommitIn) Enums() map[string][]string {
	return map[string][]string{"method": {"details", "compare"}}
}

// CommitDetail is one commit.
type CommitDetail struct {
	SHA       string   `json:"sha"`
	Message   string   `json:"message"`
	Author    string   `json:"author,omitempty"`
	Date      string   `json:"date,omitempty"`
	Parents   []string `json:"parents,omitempty"`
	Additions int      `json:"additions"`
	Deletions int      `json:"deletions"`
	URL       string   `json:"url"`
}

// Comparison is how head differs from base.
type Comparison struct {
	Status       string   `json:"status"`
	AheadBy      int      `json:"ahead_by"`
	BehindBy     int      `json:"behind_by"`
	TotalCommits int      `json:"total_commits"`
	Commits      []Commit `json:"commits,omitempty"`
	URL          string   `json:"url,omitempty"`
}

// CommitOut is a commit or a comparison, with changed files.
type CommitOut struct {
	Notice     string        `json:"notice"`
	Commit     *CommitDetail `json:"commit,omitempty"`
	Comparison *Comparison   `json:"comparison,omitempty"`
	Files      []FileChange  `json:"files,omitempty"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

func newGetCommit(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_commit",
		Title: "Get a commit or compare refs",
		Description: "Returns one commit with its message and changed files (method details), or the commits and changed files " +
			"between base and head (method compare). Patches are cut to a size limit; page through files with the cursor.",
		Toolset: toolsetRepos, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"contents:read"},
	}, func(ctx context.Context, c *Conn, in CommitIn) (CommitOut, error) {
		opts, err := in.options()
		if err != nil {
			return CommitOut{}, err
		}
		maxPatch, maxTotal := int(s.cfg.Limits.MaxPatchBytes), int(s.cfg.Limits.MaxDiffBytes)
		out := CommitOut{Notice: UntrustedNotice}
		if in.Method == "compare" {
			if in.Base == "" || in.Head == "" {
				return CommitOut{}, errors.New("method compare needs base and head")
			}
			if err := errors.Join(checkRef("base", in.Base), checkRef("head", in.Head)); err != nil {
				return CommitOut{}, err
			}
			cmp, resp, err := c.client.Repositories.CompareCommits(ctx, in.Owner, in.Repo, in.Base, in.Head, &opts)
			if err != nil {
				return CommitOut{}, err
			}
			v := &Comparison{Status: cmp.GetStatus(), AheadBy: cmp.GetAheadBy(), BehindBy: cmp.GetBehindBy(), TotalCommits: cmp.GetTotalCommits(), URL: cmp.GetHTMLURL()}
			for _, cm := range cmp.Commits {
				v.Commits = append(v.Commits, commitView(cm))
			}
			out.Comparison, out.Files, out.NextCursor = v, fileChanges(cmp.Files, maxPatch, maxTotal), next(resp)
			return out, nil
		}
		if in.SHA == "" {
			return CommitOut{}, errors.New("method details needs sha (a commit SHA, branch or tag)")
		}
		if err := checkRef("sha", in.SHA); err != nil {
			return CommitOut{}, err
		}
		cm, resp, err := c.client.Repositories.GetCommit(ctx, in.Owner, in.Repo, in.SHA, &opts)
		if err != nil {
			return CommitOut{}, err
		}
		v := commitView(cm)
		d := &CommitDetail{SHA: v.SHA, Message: untrusted.Body(cm.GetCommit().GetMessage()), Author: v.Author, Date: v.Date,
			Additions: cm.GetStats().GetAdditions(), Deletions: cm.GetStats().GetDeletions(), URL: cm.GetHTMLURL()}
		for _, p := range cm.Parents {
			d.Parents = append(d.Parents, p.GetSHA())
		}
		out.Commit, out.Files, out.NextCursor = d, fileChanges(cm.Files, maxPatch, maxTotal), next(resp)
		return out, nil
	})
}

// SearchIn is a search of one kind.
type SearchIn struct {
	Kind  string `json:"kind" jsonschema:"what to search"`
	Query string `json:"query" jsonschema:"GitHub search syntax, e.g. 'memory leak in:title label:bug' or 'func main language:go'"`
	Owner string `json:"owner,omitempty" jsonschema:"limit to this user or organization (required on connections with an allowlist)"`
	Repo  string `json:"repo,omitempty" jsonschema:"limit to this repository of owner"`
	Sort  string `json:"sort,omitempty" jsonschema:"sort field, e.g. stars, updated, comments (best match when empty)"`
	Order string `json:"order,omitempty" jsonschema:"asc or desc"`
	Page
	Connection string `json:"connection,omitempty" jsonschema:"connection name; the default one when empty"`
}

// Enums lists the values core accepts for SearchIn's enumerated properties.
func (SearchIn) Enums() map[string][]string {
	return map[string][]string{"kind": {"repositories", "code", "issues", "pull_requests"}, "order": {"asc", "desc"}}
}

func (in SearchIn) scope() scope { return scope{conn: in.Connection, owner: in.Owner, repo: in.Repo} }

// CodeHit is a code search result.
type CodeHit struct {
	Repo string `json:"repo"`
	Path string `json:"path"`
	SHA  string `json:"sha,omitempty"`
	URL  string `json:"url"`
}

// RepoHit is a repository search result.
type RepoHit struct {
	FullName    string `json:"full_name"`
	Description string `json:"description,omitempty"`
	Language    string `json:"language,omitempty"`
	Stars       int    `json:"stars"`
	UpdatedAt   string `json:"updated_at,omitempty"`
	URL         string `json:"url"`
}

// SearchOut is a page of search results.
type SearchOut struct {
	Notice       string         `json:"notice"`
	Total        int            `json:"total"`
	Incomplete   bool           `json:"incomplete,omitempty"`
	Repositories []RepoHit      `json:"repositories,omitempty"`
	Code         []CodeHit      `json:"code,omitempty"`
	Issues       []IssueSummary `json:"issues,omitempty"`
	NextCursor   string         `json:"next_cursor,omitempty"`
}

// scopeQualifierRE finds qualifiers that pick repositories; on a
// connection with an allowlist the server sets those itself.
var scopeQualifierRE = regexp.MustCompile(`(?i)(^|[\s(])-?(repo|org|user|owner):`)

func newSearch(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "search",
		Title: "Search GitHub",
		Description: "Searches repositories, code, issues or pull requests with GitHub search syntax, optionally inside one owner or repository. " +
			"Search has its own, lower rate limit: prefer list tools for a known repository.",
		Toolset: toolsetRepos, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"metadata:read"},
	}, func(ctx context.Context, c *Conn, in SearchIn) (SearchOut, error) {
		q, err := searchQuery(c, in)
		if err != nil {
			return SearchOut{}, err
		}
		opts, err := in.options()
		if err != nil {
			return SearchOut{}, err
		}
		so := &gh.SearchOptions{Sort: in.Sort, Order: in.Order, ListOptions: opts}
		out := SearchOut{Notice: UntrustedNotice}
		var resp *gh.Response
		switch in.Kind {
		case "repositories":
			var r *gh.RepositoriesSearchResult
			r, resp, err = c.client.Search.Repositories(ctx, q, so)
			if err == nil {
				out.Total, out.Incomplete = r.GetTotal(), r.GetIncompleteResults()
				for _, rp := range r.Repositories {
					if !c.allow.repo(rp.GetOwner().GetLogin(), rp.GetName()) {
						continue
					}
					out.Repositories = append(out.Repositories, RepoHit{FullName: rp.GetFullName(), Description: untrusted.Line(rp.GetDescription()),
						Language: rp.GetLanguage(), Stars: rp.GetStargazersCount(), UpdatedAt: ts(rp.UpdatedAt), URL: rp.GetHTMLURL()})
				}
			}
		case "code":
			var r *gh.CodeSearchResult
			r, resp, err = c.client.Search.Code(ctx, q, so)
			if err == nil {
				out.Total, out.Incomplete = r.GetTotal(), r.GetIncompleteResults()
				for _, h := range r.CodeResults {
					rp := h.GetRepository()
					if !c.allow.repo(rp.GetOwner().GetLogin(), rp.GetName()) {
						continue
					}
					out.Code = append(out.Code, CodeHit{Repo: rp.GetFullName(), Path: h.GetPath(), SHA: h.GetSHA(), URL: h.GetHTMLURL()})
				}
			}
		default:
			var r *gh.IssuesSearchResult
			r, resp, err = c.client.Search.Issues(ctx, q, so)
			if err == nil {
				out.Total, out.Incomplete = r.GetTotal(), r.GetIncompleteResults()
				for _, is := range r.Issues {
					sum := issueSummary(is, true)
					owner, name, _ := strings.Cut(sum.Repo, "/")
					if !c.allow.repo(owner, name) {
						continue
					}
					out.Issues = append(out.Issues, sum)
				}
			}
		}
		if err != nil {
			return SearchOut{}, err
		}
		out.NextCursor = next(resp)
		return out, nil
	})
}

// GitHub's documented limits on a search query.
const (
	maxSearchQuery     = 256
	maxSearchOperators = 5
)

var searchOperatorRE = regexp.MustCompile(`\b(AND|OR|NOT)\b`)

// searchQuery adds the kind and scope qualifiers to the model's query.
func searchQuery(c *Conn, in SearchIn) (string, error) {
	q := strings.TrimSpace(in.Query)
	if q == "" {
		return "", errors.New("query is empty")
	}
	// GitHub refuses longer queries (with 422, or 431 when the URL itself
	// is too long); saying so here spares the caller a search-rate-limited
	// round trip and an opaque status.
	if n := utf8.RuneCountInString(q); n > maxSearchQuery {
		return "", fmt.Errorf("query is %d characters; GitHub search accepts at most %d: keep the key words and qualifiers, and give owner and repo as arguments", n, maxSearchQuery)
	}
	if n := len(searchOperatorRE.FindAllString(q, -1)); n > maxSearchOperators {
		return "", fmt.Errorf("query has %d AND/OR/NOT operators; GitHub search accepts at most %d: split it into several searches", n, maxSearchOperators)
	}
	if in.Repo != "" && in.Owner == "" {
		return "", errors.New("repo needs owner")
	}
	if !c.allow.all() {
		if in.Owner == "" {
			return "", requireUnrestricted(c, "search")
		}
		if scopeQualifierRE.MatchString(q) {
			return "", errors.New("on a connection with an allowlist, give owner and repo as arguments instead of repo:, org:, user: or owner: qualifiers")
		}
	}
	switch {
	case in.Repo != "":
		q += " repo:" + in.Owner + "/" + in.Repo
	case in.Owner != "":
		q += " user:" + in.Owner
	}
	switch in.Kind {
	case "issues":
		q += " is:issue"
	case "pull_requests":
		q += " is:pr"
	}
	return q, nil
}

// BranchIn creates a branch.
type BranchIn struct {
	RepoArgs
	Branch string `json:"branch" jsonschema:"name of the new branch"`
	From   string `json:"from,omitempty" jsonschema:"branch, tag or commit SHA to start from (default branch when empty)"`
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

func newCreateBranch(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "create_branch",
		Title:       "Create a branch",
		Description: "Creates a branch from another branch, a tag or a commit SHA (the default branch when from is empty).",
		Toolset:     toolsetRepos, Effect: core.Additive, Idempotent: core.No, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"contents:write"},
	}, func(ctx context.Context, c *Conn, in BranchIn) (Ref, error) {
		if in.Branch == "" {
			return Ref{}, errors.New("branch is empty")
		}
		if err := errors.Join(checkRef("branch", in.Branch), checkRef("from", in.From)); err != nil {
			return Ref{}, err
		}
		sha, err := resolveSHA(ctx, c, in.Owner, in.Repo, in.From)
		if err != nil {
			return Ref{}, err
		}
		ref, _, err := c.client.Git.CreateRef(ctx, in.Owner, in.Repo, &gh.Reference{Ref: gh.String("refs/heads/" + in.Branch), Object: &gh.GitObject{SHA: gh.String(sha)}})
		if err != nil {
			return Ref{}, err
		}
		return Ref{SHA: ref.GetObject().GetSHA(), URL: ref.GetURL()}, nil
	})
}

// resolveSHA turns a branch, tag or SHA (the default branch when empty)
// into a commit SHA.
func resolveSHA(ctx context.Context, c *Conn, owner, repo, from string) (string, error) {
	if shaRE.MatchString(from) {
		return from, nil
	}
	if from == "" {
		var err error
		if from, err = defaultBranch(ctx, c, owner, repo); err != nil {
			return "", err
		}
	}
	ref, _, err := c.client.Git.GetRef(ctx, owner, repo, "heads/"+from)
	if err != nil {
		var er *gh.ErrorResponse
		if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != 404 {
			return "", err
		}
		if ref, _, err = c.client.Git.GetRef(ctx, owner, repo, "tags/"+from); err != nil {
			return "", err
		}
	}
	return ref.GetObject().GetSHA(), nil
}

// FileIn writes one file.
type FileIn struct {
	RepoArgs
	Path    string `json:"path" jsonschema:"file path in the repository"`
	Content string `json:"content" jsonschema:"the complete new file contents (UTF-8 text)"`
	Message string `json:"message" jsonschema:"commit message"`
	Branch  string `json:"branch,omitempty" jsonschema:"branch to commit to (default branch when empty)"`
	SHA     string `json:"sha,omitempty" jsonschema:"blob SHA of the file being replaced (from get_repository_content); required to update an existing file"`
}

func newCreateOrUpdateFile(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "create_or_update_file",
		Title: "Create or update a file",
		Description: "Commits one file: creates it, or replaces an existing file's whole contents when sha names the version you read. " +
			"For several files in one commit use push_files.",
		Toolset: toolsetRepos, Effect: core.Destructive, Idempotent: core.No, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"contents:write"},
	}, func(ctx context.Context, c *Conn, in FileIn) (Ref, error) {
		if in.Path == "" || in.Message == "" {
			return Ref{}, errors.New("path and message are required")
		}
		if err := errors.Join(checkPath(in.Path), checkRef("branch", in.Branch)); err != nil {
			return Ref{}, err
		}
		opts := &gh.RepositoryContentFileOptions{Message: gh.String(in.Message), Content: []byte(in.Content)}
		if in.Branch != "" {
			opts.Branch = gh.String(in.Branch)
		}
		if in.SHA != "" {
			opts.SHA = gh.String(in.SHA)
		}
		res, _, err := c.client.Repositories.CreateFile(ctx, in.Owner, in.Repo, in.Path, opts)
		if err != nil {
			return Ref{}, err
		}
		return Ref{SHA: res.Commit.GetSHA(), URL: res.GetContent().GetHTMLURL()}, nil
	})
}

// PushFilesIn commits several files at once.
type PushFilesIn struct {
	RepoArgs
	Branch  string     `json:"branch" jsonschema:"existing branch to commit to"`
	Message string     `json:"message" jsonschema:"commit message"`
	Files   []FileBlob `json:"files" jsonschema:"files to create or replace, each with its complete contents"`
}

// FileBlob is one file of a push.
type FileBlob struct {
	Path    string `json:"path" jsonschema:"file path in the repository"`
	Content string `json:"content" jsonschema:"complete file contents (UTF-8 text)"`
}

// maxPushFiles bounds one push: larger changes belong in several commits.
const maxPushFiles = 100

func newPushFiles(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "push_files",
		Title: "Push several files in one commit",
		Description: "Creates or replaces several files on an existing branch in a single commit (no force push: it fails if the branch moved). " +
			"Each file gets its complete new contents.",
		Toolset: toolsetRepos, Effect: core.Destructive, Idempotent: core.No, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"contents:write"},
	}, func(ctx context.Context, c *Conn, in PushFilesIn) (Ref, error) {
		if in.Branch == "" || in.Message == "" || len(in.Files) == 0 {
			return Ref{}, errors.New("branch, message and at least one file are required")
		}
		if len(in.Files) > maxPushFiles {
			return Ref{}, fmt.Errorf("%d files in one push; at most %d", len(in.Files), maxPushFiles)
		}
		errs := []error{checkRef("branch", in.Branch)}
		seen := map[string]bool{}
		for _, f := range in.Files {
			errs = append(errs, checkPath(f.Path))
			if f.Path == "" || seen[f.Path] {
				errs = append(errs, fmt.Errorf("file path %s is empty or repeated", core.Quote(f.Path)))
			}
			seen[f.Path] = true
		}
		if err := errors.Join(errs...); err != nil {
			return Ref{}, err
		}
		head, _, err := c.client.Git.GetRef(ctx, in.Owner, in.Repo, "heads/"+in.Branch)
		if err != nil {
			return Ref{}, err
		}
		parent, _, err := c.client.Git.GetCommit(ctx, in.Owner, in.Repo, head.GetObject().GetSHA())
		if err != nil {
			return Ref{}, err
		}
		entries := make([]*gh.TreeEntry, 0, len(in.Files))
		for _, f := range in.Files {
			entries = append(entries, &gh.TreeEntry{Path: gh.String(f.Path), Mode: gh.String("100644"), Type: gh.String("blob"), Content: gh.String(f.Content)})
		}
		tree, _, err := c.client.Git.CreateTree(ctx, in.Owner, in.Repo, parent.GetTree().GetSHA(), entries)
		if err != nil {
			return Ref{}, err
		}
		commit, _, err := c.client.Git.CreateCommit(ctx, in.Owner, in.Repo,
			&gh.Commit{Message: gh.String(in.Message), Tree: tree, Parents: []*gh.Commit{{SHA: parent.SHA}}}, nil)
		if err != nil {
			return Ref{}, err
		}
		head.Object.SHA = commit.SHA
		if _, _, err := c.client.Git.UpdateRef(ctx, in.Owner, in.Repo, head, false); err != nil {
			return Ref{}, err
		}
		return Ref{SHA: commit.GetSHA(), URL: commit.GetHTMLURL()}, nil
	})
}
