package policy

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/policy/audit"
)

// Config is the "policy" section of a server's config.
type Config struct {
	// File is the policy document. Empty: the embedded default document
	// ([DefaultYAML]), which allows every authenticated caller.
	File string `yaml:"file"`
	// Reload re-reads File on SIGHUP and when it changes on disk.
	Reload    bool            `yaml:"reload"`
	RateLimit RateLimitConfig `yaml:"rate_limit"`
	Approval  ApprovalConfig  `yaml:"approval"`
	Audit     AuditConfig     `yaml:"audit"`
}

// Rate-limit backends.
const (
	BackendMemory = "memory"
	BackendRedis  = "redis"
)

// RateLimitConfig selects where token buckets live.
type RateLimitConfig struct {
	// Backend is memory (per process) or redis (shared by replicas). With
	// redis, approval tokens' single use is also enforced across replicas.
	Backend  string        `yaml:"backend"`
	RedisURL config.Secret `yaml:"redis_url"`
	// KeyPrefix isolates this fleet's keys in a shared Redis.
	KeyPrefix string `yaml:"key_prefix"`
	// FailOpen lets calls through when Redis cannot be reached; otherwise
	// they are refused with a retry hint.
	FailOpen bool `yaml:"fail_open"`
	// Timeout bounds one Redis round trip.
	Timeout time.Duration `yaml:"timeout"`
}

// ApprovalConfig configures confirmations of calls that need approval.
type ApprovalConfig struct {
	// TokenTTL is how long a plan's confirmation token stays valid.
	TokenTTL time.Duration `yaml:"token_ttl"`
	// HMACKey signs confirmation tokens; at least 32 bytes. Every replica
	// behind one endpoint needs the same key (stateless HTTP). When unset a
	// random per-process key is used and a warning logged.
	HMACKey config.Secret `yaml:"hmac_key"`
	// Elicitation asks the user directly when the client supports
	// elicitation and the session is stateful; plan/confirm otherwise.
	Elicitation bool `yaml:"elicitation"`
}

// Audit sink types.
const (
	SinkStdout   = "stdout"
	SinkStderr   = "stderr"
	SinkFile     = "file"
	SinkPostgres = "postgres"
)

// AuditConfig lists where audit records go.
type AuditConfig struct {
	Sinks []SinkConfig `yaml:"sinks"`
	// QueueSize bounds the records waiting for each sink; a call waits
	// for room (backpressure) rather than a record being dropped.
	QueueSize int `yaml:"queue_size"`
	// BatchSize bounds the records written in one write or transaction.
	BatchSize int `yaml:"batch_size"`
	// Linger is how long a sink's writer, busy (it wrote within the
	// linger), waits for more records before writing a batch that is not
	// full (default 5ms; a negative value writes at once). A record after
	// a quiet spell is written at once; a graceful shutdown writes what
	// waits. Only a crash of the process inside the linger loses records
	// the sink has not yet written.
	Linger time.Duration `yaml:"linger,omitempty"`
}

// SinkConfig is one audit destination.
type SinkConfig struct {
	// Type is stdout, stderr, file or postgres.
	Type string `yaml:"type"`
	// Path, MaxBytes and MaxFiles configure a file sink: rotated when it
	// would grow past MaxBytes, keeping MaxFiles rotated files.
	Path     string          `yaml:"path,omitempty"`
	MaxBytes config.ByteSize `yaml:"max_bytes,omitempty"`
	MaxFiles int             `yaml:"max_files,omitempty"`
	// SyncInterval bounds how long a written record waits for fsync
	// (default 1s); SyncEveryBatch fsyncs each batch instead, which is
	// slower on small servers (see audit.File). Either way a record
	// survives a crash of the process as soon as it is written.
	SyncInterval   time.Duration `yaml:"sync_interval,omitempty"`
	SyncEveryBatch bool          `yaml:"sync_every_batch,omitempty"`
	// CheckpointFile, when set, anchors a file sink's chain head: a
	// checkpoint signed with CheckpointKey (HMAC-SHA256, at least 32
	// bytes) is appended there at most every CheckpointInterval (default
	// 1m) and at shutdown, so that `mcpfleet audit verify --checkpoints`
	// detects a cut tail. Keep it where whoever can edit the audit file
	// cannot (another volume or host, append-only storage).
	CheckpointFile     string        `yaml:"checkpoint_file,omitempty"`
	CheckpointKey      config.Secret `yaml:"checkpoint_key,omitempty"`
	CheckpointInterval time.Duration `yaml:"checkpoint_interval,omitempty"`
	// DSN and Table configure a postgres sink; Table may be schema.table.
	DSN   config.Secret `yaml:"dsn,omitempty"`
	Table string        `yaml:"table,omitempty"`
}

// Sink defaults applied when a field is left out.
const (
	defaultSyncInterval = time.Second
	defaultMaxBytes     = 100 << 20
	defaultMaxFiles     = 10
	defaultTable        = "mcpfleet_audit"
	defaultCheckpoint   = time.Minute
)

// DefaultAuditPath is where the default file sink writes for a server:
// $MCPFLEET_AUDIT_DIR, else the user's state directory
// ($XDG_STATE_HOME, else ~/.local/state), under mcpfleet/audit/, one
// file per server name. Audit records have a sink of their own, apart
// from the log stream, that `mcpfleet audit verify` reads as it is.
func DefaultAuditPath(server string) string {
	dir := os.Getenv("MCPFLEET_AUDIT_DIR")
	if dir == "" {
		state := os.Getenv("XDG_STATE_HOME")
		if state == "" {
			if home, err := os.UserHomeDir(); err == nil {
				state = filepath.Join(home, ".local", "state")
			} else {
				state = os.TempDir()
			}
		}
		dir = filepath.Join(state, "mcpfleet", "audit")
	}
	return filepath.Join(dir, cmp.Or(server, "mcpfleet")+".jsonl")
}

// NewDefaultConfig returns the defaults: the embedded policy, reload on,
// in-memory rate limits, 5-minute approval tokens, audit to a file of its
// own (a file sink without path: [DefaultAuditPath]), not to the log
// stream, so log.level never changes what is audited.
func NewDefaultConfig() Config {
	return Config{
		Reload: true,
		RateLimit: RateLimitConfig{
			Backend:   BackendMemory,
			KeyPrefix: "mcpfleet:",
			Timeout:   250 * time.Millisecond,
		},
		Approval: ApprovalConfig{TokenTTL: 5 * time.Minute, Elicitation: true},
		Audit: AuditConfig{
			Sinks:     []SinkConfig{{Type: SinkFile}},
			QueueSize: 10_000,
			BatchSize: 500,
		},
	}
}

// Validate fails fast with every problem found.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf("policy."+format, a...)) }
	switch c.RateLimit.Backend {
	case BackendMemory:
	case BackendRedis:
		if !c.RateLimit.RedisURL.IsSet() {
			add("rate_limit.redis_url is required for the redis backend")
		}
	default:
		add("rate_limit.backend %q is not memory or redis", c.RateLimit.Backend)
	}
	if c.RateLimit.Timeout <= 0 {
		add("rate_limit.timeout must be positive")
	}
	if c.Approval.TokenTTL <= 0 || c.Approval.TokenTTL > 24*time.Hour {
		add("approval.token_ttl must be between 0 and 24h")
	}
	if c.Approval.HMACKey.IsSet() && len(c.Approval.HMACKey.Reveal()) < 32 {
		add("approval.hmac_key must be at least 32 bytes")
	}
	if len(c.Audit.Sinks) == 0 {
		add("audit.sinks is empty: every call must be audited somewhere (stderr, file or postgres)")
	}
	if c.Audit.QueueSize <= 0 {
		add("audit.queue_size must be positive")
	}
	if c.Audit.BatchSize <= 0 {
		add("audit.batch_size must be positive")
	}
	paths := map[string]bool{}
	for i, s := range c.Audit.Sinks {
		switch s.Type {
		case SinkStdout, SinkStderr:
		case SinkFile:
			if paths[s.Path] {
				add("audit.sinks[%d]: file %s is used twice", i, s.Path)
			}
			paths[s.Path] = true
			if s.MaxBytes < 0 || s.MaxFiles < 0 {
				add("audit.sinks[%d]: max_bytes and max_files must not be negative", i)
			}
			if s.CheckpointFile != "" && len(s.CheckpointKey.Reveal()) < audit.MinCheckpointKeyLen {
				add("audit.sinks[%d]: checkpoint_file needs a checkpoint_key of at least %d bytes", i, audit.MinCheckpointKeyLen)
			}
			if s.CheckpointInterval < 0 {
				add("audit.sinks[%d]: checkpoint_interval must not be negative", i)
			}
		case SinkPostgres:
			if !s.DSN.IsSet() {
				add("audit.sinks[%d]: a postgres sink needs dsn", i)
			}
			if s.Table != "" {
				if _, err := audit.ParseTable(s.Table); err != nil {
					add("audit.sinks[%d]: %v", i, err)
				}
			}
		default:
			add("audit.sinks[%d]: type %q is not stdout, stderr, file or postgres", i, s.Type)
		}
	}
	return errors.Join(errs...)
}

// checkTransport refuses an audit sink on stdout when stdout carries the
// MCP protocol.
func (c *Config) checkTransport(transport string) error {
	if transport != config.TransportStdio {
		return nil
	}
	for i, s := range c.Audit.Sinks {
		if s.Type == SinkStdout {
			return fmt.Errorf("policy.audit.sinks[%d]: type stdout cannot be used with transport stdio, where stdout carries the MCP protocol; use stderr or a file", i)
		}
	}
	return nil
}
