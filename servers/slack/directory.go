package slack

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// User is a directory entry for a Slack user.
type User struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	RealName    string `json:"real_name,omitempty"`
	Title       string `json:"title,omitempty"`
	TZ          string `json:"tz,omitempty"`
	IsBot       bool   `json:"is_bot,omitempty"`
	IsAdmin     bool   `json:"is_admin,omitempty"`
	Deleted     bool   `json:"deleted,omitempty"`
}

// Channel is a directory entry for a conversation.
type Channel struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Kind     string `json:"kind"` // public, private, im, mpim
	User     string `json:"user,omitempty"`
	IsMember bool   `json:"is_member,omitempty"`
	Archived bool   `json:"archived,omitempty"`
	Members  int    `json:"members,omitempty"`
	Topic    string `json:"topic,omitempty"`
	Purpose  string `json:"purpose,omitempty"`
}

func userOf(u *slack.User) User {
	return User{
		ID: u.ID, Name: u.Name, DisplayName: cleanLine(u.Profile.DisplayName), RealName: cleanLine(u.RealName),
		Title: cleanLine(u.Profile.Title), TZ: u.TZ, IsBot: u.IsBot, IsAdmin: u.IsAdmin, Deleted: u.Deleted,
	}
}

func channelOf(ch *slack.Channel) Channel {
	kind := "public"
	switch {
	case ch.IsIM:
		kind = "im"
	case ch.IsMpIM:
		kind = "mpim"
	case ch.IsPrivate || ch.IsGroup:
		kind = "private"
	}
	return Channel{
		ID: ch.ID, Name: ch.Name, Kind: kind, User: ch.User, IsMember: ch.IsMember, Archived: ch.IsArchived,
		Members: ch.NumMembers, Topic: cleanLine(ch.Topic.Value), Purpose: cleanLine(ch.Purpose.Value),
	}
}

// Directory load states. A directory is served as complete only after a
// warm-up read every page; one cut short (rate limits, errors) is
// incomplete and resumes from its cursor.
const (
	stateCold       = "cold"
	stateWarming    = "warming"
	stateIncomplete = "incomplete"
	stateComplete   = "complete"
)

// LoadState reports a directory's warm-up.
type LoadState struct {
	Status string `json:"status"`
	// Refreshing is true while a complete directory is reloaded after its TTL.
	Refreshing  bool   `json:"refreshing,omitempty"`
	Loaded      int    `json:"loaded"`
	Pages       int    `json:"pages"`
	Calls       int    `json:"calls"`
	Resumes     int    `json:"resumes,omitempty"`
	Error       string `json:"error,omitempty"`
	CompletedAt string `json:"completed_at,omitempty"`
	// FromCache is true when the directory came from core's cache (another
	// replica, or an earlier run) rather than from Slack.
	FromCache bool `json:"from_cache,omitempty"`
}

func (s LoadState) complete() bool { return s.Status == stateComplete }

// directory holds a workspace's users and channels. Lookups never wait for
// the warm-up: a missing entry is read from core's cache or fetched from
// Slack on its own.
type directory struct {
	conn   *Conn
	svc    *Service
	prefix string

	mu           sync.RWMutex
	users        map[string]User
	userNames    map[string]string
	channels     map[string]Channel
	channelNames map[string]string
	state        map[string]*LoadState // "users", "channels"
}

func newDirectory(c *Conn, s *Service, prefix string) *directory {
	return &directory{
		conn: c, svc: s, prefix: prefix,
		users: map[string]User{}, userNames: map[string]string{},
		channels: map[string]Channel{}, channelNames: map[string]string{},
		state: map[string]*LoadState{kindUsers: {Status: stateCold}, kindChannels: {Status: stateCold}},
	}
}

const (
	kindUsers    = "users"
	kindChannels = "channels"
	// pageTimeout bounds one warm-up page, tier waits and retries included.
	pageTimeout = time.Minute
)

// State returns a copy of the load state of kind.
func (d *directory) State(kind string) LoadState {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return *d.state[kind]
}

func (d *directory) putUsers(us []User) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, u := range us {
		d.users[u.ID] = u
		d.userNames[strings.ToLower(u.Name)] = u.ID
		if u.DisplayName != "" {
			if _, taken := d.userNames[strings.ToLower(u.DisplayName)]; !taken {
				d.userNames[strings.ToLower(u.DisplayName)] = u.ID
			}
		}
	}
	d.state[kindUsers].Loaded = len(d.users)
}

func (d *directory) putChannels(cs []Channel) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range cs {
		d.channels[c.ID] = c
		if c.Name != "" {
			d.channelNames[c.Name] = c.ID
		}
	}
	d.state[kindChannels].Loaded = len(d.channels)
}

// run warms both directories and refreshes them every TTL until ctx ends.
func (d *directory) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, kind := range []string{kindUsers, kindChannels} {
		wg.Go(func() { d.loop(ctx, kind) })
	}
	wg.Wait()
}

type snapshot struct {
	CompletedAt time.Time `json:"completed_at"`
	Users       []User    `json:"users,omitempty"`
	Channels    []Channel `json:"channels,omitempty"`
	Pages       int       `json:"pages"`
}

func (d *directory) loop(ctx context.Context, kind string) {
	ttl := d.svc.cfg.Cache.TTL
	completed, ok := d.loadSnapshot(ctx, kind)
	for ctx.Err() == nil {
		if !ok {
			if !d.fill(ctx, kind) {
				return
			}
			completed = d.svc.clock.Now()
		}
		ok = false
		wait := ttl - d.svc.clock.Now().Sub(completed)
		if err := d.svc.clock.Sleep(ctx, max(wait, 0)); err != nil {
			return
		}
		d.mu.Lock()
		d.state[kind].Refreshing = true
		d.mu.Unlock()
	}
}

// loadSnapshot takes a complete directory from core's cache, when one is
// there (Redis shares it between replicas).
func (d *directory) loadSnapshot(ctx context.Context, kind string) (time.Time, bool) {
	b, found, err := d.svc.cache.Get(ctx, d.prefix+kind)
	if err != nil || !found {
		return time.Time{}, false
	}
	var snap snapshot
	if json.Unmarshal(b, &snap) != nil {
		return time.Time{}, false
	}
	if kind == kindUsers {
		d.putUsers(snap.Users)
	} else {
		d.putChannels(snap.Channels)
	}
	d.mu.Lock()
	st := d.state[kind]
	st.Status, st.Pages, st.FromCache, st.CompletedAt = stateComplete, snap.Pages, true, snap.CompletedAt.UTC().Format(time.RFC3339)
	d.mu.Unlock()
	return snap.CompletedAt, true
}

// fill reads every page of kind from Slack, resuming after errors from
// the page that failed, and reports whether it completed (false: ctx
// ended).
func (d *directory) fill(ctx context.Context, kind string) bool {
	d.mu.Lock()
	st := d.state[kind]
	if st.Status != stateComplete {
		st.Status = stateWarming
	}
	st.Pages, st.Error = 0, ""
	d.mu.Unlock()
	var (
		cursor   string
		users    []User
		channels []Channel
	)
	for {
		pctx, cancel := context.WithTimeout(ctx, pageTimeout)
		var next string
		var err error
		if kind == kindUsers {
			var page []User
			page, next, err = d.usersPage(pctx, cursor)
			if err == nil {
				d.putUsers(page)
				users = append(users, page...)
			}
		} else {
			var page []Channel
			page, next, err = d.channelsPage(pctx, cursor)
			if err == nil {
				d.putChannels(page)
				channels = append(channels, page...)
			}
		}
		cancel()
		d.mu.Lock()
		st.Calls++
		if err != nil {
			if ctx.Err() != nil {
				d.mu.Unlock()
				return false
			}
			if !st.complete() {
				st.Status = stateIncomplete
			}
			st.Error = d.conn.up.Scrub(oneLine(err.Error()))
			st.Resumes++
			d.mu.Unlock()
			d.svc.logger.Warn("slack directory warm-up interrupted; resuming", "workspace", d.conn.Name, "kind", kind, "error", st.Error)
			if d.svc.clock.Sleep(ctx, d.retryDelay(err)) != nil {
				return false
			}
			continue
		}
		st.Pages++
		if next != "" {
			d.mu.Unlock()
			cursor = next
			continue
		}
		now := d.svc.clock.Now()
		st.Status, st.Refreshing, st.Error, st.CompletedAt = stateComplete, false, "", now.UTC().Format(time.RFC3339)
		pages := st.Pages
		d.mu.Unlock()
		if b, err := json.Marshal(snapshot{CompletedAt: now, Users: users, Channels: channels, Pages: pages}); err == nil {
			_ = d.svc.cache.Set(ctx, d.prefix+kind, b, d.svc.cfg.Cache.TTL)
		}
		d.svc.logger.Info("slack directory complete", "workspace", d.conn.Name, "kind", kind, "entries", len(users)+len(channels))
		return true
	}
}

// retryDelay is how long a warm-up waits after err: what Slack or the tier
// limiter said, else the configured pause.
func (d *directory) retryDelay(err error) time.Duration {
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok && rl.RetryAfter > 0 {
		return rl.RetryAfter
	}
	if tw, ok := errors.AsType[*TierWaitError](err); ok {
		return tw.Wait
	}
	return d.svc.cfg.Cache.RetryAfter
}

func (d *directory) usersPage(ctx context.Context, cursor string) ([]User, string, error) {
	opts := []slack.GetUsersOption{slack.GetUsersOptionLimit(d.svc.cfg.Cache.UsersPageSize), slack.GetUsersOptionCursor(cursor)}
	if d.conn.teamID != "" {
		opts = append(opts, slack.GetUsersOptionTeamID(d.conn.teamID))
	}
	p, err := d.conn.api().GetUsersPaginated(opts...).Next(ctx)
	if err != nil {
		return nil, "", err
	}
	out := make([]User, 0, len(p.Users))
	for i := range p.Users {
		out = append(out, userOf(&p.Users[i]))
	}
	return out, p.Cursor, nil
}

var allConversationTypes = []string{"public_channel", "private_channel", "mpim", "im"}

func (d *directory) channelsPage(ctx context.Context, cursor string) ([]Channel, string, error) {
	chs, next, err := d.conn.api().GetConversationsContext(ctx, &slack.GetConversationsParameters{
		Cursor: cursor, Limit: d.svc.cfg.Cache.ChannelsPageSize, Types: allConversationTypes, TeamID: d.conn.teamID,
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]Channel, 0, len(chs))
	for i := range chs {
		out = append(out, channelOf(&chs[i]))
	}
	return out, next, nil
}

// user returns a user by id: from the directory, core's cache, or Slack
// (users.info), in that order; a cold entry is fetched on its own.
func (d *directory) user(ctx context.Context, id string) (User, error) {
	d.mu.RLock()
	u, ok := d.users[id]
	d.mu.RUnlock()
	if ok {
		return u, nil
	}
	key := d.prefix + "u:" + id
	if b, found, _ := d.svc.cache.Get(ctx, key); found && json.Unmarshal(b, &u) == nil {
		d.putUsers([]User{u})
		return u, nil
	}
	su, err := d.conn.api().GetUserInfoContext(ctx, id)
	if err != nil {
		return User{}, err
	}
	u = userOf(su)
	d.putUsers([]User{u})
	if b, err := json.Marshal(u); err == nil {
		_ = d.svc.cache.Set(ctx, key, b, d.svc.cfg.Cache.TTL)
	}
	return u, nil
}

// channel returns a channel by id, like user.
func (d *directory) channel(ctx context.Context, id string) (Channel, error) {
	d.mu.RLock()
	ch, ok := d.channels[id]
	d.mu.RUnlock()
	if ok {
		return ch, nil
	}
	key := d.prefix + "c:" + id
	if b, found, _ := d.svc.cache.Get(ctx, key); found && json.Unmarshal(b, &ch) == nil {
		d.putChannels([]Channel{ch})
		return ch, nil
	}
	sc, err := d.conn.api().GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id, IncludeNumMembers: true})
	if err != nil {
		return Channel{}, err
	}
	ch = channelOf(sc)
	d.putChannels([]Channel{ch})
	if b, err := json.Marshal(ch); err == nil {
		_ = d.svc.cache.Set(ctx, key, b, d.svc.cfg.Cache.TTL)
	}
	return ch, nil
}

// knownUser returns a user only if the directory has it (no request).
func (d *directory) knownUser(id string) (User, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	u, ok := d.users[id]
	return u, ok
}

func (d *directory) userIDByName(name string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	id, ok := d.userNames[strings.ToLower(name)]
	return id, ok
}

func (d *directory) channelIDByName(name string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	id, ok := d.channelNames[strings.ToLower(name)]
	return id, ok
}

// snapshotUsers and snapshotChannels copy the directory (for list tools and
// resources), sorted by name.
func (d *directory) snapshotUsers() []User {
	d.mu.RLock()
	out := make([]User, 0, len(d.users))
	for _, u := range d.users {
		out = append(out, u)
	}
	d.mu.RUnlock()
	sortBy(out, func(u User) string { return u.Name + "\x00" + u.ID })
	return out
}

func (d *directory) snapshotChannels() []Channel {
	d.mu.RLock()
	out := make([]Channel, 0, len(d.channels))
	for _, c := range d.channels {
		out = append(out, c)
	}
	d.mu.RUnlock()
	sortBy(out, func(c Channel) string { return c.Name + "\x00" + c.ID })
	return out
}

// knownChannel returns a channel only if the directory has it.
func (d *directory) knownChannel(id string) (Channel, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	ch, ok := d.channels[id]
	return ch, ok
}

// scanPages bounds the pages a lookup by name reads from Slack itself
// while the directory is still loading.
const scanPages = 3

// scanChannel looks for a channel by name in the first pages of
// conversations.list (1000 a page), feeding what it reads into the
// directory: small workspaces resolve #names before the warm-up is done.
// all reports that every page was read (so a name not found does not exist).
func (d *directory) scanChannel(ctx context.Context, name string) (id string, found, all bool, err error) {
	cursor := ""
	for range scanPages {
		chs, next, err := d.conn.api().GetConversationsContext(ctx, &slack.GetConversationsParameters{
			Cursor: cursor, Limit: 1000, Types: allConversationTypes, TeamID: d.conn.teamID,
		})
		if err != nil {
			return "", false, false, err
		}
		page := make([]Channel, 0, len(chs))
		for i := range chs {
			page = append(page, channelOf(&chs[i]))
		}
		d.putChannels(page)
		if id, ok := d.channelIDByName(name); ok {
			return id, true, false, nil
		}
		if next == "" {
			return "", false, true, nil
		}
		cursor = next
	}
	return "", false, false, nil
}

// scanUser is scanChannel for users (users.list, 1000 a page).
func (d *directory) scanUser(ctx context.Context, name string) (id string, found, all bool, err error) {
	cursor := ""
	for range scanPages {
		opts := []slack.GetUsersOption{slack.GetUsersOptionLimit(1000), slack.GetUsersOptionCursor(cursor)}
		if d.conn.teamID != "" {
			opts = append(opts, slack.GetUsersOptionTeamID(d.conn.teamID))
		}
		p, err := d.conn.api().GetUsersPaginated(opts...).Next(ctx)
		if err != nil {
			return "", false, false, err
		}
		page := make([]User, 0, len(p.Users))
		for i := range p.Users {
			page = append(page, userOf(&p.Users[i]))
		}
		d.putUsers(page)
		if id, ok := d.userIDByName(name); ok {
			return id, true, false, nil
		}
		if p.Cursor == "" {
			return "", false, true, nil
		}
		cursor = p.Cursor
	}
	return "", false, false, nil
}

// dmWith returns the direct-message conversation with a user, if the
// directory has it.
func (d *directory) dmWith(userID string) (Channel, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, ch := range d.channels {
		if ch.Kind == "im" && ch.User == userID {
			return ch, true
		}
	}
	return Channel{}, false
}
