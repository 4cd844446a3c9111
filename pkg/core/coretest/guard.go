package coretest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

// CheckTools is the guard test every server runs over all of its tools
// (selected or not). The catalog already refused missing metadata at
// startup; this adds what makes a tool usable by a model:
//   - the description is a sentence or more, not a placeholder;
//   - every input property has a description (a jsonschema tag), nested
//     properties (of objects, array items, $defs, compositions) too;
//   - the schema snapshot in dir matches (see [CheckSnapshot]).
func CheckTools(t *testing.T, c *core.Catalog, snapshotDir string) {
	t.Helper()
	tools := c.AllTools()
	if len(tools) == 0 {
		t.Fatal("catalog has no tools")
	}
	for _, td := range tools {
		spec := td.Spec()
		t.Run(spec.Name, func(t *testing.T) {
			if len(spec.Description) < 20 || !strings.ContainsAny(spec.Description, " ") {
				t.Errorf("description %q is too short to guide a model", spec.Description)
			}
			tool := td.Tool()
			if s, ok := tool.InputSchema.(*jsonschema.Schema); ok {
				for _, path := range undescribed(s, "") {
					t.Errorf("input property %q has no description (add a jsonschema tag)", path)
				}
			}
			CheckSnapshot(t, snapshotDir, td)
		})
	}
}

// snapshot is what a tool snapshot records: everything a client sees.
type snapshot struct {
	Name         string `json:"name"`
	Title        string `json:"title"`
	Description  string `json:"description"`
	Annotations  any    `json:"annotations"`
	InputSchema  any    `json:"inputSchema"`
	OutputSchema any    `json:"outputSchema,omitempty"`
}

// CheckSnapshot compares the tool's client-visible definition with
// dir/<tool>.snap. UPDATE_TOOLSNAPS=true rewrites the file; a missing
// snapshot fails, so a new tool's schema is always reviewed once.
func CheckSnapshot(t *testing.T, dir string, td *core.ToolDef) {
	t.Helper()
	tool := td.Tool()
	got, err := json.MarshalIndent(snapshot{
		Name: tool.Name, Title: tool.Title, Description: tool.Description,
		Annotations: tool.Annotations, InputSchema: tool.InputSchema, OutputSchema: tool.OutputSchema,
	}, "", "  ")
	if err != nil {
		t.Fatalf("marshal snapshot: %v", err)
	}
	got = append(got, '\n')
	path := filepath.Join(dir, tool.Name+".snap")
	if os.Getenv("UPDATE_TOOLSNAPS") == "true" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("snapshot %s missing: run with UPDATE_TOOLSNAPS=true and review it (%v)", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("tool %s differs from snapshot %s; if intended, rerun with UPDATE_TOOLSNAPS=true\n--- want\n%s\n--- got\n%s", tool.Name, path, want, got)
	}
}

// undescribed returns the paths of the properties under s that have no
// description, at any depth: a model fills nested fields too.
func undescribed(s *jsonschema.Schema, at string) []string {
	if s == nil {
		return nil
	}
	var out []string
	for name, prop := range s.Properties {
		path := name
		if at != "" {
			path = at + "." + name
		}
		if prop != nil && prop.Description == "" && prop.Ref == "" {
			out = append(out, path)
		}
		out = append(out, undescribed(prop, path)...)
	}
	out = append(out, undescribed(s.Items, at+"[]")...)
	out = append(out, undescribed(s.AdditionalProperties, at+"{}")...)
	for _, sub := range slices.Concat(s.AllOf, s.AnyOf, s.OneOf, s.PrefixItems) {
		out = append(out, undescribed(sub, at)...)
	}
	for name, def := range s.Defs {
		out = append(out, undescribed(def, "$defs."+name)...)
	}
	slices.Sort(out)
	return out
}
