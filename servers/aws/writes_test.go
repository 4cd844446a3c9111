package aws_test

import (
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/servers/aws/internal/fakeaws"
)

// TestWritesWhereEnabled: in dev (writes: true) every write tool reaches
// its service with the right parameters, and put_object's text reads
// back.
func TestWritesWhereEnabled(t *testing.T) {
	s := startServer(t, setup{})
	seedS3(t, s)
	ids := []string{"i-0000000000000000a", "i-0000000000000000b"}
	start := s.ok("start_instances", obj{"instance_ids": ids})
	if str(start, "changes.1.id") != ids[1] || str(start, "changes.0.current_state") != "pending" || str(start, "account") != "dev" {
		t.Errorf("start = %v", start)
	}
	stop := s.ok("stop_instances", obj{"instance_ids": ids[:1], "region": "us-east-1"})
	if str(stop, "changes.0.previous_state") != "running" || str(stop, "region") != "us-east-1" {
		t.Errorf("stop = %v", stop)
	}
	if r := s.ok("reboot_instances", obj{"instance_ids": ids[:1]}); str(r, "changes.0.current_state") != "rebooting" {
		t.Errorf("reboot = %v", r)
	}
	put := s.ok("put_object", obj{"bucket": "logs", "key": "reports/today.csv", "text": "a,b\n1,2\n", "content_type": "text/csv"})
	if field(put, "size") != float64(8) || str(put, "etag") == "" {
		t.Errorf("put = %v", put)
	}
	got := s.ok("get_object_text", obj{"bucket": "logs", "key": "reports/today.csv"})
	if str(got, "text") != "<untrusted_content>\na,b\n1,2\n\n</untrusted_content>" || str(got, "content_type") != "text/csv" {
		t.Errorf("read back = %v", got)
	}
	scale := s.ok("set_ecs_desired_count", obj{"cluster": "web", "service": "api", "desired_count": 0})
	if field(scale, "service.desired") != float64(0) || str(scale, "service.name") != "api" {
		t.Errorf("scale = %v", scale)
	}
	var ec2Params []string
	for _, r := range s.fake.Requests() {
		if r.Service == "ec2" {
			ec2Params = append(ec2Params, r.Op+":"+r.Params.Get("InstanceId.1")+","+r.Params.Get("InstanceId.2")+"@"+r.Region)
		}
	}
	want := []string{"StartInstances:i-0000000000000000a,i-0000000000000000b@eu-west-1", "StopInstances:i-0000000000000000a,@us-east-1", "RebootInstances:i-0000000000000000a,@eu-west-1"}
	if strings.Join(ec2Params, " ") != strings.Join(want, " ") {
		t.Errorf("EC2 requests %v, want %v", ec2Params, want)
	}
	if ops := s.fake.Ops("ecs"); len(ops) != 1 || ops[0] != "UpdateService" {
		t.Errorf("ECS requests %v", ops)
	}
	// A rate-limited write is retried by the SDK (the service did not act
	// on it); a denied one is not.
	s.fake.Fail("ec2", "StartInstances", fakeaws.Throttle, 1)
	s.ok("start_instances", obj{"instance_ids": ids[:1]})
	s.fake.Fail("ecs", "UpdateService", fakeaws.Deny, 1)
	if msg := s.fails("set_ecs_desired_count", obj{"cluster": "web", "service": "api", "desired_count": 2}); !strings.Contains(msg, "AWS denied") || !strings.Contains(msg, "ecs:UpdateService") {
		t.Errorf("denied write: %s", msg)
	}
}

// TestWritesRefusedWithoutARequest: writes to an account that is
// read-only (prod, even with writes: true) or has writes off (stage,
// audit) are tool errors and send nothing, STS included.
func TestWritesRefusedWithoutARequest(t *testing.T) {
	s := startServer(t, setup{})
	writes := []struct {
		tool string
		args obj
	}{
		{"start_instances", obj{"instance_ids": []string{"i-0000000000000000a"}}},
		{"stop_instances", obj{"instance_ids": []string{"i-0000000000000000a"}}},
		{"reboot_instances", obj{"instance_ids": []string{"i-0000000000000000a"}}},
		{"put_object", obj{"bucket": "logs", "key": "k", "text": "t"}},
		{"set_ecs_desired_count", obj{"cluster": "web", "service": "api", "desired_count": 1}},
	}
	for _, account := range []string{"prod", "stage", "audit"} {
		for _, w := range writes {
			msg := s.fails(w.tool, merge(w.args, obj{"account": account}))
			want := `writes are not enabled in account "` + account + `"`
			if account == "prod" {
				want = `account "prod" is read-only`
			}
			if !strings.Contains(msg, want) {
				t.Errorf("%s in %s: %s", w.tool, account, msg)
			}
		}
	}
	if reqs := s.fake.Requests(); len(reqs) != 0 {
		t.Errorf("refused writes reached AWS: %+v", reqs)
	}
	// Every write tool is marked additive or destructive.
	for _, w := range writes {
		spec, ok := s.harness.Catalog.Spec(w.tool)
		if !ok || spec.Effect == core.ReadOnly {
			t.Errorf("%s is not marked as a write", w.tool)
		}
	}
}

// TestBadArgumentsSendNothing: malformed ids, names and windows are clear
// tool errors with no request.
func TestBadArgumentsSendNothing(t *testing.T) {
	s := startServer(t, setup{})
	for _, c := range []struct {
		tool string
		args obj
		want string
	}{
		{"describe_instances", obj{"instance_ids": []string{"i-../../x"}}, "is not an EC2 instance id"},
		{"start_instances", obj{"instance_ids": []string{}}, "instance_ids is empty"},
		{"list_objects", obj{"bucket": "Bad_Bucket"}, "is not an S3 bucket name"},
		{"get_object_text", obj{"bucket": "logs", "key": "a\x00b"}, "is not an S3 key"},
		{"get_metric_data", obj{"namespace": "AWS/EC2", "metric_name": "CPU", "period_seconds": 61}, "multiple of 60"},
		{"get_metric_data", obj{"namespace": "AWS/EC2", "metric_name": "CPU", "period_seconds": 60, "start": "2020-01-01T00:00:00Z"}, "more than 1440 periods"},
		{"filter_log_events", obj{"log_group": "a b"}, "is not a log group name"},
		{"describe_alarms", obj{"state": "BROKEN"}, "is not ALARM"},
		{"get_cost_and_usage", obj{"start": "2026-02-01", "end": "2026-01-01"}, "is not before end"},
		{"get_iam_role", obj{"role_name": "arn:aws:iam::1:role/x"}, "is not an IAM role name"},
		{"simulate_principal_policy", obj{"principal_arn": "arn:aws:iam::111111111111:role/x", "actions": []string{"*"}}, "is not an IAM action"},
		{"list_ecs_services", obj{"cluster": "web", "max_results": 11}, "outside 1-10"},
		{"set_ecs_desired_count", obj{"cluster": "web", "service": "api", "desired_count": 5000}, "outside 0-1000"},
		{"lookup_cloudtrail_events", obj{"attribute": "Password", "value": "x"}, "give one of EventName"},
		{"query_logs_insights", obj{"query_id": "../x"}, "is not one Logs Insights issued"},
		{"describe_volumes", obj{"max_results": 1000}, "outside 1-100"},
	} {
		if msg := s.fails(c.tool, c.args); !strings.Contains(msg, c.want) {
			t.Errorf("%s(%v) = %q, want %q", c.tool, c.args, msg, c.want)
		}
	}
	if reqs := s.fake.Requests(); len(reqs) != 0 {
		t.Errorf("bad arguments reached AWS: %+v", reqs)
	}
}
