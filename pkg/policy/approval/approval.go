// Package approval issues and redeems confirmation tokens for calls that
// need approval (plan/confirm).
//
// A token is self-contained and HMAC-SHA256 signed, so any replica holding
// the same key can check it (stateless HTTP). It binds the caller, the
// server, the tool, the digest of the exact arguments and an expiry; its
// nonce is consumed in a replay store on redemption, so it works once.
package approval

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Reasons a token is refused. Each is a sentence the model can act on.
var (
	ErrMalformed    = errors.New("the confirmation token is malformed")
	ErrSignature    = errors.New("the confirmation token was not issued by this service")
	ErrExpired      = errors.New("the confirmation token has expired")
	ErrOtherCaller  = errors.New("the confirmation token was issued to another caller")
	ErrOtherTool    = errors.New("the confirmation token was issued for another tool or server")
	ErrArgsChanged  = errors.New("the arguments differ from those the confirmation token was issued for")
	ErrReplayed     = errors.New("the confirmation token has already been used")
	ErrReplayBroken = errors.New("the confirmation token could not be checked against the replay store")
)

// Binding is what a token is issued for.
type Binding struct {
	Principal  string
	Server     string
	Tool       string
	ArgsDigest string
}

// ReplayStore remembers used nonces until their token expires.
type ReplayStore interface {
	// Consume records nonce as used until until. It reports false when the
	// nonce was already used.
	Consume(ctx context.Context, nonce string, until time.Time) (bool, error)
}

// Signer issues and redeems tokens.
type Signer struct {
	key   []byte
	ttl   time.Duration
	store ReplayStore
	now   func() time.Time
}

const tokenPrefix = "mct1."

// NewSigner returns a Signer. key must be at least 32 bytes.
func NewSigner(key []byte, ttl time.Duration, store ReplayStore) (*Signer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("approval key is %d bytes; at least 32 are required", len(key))
	}
	if ttl <= 0 {
		return nil, errors.New("approval token TTL must be positive")
	}
	return &Signer{key: key, ttl: ttl, store: store, now: time.Now}, nil
}

// SetClock replaces the clock, for tests.
func (s *Signer) SetClock(now func() time.Time) { s.now = now }

// TTL is how long an issued token stays valid.
func (s *Signer) TTL() time.Duration { return s.ttl }

type payload struct {
	Principal string `json:"p"`
	Server    string `json:"s"`
	Tool      string `json:"t"`
	Args      string `json:"a"`
	Expires   int64  `json:"e"`
	Nonce     string `json:"n"`
}

// Issue returns a token for b and its expiry.
func (s *Signer) Issue(b Binding) (string, time.Time, error) {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", time.Time{}, err
	}
	exp := s.now().Add(s.ttl).Truncate(time.Second)
	body, err := json.Marshal(payload{Principal: b.Principal, Server: b.Server, Tool: b.Tool, Args: b.ArgsDigest,
		Expires: exp.Unix(), Nonce: base64.RawURLEncoding.EncodeToString(nonce[:])})
	if err != nil {
		return "", time.Time{}, err
	}
	signed := tokenPrefix + base64.RawURLEncoding.EncodeToString(body)
	return signed + "." + base64.RawURLEncoding.EncodeToString(s.mac(signed)), exp, nil
}

func (s *Signer) mac(msg string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// Redeem checks token against b and consumes it. The nonce is consumed
// only when every other check passed, so a refused token (wrong
// arguments) stays usable for the right call until it expires.
func (s *Signer) Redeem(ctx context.Context, token string, b Binding) error {
	if len(token) > 2048 || !strings.HasPrefix(token, tokenPrefix) {
		return ErrMalformed
	}
	dot := strings.LastIndexByte(token, '.')
	if dot <= len(tokenPrefix) {
		return ErrMalformed
	}
	signed, sig := token[:dot], token[dot+1:]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return ErrMalformed
	}
	if !hmac.Equal(got, s.mac(signed)) {
		return ErrSignature
	}
	body, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(signed, tokenPrefix))
	if err != nil {
		return ErrMalformed
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil || p.Nonce == "" {
		return ErrMalformed
	}
	exp := time.Unix(p.Expires, 0)
	switch {
	case !s.now().Before(exp):
		return ErrExpired
	case p.Principal != b.Principal:
		return ErrOtherCaller
	case p.Server != b.Server || p.Tool != b.Tool:
		return ErrOtherTool
	case p.Args != b.ArgsDigest:
		return ErrArgsChanged
	}
	first, err := s.store.Consume(ctx, p.Nonce, exp)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrReplayBroken, err)
	}
	if !first {
		return ErrReplayed
	}
	return nil
}

// MemoryStore is an in-process ReplayStore (one replica, or stateful
// sessions pinned to one).
type MemoryStore struct {
	mu    sync.Mutex
	used  map[string]time.Time
	now   func() time.Time
	sweep time.Time
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{used: map[string]time.Time{}, now: time.Now}
}

// Consume implements ReplayStore.
func (m *MemoryStore) Consume(_ context.Context, nonce string, until time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if now.Sub(m.sweep) > time.Minute {
		for n, exp := range m.used {
			if now.After(exp) {
				delete(m.used, n)
			}
		}
		m.sweep = now
	}
	if _, ok := m.used[nonce]; ok {
		return false, nil
	}
	m.used[nonce] = until
	return true, nil
}

// RedisStore is a ReplayStore shared by replicas through Redis.
type RedisStore struct {
	client redis.UniversalClient
	prefix string
}

// NewRedisStore returns a store keeping nonces under prefix.
func NewRedisStore(client redis.UniversalClient, prefix string) *RedisStore {
	return &RedisStore{client: client, prefix: prefix}
}

// Consume implements ReplayStore with SET NX and an expiry at the token's.
func (r *RedisStore) Consume(ctx context.Context, nonce string, until time.Time) (bool, error) {
	ttl := time.Until(until)
	if ttl < time.Second {
		ttl = time.Second
	}
	ok, err := r.client.SetNX(ctx, r.prefix+nonce, 1, ttl).Result()
	if err != nil {
		return false, err
	}
	return ok, nil
}
