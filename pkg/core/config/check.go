package config

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// unknownKeys walks node alongside the Go type it decodes into and reports
// every key the type has no field for, at the line where the key is
// written, with the nearest valid key. It stands in for yaml's KnownFields,
// which works only through a Decoder (so needs the node re-encoded, which
// loses the file's line numbers) and stops at the first unknown key.
func unknownKeys(node *yaml.Node, t reflect.Type, path string) []error {
	if node == nil {
		return nil
	}
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil // the type checks its own node
	}
	var errs []error
	switch t.Kind() {
	case reflect.Struct:
		if node.Kind != yaml.MappingNode {
			return nil // yaml reports the type mismatch
		}
		fields := map[string]reflect.Type{}
		var inlineMap reflect.Type
		collectFields(t, fields, &inlineMap)
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			ft, ok := fields[k.Value]
			switch {
			case ok:
				errs = append(errs, unknownKeys(v, ft, join(path, k.Value))...)
			case inlineMap != nil:
				errs = append(errs, unknownKeys(v, inlineMap.Elem(), join(path, k.Value))...)
			default:
				msg := fmt.Sprintf("line %d: unknown key %s", k.Line, join(path, k.Value))
				if near := nearest(k.Value, slices.Collect(maps.Keys(fields))); near != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", near)
				}
				errs = append(errs, errors.New(msg))
			}
		}
	case reflect.Map:
		if node.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			errs = append(errs, unknownKeys(node.Content[i+1], t.Elem(), join(path, node.Content[i].Value))...)
		}
	case reflect.Slice, reflect.Array:
		if node.Kind != yaml.SequenceNode {
			return nil
		}
		for i, item := range node.Content {
			errs = append(errs, unknownKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return errs
}

// collectFields maps the YAML keys of struct t to their types, descending
// into inline structs; an inline map takes every other key.
func collectFields(t reflect.Type, fields map[string]reflect.Type, inlineMap *reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Struct:
				collectFields(ft, fields, inlineMap)
			case reflect.Map:
				*inlineMap = ft
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
}

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
