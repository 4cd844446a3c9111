package github

import (
	"context"
	"fmt"

	gh "github.com/google/go-github/v66/github"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

// AlertsIn lists or reads security alerts of one kind.
type AlertsIn struct {
	RepoArgs
	Kind     string `json:"kind" jsonschema:"which scanner's alerts"`
	Number   int    `json:"number,omitempty" jsonschema:"one alert by number (lists when empty)"`
	State    string `json:"state,omitempty" jsonschema:"filter, e.g. open, dismissed, fixed (code_scanning, dependabot) or open, resolved (secret_scanning)"`
	Severity string `json:"severity,omitempty" jsonschema:"filter: critical, high, medium, low (code_scanning also warning, note, error)"`
	Page
}

// Enums lists the values core accepts for AlertsIn's enumerated properties.
func (AlertsIn) Enums() map[string][]string {
	return map[string][]string{"kind": {"code_scanning", "dependabot", "secret_scanning"}}
}

// SecurityAlert is an alert of any kind. Secret scanning alerts never
// carry the secret itself.
type SecurityAlert struct {
	Number      int    `json:"number"`
	State       string `json:"state"`
	Severity    string `json:"severity,omitempty"`
	Summary     string `json:"summary"`
	Rule        string `json:"rule,omitempty"`
	Package     string `json:"package,omitempty"`
	Ecosystem   string `json:"ecosystem,omitempty"`
	FixedIn     string `json:"fixed_in,omitempty"`
	Location    string `json:"location,omitempty"`
	SecretType  string `json:"secret_type,omitempty"`
	CreatedAt   string `json:"created_at,omitempty"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url"`
}

// AlertsOut is a page of alerts, or one.
type AlertsOut struct {
	Notice     string          `json:"notice"`
	Alerts     []SecurityAlert `json:"alerts"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

func newGetSecurityAlerts(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_security_alerts",
		Title: "Get code security alerts",
		Description: "Lists or reads a repository's code scanning, Dependabot or secret scanning alerts (secret values are never returned). " +
			"Give number for one alert with its description.",
		Toolset: toolsetCodeSecurity, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Confidential, Permissions: []string{"security_events:read", "vulnerability_alerts:read", "secret_scanning_alerts:read"},
	}, func(ctx context.Context, c *Conn, in AlertsIn) (AlertsOut, error) {
		opts, err := in.options()
		if err != nil {
			return AlertsOut{}, err
		}
		if in.Number < 0 {
			return AlertsOut{}, fmt.Errorf("number %d is not an alert number", in.Number)
		}
		out := AlertsOut{Notice: UntrustedNotice, Alerts: []SecurityAlert{}}
		var resp *gh.Response
		switch in.Kind {
		case "code_scanning":
			var alerts []*gh.Alert
			if in.Number > 0 {
				var a *gh.Alert
				if a, _, err = c.client.CodeScanning.GetAlert(ctx, in.Owner, in.Repo, int64(in.Number)); err == nil {
					alerts = []*gh.Alert{a}
				}
			} else {
				alerts, resp, err = c.client.CodeScanning.ListAlertsForRepo(ctx, in.Owner, in.Repo,
					&gh.AlertListOptions{State: in.State, Severity: in.Severity, ListOptions: opts})
			}
			for _, a := range alerts {
				out.Alerts = append(out.Alerts, codeScanningView(a, in.Number > 0))
			}
		case "dependabot":
			var alerts []*gh.DependabotAlert
			if in.Number > 0 {
				var a *gh.DependabotAlert
				if a, _, err = c.client.Dependabot.GetRepoAlert(ctx, in.Owner, in.Repo, in.Number); err == nil {
					alerts = []*gh.DependabotAlert{a}
				}
			} else {
				lo := &gh.ListAlertsOptions{ListOptions: opts}
				if in.State != "" {
					lo.State = gh.String(in.State)
				}
				if in.Severity != "" {
					lo.Severity = gh.String(in.Severity)
				}
				alerts, resp, err = c.client.Dependabot.ListRepoAlerts(ctx, in.Owner, in.Repo, lo)
			}
			for _, a := range alerts {
				out.Alerts = append(out.Alerts, dependabotView(a, in.Number > 0))
			}
		default:
			var alerts []*gh.SecretScanningAlert
			if in.Number > 0 {
				var a *gh.SecretScanningAlert
				if a, _, err = c.client.SecretScanning.GetAlert(ctx, in.Owner, in.Repo, int64(in.Number)); err == nil {
					alerts = []*gh.SecretScanningAlert{a}
				}
			} else {
				alerts, resp, err = c.client.SecretScanning.ListAlertsForRepo(ctx, in.Owner, in.Repo,
					&gh.SecretScanningAlertListOptions{State: in.State, ListOptions: opts})
			}
			for _, a := range alerts {
				out.Alerts = append(out.Alerts, SecurityAlert{Number: a.GetNumber(), State: a.GetState(),
					Summary: untrusted.Line(a.GetSecretTypeDisplayName()), SecretType: a.GetSecretType(),
					CreatedAt: ts(a.CreatedAt), URL: a.GetHTMLURL()})
			}
		}
		if err != nil {
			return AlertsOut{}, err
		}
		out.NextCursor = next(resp)
		return out, nil
	})
}

func codeScanningView(a *gh.Alert, detail bool) SecurityAlert {
	v := SecurityAlert{
		Number: a.GetNumber(), State: a.GetState(), Severity: a.GetRule().GetSecuritySeverityLevel(),
		Summary: untrusted.Line(a.GetRule().GetDescription()), Rule: a.GetRule().GetID(), CreatedAt: ts(a.CreatedAt), URL: a.GetHTMLURL(),
	}
	if v.Severity == "" {
		v.Severity = a.GetRule().GetSeverity()
	}
	if loc := a.GetMostRecentInstance().GetLocation(); loc != nil {
		v.Location = fmt.Sprintf("%s:%d", loc.GetPath(), loc.GetStartLine())
	}
	if detail {
		v.Description = untrusted.Body(a.GetRule().GetFullDescription() + "\n\n" + a.GetRule().GetHelp())
	}
	return v
}

func dependabotView(a *gh.DependabotAlert, detail bool) SecurityAlert {
	adv := a.GetSecurityAdvisory()
	v := SecurityAlert{
		Number: a.GetNumber(), State: a.GetState(), Severity: adv.GetSeverity(), Summary: untrusted.Line(adv.GetSummary()),
		Rule: adv.GetGHSAID(), Package: a.GetDependency().GetPackage().GetName(), Ecosystem: a.GetDependency().GetPackage().GetEcosystem(),
		FixedIn: a.GetSecurityVulnerability().GetFirstPatchedVersion().GetIdentifier(), Location: a.GetDependency().GetManifestPath(),
		CreatedAt: ts(a.CreatedAt), URL: a.GetHTMLURL(),
	}
	if detail {
		v.Description = untrusted.Body(adv.GetDescription())
	}
	return v
}
