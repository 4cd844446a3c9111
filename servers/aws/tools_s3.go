package aws

import (
	"context"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/untrusted"
)

func (c *call) s3() *s3.Client {
	return client(c.acct, "s3", c.region, func(cfg aws.Config) *s3.Client {
		return s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.BaseEndpoint = c.acct.endpoint("s3")
			o.UsePathStyle = c.acct.pathStyle
		})
	})
}

func (c *call) s3Opts(o *s3.Options) { o.Credentials = c.creds }

var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func checkBucket(b string) error {
	if !bucketRE.MatchString(b) || strings.Contains(b, "..") {
		return fmt.Errorf("bucket %q is not an S3 bucket name", b)
	}
	return nil
}

func checkKey(k string, required bool) error {
	if k == "" && required {
		return fmt.Errorf("key is empty")
	}
	if len(k) > 1024 || !utf8.ValidString(k) || strings.ContainsFunc(k, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("key %q is not an S3 key (at most 1024 bytes of UTF-8 without control characters)", k)
	}
	return nil
}

// ListBucketsIn pages through buckets.
type ListBucketsIn struct {
	Prefix string `json:"prefix,omitempty" jsonschema:"only buckets whose names start with this"`
	Page
	Target
}

// Bucket is an S3 bucket.
type Bucket struct {
	Name    string `json:"name"`
	Created string `json:"created,omitempty"`
	Region  string `json:"region,omitempty"`
}

// ListBucketsOut is a page of buckets.
type ListBucketsOut struct {
	Where
	Buckets   []Bucket `json:"buckets"`
	NextToken string   `json:"next_token,omitempty"`
}

func newListBuckets(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "list_buckets",
		Title:       "List S3 buckets",
		Description: "Lists the account's S3 buckets (all regions) with creation dates.",
		Toolset:     toolsetS3, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"s3:ListAllMyBuckets"},
	}, func(ctx context.Context, c *call, in ListBucketsIn) (ListBucketsOut, error) {
		n, err := in.size(1)
		if err != nil {
			return ListBucketsOut{}, err
		}
		req := &s3.ListBucketsInput{MaxBuckets: aws.Int32(n), ContinuationToken: in.token()}
		if in.Prefix != "" {
			req.Prefix = aws.String(in.Prefix)
		}
		resp, err := c.s3().ListBuckets(ctx, req, c.s3Opts)
		if err != nil {
			return ListBucketsOut{}, err
		}
		out := ListBucketsOut{Where: c.where(), Buckets: []Bucket{}, NextToken: aws.ToString(resp.ContinuationToken)}
		for _, b := range resp.Buckets {
			out.Buckets = append(out.Buckets, Bucket{Name: aws.ToString(b.Name), Created: ts(b.CreationDate), Region: aws.ToString(b.BucketRegion)})
		}
		return out, nil
	})
}

// ListObjectsIn lists objects under a prefix.
type ListObjectsIn struct {
	Bucket    string `json:"bucket" jsonschema:"bucket name"`
	Prefix    string `json:"prefix,omitempty" jsonschema:"key prefix, e.g. logs/2026/"`
	Delimiter string `json:"delimiter,omitempty" jsonschema:"set to / to list one level: deeper keys come back as prefixes"`
	Page
	Target
}

// Object is an S3 object's listing entry.
type Object struct {
	Key          string `json:"key"`
	Size         int64  `json:"size"`
	LastModified string `json:"last_modified,omitempty"`
	StorageClass string `json:"storage_class,omitempty"`
}

// ListObjectsOut is a page of objects.
type ListObjectsOut struct {
	Where
	Notice    string   `json:"notice,omitempty"`
	Bucket    string   `json:"bucket"`
	Objects   []Object `json:"objects"`
	Prefixes  []string `json:"prefixes,omitempty"`
	NextToken string   `json:"next_token,omitempty"`
}

func newListObjects(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "list_objects",
		Title:       "List S3 objects",
		Description: "Lists objects in a bucket under a prefix (keys, sizes, dates); with delimiter / one level at a time.",
		Toolset:     toolsetS3, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"s3:ListBucket"},
	}, func(ctx context.Context, c *call, in ListObjectsIn) (ListObjectsOut, error) {
		if err := checkBucket(in.Bucket); err != nil {
			return ListObjectsOut{}, err
		}
		if err := checkKey(in.Prefix, false); err != nil {
			return ListObjectsOut{}, err
		}
		n, err := in.size(1)
		if err != nil {
			return ListObjectsOut{}, err
		}
		req := &s3.ListObjectsV2Input{Bucket: aws.String(in.Bucket), MaxKeys: aws.Int32(n), ContinuationToken: in.token()}
		if in.Prefix != "" {
			req.Prefix = aws.String(in.Prefix)
		}
		if in.Delimiter != "" {
			req.Delimiter = aws.String(in.Delimiter)
		}
		resp, err := c.s3().ListObjectsV2(ctx, req, c.s3Opts)
		if err != nil {
			return ListObjectsOut{}, err
		}
		out := ListObjectsOut{Where: c.where(), Notice: UntrustedNotice, Bucket: in.Bucket, Objects: []Object{}, NextToken: aws.ToString(resp.NextContinuationToken)}
		for _, o := range resp.Contents {
			out.Objects = append(out.Objects, Object{Key: untrusted.Clean(aws.ToString(o.Key)), Size: aws.ToInt64(o.Size),
				LastModified: ts(o.LastModified), StorageClass: string(o.StorageClass)})
		}
		for _, p := range resp.CommonPrefixes {
			out.Prefixes = append(out.Prefixes, untrusted.Clean(aws.ToString(p.Prefix)))
		}
		return out, nil
	})
}

// ObjectIn names an object.
type ObjectIn struct {
	Bucket string `json:"bucket" jsonschema:"bucket name"`
	Key    string `json:"key" jsonschema:"object key"`
	Target
}

// ObjectMeta is an object's metadata.
type ObjectMeta struct {
	Bucket       string            `json:"bucket"`
	Key          string            `json:"key"`
	Size         int64             `json:"size"`
	ContentType  string            `json:"content_type,omitempty"`
	LastModified string            `json:"last_modified,omitempty"`
	ETag         string            `json:"etag,omitempty"`
	StorageClass string            `json:"storage_class,omitempty"`
	Encryption   string            `json:"encryption,omitempty"`
	VersionID    string            `json:"version_id,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

// ObjectMetaOut is an object's metadata.
type ObjectMetaOut struct {
	Where
	Notice string `json:"notice,omitempty"`
	ObjectMeta
}

func cleanMeta(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[untrusted.Line(k)] = untrusted.Line(v)
	}
	return out
}

func newGetObjectMetadata(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:        "get_object_metadata",
		Title:       "Get S3 object metadata",
		Description: "Returns an object's size, content type, dates, ETag, storage class, encryption and user metadata, without its contents.",
		Toolset:     toolsetS3, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"s3:GetObject"},
	}, func(ctx context.Context, c *call, in ObjectIn) (ObjectMetaOut, error) {
		if err := checkBucket(in.Bucket); err != nil {
			return ObjectMetaOut{}, err
		}
		if err := checkKey(in.Key, true); err != nil {
			return ObjectMetaOut{}, err
		}
		resp, err := c.s3().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(in.Bucket), Key: aws.String(in.Key)}, c.s3Opts)
		if err != nil {
			return ObjectMetaOut{}, err
		}
		return ObjectMetaOut{Where: c.where(), Notice: UntrustedNotice, ObjectMeta: ObjectMeta{
			Bucket: in.Bucket, Key: in.Key, Size: aws.ToInt64(resp.ContentLength), ContentType: aws.ToString(resp.ContentType),
			LastModified: ts(resp.LastModified), ETag: aws.ToString(resp.ETag), StorageClass: string(resp.StorageClass),
			Encryption: string(resp.ServerSideEncryption), VersionID: aws.ToString(resp.VersionId), Metadata: cleanMeta(resp.Metadata),
		}}, nil
	})
}

// ObjectTextOut is an object's text, or its metadata alone when binary.
type ObjectTextOut struct {
	Where
	Notice string `json:"notice"`
	ObjectMeta
	// Text is the object's text between untrusted-content markers.
	Text      string `json:"text,omitempty"`
	Binary    bool   `json:"binary,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	// Hint says how to see more when the text was cut or withheld.
	Hint string `json:"hint,omitempty"`
}

// textual reports whether a content type is text.
func textual(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "", strings.HasPrefix(mt, "text/"):
		return true
	case mt == "application/octet-stream":
		return true // unknown: decided by the bytes
	}
	for _, s := range []string{"json", "xml", "yaml", "csv", "javascript", "x-sh", "toml", "x-ndjson"} {
		if strings.Contains(mt, s) {
			return true
		}
	}
	return false
}

// looksBinary reports whether b is not text: invalid UTF-8 (apart from
// a rune cut at the end) or NUL bytes.
func looksBinary(b []byte, cut bool) bool {
	if cut {
		for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.Valid(b); i++ {
			b = b[:len(b)-1]
		}
	}
	return !utf8.Valid(b) || strings.IndexByte(string(b), 0) >= 0
}

func newGetObjectText(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "get_object_text",
		Title: "Read an S3 object's text",
		Description: "Returns the text of an S3 object up to the server's size cap (truncated says when it was cut), " +
			"with its metadata. Binary objects come back as metadata only.",
		Toolset: toolsetS3, Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Confidential, Permissions: []string{"s3:GetObject"},
	}, func(ctx context.Context, c *call, in ObjectIn) (ObjectTextOut, error) {
		if err := checkBucket(in.Bucket); err != nil {
			return ObjectTextOut{}, err
		}
		if err := checkKey(in.Key, true); err != nil {
			return ObjectTextOut{}, err
		}
		limit := int64(s.limits.MaxObjectBytes)
		resp, err := c.s3().GetObject(ctx, &s3.GetObjectInput{
			Bucket: aws.String(in.Bucket), Key: aws.String(in.Key), Range: aws.String(fmt.Sprintf("bytes=0-%d", limit-1)),
		}, c.s3Opts)
		if err != nil {
			return ObjectTextOut{}, err
		}
		defer resp.Body.Close()
		size := aws.ToInt64(resp.ContentLength)
		if cr := aws.ToString(resp.ContentRange); cr != "" { // bytes 0-99/1234
			if i := strings.LastIndexByte(cr, '/'); i >= 0 {
				if n, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
					size = n
				}
			}
		}
		out := ObjectTextOut{Where: c.where(), Notice: UntrustedNotice, ObjectMeta: ObjectMeta{
			Bucket: in.Bucket, Key: in.Key, Size: size, ContentType: aws.ToString(resp.ContentType),
			LastModified: ts(resp.LastModified), ETag: aws.ToString(resp.ETag), StorageClass: string(resp.StorageClass),
			Encryption: string(resp.ServerSideEncryption), VersionID: aws.ToString(resp.VersionId), Metadata: cleanMeta(resp.Metadata),
		}}
		if !textual(out.ContentType) {
			out.Binary, out.Hint = true, "content type "+out.ContentType+" is not text: only metadata is returned"
			return out, nil
		}
		// Read one byte past the cap: a store that ignores Range must not
		// make us read the whole object.
		b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		if err != nil {
			return ObjectTextOut{}, err
		}
		cut := int64(len(b)) > limit || size > limit
		if int64(len(b)) > limit {
			b = b[:limit]
		}
		if looksBinary(b, cut) {
			out.Binary, out.Hint = true, "the object's bytes are not UTF-8 text: only metadata is returned"
			return out, nil
		}
		text, _ := untrusted.Truncate(string(b), int(limit))
		out.Text, out.Truncated = untrusted.Code(text), cut
		if cut {
			out.Hint = fmt.Sprintf("only the first %d of %d bytes are shown (aws.limits.max_object_bytes)", len(text), size)
		}
		return out, nil
	})
}

// PutObjectIn writes a text object.
type PutObjectIn struct {
	Bucket      string `json:"bucket" jsonschema:"bucket name"`
	Key         string `json:"key" jsonschema:"object key"`
	Text        string `json:"text" jsonschema:"the object's contents (text, at most the server's object size cap)"`
	ContentType string `json:"content_type,omitempty" jsonschema:"content type; text/plain; charset=utf-8 when empty"`
	Target
}

// PutObjectOut reports the written object.
type PutObjectOut struct {
	Where
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	Size      int    `json:"size"`
	ETag      string `json:"etag,omitempty"`
	VersionID string `json:"version_id,omitempty"`
}

var contentTypeRE = regexp.MustCompile(`^[\w.+-]+/[\w.+-]+(; ?[\w-]+=[\w.-]+)?$`)

func newPutObject(s *Service) *core.ToolDef {
	return tool(s, core.ToolSpec{
		Name:  "put_object",
		Title: "Write an S3 object",
		Description: "Writes a text object to S3, replacing any object with the same key (unless the bucket is versioned). " +
			"Only in accounts where writes are enabled.",
		Toolset: toolsetS3, Effect: core.Destructive, Idempotent: core.Yes, OpenWorld: core.Yes,
		Classification: core.Internal, Permissions: []string{"s3:PutObject"},
	}, func(ctx context.Context, c *call, in PutObjectIn) (PutObjectOut, error) {
		if err := checkBucket(in.Bucket); err != nil {
			return PutObjectOut{}, err
		}
		if err := checkKey(in.Key, true); err != nil {
			return PutObjectOut{}, err
		}
		if int64(len(in.Text)) > int64(s.limits.MaxObjectBytes) {
			return PutObjectOut{}, fmt.Errorf("text is %d bytes; the server writes at most %d", len(in.Text), int64(s.limits.MaxObjectBytes))
		}
		ct := in.ContentType
		if ct == "" {
			ct = "text/plain; charset=utf-8"
		}
		if !contentTypeRE.MatchString(ct) {
			return PutObjectOut{}, fmt.Errorf("content_type %q is not a media type such as text/csv", ct)
		}
		resp, err := c.s3().PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(in.Bucket), Key: aws.String(in.Key), Body: strings.NewReader(in.Text), ContentType: aws.String(ct),
			ContentLength: aws.Int64(int64(len(in.Text))),
		}, c.s3Opts)
		if err != nil {
			return PutObjectOut{}, err
		}
		return PutObjectOut{Where: c.where(), Bucket: in.Bucket, Key: in.Key, Size: len(in.Text),
			ETag: aws.ToString(resp.ETag), VersionID: aws.ToString(resp.VersionId)}, nil
	})
}
