package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

func TestNotifyToolListChanged(t *testing.T) {
	p := newProbe()
	h := coretest.Start(t, coretest.Options{Modules: invokeModules(p)})
	changed := make(chan struct{}, 1)
	cs := h.Connect(t, &mcp.ClientOptions{ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
		changed <- struct{}{}
	}})
	before, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Server.NotifyToolListChanged()
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Fatal("no tools/list_changed notification")
	}
	after, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Tools) != len(before.Tools) {
		t.Errorf("tool list changed size: %d -> %d", len(before.Tools), len(after.Tools))
	}
	if res := call(t, cs, "greet", map[string]any{"name": "x"}); res.IsError {
		t.Errorf("re-registered tool broken: %s", text(res))
	}
}
