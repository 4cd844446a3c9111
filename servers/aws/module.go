// Package aws is the AWS MCP server: one server, many accounts. Every
// account is named in config with its credentials (the SDK's default
// chain, a named profile, or a role assumed per MCP caller), its allowed
// regions and whether it is read-only or may write.
//
// Every call is checked against the account's region allowlist and write
// switches before any request; the caller's identity goes into the
// assumed role's session name and source identity, so CloudTrail shows
// who asked. The SDK sends through core's upstream HTTP client with core's
// retries off and the SDK's standard retryer on: one retry layer. Text
// from AWS (tags, names, log messages, object contents) is cleaned and
// marked as untrusted (package untrusted) before the model reads it.
//
// [Module] plugs it into a server built on pkg/core.
package aws

import (
	"context"
	_ "embed"
	"log/slog"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/health"
)

// Toolsets.
const (
	toolsetIdentity   = "identity"
	toolsetEC2        = "ec2"
	toolsetS3         = "s3"
	toolsetCloudWatch = "cloudwatch"
	toolsetLogs       = "logs"
	toolsetCost       = "cost"
	toolsetECS        = "ecs"
	toolsetLambda     = "lambda"
	toolsetIAM        = "iam"
	toolsetCloudTrail = "cloudtrail"
)

// DefaultConfig is the server's embedded default configuration; config
// files and MCPFLEET_* variables are layered over it. It configures no
// account: aws.accounts must.
//
//go:embed defaults.yaml
var DefaultConfig []byte

// Module is the AWS server's fx module.
var Module = fx.Module("aws",
	// What the server uses of core beyond its kernel: the upstream client
	// factory (its retries off: the SDK retries).
	core.UpstreamModule,
	// Task state (query_logs_insights runs as a task for clients with the
	// tasks extension) lives in the cache.
	core.CacheModule,
	fx.Provide(newConfig, newService),
	core.AsToolset(core.Toolset{Name: toolsetIdentity, Description: "The configured accounts and who the server acts as in each", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetEC2, Description: "EC2 instances, security groups, volumes; start, stop, reboot", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetS3, Description: "S3 buckets, objects, metadata, object text; put object", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetCloudWatch, Description: "CloudWatch metrics, alarms and alarm history", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetLogs, Description: "CloudWatch Logs groups, event search, Logs Insights queries", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetCost, Description: "Cost Explorer cost and usage, forecast"}),
	core.AsToolset(core.Toolset{Name: toolsetECS, Description: "ECS clusters, services, tasks; scale a service"}),
	core.AsToolset(core.Toolset{Name: toolsetLambda, Description: "Lambda functions"}),
	core.AsToolset(core.Toolset{Name: toolsetIAM, Description: "IAM roles and their policies (read only), policy simulation"}),
	core.AsToolset(core.Toolset{Name: toolsetCloudTrail, Description: "CloudTrail management events: who changed what"}),
	core.AsTool(newListAccounts),
	core.AsTool(newGetCallerIdentity),
	core.AsTool(newDescribeInstances),
	core.AsTool(newDescribeSecurityGroups),
	core.AsTool(newDescribeVolumes),
	core.AsTool(newStartInstances),
	core.AsTool(newStopInstances),
	core.AsTool(newRebootInstances),
	core.AsTool(newListBuckets),
	core.AsTool(newListObjects),
	core.AsTool(newGetObjectMetadata),
	core.AsTool(newGetObjectText),
	core.AsTool(newPutObject),
	core.AsTool(newGetMetricData),
	core.AsTool(newGetMetricStatistics),
	core.AsTool(newDescribeAlarms),
	core.AsTool(newDescribeAlarmHistory),
	core.AsTool(newDescribeLogGroups),
	core.AsTool(newFilterLogEvents),
	core.AsTool(newQueryLogsInsights),
	core.AsTool(newGetCostAndUsage),
	core.AsTool(newGetCostForecast),
	core.AsTool(newListECSClusters),
	core.AsTool(newListECSServices),
	core.AsTool(newListECSTasks),
	core.AsTool(newSetECSDesiredCount),
	core.AsTool(newListLambdaFunctions),
	core.AsTool(newListIAMRoles),
	core.AsTool(newGetIAMRole),
	core.AsTool(newSimulatePrincipalPolicy),
	core.AsTool(newLookupCloudTrailEvents),
	core.AsHealthChecks(newHealthChecks),
)

func newConfig(doc *config.Document) (Config, error) {
	cfg := NewDefaultConfig()
	if err := doc.Section(SectionName, &cfg); err != nil {
		return Config{}, err
	}
	if err := cfg.Normalize(); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

type serviceParams struct {
	fx.In
	Config    Config
	Upstreams *core.Upstreams
	Logger    *slog.Logger
	Info      core.BuildInfo
}

func newService(p serviceParams) (*Service, error) {
	return NewService(context.Background(), p.Config, Deps{
		NewUpstream: p.Upstreams.New,
		Logger:      p.Logger,
		Version:     p.Info.Version,
	})
}

// accountStatus is an account's readiness detail: config and the state
// of its HTTP client, never its credentials.
type accountStatus struct {
	Regions  []string `json:"regions"`
	ReadOnly bool     `json:"read_only,omitempty"`
	Writes   bool     `json:"writes,omitempty"`
	Role     string   `json:"role_arn,omitempty"`
	Circuit  string   `json:"circuit"`
}

// newHealthChecks adds one readiness check per account, named
// aws_<account>. They never fail and make no AWS request: every replica
// sees the same AWS, and an outage or expired credential is better told
// to the model as a tool error than by taking every replica out of the
// load balancer.
func newHealthChecks(s *Service) []health.Check {
	var checks []health.Check
	for _, a := range s.Accounts() {
		checks = append(checks, health.Check{Name: "aws_" + a.Name, Func: func(ctx context.Context) (any, error) {
			st := accountStatus{Regions: a.regions, ReadOnly: a.readOnly, Writes: a.writes, Circuit: a.up.Status().Circuit}
			if a.assume != nil {
				st.Role = a.assume.RoleARN
			}
			return st, nil
		}})
	}
	return checks
}
