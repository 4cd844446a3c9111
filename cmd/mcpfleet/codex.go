package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// renderCodex returns Codex's config.toml tables for the servers:
// [mcp_servers.<name>] with command/args/env (stdio; secrets forwarded
// with env_vars and read by the server through env: references) or url
// with bearer_token_env_var (remote).
func renderCodex(o hostOptions) string {
	var b strings.Builder
	for i, s := range o.servers {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "[mcp_servers.%s]\n", s.name)
		if o.url != "" {
			fmt.Fprintf(&b, "url = %s\n", tomlString(o.serverURL(s)))
			if o.apiKeyEnv != "" {
				fmt.Fprintf(&b, "bearer_token_env_var = %s\n", tomlString(o.apiKeyEnv))
			}
			continue
		}
		fmt.Fprintf(&b, "command = %s\n", tomlString(o.binDir+"/"+s.binaryName()))
		b.WriteString(`args = ["--transport", "stdio"]` + "\n")
		var env [][2]string
		var forward []string
		if s.dataDirEnv != "" {
			d, err := o.dataDir(s.name)
			if err == nil {
				env = append(env, [2]string{s.dataDirEnv, d})
			}
		}
		if s.awsChain {
			env = append(env, [2]string{"MCPFLEET_AWS_REGIONS", o.awsRegions})
		}
		for _, c := range s.creds {
			if c.optional {
				continue
			}
			src := c.alias
			if src == "" {
				src = c.env
			}
			forward = append(forward, src)
			env = append(env, [2]string{c.env, "env:" + src})
		}
		if len(forward) > 0 {
			var q []string
			for _, f := range forward {
				q = append(q, tomlString(f))
			}
			fmt.Fprintf(&b, "env_vars = [%s]\n", strings.Join(q, ", "))
		}
		if len(env) > 0 {
			slices.SortFunc(env, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
			var kv []string
			for _, p := range env {
				kv = append(kv, p[0]+" = "+tomlString(p[1]))
			}
			fmt.Fprintf(&b, "env = { %s }\n", strings.Join(kv, ", "))
		}
	}
	return b.String()
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tableHeader matches a TOML table header line and captures its key path.
var tableHeader = regexp.MustCompile(`^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$`)

// mergeCodex replaces the [mcp_servers.<name>] tables (and their
// sub-tables) of the configured servers in an existing config.toml and
// appends the new ones, keeping every other line, comment included. The
// old and the merged file must both parse as TOML.
func mergeCodex(old []byte, o hostOptions) ([]byte, error) {
	var probe map[string]any
	if err := toml.Unmarshal(old, &probe); err != nil {
		return nil, fmt.Errorf("the file is not valid TOML: %w", err)
	}
	owned := func(key string) bool {
		parts := splitTOMLKey(key)
		if len(parts) < 2 || parts[0] != "mcp_servers" {
			return false
		}
		return slices.ContainsFunc(o.servers, func(s fleetServer) bool { return s.name == parts[1] })
	}
	var kept []string
	skipping := false
	for line := range strings.SplitSeq(strings.TrimRight(string(old), "\n"), "\n") {
		if m := tableHeader.FindStringSubmatch(line); m != nil {
			skipping = owned(m[1])
		}
		if !skipping {
			kept = append(kept, line)
		}
	}
	text := strings.TrimRight(strings.Join(kept, "\n"), "\n")
	if text != "" {
		text += "\n\n"
	}
	text += renderCodex(o)
	if err := toml.Unmarshal([]byte(text), &probe); err != nil {
		return nil, fmt.Errorf("merging would produce invalid TOML (%v)", err)
	}
	return []byte(text), nil
}

// splitTOMLKey splits a dotted key, honouring quoted parts.
func splitTOMLKey(key string) []string {
	var parts []string
	var cur strings.Builder
	quote := rune(0)
	for _, r := range key {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '.':
			parts = append(parts, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(parts, strings.TrimSpace(cur.String()))
}
