package slack

import (
	"html"
	"net/url"
	"regexp"
	"strings"

	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

// Reading: Slack's markup to plain text.

// slackTokenRE finds Slack's <...> tokens: mentions, channel links,
// special mentions and links.
var slackTokenRE = regexp.MustCompile(`<([^<>\n]{1,1000})>`)

// readable turns Slack's markup into text a model reads: <@U1> becomes
// @name, <#C1|general> #general, <!here> @here, <https://x|label> "label
// (https://x)", and entities are unescaped. Unknown users stay as their
// ids: rendering never calls Slack.
func (c *Conn) readable(s string) string {
	if strings.IndexByte(s, '<') >= 0 {
		s = slackTokenRE.ReplaceAllStringFunc(s, func(m string) string {
			inner := m[1 : len(m)-1]
			target, label, _ := strings.Cut(inner, "|")
			switch {
			case strings.HasPrefix(target, "@"):
				if label != "" {
					return "@" + label
				}
				if u, ok := c.dir.knownUser(target[1:]); ok {
					return "@" + u.Name
				}
				return target
			case strings.HasPrefix(target, "#"):
				if label != "" {
					return "#" + label
				}
				if ch, ok := c.dir.knownChannel(target[1:]); ok && ch.Name != "" {
					return "#" + ch.Name
				}
				return target
			case strings.HasPrefix(target, "!subteam^"):
				if label != "" {
					return label
				}
				return "@" + strings.TrimPrefix(target, "!subteam^")
			case target == "!here" || target == "!channel" || target == "!everyone":
				return "@" + target[1:]
			case strings.HasPrefix(target, "!date^"):
				if label != "" {
					return label
				}
				return target
			case strings.HasPrefix(target, "!"), !strings.Contains(target, ":"):
				// Not Slack markup (Slack escapes a literal "<"): leave it
				// for the cleaner, which removes HTML and comments.
				return m
			}
			if label != "" && label != target {
				return label + " (" + target + ")"
			}
			return target
		})
	}
	return html.UnescapeString(s)
}

// messageText renders, cleans, caps and wraps a message's text.
func (c *Conn) messageText(s string, maxBytes int) (string, bool) {
	s = untrusted.Markdown(c.readable(s))
	s, cut := untrusted.Truncate(s, maxBytes)
	if cut {
		s += "\n[truncated]"
	}
	return untrusted.Wrap(s), cut
}

// Writing: Markdown to Slack's mrkdwn.

var (
	mdLinkRE    = regexp.MustCompile(`\[([^\]\n]{1,500})\]\((https?://[^)\s]{1,1000})\)`)
	mdBoldRE    = regexp.MustCompile(`\*\*([^*\n]+)\*\*|__([^_\n]+)__`)
	mdItalicRE  = regexp.MustCompile(`(^|[^*\w])\*([^*\n]+)\*([^*\w]|$)`)
	mdStrikeRE  = regexp.MustCompile(`~~([^~\n]+)~~`)
	mdHeadingRE = regexp.MustCompile(`^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$`)
	mdBulletRE  = regexp.MustCompile(`^(\s*)[-*+]\s+`)
	mdCodeRE    = regexp.MustCompile("`[^`\n]+`")
	bareURLRE   = regexp.MustCompile(`https?://[^\s<>|]+`)
)

// mrkdwn converts Markdown (what models write) to Slack's mrkdwn: **bold**
// to *bold*, *italic* to _italic_, ~~strike~~ to ~strike~, [text](url) to
// <url|text>, headings to bold lines, list bullets to •; &, < and > are
// escaped as Slack requires. Code spans and fenced blocks are kept as
// they are (escaped only).
func mrkdwn(md string) string {
	var out strings.Builder
	inFence := false
	lines := strings.Split(md, "\n")
	for i, line := range lines {
		if i > 0 {
			out.WriteByte('\n')
		}
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			out.WriteString(escapeMrkdwn(line))
			continue
		}
		if inFence {
			out.WriteString(escapeMrkdwn(line))
			continue
		}
		out.WriteString(convertLine(line))
	}
	return out.String()
}

func convertLine(line string) string {
	// Protect code spans from the inline rules.
	var spans []string
	line = mdCodeRE.ReplaceAllStringFunc(line, func(m string) string {
		spans = append(spans, escapeMrkdwn(m))
		return "\x00" + string(rune('a'+len(spans)-1)) + "\x00"
	})
	var links []string
	line = mdLinkRE.ReplaceAllStringFunc(line, func(m string) string {
		sub := mdLinkRE.FindStringSubmatch(m)
		links = append(links, "<"+sub[2]+"|"+escapeMrkdwn(sub[1])+">")
		return "\x01" + string(rune('a'+len(links)-1)) + "\x01"
	})
	line = escapeMrkdwn(line)
	heading := false
	if m := mdHeadingRE.FindStringSubmatch(line); m != nil {
		line, heading = m[1], true
	}
	line = mdBulletRE.ReplaceAllString(line, "$1• ")
	line = mdItalicRE.ReplaceAllString(line, "${1}_${2}_${3}")
	line = mdBoldRE.ReplaceAllStringFunc(line, func(m string) string {
		sub := mdBoldRE.FindStringSubmatch(m)
		return "*" + sub[1] + sub[2] + "*"
	})
	line = mdStrikeRE.ReplaceAllString(line, "~$1~")
	if heading {
		line = "*" + strings.Trim(line, "*") + "*"
	}
	for i, l := range links {
		line = strings.Replace(line, "\x01"+string(rune('a'+i))+"\x01", l, 1)
	}
	for i, s := range spans {
		line = strings.Replace(line, "\x00"+string(rune('a'+i))+"\x00", s, 1)
	}
	return line
}

func escapeMrkdwn(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// linkHosts returns the hosts of the links in a message.
func linkHosts(s string) []string {
	var hosts []string
	for _, m := range bareURLRE.FindAllString(s, 50) {
		if u, err := url.Parse(strings.TrimRight(m, ".,;:!?)")); err == nil && u.Host != "" {
			hosts = append(hosts, u.Hostname())
		}
	}
	return hosts
}

// unfurlAllowed reports whether every link in the message is on an
// unfurl domain (and there is at least one).
func (c *Conn) unfurlAllowed(s string) bool {
	hosts := linkHosts(s)
	if len(hosts) == 0 || len(c.unfurl) == 0 {
		return false
	}
	for _, h := range hosts {
		if !c.allowsLink(h) {
			return false
		}
	}
	return true
}
