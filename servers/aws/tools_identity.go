package aws

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

// AccountInfo is a configured account, from config alone.
type AccountInfo struct {
	Name     string   `json:"name"`
	Default  bool     `json:"default,omitempty"`
	Regions  []string `json:"regions"`
	ReadOnly bool     `json:"read_only"`
	Writes   bool     `json:"writes"`
	Role     string   `json:"role_arn,omitempty"`
}

// ListAccountsIn optionally names one account (and checks a region
// against it).
type ListAccountsIn struct {
	Target
}

// ListAccountsOut lists the configured accounts.
type ListAccountsOut struct {
	Accounts []AccountInfo `json:"accounts"`
}

func newListAccounts(s *Service) *core.ToolDef {
	return core.NewTool(core.ToolSpec{
		Name:  "list_accounts",
		Title: "List configured AWS accounts",
		Description: "Lists the accounts this server may use (or, with account, that one), with each one's allowed regions " +
			"(the first is the default), whether it is read-only and whether writes are enabled. Makes no AWS request.",
		Toolset: toolsetIdentity, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}, func(ctx context.Context, _ *core.Call, in ListAccountsIn) (ListAccountsOut, error) {
		out := ListAccountsOut{Accounts: []AccountInfo{}}
		accts := s.Accounts()
		if in.Account != "" || in.Region != "" {
			a, _, err := s.access(in.Target, false)
			if err != nil {
				return ListAccountsOut{}, err
			}
			accts = []*Acct{a}
		}
		for _, a := range accts {
			info := AccountInfo{Name: a.Name, Default: a == s.def, Regions: a.regions, ReadOnly: a.readOnly, Writes: a.writes}
			if a.assume != nil {
				info.Role = a.assume.RoleARN
			}
			out.Accounts = append(out.Accounts, info)
		}
		return out, nil
	})
}

// IdentityIn selects the account.
type IdentityIn struct {
	Target
}

// IdentityOut is who an account's credentials are.
type IdentityOut struct {
	Where
	AccountID string `json:"account_id"`
	ARN       string `json:"arn"`
	UserID    string `json:"user_id"`
	ReadOnly  bool   `json:"read_only"`
	Writes    bool   `json:"writes"`
}

func newGetCallerIdentity(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_caller_identity",
		Title: "Who am I in an AWS account",
		Description: "Returns the identity (AWS account id, ARN) the server acts as in an account, with the account's " +
			"read-only and writes flags. With an assumed role the ARN names the session, which carries your identity.",
		Toolset: toolsetIdentity, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}, func(ctx context.Context, c *call, in IdentityIn) (IdentityOut, error) {
		cl := client(c.acct, "sts", c.region, func(cfg aws.Config) *sts.Client {
			return sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = c.acct.endpoint("sts") })
		})
		resp, err := cl.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.Options) { o.Credentials = c.creds })
		if err != nil {
			return IdentityOut{}, err
		}
		return IdentityOut{
			Where: c.where(), AccountID: aws.ToString(resp.Account), ARN: aws.ToString(resp.Arn), UserID: aws.ToString(resp.UserId),
			ReadOnly: c.acct.readOnly, Writes: c.acct.writes,
		}, nil
	})
}
