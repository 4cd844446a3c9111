package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

func (c *call) iam() *iam.Client {
	return client(c.acct, "iam", c.region, func(cfg aws.Config) *iam.Client {
		return iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = c.acct.endpoint("iam") })
	})
}

func (c *call) iamOpts(o *iam.Options) { o.Credentials = c.creds }

var (
	roleNameRE   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	pathPrefixRE = regexp.MustCompile(`^/([\x21-\x7e]{0,510}/)?$`)
	iamActionRE  = regexp.MustCompile(`^[a-z0-9-]{2,64}:[A-Za-z0-9*?]{1,128}$`)
	arnRE        = regexp.MustCompile(`^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{0,12}:[^\x00-\x1f]{1,1000}$`)
)

// RolesIn pages through roles.
type RolesIn struct {
	PathPrefix string `json:"path_prefix,omitempty" jsonschema:"only roles under this path, e.g. /service-role/"`
	Page
	Target
}

// Role is an IAM role.
type Role struct {
	Name        string `json:"name"`
	ARN         string `json:"arn"`
	Path        string `json:"path,omitempty"`
	Created     string `json:"created,omitempty"`
	Description string `json:"description,omitempty"`
	MaxSession  int32  `json:"max_session_seconds,omitempty"`
}

// RolesOut is a page of roles.
type RolesOut struct {
	Where
	Notice    string `json:"notice"`
	Roles     []Role `json:"roles"`
	NextToken string `json:"next_token,omitempty"`
}

func newListIAMRoles(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "list_iam_roles",
		Title:       "List IAM roles",
		Description: "Lists the account's IAM roles (name, ARN, path, description). get_iam_role shows one role's policies.",
		Toolset:     toolsetIAM, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"iam:ListRoles"},
	}, func(ctx context.Context, c *call, in RolesIn) (RolesOut, error) {
		n, err := in.size(1)
		if err != nil {
			return RolesOut{}, err
		}
		req := &iam.ListRolesInput{MaxItems: aws.Int32(n), Marker: in.token()}
		if in.PathPrefix != "" {
			if !pathPrefixRE.MatchString(in.PathPrefix) {
				return RolesOut{}, fmt.Errorf("path_prefix %q is not an IAM path such as /service-role/", in.PathPrefix)
			}
			req.PathPrefix = aws.String(in.PathPrefix)
		}
		resp, err := c.iam().ListRoles(ctx, req, c.iamOpts)
		if err != nil {
			return RolesOut{}, err
		}
		out := RolesOut{Where: c.where(), Notice: UntrustedNotice, Roles: []Role{}}
		if resp.IsTruncated {
			out.NextToken = aws.ToString(resp.Marker)
		}
		for _, r := range resp.Roles {
			out.Roles = append(out.Roles, Role{Name: aws.ToString(r.RoleName), ARN: aws.ToString(r.Arn), Path: aws.ToString(r.Path),
				Created: ts(r.CreateDate), Description: untrusted.Line(aws.ToString(r.Description)), MaxSession: aws.ToInt32(r.MaxSessionDuration)})
		}
		return out, nil
	})
}

// RoleIn names a role.
type RoleIn struct {
	RoleName string `json:"role_name" jsonschema:"role name (not the ARN)"`
	Target
}

// Policy is a managed policy attached to a role.
type Policy struct {
	Name string `json:"name"`
	ARN  string `json:"arn"`
}

// InlinePolicy is a role's inline policy with its document.
type InlinePolicy struct {
	Name      string `json:"name"`
	Document  string `json:"document,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
}

// RoleOut is a role with its trust policy and its policies.
type RoleOut struct {
	Where
	Notice           string         `json:"notice"`
	Role             Role           `json:"role"`
	TrustPolicy      string         `json:"trust_policy,omitempty"`
	AttachedPolicies []Policy       `json:"attached_policies"`
	InlinePolicies   []InlinePolicy `json:"inline_policies"`
	// Hint says when not every policy is listed.
	Hint string `json:"hint,omitempty"`
}

// maxInlinePolicies bounds the inline documents fetched for one role.
const maxInlinePolicies = 10

// policyDoc decodes IAM's URL-encoded policy JSON, compacts it and caps it.
func policyDoc(raw string, limit int) (string, bool) {
	doc, err := url.QueryUnescape(raw)
	if err != nil {
		doc = raw
	}
	var v any
	if json.Unmarshal([]byte(doc), &v) == nil {
		if b, err := json.Marshal(v); err == nil {
			doc = string(b)
		}
	}
	return untrusted.Truncate(untrusted.Clean(doc), limit)
}

func newGetIAMRole(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_iam_role",
		Title: "Get an IAM role and its policies",
		Description: "Returns an IAM role with its trust policy, its attached managed policies and its inline policies " +
			"with their documents (read only).",
		Toolset: toolsetIAM, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:GetRolePolicy"},
	}, func(ctx context.Context, c *call, in RoleIn) (RoleOut, error) {
		if !roleNameRE.MatchString(in.RoleName) {
			return RoleOut{}, fmt.Errorf("role_name %q is not an IAM role name (give the name, not the ARN)", in.RoleName)
		}
		limit := int(s.limits.MaxPolicyBytes)
		role, err := c.iam().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(in.RoleName)}, c.iamOpts)
		if err != nil {
			return RoleOut{}, err
		}
		out := RoleOut{Where: c.where(), Notice: UntrustedNotice, AttachedPolicies: []Policy{}, InlinePolicies: []InlinePolicy{}}
		if r := role.Role; r != nil {
			out.Role = Role{Name: aws.ToString(r.RoleName), ARN: aws.ToString(r.Arn), Path: aws.ToString(r.Path),
				Created: ts(r.CreateDate), Description: untrusted.Line(aws.ToString(r.Description)), MaxSession: aws.ToInt32(r.MaxSessionDuration)}
			out.TrustPolicy, _ = policyDoc(aws.ToString(r.AssumeRolePolicyDocument), limit)
		}
		attached, err := c.iam().ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(in.RoleName), MaxItems: aws.Int32(100)}, c.iamOpts)
		if err != nil {
			return RoleOut{}, err
		}
		for _, p := range attached.AttachedPolicies {
			out.AttachedPolicies = append(out.AttachedPolicies, Policy{Name: aws.ToString(p.PolicyName), ARN: aws.ToString(p.PolicyArn)})
		}
		inline, err := c.iam().ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(in.RoleName), MaxItems: aws.Int32(100)}, c.iamOpts)
		if err != nil {
			return RoleOut{}, err
		}
		for i, name := range inline.PolicyNames {
			if i == maxInlinePolicies {
				out.InlinePolicies = append(out.InlinePolicies, InlinePolicy{Name: name})
				continue
			}
			doc, err := c.iam().GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(in.RoleName), PolicyName: aws.String(name)}, c.iamOpts)
			if err != nil {
				return RoleOut{}, err
			}
			text, cut := policyDoc(aws.ToString(doc.PolicyDocument), limit)
			out.InlinePolicies = append(out.InlinePolicies, InlinePolicy{Name: name, Document: text, Truncated: cut})
		}
		if attached.IsTruncated || inline.IsTruncated || len(inline.PolicyNames) > maxInlinePolicies {
			out.Hint = fmt.Sprintf("the role has more policies than shown: the first 100 attached and inline names, documents of the first %d inline policies", maxInlinePolicies)
		}
		return out, nil
	})
}

// SimulateIn asks whether a principal may perform actions.
type SimulateIn struct {
	PrincipalARN string   `json:"principal_arn" jsonschema:"ARN of the role, user or group to simulate"`
	Actions      []string `json:"actions" jsonschema:"IAM actions, e.g. s3:GetObject (1-20)"`
	Resources    []string `json:"resources,omitempty" jsonschema:"resource ARNs; every resource (*) when empty"`
	Page
	Target
}

// Evaluation is one action/resource decision.
type Evaluation struct {
	Action          string   `json:"action"`
	Resource        string   `json:"resource"`
	Decision        string   `json:"decision"`
	MatchedPolicies []string `json:"matched_policies,omitempty"`
	MissingContext  []string `json:"missing_context,omitempty"`
}

// SimulateOut is the simulation's decisions.
type SimulateOut struct {
	Where
	Results   []Evaluation `json:"results"`
	NextToken string       `json:"next_token,omitempty"`
}

func newSimulatePrincipalPolicy(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "simulate_principal_policy",
		Title: "Can this role do X (IAM policy simulation)",
		Description: "Simulates a role's (or user's) IAM policies for actions on resources and returns allowed, " +
			"explicitDeny or implicitDeny per pair, with the matching policies. Nothing is executed.",
		Toolset: toolsetIAM, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"iam:SimulatePrincipalPolicy"},
	}, func(ctx context.Context, c *call, in SimulateIn) (SimulateOut, error) {
		if !arnRE.MatchString(in.PrincipalARN) {
			return SimulateOut{}, fmt.Errorf("principal_arn %q is not an ARN", in.PrincipalARN)
		}
		if len(in.Actions) == 0 || len(in.Actions) > 20 {
			return SimulateOut{}, fmt.Errorf("actions needs 1-20 IAM actions such as s3:GetObject")
		}
		for _, a := range in.Actions {
			if !iamActionRE.MatchString(a) {
				return SimulateOut{}, fmt.Errorf("action %q is not an IAM action such as s3:GetObject", a)
			}
		}
		if len(in.Resources) > 20 {
			return SimulateOut{}, fmt.Errorf("at most 20 resources")
		}
		for _, r := range in.Resources {
			if r != "*" && !arnRE.MatchString(r) {
				return SimulateOut{}, fmt.Errorf("resource %q is not an ARN or *", r)
			}
		}
		n, err := in.size(1)
		if err != nil {
			return SimulateOut{}, err
		}
		resp, err := c.iam().SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
			PolicySourceArn: aws.String(in.PrincipalARN), ActionNames: in.Actions, ResourceArns: in.Resources,
			MaxItems: aws.Int32(n), Marker: in.token(),
		}, c.iamOpts)
		if err != nil {
			return SimulateOut{}, err
		}
		out := SimulateOut{Where: c.where(), Results: []Evaluation{}}
		if resp.IsTruncated {
			out.NextToken = aws.ToString(resp.Marker)
		}
		for _, r := range resp.EvaluationResults {
			e := Evaluation{Action: aws.ToString(r.EvalActionName), Resource: aws.ToString(r.EvalResourceName),
				Decision: string(r.EvalDecision), MissingContext: r.MissingContextValues}
			for _, st := range r.MatchedStatements {
				e.MatchedPolicies = append(e.MatchedPolicies, aws.ToString(st.SourcePolicyId))
			}
			out.Results = append(out.Results, e)
		}
		return out, nil
	})
}
