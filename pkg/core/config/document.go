// Package config loads a server's configuration: one YAML document whose
// top-level keys are sections (core's own, observability, policy, the domain
// server's), layered as embedded defaults < file < environment < flags.
//
// Each module decodes its own section with [Document.Section] into a struct
// that already holds its defaults, so a key left out keeps its default. Keys
// are checked strictly: a typo fails startup instead of being ignored.
//
// Environment overrides follow the YAML path: http.addr is MCPFLEET_HTTP_ADDR,
// auth.oidc.issuer is MCPFLEET_AUTH_OIDC_ISSUER. Lists are comma-separated.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "MCPFLEET_"

// Document is a parsed configuration, split into top-level sections.
type Document struct {
	sections map[string]*yaml.Node
	lookup   func(string) (string, bool)
	// file is the config file's path, named in errors about its keys.
	file string

	mu      sync.Mutex
	used    map[string]bool
	decoded map[string]any
	// envKnown holds every override variable a decoded section reads;
	// envRefs every variable a secret reference (env:NAME) reads.
	envKnown map[string]bool
	envRefs  map[string]bool
	// collect makes Section record problems for Err instead of failing,
	// so one start reports every bad section.
	collect  bool
	problems []error
}

// Parse builds a Document from YAML layers, later layers overriding earlier
// ones key by key (lists are replaced, not appended). lookup reads
// environment variables; nil means os.LookupEnv.
func Parse(lookup func(string) (string, bool), layers ...[]byte) (*Document, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	d := &Document{sections: map[string]*yaml.Node{}, lookup: lookup, used: map[string]bool{}, decoded: map[string]any{},
		envKnown: map[string]bool{}, envRefs: map[string]bool{}}
	for i, layer := range layers {
		if len(bytes.TrimSpace(layer)) == 0 {
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(layer))
		var root yaml.Node
		if err := dec.Decode(&root); err != nil {
			if errors.Is(err, io.EOF) {
				continue
			}
			return nil, fmt.Errorf("config layer %d: %w", i+1, err)
		}
		if len(root.Content) == 0 {
			continue
		}
		top := root.Content[0]
		if top.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("config layer %d: the document must be a mapping of sections", i+1)
		}
		for j := 0; j+1 < len(top.Content); j += 2 {
			key, val := top.Content[j].Value, top.Content[j+1]
			d.sections[key] = mergeNodes(d.sections[key], val)
		}
	}
	return d, nil
}

// Load reads the YAML file at path (if path is not empty) over the embedded
// defaults.
func Load(path string, defaults []byte, lookup func(string) (string, bool)) (*Document, error) {
	layers := [][]byte{defaults}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading config: %w", err)
		}
		layers = append(layers, b)
	}
	d, err := Parse(lookup, layers...)
	if err != nil && path != "" {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if d != nil {
		d.file = path
	}
	return d, err
}

// mergeNodes overlays b on a: mappings merge key by key, anything else is
// replaced by b.
func mergeNodes(a, b *yaml.Node) *yaml.Node {
	if a == nil || a.Kind != yaml.MappingNode || b.Kind != yaml.MappingNode {
		return b
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: a.Tag, Line: b.Line, Column: b.Column}
	index := map[string]int{}
	for i := 0; i+1 < len(a.Content); i += 2 {
		index[a.Content[i].Value] = len(out.Content)
		out.Content = append(out.Content, a.Content[i], a.Content[i+1])
	}
	for i := 0; i+1 < len(b.Content); i += 2 {
		if at, ok := index[b.Content[i].Value]; ok {
			out.Content[at+1] = mergeNodes(out.Content[at+1], b.Content[i+1])
			continue
		}
		out.Content = append(out.Content, b.Content[i], b.Content[i+1])
	}
	return out
}

// Section decodes the named top-level section into into (a pointer, usually
// to a struct holding defaults), applies environment overrides and resolves
// secret references. A missing section leaves into unchanged apart from
// overrides. Every problem in the section is reported, each at its line in
// the file; after [Document.CollectErrors] they are kept for
// [Document.Err] and Section returns nil.
func (d *Document) Section(name string, into any) error {
	d.mu.Lock()
	d.used[name] = true
	d.decoded[name] = into
	node := d.sections[name]
	d.mu.Unlock()

	rv := reflect.ValueOf(into)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("config section %s: decode target must be a non-nil pointer", name)
	}
	var errs []error
	if node != nil && !(node.Kind == yaml.ScalarNode && node.Tag == "!!null") {
		errs = append(errs, unknownKeys(node, rv.Type().Elem(), name)...)
		// Decoding the node itself (not a re-encoded copy) keeps the
		// file's line numbers; yaml reports every type mismatch at once.
		if err := node.Decode(into); err != nil {
			errs = append(errs, typeErrors(err)...)
		}
	}
	known, refs := map[string]bool{}, map[string]bool{}
	errs = append(errs, applyEnv(rv.Elem(), envName(name), d.lookup, known)...)
	if err := resolveSecrets(rv.Elem(), name, d.lookup, refs); err != nil {
		errs = append(errs, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	maps.Copy(d.envKnown, known)
	maps.Copy(d.envRefs, refs)
	if len(errs) == 0 {
		return nil
	}
	prefix := "config section " + name
	if d.file != "" {
		prefix = d.file + ": " + prefix
	}
	for i, e := range errs {
		errs[i] = fmt.Errorf("%s: %w", prefix, e)
	}
	if d.collect {
		d.problems = append(d.problems, errs...)
		return nil
	}
	return errors.Join(errs...)
}

// typeErrors splits yaml's "unmarshal errors" into one error per problem,
// each starting with its line.
func typeErrors(err error) []error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []error{err}
	}
	out := make([]error, len(te.Errors))
	for i, e := range te.Errors {
		out[i] = errors.New(e)
	}
	return out
}

// CollectErrors makes every later Section call record its problems instead
// of returning them, so that a server start can decode every section (each
// module decodes its own) and report all problems at once through Err.
func (d *Document) CollectErrors() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.collect = true
}

// Err returns the problems Section recorded since CollectErrors.
func (d *Document) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return errors.Join(d.problems...)
}

// LookupEnv reads an environment variable through the same lookup the
// document was parsed with, so modules that read standard variables of their
// own (OTEL_*) see what config sees, in tests too.
func (d *Document) LookupEnv(name string) (string, bool) { return d.lookup(name) }

// Unused lists the top-level sections no module decoded, so a misspelt or
// unsupported section fails startup.
func (d *Document) Unused() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for k := range d.sections {
		if !d.used[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Effective renders every decoded section as YAML, as the modules see it
// after defaults, file, environment and flags. Secrets print as their
// reference or "[redacted]".
func (d *Document) Effective() ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return yaml.Marshal(d.decoded)
}

// Has reports whether the document sets the named section.
func (d *Document) Has(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.sections[name]
	return ok
}

func envName(path ...string) string {
	var b strings.Builder
	b.WriteString(EnvPrefix)
	for i, p := range path {
		if i > 0 {
			b.WriteByte('_')
		}
		for _, r := range strings.ToUpper(p) {
			if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
				b.WriteRune(r)
			} else {
				b.WriteByte('_')
			}
		}
	}
	return b.String()
}

func yamlKey(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("yaml")
	if tag == "-" || !f.IsExported() {
		return "", false
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name, true
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[Secret]()
	byteSizeType = reflect.TypeFor[ByteSize]()
)

// applyEnv walks v and sets every scalar field whose environment variable
// is present, recording every variable name it could read in known.
func applyEnv(v reflect.Value, name string, lookup func(string) (string, bool), known map[string]bool) []error {
	if v.Kind() == reflect.Struct && v.Type() != secretType {
		t := v.Type()
		var errs []error
		for i := range t.NumField() {
			key, ok := yamlKey(t.Field(i))
			if !ok {
				continue
			}
			errs = append(errs, applyEnv(v.Field(i), name+"_"+strings.TrimPrefix(envName(key), EnvPrefix), lookup, known)...)
		}
		return errs
	}
	if !settable(v.Type()) {
		return nil
	}
	known[name] = true
	raw, ok := lookup(name)
	if !ok {
		return nil
	}
	if err := setScalar(v, raw); err != nil {
		return []error{fmt.Errorf("%s: %w", name, err)}
	}
	return nil
}

// settable reports whether a value of type t can be set from one
// environment variable.
func settable(t reflect.Type) bool {
	switch {
	case t == secretType, t == durationType, t == byteSizeType:
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	}
	return false
}

func setScalar(v reflect.Value, raw string) error {
	switch {
	case v.Type() == secretType:
		var s Secret
		if err := s.parse(raw); err != nil {
			return err
		}
		v.Set(reflect.ValueOf(s))
		return nil
	case v.Type() == durationType:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	case v.Type() == byteSizeType:
		b, err := ParseByteSize(raw)
		if err != nil {
			return err
		}
		v.SetInt(int64(b))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			return err
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return err
		}
		v.SetFloat(f)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("only lists of strings can be set from the environment")
		}
		var items []string
		for item := range strings.SplitSeq(raw, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, item := range items {
			s.Index(i).SetString(item)
		}
		v.Set(s)
	default:
		// Maps and lists of structs are config-file only.
		return nil
	}
	return nil
}

// resolveSecrets fills in every Secret reference below v, recording the
// variables env: references read in refs.
func resolveSecrets(v reflect.Value, path string, lookup func(string) (string, bool), refs map[string]bool) error {
	switch {
	case v.Type() == secretType:
		s := v.Addr().Interface().(*Secret)
		if name, ok := strings.CutPrefix(s.ref, "env:"); ok {
			refs[name] = true
		}
		if err := s.resolve(lookup); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	case v.Kind() == reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			key, ok := yamlKey(t.Field(i))
			if !ok {
				continue
			}
			if err := resolveSecrets(v.Field(i), path+"."+key, lookup, refs); err != nil {
				return err
			}
		}
	case v.Kind() == reflect.Slice:
		for i := range v.Len() {
			if err := resolveSecrets(v.Index(i), fmt.Sprintf("%s[%d]", path, i), lookup, refs); err != nil {
				return err
			}
		}
	case v.Kind() == reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		for _, k := range keys {
			elem := reflect.New(v.Type().Elem()).Elem()
			elem.Set(v.MapIndex(k))
			if err := resolveSecrets(elem, fmt.Sprintf("%s.%v", path, k), lookup, refs); err != nil {
				return err
			}
			v.SetMapIndex(k, elem)
		}
	case v.Kind() == reflect.Pointer && !v.IsNil():
		return resolveSecrets(v.Elem(), path, lookup, refs)
	}
	return nil
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// unknownKeys walks node alongside the Go type it decodes into and reports
// every key the type has no field for, at the line where the key is
// written, with the nearest valid key. It stands in for yaml's KnownFields,
// which works only through a Decoder (so needs the node re-encoded, which
// loses the file's line numbers) and stops at the first unknown key.
func unknownKeys(node *yaml.Node, t reflect.Type, path string) []error {
	if node == nil {
		return nil
	}
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil // the type checks its own node
	}
	var errs []error
	switch t.Kind() {
	case reflect.Struct:
		if node.Kind != yaml.MappingNode {
			return nil // yaml reports the type mismatch
		}
		fields := map[string]reflect.Type{}
		var inlineMap reflect.Type
		collectFields(t, fields, &inlineMap)
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			ft, ok := fields[k.Value]
			switch {
			case ok:
				errs = append(errs, unknownKeys(v, ft, join(path, k.Value))...)
			case inlineMap != nil:
				errs = append(errs, unknownKeys(v, inlineMap.Elem(), join(path, k.Value))...)
			default:
				msg := fmt.Sprintf("line %d: unknown key %s", k.Line, join(path, k.Value))
				if near := nearest(k.Value, slices.Collect(maps.Keys(fields))); near != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", near)
				}
				errs = append(errs, errors.New(msg))
			}
		}
	case reflect.Map:
		if node.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			errs = append(errs, unknownKeys(node.Content[i+1], t.Elem(), join(path, node.Content[i].Value))...)
		}
	case reflect.Slice, reflect.Array:
		if node.Kind != yaml.SequenceNode {
			return nil
		}
		for i, item := range node.Content {
			errs = append(errs, unknownKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return errs
}

// collectFields maps the YAML keys of struct t to their types, descending
// into inline structs; an inline map takes every other key.
func collectFields(t reflect.Type, fields map[string]reflect.Type, inlineMap *reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Struct:
				collectFields(ft, fields, inlineMap)
			case reflect.Map:
				*inlineMap = ft
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
}

// DecodeStrict decodes n into v, which already holds its defaults, so that
// keys n leaves out keep them; unknown keys are refused and an error names
// n's line. Servers use it in the UnmarshalYAML of their named entries
// (connections, workspaces, accounts), passing a type without that method
// so the decode does not recurse.
func DecodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}
