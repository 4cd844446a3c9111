package aws

import (
	"context"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

func (c *call) ec2() *ec2.Client {
	return client(c.acct, "ec2", c.region, func(cfg aws.Config) *ec2.Client {
		return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = c.acct.endpoint("ec2") })
	})
}

func (c *call) ec2Opts(o *ec2.Options) { o.Credentials = c.creds }

// Filter is an EC2 filter (instance-state-name, tag:Name, vpc-id, ...).
type Filter struct {
	Name   string   `json:"name" jsonschema:"filter name, e.g. instance-state-name, tag:Name, vpc-id"`
	Values []string `json:"values" jsonschema:"accepted values (* wildcards allowed)"`
}

var (
	instanceIDRE = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)
	sgIDRE       = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
	volumeIDRE   = regexp.MustCompile(`^vol-[0-9a-f]{8,17}$`)
	filterNameRE = regexp.MustCompile(`^[A-Za-z0-9:._/ -]{1,128}$`)
)

func checkIDs(what string, ids []string, re *regexp.Regexp, most int) error {
	if len(ids) > most {
		return fmt.Errorf("at most %d %s ids at once (got %d)", most, what, len(ids))
	}
	for _, id := range ids {
		if !re.MatchString(id) {
			return fmt.Errorf("%q is not an EC2 %s id", id, what)
		}
	}
	return nil
}

func ec2Filters(fs []Filter) ([]ec2types.Filter, error) {
	if len(fs) > 10 {
		return nil, fmt.Errorf("at most 10 filters (got %d)", len(fs))
	}
	var out []ec2types.Filter
	for _, f := range fs {
		if !filterNameRE.MatchString(f.Name) || len(f.Values) == 0 || len(f.Values) > 50 {
			return nil, fmt.Errorf("filter %q needs a name and 1-50 values", f.Name)
		}
		out = append(out, ec2types.Filter{Name: aws.String(f.Name), Values: f.Values})
	}
	return out, nil
}

// tags turns AWS tags into a map; keys and values are untrusted text.
func tags[T any](ts []T, kv func(T) (*string, *string)) map[string]string {
	if len(ts) == 0 {
		return nil
	}
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		k, v := kv(t)
		m[untrusted.Line(aws.ToString(k))] = untrusted.Line(aws.ToString(v))
	}
	return m
}

func ec2Tag(t ec2types.Tag) (*string, *string) { return t.Key, t.Value }

// ListInstancesIn selects instances.
type ListInstancesIn struct {
	InstanceIDs []string `json:"instance_ids,omitempty" jsonschema:"instance ids (i-...), at most 100"`
	Filters     []Filter `json:"filters,omitempty" jsonschema:"EC2 filters, e.g. {name: instance-state-name, values: [running]}"`
	Page
	Target
}

// Instance is an EC2 instance.
type Instance struct {
	ID             string            `json:"id"`
	Type           string            `json:"type,omitempty"`
	State          string            `json:"state,omitempty"`
	AZ             string            `json:"availability_zone,omitempty"`
	PrivateIP      string            `json:"private_ip,omitempty"`
	PublicIP       string            `json:"public_ip,omitempty"`
	VPC            string            `json:"vpc_id,omitempty"`
	Subnet         string            `json:"subnet_id,omitempty"`
	Image          string            `json:"image_id,omitempty"`
	LaunchTime     string            `json:"launch_time,omitempty"`
	SecurityGroups []string          `json:"security_groups,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
}

// ListInstancesOut is a page of instances.
type ListInstancesOut struct {
	Where
	Notice    string     `json:"notice,omitempty"`
	Instances []Instance `json:"instances"`
	NextToken string     `json:"next_token,omitempty"`
}

func newDescribeInstances(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "describe_instances",
		Title: "Describe EC2 instances",
		Description: "Lists EC2 instances of an account and region: id, type, state, addresses, VPC, security groups, tags. " +
			"Narrow with instance_ids or filters (instance-state-name, tag:<key>, vpc-id, ...).",
		Toolset: toolsetEC2, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"ec2:DescribeInstances"},
	}, func(ctx context.Context, c *call, in ListInstancesIn) (ListInstancesOut, error) {
		if err := checkIDs("instance", in.InstanceIDs, instanceIDRE, 100); err != nil {
			return ListInstancesOut{}, err
		}
		filters, err := ec2Filters(in.Filters)
		if err != nil {
			return ListInstancesOut{}, err
		}
		req := &ec2.DescribeInstancesInput{InstanceIds: in.InstanceIDs, Filters: filters, NextToken: in.token()}
		if len(in.InstanceIDs) == 0 { // EC2 refuses MaxResults with instance ids
			n, err := in.size(5)
			if err != nil {
				return ListInstancesOut{}, err
			}
			req.MaxResults = aws.Int32(n)
		}
		resp, err := c.ec2().DescribeInstances(ctx, req, c.ec2Opts)
		if err != nil {
			return ListInstancesOut{}, err
		}
		out := ListInstancesOut{Where: c.where(), Instances: []Instance{}, NextToken: aws.ToString(resp.NextToken)}
		for _, r := range resp.Reservations {
			for _, i := range r.Instances {
				inst := Instance{
					ID: aws.ToString(i.InstanceId), Type: string(i.InstanceType),
					PrivateIP: aws.ToString(i.PrivateIpAddress), PublicIP: aws.ToString(i.PublicIpAddress),
					VPC: aws.ToString(i.VpcId), Subnet: aws.ToString(i.SubnetId), Image: aws.ToString(i.ImageId),
					LaunchTime: ts(i.LaunchTime), Tags: tags(i.Tags, ec2Tag),
				}
				if i.State != nil {
					inst.State = string(i.State.Name)
				}
				if i.Placement != nil {
					inst.AZ = aws.ToString(i.Placement.AvailabilityZone)
				}
				for _, g := range i.SecurityGroups {
					inst.SecurityGroups = append(inst.SecurityGroups, aws.ToString(g.GroupId))
				}
				if len(inst.Tags) > 0 {
					out.Notice = UntrustedNotice
				}
				out.Instances = append(out.Instances, inst)
			}
		}
		return out, nil
	})
}

// ListSecurityGroupsIn selects security groups.
type ListSecurityGroupsIn struct {
	GroupIDs []string `json:"group_ids,omitempty" jsonschema:"security group ids (sg-...), at most 100"`
	Filters  []Filter `json:"filters,omitempty" jsonschema:"EC2 filters, e.g. {name: vpc-id, values: [vpc-1]}"`
	Page
	Target
}

// Rule is one security group rule.
type Rule struct {
	Protocol string   `json:"protocol"`
	From     int32    `json:"from_port,omitempty"`
	To       int32    `json:"to_port,omitempty"`
	Sources  []string `json:"sources"`
}

// SecurityGroup is a security group with its rules.
type SecurityGroup struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	VPC         string            `json:"vpc_id,omitempty"`
	Ingress     []Rule            `json:"ingress,omitempty"`
	Egress      []Rule            `json:"egress,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// ListSecurityGroupsOut is a page of security groups.
type ListSecurityGroupsOut struct {
	Where
	Notice         string          `json:"notice,omitempty"`
	SecurityGroups []SecurityGroup `json:"security_groups"`
	NextToken      string          `json:"next_token,omitempty"`
}

func rules(ps []ec2types.IpPermission) []Rule {
	var out []Rule
	for _, p := range ps {
		r := Rule{Protocol: aws.ToString(p.IpProtocol), From: aws.ToInt32(p.FromPort), To: aws.ToInt32(p.ToPort), Sources: []string{}}
		if r.Protocol == "-1" {
			r.Protocol = "all"
		}
		for _, x := range p.IpRanges {
			r.Sources = append(r.Sources, aws.ToString(x.CidrIp))
		}
		for _, x := range p.Ipv6Ranges {
			r.Sources = append(r.Sources, aws.ToString(x.CidrIpv6))
		}
		for _, x := range p.UserIdGroupPairs {
			r.Sources = append(r.Sources, aws.ToString(x.GroupId))
		}
		for _, x := range p.PrefixListIds {
			r.Sources = append(r.Sources, aws.ToString(x.PrefixListId))
		}
		out = append(out, r)
	}
	return out
}

func newDescribeSecurityGroups(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "describe_security_groups",
		Title:       "Describe EC2 security groups",
		Description: "Lists security groups with their ingress and egress rules (protocol, ports, CIDRs or source groups).",
		Toolset:     toolsetEC2, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"ec2:DescribeSecurityGroups"},
	}, func(ctx context.Context, c *call, in ListSecurityGroupsIn) (ListSecurityGroupsOut, error) {
		if err := checkIDs("security group", in.GroupIDs, sgIDRE, 100); err != nil {
			return ListSecurityGroupsOut{}, err
		}
		filters, err := ec2Filters(in.Filters)
		if err != nil {
			return ListSecurityGroupsOut{}, err
		}
		req := &ec2.DescribeSecurityGroupsInput{GroupIds: in.GroupIDs, Filters: filters, NextToken: in.token()}
		if len(in.GroupIDs) == 0 {
			n, err := in.size(5)
			if err != nil {
				return ListSecurityGroupsOut{}, err
			}
			req.MaxResults = aws.Int32(n)
		}
		resp, err := c.ec2().DescribeSecurityGroups(ctx, req, c.ec2Opts)
		if err != nil {
			return ListSecurityGroupsOut{}, err
		}
		out := ListSecurityGroupsOut{Where: c.where(), Notice: UntrustedNotice, SecurityGroups: []SecurityGroup{}, NextToken: aws.ToString(resp.NextToken)}
		for _, g := range resp.SecurityGroups {
			out.SecurityGroups = append(out.SecurityGroups, SecurityGroup{
				ID: aws.ToString(g.GroupId), Name: untrusted.Line(aws.ToString(g.GroupName)),
				Description: untrusted.Line(aws.ToString(g.Description)), VPC: aws.ToString(g.VpcId),
				Ingress: rules(g.IpPermissions), Egress: rules(g.IpPermissionsEgress), Tags: tags(g.Tags, ec2Tag),
			})
		}
		return out, nil
	})
}

// ListVolumesIn selects EBS volumes.
type ListVolumesIn struct {
	VolumeIDs []string `json:"volume_ids,omitempty" jsonschema:"volume ids (vol-...), at most 100"`
	Filters   []Filter `json:"filters,omitempty" jsonschema:"EC2 filters, e.g. {name: status, values: [available]}"`
	Page
	Target
}

// Volume is an EBS volume.
type Volume struct {
	ID         string            `json:"id"`
	SizeGiB    int32             `json:"size_gib"`
	Type       string            `json:"type,omitempty"`
	State      string            `json:"state,omitempty"`
	AZ         string            `json:"availability_zone,omitempty"`
	Encrypted  bool              `json:"encrypted"`
	IOPS       int32             `json:"iops,omitempty"`
	Created    string            `json:"created,omitempty"`
	AttachedTo []string          `json:"attached_to,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
}

// ListVolumesOut is a page of volumes.
type ListVolumesOut struct {
	Where
	Notice    string   `json:"notice,omitempty"`
	Volumes   []Volume `json:"volumes"`
	NextToken string   `json:"next_token,omitempty"`
}

func newDescribeVolumes(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "describe_volumes",
		Title:       "Describe EBS volumes",
		Description: "Lists EBS volumes: size, type, state, encryption, IOPS and the instances they are attached to. Filter status=available finds unattached volumes.",
		Toolset:     toolsetEC2, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"ec2:DescribeVolumes"},
	}, func(ctx context.Context, c *call, in ListVolumesIn) (ListVolumesOut, error) {
		if err := checkIDs("volume", in.VolumeIDs, volumeIDRE, 100); err != nil {
			return ListVolumesOut{}, err
		}
		filters, err := ec2Filters(in.Filters)
		if err != nil {
			return ListVolumesOut{}, err
		}
		req := &ec2.DescribeVolumesInput{VolumeIds: in.VolumeIDs, Filters: filters, NextToken: in.token()}
		if len(in.VolumeIDs) == 0 {
			n, err := in.size(5)
			if err != nil {
				return ListVolumesOut{}, err
			}
			req.MaxResults = aws.Int32(n)
		}
		resp, err := c.ec2().DescribeVolumes(ctx, req, c.ec2Opts)
		if err != nil {
			return ListVolumesOut{}, err
		}
		out := ListVolumesOut{Where: c.where(), Volumes: []Volume{}, NextToken: aws.ToString(resp.NextToken)}
		for _, v := range resp.Volumes {
			vol := Volume{
				ID: aws.ToString(v.VolumeId), SizeGiB: aws.ToInt32(v.Size), Type: string(v.VolumeType), State: string(v.State),
				AZ: aws.ToString(v.AvailabilityZone), Encrypted: aws.ToBool(v.Encrypted), IOPS: aws.ToInt32(v.Iops),
				Created: ts(v.CreateTime), Tags: tags(v.Tags, ec2Tag),
			}
			for _, a := range v.Attachments {
				vol.AttachedTo = append(vol.AttachedTo, aws.ToString(a.InstanceId))
			}
			if len(vol.Tags) > 0 {
				out.Notice = UntrustedNotice
			}
			out.Volumes = append(out.Volumes, vol)
		}
		return out, nil
	})
}

// InstancesIn names the instances a state change applies to.
type InstancesIn struct {
	InstanceIDs []string `json:"instance_ids" jsonschema:"instance ids (i-...), 1-50"`
	Target
}

// StateChange is one instance's state change.
type StateChange struct {
	ID       string `json:"id"`
	Previous string `json:"previous_state,omitempty"`
	Current  string `json:"current_state,omitempty"`
}

// InstancesOut reports state changes.
type InstancesOut struct {
	Where
	Changes []StateChange `json:"changes"`
}

func changes(cs []ec2types.InstanceStateChange) []StateChange {
	out := []StateChange{}
	for _, c := range cs {
		sc := StateChange{ID: aws.ToString(c.InstanceId)}
		if c.PreviousState != nil {
			sc.Previous = string(c.PreviousState.Name)
		}
		if c.CurrentState != nil {
			sc.Current = string(c.CurrentState.Name)
		}
		out = append(out, sc)
	}
	return out
}

func checkInstanceArgs(in InstancesIn) error {
	if len(in.InstanceIDs) == 0 {
		return fmt.Errorf("instance_ids is empty: name 1-50 instances (describe_instances lists them)")
	}
	return checkIDs("instance", in.InstanceIDs, instanceIDRE, 50)
}

func newStartInstances(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "start_instances",
		Title:       "Start EC2 instances",
		Description: "Starts stopped EC2 instances. Only in accounts where writes are enabled.",
		Toolset:     toolsetEC2, Effect: core.Additive, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"ec2:StartInstances"},
	}, func(ctx context.Context, c *call, in InstancesIn) (InstancesOut, error) {
		if err := checkInstanceArgs(in); err != nil {
			return InstancesOut{}, err
		}
		resp, err := c.ec2().StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: in.InstanceIDs}, c.ec2Opts)
		if err != nil {
			return InstancesOut{}, err
		}
		return InstancesOut{Where: c.where(), Changes: changes(resp.StartingInstances)}, nil
	})
}

func newStopInstances(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "stop_instances",
		Title:       "Stop EC2 instances",
		Description: "Stops running EC2 instances (what runs on them is interrupted; instance store data is lost). Only in accounts where writes are enabled.",
		Toolset:     toolsetEC2, Effect: core.Destructive, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"ec2:StopInstances"},
	}, func(ctx context.Context, c *call, in InstancesIn) (InstancesOut, error) {
		if err := checkInstanceArgs(in); err != nil {
			return InstancesOut{}, err
		}
		resp, err := c.ec2().StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: in.InstanceIDs}, c.ec2Opts)
		if err != nil {
			return InstancesOut{}, err
		}
		return InstancesOut{Where: c.where(), Changes: changes(resp.StoppingInstances)}, nil
	})
}

func newRebootInstances(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "reboot_instances",
		Title:       "Reboot EC2 instances",
		Description: "Reboots EC2 instances (what runs on them is interrupted). Only in accounts where writes are enabled.",
		Toolset:     toolsetEC2, Effect: core.Destructive, Idempotent: core.No, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"ec2:RebootInstances"},
	}, func(ctx context.Context, c *call, in InstancesIn) (InstancesOut, error) {
		if err := checkInstanceArgs(in); err != nil {
			return InstancesOut{}, err
		}
		if _, err := c.ec2().RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: in.InstanceIDs}, c.ec2Opts); err != nil {
			return InstancesOut{}, err
		}
		out := InstancesOut{Where: c.where(), Changes: []StateChange{}}
		for _, id := range in.InstanceIDs {
			out.Changes = append(out.Changes, StateChange{ID: id, Current: "rebooting"})
		}
		return out, nil
	})
}
