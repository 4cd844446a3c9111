package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mcpfleet/mcpfleet/pkg/policy"
	"github.com/mcpfleet/mcpfleet/pkg/policy/audit"
)

const examples = "../../examples/policies"

// mcpfleet runs a command line and returns its exit code and output.
func mcpfleet(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &env{stdout: &out, stderr: &errOut, getenv: func(k string) string {
		return os.Getenv(k)
	}})
	return code, out.String(), errOut.String()
}

// TestExamples checks every example policy and runs the example cases.
func TestExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(examples, "*.yaml"))
	var policies []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".cases.yaml") {
			policies = append(policies, f)
		}
	}
	if len(policies) < 2 {
		t.Fatalf("example policies: %v", policies)
	}
	code, out, errOut := mcpfleet(t, append([]string{"policy", "check"}, policies...)...)
	if code != 0 || strings.Count(out, ": ok (version 1, sha256:") != len(policies) {
		t.Fatalf("check: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = mcpfleet(t, "policy", "test", filepath.Join(examples, "org.yaml"), filepath.Join(examples, "org.cases.yaml"))
	if code != 0 || !strings.HasSuffix(out, "22 passed, 0 failed\n") {
		t.Fatalf("test: %d\n%s%s", code, out, errOut)
	}
	// The example default is the built-in default.
	b, err := os.ReadFile(filepath.Join(examples, "default.yaml"))
	if err != nil || !bytes.Equal(b, policy.DefaultYAML()) {
		t.Fatal("examples/policies/default.yaml differs from the built-in default")
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPolicyTestReportsMismatches(t *testing.T) {
	list := writeFile(t, "crm-tools.json", `[{"name":"get_record","title":"Get","toolset":"records","effect":"read_only","classification":"confidential","permissions":[]}]`)
	cases := writeFile(t, "cases.yaml", fmt.Sprintf(`
tool_lists: [{server: crm, file: %s}]
cases:
  - {name: good, principal: {subject: a, groups: [sales]}, tool: get_record, expect: allow, redact: false}
  - {name: wrong expectation, principal: {subject: a}, tool: get_record, expect: deny}
  - {name: wrong rule, principal: {subject: a}, tool: get_record, expect: allow, rule: sales-write-crm}
  - {name: unknown tool, principal: {subject: a}, tool: nope, expect: allow}
  - {name: unknown principal, principal: bob, tool: get_record, expect: allow}
  - {name: no principal, principal: null, tool: get_record, expect: deny, rule: "builtin:unauthenticated"}
`, list))
	code, out, _ := mcpfleet(t, "policy", "test", filepath.Join(examples, "org.yaml"), cases)
	if code != 1 || !strings.HasSuffix(out, "2 passed, 4 failed\n") {
		t.Fatalf("%d\n%s", code, out)
	}
	for _, want := range []string{
		"FAIL  wrong expectation: got allow by everyone-reads",
		"want rule sales-write-crm",
		`FAIL  unknown tool: tool "nope" (server "") is not among the cases' tools`,
		`FAIL  unknown principal: principal "bob" is not in principals`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = mcpfleet(t, "policy", "test", "--json", filepath.Join(examples, "org.yaml"), cases)
	var results []caseResult
	if code != 1 || json.Unmarshal([]byte(out), &results) != nil || len(results) != 6 || !results[0].Pass {
		t.Fatalf("json: %d %s", code, out)
	}
}

func TestPolicyCheckInvalid(t *testing.T) {
	bad := writeFile(t, "bad.yaml", "version: 1\ndefault: deny\nrules:\n  - {id: a, effect: allow, roles: [ghosts]}\n")
	code, out, errOut := mcpfleet(t, "policy", "check", filepath.Join(examples, "org.yaml"), bad)
	if code != 1 || !strings.Contains(out, "org.yaml: ok") || !strings.Contains(errOut, `role "ghosts" is not declared`) {
		t.Fatalf("%d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := mcpfleet(t, "policy", "check", "/does/not/exist.yaml"); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Fatalf("%d %s", code, errOut)
	}
}

func TestPolicyExplain(t *testing.T) {
	org := filepath.Join(examples, "org.yaml")
	code, out, errOut := mcpfleet(t, "policy", "explain", org, "--subject", "sam", "--groups", "sre", "--server", "aws",
		"--tool", "terminate_instances", "--toolset", "ec2", "--effect", "destructive", "--args", `{"ids":["i-1"]}`)
	if code != 0 {
		t.Fatalf("%d %s", code, errOut)
	}
	for _, want := range []string{"roles      everyone, sre", "decision   ALLOW by sre-aws", "approval   required by approvals.destructive",
		"MATCH  sre-aws", "server \"aws\" is not in servers [github slack]", "APPLIES  aws-changes-per-hour"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = mcpfleet(t, "policy", "explain", org, "--json", "--cases", filepath.Join(examples, "org.cases.yaml"),
		"--case", "contractors not at night")
	var ex policy.Explanation
	if code != 0 || json.Unmarshal([]byte(out), &ex) != nil || ex.Result != "deny" || ex.Rule != "contractors-office-hours" {
		t.Fatalf("%d %s", code, out)
	}
	if code, _, _ := mcpfleet(t, "policy", "explain", org); code != 2 {
		t.Errorf("explain without a call: exit %d", code)
	}
	if code, _, _ := mcpfleet(t, "policy", "explain", org, "--tool", "x", "--effect", "sideways"); code != 2 {
		t.Errorf("bad effect: exit %d", code)
	}
}

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage: mcpfleet <command>"},
		{[]string{"help"}, 0, "policy"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"policy"}, 2, "check FILE..."},
		{[]string{"policy", "test", "only-one"}, 2, "want a policy file and a cases file"},
		{[]string{"policy", "check", "-h"}, 0, "usage: mcpfleet policy check"},
		{[]string{"audit", "verify"}, 2, "name audit files or --postgres"},
	} {
		code, out, errOut := mcpfleet(t, c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("%v: exit %d, output %q", c.args, code, out+errOut)
		}
	}
	code, out, _ := mcpfleet(t, "policy", "schema")
	if code != 0 || !json.Valid([]byte(out)) {
		t.Error("schema is not JSON")
	}
}

func auditRecords(n int) []audit.Source {
	var out []audit.Source
	for i := range n {
		out = append(out, &audit.Static{Time: time.Unix(int64(i), 0), Server: "crm", Principal: "jwt:alice", Method: "tools/call",
			Tool: "get_record", ArgsDigest: "sha256:00", Decision: "allow", Rule: "everyone-reads", Outcome: "ok", Policy: "sha256:p"})
	}
	return out
}

func writeAudit(t *testing.T, b audit.Backend, n int) {
	t.Helper()
	a := audit.New([]audit.Backend{b}, audit.Options{})
	for _, r := range auditRecords(n) {
		if err := a.Reserve(context.Background()); err != nil {
			t.Fatal(err)
		}
		a.Submit(r)
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAuditVerifyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f, err := audit.OpenFile(path, "crm", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	writeAudit(t, f, 5)
	code, out, _ := mcpfleet(t, "audit", "verify", path)
	if code != 0 || out != "ok: 5 records, chain intact: crm (seq 1 to 5)\n" {
		t.Fatalf("%d %q", code, out)
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(string(b), "\n")
	lines[2] = strings.Replace(lines[2], `"outcome":"ok"`, `"outcome":"denied"`, 1)
	os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600)
	code, out, _ = mcpfleet(t, "audit", "verify", "--rotated", path)
	if code != 1 || !strings.Contains(out, "BROKEN at "+path+":3, seq 3: hash mismatch") {
		t.Fatalf("%d %q", code, out)
	}
}

// TestAuditVerifyFirstRecordsAndCutTail: verify names first and last
// seq, refuses a file whose first records are gone (unless --partial),
// and with --checkpoints catches a cut tail that the chain alone cannot.
func TestAuditVerifyFirstRecordsAndCutTail(t *testing.T) {
	dir := t.TempDir()
	path, cpPath := filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "cp", "audit.checkpoints")
	f, err := audit.OpenFile(path, "crm", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	key := "0123456789abcdef0123456789abcdef"
	cp, err := audit.OpenCheckpoints(cpPath, []byte(key), 0)
	if err != nil {
		t.Fatal(err)
	}
	f.AnchorTo(cp)
	writeAudit(t, f, 9)
	t.Setenv("CP_KEY", key)
	code, out, errOut := mcpfleet(t, "audit", "verify", "--checkpoints", cpPath, "--checkpoint-key", "env:CP_KEY", path)
	if code != 0 || out != "ok: 9 records, chain intact: crm (seq 1 to 9; reaches checkpoint seq 9)\n" {
		t.Fatalf("%d %q %s", code, out, errOut)
	}
	b, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(b), "\n")
	os.WriteFile(path, []byte(strings.Join(lines[:6], "")), 0o600)
	if code, out, _ := mcpfleet(t, "audit", "verify", path); code != 0 {
		t.Fatalf("cut tail alone: %d %q", code, out)
	}
	code, out, _ = mcpfleet(t, "audit", "verify", "--checkpoints", cpPath, "--checkpoint-key", "env:CP_KEY", path)
	if code != 1 || !strings.Contains(out, "the chain was cut") || !strings.Contains(out, "anchors seq 9") {
		t.Fatalf("cut tail: %d %q", code, out)
	}
	os.WriteFile(path, []byte(strings.Join(lines[3:9], "")), 0o600)
	code, out, _ = mcpfleet(t, "audit", "verify", path)
	if code != 1 || !strings.Contains(out, "starts at seq 4") {
		t.Fatalf("head cut: %d %q", code, out)
	}
	code, out, _ = mcpfleet(t, "audit", "verify", "--partial", path)
	if code != 0 || !strings.Contains(out, "seq 4 to 9; records before seq 4 not verified") {
		t.Fatalf("partial: %d %q", code, out)
	}
	if code, _, errOut := mcpfleet(t, "audit", "verify", "--checkpoints", cpPath, "--checkpoint-key", key, path); code != 2 || !strings.Contains(errOut, "env:NAME") {
		t.Fatalf("key on the command line: %d %s", code, errOut)
	}
}

// TestAuditVerifyPostgres runs `audit verify --postgres` against the local
// PostgreSQL (a schema of its own, dropped afterwards).
func TestAuditVerifyPostgres(t *testing.T) {
	dsn := os.Getenv("MCPFLEET_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required under CI=true: %v", err)
		}
		t.Skipf("PostgreSQL is not reachable (%v); start it to run this test", err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "mcpfleet_cli_test_" + hex.EncodeToString(rnd[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(context.Background())
	})
	table := schema + ".audit"
	pg, err := audit.NewPostgres(dsn, table, "crm")
	if err != nil {
		t.Fatal(err)
	}
	writeAudit(t, pg, 8)
	t.Setenv("AUDIT_DSN", dsn)
	code, out, errOut := mcpfleet(t, "audit", "verify", "--postgres", "env:AUDIT_DSN", "--table", table)
	if code != 0 || !strings.HasPrefix(out, "ok: 8 records") {
		t.Fatalf("%d %q %s", code, out, errOut)
	}
	if _, err := conn.Exec(ctx, `UPDATE `+table+` SET record = replace(record, '"jwt:alice"', '"jwt:mallory"') WHERE seq = 4`); err != nil {
		t.Fatal(err)
	}
	code, out, _ = mcpfleet(t, "audit", "verify", "--postgres", dsn, "--table", table, "--chain", "crm")
	if code != 1 || !strings.Contains(out, "seq 4: hash mismatch") {
		t.Fatalf("%d %q", code, out)
	}
}
