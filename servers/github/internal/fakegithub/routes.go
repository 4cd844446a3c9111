package fakegithub

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v66/github"
)

// handlerFunc handles a request under the fake's lock; repo is set for
// routes under /repos/{owner}/{repo} (which answer 404 for unknown ones).
type handlerFunc func(w http.ResponseWriter, r *http.Request, repo *Repo)

func (f *Fake) routes(mux *http.ServeMux) {
	handle := func(pattern string, h handlerFunc) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			defer f.mu.Unlock()
			var repo *Repo
			if owner := r.PathValue("owner"); owner != "" {
				repo = f.data.Repos[strings.ToLower(owner+"/"+r.PathValue("repo"))]
				if repo == nil {
					notFound(w)
					return
				}
			}
			h(w, r, repo)
		})
	}
	mux.HandleFunc("POST /app/installations/{id}/access_tokens", f.mintToken)
	handle("GET /rate_limit", func(w http.ResponseWriter, r *http.Request, _ *Repo) {
		writeJSON(w, 200, map[string]any{"resources": map[string]any{"core": map[string]any{"limit": f.opts.QuotaLimit, "remaining": f.remaining}}})
	})
	handle("GET /user", func(w http.ResponseWriter, r *http.Request, _ *Repo) {
		if strings.HasPrefix(r.Header.Get("Authorization"), "token ghs_") {
			writeJSON(w, 403, map[string]string{"message": "Resource not accessible by integration"})
			return
		}
		writeJSON(w, 200, f.data.User)
	})
	handle("GET /user/teams", func(w http.ResponseWriter, r *http.Request, _ *Repo) {
		var all []*gh.Team
		for _, org := range slices.Sorted(maps.Keys(f.data.Teams)) {
			all = append(all, f.data.Teams[org]...)
		}
		writeJSON(w, 200, paginate(w, r, all))
	})
	handle("GET /orgs/{org}/teams", func(w http.ResponseWriter, r *http.Request, _ *Repo) {
		teams, ok := f.data.Teams[r.PathValue("org")]
		if !ok {
			notFound(w)
			return
		}
		writeJSON(w, 200, paginate(w, r, teams))
	})
	handle("GET /orgs/{org}/teams/{slug}/members", func(w http.ResponseWriter, r *http.Request, _ *Repo) {
		ms, ok := f.data.Members[r.PathValue("org")+"/"+r.PathValue("slug")]
		if !ok {
			notFound(w)
			return
		}
		writeJSON(w, 200, paginate(w, r, ms))
	})

	f.repoRoutes(handle)
	f.issueRoutes(handle)
	f.pullRoutes(handle)
	f.actionsRoutes(handle)
	f.otherRoutes(handle)
}

func (f *Fake) repoRoutes(handle func(string, handlerFunc)) {
	handle("GET /repos/{owner}/{repo}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if repo.json == nil {
			repo.json, _ = json.Marshal(repo.Info)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(repo.json)
	})
	handle("GET /repos/{owner}/{repo}/contents/{path...}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if ref := r.URL.Query().Get("ref"); ref != "" && repo.Branches[ref] == "" && !strings.HasPrefix(ref, "v") {
			notFound(w)
			return
		}
		p := strings.Trim(r.PathValue("path"), "/")
		if content, ok := repo.Files[p]; ok {
			writeJSON(w, 200, f.fileContent(repo, p, content))
			return
		}
		var entries []*gh.RepositoryContent
		seen := map[string]bool{}
		for _, fp := range slices.Sorted(maps.Keys(repo.Files)) {
			rest, ok := strings.CutPrefix(fp, p+"/")
			if p == "" {
				rest, ok = fp, true
			}
			if !ok {
				continue
			}
			name, _, isDir := strings.Cut(rest, "/")
			if seen[name] {
				continue
			}
			seen[name] = true
			typ, size := "file", len(repo.Files[fp])
			if isDir {
				typ, size = "dir", 0
			}
			entries = append(entries, &gh.RepositoryContent{Type: ptr(typ), Name: ptr(name), Path: ptr(path.Join(p, name)), Size: ptr(size)})
		}
		if len(entries) == 0 {
			notFound(w)
			return
		}
		writeJSON(w, 200, entries)
	})
	handle("PUT /repos/{owner}/{repo}/contents/{path...}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		var in struct {
			Message, Content, SHA, Branch string
		}
		if err := decode(r, &in); err != nil || in.Message == "" {
			invalid(w, "Commit", "message", "missing_field")
			return
		}
		if in.Branch != "" && repo.Branches[in.Branch] == "" {
			writeJSON(w, 404, map[string]string{"message": "Branch " + in.Branch + " not found"})
			return
		}
		p := r.PathValue("path")
		old, exists := repo.Files[p]
		switch {
		case exists && in.SHA == "":
			writeJSON(w, 422, map[string]string{"message": "Invalid request.\n\n\"sha\" wasn't supplied."})
			return
		case exists && in.SHA != blobSHA(old):
			writeJSON(w, 409, map[string]string{"message": p + " does not match " + in.SHA})
			return
		}
		raw, err := base64.StdEncoding.DecodeString(in.Content)
		if err != nil {
			invalid(w, "Blob", "content", "invalid")
			return
		}
		repo.Files[p] = string(raw)
		repo.json = nil
		sha := f.data.sha("commit")
		repo.Branches[cmpOr(in.Branch, "main")] = sha
		status := 200
		if !exists {
			status = 201
		}
		writeJSON(w, status, map[string]any{"content": f.fileContent(repo, p, string(raw)), "commit": map[string]string{"sha": sha}})
	})
	handle("GET /repos/{owner}/{repo}/git/trees/{sha}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if repo.Branches[r.PathValue("sha")] == "" && !shaKnown(repo, r.PathValue("sha")) {
			notFound(w)
			return
		}
		var entries []*gh.TreeEntry
		dirs := map[string]bool{}
		for _, fp := range slices.Sorted(maps.Keys(repo.Files)) {
			for d := path.Dir(fp); d != "." && !dirs[d]; d = path.Dir(d) {
				dirs[d] = true
				entries = append(entries, &gh.TreeEntry{Path: ptr(d), Type: ptr("tree"), Mode: ptr("040000")})
			}
			entries = append(entries, &gh.TreeEntry{Path: ptr(fp), Type: ptr("blob"), Mode: ptr("100644"), Size: ptr(len(repo.Files[fp])), SHA: ptr(blobSHA(repo.Files[fp]))})
		}
		writeJSON(w, 200, &gh.Tree{SHA: ptr(f.data.sha("tree")), Entries: entries, Truncated: ptr(false)})
	})
	handle("GET /repos/{owner}/{repo}/branches", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		var bs []*gh.Branch
		for _, name := range slices.Sorted(maps.Keys(repo.Branches)) {
			bs = append(bs, &gh.Branch{Name: ptr(name), Commit: &gh.RepositoryCommit{SHA: ptr(repo.Branches[name])}, Protected: ptr(name == "main")})
		}
		writeJSON(w, 200, paginate(w, r, bs))
	})
	handle("GET /repos/{owner}/{repo}/tags", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		writeJSON(w, 200, paginate(w, r, repo.Tags))
	})
	handle("GET /repos/{owner}/{repo}/releases", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		writeJSON(w, 200, paginate(w, r, repo.Releases))
	})
	handle("GET /repos/{owner}/{repo}/labels", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		writeJSON(w, 200, paginate(w, r, repo.Labels))
	})
	handle("GET /repos/{owner}/{repo}/commits", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if sha := r.URL.Query().Get("sha"); sha != "" && repo.Branches[sha] == "" && !shaKnown(repo, sha) {
			writeJSON(w, 422, map[string]string{"message": "No commit found for SHA: " + sha})
			return
		}
		writeJSON(w, 200, paginate(w, r, repo.Commits))
	})
	handle("GET /repos/{owner}/{repo}/commits/{sha}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		sha := r.PathValue("sha")
		if b := repo.Branches[sha]; b != "" {
			sha = b
		}
		for _, c := range repo.Commits {
			if c.GetSHA() == sha {
				writeJSON(w, 200, c)
				return
			}
		}
		writeJSON(w, 422, map[string]string{"message": "No commit found for SHA: " + r.PathValue("sha")})
	})
	handle("GET /repos/{owner}/{repo}/compare/{basehead}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		base, head, ok := strings.Cut(r.PathValue("basehead"), "...")
		if !ok || repo.Branches[base] == "" || repo.Branches[head] == "" {
			notFound(w)
			return
		}
		writeJSON(w, 200, &gh.CommitsComparison{Status: ptr("ahead"), AheadBy: ptr(1), BehindBy: ptr(0), TotalCommits: ptr(1),
			HTMLURL: ptr(f.data.BaseURL + "/compare"), Commits: repo.Commits[1:], Files: repo.PullFiles[4]})
	})
	handle("GET /repos/{owner}/{repo}/git/ref/{ref...}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		ref := r.PathValue("ref")
		var sha string
		if b, ok := strings.CutPrefix(ref, "heads/"); ok {
			sha = repo.Branches[b]
		} else if t, ok := strings.CutPrefix(ref, "tags/"); ok {
			for _, tag := range repo.Tags {
				if tag.GetName() == t {
					sha = tag.GetCommit().GetSHA()
				}
			}
		}
		if sha == "" {
			notFound(w)
			return
		}
		writeJSON(w, 200, &gh.Reference{Ref: ptr("refs/" + ref), Object: &gh.GitObject{Type: ptr("commit"), SHA: ptr(sha)}})
	})
	handle("POST /repos/{owner}/{repo}/git/refs", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		var in struct{ Ref, SHA string }
		if err := decode(r, &in); err != nil {
			invalid(w, "Reference", "ref", "invalid")
			return
		}
		name, ok := strings.CutPrefix(in.Ref, "refs/heads/")
		switch {
		case !ok:
			writeJSON(w, 422, map[string]string{"message": "Reference name is not valid"})
			return
		case repo.Branches[name] != "":
			writeJSON(w, 422, map[string]string{"message": "Reference already exists"})
			return
		case !shaKnown(repo, in.SHA):
			writeJSON(w, 422, map[string]string{"message": "Object does not exist"})
			return
		}
		repo.Branches[name] = in.SHA
		writeJSON(w, 201, &gh.Reference{Ref: ptr(in.Ref), URL: ptr(f.data.BaseURL + "/api/v3/repos/" + repo.Info.GetFullName() + "/git/" + in.Ref),
			Object: &gh.GitObject{Type: ptr("commit"), SHA: ptr(in.SHA)}})
	})
	handle("PATCH /repos/{owner}/{repo}/git/refs/{ref...}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		var in struct {
			SHA   string
			Force bool
		}
		name, _ := strings.CutPrefix(r.PathValue("ref"), "heads/")
		if err := decode(r, &in); err != nil || repo.Branches[name] == "" {
			writeJSON(w, 422, map[string]string{"message": "Reference does not exist"})
			return
		}
		repo.Branches[name] = in.SHA
		writeJSON(w, 200, &gh.Reference{Ref: ptr("refs/heads/" + name), Object: &gh.GitObject{SHA: ptr(in.SHA)}})
	})
	handle("GET /repos/{owner}/{repo}/git/commits/{sha}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if !shaKnown(repo, r.PathValue("sha")) {
			notFound(w)
			return
		}
		writeJSON(w, 200, &gh.Commit{SHA: ptr(r.PathValue("sha")), Tree: &gh.Tree{SHA: ptr("basetree" + r.PathValue("sha")[:8])}})
	})
	handle("POST /repos/{owner}/{repo}/git/trees", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		var in struct {
			BaseTree string `json:"base_tree"`
			Tree     []struct{ Path, Mode, Type, Content string }
		}
		if err := decode(r, &in); err != nil || len(in.Tree) == 0 {
			invalid(w, "Tree", "tree", "missing_field")
			return
		}
		for _, e := range in.Tree {
			repo.Files[e.Path] = e.Content
		}
		writeJSON(w, 201, &gh.Tree{SHA: ptr(f.data.sha("tree"))})
	})
	handle("POST /repos/{owner}/{repo}/git/commits", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		var in struct {
			Message string
			Tree    string
			Parents []string
		}
		if err := decode(r, &in); err != nil || in.Message == "" || in.Tree == "" {
			invalid(w, "Commit", "message", "missing_field")
			return
		}
		sha := f.data.sha("commit")
		repo.Commits = append([]*gh.RepositoryCommit{{SHA: ptr(sha), Commit: &gh.Commit{Message: ptr(in.Message)}}}, repo.Commits...)
		writeJSON(w, 201, &gh.Commit{SHA: ptr(sha), Message: ptr(in.Message), HTMLURL: ptr(f.data.BaseURL + "/commit/" + sha)})
	})
}

func (f *Fake) fileContent(repo *Repo, p, content string) *gh.RepositoryContent {
	full := repo.Info.GetFullName()
	fc := &gh.RepositoryContent{Type: ptr("file"), Name: ptr(path.Base(p)), Path: ptr(p), Size: ptr(len(content)), SHA: ptr(blobSHA(content)),
		HTMLURL: ptr(f.data.BaseURL + "/" + full + "/blob/main/" + escapePath(p)), DownloadURL: ptr(f.data.BaseURL + "/raw/" + full + "/main/" + escapePath(p))}
	if len(content) <= 1<<20 {
		fc.Encoding, fc.Content = ptr("base64"), ptr(base64.StdEncoding.EncodeToString([]byte(content)))
	} else {
		fc.Encoding = ptr("none")
	}
	return fc
}

// BlobSHA is the blob SHA the fake gives contents.
func BlobSHA(content string) string { return blobSHA(content) }

func blobSHA(content string) string {
	sum := sha1.Sum([]byte("blob " + content))
	return hex.EncodeToString(sum[:])
}

func shaKnown(repo *Repo, sha string) bool {
	for _, b := range repo.Branches {
		if b == sha {
			return true
		}
	}
	for _, c := range repo.Commits {
		if c.GetSHA() == sha {
			return true
		}
	}
	return false
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (f *Fake) issueRoutes(handle func(string, handlerFunc)) {
	getIssue := func(w http.ResponseWriter, r *http.Request, repo *Repo) *gh.Issue {
		n, ok := pathInt(r, "number")
		issue := repo.Issues[n]
		if !ok || issue == nil {
			notFound(w)
			return nil
		}
		return issue
	}
	handle("GET /repos/{owner}/{repo}/issues", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		state := cmpOr(r.URL.Query().Get("state"), "open")
		if state != "open" && state != "closed" && state != "all" {
			invalid(w, "Issue", "state", "invalid")
			return
		}
		var out []*gh.Issue
		for _, n := range slices.Backward(slices.Sorted(maps.Keys(repo.Issues))) {
			if i := repo.Issues[n]; state == "all" || i.GetState() == state {
				out = append(out, i)
			}
		}
		writeJSON(w, 200, paginate(w, r, out))
	})
	handle("GET /repos/{owner}/{repo}/issues/{number}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if i := getIssue(w, r, repo); i != nil {
			writeJSON(w, 200, i)
		}
	})
	handle("POST /repos/{owner}/{repo}/issues", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		var in gh.IssueRequest
		if err := decode(r, &in); err != nil || strings.TrimSpace(in.GetTitle()) == "" {
			invalid(w, "Issue", "title", "missing_field")
			return
		}
		n := repo.nextNumber
		repo.nextNumber++
		var labels []*gh.Label
		if in.Labels != nil {
			for _, l := range *in.Labels {
				labels = append(labels, &gh.Label{Name: ptr(l)})
			}
		}
		issue := &gh.Issue{ID: ptr(int64(repo.Info.GetID()*100 + int64(n))), Number: ptr(n), Title: in.Title, Body: in.Body, State: ptr("open"),
			Labels: labels, User: f.data.User, HTMLURL: ptr(fmt.Sprintf("%s/%s/issues/%d", f.data.BaseURL, repo.Info.GetFullName(), n))}
		repo.Issues[n] = issue
		writeJSON(w, 201, issue)
	})
	handle("PATCH /repos/{owner}/{repo}/issues/{number}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		issue := getIssue(w, r, repo)
		if issue == nil {
			return
		}
		var in gh.IssueRequest
		if err := decode(r, &in); err != nil {
			invalid(w, "Issue", "body", "invalid")
			return
		}
		if in.State != nil && *in.State != "open" && *in.State != "closed" {
			invalid(w, "Issue", "state", "invalid")
			return
		}
		if in.Title != nil {
			issue.Title = in.Title
		}
		if in.Body != nil {
			issue.Body = in.Body
		}
		if in.State != nil {
			issue.State = in.State
		}
		if in.StateReason != nil {
			issue.StateReason = in.StateReason
		}
		if in.Labels != nil {
			issue.Labels = nil
			for _, l := range *in.Labels {
				issue.Labels = append(issue.Labels, &gh.Label{Name: ptr(l)})
			}
		}
		writeJSON(w, 200, issue)
	})
	handle("GET /repos/{owner}/{repo}/issues/{number}/comments", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if i := getIssue(w, r, repo); i != nil {
			writeJSON(w, 200, paginate(w, r, repo.Comments[i.GetNumber()]))
		}
	})
	handle("POST /repos/{owner}/{repo}/issues/{number}/comments", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		i := getIssue(w, r, repo)
		if i == nil {
			return
		}
		var in gh.IssueComment
		if err := decode(r, &in); err != nil || strings.TrimSpace(in.GetBody()) == "" {
			invalid(w, "IssueComment", "body", "missing_field")
			return
		}
		c := &gh.IssueComment{ID: ptr(int64(1000 + len(repo.Comments[i.GetNumber()]))), Body: in.Body, User: f.data.User,
			HTMLURL: ptr(fmt.Sprintf("%s#issuecomment", i.GetHTMLURL()))}
		repo.Comments[i.GetNumber()] = append(repo.Comments[i.GetNumber()], c)
		i.Comments = ptr(len(repo.Comments[i.GetNumber()]))
		writeJSON(w, 201, c)
	})
	handle("GET /repos/{owner}/{repo}/issues/{number}/sub_issues", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		i := getIssue(w, r, repo)
		if i == nil {
			return
		}
		var subs []*gh.Issue
		for _, n := range repo.SubIssues[i.GetNumber()] {
			subs = append(subs, repo.Issues[n])
		}
		writeJSON(w, 200, paginate(w, r, subs))
	})
	subIssue := func(w http.ResponseWriter, r *http.Request, repo *Repo) (*gh.Issue, int, bool) {
		parent := getIssue(w, r, repo)
		if parent == nil {
			return nil, 0, false
		}
		var in struct {
			SubIssueID int64 `json:"sub_issue_id"`
		}
		if err := decode(r, &in); err != nil {
			invalid(w, "Issue", "sub_issue_id", "missing_field")
			return nil, 0, false
		}
		for n, i := range repo.Issues {
			if i.GetID() == in.SubIssueID {
				return parent, n, true
			}
		}
		invalid(w, "Issue", "sub_issue_id", "invalid")
		return nil, 0, false
	}
	handle("POST /repos/{owner}/{repo}/issues/{number}/sub_issues", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		parent, n, ok := subIssue(w, r, repo)
		if !ok {
			return
		}
		if slices.Contains(repo.SubIssues[parent.GetNumber()], n) {
			writeJSON(w, 422, map[string]string{"message": "Issue is already a sub-issue"})
			return
		}
		repo.SubIssues[parent.GetNumber()] = append(repo.SubIssues[parent.GetNumber()], n)
		writeJSON(w, 201, parent)
	})
	handle("DELETE /repos/{owner}/{repo}/issues/{number}/sub_issue", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		parent, n, ok := subIssue(w, r, repo)
		if !ok {
			return
		}
		subs := repo.SubIssues[parent.GetNumber()]
		i := slices.Index(subs, n)
		if i < 0 {
			writeJSON(w, 422, map[string]string{"message": "Issue is not a sub-issue of this issue"})
			return
		}
		repo.SubIssues[parent.GetNumber()] = slices.Delete(subs, i, i+1)
		writeJSON(w, 200, parent)
	})
}

func (f *Fake) pullRoutes(handle func(string, handlerFunc)) {
	getPull := func(w http.ResponseWriter, r *http.Request, repo *Repo) *gh.PullRequest {
		n, ok := pathInt(r, "number")
		pr := repo.Pulls[n]
		if !ok || pr == nil {
			notFound(w)
			return nil
		}
		return pr
	}
	handle("GET /repos/{owner}/{repo}/pulls", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		state := cmpOr(r.URL.Query().Get("state"), "open")
		var out []*gh.PullRequest
		for _, n := range slices.Sorted(maps.Keys(repo.Pulls)) {
			if pr := repo.Pulls[n]; state == "all" || pr.GetState() == state {
				out = append(out, pr)
			}
		}
		writeJSON(w, 200, paginate(w, r, out))
	})
	handle("GET /repos/{owner}/{repo}/pulls/{number}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		pr := getPull(w, r, repo)
		if pr == nil {
			return
		}
		if strings.Contains(r.Header.Get("Accept"), "diff") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte(repo.Diffs[pr.GetNumber()]))
			return
		}
		writeJSON(w, 200, pr)
	})
	handle("GET /repos/{owner}/{repo}/pulls/{number}/files", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if pr := getPull(w, r, repo); pr != nil {
			writeJSON(w, 200, paginate(w, r, repo.PullFiles[pr.GetNumber()]))
		}
	})
	handle("GET /repos/{owner}/{repo}/pulls/{number}/reviews", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if pr := getPull(w, r, repo); pr != nil {
			writeJSON(w, 200, paginate(w, r, repo.Reviews[pr.GetNumber()]))
		}
	})
	handle("GET /repos/{owner}/{repo}/pulls/{number}/comments", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if pr := getPull(w, r, repo); pr != nil {
			writeJSON(w, 200, paginate(w, r, repo.ReviewComments[pr.GetNumber()]))
		}
	})
	handle("POST /repos/{owner}/{repo}/pulls", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		var in gh.NewPullRequest
		if err := decode(r, &in); err != nil || in.GetTitle() == "" {
			invalid(w, "PullRequest", "title", "missing_field")
			return
		}
		head := in.GetHead()
		if _, b, ok := strings.Cut(head, ":"); ok {
			head = b
		}
		if repo.Branches[head] == "" || repo.Branches[in.GetBase()] == "" || head == in.GetBase() {
			writeJSON(w, 422, map[string]any{"message": "Validation Failed",
				"errors": []map[string]string{{"resource": "PullRequest", "code": "custom", "message": "No commits between " + in.GetBase() + " and " + in.GetHead()}}})
			return
		}
		n := repo.nextNumber
		repo.nextNumber++
		pr := &gh.PullRequest{Number: ptr(n), Title: in.Title, Body: in.Body, State: ptr("open"), Draft: in.Draft,
			Head: &gh.PullRequestBranch{Ref: ptr(head), SHA: ptr(repo.Branches[head])}, Base: &gh.PullRequestBranch{Ref: in.Base},
			HTMLURL: ptr(fmt.Sprintf("%s/%s/pull/%d", f.data.BaseURL, repo.Info.GetFullName(), n)), Mergeable: ptr(true)}
		repo.Pulls[n] = pr
		writeJSON(w, 201, pr)
	})
	handle("PATCH /repos/{owner}/{repo}/pulls/{number}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		pr := getPull(w, r, repo)
		if pr == nil {
			return
		}
		var in struct {
			Title, Body, State, Base *string
		}
		if err := decode(r, &in); err != nil {
			invalid(w, "PullRequest", "body", "invalid")
			return
		}
		if in.Base != nil && repo.Branches[*in.Base] == "" {
			invalid(w, "PullRequest", "base", "invalid")
			return
		}
		if in.Title != nil {
			pr.Title = in.Title
		}
		if in.Body != nil {
			pr.Body = in.Body
		}
		if in.State != nil {
			pr.State = in.State
		}
		if in.Base != nil {
			pr.Base = &gh.PullRequestBranch{Ref: in.Base}
		}
		writeJSON(w, 200, pr)
	})
	handle("POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		pr := getPull(w, r, repo)
		if pr == nil {
			return
		}
		var in gh.ReviewersRequest
		if err := decode(r, &in); err != nil {
			invalid(w, "PullRequest", "reviewers", "invalid")
			return
		}
		for _, login := range in.Reviewers {
			if login != "hubot" && login != "octocat" {
				writeJSON(w, 422, map[string]string{"message": "Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the " + repo.Info.GetFullName() + " repository."})
				return
			}
			pr.RequestedReviewers = append(pr.RequestedReviewers, &gh.User{Login: ptr(login)})
		}
		writeJSON(w, 201, pr)
	})
	handle("PUT /repos/{owner}/{repo}/pulls/{number}/merge", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		pr := getPull(w, r, repo)
		if pr == nil {
			return
		}
		var in struct {
			SHA         string `json:"sha"`
			MergeMethod string `json:"merge_method"`
		}
		_ = decode(r, &in)
		switch {
		case pr.GetMerged() || pr.GetState() != "open":
			writeJSON(w, 405, map[string]string{"message": "Pull Request is not mergeable"})
			return
		case in.SHA != "" && in.SHA != pr.GetHead().GetSHA():
			writeJSON(w, 409, map[string]string{"message": "Head branch was modified. Review and try the merge again."})
			return
		case in.MergeMethod != "" && in.MergeMethod != "merge" && in.MergeMethod != "squash" && in.MergeMethod != "rebase":
			invalid(w, "PullRequest", "merge_method", "invalid")
			return
		}
		pr.Merged, pr.State = ptr(true), ptr("closed")
		sha := f.data.sha("merge")
		writeJSON(w, 200, &gh.PullRequestMergeResult{Merged: ptr(true), SHA: ptr(sha), Message: ptr("Pull Request successfully merged")})
	})
	handle("POST /repos/{owner}/{repo}/pulls/{number}/reviews", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		pr := getPull(w, r, repo)
		if pr == nil {
			return
		}
		var in gh.PullRequestReviewRequest
		if err := decode(r, &in); err != nil {
			invalid(w, "PullRequestReview", "event", "invalid")
			return
		}
		for _, c := range in.Comments {
			if c.GetLine() > 1000 {
				writeJSON(w, 422, map[string]any{"message": "Unprocessable Entity", "errors": []string{"Line could not be resolved"}})
				return
			}
		}
		state := map[string]string{"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}[in.GetEvent()]
		rv := &gh.PullRequestReview{ID: ptr(int64(100 + len(repo.Reviews[pr.GetNumber()]))), State: ptr(state), Body: in.Body, User: f.data.User,
			HTMLURL: ptr(pr.GetHTMLURL() + "#review")}
		repo.Reviews[pr.GetNumber()] = append(repo.Reviews[pr.GetNumber()], rv)
		writeJSON(w, 200, rv)
	})
	handle("GET /repos/{owner}/{repo}/commits/{ref}/status", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		st, ok := repo.Statuses[r.PathValue("ref")]
		if !ok {
			st = &gh.CombinedStatus{State: ptr("pending"), SHA: ptr(r.PathValue("ref"))}
		}
		writeJSON(w, 200, st)
	})
	handle("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		runs := repo.CheckRuns[r.PathValue("ref")]
		writeJSON(w, 200, &gh.ListCheckRunsResults{Total: ptr(len(runs)), CheckRuns: runs})
	})
}

func (f *Fake) actionsRoutes(handle func(string, handlerFunc)) {
	findRun := func(repo *Repo, id string) *gh.WorkflowRun {
		for _, run := range repo.Runs {
			if strconv.FormatInt(run.GetID(), 10) == id {
				return run
			}
		}
		return nil
	}
	findJob := func(repo *Repo, id string) *gh.WorkflowJob {
		for _, jobs := range repo.Jobs {
			for _, j := range jobs {
				if strconv.FormatInt(j.GetID(), 10) == id {
					return j
				}
			}
		}
		return nil
	}
	knownWorkflow := func(repo *Repo, wf string) bool {
		for _, w := range repo.Workflows {
			if strconv.FormatInt(w.GetID(), 10) == wf || path.Base(w.GetPath()) == wf {
				return true
			}
		}
		return false
	}
	handle("GET /repos/{owner}/{repo}/actions/workflows", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		writeJSON(w, 200, &gh.Workflows{TotalCount: ptr(len(repo.Workflows)), Workflows: paginate(w, r, repo.Workflows)})
	})
	runs := func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if wf := r.PathValue("wf"); wf != "" && !knownWorkflow(repo, wf) {
			notFound(w)
			return
		}
		var out []*gh.WorkflowRun
		for _, run := range repo.Runs {
			if b := r.URL.Query().Get("branch"); b == "" || run.GetHeadBranch() == b {
				out = append(out, run)
			}
		}
		writeJSON(w, 200, &gh.WorkflowRuns{TotalCount: ptr(len(out)), WorkflowRuns: paginate(w, r, out)})
	}
	handle("GET /repos/{owner}/{repo}/actions/runs", runs)
	handle("GET /repos/{owner}/{repo}/actions/workflows/{wf}/runs", runs)
	handle("GET /repos/{owner}/{repo}/actions/runs/{id}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if run := findRun(repo, r.PathValue("id")); run != nil {
			writeJSON(w, 200, run)
			return
		}
		notFound(w)
	})
	handle("GET /repos/{owner}/{repo}/actions/runs/{id}/jobs", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		run := findRun(repo, r.PathValue("id"))
		if run == nil {
			notFound(w)
			return
		}
		jobs := repo.Jobs[run.GetID()]
		writeJSON(w, 200, &gh.Jobs{TotalCount: ptr(len(jobs)), Jobs: paginate(w, r, jobs)})
	})
	handle("GET /repos/{owner}/{repo}/actions/jobs/{id}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if j := findJob(repo, r.PathValue("id")); j != nil {
			writeJSON(w, 200, j)
			return
		}
		notFound(w)
	})
	handle("GET /repos/{owner}/{repo}/actions/jobs/{id}/logs", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if findJob(repo, r.PathValue("id")) == nil {
			notFound(w)
			return
		}
		w.Header().Set("Location", f.data.BaseURL+"/_logs/"+r.PathValue("id")+"?sig=presigned")
		w.WriteHeader(http.StatusFound)
	})
	rerun := func(kind string) handlerFunc {
		return func(w http.ResponseWriter, r *http.Request, repo *Repo) {
			run := findRun(repo, r.PathValue("id"))
			if run == nil {
				notFound(w)
				return
			}
			if run.GetStatus() != "completed" {
				writeJSON(w, 403, map[string]string{"message": "This workflow is already running"})
				return
			}
			repo.Reruns = append(repo.Reruns, kind+":"+r.PathValue("id"))
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte("{}"))
		}
	}
	handle("POST /repos/{owner}/{repo}/actions/runs/{id}/rerun", rerun("all"))
	handle("POST /repos/{owner}/{repo}/actions/runs/{id}/rerun-failed-jobs", rerun("failed"))
	handle("POST /repos/{owner}/{repo}/actions/workflows/{wf}/dispatches", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if !knownWorkflow(repo, r.PathValue("wf")) {
			notFound(w)
			return
		}
		var in struct{ Ref string }
		if err := decode(r, &in); err != nil || repo.Branches[in.Ref] == "" {
			writeJSON(w, 422, map[string]string{"message": "No ref found for: " + in.Ref})
			return
		}
		repo.Dispatches = append(repo.Dispatches, r.PathValue("wf")+"@"+in.Ref)
		w.WriteHeader(http.StatusNoContent)
	})
}

func (f *Fake) otherRoutes(handle func(string, handlerFunc)) {
	handle("GET /repos/{owner}/{repo}/code-scanning/alerts", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		writeJSON(w, 200, paginate(w, r, repo.CodeScanning))
	})
	handle("GET /repos/{owner}/{repo}/code-scanning/alerts/{n}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		n, _ := pathInt(r, "n")
		for _, a := range repo.CodeScanning {
			if a.GetNumber() == n {
				writeJSON(w, 200, a)
				return
			}
		}
		notFound(w)
	})
	handle("GET /repos/{owner}/{repo}/dependabot/alerts", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		if s := r.URL.Query().Get("severity"); s != "" && !slices.Contains([]string{"low", "medium", "high", "critical"}, s) {
			invalid(w, "DependabotAlert", "severity", "invalid")
			return
		}
		writeJSON(w, 200, paginate(w, r, repo.Dependabot))
	})
	handle("GET /repos/{owner}/{repo}/dependabot/alerts/{n}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		n, _ := pathInt(r, "n")
		for _, a := range repo.Dependabot {
			if a.GetNumber() == n {
				writeJSON(w, 200, a)
				return
			}
		}
		notFound(w)
	})
	handle("GET /repos/{owner}/{repo}/secret-scanning/alerts", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		writeJSON(w, 200, paginate(w, r, repo.SecretScanning))
	})
	handle("GET /repos/{owner}/{repo}/secret-scanning/alerts/{n}", func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		n, _ := pathInt(r, "n")
		for _, a := range repo.SecretScanning {
			if a.GetNumber() == n {
				writeJSON(w, 200, a)
				return
			}
		}
		notFound(w)
	})

	handle("GET /search/{kind}", func(w http.ResponseWriter, r *http.Request, _ *Repo) {
		q := r.URL.Query().Get("q")
		f.searches = append(f.searches, q)
		if strings.Contains(q, "((") {
			writeJSON(w, 422, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{"message": "The search is longer than 256 characters or has unbalanced parentheses.", "resource": "Search", "field": "q", "code": "invalid"}}})
			return
		}
		var inRepo string
		for _, tok := range strings.Fields(q) {
			if v, ok := strings.CutPrefix(tok, "repo:"); ok {
				inRepo = strings.ToLower(v)
			}
		}
		repos := slices.Sorted(maps.Keys(f.data.Repos))
		switch r.PathValue("kind") {
		case "repositories":
			var items []*gh.Repository
			for _, k := range repos {
				items = append(items, f.data.Repos[k].Info)
			}
			writeJSON(w, 200, &gh.RepositoriesSearchResult{Total: ptr(len(items)), IncompleteResults: ptr(false), Repositories: paginate(w, r, items)})
		case "code":
			var items []*gh.CodeResult
			for _, k := range repos {
				if inRepo != "" && k != inRepo {
					continue
				}
				items = append(items, &gh.CodeResult{Name: ptr("main.go"), Path: ptr("main.go"), SHA: ptr("abc"), HTMLURL: ptr(f.data.BaseURL + "/" + k + "/blob/main/main.go"),
					Repository: f.data.Repos[k].Info})
			}
			writeJSON(w, 200, &gh.CodeSearchResult{Total: ptr(len(items)), IncompleteResults: ptr(false), CodeResults: paginate(w, r, items)})
		case "issues":
			pr := strings.Contains(q, "is:pr")
			var items []*gh.Issue
			for _, k := range repos {
				if inRepo != "" && k != inRepo {
					continue
				}
				repo := f.data.Repos[k]
				for _, n := range slices.Sorted(maps.Keys(repo.Issues)) {
					if i := repo.Issues[n]; i.IsPullRequest() == pr {
						items = append(items, i)
					}
				}
			}
			writeJSON(w, 200, &gh.IssuesSearchResult{Total: ptr(len(items)), IncompleteResults: ptr(false), Issues: paginate(w, r, items)})
		default:
			notFound(w)
		}
	})

	listNotifications := func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		var out []*gh.Notification
		for _, n := range f.data.Notifications {
			if repo != nil && n.GetRepository().GetFullName() != repo.Info.GetFullName() {
				continue
			}
			if r.URL.Query().Get("all") != "true" && !n.GetUnread() {
				continue
			}
			out = append(out, n)
		}
		writeJSON(w, 200, paginate(w, r, out))
	}
	handle("GET /notifications", listNotifications)
	handle("GET /repos/{owner}/{repo}/notifications", listNotifications)
	markAll := func(w http.ResponseWriter, r *http.Request, repo *Repo) {
		var in struct {
			LastReadAt time.Time `json:"last_read_at"`
		}
		if err := decode(r, &in); err != nil {
			invalid(w, "Notification", "last_read_at", "invalid")
			return
		}
		for _, n := range f.data.Notifications {
			if repo == nil || n.GetRepository().GetFullName() == repo.Info.GetFullName() {
				n.Unread = ptr(false)
			}
		}
		w.WriteHeader(http.StatusResetContent)
	}
	handle("PUT /notifications", markAll)
	handle("PUT /repos/{owner}/{repo}/notifications", markAll)
	thread := func(id string) *gh.Notification {
		for _, n := range f.data.Notifications {
			if n.GetID() == id {
				return n
			}
		}
		return nil
	}
	handle("GET /notifications/threads/{id}", func(w http.ResponseWriter, r *http.Request, _ *Repo) {
		if n := thread(r.PathValue("id")); n != nil {
			writeJSON(w, 200, n)
			return
		}
		notFound(w)
	})
	handle("PATCH /notifications/threads/{id}", func(w http.ResponseWriter, r *http.Request, _ *Repo) {
		n := thread(r.PathValue("id"))
		if n == nil {
			notFound(w)
			return
		}
		n.Unread = ptr(false)
		w.WriteHeader(http.StatusResetContent)
	})
}
