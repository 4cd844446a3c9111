package slack

import (
	"testing"
	"time"
)

func TestMrkdwn(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"**bold** and *it* and _it_ and ~~gone~~", "*bold* and _it_ and _it_ and ~gone~"},
		{"# Title", "*Title*"},
		{"- a\n* b\n  + c", "• a\n• b\n  • c"},
		{"[site](https://example.com/a?b=1&c=2)", "<https://example.com/a?b=1&c=2|site>"},
		{"a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"},
		{"`**not bold** <x>`", "`**not bold** &lt;x&gt;`"},
		{"```\n**kept**\n<tag>\n```", "```\n**kept**\n&lt;tag&gt;\n```"},
		{"<@U123> <!channel>", "&lt;@U123&gt; &lt;!channel&gt;"},
	} {
		if got := mrkdwn(tc.in); got != tc.want {
			t.Errorf("mrkdwn(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseLimit(t *testing.T) {
	for _, bad := range []string{"0", "201", "-1", "1y", "d", "1.5d", "99999w"} {
		if _, _, err := parseLimit(bad, timeZero); err == nil {
			t.Errorf("parseLimit(%q) accepted", bad)
		}
	}
	if n, oldest, err := parseLimit("7d", timeZero.AddDate(0, 0, 10)); err != nil || n != 100 || oldest != "259200.000000" {
		t.Errorf("7d: %d %q %v", n, oldest, err)
	}
}

var timeZero = time.Unix(0, 0)
