package core

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ResourceDef is a fixed resource (one URI) and the function that reads it.
type ResourceDef struct {
	Resource *mcp.Resource
	Handler  mcp.ResourceHandler
	// Classification is the sensitivity of the resource's contents.
	Classification Classification
}

func (r *ResourceDef) validate() error {
	if r == nil || r.Resource == nil {
		return errors.New("resource: definition is nil")
	}
	var errs []error
	if u, err := url.Parse(r.Resource.URI); err != nil || u.Scheme == "" {
		errs = append(errs, fmt.Errorf("URI %q is not absolute", r.Resource.URI))
	}
	return readableErrors("resource", r.Resource.URI, r.Resource.Name, r.Handler == nil, r.Classification, errs)
}

// readableErrors adds the checks every readable feature shares (a name, a
// handler, a declared classification) and wraps what was found.
func readableErrors(kind, id, name string, noHandler bool, c Classification, errs []error) error {
	if name == "" {
		errs = append(errs, errors.New("name is empty"))
	}
	if noHandler {
		errs = append(errs, errors.New("handler is nil"))
	}
	if c.Level() == 0 {
		errs = append(errs, fmt.Errorf("data classification %q is not declared", c))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s %q: %w", kind, id, errors.Join(errs...))
	}
	return nil
}

// ResourceTemplateDef is a family of resources (an RFC 6570 URI template such
// as crm://contacts/{id}) and the function that reads any member.
type ResourceTemplateDef struct {
	Template *mcp.ResourceTemplate
	Handler  mcp.ResourceHandler
	// Classification is the sensitivity of the resources' contents.
	Classification Classification
}

func (r *ResourceTemplateDef) validate() error {
	if r == nil || r.Template == nil {
		return errors.New("resource template: definition is nil")
	}
	var errs []error
	if r.Template.URITemplate == "" {
		errs = append(errs, errors.New("URI template is empty"))
	}
	return readableErrors("resource template", r.Template.URITemplate, r.Template.Name, r.Handler == nil, r.Classification, errs)
}

// PromptDef is a prompt and the function that renders it.
type PromptDef struct {
	Prompt  *mcp.Prompt
	Handler mcp.PromptHandler
	// Classification is the sensitivity of what the prompt renders (a
	// prompt may embed records). The policy treats an undeclared one as
	// confidential: a prompt can carry data, and the safe side is to
	// redact it for callers without clearance.
	Classification Classification
}

func (p *PromptDef) validate() error {
	if p == nil || p.Prompt == nil {
		return errors.New("prompt: definition is nil")
	}
	var errs []error
	if p.Prompt.Name == "" {
		errs = append(errs, errors.New("name is empty"))
	}
	if p.Prompt.Description == "" {
		errs = append(errs, errors.New("description is empty"))
	}
	if p.Handler == nil {
		errs = append(errs, errors.New("handler is nil"))
	}
	if p.Classification != "" && p.Classification.Level() == 0 {
		errs = append(errs, fmt.Errorf("data classification %q is not valid", p.Classification))
	}
	if len(errs) > 0 {
		return fmt.Errorf("prompt %q: %w", p.Prompt.Name, errors.Join(errs...))
	}
	return nil
}

// Toolset declares a group of tools. Default toolsets are on when config
// names none.
type Toolset struct {
	Name        string
	Description string
	Default     bool
}
