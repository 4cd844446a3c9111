package slack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

// Conn is one configured workspace: slack-go clients for its bot and user
// tokens, whose requests go through
//
//	tier limiter (Slack's per-method limits, waits bounded by the call)
//	-> core's upstream transport (retries honouring Retry-After, breaker,
//	   spans, refusal of the MCP client's own credential)
//
// and the user and channel directories.
type Conn struct {
	Name     string
	bot      *slack.Client // nil without a bot token
	user     *slack.Client // nil without a user token
	up       *upstream.Client
	http     *http.Client
	apiURL   *url.URL
	teamID   string
	read     channelList
	write    channelList
	writeOn  bool
	readOnly bool
	unfurl   []string
	dir      *directory

	authMu   sync.Mutex
	authAt   time.Time
	authErr  error
	authInfo *slack.AuthTestResponse
}

const slackAPI = "https://slack.com/api/"

func newConn(name string, w Workspace, s *Service, newUpstream func(upstream.Config) (*upstream.Client, error), clock upstream.Clock) (*Conn, error) {
	p := "slack.workspaces." + name
	read, err := parseChannelList(w.Channels)
	if err != nil {
		return nil, fmt.Errorf("%s.channels: %w", p, err)
	}
	write, err := parseChannelList(w.Write.Channels)
	if err != nil {
		return nil, fmt.Errorf("%s.write.channels: %w", p, err)
	}
	api := w.APIURL
	if api == "" {
		api = slackAPI
	}
	if !strings.HasSuffix(api, "/") {
		api += "/"
	}
	apiURL, err := url.Parse(api)
	if err != nil {
		return nil, fmt.Errorf("%s.api_url: %w", p, err)
	}
	up, err := newUpstream(w.Upstream)
	if err != nil {
		return nil, fmt.Errorf("%s.upstream: %w", p, err)
	}
	hc := &http.Client{Transport: newTierLimiter(up.Transport(), clock, s.cfg.Limits)}
	c := &Conn{
		Name: name, up: up, http: hc, apiURL: apiURL, teamID: w.TeamID, read: read, write: write,
		writeOn: w.Write.Enabled, readOnly: w.ReadOnly, unfurl: w.Write.UnfurlDomains,
	}
	opts := []slack.Option{slack.OptionAPIURL(api), slack.OptionHTTPClient(hc)}
	var identity []string
	if w.Token.IsSet() {
		c.bot = slack.New(w.Token.Reveal(), opts...)
		identity = append(identity, w.Token.Reveal())
	}
	if w.UserToken.IsSet() {
		c.user = slack.New(w.UserToken.Reveal(), opts...)
		identity = append(identity, w.UserToken.Reveal())
	}
	// Cache keys carry a hash of the tokens, so a workspace renamed or
	// re-pointed at another team never reads another's entries.
	sum := sha256.Sum256([]byte(strings.Join(identity, "\n")))
	c.dir = newDirectory(c, s, "dir:"+name+":"+hex.EncodeToString(sum[:8])+":")
	return c, nil
}

// api is the client for ordinary calls: the bot token when there is one.
func (c *Conn) api() *slack.Client {
	if c.bot != nil {
		return c.bot
	}
	return c.user
}

// userAPI is the client for methods only user tokens may call.
func (c *Conn) userAPI(what string) (*slack.Client, error) {
	if c.user == nil {
		return nil, fmt.Errorf("%s needs a user token (xoxp-) and workspace %q has only a bot token; the operator can add slack.workspaces.%s.user_token (MCPFLEET_SLACK_USER_TOKEN for one workspace)", what, c.Name, c.Name)
	}
	return c.user, nil
}

// tokens names the token kinds configured.
func (c *Conn) tokens() []string {
	var out []string
	if c.bot != nil {
		out = append(out, "bot")
	}
	if c.user != nil {
		out = append(out, "user")
	}
	return out
}

// authProbeEvery bounds how often readiness calls auth.test.
const authProbeEvery = time.Minute

// auth calls auth.test, at most once a minute; readiness and get_workspace
// use it.
func (c *Conn) auth(ctx context.Context, now time.Time) (*slack.AuthTestResponse, error) {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if !c.authAt.IsZero() && now.Sub(c.authAt) < authProbeEvery {
		return c.authInfo, c.authErr
	}
	info, err := c.api().AuthTestContext(ctx)
	c.authAt, c.authInfo, c.authErr = now, info, err
	return info, err
}

// allowsLink reports whether host is one of the unfurl domains or under
// one.
func (c *Conn) allowsLink(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, d := range c.unfurl {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}
