package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/policy"
)

func policyCheck(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "policy check", "FILE...")
	files, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(files) == 0 {
		return usageError(e, fs, "name at least one policy file")
	}
	code = 0
	for _, f := range files {
		doc, err := policy.Load(f)
		if err != nil {
			fmt.Fprintf(e.stderr, "%v\n", err)
			code = 1
			continue
		}
		fmt.Fprintf(e.stdout, "%s: ok (version %d, %s, %d roles, %d rules, %d rate limits)\n",
			f, doc.Version, doc.Hash(), len(doc.Roles), len(doc.Rules), len(doc.RateLimits))
	}
	return code
}

func policyTest(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "policy test", "FILE CASES")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	verbose := fs.Bool("v", false, "print passing cases too")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		return usageError(e, fs, "want a policy file and a cases file")
	}
	eng, ok := loadEngine(e, pos[0])
	if !ok {
		return 1
	}
	cf, err := loadCases(pos[1])
	if err != nil {
		fmt.Fprintln(e.stderr, "mcpfleet policy test:", err)
		return 1
	}
	results, err := runCases(eng, cf)
	if err != nil {
		fmt.Fprintf(e.stderr, "mcpfleet policy test: %s: %v\n", pos[1], err)
		return 1
	}
	failed := 0
	for _, r := range results {
		if !r.Pass {
			failed++
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(results)
	} else {
		for _, r := range results {
			switch {
			case r.Pass && *verbose:
				fmt.Fprintf(e.stdout, "PASS  %s: %s by %s\n", r.Name, r.Got, r.Rule)
			case !r.Pass && r.Got == "":
				fmt.Fprintf(e.stdout, "FAIL  %s: %s\n", r.Name, r.Problem)
			case !r.Pass:
				fmt.Fprintf(e.stdout, "FAIL  %s: got %s by %s (%s); %s\n", r.Name, r.Got, r.Rule, r.Reason, r.Problem)
			}
		}
		fmt.Fprintf(e.stdout, "%d passed, %d failed\n", len(results)-failed, failed)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

func policyExplain(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "policy explain", "FILE (--cases CASES --case NAME | --tool NAME ... [principal flags])")
	var (
		casesPath = fs.String("cases", "", "take the call from this cases file (with --case)")
		caseName  = fs.String("case", "", "name of the case in --cases")
		asJSON    = fs.Bool("json", false, "print the explanation as JSON")
		subject   = fs.String("subject", "", "principal subject")
		method    = fs.String("method", authn.MethodJWT, "authentication method: jwt, api_key, stdio or none")
		issuer    = fs.String("issuer", "", "token issuer")
		clientID  = fs.String("client-id", "", "OAuth client id")
		groups    = fs.String("groups", "", "comma-separated groups")
		scopes    = fs.String("scopes", "", "comma-separated scopes")
		claims    = fs.String("claims", "", "token claims as a JSON object")
		server    = fs.String("server", "", "server name")
		tool      = fs.String("tool", "", "tool name")
		toolset   = fs.String("toolset", "default", "the tool's toolset")
		effect    = fs.String("effect", "read_only", "the tool's effect: read_only, additive or destructive")
		class     = fs.String("classification", "internal", "the tool's data classification")
		idem      = fs.Bool("idempotent", false, "the tool is idempotent")
		open      = fs.Bool("open-world", false, "the tool reaches outside systems")
		argsJSON  = fs.String("args", "", "the call's arguments as a JSON object")
		at        = fs.String("time", "", "when the call happens (RFC 3339; default now)")
	)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return usageError(e, fs, "want one policy file")
	}
	eng, ok := loadEngine(e, pos[0])
	if !ok {
		return 1
	}
	var in policy.Input
	if *casesPath != "" {
		var err error
		if in, err = caseInput(*casesPath, *caseName); err != nil {
			fmt.Fprintln(e.stderr, "mcpfleet policy explain:", err)
			return 1
		}
	} else {
		if *tool == "" {
			return usageError(e, fs, "set --tool (and the principal flags), or --cases and --case")
		}
		p := principalDef{Subject: *subject, Method: *method, Issuer: *issuer, ClientID: *clientID,
			Groups: splitList(*groups), Scopes: splitList(*scopes)}
		if *claims != "" {
			if err := json.Unmarshal([]byte(*claims), &p.Claims); err != nil {
				return usageError(e, fs, "--claims is not a JSON object: %v", err)
			}
		}
		in.Principal = p.principal()
		spec, err := toolDef{Name: *tool, Toolset: *toolset, Effect: *effect, Classification: *class,
			Idempotent: *idem, OpenWorld: *open, Permissions: core.NoPermissions}.spec()
		if err != nil {
			return usageError(e, fs, "%v", err)
		}
		in.Server, in.Tool = *server, spec
		if *argsJSON != "" {
			if !json.Valid([]byte(*argsJSON)) {
				return usageError(e, fs, "--args is not valid JSON")
			}
			in.Args = json.RawMessage(*argsJSON)
		}
		if *at != "" {
			if in.Time, err = time.Parse(time.RFC3339, *at); err != nil {
				return usageError(e, fs, "--time %q is not RFC 3339", *at)
			}
		}
	}
	ex := eng.Explain(in)
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(ex)
		return 0
	}
	printExplanation(e.stdout, ex, in)
	return 0
}

// caseInput is the call of the case named name in a cases file.
func caseInput(path, name string) (policy.Input, error) {
	cf, err := loadCases(path)
	if err != nil {
		return policy.Input{}, err
	}
	tools, err := cf.catalog()
	if err != nil {
		return policy.Input{}, err
	}
	for _, c := range cf.Cases {
		if c.Name == name {
			in, err := cf.input(c, tools)
			if err != nil {
				return in, fmt.Errorf("case %q: %w", name, err)
			}
			return in, nil
		}
	}
	return policy.Input{}, fmt.Errorf("no case named %q in %s", name, path)
}

// loadEngine loads and compiles a policy file, reporting a failure.
func loadEngine(e *env, path string) (*policy.Engine, bool) {
	doc, err := policy.Load(path)
	if err == nil {
		var eng *policy.Engine
		if eng, err = policy.NewEngine(doc); err == nil {
			return eng, true
		}
	}
	fmt.Fprintln(e.stderr, err)
	return nil, false
}

func printExplanation(w io.Writer, ex policy.Explanation, in policy.Input) {
	args := "{}"
	if len(in.Args) > 0 {
		args = string(in.Args)
	}
	fmt.Fprintf(w, "principal  %s\nroles      %s\nclearance  %s\ncall       %s/%s %s\n",
		ex.Principal, orNone(strings.Join(ex.Roles, ", ")), ex.Clearance, ex.Server, ex.Tool, args)
	fmt.Fprintf(w, "decision   %s by %s: %s\n", strings.ToUpper(ex.Result), ex.Rule, ex.Reason)
	if ex.Approval != "" {
		fmt.Fprintf(w, "approval   required by %s\n", ex.Approval)
	}
	fmt.Fprintf(w, "redaction  %v\n\nrules (deny rules win over allow rules; the first matching allow rule decides):\n", ex.Redact)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, r := range ex.Rules {
		mark := "-"
		if r.Matched {
			mark = "MATCH"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", mark, r.ID, r.Effect, r.Why)
	}
	tw.Flush()
	if len(ex.Limits) > 0 {
		fmt.Fprintln(w, "\nrate limits:")
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		for _, l := range ex.Limits {
			if l.Applies {
				fmt.Fprintf(tw, "  APPLIES\t%s\t%s\n", l.ID, strings.Join(l.Buckets, " "))
			} else {
				fmt.Fprintf(tw, "  -\t%s\t%s\n", l.ID, l.Why)
			}
		}
		tw.Flush()
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func policySchema(_ context.Context, e *env, args []string) int {
	if len(args) > 0 {
		fmt.Fprintln(e.stderr, "usage: mcpfleet policy schema")
		return 2
	}
	_, _ = e.stdout.Write(policy.Schema())
	return 0
}

func policyDefault(_ context.Context, e *env, args []string) int {
	if len(args) > 0 {
		fmt.Fprintln(e.stderr, "usage: mcpfleet policy default")
		return 2
	}
	_, _ = e.stdout.Write(policy.DefaultYAML())
	return 0
}
