// Package redact masks sensitive values (e-mail addresses, phone numbers,
// cloud and SaaS credentials, JWTs and patterns a policy adds) in text and
// in JSON values.
//
// Every detector is a Go regular expression, so matching is linear in the
// size of the input (RE2), whatever the input or the pattern.
package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Built-in detector names.
const (
	Email              = "email"
	Phone              = "phone"
	AWSAccessKeyID     = "aws_access_key_id"
	AWSSecretAccessKey = "aws_secret_access_key"
	GitHubToken        = "github_token"
	SlackToken         = "slack_token"
	JWT                = "jwt"
)

// Builtins lists the built-in detectors in the order they run.
func Builtins() []string {
	return []string{JWT, GitHubToken, SlackToken, AWSAccessKeyID, AWSSecretAccessKey, Email, Phone}
}

// Pattern is a policy-defined detector.
type Pattern struct {
	Name  string
	Regex string
	// Replacement replaces each match; "[REDACTED:<name>]" when empty.
	Replacement string
}

type detector struct {
	name string
	re   *regexp.Regexp
	// repl is used with regexp's $-expansion, so a detector can keep the
	// context it matched on (a "secret_access_key=" prefix) and mask only
	// the value.
	repl string
	// hint is a cheap test that must pass before the regexp runs.
	hint func(string) bool
	// valid filters matches the regexp cannot express (a minimum number of
	// digits in a phone number).
	valid func(string) bool
	// key marks JSON object keys whose string values are masked whole.
	key *regexp.Regexp
}

func mask(name string) string { return "[REDACTED:" + name + "]" }

func builtin(name string) *detector {
	switch name {
	case Email:
		return &detector{name: name,
			re:   regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`),
			hint: func(s string) bool { return strings.IndexByte(s, '@') >= 0 }}
	case Phone:
		// International numbers with a leading +, and the common North
		// American forms "(415) 555-0100" and "415-555-0100". Bare digit runs
		// are left alone: they are far more often ids and amounts.
		return &detector{name: name,
			re: regexp.MustCompile(`\+[1-9][0-9]{0,2}[ .\-]?(?:\([0-9]{1,4}\)[ .\-]?)?[0-9]{1,4}(?:[ .\-]?[0-9]{2,5}){1,4}` +
				`|\([0-9]{3}\)[ .\-]?[0-9]{3}[ .\-][0-9]{4}\b` +
				`|\b[0-9]{3}[.\-][0-9]{3}[.\-][0-9]{4}\b`),
			hint:  hasDigitRun,
			valid: func(m string) bool { return countDigits(m) >= 8 }}
	case AWSAccessKeyID:
		return &detector{name: name,
			re:   regexp.MustCompile(`\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[0-9A-Z]{16}\b`),
			hint: func(s string) bool { return strings.Contains(s, "A") }}
	case AWSSecretAccessKey:
		// A secret access key is 40 base64 characters with nothing to tell
		// it apart from other base64, so it is recognised by its label in
		// text and by its key name in JSON.
		return &detector{name: name,
			re: regexp.MustCompile(`(?i)((?:aws_?)?secret_?access_?key["']?\s*[:=]\s*["']?)[A-Za-z0-9/+]{40}\b`),
			hint: func(s string) bool {
				return len(s) >= 40 && strings.Contains(strings.ToLower(s), "secret")
			},
			key: regexp.MustCompile(`(?i)^(?:aws_?)?secret_?access_?key$`)}
	case GitHubToken:
		return &detector{name: name,
			re:   regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b`),
			hint: func(s string) bool { return strings.Contains(s, "gh") || strings.Contains(s, "github_pat_") }}
	case SlackToken:
		return &detector{name: name,
			re:   regexp.MustCompile(`\bxox[abprs]-[A-Za-z0-9\-]{10,255}`),
			hint: func(s string) bool { return strings.Contains(s, "xox") }}
	case JWT:
		return &detector{name: name,
			re:   regexp.MustCompile(`\beyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*`),
			hint: func(s string) bool { return strings.Contains(s, "eyJ") }}
	}
	return nil
}

func hasDigitRun(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			if run >= 3 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// Redactor applies a fixed set of detectors. It is safe for concurrent use.
type Redactor struct {
	detectors []*detector
}

// New builds a Redactor from built-in detectors minus disabled, plus
// patterns. Every problem is reported.
func New(disabled []string, patterns []Pattern) (*Redactor, error) {
	var errs []string
	for _, d := range disabled {
		if !slices.Contains(Builtins(), d) {
			errs = append(errs, fmt.Sprintf("unknown detector %q (built-ins: %s)", d, strings.Join(Builtins(), ", ")))
		}
	}
	r := &Redactor{}
	for _, name := range Builtins() {
		if !slices.Contains(disabled, name) {
			d := builtin(name)
			d.repl = mask(name)
			if name == AWSSecretAccessKey {
				d.repl = "${1}" + mask(name)
			}
			r.detectors = append(r.detectors, d)
		}
	}
	seen := map[string]bool{}
	for i, p := range patterns {
		if p.Name == "" {
			errs = append(errs, fmt.Sprintf("patterns[%d]: name is empty", i))
			continue
		}
		if seen[p.Name] || slices.Contains(Builtins(), p.Name) {
			errs = append(errs, fmt.Sprintf("patterns[%d]: name %q is already used", i, p.Name))
		}
		seen[p.Name] = true
		re, err := regexp.Compile(p.Regex)
		if err != nil {
			errs = append(errs, fmt.Sprintf("patterns[%d] (%s): %v", i, p.Name, err))
			continue
		}
		if re.MatchString("") {
			errs = append(errs, fmt.Sprintf("patterns[%d] (%s): the regex matches the empty string", i, p.Name))
			continue
		}
		repl := p.Replacement
		if repl == "" {
			repl = mask(p.Name)
		}
		r.detectors = append(r.detectors, &detector{name: p.Name, re: re, repl: repl})
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("redaction: %s", strings.Join(errs, "; "))
	}
	return r, nil
}

// String masks every sensitive value in s. It reports whether anything
// changed.
func (r *Redactor) String(s string) (string, bool) {
	changed := false
	for _, d := range r.detectors {
		if d.hint != nil && !d.hint(s) {
			continue
		}
		var out string
		if d.valid == nil {
			if !d.re.MatchString(s) {
				continue
			}
			if strings.Contains(d.repl, "$") {
				out = d.re.ReplaceAllString(s, d.repl)
			} else {
				out = d.re.ReplaceAllLiteralString(s, d.repl)
			}
		} else {
			out = d.re.ReplaceAllStringFunc(s, func(m string) string {
				if d.valid(m) {
					return d.repl
				}
				return m
			})
		}
		if out != s {
			s, changed = out, true
		}
	}
	return s, changed
}

// Text is String without the flag, for use as a transform.
func (r *Redactor) Text(s string) string {
	out, _ := r.String(s)
	return out
}

// Value masks every string inside a decoded JSON value (maps and slices
// are modified in place) and returns the result.
func (r *Redactor) Value(v any) (any, bool) {
	switch x := v.(type) {
	case string:
		return r.String(x)
	case map[string]any:
		changed := false
		for k, e := range x {
			if s, ok := e.(string); ok && s != "" {
				if name, hit := r.keyMatch(k); hit {
					x[k], changed = mask(name), true
					continue
				}
			}
			if out, c := r.Value(e); c {
				x[k], changed = out, true
			}
		}
		return x, changed
	case []any:
		changed := false
		for i, e := range x {
			if out, c := r.Value(e); c {
				x[i], changed = out, true
			}
		}
		return x, changed
	}
	return v, false
}

func (r *Redactor) keyMatch(k string) (string, bool) {
	for _, d := range r.detectors {
		if d.key != nil && d.key.MatchString(k) {
			return d.name, true
		}
	}
	return "", false
}

// JSON masks every string in a JSON document. It returns the input
// unchanged (and false) when nothing was masked.
func (r *Redactor) JSON(raw []byte) ([]byte, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw, false, err
	}
	v, changed := r.Value(v)
	if !changed {
		return raw, false, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return raw, false, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), true, nil
}
