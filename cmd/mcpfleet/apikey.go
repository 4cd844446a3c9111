package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
)

// apikeyNew prints a new API key and the config entry that accepts it. The
// key itself is shown once and never stored: servers keep only its SHA-256.
func apikeyNew(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "apikey new", "--id NAME")
	id := fs.String("id", "", "the client's name; it becomes the principal's subject")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if *id == "" || len(pos) > 0 {
		fmt.Fprintln(e.stderr, "mcpfleet apikey new: --id NAME is required")
		return 2
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		fmt.Fprintf(e.stderr, "mcpfleet apikey new: %v\n", err)
		return 1
	}
	key := authn.APIKeyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	hash := authn.HashAPIKey(key)
	fmt.Fprintf(e.stdout, "key (give it to the client; it is not stored anywhere): %s\n\n", key)
	fmt.Fprintf(e.stdout, "the client sends it with every request as the header:\n  Authorization: Bearer %s\n\n", key)
	fmt.Fprintf(e.stdout, "config:\nauth:\n  api_keys:\n    - id: %s\n      sha256: %s\n\n", *id, hash)
	fmt.Fprintf(e.stdout, "or, without a config file, in the server's environment:\nMCPFLEET_AUTH_API_KEYS_FROM='[{id: %s, sha256: %s}]'\n", *id, hash)
	return 0
}
