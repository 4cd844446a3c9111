package core

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mcpfleet/mcpfleet/pkg/core/config"
)

// Catalog is the validated, sorted set of features a server exposes after
// toolset selection. The policy module looks tool metadata up here.
type Catalog struct {
	all       []*ToolDef // every known tool, sorted
	tools     []*ToolDef // selected tools, sorted
	byName    map[string]*ToolDef
	toolsets  []Toolset
	resources []*ResourceDef
	templates []*ResourceTemplateDef
	prompts   []*PromptDef
}

// CatalogInput is everything contributed to a server.
type CatalogInput struct {
	ServerName string
	Selection  config.Tools
	Toolsets   []Toolset
	Tools      []*ToolDef
	Resources  []*ResourceDef
	Templates  []*ResourceTemplateDef
	Prompts    []*PromptDef
}

// NewCatalog validates the contributions and applies the selection. All
// problems are reported together, on one line, so a broken build names
// everything to fix at once.
func NewCatalog(in CatalogInput) (*Catalog, error) {
	var errs []error
	c := &Catalog{byName: map[string]*ToolDef{}}

	toolsets := map[string]Toolset{}
	for _, ts := range in.Toolsets {
		if !toolsetRE.MatchString(ts.Name) {
			errs = append(errs, fmt.Errorf("toolset %q is not snake_case", ts.Name))
		}
		if _, dup := toolsets[ts.Name]; dup {
			errs = append(errs, fmt.Errorf("toolset %q is declared twice", ts.Name))
		}
		toolsets[ts.Name] = ts
		c.toolsets = append(c.toolsets, ts)
	}
	slices.SortFunc(c.toolsets, func(a, b Toolset) int { return cmp.Compare(a.Name, b.Name) })

	for _, td := range in.Tools {
		if td == nil {
			errs = append(errs, errors.New("a tool constructor returned nil"))
			continue
		}
		if td.err != nil {
			errs = append(errs, td.err)
			continue
		}
		if err := td.spec.validate(in.ServerName); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, ok := toolsets[td.spec.Toolset]; !ok {
			errs = append(errs, fmt.Errorf("tool %q: toolset %q is not declared", td.spec.Name, td.spec.Toolset))
			continue
		}
		if _, dup := c.byName[td.spec.Name]; dup {
			errs = append(errs, fmt.Errorf("tool %q is provided twice", td.spec.Name))
			continue
		}
		c.byName[td.spec.Name] = td
		c.all = append(c.all, td)
	}
	slices.SortFunc(c.all, func(a, b *ToolDef) int { return cmp.Compare(a.spec.Name, b.spec.Name) })

	seen := map[string]bool{}
	for _, r := range in.Resources {
		if err := r.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen["r:"+r.Resource.URI] {
			errs = append(errs, fmt.Errorf("resource %q is provided twice", r.Resource.URI))
		}
		seen["r:"+r.Resource.URI] = true
		c.resources = append(c.resources, r)
	}
	slices.SortFunc(c.resources, func(a, b *ResourceDef) int { return cmp.Compare(a.Resource.URI, b.Resource.URI) })
	for _, t := range in.Templates {
		if err := t.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen["t:"+t.Template.URITemplate] {
			errs = append(errs, fmt.Errorf("resource template %q is provided twice", t.Template.URITemplate))
		}
		seen["t:"+t.Template.URITemplate] = true
		c.templates = append(c.templates, t)
	}
	slices.SortFunc(c.templates, func(a, b *ResourceTemplateDef) int {
		return cmp.Compare(a.Template.URITemplate, b.Template.URITemplate)
	})
	for _, p := range in.Prompts {
		if err := p.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen["p:"+p.Prompt.Name] {
			errs = append(errs, fmt.Errorf("prompt %q is provided twice", p.Prompt.Name))
		}
		seen["p:"+p.Prompt.Name] = true
		c.prompts = append(c.prompts, p)
	}
	slices.SortFunc(c.prompts, func(a, b *PromptDef) int { return cmp.Compare(a.Prompt.Name, b.Prompt.Name) })

	if len(errs) == 0 {
		selected, err := c.selectTools(in.Selection)
		if err != nil {
			errs = append(errs, err)
		}
		c.tools = selected
	}
	if len(errs) > 0 {
		return nil, oneLine(errs)
	}
	return c, nil
}

// selectTools applies toolset selection: toolsets (default or named), minus
// disabled toolsets, plus single enabled tools, minus single disabled tools,
// and finally read-only mode, which wins over every list.
func (c *Catalog) selectTools(sel config.Tools) ([]*ToolDef, error) {
	var errs []error
	validSets := func() string {
		names := []string{"all"}
		for _, ts := range c.toolsets {
			names = append(names, ts.Name)
		}
		return strings.Join(names, ", ")
	}
	validTools := func() string {
		names := make([]string, len(c.all))
		for i, td := range c.all {
			names[i] = td.spec.Name
		}
		return strings.Join(names, ", ")
	}
	known := map[string]bool{}
	for _, ts := range c.toolsets {
		known[ts.Name] = true
	}
	on := map[string]bool{}
	if len(sel.Toolsets) == 0 {
		for _, ts := range c.toolsets {
			on[ts.Name] = ts.Default
		}
	}
	for _, name := range sel.Toolsets {
		name = strings.TrimSpace(name)
		switch {
		case name == "all":
			for _, ts := range c.toolsets {
				on[ts.Name] = true
			}
		case known[name]:
			on[name] = true
		default:
			errs = append(errs, fmt.Errorf("unknown toolset %q in tools.toolsets (valid: %s)", name, validSets()))
		}
	}
	for _, name := range sel.DisabledToolsets {
		if !known[name] {
			errs = append(errs, fmt.Errorf("unknown toolset %q in tools.disabled_toolsets (valid: %s)", name, validSets()))
		}
		on[name] = false
	}
	for _, lst := range []struct {
		key   string
		names []string
	}{{"tools.enabled", sel.Enabled}, {"tools.disabled", sel.Disabled}} {
		for _, name := range lst.names {
			if _, ok := c.byName[name]; !ok {
				errs = append(errs, fmt.Errorf("unknown tool %q in %s (valid: %s)", name, lst.key, validTools()))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []*ToolDef
	for _, td := range c.all {
		include := on[td.spec.Toolset] || slices.Contains(sel.Enabled, td.spec.Name)
		if slices.Contains(sel.Disabled, td.spec.Name) {
			include = false
		}
		if sel.ReadOnly && td.spec.Effect != ReadOnly {
			include = false
		}
		if include {
			out = append(out, td)
		}
	}
	return out, nil
}

func oneLine(errs []error) error {
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		parts = append(parts, strings.ReplaceAll(e.Error(), "\n", "; "))
	}
	return errors.New("invalid server definition: " + strings.Join(parts, "; "))
}

// Tools returns the selected tools, sorted by name.
func (c *Catalog) Tools() []*ToolDef { return slices.Clone(c.tools) }

// AllTools returns every known tool, selected or not, sorted by name.
func (c *Catalog) AllTools() []*ToolDef { return slices.Clone(c.all) }

// Toolsets returns the declared toolsets, sorted by name.
func (c *Catalog) Toolsets() []Toolset { return slices.Clone(c.toolsets) }

// Spec returns the metadata of a known tool.
func (c *Catalog) Spec(name string) (ToolSpec, bool) {
	td, ok := c.byName[name]
	if !ok {
		return ToolSpec{}, false
	}
	return td.spec, true
}

// Resources returns the fixed resources, sorted by URI.
func (c *Catalog) Resources() []*ResourceDef { return slices.Clone(c.resources) }

// ResourceTemplates returns the resource templates, sorted by template.
func (c *Catalog) ResourceTemplates() []*ResourceTemplateDef { return slices.Clone(c.templates) }

// Prompts returns the prompts, sorted by name.
func (c *Catalog) Prompts() []*PromptDef { return slices.Clone(c.prompts) }
