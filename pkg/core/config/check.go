package config

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// nearest returns the candidate closest to s by edit distance, when it is
// close enough to be a likely typo, or "".
func nearest(s string, candidates []string) string {
	sort.Strings(candidates) // ties go to the first in order, every time
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(2, len(s)/4) {
		return ""
	}
	return best
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours each cost one,
// so "ADRR" is one step from "ADDR".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range rb {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// Variables with the MCPFLEET_ prefix that are not config keys.
var (
	// EnvConfigFile names the config file.
	EnvConfigFile = EnvPrefix + "CONFIG"
	// envTestPrefix starts variables that point tests at databases.
	envTestPrefix = EnvPrefix + "TEST_"
)

// CheckEnv reports every MCPFLEET_* variable in environ (as os.Environ
// gives it) that sets nothing, with the nearest valid name, so that a
// misspelt override stops the start instead of being ignored. Call it after
// every module has decoded its section. A variable is let through when it
// names the config file, points tests at a database, is read by a secret
// reference (env:NAME), or belongs to a section this server does not
// decode and is no near miss of one it does: another server of the fleet
// may share the environment.
func (d *Document) CheckEnv(environ []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var knownKeys []string
	for k := range d.envKnown {
		knownKeys = append(knownKeys, strings.TrimPrefix(k, EnvPrefix))
	}
	var sections []string
	for s := range d.used {
		sections = append(sections, envName(s)+"_")
	}
	var errs []error
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || d.envKnown[name] || d.envRefs[name] ||
			name == EnvConfigFile || strings.HasPrefix(name, envTestPrefix) {
			continue
		}
		// Compared without the prefix every name shares, so that the
		// typo threshold scales with the part that differs.
		near := nearest(strings.TrimPrefix(name, EnvPrefix), knownKeys)
		if near != "" {
			near = EnvPrefix + near
		}
		ours := slices.ContainsFunc(sections, func(p string) bool { return strings.HasPrefix(name, p) })
		if !ours && near == "" {
			continue
		}
		msg := fmt.Sprintf("environment variable %s sets no config key", name)
		if near != "" {
			msg += fmt.Sprintf("; did you mean %s?", near)
		} else {
			msg += "; --print-config shows the keys (MCPFLEET_<SECTION>_<KEY>)"
		}
		errs = append(errs, errors.New(msg))
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}
