package loadgen

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// Bench runs load once per b.Loop iteration (a server benchmark is run
// with -benchtime 1x: one measurement of l.Duration), fails the benchmark
// on any failed call, and reports the figures every server's benchmark
// gives: calls/s, p50-ms, p99-ms and cpu-us/call, the process's CPU time
// per call (server, load driver and fake upstream together, since they
// share the process). It returns the last measurement, for figures of
// the benchmark's own.
func Bench(b *testing.B, client *http.Client, target Target, l Load) Result {
	b.Helper()
	var res Result
	var cpu time.Duration
	for b.Loop() {
		var err error
		before := ProcessCPU()
		res, err = Run(context.Background(), client, target, l)
		cpu = ProcessCPU() - before
		if err != nil {
			b.Fatal(err)
		}
		if res.Errors > 0 {
			b.Fatalf("%d failed calls; first: %s", res.Errors, res.FirstError)
		}
	}
	b.ReportMetric(res.CallsPerSecond(), "calls/s")
	b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
	if res.Calls > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(res.Calls), "cpu-us/call")
	}
	return res
}
