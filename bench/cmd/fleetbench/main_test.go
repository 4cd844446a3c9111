package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestPairedRange(t *testing.T) {
	for _, tc := range []struct {
		name     string
		xs, base []float64
		want     string
	}{
		{"paired", []float64{110, 90, 100}, []float64{100, 100, 80}, " (runs 0.90-1.25x)"},
		{"one run", []float64{110}, []float64{100}, ""},
		{"unpaired", []float64{110, 90}, []float64{100}, ""},
		{"zero baseline", []float64{110, 90}, []float64{100, 0}, ""},
	} {
		if got := pairedRange(tc.xs, tc.base); got != tc.want {
			t.Errorf("%s: pairedRange(%v, %v) = %q, want %q", tc.name, tc.xs, tc.base, got, tc.want)
		}
	}
}

// TestModuleVersion reads versions from a binary's build information: this
// test binary links golang.org/x/sys (through the load driver), not mcp-go.
func TestModuleVersion(t *testing.T) {
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
	if got := moduleVersion(self, "golang.org/x/sys"); got != want {
		t.Errorf("moduleVersion(golang.org/x/sys) = %q, want %q", got, want)
	}
	if got := moduleVersion(self, "github.com/mark3labs/mcp-go"); got != "(unknown)" {
		t.Errorf("a module not linked in: %q, want (unknown)", got)
	}
	if got := moduleVersion(filepath.Join(t.TempDir(), "missing"), "golang.org/x/sys"); got != "(unknown)" {
		t.Errorf("a missing binary: %q, want (unknown)", got)
	}
}
