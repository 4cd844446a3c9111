package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// entryNameRE is the form of a named entry (a GitHub connection, a Slack
// workspace, an AWS account): it becomes part of tool arguments, log
// fields and metric names, so it stays short and plain.
var entryNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// CheckNamedEntries checks the names of a map of named entries that a
// server configures under section (e.g. "github.connections"; what is the
// kind, "connection"): every name is 1-32 lower case letters, digits, '_'
// or '-', and with more than one entry exactly one is the default. It
// returns every problem, in name order.
func CheckNamedEntries[T any](section, what string, entries map[string]T, isDefault func(T) bool) []error {
	var errs []error
	var defaults []string
	for _, name := range slices.Sorted(maps.Keys(entries)) {
		if !entryNameRE.MatchString(name) {
			errs = append(errs, fmt.Errorf("%s.%s: name must be 1-32 lower case letters, digits, '_' or '-', starting with a letter or digit", section, name))
		}
		if isDefault(entries[name]) {
			defaults = append(defaults, name)
		}
	}
	if len(entries) > 1 && len(defaults) != 1 {
		errs = append(errs, fmt.Errorf("%s: exactly one %s must have default: true (found %d: %s)", section, what, len(defaults), strings.Join(defaults, ", ")))
	}
	return errs
}
