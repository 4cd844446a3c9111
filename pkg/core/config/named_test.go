package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/pkg/core/config"
)

func TestCheckNamedEntries(t *testing.T) {
	isDefault := func(d bool) bool { return d }
	if errs := config.CheckNamedEntries("x.items", "item", map[string]bool{"only": false}, isDefault); len(errs) != 0 {
		t.Errorf("one entry needs no default: %v", errs)
	}
	errs := config.CheckNamedEntries("x.items", "item", map[string]bool{"Bad Name": true, "b": true, "c": false}, isDefault)
	got := errors.Join(errs...).Error()
	for _, want := range []string{
		"x.items.Bad Name: name must be 1-32 lower case letters",
		"x.items: exactly one item must have default: true (found 2: Bad Name, b)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if errs := config.CheckNamedEntries("x.items", "item", map[string]bool{"a": false, "b": false}, isDefault); len(errs) != 1 {
		t.Errorf("no default among two: %v", errs)
	}
}
