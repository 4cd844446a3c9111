package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/policy"
)

// casesFile is the table `mcpfleet policy test` runs: the tools the cases
// call, named principals, and the cases.
type casesFile struct {
	Tools      []toolDef               `yaml:"tools"`
	ToolLists  []toolList              `yaml:"tool_lists"`
	Principals map[string]principalDef `yaml:"principals"`
	Cases      []testCase              `yaml:"cases"`

	dir string
}

// toolDef is a tool's metadata as the policy sees it.
type toolDef struct {
	Server         string   `yaml:"server" json:"-"`
	Name           string   `yaml:"name" json:"name"`
	Title          string   `yaml:"title" json:"title"`
	Toolset        string   `yaml:"toolset" json:"toolset"`
	Effect         string   `yaml:"effect" json:"effect"`
	Classification string   `yaml:"classification" json:"classification"`
	Idempotent     bool     `yaml:"idempotent" json:"idempotent"`
	OpenWorld      bool     `yaml:"open_world" json:"open_world"`
	Permissions    []string `yaml:"permissions" json:"permissions"`
}

// toolList reads a server's `--list-tools` output.
type toolList struct {
	Server string `yaml:"server"`
	File   string `yaml:"file"`
}

type principalDef struct {
	Subject  string         `yaml:"subject"`
	ClientID string         `yaml:"client_id"`
	Issuer   string         `yaml:"issuer"`
	Method   string         `yaml:"method"`
	Groups   []string       `yaml:"groups"`
	Scopes   []string       `yaml:"scopes"`
	Claims   map[string]any `yaml:"claims"`
}

type testCase struct {
	Name string `yaml:"name"`
	// Principal is a name from principals or an inline principal.
	Principal yaml.Node `yaml:"principal"`
	Server    string    `yaml:"server"`
	Tool      string    `yaml:"tool"`
	Args      any       `yaml:"args"`
	Time      string    `yaml:"time"`
	// Expect is allow, deny or approval (allowed once confirmed).
	Expect string `yaml:"expect"`
	Rule   string `yaml:"rule"`
	Redact *bool  `yaml:"redact"`
}

func loadCases(path string) (*casesFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cf := &casesFile{dir: filepath.Dir(path)}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(cf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(cf.Cases) == 0 {
		return nil, fmt.Errorf("%s: no cases", path)
	}
	return cf, nil
}

// caseTool is a tool the cases may call, with its server.
type caseTool struct {
	server string
	spec   core.ToolSpec
}

// catalog collects the tools the cases may call, by name.
func (cf *casesFile) catalog() (map[string][]caseTool, error) {
	byName := map[string][]caseTool{}
	add := func(server string, t toolDef) error {
		spec, err := t.spec()
		if err != nil {
			return fmt.Errorf("tool %s/%s: %w", server, t.Name, err)
		}
		byName[t.Name] = append(byName[t.Name], caseTool{server: server, spec: spec})
		return nil
	}
	for _, t := range cf.Tools {
		if t.Server == "" {
			return nil, fmt.Errorf("tool %s: server is empty", t.Name)
		}
		if err := add(t.Server, t); err != nil {
			return nil, err
		}
	}
	for _, l := range cf.ToolLists {
		if l.Server == "" {
			return nil, fmt.Errorf("tool_lists %s: server is empty", l.File)
		}
		path := l.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(cf.dir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var list []toolDef
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("%s: not a --list-tools output: %w", path, err)
		}
		for _, t := range list {
			if err := add(l.Server, t); err != nil {
				return nil, err
			}
		}
	}
	return byName, nil
}

func (t toolDef) spec() (core.ToolSpec, error) {
	s := core.ToolSpec{Name: t.Name, Title: t.Title, Toolset: t.Toolset, Classification: core.Classification(t.Classification),
		Permissions: t.Permissions, Idempotent: core.No, OpenWorld: core.No}
	if s.Title == "" {
		s.Title = t.Name
	}
	if t.Idempotent {
		s.Idempotent = core.Yes
	}
	if t.OpenWorld {
		s.OpenWorld = core.Yes
	}
	var err error
	if s.Effect, err = parseEffect(t.Effect); err != nil {
		return s, err
	}
	if s.Classification.Level() == 0 {
		return s, fmt.Errorf("classification %q is not public, internal, confidential or restricted", t.Classification)
	}
	return s, nil
}

func parseEffect(s string) (core.Effect, error) {
	switch s {
	case "read_only":
		return core.ReadOnly, nil
	case "additive":
		return core.Additive, nil
	case "destructive":
		return core.Destructive, nil
	}
	return 0, fmt.Errorf("effect %q is not read_only, additive or destructive", s)
}

func (p principalDef) principal() *authn.Principal {
	method := p.Method
	if method == "" {
		method = authn.MethodJWT
	}
	return &authn.Principal{Subject: p.Subject, ClientID: p.ClientID, Issuer: p.Issuer, Method: method,
		Groups: p.Groups, Scopes: p.Scopes, Claims: p.Claims}
}

// input builds the decision input of a case.
func (cf *casesFile) input(c testCase, tools map[string][]caseTool) (policy.Input, error) {
	var in policy.Input
	switch c.Principal.Kind {
	case yaml.ScalarNode:
		if c.Principal.Tag == "!!null" {
			break // no principal
		}
		p, ok := cf.Principals[c.Principal.Value]
		if !ok {
			return in, fmt.Errorf("principal %q is not in principals", c.Principal.Value)
		}
		in.Principal = p.principal()
	case yaml.MappingNode:
		var p principalDef
		if err := c.Principal.Decode(&p); err != nil {
			return in, fmt.Errorf("principal: %w", err)
		}
		in.Principal = p.principal()
	case 0:
		return in, errors.New("principal is missing (use null for a call without one)")
	default:
		return in, errors.New("principal must be a name or a mapping")
	}
	var candidates []caseTool
	for _, t := range tools[c.Tool] {
		if c.Server == "" || t.server == c.Server {
			candidates = append(candidates, t)
		}
	}
	switch len(candidates) {
	case 0:
		return in, fmt.Errorf("tool %q (server %q) is not among the cases' tools", c.Tool, c.Server)
	case 1:
	default:
		return in, fmt.Errorf("tool %q is on several servers: set server", c.Tool)
	}
	in.Tool, in.Server = candidates[0].spec, candidates[0].server
	if c.Args != nil {
		b, err := json.Marshal(c.Args)
		if err != nil {
			return in, fmt.Errorf("args: %w", err)
		}
		in.Args = b
	}
	if c.Time != "" {
		t, err := time.Parse(time.RFC3339, c.Time)
		if err != nil {
			return in, fmt.Errorf("time %q is not RFC 3339", c.Time)
		}
		in.Time = t
	}
	return in, nil
}

// outcome names a decision as cases write it.
func outcome(d policy.Decision) string {
	switch {
	case !d.Allowed:
		return "deny"
	case d.Approval != "":
		return "approval"
	}
	return "allow"
}

type caseResult struct {
	Name   string `json:"name"`
	Pass   bool   `json:"pass"`
	Got    string `json:"got"`
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
	Redact bool   `json:"redact"`
	// Problem says what differs, or why the case could not run.
	Problem string `json:"problem,omitempty"`
}

func runCases(eng *policy.Engine, cf *casesFile) ([]caseResult, error) {
	tools, err := cf.catalog()
	if err != nil {
		return nil, err
	}
	var out []caseResult
	for i, c := range cf.Cases {
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("case %d", i+1)
		}
		r := caseResult{Name: name}
		in, err := cf.input(c, tools)
		if err != nil {
			r.Problem = err.Error()
			out = append(out, r)
			continue
		}
		d := eng.Decide(in)
		r.Got, r.Rule, r.Reason, r.Redact = outcome(d), d.Rule, d.Reason, d.Redact
		var problems []string
		switch c.Expect {
		case "allow", "deny", "approval":
			if r.Got != c.Expect {
				problems = append(problems, fmt.Sprintf("want %s", c.Expect))
			}
		default:
			problems = append(problems, fmt.Sprintf("expect %q is not allow, deny or approval", c.Expect))
		}
		if c.Rule != "" && c.Rule != d.Rule {
			problems = append(problems, fmt.Sprintf("want rule %s", c.Rule))
		}
		if c.Redact != nil && *c.Redact != d.Redact {
			problems = append(problems, fmt.Sprintf("want redact %v", *c.Redact))
		}
		r.Pass = len(problems) == 0
		r.Problem = strings.Join(problems, ", ")
		out = append(out, r)
	}
	return out, nil
}
