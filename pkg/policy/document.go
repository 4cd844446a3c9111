package policy

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"go.yaml.in/yaml/v3"
)

// FormatVersion is the policy document format this package reads.
const FormatVersion = 1

// Document is a parsed and validated policy document. Build one with
// [Parse] or [Load]; decide with an [Engine] built by [NewEngine].
type Document struct {
	Version int `yaml:"version" json:"version"`
	// Name and Revision are labels for people; the content hash is what
	// identifies a document.
	Name        string `yaml:"name,omitempty" json:"name,omitempty"`
	Revision    string `yaml:"revision,omitempty" json:"revision,omitempty"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Default is the decision when no allow rule matches: "allow" or "deny".
	Default string `yaml:"default" json:"default"`
	// DefaultClearance is the clearance of a caller none of whose roles
	// grants one; "public" when empty.
	DefaultClearance string      `yaml:"default_clearance,omitempty" json:"default_clearance,omitempty"`
	Roles            []Role      `yaml:"roles,omitempty" json:"roles,omitempty"`
	Rules            []Rule      `yaml:"rules,omitempty" json:"rules,omitempty"`
	RateLimits       []RateLimit `yaml:"rate_limits,omitempty" json:"rate_limits,omitempty"`
	Approvals        Approvals   `yaml:"approvals,omitempty" json:"approvals,omitempty"`
	Redaction        Redaction   `yaml:"redaction,omitempty" json:"redaction,omitempty"`

	hash   string
	source string
	engine *Engine // compiled by Parse
}

// Role maps principals to a name rules refer to.
type Role struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Clearance is the most sensitive classification members may see
	// unredacted.
	Clearance string `yaml:"clearance,omitempty" json:"clearance,omitempty"`
	// Members are alternatives: a principal holds the role when it
	// satisfies every field of at least one of them.
	Members []Member `yaml:"members" json:"members"`
}

// Member describes principals. Each list is satisfied when the principal
// has at least one of its values; all fields set must be satisfied.
type Member struct {
	// Any matches every principal (including the anonymous one when
	// authentication is disabled).
	Any       bool     `yaml:"any,omitempty" json:"any,omitempty"`
	Subjects  []string `yaml:"subjects,omitempty" json:"subjects,omitempty"`
	Groups    []string `yaml:"groups,omitempty" json:"groups,omitempty"`
	Scopes    []string `yaml:"scopes,omitempty" json:"scopes,omitempty"`
	ClientIDs []string `yaml:"client_ids,omitempty" json:"client_ids,omitempty"`
	// APIKeys are API key ids (config auth.api_keys[].id).
	APIKeys []string            `yaml:"api_keys,omitempty" json:"api_keys,omitempty"`
	Methods []string            `yaml:"methods,omitempty" json:"methods,omitempty"`
	Issuers []string            `yaml:"issuers,omitempty" json:"issuers,omitempty"`
	Claims  map[string][]string `yaml:"claims,omitempty" json:"claims,omitempty"`
	// Condition is a CEL expression over principal and now.
	Condition string `yaml:"condition,omitempty" json:"condition,omitempty"`
}

// Target selects calls by caller role and feature metadata. Empty fields
// match everything.
//
// A target selects tools, resources and prompts alike unless Kinds
// narrows it. Tools, Resources and Prompts select by name (resources by
// URI or URI template): a target that lists any of them selects only
// features of the kinds it lists names for, so "tools: [x]" never
// matches a resource or a prompt. Resources and prompts are read-only,
// idempotent and closed-world, with toolset "resources" or "prompts".
type Target struct {
	Roles []string `yaml:"roles,omitempty" json:"roles,omitempty"`
	// Kinds narrows the target to tool, resource and/or prompt.
	Kinds []string `yaml:"kinds,omitempty" json:"kinds,omitempty"`
	// Resources are URI globs (or URI templates) of resources.
	Resources []string `yaml:"resources,omitempty" json:"resources,omitempty"`
	// Prompts are name globs of prompts.
	Prompts         []string    `yaml:"prompts,omitempty" json:"prompts,omitempty"`
	Servers         []string    `yaml:"servers,omitempty" json:"servers,omitempty"`
	Toolsets        []string    `yaml:"toolsets,omitempty" json:"toolsets,omitempty"`
	Tools           []string    `yaml:"tools,omitempty" json:"tools,omitempty"`
	Annotations     Annotations `yaml:"annotations,omitempty" json:"annotations,omitempty"`
	Classifications []string    `yaml:"classifications,omitempty" json:"classifications,omitempty"`
}

// Annotations match tool hints; an unset field matches either value.
type Annotations struct {
	ReadOnly    *bool `yaml:"read_only,omitempty" json:"read_only,omitempty"`
	Destructive *bool `yaml:"destructive,omitempty" json:"destructive,omitempty"`
	Idempotent  *bool `yaml:"idempotent,omitempty" json:"idempotent,omitempty"`
	OpenWorld   *bool `yaml:"open_world,omitempty" json:"open_world,omitempty"`
}

// Rule effects.
const (
	EffectAllow           = "allow"
	EffectDeny            = "deny"
	EffectRequireApproval = "require_approval"
)

// Rule allows, denies or requires approval for the calls it targets.
type Rule struct {
	ID          string `yaml:"id" json:"id"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	Effect      string `yaml:"effect" json:"effect"`
	Target      `yaml:",inline" json:",inline"`
	// Condition is a CEL expression over principal, tool, args and now; the
	// rule applies only when it is true.
	Condition string `yaml:"condition,omitempty" json:"condition,omitempty"`
	// Reason is what a caller is told when this rule decides.
	Reason string `yaml:"reason,omitempty" json:"reason,omitempty"`
}

// RateLimit is a token bucket: Rate calls per period with bursts up to
// Burst. A long period with Burst equal to the count is a quota
// ("10000/d").
type RateLimit struct {
	ID          string `yaml:"id" json:"id"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	Rate        string `yaml:"rate" json:"rate"`
	// Burst defaults to the count of Rate.
	Burst int `yaml:"burst,omitempty" json:"burst,omitempty"`
	// Per names what gets its own bucket: principal, role, tool, server.
	// Empty: one bucket shared by every call the limit targets.
	Per    []string `yaml:"per,omitempty" json:"per,omitempty"`
	Target `yaml:",inline" json:",inline"`
}

// Approvals sets document-wide approval requirements.
type Approvals struct {
	// Destructive requires a confirmation for every tool marked
	// destructive; true when omitted.
	Destructive *bool `yaml:"destructive,omitempty" json:"destructive,omitempty"`
}

// Redaction configures the detectors used to mask results for callers
// without clearance.
type Redaction struct {
	DisabledDetectors []string  `yaml:"disabled_detectors,omitempty" json:"disabled_detectors,omitempty"`
	Patterns          []Pattern `yaml:"patterns,omitempty" json:"patterns,omitempty"`
}

// Pattern is a policy-defined redaction pattern (Go RE2 syntax).
type Pattern struct {
	Name        string `yaml:"name" json:"name"`
	Regex       string `yaml:"regex" json:"regex"`
	Replacement string `yaml:"replacement,omitempty" json:"replacement,omitempty"`
}

// Hash is the content hash identifying the document: "sha256:" and the
// hex SHA-256 of the file's bytes.
func (d *Document) Hash() string { return d.hash }

// ShortHash is the first 12 hex digits of the hash, for logs and people.
func (d *Document) ShortHash() string {
	h := strings.TrimPrefix(d.hash, "sha256:")
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}

// Source is the file the document was read from, or a label.
func (d *Document) Source() string { return d.source }

//go:embed policy.schema.json
var schemaJSON []byte

// Schema returns the JSON Schema (2020-12) of the document format, for
// editors and CI.
func Schema() []byte { return bytes.Clone(schemaJSON) }

// resolvedSchema is compiled on first use rather than at package init: it
// costs several milliseconds and most of a megabyte, and a server running
// the built-in default never needs it.
var resolvedSchema = sync.OnceValue(func() *jsonschema.Resolved {
	var s jsonschema.Schema
	if err := json.Unmarshal(schemaJSON, &s); err != nil {
		panic("policy: embedded schema: " + err.Error())
	}
	r, err := s.Resolve(nil)
	if err != nil {
		panic("policy: embedded schema: " + err.Error())
	}
	return r
})

//go:embed default.yaml
var defaultYAML []byte

// Default returns the embedded default document: allow every
// authenticated caller, confirm destructive tools, redact nothing.
func Default() *Document {
	// The embedded document is checked against the schema by the tests;
	// here only strict decoding and meaning are checked.
	d, err := parse(defaultYAML, "builtin-default", false)
	if err != nil {
		panic("policy: embedded default: " + err.Error())
	}
	return d
}

// DefaultYAML returns the text of the embedded default document.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// maxDocumentBytes bounds what Parse reads; policies are hand-written.
const maxDocumentBytes = 4 << 20

// Load reads and parses the policy file at path.
func Load(path string) (*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	return Parse(data, path)
}

// Parse parses and validates a policy document: YAML syntax, the JSON
// Schema, strict field names, then meaning (unique ids, known roles,
// patterns, CEL conditions, rates). Every problem found is reported.
// source names the document in messages.
func Parse(data []byte, source string) (*Document, error) { return parse(data, source, true) }

func parse(data []byte, source string, checkSchema bool) (*Document, error) {
	fail := func(err error) (*Document, error) { return nil, fmt.Errorf("policy %s: %w", source, err) }
	if len(data) > maxDocumentBytes {
		return fail(fmt.Errorf("document is larger than %d bytes", maxDocumentBytes))
	}
	var generic any
	if err := yaml.Unmarshal(data, &generic); err != nil {
		return fail(err)
	}
	if generic == nil {
		return fail(errors.New("document is empty"))
	}
	// Strict decoding first: its errors carry line numbers.
	doc := &Document{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(doc); err != nil {
		return fail(err)
	}
	if checkSchema {
		jsonable, err := toJSONValue(generic)
		if err != nil {
			return fail(err)
		}
		if err := resolvedSchema().Validate(jsonable); err != nil {
			return fail(fmt.Errorf("does not match the policy schema: %w", err))
		}
	}
	sum := sha256.Sum256(data)
	doc.hash = "sha256:" + hex.EncodeToString(sum[:])
	doc.source = source
	// Compiling is the meaning check; the result is kept so that the
	// engine built from this document does not compile it again.
	eng, err := compile(doc)
	if err != nil {
		return fail(err)
	}
	doc.engine = eng
	return doc, nil
}

// toJSONValue converts a YAML-decoded value into the shapes encoding/json
// produces, which is what the schema validator expects.
func toJSONValue(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := toJSONValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("mapping key %v is not a string", k)
			}
			c, err := toJSONValue(e)
			if err != nil {
				return nil, err
			}
			out[ks] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := toJSONValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case float64, string, bool, nil:
		return x, nil
	case time.Time:
		// YAML timestamps are strings to JSON.
		return x.Format(time.RFC3339Nano), nil
	}
	return nil, fmt.Errorf("unsupported YAML value of type %T", v)
}

// parseRate reads "N/period": the period is s, m, h, d, a number of days
// ("7d") or a Go duration ("30s", "1h30m").
func parseRate(s string) (count int, period time.Duration, err error) {
	num, per, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("rate %q is not N/period", s)
	}
	count, err = strconv.Atoi(num)
	if err != nil || count <= 0 {
		return 0, 0, fmt.Errorf("rate %q: count must be a positive integer", s)
	}
	switch per {
	case "s":
		period = time.Second
	case "m":
		period = time.Minute
	case "h":
		period = time.Hour
	case "d":
		period = 24 * time.Hour
	default:
		if days, ok := strings.CutSuffix(per, "d"); ok {
			n, err := strconv.Atoi(days)
			if err != nil || n <= 0 {
				return 0, 0, fmt.Errorf("rate %q: period %q is not a number of days", s, per)
			}
			period = time.Duration(n) * 24 * time.Hour
		} else if period, err = time.ParseDuration(per); err != nil {
			return 0, 0, fmt.Errorf("rate %q: period %q is not s, m, h, d or a duration such as 30s", s, per)
		}
	}
	if period < time.Millisecond {
		return 0, 0, fmt.Errorf("rate %q: period must be at least 1ms", s)
	}
	return count, period, nil
}
