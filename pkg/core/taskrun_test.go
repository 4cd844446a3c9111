package core_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

type jobIn struct {
	// Block makes the job wait until it is cancelled.
	Block bool `json:"block,omitempty" jsonschema:"wait until cancelled"`
	// Ask makes the job ask the user for a word first.
	Ask bool `json:"ask,omitempty" jsonschema:"ask the user for a word"`
	// Later makes it ask after becoming a task.
	Later bool `json:"later,omitempty" jsonschema:"ask after becoming a task"`
}

type jobOut struct {
	Word string `json:"word"`
}

// jobModules is a task-capable tool "job" that reports its cancellation on
// cancelled.
func jobModules(cancelled chan<- string) []fx.Option {
	return []fx.Option{
		core.CacheModule, // task state lives in the cache
		core.AsToolset(core.Toolset{Name: "demo", Default: true}),
		core.AsTool(func() *core.ToolDef {
			s := spec("job", "demo", core.ReadOnly)
			s.Task = core.TaskOptional
			return core.NewTool(s, func(ctx context.Context, call *core.Call, in jobIn) (jobOut, error) {
				if in.Later {
					call.Detach()
				}
				if in.Ask {
					r, ok := call.InputResponses()["word"].(*mcp.ElicitResult)
					if !ok {
						return jobOut{}, &core.InputRequired{Requests: mcp.InputRequestMap{"word": &mcp.ElicitParams{
							Message: "A word?", RequestedSchema: json.RawMessage(`{"type":"object","properties":{"w":{"type":"string"}}}`)}}}
					}
					return jobOut{Word: fmt.Sprint(r.Content["w"])}, nil
				}
				call.Detach()
				if in.Block {
					<-ctx.Done()
					cancelled <- call.TaskID()
					return jobOut{}, ctx.Err()
				}
				return jobOut{Word: "done"}, nil
			})
		}),
	}
}

// metaTasks is a 2026-07-28 _meta whose client declares the tasks extension.
const metaTasks = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}}}`

func rpc26(t *testing.T, h *coretest.Harness, key, method, params string) map[string]any {
	t.Helper()
	var hdr map[string]string
	var p map[string]any
	_ = json.Unmarshal([]byte("{"+params+"}"), &p)
	if id, ok := p["taskId"].(string); ok {
		hdr = map[string]string{"Mcp-Name": id}
	}
	_, _, body := post26(t, h.URL(), key, `{"jsonrpc":"2.0","id":1,"method":"`+method+`","params":{`+params+`}}`, hdr)
	return rpcBody(t, body)
}

func result(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	r, ok := m["result"].(map[string]any)
	if !ok {
		t.Fatalf("no result: %v", m)
	}
	return r
}

func errCode(m map[string]any) float64 {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return c
}

// waitStatus polls tasks/get until the task reaches want.
func waitStatus(t *testing.T, h *coretest.Harness, key, id, want string) map[string]any {
	t.Helper()
	for range 500 {
		r := result(t, rpc26(t, h, key, "tasks/get", `"taskId":"`+id+`",`+metaTasks))
		if r["status"] == want {
			return r
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("task %s never reached %s", id, want)
	return nil
}

func TestTasks(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		t.Run(fmt.Sprintf("stateless=%t", stateless), func(t *testing.T) {
			cancelled := make(chan string, 1)
			h := startHTTP(t, jobModules(cancelled), func(c *config.Config) { c.HTTP.Stateless = stateless })

			// A client without the extension gets a plain result.
			res := result(t, rpc26(t, h, keyA, "tools/call", `"name":"job",`+meta26))
			if res["resultType"] != "complete" || res["taskId"] != nil {
				t.Errorf("without the extension: %v", res)
			}
			// With it, the call becomes a task whose result comes later.
			res = result(t, rpc26(t, h, keyA, "tools/call", `"name":"job",`+metaTasks))
			id, _ := res["taskId"].(string)
			if res["resultType"] != "task" || id == "" || res["status"] != "working" {
				t.Fatalf("create: %v", res)
			}
			done := waitStatus(t, h, keyA, id, "completed")
			if sc := done["result"].(map[string]any)["structuredContent"].(map[string]any); sc["word"] != "done" {
				t.Errorf("completed task result: %v", done)
			}
			// Another principal cannot see, update or cancel it.
			for _, m := range []string{"tasks/get", "tasks/cancel", "tasks/update"} {
				if c := errCode(rpc26(t, h, keyB, m, `"taskId":"`+id+`",`+metaTasks)); c != -32602 {
					t.Errorf("bob %s on alice's task: code %v, want -32602 (unknown task)", m, c)
				}
			}
			// Without the extension the task methods are refused.
			if c := errCode(rpc26(t, h, keyA, "tasks/get", `"taskId":"`+id+`",`+meta26)); c != -32021 {
				t.Errorf("tasks/get without the extension: code %v, want -32021", c)
			}

			// Cancellation reaches the running handler.
			res = result(t, rpc26(t, h, keyA, "tools/call", `"name":"job","arguments":{"block":true},`+metaTasks))
			id = res["taskId"].(string)
			if c := errCode(rpc26(t, h, keyB, "tasks/cancel", `"taskId":"`+id+`",`+metaTasks)); c != -32602 {
				t.Errorf("bob cancelled alice's task: %v", c)
			}
			if ack := result(t, rpc26(t, h, keyA, "tasks/cancel", `"taskId":"`+id+`",`+metaTasks)); ack["resultType"] != "complete" {
				t.Errorf("cancel ack: %v", ack)
			}
			if got := <-cancelled; got != id {
				t.Errorf("handler cancelled for task %q, want %q", got, id)
			}
			waitStatus(t, h, keyA, id, "cancelled")

			// Input asked inside a task is answered with tasks/update.
			res = result(t, rpc26(t, h, keyA, "tools/call", `"name":"job","arguments":{"ask":true},`+metaTasks))
			if res["resultType"] != "input_required" {
				t.Fatalf("asking job before detaching: %v", res)
			}
			res = result(t, rpc26(t, h, keyA, "tools/call", `"name":"job","arguments":{"ask":true,"later":true},`+metaTasks))
			id = res["taskId"].(string)
			parked := waitStatus(t, h, keyA, id, "input_required")
			if _, ok := parked["inputRequests"].(map[string]any)["word"]; !ok {
				t.Fatalf("parked task: %v", parked)
			}
			if c := errCode(rpc26(t, h, keyB, "tasks/update", `"taskId":"`+id+`","inputResponses":{"word":{"action":"accept","content":{"w":"bob"}}},`+metaTasks)); c != -32602 {
				t.Errorf("bob answered alice's task: %v", c)
			}
			rpc26(t, h, keyA, "tasks/update", `"taskId":"`+id+`","inputResponses":{"word":{"action":"accept","content":{"w":"hi"}}},`+metaTasks)
			done = waitStatus(t, h, keyA, id, "completed")
			if sc := done["result"].(map[string]any)["structuredContent"].(map[string]any); sc["word"] != "hi" {
				t.Errorf("answered task result: %v", done)
			}
		})
	}
}

func TestTasksSurviveAnotherReplica(t *testing.T) {
	url := "redis://127.0.0.1:6379/0"
	opts, _ := redis.ParseURL(url)
	raw := redis.NewClient(opts)
	defer raw.Close()
	if err := raw.Ping(context.Background()).Err(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis at %s is required when CI=true: %v", url, err)
		}
		t.Skipf("Redis not reachable at %s (%v): start redis-server on 127.0.0.1:6379 to run this test", url, err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "mcpfleet-tasks-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		keys, _ := raw.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			raw.Del(context.Background(), keys...)
		}
	})
	replica := func() *coretest.Harness {
		cancelled := make(chan string, 1)
		return startHTTP(t, jobModules(cancelled), func(c *config.Config) {
			c.HTTP.Stateless = true
			c.Cache.Backend = "redis"
			c.Cache.RedisURL = config.NewSecret(url)
			c.Cache.KeyPrefix = prefix
		})
	}
	a, b2 := replica(), replica()
	res := result(t, rpc26(t, a, keyA, "tools/call", `"name":"job",`+metaTasks))
	id := res["taskId"].(string)
	done := waitStatus(t, b2, keyA, id, "completed")
	if !strings.Contains(fmt.Sprint(done["result"]), "done") {
		t.Errorf("result fetched from the other replica: %v", done)
	}
	if c := errCode(rpc26(t, b2, keyB, "tasks/get", `"taskId":"`+id+`",`+metaTasks)); c != -32602 {
		t.Errorf("bob on the other replica: %v", c)
	}
}

// TestTasksOnASession: a 2025-11-25 client that declared the extension at
// initialize gets tasks on its session too.
func TestTasksOnASession(t *testing.T) {
	cancelled := make(chan string, 1)
	h := startHTTP(t, jobModules(cancelled), nil)
	resp, body := rawPost(t, h.URL(), keyA, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}},"clientInfo":{"name":"raw","version":"1"}}}`)
	id := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || id == "" {
		t.Fatalf("initialize: %d %s", resp.StatusCode, body)
	}
	rawPost(t, h.URL(), keyA, id, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	_, body = rawPost(t, h.URL(), keyA, id, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"job"}}`)
	res := result(t, rpcBody(t, body))
	task, _ := res["taskId"].(string)
	if res["resultType"] != "task" || task == "" {
		t.Fatalf("tools/call on the session: %s", body)
	}
	for range 500 {
		_, body = rawPost(t, h.URL(), keyA, id, `{"jsonrpc":"2.0","id":3,"method":"tasks/get","params":{"taskId":"`+task+`"}}`)
		if r := result(t, rpcBody(t, body)); r["status"] == "completed" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the task never completed: %s", body)
}
