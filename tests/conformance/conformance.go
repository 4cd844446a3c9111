// Package conformance judges the results of the official MCP conformance
// suite (npm @modelcontextprotocol/conformance) run against the fixture
// server: it reads the suite's per-scenario checks and compares failures
// with the expected-failures baseline. The runner is tests/cmd/conformance.
package conformance

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// StatelessBaseline lists the scenarios that cannot pass when the fixture
// runs in stateless HTTP mode, in the suite's --expected-failures format.
//
//go:embed stateless-baseline.yml
var StatelessBaseline []byte

// Baseline is an --expected-failures file: scenarios expected to fail.
type Baseline struct {
	Server []string `yaml:"server"`
	Client []string `yaml:"client"`
}

// ParseBaseline decodes a baseline strictly: an unknown key is an error, so
// a misspelt section cannot silently expect nothing.
func ParseBaseline(b []byte) (Baseline, error) {
	var bl Baseline
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&bl); err != nil {
		return Baseline{}, fmt.Errorf("baseline: %w", err)
	}
	return bl, nil
}

// Scenario is the outcome of one scenario: its checks counted by status.
type Scenario struct {
	Name     string
	Passed   int
	Failed   int
	Warnings int
}

// resultDir is how the suite names a scenario's output directory:
// server-<scenario>-<ISO timestamp>.
var resultDir = regexp.MustCompile(`^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$`)

// ReadResults reads the checks.json of every scenario the suite wrote under
// dir (its -o directory), sorted by scenario name.
func ReadResults(dir string) ([]Scenario, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Scenario
	for _, e := range entries {
		m := resultDir.FindStringSubmatch(e.Name())
		if !e.IsDir() || m == nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name(), "checks.json"))
		if err != nil {
			return nil, err
		}
		var checks []struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(raw, &checks); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		s := Scenario{Name: m[1]}
		for _, c := range checks {
			switch c.Status {
			case "SUCCESS":
				s.Passed++
			case "FAILURE":
				s.Failed++
			case "WARNING":
				s.Warnings++
			}
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Scenario) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Verdict is a run judged against its baseline.
type Verdict struct {
	Scenarios []Scenario
	// Unexpected failed but are not in the baseline.
	Unexpected []string
	// Stale are in the baseline and ran but did not fail: the baseline must
	// shrink.
	Stale []string
	// NotRun are in the baseline but were not run (not in the suite that
	// ran); like the suite, Judge does not hold them against the run.
	NotRun []string
}

// Judge compares results with the scenarios expected to fail. It judges as
// the suite does, so that the summary and the suite's exit code agree: a
// scenario falls short on any failed check, and in a run with a baseline
// (withBaseline) also on any warning.
func Judge(results []Scenario, expectedFailures []string, withBaseline bool) Verdict {
	v := Verdict{Scenarios: results}
	failed, ran := map[string]bool{}, map[string]bool{}
	for _, s := range results {
		ran[s.Name] = true
		if s.Failed > 0 || (withBaseline && s.Warnings > 0) {
			failed[s.Name] = true
			if !slices.Contains(expectedFailures, s.Name) {
				v.Unexpected = append(v.Unexpected, s.Name)
			}
		}
	}
	for _, name := range expectedFailures {
		switch {
		case !ran[name]:
			v.NotRun = append(v.NotRun, name)
		case !failed[name]:
			v.Stale = append(v.Stale, name)
		}
	}
	return v
}

// OK reports whether the run matched its baseline exactly.
func (v Verdict) OK() bool {
	return len(v.Scenarios) > 0 && len(v.Unexpected) == 0 && len(v.Stale) == 0
}

// Totals sums the checks of every scenario.
func (v Verdict) Totals() (passed, failed, warnings int) {
	for _, s := range v.Scenarios {
		passed += s.Passed
		failed += s.Failed
		warnings += s.Warnings
	}
	return passed, failed, warnings
}
