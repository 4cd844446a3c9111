package github

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

// allowlist is a connection's list of owners and repositories. An empty
// list allows everything the credential reaches. Matching is
// case-insensitive, as GitHub's names are.
type allowlist struct {
	entries []allowEntry
	text    string // for error messages
}

// allowEntry is "owner" (every repository of owner) or "owner/repo";
// either part may be a path.Match glob.
type allowEntry struct {
	owner, repo string // repo "" means every repository
}

func parseAllowlist(list []string) (allowlist, error) {
	a := allowlist{text: strings.Join(list, ", ")}
	for _, raw := range list {
		s := strings.ToLower(strings.TrimSpace(raw))
		owner, repo, hasRepo := strings.Cut(s, "/")
		if owner == "" || (hasRepo && (repo == "" || strings.Contains(repo, "/"))) {
			return allowlist{}, fmt.Errorf("%q is not an owner or owner/repository", raw)
		}
		for _, p := range []string{owner, repo} {
			if _, err := path.Match(p, ""); err != nil {
				return allowlist{}, fmt.Errorf("%q: bad glob: %v", raw, err)
			}
		}
		if hasRepo && repo == "*" {
			repo = "" // "owner/*" is the same as "owner"
		}
		a.entries = append(a.entries, allowEntry{owner: owner, repo: repo})
	}
	return a, nil
}

// all reports whether the list restricts nothing.
func (a allowlist) all() bool { return len(a.entries) == 0 }

// repo reports whether owner/repo is allowed.
func (a allowlist) repo(owner, repo string) bool {
	if a.all() {
		return true
	}
	owner, repo = strings.ToLower(owner), strings.ToLower(repo)
	for _, e := range a.entries {
		if ok, _ := path.Match(e.owner, owner); !ok {
			continue
		}
		if e.repo == "" {
			return true
		}
		if ok, _ := path.Match(e.repo, repo); ok {
			return true
		}
	}
	return false
}

// owner reports whether every repository of owner is allowed, which is
// what owner-wide data (teams, owner-scoped searches) needs.
func (a allowlist) owner(owner string) bool {
	if a.all() {
		return true
	}
	owner = strings.ToLower(owner)
	for _, e := range a.entries {
		if ok, _ := path.Match(e.owner, owner); ok && e.repo == "" {
			return true
		}
	}
	return false
}

// Names must be plain GitHub names before they go into a URL path:
// go-github does not escape owner or repo, and "../" would reach other
// endpoints (and walk around the allowlist).
var (
	ownerRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,38})$`)
	repoRE  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	// teamRE is a team slug.
	teamRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)
)

func checkOwner(owner string) error {
	if !ownerRE.MatchString(owner) {
		return fmt.Errorf("owner %s is not a GitHub user or organization name", core.Quote(owner))
	}
	return nil
}

func checkRepoName(owner, repo string) error {
	if err := checkOwner(owner); err != nil {
		return err
	}
	if !repoRE.MatchString(repo) || repo == "." || repo == ".." {
		return fmt.Errorf("repo %s is not a GitHub repository name (give owner and repo separately)", core.Quote(repo))
	}
	return nil
}

// checkPath validates a file path inside a repository.
func checkPath(p string) error {
	if p == "" {
		return nil
	}
	if strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00?#") || strings.ContainsFunc(p, isControl) {
		return fmt.Errorf("path %s is not a relative repository path (no leading /, \\, ?, # or control characters)", core.Quote(p))
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(p, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("path %s has an empty, . or .. segment", core.Quote(p))
		}
	}
	return nil
}

// checkRef validates a branch, tag or commit SHA by git's ref-name rules
// (git check-ref-format), which also keeps it from escaping the URL path.
func checkRef(what, ref string) error {
	if ref == "" {
		return nil
	}
	bad := strings.HasPrefix(ref, "/") || strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".") ||
		strings.HasSuffix(ref, ".lock") || strings.Contains(ref, "..") || strings.Contains(ref, "//") ||
		strings.Contains(ref, "@{") || strings.ContainsAny(ref, " ~^:?*[\\#%") || strings.ContainsFunc(ref, isControl) ||
		len(ref) > 255
	if bad {
		return fmt.Errorf("%s %s is not a valid git branch, tag or commit name", what, core.Quote(ref))
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
