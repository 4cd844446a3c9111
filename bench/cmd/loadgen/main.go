// Command loadgen drives one MCP server with the echo tool, for profiling a
// server by hand (fleetbench runs the full comparison).
//
//	loadgen -url http://127.0.0.1:8080/mcp [-token T] [-sessions 16] [-duration 10s] [-revision 2026-07-28]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/mcpfleet/mcpfleet/bench/loadgen"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/mcp", "MCP endpoint")
	token := flag.String("token", "", "bearer token")
	sessions := flag.Int("sessions", 16, "concurrent sessions")
	duration := flag.Duration("duration", 10*time.Second, "how long to run")
	stateless := flag.Bool("stateless", false, "skip the session handshake")
	tool := flag.String("tool", "echo", "tool to call")
	args := flag.String("args", `{"message":"hello, fleet"}`, "tool arguments (JSON object)")
	revision := flag.String("revision", "", `protocol revision: "" (2025-11-25) or 2026-07-28 (no sessions)`)
	flag.Parse()
	res, err := loadgen.Run(context.Background(), loadgen.NewClient(*sessions),
		loadgen.Target{URL: *url, Token: *token, Stateless: *stateless, Revision: *revision},
		loadgen.Load{Sessions: *sessions, Duration: *duration, Tool: *tool, Args: json.RawMessage(*args)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	fmt.Printf("calls=%d errors=%d calls/s=%.0f p50=%v p99=%v\n", res.Calls, res.Errors, res.CallsPerSecond(), res.P50, res.P99)
	if res.FirstError != "" {
		fmt.Println("first error:", res.FirstError)
	}
}
