package upstream_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

func ExampleNew() {
	// A fake upstream that is briefly unavailable.
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "4999")
		_, _ = io.WriteString(w, `{"login":"octocat"}`)
	}))
	defer srv.Close()

	cfg := upstream.NewDefaultConfig()
	cfg.Name = "github"
	cfg.Retry.BackoffBase = 10 * time.Millisecond
	client, err := upstream.New(cfg, upstream.Deps{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	// Hand client.HTTPClient() to an SDK; here it is used directly.
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/user", nil)
	resp, err := client.HTTPClient().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body), "after", calls.Load(), "calls")
	fmt.Println("remaining quota:", client.Quotas()[0].Remaining)
	// Output:
	// 200 {"login":"octocat"} after 2 calls
	// remaining quota: 4999
}
