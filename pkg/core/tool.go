package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Effect says what a tool does to the world it touches. It maps onto the MCP
// readOnlyHint and destructiveHint annotations, and the policy module decides
// from it. The zero value is deliberately invalid: every tool must say.
type Effect int

const (
	effectUnset Effect = iota
	// ReadOnly tools do not modify their environment.
	ReadOnly
	// Additive tools create or update without destroying (create issue, post message).
	Additive
	// Destructive tools may delete or overwrite (delete record, merge, terminate).
	Destructive
)

func (e Effect) String() string {
	switch e {
	case ReadOnly:
		return "read_only"
	case Additive:
		return "additive"
	case Destructive:
		return "destructive"
	}
	return "unset"
}

// Hint is an explicit yes/no. The zero value means "not declared", which the
// registry refuses, so a forgotten annotation fails startup instead of
// silently taking the protocol default.
type Hint int

const (
	// Yes declares the hint true.
	Yes Hint = iota + 1
	// No declares the hint false.
	No
)

func (h Hint) bool() bool { return h == Yes }

// Classification is the sensitivity of what a tool returns. Roles in the
// policy carry clearances; results above a caller's clearance are redacted.
type Classification string

// Classifications, from least to most sensitive.
const (
	Public       Classification = "public"
	Internal     Classification = "internal"
	Confidential Classification = "confidential"
	Restricted   Classification = "restricted"
)

// Level orders classifications: Public is 1, Restricted is 4, anything else 0.
func (c Classification) Level() int {
	switch c {
	case Public:
		return 1
	case Internal:
		return 2
	case Confidential:
		return 3
	case Restricted:
		return 4
	}
	return 0
}

// NoPermissions declares that a tool needs no upstream permission. It exists
// so that "needs nothing" is written down rather than left out.
var NoPermissions = []string{}

// ToolSpec is the metadata every tool declares. The policy module decides from
// it; tools never enforce policy themselves.
type ToolSpec struct {
	// Name is snake_case and short enough that a host's "mcp__<server>__"
	// prefix still fits in 64 characters.
	Name string
	// Title is the human-readable display name.
	Title string
	// Description tells the model what the tool does and when to use it.
	Description string
	// Toolset groups tools so that config can switch them on and off together.
	// It must name a toolset the server declares with [AsToolset].
	Toolset string
	// Effect is read-only, additive or destructive.
	Effect Effect
	// Idempotent says whether repeating a call with the same arguments has no
	// further effect.
	Idempotent Hint
	// OpenWorld says whether the tool reaches outside systems the server does
	// not own (an upstream API, the internet).
	OpenWorld Hint
	// Classification is the sensitivity of the tool's output.
	Classification Classification
	// Permissions are the upstream permissions (OAuth scopes, IAM actions) the
	// tool needs; [NoPermissions] when it needs none.
	Permissions []string
	// Timeout overrides the server-wide per-tool timeout when non-zero. It
	// bounds every run of the handler, in a task too.
	Timeout time.Duration
	// Task says whether the tool may continue as a task after its request
	// is answered ([Call.Detach]); the zero value never does.
	Task TaskSupport
}

// ReadOnlyHint reports whether the tool is marked read-only.
func (s ToolSpec) ReadOnlyHint() bool { return s.Effect == ReadOnly }

// DestructiveHint reports whether the tool is marked destructive.
func (s ToolSpec) DestructiveHint() bool { return s.Effect == Destructive }

var (
	toolNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	toolsetRE  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// hostToolNameLimit is the longest tool name hosts accept once they have
// prefixed it (Claude Code: "mcp__<server>__<tool>").
const hostToolNameLimit = 64

// MaxToolNameLen is the longest tool name a server called serverName may use.
func MaxToolNameLen(serverName string) int {
	return hostToolNameLimit - len("mcp__") - len(serverName) - len("__")
}

// validate reports every missing or malformed piece of metadata at once.
// ReservedToolNames are names no tool may take. Earlier builds decided
// and audited resource reads as calls of the pseudo-tool read_resource;
// records and policies written then must never be mistaken for a real
// tool's.
var ReservedToolNames = []string{"read_resource", "get_prompt", "complete", "subscribe_resource"}

func (s ToolSpec) validate(serverName string) error {
	var errs []error
	switch {
	case s.Name == "":
		errs = append(errs, errors.New("name is empty"))
	case !toolNameRE.MatchString(s.Name):
		errs = append(errs, fmt.Errorf("name %q is not snake_case", s.Name))
	case slices.Contains(ReservedToolNames, s.Name):
		errs = append(errs, fmt.Errorf("name %q is reserved (audit records of non-tool methods used it)", s.Name))
	case len(s.Name) > MaxToolNameLen(serverName):
		errs = append(errs, fmt.Errorf("name %q is %d characters; with the host prefix for server %q the limit is %d",
			s.Name, len(s.Name), serverName, MaxToolNameLen(serverName)))
	}
	if s.Title == "" {
		errs = append(errs, errors.New("title is empty"))
	}
	if s.Description == "" {
		errs = append(errs, errors.New("description is empty"))
	}
	if !toolsetRE.MatchString(s.Toolset) {
		errs = append(errs, fmt.Errorf("toolset %q is empty or not snake_case", s.Toolset))
	}
	if s.Effect == effectUnset || s.Effect > Destructive {
		errs = append(errs, errors.New("effect (read-only/additive/destructive) is not declared"))
	}
	if s.Idempotent != Yes && s.Idempotent != No {
		errs = append(errs, errors.New("idempotent hint is not declared"))
	}
	if s.OpenWorld != Yes && s.OpenWorld != No {
		errs = append(errs, errors.New("open-world hint is not declared"))
	}
	if s.Classification.Level() == 0 {
		errs = append(errs, fmt.Errorf("data classification %q is not one of public, internal, confidential, restricted", s.Classification))
	}
	if s.Permissions == nil {
		errs = append(errs, errors.New("upstream permissions are not declared (use core.NoPermissions)"))
	}
	if s.Timeout < 0 {
		errs = append(errs, errors.New("timeout is negative"))
	}
	if s.Task < TaskNever || s.Task > TaskRequired {
		errs = append(errs, errors.New("task support is not one of never, optional, required"))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("tool %q: %w", s.Name, errors.Join(errs...))
}

// Call is what a tool handler receives besides its typed input: the raw MCP
// request (for progress notifications, logging, elicitation) and the caller.
type Call struct {
	// Request is the underlying MCP request. Its Session may be used to send
	// progress notifications or log.
	Request *mcp.CallToolRequest
	// state is the verified request state of an input-required retry.
	state string
	// task is set for calls of task-capable tools from clients with the
	// tasks extension.
	task *taskRun
}

// Session returns the session the call arrived on.
func (c *Call) Session() *mcp.ServerSession {
	if c == nil || c.Request == nil {
		return nil
	}
	return c.Request.Session
}

// ToolHandler is a typed tool function. In is the arguments struct; Out is the
// structured result (a struct), or [Content] for tools that return only
// content blocks. Returning an error produces a tool error (isError: true) that
// the model can read and act on; returning a *jsonrpc.Error produces a
// protocol error.
type ToolHandler[In, Out any] func(ctx context.Context, call *Call, in In) (Out, error)

// Content is an Out type for tools whose result is a list of content blocks
// (images, audio, embedded resources) rather than a structured object.
type Content []mcp.Content

// Texter lets an Out type provide its own compact text rendering. Without
// it the text content is the compact JSON of the structured result.
type Texter interface {
	Text() string
}

// ToolDef is a tool ready to register: its metadata, its MCP description
// with inferred schemas and a handler that decodes, validates and encodes.
// Build one with [NewTool].
type ToolDef struct {
	spec ToolSpec
	tool *mcp.Tool
	// err records a schema inference failure so that it is reported with the
	// other startup errors instead of panicking inside an fx constructor.
	err    error
	decode func(raw json.RawMessage) (any, error)
	invoke func(ctx context.Context, call *Call, in any) (result *mcp.CallToolResult, out any, err error)
}

// Spec returns the tool's metadata.
func (t *ToolDef) Spec() ToolSpec { return t.spec }

// Tool returns a copy of the MCP tool description (name, schemas, annotations).
func (t *ToolDef) Tool() *mcp.Tool {
	c := *t.tool
	return &c
}

// NewTool builds a ToolDef from metadata and a typed handler. The input schema
// is inferred from In's json and jsonschema struct tags and compiled once; the
// output schema from Out unless Out is [Content].
func NewTool[In, Out any](spec ToolSpec, h ToolHandler[In, Out]) *ToolDef {
	td := &ToolDef{spec: spec}
	in, err := newInputCodec[In]()
	if err != nil {
		td.err = fmt.Errorf("tool %q: input schema: %w", spec.Name, err)
		td.tool = &mcp.Tool{Name: spec.Name}
		return td
	}
	var outSchema *jsonschema.Schema
	if reflect.TypeFor[Out]() != reflect.TypeFor[Content]() {
		outSchema, err = structSchema[Out]()
		if err == nil && outSchema.Type != "object" {
			err = fmt.Errorf("output type %v is not a struct", reflect.TypeFor[Out]())
		}
		if err != nil {
			td.err = fmt.Errorf("tool %q: output schema: %w", spec.Name, err)
			td.tool = &mcp.Tool{Name: spec.Name}
			return td
		}
	}
	td.tool = &mcp.Tool{
		Name:         spec.Name,
		Title:        spec.Title,
		Description:  spec.Description,
		InputSchema:  in.schema,
		OutputSchema: nilIfNoSchema(outSchema),
		Annotations: &mcp.ToolAnnotations{
			Title:           spec.Title,
			ReadOnlyHint:    spec.Effect == ReadOnly,
			DestructiveHint: new(spec.Effect == Destructive),
			IdempotentHint:  spec.Idempotent.bool(),
			OpenWorldHint:   new(spec.OpenWorld.bool()),
		},
	}
	td.decode = func(raw json.RawMessage) (any, error) { return in.decode(raw) }
	td.invoke = func(ctx context.Context, call *Call, v any) (*mcp.CallToolResult, any, error) {
		out, err := h(ctx, call, v.(In))
		if err != nil {
			return nil, nil, err
		}
		if c, ok := any(out).(Content); ok {
			return &mcp.CallToolResult{Content: []mcp.Content(c)}, nil, nil
		}
		return nil, derefOut(out), nil
	}
	return td
}

// nilIfNoSchema keeps a typed nil out of the any-typed OutputSchema field.
func nilIfNoSchema(s *jsonschema.Schema) any {
	if s == nil {
		return nil
	}
	return s
}

// derefOut replaces a nil pointer result with the zero value of its element
// type, so a tool that returns (nil, nil) yields "{}" rather than "null".
func derefOut[Out any](out Out) any {
	rv := reflect.ValueOf(out)
	if rv.Kind() == reflect.Pointer && rv.IsNil() {
		return reflect.New(rv.Type().Elem()).Interface()
	}
	return out
}

// structSchema infers the schema of T, or of *T's element, so a tool may use
// a pointer type without its schema becoming "object or null".
func structSchema[T any]() (*jsonschema.Schema, error) {
	rt := reflect.TypeFor[T]()
	if rt.Kind() == reflect.Pointer {
		rt = rt.Elem()
	}
	return jsonschema.ForType(rt, nil)
}

// inputCodec validates raw arguments against the compiled input schema and
// decodes them into In.
type inputCodec[In any] struct {
	schema      *jsonschema.Schema
	resolved    *jsonschema.Resolved
	hasDefaults bool
	fast        *fastSchema // nil: every call is validated by jsonschema-go
}

func newInputCodec[In any]() (*inputCodec[In], error) {
	schema, err := structSchema[In]()
	if err != nil {
		return nil, err
	}
	if schema.Type != "object" {
		return nil, fmt.Errorf("input type %v is not a struct", reflect.TypeFor[In]())
	}
	if err := applyEnums[In](schema); err != nil {
		return nil, err
	}
	resolved, err := schema.Resolve(&jsonschema.ResolveOptions{ValidateDefaults: true})
	if err != nil {
		return nil, err
	}
	return &inputCodec[In]{schema: schema, resolved: resolved, hasDefaults: schemaHasDefaults(schema), fast: compileFast(schema)}, nil
}

// InvalidArgumentsError is returned (as a tool error) when arguments do not
// match the tool's input schema.
type InvalidArgumentsError struct{ Err error }

func (e *InvalidArgumentsError) Error() string {
	return "invalid arguments: " + describeSchemaError(e.Err.Error()) + " (check the tool's input schema and call again)"
}

var (
	schemaTypeRE = regexp.MustCompile(`^type: (?s:.*) has type "(\w+)", want (.*)$`)
	schemaEnumRE = regexp.MustCompile(`^enum: ((?s:.*)) does not equal any of: \[(.*)\]$`)
)

// describeSchemaError rewrites a jsonschema-go validation error for a
// model: the argument's name instead of a chain of JSON pointers, "null"
// instead of Go's "<invalid reflect.Value>", and the offending value
// quoted short (it may be a megabyte) or not at all.
func describeSchemaError(msg string) string {
	var path string
	for strings.HasPrefix(msg, "validating ") {
		loc, rest, ok := strings.Cut(strings.TrimPrefix(msg, "validating "), ": ")
		if !ok {
			break
		}
		if loc != "root" {
			path = loc
		}
		msg = rest
	}
	msg = strings.ReplaceAll(msg, "<invalid reflect.Value>", "null")
	if names := anyOfRequired(msg); names != nil {
		msg = "give at least one of: " + strings.Join(names, ", ")
	} else if m := schemaTypeRE.FindStringSubmatch(msg); m != nil {
		msg = "got " + m[1] + ", want " + strings.Trim(m[2], `"`)
	} else if m := schemaEnumRE.FindStringSubmatch(msg); m != nil {
		msg = "value " + Quote(m[1]) + " is not one of: " + strings.Join(strings.Fields(m[2]), ", ")
	}
	if name := argumentName(path); name != "" {
		return name + ": " + msg
	}
	return msg
}

var missingRE = regexp.MustCompile(`^validating /anyOf/\d+: required: missing properties: \["([^"]+)"\]$`)

// anyOfRequired recognises the failure of an "at least one of these
// properties" rule (anyOf over required lists) and returns the properties,
// or nil for any other error.
func anyOfRequired(msg string) []string {
	head, rest, ok := strings.Cut(msg, "\n")
	if !ok || !strings.HasPrefix(head, "anyOf: did not validate") {
		return nil
	}
	var names []string
	for line := range strings.SplitSeq(rest, "\n") {
		m := missingRE.FindStringSubmatch(line)
		if m == nil {
			return nil
		}
		names = append(names, m[1])
	}
	return names
}

// argumentName turns a schema location such as /properties/ids/items into
// the argument path a model wrote (ids[]).
func argumentName(loc string) string {
	var b strings.Builder
	parts := strings.Split(strings.TrimPrefix(loc, "/"), "/")
	for i := 0; i < len(parts); i++ {
		switch parts[i] {
		case "properties":
			if i+1 < len(parts) {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(parts[i+1])
				i++
			}
		case "items", "additionalProperties":
			b.WriteString("[]")
		}
	}
	return b.String()
}

func (e *InvalidArgumentsError) Unwrap() error { return e.Err }

func (c *inputCodec[In]) decode(raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	if c.fast != nil && !c.hasDefaults && c.fast.valid(raw) {
		// Certainly valid (fastschema.go); the same decode as below.
		var in In
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, &InvalidArgumentsError{Err: err}
		}
		return in, nil
	}
	// Validation needs the generic form; the schema (not encoding/json's
	// case-insensitive matching) decides which keys are allowed.
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, &InvalidArgumentsError{Err: err}
	}
	if _, ok := generic.(map[string]any); !ok {
		return nil, &InvalidArgumentsError{Err: errors.New("arguments must be a JSON object")}
	}
	if err := c.resolved.Validate(generic); err != nil {
		return nil, &InvalidArgumentsError{Err: err}
	}
	if c.hasDefaults {
		if err := c.resolved.ApplyDefaults(&generic); err != nil {
			return nil, &InvalidArgumentsError{Err: err}
		}
		var err error
		if raw, err = json.Marshal(generic); err != nil {
			return nil, &InvalidArgumentsError{Err: err}
		}
	}
	var in In
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, &InvalidArgumentsError{Err: err}
	}
	return in, nil
}

func schemaHasDefaults(s *jsonschema.Schema) bool {
	if s == nil {
		return false
	}
	if s.Default != nil {
		return true
	}
	for _, p := range s.Properties {
		if schemaHasDefaults(p) {
			return true
		}
	}
	return schemaHasDefaults(s.Items)
}

// protocolError reports whether err must surface as a JSON-RPC error rather
// than a tool error: only a *jsonrpc.Error returned as is, as go-sdk decides.
// A tool that wraps one (fmt.Errorf("...: %w", err)) is reporting a tool
// failure the model should read.
func protocolError(err error) (*jsonrpc.Error, bool) {
	wire, ok := err.(*jsonrpc.Error)
	return wire, ok
}
