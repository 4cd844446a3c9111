// Package fakeslack is a fake Slack Web API for tests and benchmarks:
// slacktest's server with handlers for every method the Slack server
// calls (slacktest lacks most of them, and its chat.postMessage leaks a
// goroutine per call, so ours replaces it). It checks tokens, enforces
// per-method rate limits like Slack's tiers (429 ratelimited with
// Retry-After), can inject Slack errors, and records every request.
package fakeslack

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"

	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"
	"golang.org/x/time/rate"
)

// Tokens the fake accepts.
const (
	BotToken  = "xoxb-fake-bot-token"
	UserToken = "xoxp-fake-user-token"
)

// Options shape the fake workspace.
type Options struct {
	// Users and Channels add generated people (user1...) and public
	// channels (channel-1...) to the fixed test data.
	Users, Channels int
	// TierRPM enforces Slack's tiers: requests per minute per method for
	// tiers 1-4 (nil: no limits). Over the limit the fake answers 429
	// ratelimited with Retry-After.
	TierRPM map[int]float64
	// BurstSeconds is how many seconds' worth of a tier's rate may come at
	// once (6 when zero).
	BurstSeconds float64
	// Tiers maps methods to tiers; methods not listed are tier 3.
	Tiers map[string]int
	// Latency is added to every answer.
	Latency time.Duration
}

// Request is one request the fake received.
type Request struct {
	Method string
	Token  string
	Form   map[string]string
}

// Fake is a running fake Slack.
type Fake struct {
	srv  *slacktest.Server
	opts Options
	data *data

	mu       sync.Mutex
	requests []Request
	counts   map[string]int
	inject   map[string][]injection
	revoked  bool
	limiters map[string]*rate.Limiter
	posted   []map[string]string
	holds    map[string]chan struct{}
	limited  int
}

type injection struct {
	cursor     string // "": any request
	slackErr   string
	retryAfter int // >0: a 429 with this Retry-After
}

// New starts a fake Slack, stopped when the test ends.
func New(t testing.TB, o Options) *Fake {
	f := &Fake{opts: o, data: newData(o), counts: map[string]int{}, inject: map[string][]injection{}, limiters: map[string]*rate.Limiter{}, holds: map[string]chan struct{}{}}
	routes := f.routes()
	f.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		for name, h := range routes {
			c.Handle("/"+name, f.wrap(name, h))
		}
		c.Handle("/files/", f.wrap("files.download", f.download))
	})
	f.srv.Start()
	t.Cleanup(f.srv.Stop)
	return f
}

// URL is the API root to configure as api_url.
func (f *Fake) URL() string { return f.srv.GetAPIURL() }

// Requests returns a copy of every request so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Count is how many requests method received.
func (f *Fake) Count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[method]
}

// Total is how many requests the fake received.
func (f *Fake) Total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// Limited is how many requests the tier limits refused.
func (f *Fake) Limited() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.limited
}

// Fail makes the next n calls of method answer ok:false with slackErr.
func (f *Fake) Fail(method, slackErr string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.inject[method] = append(f.inject[method], injection{slackErr: slackErr})
	}
}

// RateLimit makes the next n calls of method answer 429 ratelimited with
// Retry-After: retryAfter seconds.
func (f *Fake) RateLimit(method string, retryAfter, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.inject[method] = append(f.inject[method], injection{slackErr: "ratelimited", retryAfter: retryAfter})
	}
}

// RateLimitAt makes the next n calls of method with this cursor answer
// 429 ratelimited: a warm-up cut short in the middle.
func (f *Fake) RateLimitAt(method, cursor string, retryAfter, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.inject[method] = append(f.inject[method], injection{cursor: cursor, slackErr: "ratelimited", retryAfter: retryAfter})
	}
}

// Hold makes calls of method wait until the returned release is called
// (or the request is cancelled).
func (f *Fake) Hold(method string) (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan struct{})
	f.holds[method] = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.holds, method)
			f.mu.Unlock()
			close(ch)
		})
	}
}

// Revoke makes every token invalid (invalid_auth), as when an app is
// uninstalled.
func (f *Fake) Revoke() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = true
}

// Posted returns the messages posted (chat.postMessage forms).
func (f *Fake) Posted() []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]string(nil), f.posted...)
}

func (f *Fake) limiter(method string) *rate.Limiter {
	if f.opts.TierRPM == nil {
		return nil
	}
	if l, ok := f.limiters[method]; ok {
		return l
	}
	tier, ok := f.opts.Tiers[method]
	if !ok {
		tier = 3
	}
	rpm := f.opts.TierRPM[tier]
	var l *rate.Limiter
	if rpm > 0 {
		burst := f.opts.BurstSeconds
		if burst == 0 {
			burst = 6
		}
		l = rate.NewLimiter(rate.Limit(rpm/60), max(1, int(rpm/60*burst)))
	}
	f.limiters[method] = l
	return l
}

type handler func(r *http.Request, tok string) (any, error)

// slackError is an ok:false answer.
type slackError string

func (e slackError) Error() string { return string(e) }

func (f *Fake) wrap(method string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if f.opts.Latency > 0 {
			time.Sleep(f.opts.Latency)
		}
		_ = r.ParseForm()
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if tok == "" {
			tok = r.FormValue("token")
		}
		form := map[string]string{}
		for k, v := range r.Form {
			if k != "token" {
				form[k] = strings.Join(v, ",")
			}
		}
		f.mu.Lock()
		f.requests = append(f.requests, Request{Method: method, Token: tok, Form: form})
		f.counts[method]++
		var inj *injection
		for i, q := range f.inject[method] {
			if q.cursor == "" || q.cursor == r.FormValue("cursor") {
				inj = &q
				f.inject[method] = append(f.inject[method][:i:i], f.inject[method][i+1:]...)
				break
			}
		}
		hold := f.holds[method]
		revoked := f.revoked
		l := f.limiter(method)
		f.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if l != nil {
			now := time.Now()
			res := l.ReserveN(now, 1)
			if d := res.DelayFrom(now); d > 0 {
				res.CancelAt(now)
				inj = &injection{slackErr: "ratelimited", retryAfter: int(math.Ceil(d.Seconds()))}
				f.mu.Lock()
				f.limited++
				f.mu.Unlock()
			}
		}
		switch {
		case inj != nil && inj.retryAfter > 0:
			w.Header().Set("Retry-After", fmt.Sprint(inj.retryAfter))
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"ok":false,"error":"ratelimited"}`))
			return
		case revoked:
			writeErr(w, "invalid_auth")
			return
		case tok != BotToken && tok != UserToken:
			writeErr(w, "invalid_auth")
			return
		case inj != nil:
			writeErr(w, inj.slackErr)
			return
		}
		out, err := h(r, tok)
		if err != nil {
			writeErr(w, err.Error())
			return
		}
		if method == "files.download" {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte(out.(string)))
			return
		}
		b, err := json.Marshal(out)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		// Every answer is an object: add "ok": true.
		if len(b) <= 2 {
			_, _ = w.Write([]byte(`{"ok":true}`))
			return
		}
		_, _ = w.Write([]byte(`{"ok":true,`))
		_, _ = w.Write(b[1:])
	}
}

func writeErr(w http.ResponseWriter, code string) {
	_, _ = fmt.Fprintf(w, `{"ok":false,"error":%q}`, code)
}
