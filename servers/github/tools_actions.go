package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v66/github"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

// ActionsIn reads workflows, runs, jobs or logs.
type ActionsIn struct {
	RepoArgs
	Method   string `json:"method" jsonschema:"workflows; runs (filter by workflow, branch, status); run (one run); jobs (of run_id, failed first); job_logs (of job_id, or the failed jobs of run_id)"`
	Workflow string `json:"workflow,omitempty" jsonschema:"runs: workflow file name (ci.yml) or numeric id"`
	Branch   string `json:"branch,omitempty" jsonschema:"runs: only runs on this branch"`
	Status   string `json:"status,omitempty" jsonschema:"runs: queued, in_progress, completed, success, failure, ..."`
	RunID    int64  `json:"run_id,omitempty" jsonschema:"workflow run id (methods run, jobs, job_logs)"`
	JobID    int64  `json:"job_id,omitempty" jsonschema:"job id (method job_logs)"`
	Lines    int    `json:"lines,omitempty" jsonschema:"job_logs: log lines to return from the end of each log (default 80, at most 500)"`
	Page
}

// Enums lists the values core accepts for ActionsIn's enumerated properties.
func (ActionsIn) Enums() map[string][]string {
	return map[string][]string{"method": {"workflows", "runs", "run", "jobs", "job_logs"}}
}

// Workflow is a workflow definition.
type Workflow struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Path  string `json:"path"`
	State string `json:"state"`
}

// Run is a workflow run.
type Run struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Title      string `json:"title,omitempty"`
	Status     string `json:"status"`
	Conclusion string `json:"conclusion,omitempty"`
	Event      string `json:"event,omitempty"`
	Branch     string `json:"branch,omitempty"`
	SHA        string `json:"sha,omitempty"`
	Attempt    int    `json:"attempt,omitempty"`
	CreatedAt  string `json:"created_at,omitempty"`
	URL        string `json:"url"`
}

// Job is a job of a run.
type Job struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Status      string   `json:"status"`
	Conclusion  string   `json:"conclusion,omitempty"`
	FailedSteps []string `json:"failed_steps,omitempty"`
	StartedAt   string   `json:"started_at,omitempty"`
	CompletedAt string   `json:"completed_at,omitempty"`
	URL         string   `json:"url,omitempty"`
}

// JobLog is the useful part of a job's log: its errors, the section of
// its first failed step and its last lines.
type JobLog struct {
	JobID         int64    `json:"job_id"`
	Name          string   `json:"name"`
	Conclusion    string   `json:"conclusion,omitempty"`
	FailedSteps   []string `json:"failed_steps,omitempty"`
	Errors        []string `json:"errors,omitempty"`
	FailedStepLog string   `json:"failed_step_log,omitempty"`
	Tail          string   `json:"tail"`
	Lines         int      `json:"lines"`
	Truncated     bool     `json:"truncated,omitempty"`
}

// ActionsOut is one kind of Actions data.
type ActionsOut struct {
	Notice     string     `json:"notice,omitempty"`
	Workflows  []Workflow `json:"workflows,omitempty"`
	Runs       []Run      `json:"runs,omitempty"`
	Jobs       []Job      `json:"jobs,omitempty"`
	Logs       []JobLog   `json:"logs,omitempty"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

func newGetActions(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_actions",
		Title: "Get GitHub Actions runs, jobs and logs",
		Description: "Reads GitHub Actions: workflows, runs, one run, a run's jobs (failed first) or job logs. " +
			"Logs come bounded: error lines and the failed step's section first, then the last lines.",
		Toolset: toolsetActions, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"actions:read"},
	}, func(ctx context.Context, c *Conn, in ActionsIn) (ActionsOut, error) {
		opts, err := in.options()
		if err != nil {
			return ActionsOut{}, err
		}
		var out ActionsOut
		var resp *gh.Response
		switch in.Method {
		case "workflows":
			var wfs *gh.Workflows
			wfs, resp, err = c.client.Actions.ListWorkflows(ctx, in.Owner, in.Repo, &opts)
			if err == nil {
				for _, w := range wfs.Workflows {
					out.Workflows = append(out.Workflows, Workflow{ID: w.GetID(), Name: untrusted.Line(w.GetName()), Path: w.GetPath(), State: w.GetState()})
				}
			}
		case "runs":
			var runs *gh.WorkflowRuns
			runs, resp, err = listRuns(ctx, c, in, opts)
			if err == nil {
				for _, r := range runs.WorkflowRuns {
					out.Runs = append(out.Runs, runView(r))
				}
			}
		case "run":
			if in.RunID <= 0 {
				return ActionsOut{}, errors.New("method run needs run_id")
			}
			var r *gh.WorkflowRun
			if r, _, err = c.client.Actions.GetWorkflowRunByID(ctx, in.Owner, in.Repo, in.RunID); err == nil {
				out.Runs = []Run{runView(r)}
			}
		case "jobs":
			if in.RunID <= 0 {
				return ActionsOut{}, errors.New("method jobs needs run_id")
			}
			var jobs *gh.Jobs
			jobs, resp, err = c.client.Actions.ListWorkflowJobs(ctx, in.Owner, in.Repo, in.RunID, &gh.ListWorkflowJobsOptions{Filter: "latest", ListOptions: opts})
			if err == nil {
				out.Jobs = jobViews(jobs.Jobs)
			}
		case "job_logs":
			out.Logs, err = s.jobLogs(ctx, c, in)
		}
		if err != nil {
			return ActionsOut{}, err
		}
		if len(out.Runs)+len(out.Jobs)+len(out.Logs)+len(out.Workflows) > 0 {
			out.Notice = UntrustedNotice
		}
		out.NextCursor = next(resp)
		return out, nil
	})
}

var workflowFileRE = regexp.MustCompile(`^[A-Za-z0-9._-]+\.ya?ml$`)

// workflowRef tells a numeric workflow id from a workflow file name.
func workflowRef(w string) (id int64, file string, err error) {
	if n, err := strconv.ParseInt(w, 10, 64); err == nil && n > 0 {
		return n, "", nil
	}
	if !workflowFileRE.MatchString(w) {
		return 0, "", fmt.Errorf("workflow %s is neither a numeric id nor a workflow file name such as ci.yml", core.Quote(w))
	}
	return 0, w, nil
}

func listRuns(ctx context.Context, c *Conn, in ActionsIn, opts gh.ListOptions) (*gh.WorkflowRuns, *gh.Response, error) {
	if err := checkRef("branch", in.Branch); err != nil {
		return nil, nil, err
	}
	ro := &gh.ListWorkflowRunsOptions{Branch: in.Branch, Status: in.Status, ListOptions: opts}
	if in.Workflow == "" {
		return c.client.Actions.ListRepositoryWorkflowRuns(ctx, in.Owner, in.Repo, ro)
	}
	id, file, err := workflowRef(in.Workflow)
	if err != nil {
		return nil, nil, err
	}
	if id > 0 {
		return c.client.Actions.ListWorkflowRunsByID(ctx, in.Owner, in.Repo, id, ro)
	}
	return c.client.Actions.ListWorkflowRunsByFileName(ctx, in.Owner, in.Repo, file, ro)
}

func runView(r *gh.WorkflowRun) Run {
	sha := r.GetHeadSHA()
	if len(sha) > 12 {
		sha = sha[:12]
	}
	return Run{ID: r.GetID(), Name: untrusted.Line(r.GetName()), Title: untrusted.Line(r.GetDisplayTitle()), Status: r.GetStatus(),
		Conclusion: r.GetConclusion(), Event: r.GetEvent(), Branch: r.GetHeadBranch(), SHA: sha, Attempt: r.GetRunAttempt(),
		CreatedAt: ts(r.CreatedAt), URL: r.GetHTMLURL()}
}

func failed(conclusion string) bool {
	return conclusion == "failure" || conclusion == "timed_out" || conclusion == "startup_failure"
}

// jobViews converts jobs, failed ones first.
func jobViews(jobs []*gh.WorkflowJob) []Job {
	out := make([]Job, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, jobView(j))
	}
	slices.SortStableFunc(out, func(a, b Job) int {
		switch fa, fb := failed(a.Conclusion), failed(b.Conclusion); {
		case fa && !fb:
			return -1
		case fb && !fa:
			return 1
		}
		return 0
	})
	return out
}

func jobView(j *gh.WorkflowJob) Job {
	v := Job{ID: j.GetID(), Name: untrusted.Line(j.GetName()), Status: j.GetStatus(), Conclusion: j.GetConclusion(),
		StartedAt: ts(j.StartedAt), CompletedAt: ts(j.CompletedAt), URL: j.GetHTMLURL()}
	for _, st := range j.Steps {
		if failed(st.GetConclusion()) {
			v.FailedSteps = append(v.FailedSteps, untrusted.Line(st.GetName()))
		}
	}
	return v
}

const (
	defaultLogLines = 80
	maxLogLines     = 500
	maxErrorLines   = 20
	maxFailedJobs   = 3
)

func (s *Service) jobLogs(ctx context.Context, c *Conn, in ActionsIn) ([]JobLog, error) {
	lines := in.Lines
	switch {
	case lines == 0:
		lines = defaultLogLines
	case lines < 1 || lines > maxLogLines:
		return nil, fmt.Errorf("lines %d is outside 1-%d", lines, maxLogLines)
	}
	var jobs []*gh.WorkflowJob
	switch {
	case in.JobID > 0:
		j, _, err := c.client.Actions.GetWorkflowJobByID(ctx, in.Owner, in.Repo, in.JobID)
		if err != nil {
			return nil, err
		}
		jobs = []*gh.WorkflowJob{j}
	case in.RunID > 0:
		all, _, err := c.client.Actions.ListWorkflowJobs(ctx, in.Owner, in.Repo, in.RunID, &gh.ListWorkflowJobsOptions{Filter: "latest", ListOptions: gh.ListOptions{PerPage: maxPageSize}})
		if err != nil {
			return nil, err
		}
		for _, j := range all.Jobs {
			if failed(j.GetConclusion()) && len(jobs) < maxFailedJobs {
				jobs = append(jobs, j)
			}
		}
		if len(jobs) == 0 {
			return nil, fmt.Errorf("run %d has no failed job; pass job_id to read a particular job's log (method jobs lists them)", in.RunID)
		}
		lines = max(lines/len(jobs), min(lines, 20))
	default:
		return nil, errors.New("method job_logs needs job_id or run_id")
	}
	var out []JobLog
	for _, j := range jobs {
		text, truncated, err := s.downloadLog(ctx, c, in.Owner, in.Repo, j.GetID())
		if err != nil {
			return nil, err
		}
		v := jobView(j)
		l := summarizeLog(text, v.FailedSteps, lines)
		l.JobID, l.Name, l.Conclusion, l.FailedSteps, l.Truncated = v.ID, v.Name, v.Conclusion, v.FailedSteps, truncated || l.Truncated
		out = append(out, l)
	}
	return out, nil
}

// downloadLog fetches a job's log from the pre-signed URL GitHub
// redirects to, asking for the last max_log_bytes only.
func (s *Service) downloadLog(ctx context.Context, c *Conn, owner, repo string, jobID int64) (string, bool, error) {
	u, resp, err := c.client.Actions.GetWorkflowJobLogs(ctx, owner, repo, jobID, 1)
	if err != nil {
		if resp != nil && resp.Response != nil && resp.StatusCode != http.StatusFound {
			return "", false, &gh.ErrorResponse{Response: resp.Response, Message: http.StatusText(resp.StatusCode)}
		}
		return "", false, err
	}
	limit := int64(s.cfg.Limits.MaxLogBytes)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=-%d", limit))
	lr, err := c.logs.Do(req)
	if err != nil {
		return "", false, err
	}
	defer lr.Body.Close()
	if lr.StatusCode != http.StatusOK && lr.StatusCode != http.StatusPartialContent {
		return "", false, fmt.Errorf("downloading the log of job %d: %s", jobID, lr.Status)
	}
	b, err := io.ReadAll(io.LimitReader(lr.Body, limit+1))
	if err != nil {
		return "", false, err
	}
	truncated := lr.StatusCode == http.StatusPartialContent && !strings.HasPrefix(lr.Header.Get("Content-Range"), "bytes 0-")
	if int64(len(b)) > limit {
		b, truncated = b[len(b)-int(limit):], true
	}
	text := string(b)
	if truncated {
		// The first line is probably cut in half.
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i+1:]
		}
	}
	return text, truncated, nil
}

// logTimestampRE is the timestamp GitHub puts before every log line.
var logTimestampRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z `)

// summarizeLog picks the error lines, the section of the first failed
// step and the last n lines of a log.
func summarizeLog(text string, failedSteps []string, n int) JobLog {
	all := strings.Split(strings.TrimRight(untrusted.Clean(text), "\n"), "\n")
	for i, l := range all {
		all[i] = logTimestampRE.ReplaceAllString(l, "")
	}
	var out JobLog
	out.Lines = len(all)
	for _, l := range all {
		if strings.HasPrefix(l, "##[error]") && len(out.Errors) < maxErrorLines {
			e, _ := untrusted.Truncate(strings.TrimPrefix(l, "##[error]"), 300)
			out.Errors = append(out.Errors, e)
		}
	}
	if len(failedSteps) > 0 {
		start := -1
		for i, l := range all {
			g, ok := strings.CutPrefix(l, "##[group]")
			if ok && g != "" && (strings.HasPrefix(failedSteps[0], g) || strings.HasPrefix(g, failedSteps[0])) {
				start = i
			}
		}
		if start >= 0 {
			end := len(all)
			for i := start + 1; i < len(all); i++ {
				if strings.HasPrefix(all[i], "##[group]Run ") || strings.HasPrefix(all[i], "Post job cleanup") {
					end = i
					break
				}
			}
			section := all[start:end]
			if len(section) > n {
				section, out.Truncated = section[len(section)-n:], true
			}
			out.FailedStepLog = untrusted.Wrap(strings.Join(section, "\n"))
		}
	}
	t := all
	if len(t) > n {
		t = t[len(t)-n:]
	}
	out.Tail = untrusted.Wrap(strings.Join(t, "\n"))
	return out
}

// TriggerIn dispatches a workflow or re-runs a run.
type TriggerIn struct {
	RepoArgs
	Method   string            `json:"method" jsonschema:"dispatch: start workflow on ref; rerun: re-run every job of run_id; rerun_failed: re-run its failed jobs"`
	Workflow string            `json:"workflow,omitempty" jsonschema:"dispatch: workflow file name (ci.yml) or numeric id"`
	Ref      string            `json:"ref,omitempty" jsonschema:"dispatch: branch or tag to run on"`
	Inputs   map[string]string `json:"inputs,omitempty" jsonschema:"dispatch: workflow_dispatch inputs"`
	RunID    int64             `json:"run_id,omitempty" jsonschema:"rerun, rerun_failed: the run"`
}

// Enums lists the values core accepts for TriggerIn's enumerated properties.
func (TriggerIn) Enums() map[string][]string {
	return map[string][]string{"method": {"dispatch", "rerun", "rerun_failed"}}
}

// Done confirms an action with no object to return.
type Done struct {
	Done    bool   `json:"done"`
	Message string `json:"message"`
}

func newTriggerWorkflow(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "trigger_workflow",
		Title: "Dispatch or re-run a workflow",
		Description: "Starts a workflow that has a workflow_dispatch trigger on a branch or tag, or re-runs a workflow run " +
			"(all jobs, or only the failed ones). Follow progress with get_actions.",
		Toolset: toolsetActions, Effect: core.Additive, Idempotent: core.No, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"actions:write"},
	}, func(ctx context.Context, c *Conn, in TriggerIn) (Done, error) {
		switch in.Method {
		case "dispatch":
			if in.Workflow == "" || in.Ref == "" {
				return Done{}, errors.New("method dispatch needs workflow and ref")
			}
			if err := checkRef("ref", in.Ref); err != nil {
				return Done{}, err
			}
			id, file, err := workflowRef(in.Workflow)
			if err != nil {
				return Done{}, err
			}
			inputs := map[string]any{}
			for k, v := range in.Inputs {
				inputs[k] = v
			}
			ev := gh.CreateWorkflowDispatchEventRequest{Ref: in.Ref, Inputs: inputs}
			if id > 0 {
				_, err = c.client.Actions.CreateWorkflowDispatchEventByID(ctx, in.Owner, in.Repo, id, ev)
			} else {
				_, err = c.client.Actions.CreateWorkflowDispatchEventByFileName(ctx, in.Owner, in.Repo, file, ev)
			}
			if err != nil {
				return Done{}, err
			}
			return Done{Done: true, Message: fmt.Sprintf("workflow %s dispatched on %s; list its runs with get_actions method runs", in.Workflow, in.Ref)}, nil
		default:
			if in.RunID <= 0 {
				return Done{}, fmt.Errorf("method %s needs run_id", in.Method)
			}
			var err error
			if in.Method == "rerun_failed" {
				_, err = c.client.Actions.RerunFailedJobsByID(ctx, in.Owner, in.Repo, in.RunID)
			} else {
				_, err = c.client.Actions.RerunWorkflowByID(ctx, in.Owner, in.Repo, in.RunID)
			}
			if err != nil {
				return Done{}, err
			}
			return Done{Done: true, Message: fmt.Sprintf("run %d re-run requested", in.RunID)}, nil
		}
	})
}
