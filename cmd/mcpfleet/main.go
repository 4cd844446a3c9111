// Command mcpfleet is the fleet's command-line tool: running the local
// fleet, policy authoring (check, test, explain) and audit log verification.
// Commands are a small tree (see commands) so that others (host configs, the
// registry catalog) can be added beside them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// env is what a command may touch: its streams and the environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code: 0 success, 1
// the check failed (invalid policy, failing case, broken chain), 2 usage.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = []string{"version"}
	}
	return commands().dispatch(ctx, e, nil, args)
}

// printVersion prints "mcpfleet VERSION".
func printVersion(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "version", "")
	if _, code, ok := parse(fs, args); !ok {
		return code
	}
	fmt.Fprintf(e.stdout, "mcpfleet %s\n", fullVersion())
	return 0
}

// commands is the command tree.
func commands() *command {
	return &command{name: "mcpfleet", subs: []*command{
		{name: "policy", summary: "check, test and explain policy documents", subs: []*command{
			{name: "check", args: "FILE...", summary: "validate policy documents", run: policyCheck},
			{name: "test", args: "FILE CASES", summary: "run a table of decision cases against a policy", run: policyTest},
			{name: "explain", args: "FILE [flags]", summary: "show which rules match a call and why", run: policyExplain},
			{name: "schema", summary: "print the JSON Schema of the policy document", run: policySchema},
			{name: "default", summary: "print the built-in default policy", run: policyDefault},
		}},
		{name: "up", summary: "run the local fleet: each server its own process on loopback, until Ctrl-C", run: fleetUp("up")},
		{name: "run", summary: "same as up", run: fleetUp("run")},
		{name: "install", summary: "build every server (and mcpfleet) into one directory", run: install},
		{name: "hostconfig", summary: "print or --write the fleet's config for an MCP host (Claude, VS Code, Cursor, Codex)", run: hostconfig},
		{name: "catalog", summary: "write each server's registry server.json into a directory", run: catalog},
		{name: "dockerfile", args: "SERVER", summary: "print a server's Dockerfile (make dockerfiles writes them all)", run: dockerfile},
		{name: "version", summary: "print the version", run: printVersion},
		{name: "apikey", summary: "API keys for service clients", subs: []*command{
			{name: "new", args: "--id NAME", summary: "generate a key and the config entry (its SHA-256) that accepts it", run: apikeyNew},
		}},
		{name: "audit", summary: "audit log tools", subs: []*command{
			{name: "verify", args: "[--rotated] FILE... | --postgres DSN [--table T] [--chain C]",
				summary: "verify the hash chain of audit records", run: auditVerify},
		}},
	}}
}
