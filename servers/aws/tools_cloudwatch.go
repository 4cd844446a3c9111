package aws

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

func (c *call) cw() *cloudwatch.Client {
	return client(c.acct, "monitoring", c.region, func(cfg aws.Config) *cloudwatch.Client {
		return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = c.acct.endpoint("monitoring") })
	})
}

func (c *call) cwOpts(o *cloudwatch.Options) { o.Credentials = c.creds }

// Dimension is a metric dimension.
type Dimension struct {
	Name  string `json:"name" jsonschema:"dimension name, e.g. InstanceId"`
	Value string `json:"value" jsonschema:"dimension value, e.g. i-0123456789abcdef0"`
}

// MetricIn names one metric and how to aggregate it.
type MetricIn struct {
	Namespace  string      `json:"namespace" jsonschema:"metric namespace, e.g. AWS/EC2"`
	MetricName string      `json:"metric_name" jsonschema:"metric name, e.g. CPUUtilization"`
	Dimensions []Dimension `json:"dimensions,omitempty" jsonschema:"dimensions, e.g. {name: InstanceId, value: i-0123...}"`
	Stat       string      `json:"stat,omitempty" jsonschema:"Average (default), Sum, Minimum, Maximum, SampleCount or a percentile such as p99"`
	Period     int32       `json:"period_seconds,omitempty" jsonschema:"period in seconds, a multiple of 60 (default 300)"`
	Start      string      `json:"start,omitempty" jsonschema:"RFC 3339 start; 3 hours before end when empty"`
	End        string      `json:"end,omitempty" jsonschema:"RFC 3339 end; now when empty"`
}

var (
	statRE      = regexp.MustCompile(`^(Average|Sum|Minimum|Maximum|SampleCount|(p|tm|wm|tc|ts)[0-9]{1,2}(\.[0-9]{1,2})?)$`)
	namespaceRE = regexp.MustCompile(`^[^:][^\x00-\x1f]{0,254}$`)
)

func (m MetricIn) check() (string, int32, time.Time, time.Time, error) {
	stat := m.Stat
	if stat == "" {
		stat = "Average"
	}
	if !statRE.MatchString(stat) {
		return "", 0, time.Time{}, time.Time{}, fmt.Errorf("stat %q is not Average, Sum, Minimum, Maximum, SampleCount or a percentile like p99", stat)
	}
	if !namespaceRE.MatchString(m.Namespace) || m.MetricName == "" || len(m.MetricName) > 255 {
		return "", 0, time.Time{}, time.Time{}, fmt.Errorf("namespace and metric_name are required (e.g. AWS/EC2 and CPUUtilization)")
	}
	if len(m.Dimensions) > 30 {
		return "", 0, time.Time{}, time.Time{}, fmt.Errorf("at most 30 dimensions")
	}
	period := m.Period
	if period == 0 {
		period = 300
	}
	if period < 60 || period%60 != 0 || period > 86400 {
		return "", 0, time.Time{}, time.Time{}, fmt.Errorf("period_seconds %d must be a multiple of 60 up to 86400", period)
	}
	start, end, err := timeRange(m.Start, m.End, 3*time.Hour)
	if err != nil {
		return "", 0, time.Time{}, time.Time{}, err
	}
	if end.Sub(start)/time.Duration(period)/time.Second > 1440 {
		return "", 0, time.Time{}, time.Time{}, fmt.Errorf("the window holds more than 1440 periods of %ds: widen period_seconds or narrow start..end", period)
	}
	return stat, period, start, end, nil
}

func (m MetricIn) dims() []cwtypes.Dimension {
	var out []cwtypes.Dimension
	for _, d := range m.Dimensions {
		out = append(out, cwtypes.Dimension{Name: aws.String(d.Name), Value: aws.String(d.Value)})
	}
	return out
}

// MetricDataIn asks for one metric's datapoints.
type MetricDataIn struct {
	MetricIn
	Page
	Target
}

// Point is one datapoint.
type Point struct {
	Time  string  `json:"t"`
	Value float64 `json:"v"`
}

// MetricDataOut is a metric's datapoints.
type MetricDataOut struct {
	Where
	Label     string  `json:"label,omitempty"`
	Stat      string  `json:"stat"`
	Period    int32   `json:"period_seconds"`
	Status    string  `json:"status,omitempty"`
	Points    []Point `json:"points"`
	NextToken string  `json:"next_token,omitempty"`
}

func newGetMetricData(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_metric_data",
		Title: "Get CloudWatch metric data",
		Description: "Returns a CloudWatch metric's datapoints (oldest first) aggregated by stat (Average, Sum, Maximum, p99, ...) " +
			"over period_seconds between start and end.",
		Toolset: toolsetCloudWatch, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"cloudwatch:GetMetricData"},
	}, func(ctx context.Context, c *call, in MetricDataIn) (MetricDataOut, error) {
		stat, period, start, end, err := in.check()
		if err != nil {
			return MetricDataOut{}, err
		}
		n, err := in.size(1)
		if err != nil {
			return MetricDataOut{}, err
		}
		resp, err := c.cw().GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(start), EndTime: aws.Time(end), NextToken: in.token(), MaxDatapoints: aws.Int32(n * 10),
			ScanBy: cwtypes.ScanByTimestampAscending,
			MetricDataQueries: []cwtypes.MetricDataQuery{{
				Id: aws.String("m0"),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String(in.Namespace), MetricName: aws.String(in.MetricName), Dimensions: in.dims()},
					Period: aws.Int32(period), Stat: aws.String(stat),
				},
			}},
		}, c.cwOpts)
		if err != nil {
			return MetricDataOut{}, err
		}
		out := MetricDataOut{Where: c.where(), Stat: stat, Period: period, Points: []Point{}, NextToken: aws.ToString(resp.NextToken)}
		for _, r := range resp.MetricDataResults {
			out.Label, out.Status = untrusted.Line(aws.ToString(r.Label)), string(r.StatusCode)
			for i, t := range r.Timestamps {
				if i < len(r.Values) {
					out.Points = append(out.Points, Point{Time: t.UTC().Format(time.RFC3339), Value: r.Values[i]})
				}
			}
		}
		return out, nil
	})
}

// MetricStatisticsIn asks for a metric's statistics.
type MetricStatisticsIn struct {
	MetricIn
	Target
}

// Stats is one period's statistics.
type Stats struct {
	Time        string             `json:"t"`
	Average     *float64           `json:"average,omitempty"`
	Sum         *float64           `json:"sum,omitempty"`
	Minimum     *float64           `json:"minimum,omitempty"`
	Maximum     *float64           `json:"maximum,omitempty"`
	SampleCount *float64           `json:"sample_count,omitempty"`
	Percentiles map[string]float64 `json:"percentiles,omitempty"`
	Unit        string             `json:"unit,omitempty"`
}

// MetricStatisticsOut is a metric's statistics per period, oldest first.
type MetricStatisticsOut struct {
	Where
	Label  string  `json:"label,omitempty"`
	Period int32   `json:"period_seconds"`
	Points []Stats `json:"points"`
}

func newGetMetricStatistics(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_metric_statistics",
		Title: "Get CloudWatch metric statistics",
		Description: "Returns a metric's Average, Sum, Minimum, Maximum and SampleCount per period at once " +
			"(or one percentile given as stat, e.g. p99), oldest first.",
		Toolset: toolsetCloudWatch, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"cloudwatch:GetMetricStatistics"},
	}, func(ctx context.Context, c *call, in MetricStatisticsIn) (MetricStatisticsOut, error) {
		stat, period, start, end, err := in.check()
		if err != nil {
			return MetricStatisticsOut{}, err
		}
		req := &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String(in.Namespace), MetricName: aws.String(in.MetricName), Dimensions: in.dims(),
			StartTime: aws.Time(start), EndTime: aws.Time(end), Period: aws.Int32(period),
		}
		if in.Stat != "" && statRE.MatchString(stat) && stat[0] >= 'a' {
			req.ExtendedStatistics = []string{stat}
		} else {
			req.Statistics = []cwtypes.Statistic{cwtypes.StatisticAverage, cwtypes.StatisticSum, cwtypes.StatisticMinimum, cwtypes.StatisticMaximum, cwtypes.StatisticSampleCount}
		}
		resp, err := c.cw().GetMetricStatistics(ctx, req, c.cwOpts)
		if err != nil {
			return MetricStatisticsOut{}, err
		}
		out := MetricStatisticsOut{Where: c.where(), Label: untrusted.Line(aws.ToString(resp.Label)), Period: period, Points: []Stats{}}
		for _, d := range resp.Datapoints {
			out.Points = append(out.Points, Stats{Time: ts(d.Timestamp), Average: d.Average, Sum: d.Sum, Minimum: d.Minimum,
				Maximum: d.Maximum, SampleCount: d.SampleCount, Percentiles: d.ExtendedStatistics, Unit: string(d.Unit)})
		}
		sortStats(out.Points)
		return out, nil
	})
}

// sortStats orders datapoints by time: CloudWatch returns them unordered.
func sortStats(ps []Stats) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Time < ps[j-1].Time; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// AlarmsIn selects alarms.
type AlarmsIn struct {
	State      string `json:"state,omitempty" jsonschema:"ALARM (default), OK, INSUFFICIENT_DATA or ANY"`
	NamePrefix string `json:"name_prefix,omitempty" jsonschema:"only alarms whose names start with this"`
	Page
	Target
}

// Alarm is a metric or composite alarm.
type Alarm struct {
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`
	State       string   `json:"state"`
	Reason      string   `json:"reason,omitempty"`
	Since       string   `json:"since,omitempty"`
	Description string   `json:"description,omitempty"`
	Metric      string   `json:"metric,omitempty"`
	Threshold   *float64 `json:"threshold,omitempty"`
	Comparison  string   `json:"comparison,omitempty"`
	Rule        string   `json:"rule,omitempty"`
}

// AlarmsOut is a page of alarms.
type AlarmsOut struct {
	Where
	Notice    string  `json:"notice"`
	Alarms    []Alarm `json:"alarms"`
	NextToken string  `json:"next_token,omitempty"`
}

func newDescribeAlarms(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "describe_alarms",
		Title: "Describe CloudWatch alarms",
		Description: "Lists CloudWatch metric and composite alarms, by default those in ALARM state, with the reason " +
			"and the time they entered it.",
		Toolset: toolsetCloudWatch, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"cloudwatch:DescribeAlarms"},
	}, func(ctx context.Context, c *call, in AlarmsIn) (AlarmsOut, error) {
		n, err := in.size(1)
		if err != nil {
			return AlarmsOut{}, err
		}
		req := &cloudwatch.DescribeAlarmsInput{MaxRecords: aws.Int32(n), NextToken: in.token(),
			AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}}
		switch in.State {
		case "", "ALARM":
			req.StateValue = cwtypes.StateValueAlarm
		case "OK", "INSUFFICIENT_DATA":
			req.StateValue = cwtypes.StateValue(in.State)
		case "ANY":
		default:
			return AlarmsOut{}, fmt.Errorf("state %q is not ALARM, OK, INSUFFICIENT_DATA or ANY", in.State)
		}
		if in.NamePrefix != "" {
			req.AlarmNamePrefix = aws.String(in.NamePrefix)
		}
		resp, err := c.cw().DescribeAlarms(ctx, req, c.cwOpts)
		if err != nil {
			return AlarmsOut{}, err
		}
		out := AlarmsOut{Where: c.where(), Notice: UntrustedNotice, Alarms: []Alarm{}, NextToken: aws.ToString(resp.NextToken)}
		for _, a := range resp.MetricAlarms {
			out.Alarms = append(out.Alarms, Alarm{
				Name: untrusted.Line(aws.ToString(a.AlarmName)), Kind: "metric", State: string(a.StateValue),
				Reason: untrusted.Line(aws.ToString(a.StateReason)), Since: ts(a.StateUpdatedTimestamp),
				Description: untrusted.Line(aws.ToString(a.AlarmDescription)),
				Metric:      aws.ToString(a.Namespace) + "/" + aws.ToString(a.MetricName), Threshold: a.Threshold,
				Comparison: string(a.ComparisonOperator),
			})
		}
		for _, a := range resp.CompositeAlarms {
			out.Alarms = append(out.Alarms, Alarm{
				Name: untrusted.Line(aws.ToString(a.AlarmName)), Kind: "composite", State: string(a.StateValue),
				Reason: untrusted.Line(aws.ToString(a.StateReason)), Since: ts(a.StateUpdatedTimestamp),
				Description: untrusted.Line(aws.ToString(a.AlarmDescription)), Rule: untrusted.Line(aws.ToString(a.AlarmRule)),
			})
		}
		return out, nil
	})
}

// AlarmHistoryIn selects alarm history.
type AlarmHistoryIn struct {
	AlarmName string `json:"alarm_name,omitempty" jsonschema:"one alarm; every alarm when empty"`
	Type      string `json:"type,omitempty" jsonschema:"StateUpdate (default), ConfigurationUpdate, Action or ANY"`
	Start     string `json:"start,omitempty" jsonschema:"RFC 3339 start; 24 hours before end when empty"`
	End       string `json:"end,omitempty" jsonschema:"RFC 3339 end; now when empty"`
	Page
	Target
}

// HistoryItem is one alarm history entry.
type HistoryItem struct {
	Time    string `json:"time"`
	Alarm   string `json:"alarm"`
	Type    string `json:"type"`
	Summary string `json:"summary"`
}

// AlarmHistoryOut is a page of alarm history, newest first.
type AlarmHistoryOut struct {
	Where
	Notice    string        `json:"notice"`
	Items     []HistoryItem `json:"items"`
	NextToken string        `json:"next_token,omitempty"`
}

func newDescribeAlarmHistory(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "describe_alarm_history",
		Title:       "CloudWatch alarm history",
		Description: "Lists alarm state changes (and with type, configuration changes or actions), newest first.",
		Toolset:     toolsetCloudWatch, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"cloudwatch:DescribeAlarmHistory"},
	}, func(ctx context.Context, c *call, in AlarmHistoryIn) (AlarmHistoryOut, error) {
		n, err := in.size(1)
		if err != nil {
			return AlarmHistoryOut{}, err
		}
		start, end, err := timeRange(in.Start, in.End, 24*time.Hour)
		if err != nil {
			return AlarmHistoryOut{}, err
		}
		req := &cloudwatch.DescribeAlarmHistoryInput{StartDate: aws.Time(start), EndDate: aws.Time(end), MaxRecords: aws.Int32(n),
			NextToken: in.token(), ScanBy: cwtypes.ScanByTimestampDescending}
		switch in.Type {
		case "":
			req.HistoryItemType = cwtypes.HistoryItemTypeStateUpdate
		case "StateUpdate", "ConfigurationUpdate", "Action":
			req.HistoryItemType = cwtypes.HistoryItemType(in.Type)
		case "ANY":
		default:
			return AlarmHistoryOut{}, fmt.Errorf("type %q is not StateUpdate, ConfigurationUpdate, Action or ANY", in.Type)
		}
		if in.AlarmName != "" {
			req.AlarmName = aws.String(in.AlarmName)
		}
		resp, err := c.cw().DescribeAlarmHistory(ctx, req, c.cwOpts)
		if err != nil {
			return AlarmHistoryOut{}, err
		}
		out := AlarmHistoryOut{Where: c.where(), Notice: UntrustedNotice, Items: []HistoryItem{}, NextToken: aws.ToString(resp.NextToken)}
		for _, h := range resp.AlarmHistoryItems {
			out.Items = append(out.Items, HistoryItem{Time: ts(h.Timestamp), Alarm: untrusted.Line(aws.ToString(h.AlarmName)),
				Type: string(h.HistoryItemType), Summary: untrusted.Line(aws.ToString(h.HistorySummary))})
		}
		return out, nil
	})
}
