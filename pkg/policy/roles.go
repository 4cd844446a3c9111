package policy

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
)

// maxRoles is how many roles a document may declare: role membership is a
// fixed-size bitmap so that matching allocates nothing.
const maxRoles = 256

// roleSet is a set of role indexes.
type roleSet [maxRoles / 64]uint64

func (s *roleSet) add(i int)     { s[i/64] |= 1 << (i % 64) }
func (s roleSet) has(i int) bool { return s[i/64]&(1<<(i%64)) != 0 }

func (s roleSet) intersects(o roleSet) bool {
	for i := range s {
		if s[i]&o[i] != 0 {
			return true
		}
	}
	return false
}

// each calls f with every index in the set, in increasing order.
func (s roleSet) each(f func(int)) {
	for w, word := range s {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			f(w*64 + b)
			word &^= 1 << b
		}
	}
}

type compiledRole struct {
	name      string
	clearance int
	members   []compiledMember
}

type claimMatch struct {
	name   string
	values []string
}

type compiledMember struct {
	any       bool
	subjects  patterns
	clientIDs patterns
	groups    []string
	scopes    []string
	apiKeys   []string
	methods   []string
	issuers   []string
	claims    []claimMatch
	cond      *condition
}

var validMethods = []string{authn.MethodJWT, authn.MethodAPIKey, authn.MethodStdio, authn.MethodNone}

func compileMember(envs *celEnvs, m Member) (compiledMember, []string) {
	var errs []string
	cm := compiledMember{any: m.Any, groups: m.Groups, scopes: m.Scopes, apiKeys: m.APIKeys,
		methods: m.Methods, issuers: m.Issuers}
	var err error
	if cm.subjects, err = compilePatterns(m.Subjects); err != nil {
		errs = append(errs, "subjects: "+err.Error())
	}
	if cm.clientIDs, err = compilePatterns(m.ClientIDs); err != nil {
		errs = append(errs, "client_ids: "+err.Error())
	}
	for _, meth := range m.Methods {
		if !slices.Contains(validMethods, meth) {
			errs = append(errs, fmt.Sprintf("methods: %q is not one of jwt, api_key, stdio, none", meth))
		}
	}
	names := make([]string, 0, len(m.Claims))
	for name := range m.Claims {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if name == "" {
			errs = append(errs, "claims: empty claim name")
			continue
		}
		cm.claims = append(cm.claims, claimMatch{name: name, values: m.Claims[name]})
	}
	if m.Condition != "" {
		if err := envs.ready(); err != nil {
			return cm, []string{err.Error()}
		}
		c, err := compileCondition(envs.role, nil, m.Condition)
		if err != nil {
			errs = append(errs, err.Error()+" (role conditions may use principal and now)")
		}
		cm.cond = c
	}
	empty := !m.Any && len(m.Subjects) == 0 && len(m.ClientIDs) == 0 && len(m.Groups) == 0 && len(m.Scopes) == 0 &&
		len(m.APIKeys) == 0 && len(m.Methods) == 0 && len(m.Issuers) == 0 && len(m.Claims) == 0 && m.Condition == ""
	if empty {
		errs = append(errs, "matches nobody: set at least one field (any: true for every principal)")
	}
	return cm, errs
}

// match reports whether p satisfies every field of the member. act is
// created on demand for conditions.
func (m *compiledMember) match(p *authn.Principal, act **activation, now time.Time) (bool, error) {
	if m.any {
		return true, nil
	}
	if len(m.subjects) > 0 && !m.subjects.match(p.Subject) {
		return false, nil
	}
	if len(m.clientIDs) > 0 && !m.clientIDs.match(p.ClientID) {
		return false, nil
	}
	if len(m.groups) > 0 && !anyShared(m.groups, p.Groups) {
		return false, nil
	}
	if len(m.scopes) > 0 && !anyShared(m.scopes, p.Scopes) {
		return false, nil
	}
	if len(m.apiKeys) > 0 && (p.Method != authn.MethodAPIKey || !slices.Contains(m.apiKeys, p.Subject)) {
		return false, nil
	}
	if len(m.methods) > 0 && !slices.Contains(m.methods, p.Method) {
		return false, nil
	}
	if len(m.issuers) > 0 && !slices.Contains(m.issuers, p.Issuer) {
		return false, nil
	}
	for _, c := range m.claims {
		if !claimHas(p.Claims[c.name], c.values) {
			return false, nil
		}
	}
	if m.cond != nil {
		if *act == nil {
			*act = &activation{principal: p, now: now}
		}
		return m.cond.eval(*act)
	}
	return true, nil
}

func anyShared(want, have []string) bool {
	for _, h := range have {
		if slices.Contains(want, h) {
			return true
		}
	}
	return false
}

// claimHas reports whether a claim (a string, number, boolean or a list of
// them) has one of the wanted values.
func claimHas(claim any, want []string) bool {
	switch v := claim.(type) {
	case nil:
		return false
	case string:
		return slices.Contains(want, v)
	case bool:
		return slices.Contains(want, strconv.FormatBool(v))
	case float64:
		return slices.Contains(want, strconv.FormatFloat(v, 'f', -1, 64))
	case []any:
		for _, e := range v {
			if claimHas(e, want) {
				return true
			}
		}
	case []string:
		return anyShared(want, v)
	}
	return false
}
