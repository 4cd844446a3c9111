package main

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"testing"
)

func TestPairedRange(t *testing.T) {
	for _, tc := range []struct {
		name     string
		xs, base []float64
		want     string
	}{
		{"paired", []float64{110, 90, 100}, []float64{100, 100, 80}, " (runs 1.10x, 0.90-1.25x)"},
		{"even", []float64{110, 90, 100, 100}, []float64{100, 100, 80, 100}, " (runs 1.10x, 0.90-1.25x)"},
		{"one run", []float64{110}, []float64{100}, ""},
		{"unpaired", []float64{110, 90}, []float64{100}, ""},
		{"zero baseline", []float64{110, 90}, []float64{100, 0}, ""},
	} {
		if got := pairedRange(tc.xs, tc.base); got != tc.want {
			t.Errorf("%s: pairedRange(%v, %v) = %q, want %q", tc.name, tc.xs, tc.base, got, tc.want)
		}
	}
}

// TestRevisionGroups: the rows measured against each other in turn are
// those that speak the same revision the same way, in the order given.
func TestRevisionGroups(t *testing.T) {
	rows := []row{
		{mode: "bare", revision: "2025-11-25"}, {mode: "chain", revision: "2025-11-25"},
		{mode: "bare", revision: "2026-07-28", stateless: true}, {mode: "chain", revision: "2026-07-28", stateless: true},
		{mode: "mcpgo", revision: "2025-11-25"}, {mode: "core", revision: "2025-11-25", stateless: true},
	}
	got := revisionGroups(rows)
	want := [][]int{{0, 1, 4}, {2, 3}, {5}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("revisionGroups = %v, want %v", got, want)
	}
}

func TestModeArgs(t *testing.T) {
	for mode, want := range map[string][]string{
		"chain":                      {"-mode", "chain"},
		"bare":                       {"-mode", "bare"},
		"chain:":                     {"-mode", "chain", "-chain-modules", ""},
		"chain:policy+observability": {"-mode", "chain", "-chain-modules", "policy,observability"},
	} {
		if got := modeArgs(mode); !reflect.DeepEqual(got, want) {
			t.Errorf("modeArgs(%q) = %q, want %q", mode, got, want)
		}
	}
}

// TestModuleVersions reads versions from a binary's build information: this
// test binary links golang.org/x/sys (through the load driver), not mcp-go.
func TestModuleVersions(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("no build information in this test binary")
	}
	want := ""
	for _, dep := range info.Deps {
		if dep.Path == "golang.org/x/sys" {
			want = dep.Version
		}
	}
	if want == "" {
		t.Fatal("golang.org/x/sys is not among this binary's dependencies")
	}
	got := moduleVersions(self, "golang.org/x/sys", "github.com/mark3labs/mcp-go")
	if got[0] != want {
		t.Errorf("moduleVersions: golang.org/x/sys = %q, want %q", got[0], want)
	}
	if got[1] != "(unknown)" {
		t.Errorf("a module not linked in: %q, want (unknown)", got[1])
	}
	if got := moduleVersions(filepath.Join(t.TempDir(), "missing"), "golang.org/x/sys"); got[0] != "(unknown)" {
		t.Errorf("a missing binary: %q, want (unknown)", got[0])
	}
}
