package approval

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/policy/internal/testenv"
)

var key = []byte(strings.Repeat("k", 32))

func binding() Binding {
	return Binding{Principal: "jwt:alice", Server: "aws", Tool: "terminate_instances", ArgsDigest: "sha256:aa"}
}

func TestRedeem(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	s, err := NewSigner(key, 5*time.Minute, NewMemoryStore())
	if err != nil {
		t.Fatal(err)
	}
	s.SetClock(func() time.Time { return now })
	tok, exp, err := s.Issue(binding())
	if err != nil || !exp.Equal(now.Add(5*time.Minute)) {
		t.Fatal(err, exp)
	}
	other := func(f func(*Binding)) Binding { b := binding(); f(&b); return b }
	refusals := []struct {
		name  string
		token string
		b     Binding
		want  error
	}{
		{"other caller", tok, other(func(b *Binding) { b.Principal = "jwt:mallory" }), ErrOtherCaller},
		{"changed arguments", tok, other(func(b *Binding) { b.ArgsDigest = "sha256:bb" }), ErrArgsChanged},
		{"other tool", tok, other(func(b *Binding) { b.Tool = "start_instances" }), ErrOtherTool},
		{"other server", tok, other(func(b *Binding) { b.Server = "gcp" }), ErrOtherTool},
		{"tampered payload", tamper(tok), binding(), ErrSignature},
		{"garbage", "mct1.!!!.???", binding(), ErrMalformed},
		{"no prefix", "abc", binding(), ErrMalformed},
	}
	for _, r := range refusals {
		if err := s.Redeem(ctx, r.token, r.b); !errors.Is(err, r.want) {
			t.Errorf("%s: got %v, want %v", r.name, err, r.want)
		}
	}
	// Refusals did not consume the token: the right call still works, once.
	if err := s.Redeem(ctx, tok, binding()); err != nil {
		t.Fatalf("redeem: %v", err)
	}
	if err := s.Redeem(ctx, tok, binding()); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay: %v", err)
	}
	// Another key did not sign it.
	s2, _ := NewSigner([]byte(strings.Repeat("x", 32)), time.Minute, NewMemoryStore())
	if err := s2.Redeem(ctx, tok, binding()); !errors.Is(err, ErrSignature) {
		t.Errorf("other key: %v", err)
	}
	// Expiry.
	tok2, _, _ := s.Issue(binding())
	now = now.Add(5*time.Minute + time.Second)
	if err := s.Redeem(ctx, tok2, binding()); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v", err)
	}
}

func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	b := []byte(parts[1])
	b[3] ^= 1
	parts[1] = string(b)
	return strings.Join(parts, ".")
}

func TestNewSignerValidates(t *testing.T) {
	if _, err := NewSigner([]byte("short"), time.Minute, NewMemoryStore()); err == nil {
		t.Error("short key accepted")
	}
	if _, err := NewSigner(key, 0, NewMemoryStore()); err == nil {
		t.Error("zero TTL accepted")
	}
}

// TestRedisStoreAcrossReplicas: two signers (two replicas) with one key
// and one Redis: a token used on one is refused on the other.
func TestRedisStoreAcrossReplicas(t *testing.T) {
	client, prefix := testenv.Redis(t)
	a, _ := NewSigner(key, time.Minute, NewRedisStore(client, prefix))
	b, _ := NewSigner(key, time.Minute, NewRedisStore(client, prefix))
	tok, _, err := a.Issue(binding())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Redeem(ctx, tok, binding()); err != nil {
		t.Fatalf("redeem on the other replica: %v", err)
	}
	if err := a.Redeem(ctx, tok, binding()); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay on the first replica: %v", err)
	}
}
