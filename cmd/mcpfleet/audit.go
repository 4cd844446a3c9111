package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mcpfleet/mcpfleet/pkg/policy/audit"
)

func auditVerify(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "audit verify", "[--rotated] [--partial] [--checkpoints CPFILE --checkpoint-key env:NAME] FILE... | --postgres DSN [--table T] [--chain C]")
	var (
		rotated = fs.Bool("rotated", false, "also verify FILE's rotated files (FILE.N ... FILE.1), oldest first")
		partial = fs.Bool("partial", false, "accept files that start past seq 1 (older files rotated away) and verify from there")
		cpFile  = fs.String("checkpoints", "", "checkpoint file of the sink: every checkpointed record must match and the chain must reach the newest checkpoint (detects a cut tail)")
		cpKey   = fs.String("checkpoint-key", "", "the checkpoint HMAC key: env:NAME or file:PATH")
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
		opts := audit.VerifyOptions{Partial: *partial}
		if *cpFile != "" {
			key, kerr := secretArg(e, *cpKey)
			if kerr != nil {
				return usageError(e, fs, "--checkpoint-key: %v", kerr)
			}
			if opts.Checkpoints, err = audit.ReadCheckpoints(*cpFile, key); err != nil {
				fmt.Fprintf(e.stderr, "mcpfleet audit verify: %v\n", err)
				return 1
			}
		}
		rep, err = audit.VerifyFilesWith(opts, files...)
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

// secretArg reads a key given as env:NAME or file:PATH; never on the
// command line itself, where it would show in ps and shell history.
func secretArg(e *env, v string) ([]byte, error) {
	if name, ok := strings.CutPrefix(v, "env:"); ok {
		if s := e.getenv(name); s != "" {
			return []byte(s), nil
		}
		return nil, fmt.Errorf("environment variable %s is empty", name)
	}
	if path, ok := strings.CutPrefix(v, "file:"); ok {
		b, err := os.ReadFile(path)
		return bytes.TrimSpace(b), err
	}
	return nil, errors.New("give the key as env:NAME or file:PATH")
}

func printReport(e *env, rep audit.Report) {
	var chains []string
	for c, rg := range rep.Ranges {
		s := fmt.Sprintf("%s (seq %d to %d", c, rg.First, rg.Last)
		if rg.First > 1 {
			s += "; records before seq " + strconv.FormatInt(rg.First, 10) + " not verified"
		}
		if a, ok := rep.Anchored[c]; ok {
			s += fmt.Sprintf("; reaches checkpoint seq %d", a)
		}
		chains = append(chains, s+")")
	}
	sort.Strings(chains)
	if rep.Broken != nil {
		fmt.Fprintf(e.stdout, "BROKEN at %s, seq %d: %s\n", rep.Broken.Position, rep.Broken.Seq, rep.Broken.Reason)
		fmt.Fprintf(e.stdout, "%d records verified before the break\n", rep.Records)
		return
	}
	fmt.Fprintf(e.stdout, "ok: %d records, chain intact: %s\n", rep.Records, orNone(strings.Join(chains, ", ")))
}
