package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// hostClient describes one MCP host's config file: where it lives, the key
// its servers sit under, how it references an environment variable, and the
// prefix it puts before a tool's name when it shows it to the model.
type hostClient struct {
	name string
	// file returns the default config path.
	file func() (string, error)
	// toolPrefix is what the host puts before tool names (model APIs
	// accept at most 64 characters in all).
	toolPrefix func(server string) string
	// remote reports whether the host's file can name a URL.
	remote bool
}

var hostClients = []hostClient{
	{name: "claude-desktop", file: claudeDesktopFile, toolPrefix: func(s string) string { return "mcp__" + s + "__" }},
	{name: "claude-code", file: relFile(".mcp.json"), toolPrefix: func(s string) string { return "mcp__" + s + "__" }, remote: true},
	{name: "vscode", file: relFile(filepath.Join(".vscode", "mcp.json")), toolPrefix: func(s string) string { return "mcp_" + s + "_" }, remote: true},
	{name: "cursor", file: relFile(filepath.Join(".cursor", "mcp.json")), toolPrefix: func(s string) string { return "mcp_" + s + "_" }, remote: true},
	{name: "codex", file: codexFile, toolPrefix: func(s string) string { return "mcp__" + s + "__" }, remote: true},
}

func relFile(p string) func() (string, error) {
	return func() (string, error) { return filepath.Abs(p) }
}

func claudeDesktopFile() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "Claude", "claude_desktop_config.json"), nil
}

func codexFile() (string, error) {
	if h := os.Getenv("CODEX_HOME"); h != "" {
		return filepath.Join(h, "config.toml"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".codex", "config.toml"), nil
}

// hostOptions is what a host config is generated from.
type hostOptions struct {
	client hostClient
	// servers are the servers to configure, in table order.
	servers []fleetServer
	// binDir holds the installed binaries (stdio).
	binDir string
	// dataDir returns the per-user data directory of a server (stdio).
	dataDir func(server string) (string, error)
	// secretDir is where Claude Desktop configs point file: secrets
	// (Desktop expands no variables).
	secretDir string
	// url is the remote URL template ({name}, {port}); empty for stdio.
	url        string
	portOffset int
	// apiKeyEnv names the variable holding the bearer API key for remote
	// servers; empty sends no Authorization header.
	apiKeyEnv string
	// awsRegions is what a stdio AWS server is given as
	// MCPFLEET_AWS_REGIONS: without a config file it needs at least one
	// region to serve (a region is no secret, so it is written as is).
	awsRegions string
}

// serverURL expands the URL template for s.
func (o hostOptions) serverURL(s fleetServer) string {
	u := strings.ReplaceAll(o.url, "{name}", s.name)
	return strings.ReplaceAll(u, "{port}", strconv.Itoa(s.port+o.portOffset))
}

// jsonServer is one entry of a JSON host config. Field order is the order
// hosts document them in.
type jsonServer struct {
	Type    string            `json:"type,omitempty"`
	Command string            `json:"command,omitempty"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	URL     string            `json:"url,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// vscodeInput is a VS Code input: a secret prompted for once and stored by
// VS Code, referenced as ${input:id}.
type vscodeInput struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	Description string `json:"description"`
	Password    bool   `json:"password"`
}

// secretRef returns how the host's file refers to the variable name
// (never the secret itself), and the VS Code input it needs.
func secretRef(client, varName, what string, o hostOptions) (string, *vscodeInput) {
	switch client {
	case "claude-code":
		return "${" + varName + "}", nil
	case "cursor":
		return "${env:" + varName + "}", nil
	case "vscode":
		id := strings.ToLower(strings.ReplaceAll(varName, "_", "-"))
		return "${input:" + id + "}", &vscodeInput{Type: "promptString", ID: id, Description: what, Password: true}
	case "claude-desktop":
		// Desktop passes env values literally: point the server at a file
		// only the user can read.
		return "file:" + filepath.Join(o.secretDir, strings.ToLower(varName)), nil
	}
	// Codex forwards env_vars; the server resolves env: references.
	return "env:" + varName, nil
}

// hostEntries builds the JSON entries (and VS Code inputs) for every
// server; notes are lines for the user (where to put a secret).
func hostEntries(o hostOptions) (map[string]jsonServer, []vscodeInput, []string, error) {
	entries := map[string]jsonServer{}
	var inputs []vscodeInput
	var notes []string
	addInput := func(in *vscodeInput) {
		if in != nil && !slices.ContainsFunc(inputs, func(x vscodeInput) bool { return x.ID == in.ID }) {
			inputs = append(inputs, *in)
		}
	}
	for _, s := range o.servers {
		var e jsonServer
		if o.url != "" {
			e.URL = o.serverURL(s)
			if o.client.name != "cursor" {
				e.Type = "http"
			}
			if o.apiKeyEnv != "" {
				ref, in := secretRef(o.client.name, o.apiKeyEnv, "mcpfleet API key (mcpk_...)", o)
				addInput(in)
				e.Headers = map[string]string{"Authorization": "Bearer " + ref}
			}
		} else {
			e.Command = filepath.Join(o.binDir, s.binaryName())
			e.Args = []string{"--transport", "stdio"}
			if o.client.name == "claude-code" || o.client.name == "vscode" {
				e.Type = "stdio"
			}
			env := map[string]string{}
			if s.dataDirEnv != "" {
				d, err := o.dataDir(s.name)
				if err != nil {
					return nil, nil, nil, err
				}
				env[s.dataDirEnv] = d
			}
			if s.awsChain {
				env["MCPFLEET_AWS_REGIONS"] = o.awsRegions
			}
			for _, c := range s.creds {
				if c.optional {
					continue
				}
				src := c.alias
				if src == "" {
					src = c.env
				}
				ref, in := secretRef(o.client.name, src, c.what, o)
				addInput(in)
				env[c.env] = ref
				if o.client.name == "claude-desktop" {
					notes = append(notes, fmt.Sprintf("%s: put the %s in %s (chmod 600); Claude Desktop expands no variables", s.name, c.what, strings.TrimPrefix(ref, "file:")))
				}
			}
			if len(env) > 0 {
				e.Env = env
			}
		}
		entries[s.name] = e
	}
	return entries, inputs, notes, nil
}

// renderJSON returns the host's JSON document for the entries.
func renderJSON(client string, entries map[string]jsonServer, inputs []vscodeInput) ([]byte, error) {
	doc := map[string]any{serversKey(client): entries}
	if client == "vscode" {
		if inputs == nil {
			inputs = []vscodeInput{}
		}
		doc["inputs"] = inputs
	}
	return marshalIndent(doc)
}

func serversKey(client string) string {
	if client == "vscode" {
		return "servers"
	}
	return "mcpServers"
}

func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// mergeJSON merges the entries (and inputs) into an existing host file,
// keeping every other key, server and input.
func mergeJSON(client string, existing []byte, entries map[string]jsonServer, inputs []vscodeInput) ([]byte, error) {
	top := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(existing)) > 0 {
		if err := json.Unmarshal(existing, &top); err != nil {
			return nil, fmt.Errorf("the file is not a JSON object (comments or trailing commas?): %w", err)
		}
	}
	key := serversKey(client)
	servers := map[string]json.RawMessage{}
	if raw, ok := top[key]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &servers); err != nil {
			return nil, fmt.Errorf("%q is not an object: %w", key, err)
		}
	}
	for name, e := range entries {
		b, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		servers[name] = b
	}
	b, err := json.Marshal(servers)
	if err != nil {
		return nil, err
	}
	top[key] = b
	if client == "vscode" {
		var old []json.RawMessage
		if raw, ok := top["inputs"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &old); err != nil {
				return nil, fmt.Errorf(`"inputs" is not an array: %w`, err)
			}
		}
		var merged []json.RawMessage
		for _, raw := range old {
			var id struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(raw, &id)
			if !slices.ContainsFunc(inputs, func(in vscodeInput) bool { return in.ID == id.ID }) {
				merged = append(merged, raw)
			}
		}
		for _, in := range inputs {
			b, _ := json.Marshal(in)
			merged = append(merged, b)
		}
		if merged == nil {
			merged = []json.RawMessage{}
		}
		b, err := json.Marshal(merged)
		if err != nil {
			return nil, err
		}
		top["inputs"] = b
	}
	return marshalIndent(top)
}

// hostconfig prints (or merges into the host's file) the config that
// connects a host to the fleet.
func hostconfig(ctx context.Context, e *env, args []string) int {
	var names []string
	for _, c := range hostClients {
		names = append(names, c.name)
	}
	fs := newFlags(e, "hostconfig", "--client "+strings.Join(names, "|")+" [--servers a,b] [--url URL] [--write [--file PATH]]")
	clientName := fs.String("client", "", "the host: "+strings.Join(names, ", "))
	only := fs.String("servers", "", "comma-separated servers (default: every installed server for stdio, every server for --url)")
	url := fs.String("url", "", "remote servers instead of stdio: URL template with {name} and {port}, e.g. https://{name}.mcp.example.com/mcp or http://127.0.0.1:{port}/mcp")
	portOffset := fs.Int("port-offset", 0, "added to each server's default port in {port} (mcpfleet up --addr shifts ports)")
	apiKeyEnv := fs.String("api-key-env", "", "variable holding the API key sent as Authorization: Bearer (default MCPFLEET_API_KEY for non-loopback URLs; none for the local fleet)")
	binDir := fs.String("bin-dir", defaultBinDir(), "directory with the installed mcp-<server> binaries (stdio)")
	dataDir := fs.String("data-dir", "", "base of the servers' data directories (default: per-user, e.g. ~/.local/share/mcpfleet)")
	write := fs.Bool("write", false, "merge into the host's config file (keeping other entries; the old file is kept as a .bak copy)")
	file := fs.String("file", "", "the host's config file for --write (default: the host's usual location)")
	if _, code, ok := parse(fs, args); !ok {
		return code
	} else if fs.NArg() > 0 {
		return usageError(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	i := slices.IndexFunc(hostClients, func(c hostClient) bool { return c.name == *clientName })
	if i < 0 {
		return usageError(e, fs, "--client must be one of %s", strings.Join(names, ", "))
	}
	client := hostClients[i]
	if *url != "" && !client.remote {
		return usageError(e, fs, "%s takes stdio servers only (add remote servers in its settings)", client.name)
	}
	if *url != "" && !strings.Contains(*url, "{name}") && !strings.Contains(*url, "{port}") && (*only == "" || strings.Contains(*only, ",")) {
		return usageError(e, fs, "--url must contain {name} or {port} when it serves several servers")
	}
	servers, unknown := selectServers(*only)
	if len(unknown) > 0 {
		return usageError(e, fs, "unknown servers %v", unknown)
	}
	o := hostOptions{client: client, url: *url, portOffset: *portOffset,
		awsRegions: cmp.Or(e.getenv("MCPFLEET_AWS_REGIONS"), e.getenv("AWS_REGION"), e.getenv("AWS_DEFAULT_REGION"), defaultAWSRegion)}
	if *url != "" {
		o.apiKeyEnv = *apiKeyEnv
		if o.apiKeyEnv == "" && !isLoopbackURL(*url) {
			o.apiKeyEnv = "MCPFLEET_API_KEY"
		}
	} else {
		abs, err := filepath.Abs(*binDir)
		if err != nil {
			fmt.Fprintf(e.stderr, "mcpfleet hostconfig: %v\n", err)
			return 1
		}
		o.binDir = abs
		if *only == "" {
			servers = installed(abs, servers, discard{})
		} else {
			servers = installed(abs, servers, e.stderr)
		}
		if len(servers) == 0 {
			fmt.Fprintf(e.stderr, "mcpfleet hostconfig: no server binaries in %s; run make install or mcpfleet install --dir DIR first, or pass --bin-dir\n", abs)
			return 1
		}
		base := *dataDir
		o.dataDir = func(server string) (string, error) {
			if base == "" {
				return userDataDir(server)
			}
			return filepath.Abs(filepath.Join(base, server))
		}
		cfg, err := os.UserConfigDir()
		if err != nil {
			cfg = filepath.Join(o.binDir, "..", "etc")
		}
		o.secretDir = filepath.Join(cfg, "mcpfleet")
	}

	o.servers = servers
	var out []byte
	var notes []string
	var err error
	if client.name == "codex" {
		out = []byte(renderCodex(o))
	} else {
		var entries map[string]jsonServer
		var inputs []vscodeInput
		entries, inputs, notes, err = hostEntries(o)
		if err == nil {
			out, err = renderJSON(client.name, entries, inputs)
		}
		if err == nil && *write {
			out, err = writeHostFile(*file, client, len(servers), func(old []byte) ([]byte, error) {
				return mergeJSON(client.name, old, entries, inputs)
			}, e)
		}
	}
	if err == nil && client.name == "codex" && *write {
		_, err = writeHostFile(*file, client, len(servers), func(old []byte) ([]byte, error) { return mergeCodex(old, o) }, e)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "mcpfleet hostconfig: %v\n", err)
		return 1
	}
	for _, n := range notes {
		fmt.Fprintf(e.stderr, "note: %s\n", n)
	}
	warnLongToolNames(ctx, e, o)
	if !*write {
		_, _ = e.stdout.Write(out)
	}
	return 0
}

func isLoopbackURL(u string) bool {
	for _, p := range []string{"http://127.", "http://localhost:", "http://localhost/", "http://[::1]"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// writeHostFile merges into the host's file: it reads it (a missing file
// is empty), keeps a backup of the old content, and replaces the file
// atomically. It returns the new content.
func writeHostFile(path string, client hostClient, n int, merge func(old []byte) ([]byte, error), e *env) ([]byte, error) {
	if path == "" {
		p, err := client.file()
		if err != nil {
			return nil, err
		}
		path = p
	}
	old, err := os.ReadFile(path)
	mode := os.FileMode(0o600)
	switch {
	case err == nil:
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
		}
	case errors.Is(err, os.ErrNotExist):
		old = nil
	default:
		return nil, err
	}
	merged, err := merge(old)
	if err != nil {
		return nil, fmt.Errorf("%s: %w; nothing was changed", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if old != nil {
		backup := path + "." + time.Now().UTC().Format("20060102T150405.000Z") + ".bak"
		if err := os.WriteFile(backup, old, mode); err != nil {
			return nil, fmt.Errorf("backup: %w; nothing was changed", err)
		}
		fmt.Fprintf(e.stderr, "mcpfleet: previous %s kept as %s\n", path, backup)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mcpfleet-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(merged); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, err
	}
	fmt.Fprintf(e.stdout, "mcpfleet: wrote %d servers into %s\n", n, path)
	return merged, nil
}

// toolInfo is the part of `mcp-<server> --list-tools` output we read.
type toolInfo struct {
	Name string `json:"name"`
}

// warnLongToolNames warns when the host's prefix makes a tool's name
// longer than the 64 characters model APIs accept. It asks each installed
// binary for its tools; without binaries (remote only) it says it could not
// check.
func warnLongToolNames(ctx context.Context, e *env, o hostOptions) {
	dir := o.binDir
	if dir == "" {
		dir = defaultBinDir()
	}
	for _, s := range o.servers {
		tools, err := listTools(ctx, filepath.Join(dir, s.binaryName()), s)
		if err != nil {
			fmt.Fprintf(e.stderr, "note: could not list %s's tools to check name lengths: %v\n", s.name, err)
			continue
		}
		for _, t := range tools {
			full := o.client.toolPrefix(s.name) + t.Name
			if len(full) > 64 {
				fmt.Fprintf(e.stderr, "warning: %s shows %s's tool %s as %s (%d characters, over the 64 model APIs accept)\n",
					o.client.name, s.name, t.Name, full, len(full))
			}
		}
	}
}

// listTools runs the binary with --list-tools. Placeholder credentials let
// the config validate; nothing is started or called upstream.
func listTools(ctx context.Context, bin string, s fleetServer) ([]toolInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tmp, err := os.MkdirTemp("", "mcpfleet-list-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, bin, "--transport", "stdio", "--list-tools", "--toolsets", "all")
	cmd.Env = append(os.Environ(), "MCPFLEET_CONFIG=")
	for _, c := range s.creds {
		if !c.optional {
			cmd.Env = append(cmd.Env, c.env+"="+cmp.Or(c.placeholder, "placeholder-for-listing"))
		}
	}
	if s.awsChain {
		cmd.Env = append(cmd.Env, "MCPFLEET_AWS_REGIONS="+defaultAWSRegion)
	}
	if s.dataDirEnv != "" {
		cmd.Env = append(cmd.Env, s.dataDirEnv+"="+tmp)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, firstLine(stderr.String()))
	}
	var tools []toolInfo
	if err := json.Unmarshal(out, &tools); err != nil {
		return nil, err
	}
	return tools, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
