package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

const redacted = "[redacted]"

// Secret is a credential read from config. It is written as a reference,
// "env:NAME" or "file:/path/to/file", or (discouraged) as the literal value.
// Every way of printing a Secret (fmt, slog, YAML, JSON) shows the reference
// or "[redacted]", never the value; only [Secret.Reveal] returns it.
type Secret struct {
	ref   string // "env:NAME", "file:PATH" or "" for a literal
	value string
	set   bool
}

// NewSecret returns a Secret holding value, for tests and programmatic config.
func NewSecret(value string) Secret { return Secret{value: value, set: value != ""} }

// Reveal returns the secret value. Call it only where the value is used.
func (s Secret) Reveal() string { return s.value }

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s.set }

// String implements fmt.Stringer without revealing the value.
func (s Secret) String() string { return s.display() }

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return "config.Secret(" + s.display() + ")" }

// LogValue implements slog.LogValuer without revealing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.display()) }

func (s Secret) display() string {
	switch {
	case s.ref != "":
		return s.ref
	case s.set:
		return redacted
	}
	return ""
}

// MarshalYAML shows the reference, never the value.
func (s Secret) MarshalYAML() (any, error) { return s.display(), nil }

// MarshalJSON shows the reference, never the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.display()) }

// UnmarshalYAML records the reference; [resolveSecrets] fills in the value.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	var raw string
	if err := n.Decode(&raw); err != nil {
		return fmt.Errorf("line %d: a secret is a string such as env:NAME or file:/path", n.Line)
	}
	return s.parse(raw)
}

func (s *Secret) parse(raw string) error {
	*s = Secret{}
	switch {
	case strings.HasPrefix(raw, "env:"):
		if strings.TrimPrefix(raw, "env:") == "" {
			return fmt.Errorf("secret reference %q names no variable", raw)
		}
		s.ref = raw
	case strings.HasPrefix(raw, "file:"):
		if strings.TrimPrefix(raw, "file:") == "" {
			return fmt.Errorf("secret reference %q names no file", raw)
		}
		s.ref = raw
	default:
		s.value, s.set = raw, raw != ""
	}
	return nil
}

// resolve reads the value a reference points to.
func (s *Secret) resolve(lookup func(string) (string, bool)) error {
	switch {
	case strings.HasPrefix(s.ref, "env:"):
		name := strings.TrimPrefix(s.ref, "env:")
		v, ok := lookup(name)
		if !ok || v == "" {
			return fmt.Errorf("environment variable %s is not set", name)
		}
		s.value, s.set = v, true
	case strings.HasPrefix(s.ref, "file:"):
		path := strings.TrimPrefix(s.ref, "file:")
		b, err := os.ReadFile(path)
		if err != nil {
			// The error names the path (not secret) and the OS reason only.
			return fmt.Errorf("reading secret file %s: %w", path, err)
		}
		s.value = strings.TrimRight(string(b), "\r\n")
		s.set = s.value != ""
		if !s.set {
			return fmt.Errorf("secret file %s is empty", path)
		}
	}
	return nil
}
