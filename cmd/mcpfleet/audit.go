package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mcpfleet/mcpfleet/pkg/policy/audit"
)

func auditVerify(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "audit verify", "[--rotated] FILE... | --postgres DSN [--table T] [--chain C]")
	var (
		rotated = fs.Bool("rotated", false, "also verify FILE's rotated files (FILE.N ... FILE.1), oldest first")
		dsn     = fs.String("postgres", "", "PostgreSQL connection string, or env:NAME to read it from a variable")
		table   = fs.String("table", "mcpfleet_audit", "audit table (schema.table allowed)")
		chain   = fs.String("chain", "", "verify only this chain (a server name); default every chain")
		asJSON  = fs.Bool("json", false, "print the report as JSON")
	)
	files, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	var (
		rep audit.Report
		err error
	)
	switch {
	case *dsn != "" && len(files) > 0:
		return usageError(e, fs, "give files or --postgres, not both")
	case *dsn != "":
		conn := *dsn
		if name, ok := strings.CutPrefix(conn, "env:"); ok {
			if conn = e.getenv(name); conn == "" {
				return usageError(e, fs, "environment variable %s is empty", name)
			}
		}
		rep, err = verifyPostgres(ctx, conn, *table, *chain)
	case len(files) > 0:
		if *rotated {
			var all []string
			for _, f := range files {
				all = append(all, audit.RotatedFiles(f)...)
			}
			files = all
		}
		rep, err = audit.VerifyFiles(files...)
	default:
		return usageError(e, fs, "name audit files or --postgres")
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "mcpfleet audit verify: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		printReport(e, rep)
	}
	if rep.Broken != nil {
		return 1
	}
	return 0
}

func verifyPostgres(ctx context.Context, dsn, table, chain string) (audit.Report, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return audit.Report{}, err
	}
	defer conn.Close(context.Background())
	return audit.VerifyPostgres(ctx, conn, table, chain)
}

func printReport(e *env, rep audit.Report) {
	var chains []string
	for c, seq := range rep.Chains {
		chains = append(chains, fmt.Sprintf("%s (last seq %d)", c, seq))
	}
	sort.Strings(chains)
	if rep.Broken != nil {
		fmt.Fprintf(e.stdout, "BROKEN at %s, seq %d: %s\n", rep.Broken.Position, rep.Broken.Seq, rep.Broken.Reason)
		fmt.Fprintf(e.stdout, "%d records verified before the break\n", rep.Records)
		return
	}
	fmt.Fprintf(e.stdout, "ok: %d records, chain intact: %s\n", rep.Records, orNone(strings.Join(chains, ", ")))
}
