package aws

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

func (c *call) logs() *cloudwatchlogs.Client {
	return client(c.acct, "logs", c.region, func(cfg aws.Config) *cloudwatchlogs.Client {
		return cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = c.acct.endpoint("logs") })
	})
}

func (c *call) logsOpts(o *cloudwatchlogs.Options) { o.Credentials = c.creds }

var logGroupRE = regexp.MustCompile(`^[\w./#-]{1,512}$`)

func checkLogGroup(g string) error {
	if !logGroupRE.MatchString(g) {
		return fmt.Errorf("log group %q is not a log group name (letters, digits, _ - / . #)", g)
	}
	return nil
}

func msTime(ms *int64) string {
	if ms == nil || *ms == 0 {
		return ""
	}
	return time.UnixMilli(*ms).UTC().Format(time.RFC3339)
}

// LogGroupsIn lists log groups.
type LogGroupsIn struct {
	Prefix string `json:"prefix,omitempty" jsonschema:"only groups whose names start with this, e.g. /aws/lambda/"`
	Page
	Target
}

// LogGroup is a log group.
type LogGroup struct {
	Name          string `json:"name"`
	Created       string `json:"created,omitempty"`
	RetentionDays int32  `json:"retention_days,omitempty"`
	StoredBytes   int64  `json:"stored_bytes,omitempty"`
}

// LogGroupsOut is a page of log groups.
type LogGroupsOut struct {
	Where
	LogGroups []LogGroup `json:"log_groups"`
	NextToken string     `json:"next_token,omitempty"`
}

func newDescribeLogGroups(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "describe_log_groups",
		Title:       "List CloudWatch log groups",
		Description: "Lists CloudWatch Logs log groups (name, retention, stored bytes), optionally under a name prefix.",
		Toolset:     toolsetLogs, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"logs:DescribeLogGroups"},
	}, func(ctx context.Context, c *call, in LogGroupsIn) (LogGroupsOut, error) {
		n, err := in.size(1)
		if err != nil {
			return LogGroupsOut{}, err
		}
		req := &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(min(n, 50)), NextToken: in.token()}
		if in.Prefix != "" {
			if err := checkLogGroup(in.Prefix); err != nil {
				return LogGroupsOut{}, err
			}
			req.LogGroupNamePrefix = aws.String(in.Prefix)
		}
		resp, err := c.logs().DescribeLogGroups(ctx, req, c.logsOpts)
		if err != nil {
			return LogGroupsOut{}, err
		}
		out := LogGroupsOut{Where: c.where(), LogGroups: []LogGroup{}, NextToken: aws.ToString(resp.NextToken)}
		for _, g := range resp.LogGroups {
			out.LogGroups = append(out.LogGroups, LogGroup{Name: aws.ToString(g.LogGroupName), Created: msTime(g.CreationTime),
				RetentionDays: aws.ToInt32(g.RetentionInDays), StoredBytes: aws.ToInt64(g.StoredBytes)})
		}
		return out, nil
	})
}

// FilterLogEventsIn searches a log group.
type FilterLogEventsIn struct {
	LogGroup string `json:"log_group" jsonschema:"log group name"`
	Pattern  string `json:"pattern,omitempty" jsonschema:"CloudWatch filter pattern, e.g. ERROR or { $.level = \"error\" }"`
	Start    string `json:"start,omitempty" jsonschema:"RFC 3339 start; 1 hour before end when empty"`
	End      string `json:"end,omitempty" jsonschema:"RFC 3339 end; now when empty"`
	Page
	Target
}

// LogEvent is one log event.
type LogEvent struct {
	Time      string `json:"time"`
	Stream    string `json:"stream,omitempty"`
	Message   string `json:"message"`
	Truncated bool   `json:"truncated,omitempty"`
}

// FilterLogEventsOut is a page of matching events, oldest first.
type FilterLogEventsOut struct {
	Where
	Notice    string     `json:"notice"`
	Events    []LogEvent `json:"events"`
	NextToken string     `json:"next_token,omitempty"`
}

func newFilterLogEvents(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "filter_log_events",
		Title: "Search CloudWatch log events",
		Description: "Returns log events of a log group matching a filter pattern in a time window, oldest first. " +
			"Messages are cut at the server's cap. For aggregation use query_logs_insights.",
		Toolset: toolsetLogs, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Confidential, Permissions: []string{"logs:FilterLogEvents"},
	}, func(ctx context.Context, c *call, in FilterLogEventsIn) (FilterLogEventsOut, error) {
		if err := checkLogGroup(in.LogGroup); err != nil {
			return FilterLogEventsOut{}, err
		}
		if len(in.Pattern) > 1024 {
			return FilterLogEventsOut{}, fmt.Errorf("pattern is longer than 1024 characters")
		}
		n, err := in.size(1)
		if err != nil {
			return FilterLogEventsOut{}, err
		}
		start, end, err := timeRange(in.Start, in.End, time.Hour)
		if err != nil {
			return FilterLogEventsOut{}, err
		}
		req := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(in.LogGroup), Limit: aws.Int32(n), NextToken: in.token(),
			StartTime: aws.Int64(start.UnixMilli()), EndTime: aws.Int64(end.UnixMilli())}
		if in.Pattern != "" {
			req.FilterPattern = aws.String(in.Pattern)
		}
		resp, err := c.logs().FilterLogEvents(ctx, req, c.logsOpts)
		if err != nil {
			return FilterLogEventsOut{}, err
		}
		out := FilterLogEventsOut{Where: c.where(), Notice: UntrustedNotice, Events: []LogEvent{}, NextToken: aws.ToString(resp.NextToken)}
		for _, e := range resp.Events {
			msg, cut := untrusted.Truncate(aws.ToString(e.Message), int(s.limits.MaxMessageBytes))
			out.Events = append(out.Events, LogEvent{Time: msTime(e.Timestamp), Stream: untrusted.Line(aws.ToString(e.LogStreamName)),
				Message: untrusted.Code(strings.TrimRight(msg, "\n")), Truncated: cut})
		}
		return out, nil
	})
}

// InsightsIn starts a Logs Insights query, or polls one started before.
type InsightsIn struct {
	LogGroups []string `json:"log_groups,omitempty" jsonschema:"log groups to query (1-50); not needed with query_id"`
	Query     string   `json:"query,omitempty" jsonschema:"Logs Insights query, e.g. fields @timestamp, @message | filter @message like /ERROR/ | limit 20"`
	Start     string   `json:"start,omitempty" jsonschema:"RFC 3339 start; 1 hour before end when empty"`
	End       string   `json:"end,omitempty" jsonschema:"RFC 3339 end; now when empty"`
	QueryID   string   `json:"query_id,omitempty" jsonschema:"query_id of a query still running: poll it instead of starting one"`
	Target
}

// InsightsOut is a query's state and, once complete, its rows.
type InsightsOut struct {
	Where
	Notice         string              `json:"notice"`
	QueryID        string              `json:"query_id"`
	Status         string              `json:"status"`
	Rows           []map[string]string `json:"rows"`
	RecordsMatched float64             `json:"records_matched"`
	RecordsScanned float64             `json:"records_scanned"`
	// Hint says what to do when the query has not finished.
	Hint string `json:"hint,omitempty"`
}

var queryIDRE = regexp.MustCompile(`^[0-9a-fA-F-]{1,256}$`)

// maxInsightsRows bounds the rows returned (Logs Insights returns up to
// 10,000).
const maxInsightsRows = 1000

// taskQueryWait bounds the polling of a query that runs as a task: Logs
// Insights times a query out after 60 minutes.
const taskQueryWait = time.Hour + 5*time.Minute

func newQueryLogsInsights(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "query_logs_insights",
		Title: "Run a CloudWatch Logs Insights query",
		Description: "Starts a Logs Insights query over log groups. A client with the tasks extension gets a task that ends with the rows. " +
			"Otherwise the call waits within a bound, sending progress notifications; if the query is still running, the result has status Running " +
			"and a query_id: call again with query_id to keep waiting.",
		Toolset: toolsetLogs, Effect: core.ReadOnly, Idempotent: core.No, OpenWorld: core.Yes,
		Classification: core.Confidential, Permissions: []string{"logs:StartQuery", "logs:GetQueryResults"},
		Task: core.TaskOptional,
	}, func(ctx context.Context, c *call, in InsightsIn) (InsightsOut, error) {
		qid := in.QueryID
		if qid != "" {
			if !queryIDRE.MatchString(qid) {
				return InsightsOut{}, fmt.Errorf("query_id %q is not one Logs Insights issued", qid)
			}
		} else {
			if len(in.LogGroups) == 0 || len(in.LogGroups) > 50 {
				return InsightsOut{}, fmt.Errorf("log_groups needs 1-50 log groups (describe_log_groups lists them)")
			}
			for _, g := range in.LogGroups {
				if err := checkLogGroup(g); err != nil {
					return InsightsOut{}, err
				}
			}
			if strings.TrimSpace(in.Query) == "" || len(in.Query) > 10000 {
				return InsightsOut{}, fmt.Errorf("query is empty or longer than 10000 characters")
			}
			start, end, err := timeRange(in.Start, in.End, time.Hour)
			if err != nil {
				return InsightsOut{}, err
			}
			resp, err := c.logs().StartQuery(ctx, &cloudwatchlogs.StartQueryInput{
				LogGroupNames: in.LogGroups, QueryString: aws.String(in.Query),
				StartTime: aws.Int64(start.Unix()), EndTime: aws.Int64(end.Unix()), Limit: aws.Int32(maxInsightsRows),
			}, c.logsOpts)
			if err != nil {
				return InsightsOut{}, err
			}
			qid = aws.ToString(resp.QueryId)
		}
		// The query is started (or named): from here on a client with the
		// tasks extension is answered with a task at once, and the polling
		// goes on in it until the query ends; AWS ends every query within
		// an hour, the bound here. Otherwise the call waits query_wait.
		wait := s.limits.QueryWait
		detached := c.core.Detach()
		if detached {
			wait = taskQueryWait
		}
		deadline := time.Now().Add(wait)
		for poll := 1; ; poll++ {
			resp, err := c.logs().GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String(qid)}, c.logsOpts)
			if err != nil {
				return InsightsOut{}, err
			}
			out := InsightsOut{Where: c.where(), Notice: UntrustedNotice, QueryID: qid, Status: string(resp.Status), Rows: []map[string]string{}}
			if st := resp.Statistics; st != nil {
				out.RecordsMatched, out.RecordsScanned = st.RecordsMatched, st.RecordsScanned
			}
			switch resp.Status {
			case logstypes.QueryStatusComplete:
				for i, row := range resp.Results {
					if i == maxInsightsRows {
						out.Hint = fmt.Sprintf("only the first %d rows are shown; add | limit to the query", maxInsightsRows)
						break
					}
					m := map[string]string{}
					for _, f := range row {
						name := aws.ToString(f.Field)
						if name == "@ptr" {
							continue
						}
						v, _ := untrusted.Truncate(aws.ToString(f.Value), int(s.limits.MaxMessageBytes))
						m[untrusted.Line(name)] = untrusted.Clean(v)
					}
					out.Rows = append(out.Rows, m)
				}
				return out, nil
			case logstypes.QueryStatusFailed, logstypes.QueryStatusCancelled, logstypes.QueryStatusTimeout, logstypes.QueryStatusUnknown:
				return InsightsOut{}, fmt.Errorf("the Logs Insights query %s ended with status %s in account %q, region %s; check the query syntax and the time window", qid, resp.Status, c.acct.Name, c.region)
			}
			if !detached {
				notifyProgress(ctx, c.core, float64(poll), fmt.Sprintf("query %s is %s; %.0f records scanned", qid, resp.Status, out.RecordsScanned))
			}
			if time.Now().Add(s.limits.QueryPoll).After(deadline) {
				out.Hint = "the query is still running: call query_logs_insights again with this query_id (and the same account and region)"
				return out, nil
			}
			if err := s.sleep(ctx, s.limits.QueryPoll); err != nil {
				return InsightsOut{}, err
			}
		}
	})
}

// notifyProgress sends a progress notification when the client asked for
// them (a progress token in the request).
func notifyProgress(ctx context.Context, cc *core.Call, progress float64, msg string) {
	if cc == nil || cc.Request == nil || cc.Request.Params == nil || cc.Session() == nil {
		return
	}
	token := cc.Request.Params.GetProgressToken()
	if token == nil {
		return
	}
	_ = cc.Session().NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: token, Progress: progress, Message: msg})
}
