// Command fleetbench compares MCP server stacks under load, in one run:
// bare go-sdk and mark3labs/mcp-go (the baselines) against our core and our
// full production chain (auth, tracing with export, metrics, policy, audit).
// Each run starts a fresh server process per mode, every one pinned to one
// core while the load driver runs on the other, and each cell's time is cut
// into short slices that the modes of a revision take in turn, so that a
// mode and its baseline are measured seconds apart: absolute figures drift
// between runs on shared machines, so compare the ratios and the CPU per
// call. Each cell is the median of several runs.
package main

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mcpfleet/mcpfleet/bench/loadgen"
)

type cell struct {
	rps, p50, p99, cpuPerCall []float64
}

type modeStats struct {
	startup, rssIdle, rssPeak []float64
	cells                     map[int]*cell
}

func main() {
	var (
		modes     = flag.String("modes", "bare,chain", "comma-separated server modes (bare, mcpgo, core, chain; chain:MODULES for the chain with only some modules on top of auth, e.g. chain: or chain:policy+observability)")
		revisions = flag.String("revisions", "2025-11-25", "comma-separated protocol revisions: 2025-11-25 (sessions unless -stateless) and/or 2026-07-28 (always stateless)")
		conc      = flag.String("sessions", "1,16,64", "comma-separated concurrent sessions")
		runs      = flag.Int("runs", 5, "runs per cell (the median is reported)")
		duration  = flag.Duration("duration", 3*time.Second, "measured time per cell")
		nslices   = flag.Int("slices", 6, "slices per cell, taken in turn by the modes of a revision")
		warmup    = flag.Duration("warmup", 500*time.Millisecond, "unmeasured time before each cell")
		stateless = flag.Bool("stateless", false, "stateless HTTP for every mode")
		jsonResp  = flag.Bool("json", false, "JSON responses instead of SSE for every mode")
		bin       = flag.String("server", "", "benchserver binary (built when empty)")
	)
	flag.Parse()
	var rows []row
	for _, rev := range strings.Split(*revisions, ",") {
		for _, m := range strings.Split(*modes, ",") {
			rows = append(rows, row{mode: m, revision: rev, stateless: *stateless || rev == loadgen.Sessionless})
		}
	}
	if err := run(rows, ints(*conc), *runs, max(*nslices, 1), *duration, *warmup, *jsonResp, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "fleetbench:", err)
		os.Exit(1)
	}
}

func ints(s string) []int {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// row is one server configuration measured: a mode speaking a revision.
type row struct {
	mode, revision string
	stateless      bool
}

func (r row) String() string {
	s := r.mode + " " + r.revision
	if r.stateless {
		s += " stateless"
	}
	return s
}

func run(rows []row, sessions []int, runs, slicesPerCell int, duration, warmup time.Duration, jsonResp bool, bin string) error {
	if bin == "" {
		dir, err := os.MkdirTemp("", "fleetbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "benchserver")
		build := exec.Command("go", "build", "-o", bin, "./cmd/benchserver")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building benchserver: %w", err)
		}
	}
	sink, err := startOTLPSink()
	if err != nil {
		return err
	}
	defer sink.Close()

	// Driver on CPU 0, server on CPU 1, when there are two CPUs to split.
	pin := runtime.NumCPU() >= 2
	if pin {
		if err := pinProcess(0); err != nil {
			fmt.Fprintln(os.Stderr, "fleetbench: not pinned:", err)
			pin = false
		}
	}
	if pin {
		runtime.GOMAXPROCS(1)
	}
	var load [3]float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		_, _ = fmt.Sscan(string(b), &load[0], &load[1], &load[2])
	}
	fmt.Printf("fleetbench: %d runs x %v per cell in %d interleaved slices, sessions %v, json=%v, pinned=%v, GOMAXPROCS(driver)=%d, load average %.2f %.2f %.2f\n",
		runs, duration, slicesPerCell, sessions, jsonResp, pin, runtime.GOMAXPROCS(0), load[0], load[1], load[2])
	libs := moduleVersions(bin, "github.com/modelcontextprotocol/go-sdk", "github.com/mark3labs/mcp-go")
	fmt.Printf("baseline: bare = go-sdk %s, typed echo tool (structured content + its JSON as text); mcpgo = mark3labs/mcp-go %s, same result\n",
		libs[0], libs[1])

	stats := map[row]*modeStats{}
	for _, r := range rows {
		stats[r] = &modeStats{cells: map[int]*cell{}}
		for _, s := range sessions {
			stats[r].cells[s] = &cell{}
		}
	}
	// Every server of a run keeps its idle sessions' connections open
	// between its slices; a smaller pool would close some and make the
	// next slice pay for new connections.
	client := loadgen.NewClient(slices.Max(sessions) * len(rows))
	for r := range runs {
		if err := measureRun(r, rows, sessions, slicesPerCell, duration, warmup, client, stats, func(m row) (*server, error) {
			return startServer(bin, m.mode, m.stateless, jsonResp, pin, sink.Addr().String())
		}); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "  run %d/%d done\n", r+1, runs)
	}
	report(os.Stdout, rows, sessions, stats)
	return nil
}

// measureRun is one run: every row's server is started and kept running
// (idle while another is measured), and each cell's time is cut into
// slices, taken in turn by the rows that speak the same revision. A row
// and its baseline are thus measured within a second or two of each other
// and under the same conditions, however the machine's speed drifts, and
// each row's cell is its slices' calls and CPU summed.
func measureRun(r int, rows []row, sessions []int, nslices int, duration, warmup time.Duration, client *http.Client,
	stats map[row]*modeStats, start func(row) (*server, error)) error {
	srvs := make([]*server, 0, len(rows))
	defer func() {
		for _, srv := range srvs {
			srv.stop()
		}
	}()
	for _, m := range rows {
		srv, err := start(m)
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		srvs = append(srvs, srv)
		st := stats[m]
		st.startup = append(st.startup, float64(srv.startup.Microseconds())/1000)
		st.rssIdle = append(st.rssIdle, srv.rss("VmRSS"))
	}
	args := json.RawMessage(`{"message":"hello, fleet"}`)
	for _, s := range sessions {
		for _, group := range revisionGroups(rows) {
			pools := make([]*loadgen.Pool, len(group))
			closePools := func() {
				for _, p := range pools {
					if p != nil {
						p.Close()
					}
				}
			}
			for j, i := range group {
				m, srv := rows[i], srvs[i]
				target := loadgen.Target{URL: srv.url, Token: srv.token, Stateless: m.stateless, Revision: m.revision}
				p, err := loadgen.Open(context.Background(), client, target, s)
				if err != nil {
					closePools()
					return fmt.Errorf("%s sessions=%d: %w", m, s, err)
				}
				pools[j] = p
				p.Run(context.Background(), warmup, "echo", args)
			}
			results := make([][]loadgen.Result, len(group))
			cpu := make([]time.Duration, len(group))
			for k := range nslices {
				// The order rotates from slice to slice and from run to
				// run, so no row always follows the same one.
				for n := range group {
					j := (n + k + r) % len(group)
					srv := srvs[group[j]]
					cpu0 := srv.cpu()
					res := pools[j].Run(context.Background(), duration/time.Duration(nslices), "echo", args)
					cpu[j] += srv.cpu() - cpu0
					results[j] = append(results[j], res)
				}
			}
			closePools()
			for j, i := range group {
				m := rows[i]
				res := loadgen.Merge(results[j]...)
				if res.Errors > 0 {
					fmt.Fprintf(os.Stderr, "  %s sessions=%d: %d errors, first: %s\n", m, s, res.Errors, res.FirstError)
				}
				c := stats[m].cells[s]
				c.rps = append(c.rps, res.CallsPerSecond())
				c.p50 = append(c.p50, float64(res.P50.Microseconds())/1000)
				c.p99 = append(c.p99, float64(res.P99.Microseconds())/1000)
				if res.Calls > 0 {
					c.cpuPerCall = append(c.cpuPerCall, float64(cpu[j].Microseconds())/float64(res.Calls))
				}
			}
		}
	}
	for i, m := range rows {
		stats[m].rssPeak = append(stats[m].rssPeak, srvs[i].rss("VmHWM"))
	}
	return nil
}

// revisionGroups are the indexes of rows, grouped by the revision (and
// statelessness) they speak: the rows measured against each other.
func revisionGroups(rows []row) [][]int {
	var groups [][]int
	at := map[row]int{}
	for i, m := range rows {
		key := row{revision: m.revision, stateless: m.stateless}
		g, ok := at[key]
		if !ok {
			g = len(groups)
			at[key] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func report(w io.Writer, rows []row, sessions []int, stats map[row]*modeStats) {
	fmt.Fprintf(w, "\ncalls/s (p50 / p99 ms, server CPU per call), medians; startup is exec to a healthy /healthz\n%-30s", "server")
	for _, s := range sessions {
		fmt.Fprintf(w, " | %-30s", fmt.Sprintf("C=%d", s))
	}
	fmt.Fprintf(w, " | %-8s | %s\n", "startup", "RSS idle -> peak")
	for _, m := range rows {
		st := stats[m]
		fmt.Fprintf(w, "%-30s", m)
		for _, s := range sessions {
			c := st.cells[s]
			fmt.Fprintf(w, " | %-30s", fmt.Sprintf("%.0f (%.2f / %.2f, %.0f us)", median(c.rps), median(c.p50), median(c.p99), median(c.cpuPerCall)))
		}
		fmt.Fprintf(w, " | %-8s | %.1f -> %.1f MB\n", fmt.Sprintf("%.0f ms", median(st.startup)), median(st.rssIdle), median(st.rssPeak))
	}
	for _, baseMode := range []string{"bare", "mcpgo"} {
		fmt.Fprintf(w, "\nratios against %s in the same revision and mode, same run (calls/s: higher is better; CPU per call: lower is better)\n", baseMode)
		for _, m := range rows {
			base, ok := stats[row{mode: baseMode, revision: m.revision, stateless: m.stateless}]
			if !ok || m.mode == baseMode || m.mode == "bare" || m.mode == "mcpgo" {
				continue
			}
			fmt.Fprintf(w, "%-30s", m)
			for _, s := range sessions {
				c, b := stats[m].cells[s], base.cells[s]
				fmt.Fprintf(w, " | C=%d: %.2fx calls/s, %.2fx CPU/call%s", s,
					median(c.rps)/median(b.rps), median(c.cpuPerCall)/median(b.cpuPerCall),
					pairedRange(c.cpuPerCall, b.cpuPerCall))
			}
			fmt.Fprintln(w)
		}
	}
}

// pairedRange is the median, lowest and highest of the per-run ratios of
// CPU per call, each run's mode against the baseline measured in the same
// run, in interleaved slices: how far the ratio of medians beside it can
// be trusted on a machine whose speed drifts. The ratio of medians takes
// its two medians from different runs; the median of the per-run ratios
// compares only measurements taken seconds apart. Empty when the runs do
// not pair.
func pairedRange(xs, base []float64) string {
	if len(xs) < 2 || len(xs) != len(base) {
		return ""
	}
	ratios := make([]float64, len(xs))
	for i := range xs {
		if base[i] <= 0 {
			return ""
		}
		ratios[i] = xs[i] / base[i]
	}
	return fmt.Sprintf(" (runs %.2fx, %.2f-%.2fx)", median(ratios), slices.Min(ratios), slices.Max(ratios))
}

// moduleVersions are the versions of the modules paths linked into the
// benchserver binary bin, read (once) from the build information the go
// command records in it: what was measured, wherever fleetbench runs from.
// A module not found reads "(unknown)".
func moduleVersions(bin string, paths ...string) []string {
	out := make([]string, len(paths))
	for i := range out {
		out[i] = "(unknown)"
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return out
	}
	for _, dep := range info.Deps {
		i := slices.Index(paths, dep.Path)
		if i < 0 {
			continue
		}
		out[i] = dep.Version
		if dep.Replace != nil {
			out[i] = dep.Replace.Version
		}
	}
	return out
}

type server struct {
	cmd     *exec.Cmd
	url     string
	token   string
	startup time.Duration
}

func startServer(bin, mode string, stateless, jsonResp, pin bool, otlpAddr string) (*server, error) {
	args := append([]string{bin}, modeArgs(mode)...)
	args = append(args, "-addr", "127.0.0.1:0")
	if stateless {
		args = append(args, "-stateless")
	}
	if jsonResp {
		args = append(args, "-json")
	}
	if pin {
		if tp, err := exec.LookPath("taskset"); err == nil {
			args = append([]string{tp, "-c", "1"}, args...)
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(),
		// Traces are exported (batched) to a local sink that discards them,
		// so the chain pays the real cost of recording and exporting.
		"OTEL_TRACES_EXPORTER=otlp",
		"OTEL_METRICS_EXPORTER=none",
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+otlpAddr,
	)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("reading ready line: %w", err)
	}
	var rd struct{ URL, Token string }
	if err := json.Unmarshal([]byte(line), &rd); err != nil {
		s.stop()
		return nil, fmt.Errorf("ready line %q: %w", line, err)
	}
	s.url, s.token = rd.URL, rd.Token
	go func() { _, _ = io.Copy(io.Discard, out) }()
	health := strings.TrimSuffix(s.url, "/mcp") + "/healthz"
	for {
		resp, err := http.Get(health)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > 20*time.Second {
			s.stop()
			return nil, errors.New("server not healthy after 20s")
		}
		time.Sleep(time.Millisecond)
	}
	s.startup = time.Since(start)
	return s, nil
}

// modeArgs are benchserver's flags for a mode. "chain:" followed by
// modules joined with "+" is the chain with only those modules on top of
// auth ("chain:" is auth alone), to see what each part costs measured the
// same way as the whole.
func modeArgs(mode string) []string {
	if mods, ok := strings.CutPrefix(mode, "chain:"); ok {
		return []string{"-mode", "chain", "-chain-modules", strings.ReplaceAll(mods, "+", ",")}
	}
	return []string{"-mode", mode}
}

// cpu is the server process's user+system CPU time so far.
func (s *server) cpu() time.Duration {
	pid := s.serverPID()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields of the whole line.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticks
}

// serverPID is the benchserver's pid (taskset execs it in place).
func (s *server) serverPID() int { return s.cmd.Process.Pid }

// rss reads a memory figure (VmRSS, VmHWM) in MB.
func (s *server) rss(field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.serverPID()))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// pinProcess pins every thread of this process to cpu. SchedSetaffinity
// with pid 0 pins only the calling thread: the runtime's other threads, and
// the driver's and the sink's goroutines they run, would still be scheduled
// on the server's CPU. A thread started later inherits the mask of the
// thread that starts it, so the loop ends once a pass finds every thread
// pinned.
func pinProcess(cpu int) error {
	var want unix.CPUSet
	want.Set(cpu)
	for range 100 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		changed := false
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			var got unix.CPUSet
			if err := unix.SchedGetaffinity(tid, &got); err == nil && got == want {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &want); err != nil && !errors.Is(err, unix.ESRCH) {
				return err
			}
			changed = true
		}
		if !changed {
			return nil
		}
	}
	return errors.New("threads kept appearing unpinned")
}

// startOTLPSink accepts OTLP/HTTP exports and discards them.
func startOTLPSink() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = srv.Serve(ln) }()
	return ln, nil
}
