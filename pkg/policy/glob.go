package policy

import (
	"fmt"
	"path"
	"strings"
)

// pattern matches names written with the glob syntax of path.Match ("*"
// any run of characters, "?" one character, "[a-z]" a class). The common
// shapes (exact, "*", "prefix*", "*suffix") avoid path.Match on the hot
// path.
type pattern struct {
	raw  string
	kind patternKind
	lit  string
}

type patternKind uint8

const (
	patExact patternKind = iota
	patAny
	patPrefix
	patSuffix
	patGlob
)

func compilePattern(p string) (pattern, error) {
	if p == "" {
		return pattern{}, fmt.Errorf("empty pattern")
	}
	if _, err := path.Match(p, ""); err != nil {
		return pattern{}, fmt.Errorf("pattern %q: %w", p, err)
	}
	special := strings.ContainsAny(p, `*?[\`)
	switch {
	case !special:
		return pattern{raw: p, kind: patExact, lit: p}, nil
	case strings.Trim(p, "*") == "":
		return pattern{raw: p, kind: patAny}, nil
	case strings.HasSuffix(p, "*") && !strings.ContainsAny(p[:len(p)-1], `*?[\`):
		return pattern{raw: p, kind: patPrefix, lit: p[:len(p)-1]}, nil
	case strings.HasPrefix(p, "*") && !strings.ContainsAny(p[1:], `*?[\`):
		return pattern{raw: p, kind: patSuffix, lit: p[1:]}, nil
	}
	return pattern{raw: p, kind: patGlob}, nil
}

func (p pattern) match(s string) bool {
	switch p.kind {
	case patExact:
		return s == p.lit
	case patAny:
		return true
	case patPrefix:
		return strings.HasPrefix(s, p.lit)
	case patSuffix:
		return strings.HasSuffix(s, p.lit)
	}
	ok, _ := path.Match(p.raw, s)
	return ok
}

// patterns is a list of alternatives; an empty list matches everything.
type patterns []pattern

func compilePatterns(list []string) (patterns, error) {
	var out patterns
	for _, s := range list {
		p, err := compilePattern(s)
		if err != nil {
			return nil, err
		}
		if p.kind == patAny {
			// "*" among alternatives matches everything: same as no list.
			return nil, nil
		}
		out = append(out, p)
	}
	return out, nil
}

func (ps patterns) match(s string) bool {
	if len(ps) == 0 {
		return true
	}
	for _, p := range ps {
		if p.match(s) {
			return true
		}
	}
	return false
}

func (ps patterns) String() string {
	raw := make([]string, len(ps))
	for i, p := range ps {
		raw[i] = p.raw
	}
	return "[" + strings.Join(raw, " ") + "]"
}
