package fakeslack

import (
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
)

type meta struct {
	NextCursor string `json:"next_cursor"`
}

// page reads limit and an "o<offset>" cursor.
func page(r *http.Request, def, maxLimit int) (start, limit int, err error) {
	limit = def
	if v := r.FormValue("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			return 0, 0, slackError("invalid_limit")
		}
	}
	limit = min(limit, maxLimit)
	if c := r.FormValue("cursor"); c != "" {
		if start, err = strconv.Atoi(strings.TrimPrefix(c, "o")); err != nil || !strings.HasPrefix(c, "o") || start < 0 {
			return 0, 0, slackError("invalid_cursor")
		}
	}
	return start, limit, nil
}

func nextCursor(end, total int) string {
	if end >= total {
		return ""
	}
	return "o" + strconv.Itoa(end)
}

func (f *Fake) routes() map[string]handler {
	d := f.data
	return map[string]handler{
		"auth.test": func(r *http.Request, tok string) (any, error) {
			u, uid := "mcpbot", BotUser
			if tok == UserToken {
				u, uid = "alice", Alice
			}
			return map[string]any{"url": "https://fake.example/", "team": "Fake Team", "user": u, "team_id": "T0FAKE", "user_id": uid}, nil
		},
		"users.list": func(r *http.Request, _ string) (any, error) {
			start, limit, err := page(r, 200, 1000)
			if err != nil {
				return nil, err
			}
			total := d.userCount()
			end := min(start+limit, total)
			members := make([]user, 0, max(0, end-start))
			for i := start; i < end; i++ {
				members = append(members, d.userAt(i))
			}
			return map[string]any{"members": members, "response_metadata": meta{nextCursor(end, total)}}, nil
		},
		"users.info": func(r *http.Request, _ string) (any, error) {
			u, ok := d.findUser(r.FormValue("user"))
			if !ok {
				return nil, slackError("user_not_found")
			}
			return map[string]any{"user": u}, nil
		},
		"users.lookupByEmail": func(r *http.Request, _ string) (any, error) {
			for _, u := range d.users {
				if strings.EqualFold(u.Profile.Email, r.FormValue("email")) {
					return map[string]any{"user": u}, nil
				}
			}
			return nil, slackError("users_not_found")
		},
		"users.profile.get": func(r *http.Request, _ string) (any, error) {
			u, ok := d.findUser(r.FormValue("user"))
			if !ok {
				return nil, slackError("user_not_found")
			}
			return map[string]any{"profile": u.Profile}, nil
		},
		"users.getPresence": func(r *http.Request, _ string) (any, error) {
			if _, ok := d.findUser(r.FormValue("user")); !ok {
				return nil, slackError("user_not_found")
			}
			return map[string]any{"presence": "active", "online": true}, nil
		},
		"conversations.list": func(r *http.Request, _ string) (any, error) {
			start, limit, err := page(r, 100, 1000)
			if err != nil {
				return nil, err
			}
			types := strings.Split(r.FormValue("types"), ",")
			if r.FormValue("types") == "" {
				types = []string{"public_channel"}
			}
			noArchived := r.FormValue("exclude_archived") == "true"
			total := d.channelCount()
			var out []channel
			i := start
			for ; i < total && len(out) < limit; i++ {
				c := d.channelAt(i)
				if !slices.Contains(types, kindOf(c)) || (noArchived && c.IsArchived) {
					continue
				}
				out = append(out, c)
			}
			return map[string]any{"channels": nonNil(out), "response_metadata": meta{nextCursor(i, total)}}, nil
		},
		"users.conversations": func(r *http.Request, tok string) (any, error) {
			var out []channel
			for _, c := range d.channels {
				if c.IsMember && !c.IsArchived {
					out = append(out, c)
				}
			}
			return map[string]any{"channels": out, "response_metadata": meta{}}, nil
		},
		"conversations.info": func(r *http.Request, tok string) (any, error) {
			c, ok := d.findChannel(r.FormValue("channel"))
			if !ok {
				return nil, slackError("channel_not_found")
			}
			if tok == UserToken && c.ID == General {
				// Alice read up to the thread starter: two newer messages.
				c.LastRead, c.UnreadCountDisplay = d.threadTS, 2
			}
			return map[string]any{"channel": c}, nil
		},
		"conversations.members": func(r *http.Request, _ string) (any, error) {
			start, limit, err := page(r, 100, 1000)
			if err != nil {
				return nil, err
			}
			m := d.members[r.FormValue("channel")]
			if _, ok := d.findChannel(r.FormValue("channel")); !ok {
				return nil, slackError("channel_not_found")
			}
			start = min(start, len(m))
			end := min(start+limit, len(m))
			return map[string]any{"members": nonNil(m[start:end]), "response_metadata": meta{nextCursor(end, len(m))}}, nil
		},
		"conversations.history": func(r *http.Request, _ string) (any, error) {
			id := r.FormValue("channel")
			c, ok := d.findChannel(id)
			if !ok {
				return nil, slackError("channel_not_found")
			}
			if !c.IsMember && !c.IsIM {
				if _, ok := d.history[id]; !ok {
					return nil, slackError("not_in_channel")
				}
			}
			start, limit, err := page(r, 100, 1000)
			if err != nil {
				return nil, err
			}
			var msgs []message
			oldest := r.FormValue("oldest")
			for _, m := range d.history[id] {
				if oldest == "" || m.TS > oldest {
					msgs = append(msgs, m)
				}
			}
			start = min(start, len(msgs))
			end := min(start+limit, len(msgs))
			return map[string]any{"messages": nonNil(msgs[start:end]), "has_more": end < len(msgs), "response_metadata": meta{nextCursor(end, len(msgs))}}, nil
		},
		"conversations.replies": func(r *http.Request, _ string) (any, error) {
			if _, ok := d.findChannel(r.FormValue("channel")); !ok {
				return nil, slackError("channel_not_found")
			}
			msgs, ok := d.replies[r.FormValue("ts")]
			if !ok {
				return nil, slackError("thread_not_found")
			}
			start, limit, err := page(r, 100, 1000)
			if err != nil {
				return nil, err
			}
			start = min(start, len(msgs))
			end := min(start+limit, len(msgs))
			return map[string]any{"messages": msgs[start:end], "has_more": end < len(msgs), "response_metadata": meta{nextCursor(end, len(msgs))}}, nil
		},
		"chat.getPermalink": func(r *http.Request, _ string) (any, error) {
			return map[string]any{"channel": r.FormValue("channel"), "permalink": "https://fake.example/archives/" + r.FormValue("channel") + "/p" + strings.ReplaceAll(r.FormValue("message_ts"), ".", "")}, nil
		},
		"search.messages": func(r *http.Request, tok string) (any, error) {
			if tok != UserToken {
				return nil, slackError("not_allowed_token_type")
			}
			var words []string
			for _, w := range strings.Fields(r.FormValue("query")) {
				if !strings.Contains(w, ":") {
					words = append(words, strings.ToLower(w))
				}
			}
			type match struct {
				Channel   map[string]string `json:"channel"`
				User      string            `json:"user"`
				TS        string            `json:"ts"`
				Text      string            `json:"text"`
				Permalink string            `json:"permalink"`
			}
			var matches []match
			for _, cid := range []string{General, Random, Secret} {
				c, _ := d.findChannel(cid)
				for _, m := range d.history[cid] {
					hit := true
					for _, w := range words {
						hit = hit && strings.Contains(strings.ToLower(m.Text), w)
					}
					if hit {
						matches = append(matches, match{Channel: map[string]string{"id": c.ID, "name": c.Name}, User: m.User, TS: m.TS, Text: m.Text, Permalink: "https://fake.example/archives/" + c.ID})
					}
				}
			}
			count, _ := strconv.Atoi(r.FormValue("count"))
			pg, _ := strconv.Atoi(r.FormValue("page"))
			count, pg = max(count, 1), max(pg, 1)
			start := min((pg-1)*count, len(matches))
			end := min(start+count, len(matches))
			pages := (len(matches) + count - 1) / count
			return map[string]any{"query": r.FormValue("query"), "messages": map[string]any{
				"matches": nonNil(matches[start:end]), "total": len(matches),
				"paging": map[string]int{"count": count, "total": len(matches), "page": pg, "pages": pages},
			}}, nil
		},
		"usergroups.list": func(r *http.Request, _ string) (any, error) {
			return map[string]any{"usergroups": []map[string]any{{"id": OnCall, "handle": "oncall", "name": "On call", "description": "Whoever holds the pager", "user_count": 2}}}, nil
		},
		"usergroups.users.list": func(r *http.Request, _ string) (any, error) {
			if r.FormValue("usergroup") != OnCall {
				return nil, slackError("no_such_subteam")
			}
			return map[string]any{"users": []string{Alice, Bob}}, nil
		},
		"files.info": func(r *http.Request, _ string) (any, error) {
			fl, ok := d.files[r.FormValue("file")]
			if !ok {
				return nil, slackError("file_not_found")
			}
			fl.URLPrivateDownload = f.URL() + "files/" + fl.ID
			return map[string]any{"file": fl}, nil
		},
		"chat.postMessage": func(r *http.Request, _ string) (any, error) {
			c, ok := d.findChannel(r.FormValue("channel"))
			if !ok {
				return nil, slackError("channel_not_found")
			}
			if c.IsArchived {
				return nil, slackError("is_archived")
			}
			form := map[string]string{}
			for k, v := range r.Form {
				if k != "token" {
					form[k] = strings.Join(v, ",")
				}
			}
			f.mu.Lock()
			f.posted = append(f.posted, form)
			n := len(f.posted)
			f.mu.Unlock()
			ts := "1800000000." + strconv.Itoa(100000+n)
			return map[string]any{"channel": c.ID, "ts": ts, "message": map[string]any{"text": r.FormValue("text"), "ts": ts}}, nil
		},
		"chat.scheduleMessage": func(r *http.Request, _ string) (any, error) {
			if _, ok := d.findChannel(r.FormValue("channel")); !ok {
				return nil, slackError("channel_not_found")
			}
			return map[string]any{"channel": r.FormValue("channel"), "scheduled_message_id": "Q0SCHEDULED", "post_at": r.FormValue("post_at")}, nil
		},
		"reactions.add": func(r *http.Request, _ string) (any, error) {
			if r.FormValue("name") == "" || r.FormValue("timestamp") == "" {
				return nil, slackError("invalid_arguments")
			}
			return map[string]any{"channel": r.FormValue("channel")}, nil
		},
		"reactions.remove": func(r *http.Request, _ string) (any, error) {
			return map[string]any{"channel": r.FormValue("channel")}, nil
		},
	}
}

func (f *Fake) download(r *http.Request, _ string) (any, error) {
	switch path.Base(r.URL.Path) {
	case TextFile:
		return TextFileContent, nil
	case BigFile:
		return strings.Repeat("x", 10<<20), nil
	}
	return nil, slackError("file_not_found")
}

func kindOf(c channel) string {
	switch {
	case c.IsIM:
		return "im"
	case c.IsMpIM:
		return "mpim"
	case c.IsPrivate:
		return "private_channel"
	}
	return "public_channel"
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ThreadTS is the ts of the thread in #general.
func (f *Fake) ThreadTS() string { return f.data.threadTS }

// HistoryTS returns the ts of the messages of channel id, newest first.
func (f *Fake) HistoryTS(id string) []string {
	var out []string
	for _, m := range f.data.history[id] {
		out = append(out, m.TS)
	}
	return out
}
