package aws

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer"
	cetypes "github.com/aws/aws-sdk-go-v2/service/costexplorer/types"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

func (c *call) ce() *costexplorer.Client {
	return client(c.acct, "ce", c.region, func(cfg aws.Config) *costexplorer.Client {
		return costexplorer.NewFromConfig(cfg, func(o *costexplorer.Options) { o.BaseEndpoint = c.acct.endpoint("ce") })
	})
}

func (c *call) ceOpts(o *costexplorer.Options) { o.Credentials = c.creds }

// datesOf checks a YYYY-MM-DD period (end exclusive).
func datesOf(start, end string, defDays int) (string, string, error) {
	const layout = "2006-01-02"
	e := time.Now().UTC().Truncate(24 * time.Hour)
	if end != "" {
		t, err := time.Parse(layout, end)
		if err != nil {
			return "", "", fmt.Errorf("end %q is not a date such as 2026-05-01", end)
		}
		e = t
	}
	st := e.AddDate(0, 0, -defDays)
	if start != "" {
		t, err := time.Parse(layout, start)
		if err != nil {
			return "", "", fmt.Errorf("start %q is not a date such as 2026-04-01", start)
		}
		st = t
	}
	if !st.Before(e) {
		return "", "", fmt.Errorf("start %s is not before end %s (end is exclusive)", st.Format(layout), e.Format(layout))
	}
	return st.Format(layout), e.Format(layout), nil
}

// CostIn asks for cost and usage.
type CostIn struct {
	Start       string `json:"start,omitempty" jsonschema:"first day, YYYY-MM-DD; 30 days before end when empty"`
	End         string `json:"end,omitempty" jsonschema:"day after the last, YYYY-MM-DD (exclusive); today when empty"`
	Granularity string `json:"granularity,omitempty" jsonschema:"DAILY or MONTHLY (default)"`
	GroupBy     string `json:"group_by,omitempty" jsonschema:"SERVICE (default), LINKED_ACCOUNT, REGION, USAGE_TYPE or NONE"`
	Metric      string `json:"metric,omitempty" jsonschema:"UnblendedCost (default), AmortizedCost, NetUnblendedCost, BlendedCost or UsageQuantity"`
	NextToken   string `json:"next_token,omitempty" jsonschema:"next_token of the previous page"`
	Target
}

// CostGroup is one group's amount in a period.
type CostGroup struct {
	Key    string `json:"key"`
	Amount string `json:"amount"`
}

// CostPeriod is one period's total and groups, largest first.
type CostPeriod struct {
	Start     string      `json:"start"`
	End       string      `json:"end"`
	Total     string      `json:"total,omitempty"`
	Unit      string      `json:"unit,omitempty"`
	Estimated bool        `json:"estimated,omitempty"`
	Groups    []CostGroup `json:"groups,omitempty"`
}

// CostOut is cost and usage per period.
type CostOut struct {
	Where
	Metric    string       `json:"metric"`
	Periods   []CostPeriod `json:"periods"`
	NextToken string       `json:"next_token,omitempty"`
}

var costMetrics = map[string]bool{"UnblendedCost": true, "AmortizedCost": true, "NetUnblendedCost": true, "BlendedCost": true, "UsageQuantity": true}

func newGetCostAndUsage(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_cost_and_usage",
		Title: "Get AWS cost and usage",
		Description: "Returns Cost Explorer cost (or usage) per day or month between two dates, grouped by service, " +
			"linked account, region or usage type. Each call is billed by AWS (USD 0.01).",
		Toolset: toolsetCost, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Confidential, Permissions: []string{"ce:GetCostAndUsage"},
	}, func(ctx context.Context, c *call, in CostIn) (CostOut, error) {
		start, end, err := datesOf(in.Start, in.End, 30)
		if err != nil {
			return CostOut{}, err
		}
		metric := in.Metric
		if metric == "" {
			metric = "UnblendedCost"
		}
		if !costMetrics[metric] {
			return CostOut{}, fmt.Errorf("metric %q is not UnblendedCost, AmortizedCost, NetUnblendedCost, BlendedCost or UsageQuantity", metric)
		}
		gran := cetypes.GranularityMonthly
		switch in.Granularity {
		case "", "MONTHLY":
		case "DAILY":
			gran = cetypes.GranularityDaily
		default:
			return CostOut{}, fmt.Errorf("granularity %q is not DAILY or MONTHLY", in.Granularity)
		}
		req := &costexplorer.GetCostAndUsageInput{
			TimePeriod: &cetypes.DateInterval{Start: aws.String(start), End: aws.String(end)}, Granularity: gran,
			Metrics: []string{metric},
		}
		if in.NextToken != "" {
			req.NextPageToken = aws.String(in.NextToken)
		}
		switch in.GroupBy {
		case "", "SERVICE", "LINKED_ACCOUNT", "REGION", "USAGE_TYPE":
			key := in.GroupBy
			if key == "" {
				key = "SERVICE"
			}
			req.GroupBy = []cetypes.GroupDefinition{{Type: cetypes.GroupDefinitionTypeDimension, Key: aws.String(key)}}
		case "NONE":
		default:
			return CostOut{}, fmt.Errorf("group_by %q is not SERVICE, LINKED_ACCOUNT, REGION, USAGE_TYPE or NONE", in.GroupBy)
		}
		resp, err := c.ce().GetCostAndUsage(ctx, req, c.ceOpts)
		if err != nil {
			return CostOut{}, err
		}
		out := CostOut{Where: c.where(), Metric: metric, Periods: []CostPeriod{}, NextToken: aws.ToString(resp.NextPageToken)}
		for _, r := range resp.ResultsByTime {
			p := CostPeriod{Estimated: r.Estimated}
			if r.TimePeriod != nil {
				p.Start, p.End = aws.ToString(r.TimePeriod.Start), aws.ToString(r.TimePeriod.End)
			}
			if t, ok := r.Total[metric]; ok {
				p.Total, p.Unit = aws.ToString(t.Amount), aws.ToString(t.Unit)
			}
			for _, g := range r.Groups {
				if v, ok := g.Metrics[metric]; ok && len(g.Keys) > 0 {
					p.Groups = append(p.Groups, CostGroup{Key: g.Keys[0], Amount: aws.ToString(v.Amount)})
					if p.Unit == "" {
						p.Unit = aws.ToString(v.Unit)
					}
				}
			}
			sort.SliceStable(p.Groups, func(i, j int) bool { return amount(p.Groups[i].Amount) > amount(p.Groups[j].Amount) })
			out.Periods = append(out.Periods, p)
		}
		return out, nil
	})
}

func amount(s string) float64 {
	var f float64
	_, _ = fmt.Sscan(s, &f)
	return f
}

// ForecastIn asks for a cost forecast.
type ForecastIn struct {
	Start       string `json:"start,omitempty" jsonschema:"first day, YYYY-MM-DD, today or later; today when empty"`
	End         string `json:"end,omitempty" jsonschema:"day after the last, YYYY-MM-DD; the first of next month when empty"`
	Granularity string `json:"granularity,omitempty" jsonschema:"DAILY or MONTHLY (default)"`
	Target
}

// ForecastPeriod is one period's forecast.
type ForecastPeriod struct {
	Start string `json:"start"`
	End   string `json:"end"`
	Mean  string `json:"mean"`
	Low   string `json:"low,omitempty"`
	High  string `json:"high,omitempty"`
}

// ForecastOut is a cost forecast.
type ForecastOut struct {
	Where
	Total   string           `json:"total"`
	Unit    string           `json:"unit,omitempty"`
	Periods []ForecastPeriod `json:"periods"`
}

func newGetCostForecast(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "get_cost_forecast",
		Title:       "Forecast AWS cost",
		Description: "Forecasts unblended cost for a future period (by default the rest of this month), with an 80% prediction interval. Billed by AWS (USD 0.01).",
		Toolset:     toolsetCost, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Confidential, Permissions: []string{"ce:GetCostForecast"},
	}, func(ctx context.Context, c *call, in ForecastIn) (ForecastOut, error) {
		now := time.Now().UTC()
		st, en := in.Start, in.End
		if st == "" {
			st = now.Format("2006-01-02")
		}
		if en == "" {
			en = time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
		}
		start, end, err := datesOf(st, en, 0)
		if err != nil {
			return ForecastOut{}, err
		}
		gran := cetypes.GranularityMonthly
		switch in.Granularity {
		case "", "MONTHLY":
		case "DAILY":
			gran = cetypes.GranularityDaily
		default:
			return ForecastOut{}, fmt.Errorf("granularity %q is not DAILY or MONTHLY", in.Granularity)
		}
		resp, err := c.ce().GetCostForecast(ctx, &costexplorer.GetCostForecastInput{
			TimePeriod: &cetypes.DateInterval{Start: aws.String(start), End: aws.String(end)}, Granularity: gran,
			Metric: cetypes.MetricUnblendedCost, PredictionIntervalLevel: aws.Int32(80),
		}, c.ceOpts)
		if err != nil {
			return ForecastOut{}, err
		}
		out := ForecastOut{Where: c.where(), Periods: []ForecastPeriod{}}
		if resp.Total != nil {
			out.Total, out.Unit = aws.ToString(resp.Total.Amount), aws.ToString(resp.Total.Unit)
		}
		for _, f := range resp.ForecastResultsByTime {
			p := ForecastPeriod{Mean: aws.ToString(f.MeanValue), Low: aws.ToString(f.PredictionIntervalLowerBound), High: aws.ToString(f.PredictionIntervalUpperBound)}
			if f.TimePeriod != nil {
				p.Start, p.End = aws.ToString(f.TimePeriod.Start), aws.ToString(f.TimePeriod.End)
			}
			out.Periods = append(out.Periods, p)
		}
		return out, nil
	})
}
