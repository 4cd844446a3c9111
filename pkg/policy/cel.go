package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	// Conditions may name time zones (now.getHours("Europe/Berlin")); the
	// zone database must not depend on the host image.
	_ "time/tzdata"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/policy/internal/canon"
)

// celCostLimit bounds one evaluation, so that a condition over large
// arguments (a comprehension over a long list) cannot stall a call.
const celCostLimit = 100_000

// maxConditionLen bounds the text of one condition.
const maxConditionLen = 4096

// celEnvs are the CEL environments conditions compile in. Role conditions
// see only the principal and the time; rule conditions also see the tool
// and its arguments. noArgs is the rule environment without args: a rule
// condition that compiles there can be evaluated without arguments, which
// is what tools/list filtering needs.
//
// They are built on first use: building them is most of what CEL costs in
// memory (megabytes), and many documents, the built-in default among them,
// have no conditions at all.
type celEnvs struct {
	built              bool
	err                error
	role, rule, noArgs *cel.Env
}

// ready builds the environments once.
func (e *celEnvs) ready() error {
	if !e.built {
		e.built = true
		var envs *celEnvs
		if envs, e.err = newCELEnvs(); e.err == nil {
			e.role, e.rule, e.noArgs = envs.role, envs.rule, envs.noArgs
		}
	}
	return e.err
}

func newCELEnvs() (*celEnvs, error) {
	common := []cel.EnvOption{
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
		ext.Strings(),
		ext.Sets(),
		cel.ParserExpressionSizeLimit(maxConditionLen),
	}
	mapType := cel.MapType(cel.StringType, cel.DynType)
	principal := cel.Variable("principal", mapType)
	now := cel.Variable("now", cel.TimestampType)
	tool := cel.Variable("tool", mapType)
	args := cel.Variable("args", mapType)
	role, err := cel.NewEnv(append(common, principal, now)...)
	if err != nil {
		return nil, err
	}
	rule, err := cel.NewEnv(append(common, principal, now, tool, args)...)
	if err != nil {
		return nil, err
	}
	noArgs, err := cel.NewEnv(append(common, principal, now, tool)...)
	if err != nil {
		return nil, err
	}
	return &celEnvs{built: true, role: role, rule: rule, noArgs: noArgs}, nil
}

// condition is a compiled CEL condition.
type condition struct {
	text string
	prg  cel.Program
	// usesArgs is set when the expression refers to args: it cannot be
	// decided before a call's arguments are known.
	usesArgs bool
}

func compileCondition(env, noArgs *cel.Env, text string) (*condition, error) {
	if len(text) > maxConditionLen {
		return nil, fmt.Errorf("condition is longer than %d characters", maxConditionLen)
	}
	ast, iss := env.Compile(text)
	if iss.Err() != nil {
		// CEL adds a drawing of the position on further lines; the first
		// line has the message and the position, which is what a log needs.
		msg, _, _ := strings.Cut(iss.Err().Error(), "\n")
		return nil, fmt.Errorf("condition %q: %s", text, msg)
	}
	if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return nil, fmt.Errorf("condition %q: must be a boolean expression, not %s", text, ast.OutputType())
	}
	prg, err := env.Program(ast, cel.CostLimit(celCostLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, fmt.Errorf("condition %q: %w", text, err)
	}
	c := &condition{text: text, prg: prg}
	if noArgs != nil {
		_, iss := noArgs.Compile(text)
		c.usesArgs = iss.Err() != nil
	}
	return c, nil
}

// eval runs the condition. A non-boolean result is an error.
func (c *condition) eval(act *activation) (bool, error) {
	out, _, err := c.prg.Eval(act)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("condition %q returned %v, not a boolean", c.text, out.Value())
	}
	return b, nil
}

// activation supplies a call's variables to CEL, building each one only
// when an expression asks for it.
type activation struct {
	principal *authn.Principal
	roles     []string
	server    string
	// tool is a copy, so that the caller's spec never escapes to the heap
	// on the path that needs no activation.
	tool    core.ToolSpec
	hasTool bool
	rawArgs json.RawMessage
	now     time.Time

	principalVal map[string]any
	toolVal      map[string]any
	argsVal      map[string]any
	argsErr      error
	argsDone     bool
}

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "principal":
		if a.principalVal == nil {
			a.principalVal = principalValue(a.principal, a.roles)
		}
		return a.principalVal, true
	case "tool":
		if a.toolVal == nil {
			if !a.hasTool {
				a.toolVal = map[string]any{}
			} else {
				a.toolVal = toolValue(a.server, &a.tool)
			}
		}
		return a.toolVal, true
	case "args":
		if !a.argsDone {
			a.argsVal, a.argsErr = decodeArgs(a.rawArgs)
			a.argsDone = true
		}
		if a.argsErr != nil {
			// An error value makes the evaluation fail, and failures are
			// decided conservatively by the caller.
			return nil, false
		}
		return a.argsVal, true
	case "now":
		return a.now, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

func principalValue(p *authn.Principal, roles []string) map[string]any {
	if p == nil {
		return map[string]any{"id": "", "subject": "", "client_id": "", "issuer": "", "method": "",
			"groups": []string{}, "scopes": []string{}, "claims": map[string]any{}, "roles": []string{}}
	}
	claims := p.Claims
	if claims == nil {
		claims = map[string]any{}
	}
	return map[string]any{
		"id":        p.ID(),
		"subject":   p.Subject,
		"client_id": p.ClientID,
		"issuer":    p.Issuer,
		"method":    p.Method,
		"groups":    nonNil(p.Groups),
		"scopes":    nonNil(p.Scopes),
		"claims":    claims,
		"roles":     nonNil(roles),
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func toolValue(server string, s *core.ToolSpec) map[string]any {
	return map[string]any{
		"server":         server,
		"name":           s.Name,
		"title":          s.Title,
		"toolset":        s.Toolset,
		"effect":         s.Effect.String(),
		"read_only":      s.Effect == core.ReadOnly,
		"destructive":    s.Effect == core.Destructive,
		"idempotent":     s.Idempotent == core.Yes,
		"open_world":     s.OpenWorld == core.Yes,
		"classification": string(s.Classification),
		"permissions":    nonNil(s.Permissions),
	}
}

// decodeArgs decodes call arguments for CEL. Whole numbers become int so
// that args.limit == 10 and args.limit * 2 behave as written.
func decodeArgs(raw json.RawMessage) (map[string]any, error) {
	raw = canon.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("arguments are not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("arguments hold data after the JSON object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("arguments are not a JSON object")
	}
	if err := convertNumbers(m); err != nil {
		return nil, err
	}
	return m, nil
}

// convertNumbers replaces json.Number values in place: int64 when whole
// and in range, float64 otherwise. A number no float64 can hold is an
// error, as it is for the tool's own decoding.
func convertNumbers(v any) error {
	var err error
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if x[k], err = convertValue(e); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if x[i], err = convertValue(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func convertValue(v any) (any, error) {
	n, ok := v.(json.Number)
	if !ok {
		return v, convertNumbers(v)
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) {
		return nil, fmt.Errorf("argument number %s is out of range", n)
	}
	return f, nil
}
