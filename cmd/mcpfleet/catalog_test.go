package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// registrySchema compiles the copy of the registry's server.json schema.
func registrySchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "server.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("server.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("server.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, path string) error {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(v)
}

// TestCatalogValidAgainstRegistrySchema writes the catalog, with and
// without remotes, and validates every server.json.
func TestCatalogValidAgainstRegistrySchema(t *testing.T) {
	schema := registrySchema(t)
	for _, extra := range [][]string{nil, {"--remote-url", "https://{name}.mcp.example.com/mcp", "--repository", "https://git.example.com/mcpfleet/mcpfleet"}} {
		out := t.TempDir()
		code, stdout, stderr := mcpfleet(t, append([]string{"catalog", "--out", out, "--version", "1.4.0"}, extra...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, s := range fleetTable {
			path := filepath.Join(out, s.name, "server.json")
			if !strings.Contains(stdout, path) {
				t.Errorf("%s not reported: %s", path, stdout)
			}
			if err := validate(t, schema, path); err != nil {
				t.Errorf("%s: %v", path, err)
			}
			var doc serverJSON
			b, _ := os.ReadFile(path)
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Name != "io.github.mcpfleet/"+s.name || doc.Version != "1.4.0" || doc.Packages[0].Identifier != "docker.io/mcpfleet/mcp-"+s.name+":1.4.0" {
				t.Errorf("%s: %+v", s.name, doc)
			}
			for _, c := range s.creds {
				found := false
				for _, ev := range doc.Packages[0].EnvironmentVariables {
					if ev.Name == c.env {
						found = ev.IsSecret && ev.IsRequired == !c.optional
					}
				}
				if !found {
					t.Errorf("%s: %s is not a secret, required unless optional (%t)", s.name, c.env, c.optional)
				}
			}
			if extra != nil && (len(doc.Remotes) != 1 || doc.Remotes[0].URL != "https://"+s.name+".mcp.example.com/mcp" || !doc.Remotes[0].Headers[0].IsSecret) {
				t.Errorf("%s: remotes %+v", s.name, doc.Remotes)
			}
		}
	}
}

// TestCatalogSchemaRejects proves the schema copy and the validator catch
// what the registry rejects, so a passing test means something.
func TestCatalogSchemaRejects(t *testing.T) {
	schema := registrySchema(t)
	good := serverEntry(fleetTable[0], catalogOptions{version: "1.0.0", image: "docker.io/mcpfleet"})
	for name, mutate := range map[string]func(*serverJSON){
		"two slashes":      func(s *serverJSON) { s.Name = "io.github/mcpfleet/crm" },
		"long description": func(s *serverJSON) { s.Description = strings.Repeat("d", 101) },
		"latest package":   func(s *serverJSON) { s.Packages[0].Version = "latest" },
		"no version":       func(s *serverJSON) { s.Version = "" },
		"bad remote url":   func(s *serverJSON) { s.Remotes = []transportJSON{{Type: "streamable-http", URL: "ftp://x"}} },
	} {
		doc := good
		doc.Packages = append([]packageJSON(nil), good.Packages...)
		mutate(&doc)
		b, _ := json.Marshal(doc)
		var v map[string]any
		_ = json.Unmarshal(b, &v)
		if name == "no version" {
			delete(v, "version")
		}
		if err := schema.Validate(v); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCatalogRefusesRangesAndLatest(t *testing.T) {
	for _, v := range []string{"latest", "^1.2.3", "~1.2", ">=1.0.0", "1.x", "1.*"} {
		if code, _, errOut := mcpfleet(t, "catalog", "--out", t.TempDir(), "--version", v); code != 2 || !strings.Contains(errOut, "one specific version") {
			t.Errorf("%q: exit %d: %s", v, code, errOut)
		}
	}
	for _, v := range []string{"1.2.3", "v2.0.0-rc.1", "0.0.0-dev"} {
		if !validVersion(v) {
			t.Errorf("%q refused", v)
		}
	}
}
