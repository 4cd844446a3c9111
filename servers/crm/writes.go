package crm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// WriteOut is the result of a create or update: the record as stored.
type WriteOut[T any] struct {
	Record T `json:"record"`
	// Replayed says a create was a retry of an earlier call with the same
	// idempotency key: nothing new was created.
	Replayed bool `json:"replayed,omitempty" jsonschema:"true when this create repeated an earlier one with the same idempotency_key; nothing new was created"`
}

// fieldSet collects validated column values and every validation error, so
// one call reports all problems at once.
type fieldSet struct {
	vals []store.Value
	errs []error
}

func (f *fieldSet) fail(err error) {
	if err != nil {
		f.errs = append(f.errs, err)
	}
}

func (f *fieldSet) set(col string, v any) { f.vals = append(f.vals, store.Value{Col: col, V: v}) }

// text sets a plain text column when v is given.
func (f *fieldSet) text(col string, v *string, max int, multiline bool) {
	if v == nil {
		return
	}
	if err := checkText(col, *v, max, multiline); err != nil {
		f.fail(err)
		return
	}
	// Control and bidirectional characters are refused above; what else
	// renders as nothing (zero-width characters, tag characters) is dropped
	// by the fleet's one rule for untrusted text.
	f.set(col, strings.TrimSpace(untrusted.Clean(*v)))
}

// checked sets a column whose non-empty value must pass check.
func (f *fieldSet) checked(col string, v *string, check func(string) error) {
	if v == nil {
		return
	}
	s := strings.TrimSpace(untrusted.Clean(*v))
	if s != "" {
		if err := check(s); err != nil {
			f.fail(err)
			return
		}
	}
	f.set(col, s)
}

// ref sets a link column: 0 removes the link.
func (f *fieldSet) ref(col string, v *int64) {
	switch {
	case v == nil:
	case *v == 0:
		f.set(col, nil)
	case *v < 0:
		f.fail(fmt.Errorf("%s must be a positive id (or 0 to remove the link), not %d", col, *v))
	default:
		f.set(col, *v)
	}
}

func (f *fieldSet) err() error {
	if len(f.errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid input (nothing was saved): %w", errors.Join(f.errs...))
}

var domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

func checkDomain(v string) error {
	if len(v) > 253 || !domainRE.MatchString(v) {
		return fmt.Errorf("domain %s is not a domain name like example.com (lower case, no scheme or path)", core.Quote(v))
	}
	return nil
}

func checkIdempotencyKey(k string) error {
	if k == "" {
		return nil
	}
	if err := checkText("idempotency_key", k, maxKey, false); err != nil {
		return err
	}
	return nil
}

// digest fingerprints a create request for its idempotency key.
func digest(payload any) string {
	b, _ := json.Marshal(payload)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// create stores a new record. key, when set, makes a retry with the same
// payload return the first record.
func (s *Service) create(ctx context.Context, w store.Write, key string, payload any) (int64, bool, error) {
	if err := checkIdempotencyKey(key); err != nil {
		return 0, false, err
	}
	st, err := s.store()
	if err != nil {
		return 0, false, err
	}
	var idem *store.Idempotency
	if key != "" {
		// Scoped to the caller: another principal's identical key and
		// arguments create their own record.
		idem = &store.Idempotency{Scope: authn.FromContext(ctx).ID(), Key: key, Hash: digest(payload)}
	}
	id, replayed, err := st.Create(ctx, w, idem)
	return id, replayed, s.explain(ctx, err)
}

// update applies a versioned change.
func (s *Service) update(ctx context.Context, id, expected int64, w store.Write) error {
	if len(w.Set) == 0 && !w.ReplaceContacts {
		return errors.New("nothing to change: give at least one field to update")
	}
	st, err := s.store()
	if err != nil {
		return err
	}
	return s.explain(ctx, st.Update(ctx, id, expected, w))
}

func checkVersion(id, expected int64) error {
	if err := checkID("id", id); err != nil {
		return err
	}
	if expected <= 0 {
		return fmt.Errorf("expected_version must be the record's current version (1 or more, from get_record or search_records), not %d", expected)
	}
	return nil
}

// currentProperties reads a record's properties for a versioned update and
// reports a conflict early when the version has moved on.
func (s *Service) currentProperties(ctx context.Context, kind store.Kind, id, expected int64) (map[string]any, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	var (
		props   map[string]any
		version int64
	)
	switch kind {
	case store.Companies:
		c, e := st.Company(ctx, id)
		props, version, err = c.Properties, c.Version, e
	case store.Contacts:
		c, e := st.Contact(ctx, id)
		props, version, err = c.Properties, c.Version, e
	case store.Deals:
		d, e := st.Deal(ctx, id)
		props, version, err = d.Properties, d.Version, e
	}
	if err != nil {
		return nil, s.explain(ctx, err)
	}
	if version != expected {
		return nil, s.explain(ctx, &store.ConflictError{Kind: kind, ID: id, Expected: expected, Current: version})
	}
	return props, nil
}

// properties validates custom properties and, on update, merges them into
// the current ones.
func (s *Service) properties(ctx context.Context, f *fieldSet, kind store.Kind, in map[string]any, id, expected int64) error {
	create := id == 0
	if in == nil && !create {
		return nil
	}
	props, err := checkProperties(kind, s.cfg.CustomProperties.For(kind), in, create)
	if err != nil {
		f.fail(err)
		return nil
	}
	if create {
		f.set("properties", mergeProperties(nil, props))
		return nil
	}
	current, err := s.currentProperties(ctx, kind, id, expected)
	if err != nil {
		return err
	}
	f.set("properties", mergeProperties(current, props))
	return nil
}

// propertiesHelp describes the custom properties of kind for a tool's
// description.
func (s *Service) propertiesHelp(kind store.Kind) string {
	defs := s.cfg.CustomProperties.For(kind)
	if len(defs) == 0 {
		return " No custom properties are defined for " + string(kind) + "."
	}
	parts := make([]string, len(defs))
	for i, d := range defs {
		p := d.Name + " (" + d.Type
		if d.Type == PropEnum {
			p += ": " + strings.Join(d.Values, "|")
		}
		if d.Required {
			p += ", required"
		}
		parts[i] = p + ")"
	}
	return " Custom properties: " + strings.Join(parts, ", ") + "."
}

// result reads a record after a write and returns it as a WriteOut.
func result[T, V any](ctx context.Context, s *Service, get func(*store.Store, context.Context, int64) (T, error), view func(T) V,
	id int64, replayed bool) (WriteOut[V], error) {
	st, err := s.store()
	if err != nil {
		return WriteOut[V]{}, err
	}
	rec, err := get(st, ctx, id)
	if err != nil {
		return WriteOut[V]{}, s.explain(ctx, err)
	}
	return WriteOut[V]{Record: view(rec), Replayed: replayed}, nil
}
