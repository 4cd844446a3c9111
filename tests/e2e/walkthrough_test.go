package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn/authntest"
)

// The walk-through tests follow the README's "Authentication walk-through"
// step by step: its code blocks are read from the README (so the README
// cannot drift from what works), the real binaries run, and a go-sdk client
// connects as a host would with the config the README shows.

// repoRoot is the repository root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// readmeBlock returns the code block that follows the marker
// "<!-- walkthrough: NAME -->" in the README, without its indentation.
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- walkthrough: " + regexp.QuoteMeta(name) + " -->\\s*\n([ \t]*)```[a-z]*\n(.*?)\n[ \t]*```")
	m := re.FindSubmatch(b)
	if m == nil {
		t.Fatalf("README has no code block marked %q", name)
	}
	indent := string(m[1])
	var lines []string
	for l := range strings.SplitSeq(string(m[2]), "\n") {
		lines = append(lines, strings.TrimPrefix(l, indent))
	}
	return strings.Join(lines, "\n") + "\n"
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds mcpfleet and mcp-crm once per test run. Each is built in
// its own module directory, so this works with or without the workspace.
func binaries(t *testing.T) (mcpfleet, mcpCRM string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "mcpfleet-walkthrough-")
		if buildErr != nil {
			return
		}
		for _, b := range []struct{ dir, out string }{
			{"cmd/mcpfleet", "mcpfleet"},
			{"servers/crm/cmd/mcp-crm", "mcp-crm"},
		} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, b.out), ".")
			cmd.Dir = filepath.Join(repoRoot(t), b.dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b.dir, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "mcpfleet"), filepath.Join(binDir, "mcp-crm")
}

func removeBinaries() {
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
}

// freeAddr returns a loopback address with a port that was free a moment
// ago (the server binary binds it itself).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// baseEnv is a clean environment for a server process: no variable of the
// test's own environment can change what it does.
func baseEnv(t *testing.T) []string {
	home := t.TempDir()
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"MCPFLEET_CRM_DATA_DIR=" + t.TempDir()}
}

// startServer runs the mcp-crm binary until the test ends and waits until
// base/readyz answers 200.
func startServer(t *testing.T, bin, base string, env []string, args ...string) {
	t.Helper()
	var logs bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		select {
		case err := <-exited:
			t.Fatalf("server exited: %v\n%s", err, logs.String())
		default:
		}
		if resp, err := client.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready at %s:\n%s", base, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hostServer is one entry of a host config's mcpServers.
type hostServer struct {
	Type    string            `json:"type"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

func hostConfig(t *testing.T, block string) hostServer {
	t.Helper()
	var cfg struct {
		MCPServers map[string]hostServer `json:"mcpServers"`
	}
	if err := json.Unmarshal([]byte(block), &cfg); err != nil {
		t.Fatalf("host config is not JSON: %v\n%s", err, block)
	}
	s, ok := cfg.MCPServers["crm"]
	if !ok || s.Type != "http" || s.URL == "" {
		t.Fatalf("host config has no http server crm: %s", block)
	}
	return s
}

// headerTransport sends the host config's headers with every request, as a
// host does.
type headerTransport struct {
	headers map[string]string
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.headers {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// connect connects a go-sdk client to url with headers, as a host would.
func connect(ctx context.Context, url string, headers map[string]string) (*mcp.ClientSession, error) {
	client := mcp.NewClient(&mcp.Implementation{Name: "walkthrough", Version: "1"}, nil)
	return client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   url,
		HTTPClient: &http.Client{Transport: headerTransport{headers}, Timeout: 10 * time.Second},
	}, nil)
}

// listTools connects and lists the tools, failing the test on any error.
func listTools(t *testing.T, url string, headers map[string]string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cs, err := connect(ctx, url, headers)
	if err != nil {
		t.Fatalf("connecting with %v: %v", slices.Collect(maps.Keys(headers)), err)
	}
	defer cs.Close()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names
}

// postStatus sends an initialize request with the given Authorization
// header and returns the status and WWW-Authenticate header.
func postStatus(t *testing.T, url, authorization string) (int, string) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

// TestWalkthroughAPIKey: make a key, give the server its hash (config file,
// then environment alone), point a host at it with the key in the header;
// a wrong or missing key gets 401.
func TestWalkthroughAPIKey(t *testing.T) {
	mcpfleet, mcpCRM := binaries(t)

	// Step 1: make a key.
	out, err := exec.Command(mcpfleet, "apikey", "new", "--id", "my-laptop").Output()
	if err != nil {
		t.Fatalf("apikey new: %v", err)
	}
	key := regexp.MustCompile(`(?m)^key \(.*\): (mcpk_\S+)$`).FindSubmatch(out)
	hash := regexp.MustCompile(`(?m)^\s+sha256: ([0-9a-f]{64})$`).FindSubmatch(out)
	if key == nil || hash == nil || !bytes.Contains(out, []byte("Authorization: Bearer "+string(key[1]))) {
		t.Fatalf("apikey new printed no key, hash or header:\n%s", out)
	}
	sha := string(hash[1])

	// The host config of step 3, with the key in the environment.
	host := hostConfig(t, readmeBlock(t, "apikey-host"))
	headers := map[string]string{}
	for k, v := range host.Headers {
		headers[k] = strings.ReplaceAll(v, "${CRM_API_KEY}", string(key[1]))
	}
	if headers["Authorization"] != "Bearer "+string(key[1]) {
		t.Fatalf("the README's host config does not send the key as a Bearer token: %v", host.Headers)
	}

	t.Run("config file", func(t *testing.T) {
		// Step 2: the config entry, as the README shows it.
		cfg := strings.ReplaceAll(readmeBlock(t, "apikey-config"), "SHA256_FROM_STEP_1", sha)
		if !bytes.Contains(out, []byte("- id: my-laptop\n      sha256: "+sha)) {
			t.Errorf("apikey new printed another config entry than the README shows:\n%s", out)
		}
		path := filepath.Join(t.TempDir(), "crm.yaml")
		addr := freeAddr(t)
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(cfg, "127.0.0.1:8080", addr)), 0o600); err != nil {
			t.Fatal(err)
		}
		startServer(t, mcpCRM, "http://"+addr, baseEnv(t), "--config", path)

		// Step 3: the host connects with the header and gets the tools.
		url := strings.ReplaceAll(host.URL, "127.0.0.1:8080", addr)
		if tools := listTools(t, url, headers); !slices.Contains(tools, "search_records") {
			t.Errorf("tools = %v", tools)
		}
		for _, auth := range []string{"", "Bearer mcpk_wrong", "Bearer " + string(key[1]) + "x", string(key[1])} {
			if code, challenge := postStatus(t, url, auth); code != http.StatusUnauthorized || !strings.HasPrefix(challenge, "Bearer ") {
				t.Errorf("Authorization %q: status %d, WWW-Authenticate %q", auth, code, challenge)
			}
		}
		if _, err := connect(t.Context(), url, map[string]string{"Authorization": "Bearer mcpk_wrong"}); err == nil {
			t.Error("a client with a wrong key connected")
		}
	})

	t.Run("environment", func(t *testing.T) {
		// Step 2, the other way: variables only, as the README's shell
		// lines set them.
		env := baseEnv(t)
		addr := freeAddr(t)
		for _, m := range regexp.MustCompile(`(?m)^(MCPFLEET_\w+)=('[^']*'|\S+)`).FindAllStringSubmatch(readmeBlock(t, "apikey-env"), -1) {
			v := strings.ReplaceAll(strings.Trim(m[2], "'"), "SHA256_FROM_STEP_1", sha)
			env = append(env, m[1]+"="+v)
			if m[1] == "MCPFLEET_AUTH_API_KEYS_FROM" && !bytes.Contains(out, []byte(m[1]+"='"+v+"'")) {
				t.Errorf("apikey new printed another environment line than the README shows:\n%s", out)
			}
		}
		if !slices.ContainsFunc(env, func(s string) bool { return strings.HasPrefix(s, "MCPFLEET_AUTH_API_KEYS_FROM=") }) {
			t.Fatalf("the README's environment block sets no key list: %v", env)
		}
		env = append(env, "MCPFLEET_HTTP_ADDR="+addr)
		startServer(t, mcpCRM, "http://"+addr, env)
		url := strings.ReplaceAll(host.URL, "127.0.0.1:8080", addr)
		if tools := listTools(t, url, headers); !slices.Contains(tools, "search_records") {
			t.Errorf("tools = %v", tools)
		}
		if code, _ := postStatus(t, url, "Bearer mcpk_wrong"); code != http.StatusUnauthorized {
			t.Errorf("wrong key: status %d", code)
		}
	})
}

// TestWalkthroughOIDC: point the server at an OIDC issuer; a host with the
// URL alone finds the issuer through the 401 and the protected resource
// metadata, and a token for this server gets the tools.
func TestWalkthroughOIDC(t *testing.T) {
	_, mcpCRM := binaries(t)
	iss := authntest.NewIssuer(t)
	addr := freeAddr(t)
	public := "http://" + addr
	replace := strings.NewReplacer("0.0.0.0:8080", addr, "https://crm.mcp.example.com", public, "https://login.example.com", iss.URL())

	cfg := replace.Replace(readmeBlock(t, "oidc-config"))
	path := filepath.Join(t.TempDir(), "crm.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	startServer(t, mcpCRM, public, baseEnv(t), "--config", path)

	host := hostConfig(t, replace.Replace(readmeBlock(t, "oidc-host")))
	if len(host.Headers) != 0 {
		t.Errorf("the OIDC host config should need no headers: %v", host.Headers)
	}
	code, challenge := postStatus(t, host.URL, "")
	m := regexp.MustCompile(`resource_metadata="([^"]+)"`).FindStringSubmatch(challenge)
	if code != http.StatusUnauthorized || m == nil {
		t.Fatalf("first request: status %d, WWW-Authenticate %q", code, challenge)
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	err = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if err != nil || meta.Resource != host.URL || !slices.Contains(meta.AuthorizationServers, iss.URL()) {
		t.Fatalf("protected resource metadata = %+v (%v)", meta, err)
	}

	token := iss.Token(iss.Claims("alice", meta.Resource))
	if tools := listTools(t, host.URL, map[string]string{"Authorization": "Bearer " + token}); !slices.Contains(tools, "search_records") {
		t.Errorf("tools = %v", tools)
	}
	other := iss.Token(iss.Claims("alice", "https://another.example/mcp"))
	expired := iss.Claims("alice", meta.Resource)
	expired["exp"] = jwt.NewNumericDate(time.Now().Add(-time.Hour))
	expired["iat"] = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
	for name, tok := range map[string]string{"another audience": other, "expired": iss.Token(expired)} {
		if code, _ := postStatus(t, host.URL, "Bearer "+tok); code != http.StatusUnauthorized {
			t.Errorf("token for %s: status %d", name, code)
		}
	}
}
