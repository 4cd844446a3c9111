package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/terraform-config-inspect/tfconfig"
)

var terraformRoot = filepath.Join(root, "deploy", "terraform")

// terraformModules returns every directory under deploy/terraform holding
// .tf files.
func terraformModules(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(terraformRoot, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != terraformRoot {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".tf") && !slices.Contains(dirs, filepath.Dir(path)) {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(dirs)
	return dirs
}

// TestTerraformLayout: the standard module structure.
func TestTerraformLayout(t *testing.T) {
	dirs := terraformModules(t)
	for _, want := range []string{"modules/mcp-server", "modules/fleet", "examples/complete"} {
		if !slices.Contains(dirs, filepath.Join(terraformRoot, want)) {
			t.Errorf("no module in deploy/terraform/%s", want)
		}
	}
	for _, dir := range dirs {
		for _, f := range []string{"main.tf", "variables.tf", "outputs.tf", "versions.tf"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s: no %s", dir, f)
			}
		}
	}
}

// TestTerraformModules checks every module: HCL syntax, declared
// references, typed and described variables, described outputs, pinned
// providers, and module calls that match the called module's variables
// and outputs.
func TestTerraformModules(t *testing.T) {
	for _, dir := range terraformModules(t) {
		rel, _ := filepath.Rel(terraformRoot, dir)
		t.Run(rel, func(t *testing.T) { checkModule(t, dir) })
	}
}

// moduleDecls is what a module declares.
type moduleDecls struct {
	variables map[string]bool // name => has a default (optional)
	locals    map[string]bool
	modules   map[string]string // name => source
	resources map[string]bool   // type.name
	data      map[string]bool   // type.name
	outputs   map[string]bool
}

func parseModule(t reporter, dir string) ([]*hcl.File, *moduleDecls) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	p := hclparse.NewParser()
	var parsed []*hcl.File
	d := &moduleDecls{variables: map[string]bool{}, locals: map[string]bool{}, modules: map[string]string{},
		resources: map[string]bool{}, data: map[string]bool{}, outputs: map[string]bool{}}
	for _, f := range files {
		file, diags := p.ParseHCLFile(f)
		if diags.HasErrors() {
			t.Errorf("%s", diags.Error())
			continue
		}
		parsed = append(parsed, file)
		for _, b := range file.Body.(*hclsyntax.Body).Blocks {
			switch b.Type {
			case "variable":
				_, hasDefault := b.Body.Attributes["default"]
				d.variables[b.Labels[0]] = hasDefault
			case "locals":
				for name := range b.Body.Attributes {
					d.locals[name] = true
				}
			case "module":
				src := ""
				if a, ok := b.Body.Attributes["source"]; ok {
					v, _ := a.Expr.Value(nil)
					src = v.AsString()
				}
				d.modules[b.Labels[0]] = src
			case "resource":
				d.resources[b.Labels[0]+"."+b.Labels[1]] = true
			case "data":
				d.data[b.Labels[0]+"."+b.Labels[1]] = true
			case "output":
				d.outputs[b.Labels[0]] = true
			}
		}
	}
	return parsed, d
}

func checkModule(t reporter, dir string) {
	files, decls := parseModule(t, dir)
	if len(files) == 0 {
		return
	}
	// Every reference names something declared.
	childOutputs := map[string]map[string]bool{}
	childVars := map[string]map[string]bool{}
	for name, src := range decls.modules {
		if strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../") {
			_, cd := parseModule(t, filepath.Join(dir, src))
			childOutputs[name], childVars[name] = cd.outputs, cd.variables
		}
	}
	for _, f := range files {
		walkBody(f.Body.(*hclsyntax.Body), "", nil, func(tr hcl.Traversal, scope []string) {
			checkReference(t, decls, childOutputs, tr, scope)
		})
		// Module calls pass only variables the module declares, and every
		// required one.
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			if b.Type != "module" || childVars[b.Labels[0]] == nil {
				continue
			}
			vars := childVars[b.Labels[0]]
			for name := range b.Body.Attributes {
				if _, ok := vars[name]; !ok && !slices.Contains([]string{"source", "version", "for_each", "count", "providers", "depends_on"}, name) {
					t.Errorf("%s: module %q passes %q, which it does not declare", b.Range(), b.Labels[0], name)
				}
			}
			for name, optional := range vars {
				if _, ok := b.Body.Attributes[name]; !ok && !optional {
					t.Errorf("%s: module %q lacks required variable %q", b.Range(), b.Labels[0], name)
				}
			}
		}
	}

	mod, diags := tfconfig.LoadModule(dir)
	if diags.HasErrors() {
		t.Errorf("%s: %v", dir, diags.Err())
		return
	}
	for _, v := range mod.Variables {
		if v.Type == "" {
			t.Errorf("%s: variable %q has no type", v.Pos.Filename, v.Name)
		}
		if strings.TrimSpace(v.Description) == "" {
			t.Errorf("%s: variable %q has no description", v.Pos.Filename, v.Name)
		}
	}
	for _, o := range mod.Outputs {
		if strings.TrimSpace(o.Description) == "" {
			t.Errorf("%s: output %q has no description", o.Pos.Filename, o.Name)
		}
	}
	if len(mod.RequiredCore) == 0 {
		t.Errorf("%s: no required_version", dir)
	}
	used := map[string]bool{}
	for _, r := range mod.ManagedResources {
		used[r.Provider.Name] = true
	}
	for _, r := range mod.DataResources {
		used[r.Provider.Name] = true
	}
	for name := range used {
		req, ok := mod.RequiredProviders[name]
		if !ok {
			t.Errorf("%s: provider %q is used but not in required_providers", dir, name)
			continue
		}
		if req.Source == "" || len(req.VersionConstraints) == 0 {
			t.Errorf("%s: provider %q is not pinned (source and version)", dir, name)
			continue
		}
		if !hasUpperBound(req.VersionConstraints) {
			t.Errorf("%s: provider %q version %v has no upper bound", dir, name, req.VersionConstraints)
		}
	}
}

// hasUpperBound reports whether constraints cap the major version ("<"
// or "~>" or an exact version).
func hasUpperBound(cs []string) bool {
	for _, c := range cs {
		for part := range strings.SplitSeq(c, ",") {
			p := strings.TrimSpace(part)
			if strings.HasPrefix(p, "<") || strings.HasPrefix(p, "~>") || (p != "" && (p[0] >= '0' && p[0] <= '9' || strings.HasPrefix(p, "="))) {
				return true
			}
		}
	}
	return false
}

// walkBody calls fn for every variable traversal of every expression,
// with the dynamic-block iterators in scope.
func walkBody(body *hclsyntax.Body, blockType string, scope []string, fn func(hcl.Traversal, []string)) {
	for name, a := range body.Attributes {
		if blockType == "variable" && name == "type" || blockType == "lifecycle" && name == "ignore_changes" {
			continue // a type constraint or attribute names, not references
		}
		for _, tr := range hclsyntax.Variables(a.Expr) {
			fn(tr, scope)
		}
	}
	for _, b := range body.Blocks {
		inner := scope
		if b.Type == "dynamic" && len(b.Labels) == 1 {
			it := b.Labels[0]
			if a, ok := b.Body.Attributes["iterator"]; ok {
				it = hcl.ExprAsKeyword(a.Expr)
			}
			inner = append(slices.Clone(scope), it)
		}
		walkBody(b.Body, b.Type, inner, fn)
	}
}

func checkReference(t reporter, d *moduleDecls, childOutputs map[string]map[string]bool, tr hcl.Traversal, scope []string) {
	rootName := tr.RootName()
	attr := func(i int) string {
		if len(tr) > i {
			if a, ok := tr[i].(hcl.TraverseAttr); ok {
				return a.Name
			}
		}
		return ""
	}
	where := tr.SourceRange().String()
	switch rootName {
	case "path", "terraform", "count", "each", "self":
		return
	case "var":
		if _, ok := d.variables[attr(1)]; !ok {
			t.Errorf("%s: var.%s is not declared", where, attr(1))
		}
	case "local":
		if !d.locals[attr(1)] {
			t.Errorf("%s: local.%s is not declared", where, attr(1))
		}
	case "module":
		name := attr(1)
		if _, ok := d.modules[name]; !ok {
			t.Errorf("%s: module.%s is not declared", where, name)
			return
		}
		// module.x.output or module.x[key].output
		out := attr(2)
		if out == "" {
			out = attr(3)
		}
		if outs := childOutputs[name]; outs != nil && out != "" && !outs[out] {
			t.Errorf("%s: module.%s has no output %q", where, name, out)
		}
	case "data":
		if !d.data[attr(1)+"."+attr(2)] {
			t.Errorf("%s: data.%s.%s is not declared", where, attr(1), attr(2))
		}
	default:
		if slices.Contains(scope, rootName) {
			return
		}
		if strings.Contains(rootName, "_") && d.resources[rootName+"."+attr(1)] {
			return
		}
		t.Errorf("%s: %s is not declared", where, strings.TrimSuffix(rootName+"."+attr(1), "."))
	}
}

// TestTerraformChecksCatchMistakes runs the module checks on a module with
// one of each mistake, so a passing TestTerraformModules means something.
func TestTerraformChecksCatchMistakes(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"main.tf": `
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
resource "aws_s3_bucket" "b" {
  bucket = "${var.missing}-${local.nope}"
  tags   = aws_iam_role.absent.tags
}
resource "random_id" "r" {
  byte_length = var.untyped
}
output "o" {
  value = data.aws_region.none.name
}
`,
		"broken.tf": "resource \"aws_sqs_queue\" \"q\" {\n  name = \n",
		"variables.tf": `variable "untyped" {}
`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recorder{}
	checkModule(rec, dir)
	// broken.tf stops tfconfig; check the rest without it as well.
	os.Remove(filepath.Join(dir, "broken.tf"))
	checkModule(rec, dir)
	for _, want := range []string{
		"broken.tf", "var.missing is not declared", "local.nope is not declared", "aws_iam_role.absent is not declared",
		"data.aws_region.none is not declared", `variable "untyped" has no type`, `variable "untyped" has no description`,
		`output "o" has no description`, "no required_version", `provider "aws" is not pinned`, `provider "random" is not pinned`,
	} {
		if !rec.has(want) {
			t.Errorf("no complaint %q in:\n%s", want, strings.Join(rec.msgs, "\n"))
		}
	}
}

// TestTerraformFmt runs terraform fmt -check where the binary exists.
func TestTerraformFmt(t *testing.T) {
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not installed; the HCL checks above still ran")
	}
	out, err := exec.Command(bin, "fmt", "-check", "-recursive", "-diff", terraformRoot).CombinedOutput()
	if err != nil {
		t.Errorf("terraform fmt -check: %v\n%s", err, out)
	}
	fmt.Fprint(os.Stderr, string(out))
}
