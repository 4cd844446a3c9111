package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

func (c *call) lambda() *lambda.Client {
	return client(c.acct, "lambda", c.region, func(cfg aws.Config) *lambda.Client {
		return lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = c.acct.endpoint("lambda") })
	})
}

// FunctionsIn pages through Lambda functions.
type FunctionsIn struct {
	Page
	Target
}

// Function is a Lambda function's configuration, without its
// environment variables (they often hold secrets).
type Function struct {
	Name         string   `json:"name"`
	Runtime      string   `json:"runtime,omitempty"`
	Handler      string   `json:"handler,omitempty"`
	MemoryMB     int32    `json:"memory_mb,omitempty"`
	TimeoutSec   int32    `json:"timeout_seconds,omitempty"`
	CodeSize     int64    `json:"code_size,omitempty"`
	LastModified string   `json:"last_modified,omitempty"`
	Role         string   `json:"role,omitempty"`
	State        string   `json:"state,omitempty"`
	PackageType  string   `json:"package_type,omitempty"`
	Architecture []string `json:"architectures,omitempty"`
	Description  string   `json:"description,omitempty"`
}

// FunctionsOut is a page of functions.
type FunctionsOut struct {
	Where
	Notice    string     `json:"notice"`
	Functions []Function `json:"functions"`
	NextToken string     `json:"next_token,omitempty"`
}

func newListLambdaFunctions(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "list_lambda_functions",
		Title: "List Lambda functions",
		Description: "Lists Lambda functions: runtime, handler, memory, timeout, code size, role, state. " +
			"Environment variables are never returned.",
		Toolset: toolsetLambda, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"lambda:ListFunctions"},
	}, func(ctx context.Context, c *call, in FunctionsIn) (FunctionsOut, error) {
		n, err := in.size(1)
		if err != nil {
			return FunctionsOut{}, err
		}
		resp, err := c.lambda().ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(n), Marker: in.token()},
			func(o *lambda.Options) { o.Credentials = c.creds })
		if err != nil {
			return FunctionsOut{}, err
		}
		out := FunctionsOut{Where: c.where(), Notice: UntrustedNotice, Functions: []Function{}, NextToken: aws.ToString(resp.NextMarker)}
		for _, f := range resp.Functions {
			fn := Function{Name: aws.ToString(f.FunctionName), Runtime: string(f.Runtime), Handler: aws.ToString(f.Handler),
				MemoryMB: aws.ToInt32(f.MemorySize), TimeoutSec: aws.ToInt32(f.Timeout), CodeSize: f.CodeSize,
				LastModified: aws.ToString(f.LastModified), Role: aws.ToString(f.Role), State: string(f.State),
				PackageType: string(f.PackageType), Description: untrusted.Line(aws.ToString(f.Description))}
			for _, a := range f.Architectures {
				fn.Architecture = append(fn.Architecture, string(a))
			}
			out.Functions = append(out.Functions, fn)
		}
		return out, nil
	})
}

func (c *call) cloudtrail() *cloudtrail.Client {
	return client(c.acct, "cloudtrail", c.region, func(cfg aws.Config) *cloudtrail.Client {
		return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.BaseEndpoint = c.acct.endpoint("cloudtrail") })
	})
}

// TrailIn looks up management events.
type TrailIn struct {
	Attribute string `json:"attribute,omitempty" jsonschema:"look up by EventName, Username, ResourceName, ResourceType, EventSource, EventId, ReadOnly or AccessKeyId"`
	Value     string `json:"value,omitempty" jsonschema:"the attribute's value, e.g. StopInstances"`
	Start     string `json:"start,omitempty" jsonschema:"RFC 3339 start; 24 hours before end when empty"`
	End       string `json:"end,omitempty" jsonschema:"RFC 3339 end; now when empty"`
	Page
	Target
}

// TrailEvent is one CloudTrail management event.
type TrailEvent struct {
	Time           string   `json:"time"`
	Name           string   `json:"name"`
	Source         string   `json:"source"`
	Username       string   `json:"username,omitempty"`
	Identity       string   `json:"identity_arn,omitempty"`
	SourceIdentity string   `json:"source_identity,omitempty"`
	SourceIP       string   `json:"source_ip,omitempty"`
	ReadOnly       bool     `json:"read_only"`
	Error          string   `json:"error,omitempty"`
	Resources      []string `json:"resources,omitempty"`
}

// TrailOut is a page of events, newest first.
type TrailOut struct {
	Where
	Notice    string       `json:"notice"`
	Events    []TrailEvent `json:"events"`
	NextToken string       `json:"next_token,omitempty"`
}

var trailAttributes = map[string]cttypes.LookupAttributeKey{
	"EventName": cttypes.LookupAttributeKeyEventName, "Username": cttypes.LookupAttributeKeyUsername,
	"ResourceName": cttypes.LookupAttributeKeyResourceName, "ResourceType": cttypes.LookupAttributeKeyResourceType,
	"EventSource": cttypes.LookupAttributeKeyEventSource, "EventId": cttypes.LookupAttributeKeyEventId,
	"ReadOnly": cttypes.LookupAttributeKeyReadOnly, "AccessKeyId": cttypes.LookupAttributeKeyAccessKeyId,
}

// trailDetail is what is read from an event's JSON record; the rest
// (request parameters and responses, which can hold sensitive values) is
// not returned.
type trailDetail struct {
	UserIdentity struct {
		ARN            string `json:"arn"`
		SessionContext struct {
			SourceIdentity string `json:"sourceIdentity"`
		} `json:"sessionContext"`
	} `json:"userIdentity"`
	SourceIPAddress string `json:"sourceIPAddress"`
	ErrorCode       string `json:"errorCode"`
}

func newLookupCloudTrailEvents(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "lookup_cloudtrail_events",
		Title: "Who changed what (CloudTrail)",
		Description: "Looks up CloudTrail management events of the last 90 days, newest first: event, caller ARN, " +
			"source identity (the MCP caller for calls made through this server), source IP, error, resources.",
		Toolset: toolsetCloudTrail, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"cloudtrail:LookupEvents"},
	}, func(ctx context.Context, c *call, in TrailIn) (TrailOut, error) {
		n, err := in.size(1)
		if err != nil {
			return TrailOut{}, err
		}
		start, end, err := timeRange(in.Start, in.End, 24*time.Hour)
		if err != nil {
			return TrailOut{}, err
		}
		req := &cloudtrail.LookupEventsInput{StartTime: aws.Time(start), EndTime: aws.Time(end), MaxResults: aws.Int32(min(n, 50)), NextToken: in.token()}
		if in.Attribute != "" || in.Value != "" {
			key, ok := trailAttributes[in.Attribute]
			if !ok || in.Value == "" || len(in.Value) > 2000 {
				return TrailOut{}, fmt.Errorf("attribute %q with value %q: give one of EventName, Username, ResourceName, ResourceType, EventSource, EventId, ReadOnly, AccessKeyId and a value", in.Attribute, in.Value)
			}
			req.LookupAttributes = []cttypes.LookupAttribute{{AttributeKey: key, AttributeValue: aws.String(in.Value)}}
		}
		resp, err := c.cloudtrail().LookupEvents(ctx, req, func(o *cloudtrail.Options) { o.Credentials = c.creds })
		if err != nil {
			return TrailOut{}, err
		}
		out := TrailOut{Where: c.where(), Notice: UntrustedNotice, Events: []TrailEvent{}, NextToken: aws.ToString(resp.NextToken)}
		for _, e := range resp.Events {
			ev := TrailEvent{Time: ts(e.EventTime), Name: aws.ToString(e.EventName), Source: aws.ToString(e.EventSource),
				Username: untrusted.Line(aws.ToString(e.Username)), ReadOnly: aws.ToString(e.ReadOnly) == "true"}
			var d trailDetail
			if json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &d) == nil {
				ev.Identity, ev.SourceIP, ev.Error = d.UserIdentity.ARN, d.SourceIPAddress, d.ErrorCode
				ev.SourceIdentity = untrusted.Line(d.UserIdentity.SessionContext.SourceIdentity)
			}
			for _, r := range e.Resources {
				ev.Resources = append(ev.Resources, untrusted.Line(aws.ToString(r.ResourceType)+" "+aws.ToString(r.ResourceName)))
			}
			out.Events = append(out.Events, ev)
		}
		return out, nil
	})
}
