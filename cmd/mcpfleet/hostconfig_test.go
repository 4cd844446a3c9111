package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

var update = flag.Bool("update", os.Getenv("UPDATE_GOLDEN") == "true", "rewrite golden files")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=true to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// fixedOptions are host options with fixed paths, for golden output.
func fixedOptions(client string, url string) hostOptions {
	i := 0
	for j, c := range hostClients {
		if c.name == client {
			i = j
		}
	}
	servers, _ := selectServers("")
	return hostOptions{
		client:     hostClients[i],
		servers:    servers,
		binDir:     "/opt/mcpfleet/bin",
		dataDir:    func(s string) (string, error) { return "/home/ada/.local/share/mcpfleet/" + s, nil },
		secretDir:  "/home/ada/.config/mcpfleet",
		url:        url,
		awsRegions: "eu-west-1",
		apiKeyEnv:  map[bool]string{true: "MCPFLEET_API_KEY"}[url != ""],
	}
}

func render(t *testing.T, o hostOptions) []byte {
	t.Helper()
	if o.client.name == "codex" {
		return []byte(renderCodex(o))
	}
	entries, inputs, _, err := hostEntries(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := renderJSON(o.client.name, entries, inputs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHostConfigGolden pins every host's format, stdio and remote.
func TestHostConfigGolden(t *testing.T) {
	for _, c := range hostClients {
		modes := map[string]string{"stdio": ""}
		if c.remote {
			modes["remote"] = "https://{name}.mcp.example.com/mcp"
		}
		for mode, url := range modes {
			t.Run(c.name+"-"+mode, func(t *testing.T) {
				got := render(t, fixedOptions(c.name, url))
				ext := ".json"
				if c.name == "codex" {
					ext = ".toml"
					var v map[string]any
					if err := toml.Unmarshal(got, &v); err != nil {
						t.Fatalf("not TOML: %v\n%s", err, got)
					}
				} else if !json.Valid(got) {
					t.Fatalf("not JSON:\n%s", got)
				}
				golden(t, "hostconfig/"+c.name+"-"+mode+ext, got)
			})
		}
	}
}

// TestHostConfigNeverWritesSecrets: credentials are references the host
// (or the server) resolves, never the value from the environment.
func TestHostConfigNeverWritesSecrets(t *testing.T) {
	t.Setenv("GITHUB_TOKEN", "ghp_supersecretvalue")
	t.Setenv("MCPFLEET_GITHUB_TOKEN", "ghp_supersecretvalue")
	t.Setenv("MCPFLEET_API_KEY", "mcpk_supersecretvalue")
	for _, c := range hostClients {
		for _, url := range []string{"", "https://{name}.example.com/mcp"} {
			if url != "" && !c.remote {
				continue
			}
			got := string(render(t, fixedOptions(c.name, url)))
			if strings.Contains(got, "supersecret") {
				t.Errorf("%s %q wrote a secret:\n%s", c.name, url, got)
			}
		}
	}
	vs := string(render(t, fixedOptions("vscode", "")))
	if !strings.Contains(vs, `"${input:github-token}"`) || !strings.Contains(vs, `"password": true`) {
		t.Errorf("vscode: no password input for the GitHub token:\n%s", vs)
	}
	cc := string(render(t, fixedOptions("claude-code", "https://{name}.example.com/mcp")))
	if !strings.Contains(cc, `"Authorization": "Bearer ${MCPFLEET_API_KEY}"`) {
		t.Errorf("claude-code remote: no ${VAR} bearer header:\n%s", cc)
	}
}

// fakeBinaries makes a bin dir whose mcp-<server> programs answer
// --list-tools with the given tool names.
func fakeBinaries(t *testing.T, tools map[string][]string) string {
	t.Helper()
	dir := t.TempDir()
	for server, names := range tools {
		var list []map[string]string
		for _, n := range names {
			list = append(list, map[string]string{"name": n})
		}
		b, _ := json.Marshal(list)
		script := "#!/bin/sh\ncat <<'JSON'\n" + string(b) + "\nJSON\n"
		if err := os.WriteFile(filepath.Join(dir, "mcp-"+server), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func hostcfg(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"hostconfig"}, args...), &env{stdout: &out, stderr: &errOut, getenv: withoutAWSRegion})
	return code, out.String(), errOut.String()
}

func TestHostConfigWarnsOnLongToolNames(t *testing.T) {
	long := strings.Repeat("x", 58) // mcp__crm__ + 58 = 68
	bin := fakeBinaries(t, map[string][]string{"crm": {"get_record", long}})
	code, out, errOut := hostcfg(t, "--client", "claude-code", "--bin-dir", bin, "--data-dir", t.TempDir())
	if code != 0 || !json.Valid([]byte(out)) {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "warning: claude-code shows crm's tool "+long+" as mcp__crm__"+long+" (68 characters") {
		t.Errorf("no warning for a 68-character name: %s", errOut)
	}
	if strings.Contains(errOut, "get_record as") {
		t.Errorf("warned about a short name: %s", errOut)
	}
	// Only installed servers are configured when none are named.
	if !strings.Contains(out, `"crm"`) || strings.Contains(out, `"github"`) {
		t.Errorf("servers: %s", out)
	}
	if !strings.Contains(out, `"command": "`+filepath.Join(bin, "mcp-crm")+`"`) {
		t.Errorf("no absolute command: %s", out)
	}
}

func TestHostConfigUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--client", "emacs"}, "--client must be one of"},
		{[]string{"--client", "claude-desktop", "--url", "https://{name}.x/mcp"}, "stdio servers only"},
		{[]string{"--client", "cursor", "--url", "https://one.example/mcp"}, "{name} or {port}"},
		{[]string{"--client", "cursor", "--servers", "crm,nope"}, "unknown servers [nope]"},
	} {
		if code, _, errOut := hostcfg(t, c.args...); code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d: %s", c.args, code, errOut)
		}
	}
}

// TestHostConfigWriteMerges merges into existing files of every host:
// other servers, inputs and top-level keys stay, ours are replaced, the
// old file is kept as a backup, and a second run changes nothing more.
func TestHostConfigWriteMerges(t *testing.T) {
	bin := fakeBinaries(t, map[string][]string{"crm": {"get_record"}, "github": {"get_me"}})
	existing := map[string]string{
		"claude-desktop": `{"globalShortcut": "Ctrl+Space", "mcpServers": {"filesystem": {"command": "npx", "args": ["-y", "fs"]}, "crm": {"command": "/old/mcp-crm"}}}`,
		"claude-code":    `{"mcpServers": {"other": {"type": "http", "url": "https://other.example/mcp"}}, "projects": {"/x": {"allowedTools": []}}}`,
		"vscode":         `{"servers": {"mine": {"type": "stdio", "command": "mine"}}, "inputs": [{"type": "promptString", "id": "mine-key", "description": "k", "password": true}, {"type": "promptString", "id": "github-token", "description": "old", "password": true}]}`,
		"cursor":         `{"mcpServers": {"browser": {"url": "http://localhost:9000/mcp"}}}`,
		"codex": `# my codex config
model = "o4"

[mcp_servers.docs]
command = "docs-mcp"

[mcp_servers.crm]
command = "/old/mcp-crm"

[mcp_servers.crm.env]
OLD = "1"

[profiles.fast]
model = "mini"
`,
	}
	for _, c := range hostClients {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "cfg")
			if err := os.WriteFile(path, []byte(existing[c.name]), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"--client", c.name, "--bin-dir", bin, "--data-dir", filepath.Join(dir, "data"), "--write", "--file", path}
			if code, out, errOut := hostcfg(t, args...); code != 0 {
				t.Fatalf("exit %d: %s %s", code, out, errOut)
			}
			got, _ := os.ReadFile(path)
			backups, _ := filepath.Glob(path + ".*.bak")
			if len(backups) != 1 {
				t.Fatalf("backups: %v", backups)
			}
			if b, _ := os.ReadFile(backups[0]); string(b) != existing[c.name] {
				t.Errorf("backup is not the old file: %s", b)
			}
			var doc map[string]any
			if c.name == "codex" {
				if err := toml.Unmarshal(got, &doc); err != nil {
					t.Fatalf("merged file is not TOML: %v\n%s", err, got)
				}
				if !strings.HasPrefix(string(got), "# my codex config\n") {
					t.Errorf("comment lost:\n%s", got)
				}
			} else if err := json.Unmarshal(got, &doc); err != nil {
				t.Fatalf("merged file is not JSON: %v\n%s", err, got)
			}
			golden(t, "hostconfig/merged-"+c.name+map[bool]string{true: ".toml", false: ".json"}[c.name == "codex"],
				bytes.ReplaceAll(bytes.ReplaceAll(got, []byte(bin), []byte("/BIN")), []byte(dir), []byte("/DIR")))

			// Idempotent: a second write gives the same content.
			if code, _, errOut := hostcfg(t, args...); code != 0 {
				t.Fatalf("second write: %s", errOut)
			}
			again, _ := os.ReadFile(path)
			if !bytes.Equal(got, again) {
				t.Errorf("second write changed the file:\n%s\n---\n%s", got, again)
			}
		})
	}
}

// TestHostConfigWriteRefusesBrokenFile leaves a file it cannot parse as it
// is.
func TestHostConfigWriteRefusesBrokenFile(t *testing.T) {
	bin := fakeBinaries(t, map[string][]string{"crm": {"get_record"}})
	for client, content := range map[string]string{"cursor": "{ // comment\n}", "codex": "[mcp_servers\nbroken"} {
		path := filepath.Join(t.TempDir(), "cfg")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := hostcfg(t, "--client", client, "--bin-dir", bin, "--write", "--file", path)
		if code != 1 || !strings.Contains(errOut, "nothing was changed") {
			t.Errorf("%s: exit %d: %s", client, code, errOut)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Errorf("%s: file changed", client)
		}
		if backups, _ := filepath.Glob(path + ".*.bak"); len(backups) != 0 {
			t.Errorf("%s: backup written for a refused merge", client)
		}
	}
}

// withoutAWSRegion is os.Getenv with the AWS region variables unset, so
// the goldens hold the default region whatever the machine sets.
func withoutAWSRegion(k string) string {
	switch k {
	case "MCPFLEET_AWS_REGIONS", "AWS_REGION", "AWS_DEFAULT_REGION":
		return ""
	}
	return os.Getenv(k)
}
