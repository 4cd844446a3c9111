package main

import "testing"

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
