package slack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

// FileIn names a file.
type FileIn struct {
	File string `json:"file" jsonschema:"file id (F...)"`
	WorkspaceArg
}

// FileOut is a file's metadata and, for text files within the cap, its
// text.
type FileOut struct {
	Notice   string   `json:"notice"`
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Title    string   `json:"title,omitempty"`
	Type     string   `json:"type"`
	Mimetype string   `json:"mimetype,omitempty"`
	Size     int      `json:"size"`
	User     string   `json:"user,omitempty"`
	Created  string   `json:"created,omitempty"`
	Channels []string `json:"channels,omitempty"`
	Content  string   `json:"content,omitempty"`
	// Omitted says why the content is not returned.
	Omitted string `json:"omitted,omitempty"`
}

// textTypes are Slack file types whose content is text.
var textTypes = map[string]bool{"text": true, "markdown": true, "post": true, "csv": true, "json": true, "yaml": true, "xml": true, "html": true, "javascript": true, "python": true, "go": true, "shell": true, "sql": true, "diff": true}

var errTooLarge = errors.New("file larger than the cap")

type cappedWriter struct {
	b   strings.Builder
	max int
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, errTooLarge
	}
	return w.b.Write(p)
}

func newGetFile(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_file",
		Title: "Get a file",
		Description: "Returns a shared file's metadata and, for text files and snippets up to the size cap, its text (cleaned and marked untrusted). " +
			"Binary files return metadata only.",
		Toolset: toolsetFiles, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Confidential, Permissions: []string{"files:read"},
	}, func(ctx context.Context, c *Conn, in FileIn) (FileOut, error) {
		if !fileIDRE.MatchString(in.File) {
			return FileOut{}, fmt.Errorf("file %q is not a file id (F0123ABC)", in.File)
		}
		f, _, _, err := c.api().GetFileInfoContext(ctx, in.File, 0, 0)
		if err != nil {
			return FileOut{}, err
		}
		out := FileOut{Notice: UntrustedNotice, ID: f.ID, Name: cleanLine(f.Name), Title: cleanLine(f.Title), Type: f.Filetype,
			Mimetype: f.Mimetype, Size: f.Size, Created: tsTime(fmt.Sprint(int64(f.Created))), User: f.User}
		if u, ok := c.dir.knownUser(f.User); ok {
			out.User = "@" + u.Name
		}
		// The file is returned when it is shared in a channel the workspace
		// may read (or, with no channel list at all, when it is shared
		// nowhere, such as a user's own upload).
		chans := append(append(append([]string{}, f.Channels...), f.Groups...), f.IMs...)
		readable := len(chans) == 0 && c.read.open()
		for _, id := range chans {
			ch := Channel{ID: id}
			if c.read.needsName(id) {
				if full, err := c.dir.channel(ctx, id); err == nil {
					ch = full
				}
			}
			if c.read.allows(ch.ID, ch.Name) {
				readable = true
				out.Channels = append(out.Channels, display(ch))
			}
		}
		if !readable {
			return FileOut{}, fmt.Errorf("file %s is not shared in any channel workspace %q may read (%s)", in.File, c.Name, c.read.text)
		}
		max := int(s.cfg.Limits.MaxFileBytes)
		isText := textTypes[f.Filetype] || strings.HasPrefix(f.Mimetype, "text/")
		switch {
		case !isText:
			out.Omitted = "binary file: metadata only"
		case f.Size > max:
			out.Omitted = fmt.Sprintf("text file of %d bytes is over the %d-byte cap (slack.limits.max_file_bytes)", f.Size, max)
		case f.Preview != "" && f.PreviewIsTruncated != nil && !*f.PreviewIsTruncated:
			out.Content = untrusted.File(f.Name, c.readable(f.Preview))
		default:
			if !c.sameHost(f.URLPrivateDownload) {
				out.Omitted = "the file's download address is not on the workspace's API host; the token is not sent there"
				break
			}
			w := &cappedWriter{max: max}
			if err := c.api().GetFileContext(ctx, f.URLPrivateDownload, w); err != nil {
				if errors.Is(err, errTooLarge) {
					out.Omitted = fmt.Sprintf("text file is over the %d-byte cap", max)
					break
				}
				return FileOut{}, err
			}
			if !utf8.ValidString(w.b.String()) {
				out.Omitted = "content is not UTF-8 text"
				break
			}
			out.Content = untrusted.File(f.Name, w.b.String())
		}
		return out, nil
	})
}

// sameHost reports whether a download URL may receive the workspace's
// token: Slack's file host, or the API host of a configured api_url.
func (c *Conn) sameHost(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return false
	}
	if u.Host == c.apiURL.Host {
		return true
	}
	return u.Scheme == "https" && c.apiURL.Host == "slack.com" && (u.Hostname() == "files.slack.com")
}
