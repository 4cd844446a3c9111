package github_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/servers/github/internal/fakegithub"
)

var (
	appKeyOnce sync.Once
	appKey     *rsa.PrivateKey
)

// testAppKey is one RSA key for every App test (generating one is slow
// under the race detector).
func testAppKey(t *testing.T) *rsa.PrivateKey {
	appKeyOnce.Do(func() {
		var err error
		if appKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return appKey
}

func writeKey(t *testing.T, key *rsa.PrivateKey) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func appServer(t *testing.T, signingKey *rsa.PrivateKey, lifetime time.Duration) *server {
	key := testAppKey(t)
	return startServer(t, setup{
		fake: fakegithub.Options{App: &fakegithub.App{ID: 42, InstallationID: 4242, PublicKey: &key.PublicKey, TokenLifetime: lifetime}},
		connections: fmt.Sprintf("    app:\n      base_url: {{URL}}\n      app:\n        app_id: 42\n        installation_id: 4242\n        private_key: file:%s\n",
			writeKey(t, signingKey)),
	})
}

// apiAuth returns the Authorization header of every API request (not the
// token mints).
func apiAuth(s *server) []string {
	var out []string
	for _, r := range s.fake.Requests() {
		if !strings.HasPrefix(r.Path, "/app/") {
			out = append(out, r.Auth)
		}
	}
	return out
}

// TestGitHubAppMintsAndReusesAnInstallationToken: the first call mints an
// installation token with a JWT the fake verifies against the App's public
// key; later calls reuse it while it is valid.
func TestGitHubAppMintsAndReusesAnInstallationToken(t *testing.T) {
	s := appServer(t, testAppKey(t), time.Hour)
	me := s.ok("get_me", obj{})
	if str(me, "auth") != "app" || field(me, "app_id") != float64(42) || field(me, "installation_id") != float64(4242) ||
		str(me, "permissions.issues") != "write" {
		t.Errorf("get_me = %v", me)
	}
	s.ok("get_repository", hello)
	s.ok("list_issues", hello)
	if s.fake.Mints() != 1 {
		t.Errorf("%d tokens minted for three calls within the token's life, want 1", s.fake.Mints())
	}
	for _, a := range apiAuth(s) {
		if a != "token ghs_installation_token_1" {
			t.Errorf("API request authorized with %q", a)
		}
	}
}

// TestGitHubAppRefreshesTheTokenBeforeItExpires: tokens that expire within
// the refresh margin (ghinstallation refreshes a minute before expiry) are
// replaced before the next call, which then uses the new one.
func TestGitHubAppRefreshesTheTokenBeforeItExpires(t *testing.T) {
	s := appServer(t, testAppKey(t), 30*time.Second)
	s.ok("get_repository", hello)
	s.ok("get_repository", hello)
	if s.fake.Mints() != 2 {
		t.Fatalf("%d tokens minted, want 2 (one refresh)", s.fake.Mints())
	}
	if got := apiAuth(s); len(got) != 2 || got[0] != "token ghs_installation_token_1" || got[1] != "token ghs_installation_token_2" {
		t.Errorf("API requests authorized with %v, want the first then the refreshed token", got)
	}
}

// TestGitHubAppWithTheWrongKeyFailsClearly: a JWT the fake cannot verify
// gets a tool error that names the installation, and no API request.
func TestGitHubAppWithTheWrongKeyFailsClearly(t *testing.T) {
	wrong, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	s := appServer(t, wrong, time.Hour)
	msg := s.fails("get_repository", hello)
	if !strings.Contains(msg, "could not refresh installation id 4242's token") || !strings.Contains(msg, "401") {
		t.Errorf("wrong key: %s", msg)
	}
	if len(apiAuth(s)) != 0 {
		t.Error("an API request was sent without a token")
	}
}
