package slack

import (
	"fmt"
	"regexp"
	"strings"
)

// channelList is an allow/deny list of channels by id or #name. Entries
// starting with "!" exclude; a list with no plain entry allows every
// channel not excluded.
type channelList struct {
	allowIDs, allowNames map[string]bool
	denyIDs, denyNames   map[string]bool
	text                 string
}

var (
	channelIDRE   = regexp.MustCompile(`^[CGD][A-Z0-9]{2,20}$`)
	channelNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,79}$`)
	userIDRE      = regexp.MustCompile(`^[UWB][A-Z0-9]{2,20}$`)
	userNameRE    = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,79}$`)
	tsRE          = regexp.MustCompile(`^[0-9]{9,11}\.[0-9]{1,6}$`)
	fileIDRE      = regexp.MustCompile(`^F[A-Z0-9]{2,20}$`)
	groupIDRE     = regexp.MustCompile(`^S[A-Z0-9]{2,20}$`)
)

func parseChannelList(entries []string) (channelList, error) {
	l := channelList{allowIDs: map[string]bool{}, allowNames: map[string]bool{}, denyIDs: map[string]bool{}, denyNames: map[string]bool{}}
	for _, e := range entries {
		raw := strings.TrimSpace(e)
		deny := strings.HasPrefix(raw, "!")
		v := strings.TrimPrefix(raw, "!")
		ids, names := l.allowIDs, l.allowNames
		if deny {
			ids, names = l.denyIDs, l.denyNames
		}
		switch {
		case channelIDRE.MatchString(v):
			ids[v] = true
		case strings.HasPrefix(v, "#") && channelNameRE.MatchString(v[1:]):
			names[v[1:]] = true
		default:
			return channelList{}, fmt.Errorf("%q is neither a channel id (C0123ABC) nor a #channel-name (optionally with a leading ! to exclude)", e)
		}
	}
	if len(entries) == 0 {
		l.text = "every channel"
	} else {
		l.text = strings.Join(entries, ", ")
	}
	return l, nil
}

func (l channelList) open() bool { return len(l.allowIDs) == 0 && len(l.allowNames) == 0 }

// needsName reports whether deciding about channel id needs its name.
func (l channelList) needsName(id string) bool {
	if l.denyIDs[id] {
		return false
	}
	if len(l.denyNames) > 0 {
		return true
	}
	return !l.open() && !l.allowIDs[id] && len(l.allowNames) > 0
}

// allows decides about a channel by id and (when known) name.
func (l channelList) allows(id, name string) bool {
	if l.denyIDs[id] || (name != "" && l.denyNames[name]) {
		return false
	}
	if l.open() {
		return true
	}
	return l.allowIDs[id] || (name != "" && l.allowNames[name])
}
