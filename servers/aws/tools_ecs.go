package aws

import (
	"context"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

func (c *call) ecs() *ecs.Client {
	return client(c.acct, "ecs", c.region, func(cfg aws.Config) *ecs.Client {
		return ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = c.acct.endpoint("ecs") })
	})
}

func (c *call) ecsOpts(o *ecs.Options) { o.Credentials = c.creds }

// ecsNameRE accepts a cluster or service name or ARN.
var ecsNameRE = regexp.MustCompile(`^([A-Za-z0-9_-]{1,255}|arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:[a-z-]+/[A-Za-z0-9_/-]{1,512})$`)

func checkECSName(what, v string, required bool) error {
	if v == "" && !required {
		return nil
	}
	if !ecsNameRE.MatchString(v) {
		return fmt.Errorf("%s %q is not an ECS %s name or ARN", what, v, what)
	}
	return nil
}

// ClustersIn pages through clusters.
type ClustersIn struct {
	Page
	Target
}

// Cluster is an ECS cluster.
type Cluster struct {
	Name           string `json:"name"`
	Status         string `json:"status,omitempty"`
	RunningTasks   int32  `json:"running_tasks"`
	PendingTasks   int32  `json:"pending_tasks"`
	ActiveServices int32  `json:"active_services"`
	ContainerHosts int32  `json:"container_instances"`
}

// ClustersOut is a page of clusters.
type ClustersOut struct {
	Where
	Clusters  []Cluster `json:"clusters"`
	NextToken string    `json:"next_token,omitempty"`
}

func newListECSClusters(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "list_ecs_clusters",
		Title:       "List ECS clusters",
		Description: "Lists ECS clusters with their running and pending task counts and active services.",
		Toolset:     toolsetECS, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"ecs:ListClusters", "ecs:DescribeClusters"},
	}, func(ctx context.Context, c *call, in ClustersIn) (ClustersOut, error) {
		n, err := in.size(1)
		if err != nil {
			return ClustersOut{}, err
		}
		list, err := c.ecs().ListClusters(ctx, &ecs.ListClustersInput{MaxResults: aws.Int32(n), NextToken: in.token()}, c.ecsOpts)
		if err != nil {
			return ClustersOut{}, err
		}
		out := ClustersOut{Where: c.where(), Clusters: []Cluster{}, NextToken: aws.ToString(list.NextToken)}
		if len(list.ClusterArns) == 0 {
			return out, nil
		}
		desc, err := c.ecs().DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: list.ClusterArns}, c.ecsOpts)
		if err != nil {
			return ClustersOut{}, err
		}
		for _, cl := range desc.Clusters {
			out.Clusters = append(out.Clusters, Cluster{Name: aws.ToString(cl.ClusterName), Status: aws.ToString(cl.Status),
				RunningTasks: cl.RunningTasksCount, PendingTasks: cl.PendingTasksCount, ActiveServices: cl.ActiveServicesCount,
				ContainerHosts: cl.RegisteredContainerInstancesCount})
		}
		return out, nil
	})
}

// ServicesIn lists a cluster's services.
type ServicesIn struct {
	Cluster    string `json:"cluster" jsonschema:"cluster name or ARN"`
	NextToken  string `json:"next_token,omitempty" jsonschema:"next_token of the previous page"`
	MaxResults int    `json:"max_results,omitempty" jsonschema:"page size, 1-10 (default 10)"`
	Target
}

// ECSService is an ECS service.
type ECSService struct {
	Name           string `json:"name"`
	Status         string `json:"status,omitempty"`
	Desired        int32  `json:"desired"`
	Running        int32  `json:"running"`
	Pending        int32  `json:"pending"`
	LaunchType     string `json:"launch_type,omitempty"`
	TaskDefinition string `json:"task_definition,omitempty"`
	Rollout        string `json:"rollout,omitempty"`
	Deployments    int    `json:"deployments"`
}

// ServicesOut is a page of services.
type ServicesOut struct {
	Where
	Cluster   string       `json:"cluster"`
	Services  []ECSService `json:"services"`
	NextToken string       `json:"next_token,omitempty"`
}

func ecsService(sv ecstypes.Service) ECSService {
	e := ECSService{Name: aws.ToString(sv.ServiceName), Status: aws.ToString(sv.Status), Desired: sv.DesiredCount,
		Running: sv.RunningCount, Pending: sv.PendingCount, LaunchType: string(sv.LaunchType),
		TaskDefinition: aws.ToString(sv.TaskDefinition), Deployments: len(sv.Deployments)}
	for _, d := range sv.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			e.Rollout = string(d.RolloutState)
		}
	}
	return e
}

func newListECSServices(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "list_ecs_services",
		Title:       "List ECS services",
		Description: "Lists a cluster's services with desired, running and pending counts, task definition and rollout state.",
		Toolset:     toolsetECS, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"ecs:ListServices", "ecs:DescribeServices"},
	}, func(ctx context.Context, c *call, in ServicesIn) (ServicesOut, error) {
		if err := checkECSName("cluster", in.Cluster, true); err != nil {
			return ServicesOut{}, err
		}
		n := in.MaxResults
		if n == 0 {
			n = 10
		}
		if n < 1 || n > 10 { // DescribeServices takes at most 10
			return ServicesOut{}, fmt.Errorf("max_results %d is outside 1-10", n)
		}
		list, err := c.ecs().ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(in.Cluster), MaxResults: aws.Int32(int32(n)),
			NextToken: Page{NextToken: in.NextToken}.token()}, c.ecsOpts)
		if err != nil {
			return ServicesOut{}, err
		}
		out := ServicesOut{Where: c.where(), Cluster: in.Cluster, Services: []ECSService{}, NextToken: aws.ToString(list.NextToken)}
		if len(list.ServiceArns) == 0 {
			return out, nil
		}
		desc, err := c.ecs().DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(in.Cluster), Services: list.ServiceArns}, c.ecsOpts)
		if err != nil {
			return ServicesOut{}, err
		}
		for _, sv := range desc.Services {
			out.Services = append(out.Services, ecsService(sv))
		}
		return out, nil
	})
}

// TasksIn lists a cluster's tasks.
type TasksIn struct {
	Cluster string `json:"cluster" jsonschema:"cluster name or ARN"`
	Service string `json:"service,omitempty" jsonschema:"only tasks of this service"`
	Stopped bool   `json:"stopped,omitempty" jsonschema:"list recently stopped tasks instead of running ones"`
	Page
	Target
}

// Task is an ECS task.
type Task struct {
	ARN            string `json:"arn"`
	LastStatus     string `json:"last_status,omitempty"`
	DesiredStatus  string `json:"desired_status,omitempty"`
	Health         string `json:"health,omitempty"`
	TaskDefinition string `json:"task_definition,omitempty"`
	Group          string `json:"group,omitempty"`
	Started        string `json:"started,omitempty"`
	StoppedReason  string `json:"stopped_reason,omitempty"`
	CPU            string `json:"cpu,omitempty"`
	Memory         string `json:"memory,omitempty"`
}

// TasksOut is a page of tasks.
type TasksOut struct {
	Where
	Notice    string `json:"notice,omitempty"`
	Cluster   string `json:"cluster"`
	Tasks     []Task `json:"tasks"`
	NextToken string `json:"next_token,omitempty"`
}

func newListECSTasks(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "list_ecs_tasks",
		Title:       "List ECS tasks",
		Description: "Lists a cluster's running (or recently stopped) tasks, optionally of one service: status, health, task definition, stop reason.",
		Toolset:     toolsetECS, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"ecs:ListTasks", "ecs:DescribeTasks"},
	}, func(ctx context.Context, c *call, in TasksIn) (TasksOut, error) {
		if err := checkECSName("cluster", in.Cluster, true); err != nil {
			return TasksOut{}, err
		}
		if err := checkECSName("service", in.Service, false); err != nil {
			return TasksOut{}, err
		}
		n, err := in.size(1)
		if err != nil {
			return TasksOut{}, err
		}
		req := &ecs.ListTasksInput{Cluster: aws.String(in.Cluster), MaxResults: aws.Int32(n), NextToken: in.token(), DesiredStatus: ecstypes.DesiredStatusRunning}
		if in.Stopped {
			req.DesiredStatus = ecstypes.DesiredStatusStopped
		}
		if in.Service != "" {
			req.ServiceName = aws.String(in.Service)
		}
		list, err := c.ecs().ListTasks(ctx, req, c.ecsOpts)
		if err != nil {
			return TasksOut{}, err
		}
		out := TasksOut{Where: c.where(), Cluster: in.Cluster, Tasks: []Task{}, NextToken: aws.ToString(list.NextToken)}
		if len(list.TaskArns) == 0 {
			return out, nil
		}
		desc, err := c.ecs().DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(in.Cluster), Tasks: list.TaskArns}, c.ecsOpts)
		if err != nil {
			return TasksOut{}, err
		}
		for _, t := range desc.Tasks {
			task := Task{ARN: aws.ToString(t.TaskArn), LastStatus: aws.ToString(t.LastStatus), DesiredStatus: aws.ToString(t.DesiredStatus),
				Health: string(t.HealthStatus), TaskDefinition: aws.ToString(t.TaskDefinitionArn), Group: aws.ToString(t.Group),
				Started: ts(t.StartedAt), StoppedReason: untrusted.Line(aws.ToString(t.StoppedReason)), CPU: aws.ToString(t.Cpu), Memory: aws.ToString(t.Memory)}
			if task.StoppedReason != "" {
				out.Notice = UntrustedNotice
			}
			out.Tasks = append(out.Tasks, task)
		}
		return out, nil
	})
}

// DesiredCountIn sets a service's desired count.
type DesiredCountIn struct {
	Cluster      string `json:"cluster" jsonschema:"cluster name or ARN"`
	Service      string `json:"service" jsonschema:"service name or ARN"`
	DesiredCount int32  `json:"desired_count" jsonschema:"number of tasks to run, 0-1000 (0 stops the service's tasks)"`
	Target
}

// DesiredCountOut is the service after the change.
type DesiredCountOut struct {
	Where
	Cluster string     `json:"cluster"`
	Service ECSService `json:"service"`
}

func newSetECSDesiredCount(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "set_ecs_desired_count",
		Title: "Scale an ECS service",
		Description: "Sets an ECS service's desired task count (scaling in stops tasks; 0 stops them all). " +
			"Only in accounts where writes are enabled.",
		Toolset: toolsetECS, Effect: core.Destructive, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"ecs:UpdateService"},
	}, func(ctx context.Context, c *call, in DesiredCountIn) (DesiredCountOut, error) {
		if err := checkECSName("cluster", in.Cluster, true); err != nil {
			return DesiredCountOut{}, err
		}
		if err := checkECSName("service", in.Service, true); err != nil {
			return DesiredCountOut{}, err
		}
		if in.DesiredCount < 0 || in.DesiredCount > 1000 {
			return DesiredCountOut{}, fmt.Errorf("desired_count %d is outside 0-1000", in.DesiredCount)
		}
		resp, err := c.ecs().UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(in.Cluster), Service: aws.String(in.Service),
			DesiredCount: aws.Int32(in.DesiredCount)}, c.ecsOpts)
		if err != nil {
			return DesiredCountOut{}, err
		}
		out := DesiredCountOut{Where: c.where(), Cluster: in.Cluster}
		if resp.Service != nil {
			out.Service = ecsService(*resp.Service)
		}
		return out, nil
	})
}
