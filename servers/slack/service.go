package slack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/cache"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

// Service holds the configured workspaces and the rules every tool call
// goes through before it reaches Slack: which workspace, which channel,
// whether it may write.
type Service struct {
	cfg    Config
	conns  map[string]*Conn
	def    *Conn
	cache  cache.Cache
	logger *slog.Logger
	clock  upstream.Clock

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Deps are what [NewService] needs besides the config.
type Deps struct {
	// NewUpstream builds a workspace's HTTP client (core.Upstreams.New).
	NewUpstream func(upstream.Config) (*upstream.Client, error)
	// Cache keeps the directories; required.
	Cache  cache.Cache
	Logger *slog.Logger
	// Clock is the time the tier limiter and the directories go by; real
	// time when nil.
	Clock upstream.Clock
}

// NewService validates cfg and builds every workspace. It makes no
// network call; [Service.Start] begins the background warm-up.
func NewService(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.NewUpstream == nil || d.Cache == nil {
		return nil, errors.New("slack: Deps.NewUpstream and Deps.Cache are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Clock == nil {
		d.Clock = realClock{}
	}
	s := &Service{cfg: cfg, conns: map[string]*Conn{}, cache: d.Cache, logger: d.Logger, clock: d.Clock}
	for _, name := range cfg.workspaceNames() {
		w := cfg.Workspaces[name]
		c, err := newConn(name, w, s, d.NewUpstream, d.Clock)
		if err != nil {
			return nil, err
		}
		s.conns[name] = c
		if w.Default {
			s.def = c
		}
		d.Logger.Info("slack workspace ready", "workspace", name, "tokens", strings.Join(c.tokens(), "+"),
			"read_only", w.ReadOnly, "write", w.Write.Enabled, "channel_allowlist", !c.read.open())
	}
	// Every workspace's client removes every token the server holds from
	// Slack's text, not only the one it sent: an upstream (or a proxy in
	// front of it) that echoes the user token on a bot call, or another
	// workspace's token, must not hand it to a caller.
	var secrets []string
	for _, w := range cfg.Workspaces {
		secrets = append(secrets, w.Token.Reveal(), w.UserToken.Reveal())
	}
	for _, c := range s.conns {
		c.up.AddSecrets(secrets...)
	}
	return s, nil
}

// Start begins warming the directories in the background and returns at
// once: initialize and tools/list never wait for it.
func (s *Service) Start() {
	if !s.cfg.Cache.WarmUp || s.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for _, c := range s.Workspaces() {
		s.wg.Go(func() { c.dir.run(ctx) })
	}
}

// Stop ends the warm-up and waits for it. Safe without Start.
func (s *Service) Stop() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

// Workspaces returns the workspaces, sorted by name.
func (s *Service) Workspaces() []*Conn {
	out := make([]*Conn, 0, len(s.conns))
	for _, name := range s.cfg.workspaceNames() {
		out = append(out, s.conns[name])
	}
	return out
}

// workspaced is implemented by every tool input.
type workspaced interface{ workspaceName() string }

// WorkspaceArg is the workspace argument every tool takes.
type WorkspaceArg struct {
	Workspace string `json:"workspace,omitempty" jsonschema:"workspace name; the default one when empty"`
}

func (a WorkspaceArg) workspaceName() string { return a.Workspace }

func (s *Service) workspace(name string) (*Conn, error) {
	if name == "" {
		return s.def, nil
	}
	if c, ok := s.conns[name]; ok {
		return c, nil
	}
	var names []string
	for _, n := range s.cfg.workspaceNames() {
		if s.conns[n] == s.def {
			n += " (default)"
		}
		names = append(names, n)
	}
	return nil, fmt.Errorf("workspace %q is not configured; use one of: %s", name, strings.Join(names, ", "))
}

// mayWrite refuses writes through a workspace that is read-only or has
// writes off, before anything is sent.
func (c *Conn) mayWrite() error {
	if c.readOnly {
		return fmt.Errorf("workspace %q is read-only (slack.workspaces.%s.read_only): writes are refused", c.Name, c.Name)
	}
	if !c.writeOn {
		return fmt.Errorf("writing to Slack is off for workspace %q; the operator can enable it with slack.workspaces.%s.write.enabled and list channels in write.channels", c.Name, c.Name)
	}
	return nil
}

// tool builds a tool: the workspace is resolved and, for writes, checked
// before h runs; Slack's errors come back as messages the model can act
// on.
func tool[In workspaced, Out any](s *Service, spec core.ToolSpec, h func(ctx context.Context, c *Conn, in In) (Out, error)) *core.ToolDef {
	write := spec.Effect != core.ReadOnly
	return core.NewTool(spec, func(ctx context.Context, _ *core.Call, in In) (Out, error) {
		var zero Out
		c, err := s.workspace(in.workspaceName())
		if err != nil {
			return zero, err
		}
		if write {
			if err := c.mayWrite(); err != nil {
				return zero, err
			}
		}
		out, err := h(ctx, c, in)
		if err != nil {
			return zero, explain(c, spec, err)
		}
		return out, nil
	})
}

// Resolution of #channel and @user arguments.

// channelRef resolves a channel argument (an id, or #name) to an id and
// checks it against list. The name is looked up only when the list or
// the argument needs it.
func (c *Conn) channelRef(ctx context.Context, arg string, list channelList, what string) (Channel, error) {
	arg = strings.TrimSpace(arg)
	var ch Channel
	switch {
	case channelIDRE.MatchString(arg):
		ch = Channel{ID: arg}
		if list.needsName(arg) {
			full, err := c.dir.channel(ctx, arg)
			if err != nil {
				return Channel{}, err
			}
			ch = full
		}
	case strings.HasPrefix(arg, "#") && channelNameRE.MatchString(strings.ToLower(arg[1:])):
		name := strings.ToLower(arg[1:])
		id, ok := c.dir.channelIDByName(name)
		st := c.dir.State(kindChannels)
		if !ok && !st.complete() {
			// The warm-up has not reached it: read the first pages
			// ourselves (enough for most workspaces).
			var all bool
			var err error
			if id, ok, all, err = c.dir.scanChannel(ctx, name); err != nil {
				return Channel{}, err
			}
			if all {
				st.Status = stateComplete
			}
		}
		if !ok {
			if !st.complete() {
				return Channel{}, fmt.Errorf("channel %s is not in the channel directory of workspace %q yet (%s, %d channels loaded, the first %d pages read): pass its id (C...), which list_channels with query %q shows, or try again shortly", arg, c.Name, st.Status, st.Loaded, scanPages, name)
			}
			return Channel{}, fmt.Errorf("workspace %q has no channel named %s; list_channels with query %q finds similar names", c.Name, arg, name)
		}
		ch, _ = c.dir.channel(ctx, id)
	case strings.HasPrefix(arg, "@"):
		// A person: the direct-message conversation with them.
		u, err := c.userRef(ctx, arg)
		if err != nil {
			return Channel{}, err
		}
		dm, ok := c.dir.dmWith(u.ID)
		if !ok {
			return Channel{}, fmt.Errorf("no direct-message conversation with %s (%s) is known to workspace %q; list_channels with types [\"im\"] shows the DMs the token has", arg, u.ID, c.Name)
		}
		ch = dm
	default:
		return Channel{}, fmt.Errorf("channel %q is neither a channel id (C0123ABC, G..., D...), a #channel-name nor an @person (their DM)", arg)
	}
	if !list.allows(ch.ID, ch.Name) {
		return Channel{}, fmt.Errorf("channel %s is not one workspace %q may %s (allowed: %s); the operator can change slack.workspaces.%s.%s",
			display(ch), c.Name, what, list.text, c.Name, map[string]string{"read": "channels", "write to": "write.channels"}[what])
	}
	return ch, nil
}

// readChannel resolves a channel the call reads.
func (c *Conn) readChannel(ctx context.Context, arg string) (Channel, error) {
	return c.channelRef(ctx, arg, c.read, "read")
}

// writeChannel resolves a channel the call writes to: it must pass both
// the read list and the write list.
func (c *Conn) writeChannel(ctx context.Context, arg string) (Channel, error) {
	ch, err := c.channelRef(ctx, arg, c.write, "write to")
	if err != nil {
		return Channel{}, err
	}
	if c.read.needsName(ch.ID) && ch.Name == "" {
		if full, err := c.dir.channel(ctx, ch.ID); err == nil {
			ch = full
		}
	}
	if !c.read.allows(ch.ID, ch.Name) {
		return Channel{}, fmt.Errorf("channel %s is outside the channels workspace %q may read (%s), so it may not be written either", display(ch), c.Name, c.read.text)
	}
	return ch, nil
}

func display(ch Channel) string {
	if ch.Name != "" {
		return "#" + ch.Name + " (" + ch.ID + ")"
	}
	return ch.ID
}

// userRef resolves a user argument: an id, @name (handle or display
// name) or an e-mail address.
func (c *Conn) userRef(ctx context.Context, arg string) (User, error) {
	arg = strings.TrimSpace(arg)
	switch {
	case userIDRE.MatchString(arg):
		return c.dir.user(ctx, arg)
	case strings.Contains(arg, "@") && !strings.HasPrefix(arg, "@"):
		if len(arg) > 254 || !strings.Contains(arg[strings.Index(arg, "@"):], ".") {
			return User{}, fmt.Errorf("%q is not an e-mail address", arg)
		}
		su, err := c.api().GetUserByEmailContext(ctx, arg)
		if err != nil {
			return User{}, err
		}
		u := userOf(su)
		c.dir.putUsers([]User{u})
		return u, nil
	case strings.HasPrefix(arg, "@") && userNameRE.MatchString(arg[1:]):
		if id, ok := c.dir.userIDByName(arg[1:]); ok {
			return c.dir.user(ctx, id)
		}
		st := c.dir.State(kindUsers)
		if !st.complete() {
			id, ok, all, err := c.dir.scanUser(ctx, arg[1:])
			if err != nil {
				return User{}, err
			}
			if ok {
				return c.dir.user(ctx, id)
			}
			if all {
				st.Status = stateComplete
			}
		}
		if !st.complete() {
			return User{}, fmt.Errorf("user %s is not in the user directory of workspace %q yet (%s, %d users loaded): pass the user id (U...) or e-mail address, or try again shortly", arg, c.Name, st.Status, st.Loaded)
		}
		return User{}, fmt.Errorf("workspace %q has no user %s; list_users with query finds similar names", c.Name, arg)
	}
	return User{}, fmt.Errorf("user %q is neither a user id (U0123ABC), an @name nor an e-mail address", arg)
}

// Pagination.

// Page is the cursor and page size every list takes.
type Page struct {
	Cursor string `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page"`
	Limit  int    `json:"limit,omitempty" jsonschema:"page size, 1-200 (default 50)"`
}

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

func (p Page) size() (int, error) {
	switch {
	case p.Limit == 0:
		return defaultPageSize, nil
	case p.Limit < 1 || p.Limit > maxPageSize:
		return 0, fmt.Errorf("limit %d is outside 1-%d", p.Limit, maxPageSize)
	}
	return p.Limit, nil
}

// checkCursor refuses cursors that are not Slack's or ours (base64-ish,
// bounded).
func checkCursor(cur string) error {
	if len(cur) > 512 || strings.ContainsAny(cur, " \t\r\n&?#") {
		return fmt.Errorf("cursor is not one this server issued; pass next_cursor unchanged, or omit it for the first page")
	}
	return nil
}

// offsetPage pages a sorted slice with an "o<offset>" cursor.
func offsetPage[T any](items []T, p Page) ([]T, string, error) {
	size, err := p.size()
	if err != nil {
		return nil, "", err
	}
	start := 0
	if p.Cursor != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(p.Cursor, "o"))
		if err != nil || n < 0 || !strings.HasPrefix(p.Cursor, "o") {
			return nil, "", fmt.Errorf("cursor %q is not one this server issued; pass next_cursor unchanged, or omit it for the first page", p.Cursor)
		}
		start = min(n, len(items))
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = "o" + strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

func sortBy[T any](s []T, key func(T) string) {
	slices.SortFunc(s, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
}

// Text helpers.

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// cleanLine cleans a short field written by a Slack user (a name, a
// topic): results carrying such fields carry UntrustedNotice.
func cleanLine(s string) string {
	return untrusted.ShortLine(s, 250)
}
