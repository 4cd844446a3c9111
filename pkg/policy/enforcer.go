package policy

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/redis/go-redis/v9"
	"github.com/yosida95/uritemplate/v3"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/health"
	"github.com/mcpfleet/mcpfleet/pkg/policy/approval"
	"github.com/mcpfleet/mcpfleet/pkg/policy/audit"
	"github.com/mcpfleet/mcpfleet/pkg/policy/ratelimit"
)

// Options are the dependencies of an [Enforcer].
type Options struct {
	Config Config
	// Core is the server's core config: server name, transport, HTTP mode.
	Core    config.Config
	Catalog *core.Catalog
	Logger  *slog.Logger
	Meters  metric.MeterProvider
	// Stdout and Stderr are where stdout and stderr audit sinks write.
	Stdout, Stderr io.Writer
	// OnAuditCommit, when set, is told each time a sink commits records.
	OnAuditCommit func(sink string, last audit.Record)
}

// Enforcer applies a policy to a server's MCP traffic: it decides tool
// calls, filters tools/list, rate-limits, asks for approvals, redacts
// results and audits every call. The policy document can be swapped
// atomically at run time ([Enforcer.Reload]).
type Enforcer struct {
	cfg     Config
	server  string
	logger  *slog.Logger
	catalog *core.Catalog
	elicit  bool

	state   atomic.Pointer[state]
	limiter ratelimit.Limiter
	signer  *approval.Signer
	redis   *redis.Client
	metrics *metrics
	// decisions outlives reloads: see decisionCounts.
	decisions *decisionCounts

	resources []resourceClass
	prompts   map[string]core.Classification

	backends []audit.Backend
	auditor  atomic.Pointer[audit.Auditor]
	opts     Options

	reloadMu      sync.Mutex
	onReload      func() // set before Start; called under reloadMu
	lastReloadErr atomic.Pointer[string]
	stop          chan struct{}
	watchDone     chan struct{}
	limiterLog    atomic.Int64
	now           func() time.Time
}

// state is one loaded policy, swapped whole on reload.
type state struct {
	doc      *Document
	eng      *Engine
	tools    map[string]*ToolPolicy
	loadedAt time.Time
	opts     *decisionOpts
}

// resourceClass is the classification of a resource or template.
type resourceClass struct {
	uri   string
	tmpl  *uritemplate.Template
	class core.Classification
}

// New builds an Enforcer. Nothing runs until [Enforcer.Start].
func New(o Options) (*Enforcer, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if err := o.Config.checkTransport(o.Core.Transport); err != nil {
		return nil, err
	}
	if o.Catalog == nil {
		return nil, errors.New("policy: a catalog is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Meters == nil {
		o.Meters = metricnoop.NewMeterProvider()
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	cfg := o.Config
	e := &Enforcer{cfg: cfg, server: o.Core.Server.Name, logger: o.Logger.With("component", "policy"),
		catalog: o.Catalog, opts: o, now: time.Now, decisions: newDecisionCounts()}
	e.elicit = cfg.Approval.Elicitation && (o.Core.Transport == config.TransportStdio ||
		(!o.Core.HTTP.Stateless && !o.Core.HTTP.JSONResponse))

	doc := Default()
	if cfg.File != "" {
		var err error
		if doc, err = Load(cfg.File); err != nil {
			return nil, err
		}
	} else {
		e.logger.Info("no policy file configured: the built-in default policy allows every authenticated caller",
			"policy_hash", doc.Hash())
	}
	st, err := e.newState(doc)
	if err != nil {
		return nil, err
	}
	e.state.Store(st)

	for _, r := range o.Catalog.Resources() {
		e.resources = append(e.resources, resourceClass{uri: r.Resource.URI, class: r.Classification})
	}
	for _, t := range o.Catalog.ResourceTemplates() {
		tmpl, err := uritemplate.New(t.Template.URITemplate)
		if err != nil {
			return nil, fmt.Errorf("policy: resource template %q: %w", t.Template.URITemplate, err)
		}
		e.resources = append(e.resources, resourceClass{tmpl: tmpl, class: t.Classification})
	}

	e.prompts = map[string]core.Classification{}
	for _, p := range o.Catalog.Prompts() {
		e.prompts[p.Prompt.Name] = cmp.Or(p.Classification, core.Confidential)
	}

	var store approval.ReplayStore = approval.NewMemoryStore()
	e.limiter = ratelimit.NewMemory()
	if cfg.RateLimit.Backend == BackendRedis {
		ropts, err := redis.ParseURL(cfg.RateLimit.RedisURL.Reveal())
		if err != nil {
			// go-redis's message may quote the URL; do not repeat it.
			return nil, errors.New("policy.rate_limit.redis_url is not a valid redis:// URL")
		}
		ropts.ReadTimeout, ropts.WriteTimeout = cfg.RateLimit.Timeout, cfg.RateLimit.Timeout
		ropts.DialTimeout = max(cfg.RateLimit.Timeout, time.Second)
		e.redis = redis.NewClient(ropts)
		e.limiter = ratelimit.NewRedis(e.redis, cfg.RateLimit.KeyPrefix+"rl:", cfg.RateLimit.Timeout)
		store = approval.NewRedisStore(e.redis, cfg.RateLimit.KeyPrefix+"approval:")
	}
	key := []byte(cfg.Approval.HMACKey.Reveal())
	if !cfg.Approval.HMACKey.IsSet() {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		msg := "policy.approval.hmac_key is not set: confirmation tokens are signed with a per-process key and are not accepted by other replicas"
		if o.Core.Transport == config.TransportHTTP && o.Core.HTTP.Stateless {
			e.logger.Warn(msg + "; stateless HTTP behind a load balancer needs a shared key")
		} else {
			e.logger.Warn(msg)
		}
	}
	if e.signer, err = approval.NewSigner(key, cfg.Approval.TokenTTL, store); err != nil {
		return nil, err
	}

	for _, s := range cfg.Audit.Sinks {
		if s.Type != SinkPostgres {
			continue
		}
		table := s.Table
		if table == "" {
			table = defaultTable
		}
		pg, err := audit.NewPostgres(s.DSN.Reveal(), table, e.server)
		if err != nil {
			return nil, err
		}
		e.backends = append(e.backends, pg)
	}
	if e.metrics, err = newMetrics(o.Meters, e); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Enforcer) newState(doc *Document) (*state, error) {
	eng, err := NewEngine(doc)
	if err != nil {
		return nil, err
	}
	st := &state{doc: doc, eng: eng, tools: map[string]*ToolPolicy{}, loadedAt: time.Now()}
	for _, td := range e.catalog.Tools() {
		spec := td.Spec()
		st.tools[spec.Name] = eng.CompileTool(e.server, spec)
	}
	st.opts = newDecisionOpts(eng, e.decisions)
	return st, nil
}

// Start opens the audit sinks and starts watching the policy file.
func (e *Enforcer) Start(context.Context) error {
	var backends []audit.Backend
	for _, s := range e.cfg.Audit.Sinks {
		switch s.Type {
		case SinkStdout:
			backends = append(backends, audit.NewStream("stdout", e.opts.Stdout, e.server))
		case SinkStderr:
			backends = append(backends, audit.NewStream("stderr", e.opts.Stderr, e.server))
		case SinkFile:
			maxBytes, maxFiles := int64(s.MaxBytes), s.MaxFiles
			if maxBytes == 0 {
				maxBytes = defaultMaxBytes
			}
			if maxFiles == 0 {
				maxFiles = defaultMaxFiles
			}
			path := s.Path
			if path == "" {
				path = DefaultAuditPath(e.server)
			}
			f, err := audit.OpenFile(path, e.server, maxBytes, maxFiles)
			// Another process of the same server (a second host window
			// on stdio) holds the default file: it gets the next free
			// one, its own chain.
			for n := 2; s.Path == "" && errors.Is(err, audit.ErrLocked) && n <= 16; n++ {
				path = strings.TrimSuffix(DefaultAuditPath(e.server), ".jsonl") + "." + strconv.Itoa(n) + ".jsonl"
				f, err = audit.OpenFile(path, e.server, maxBytes, maxFiles)
			}
			if s.Path == "" && err == nil {
				e.logger.Info("audit records go to the default file sink", "path", path)
			}
			if err != nil {
				closeAll(backends)
				return err
			}
			if s.CheckpointFile != "" {
				cp, err := audit.OpenCheckpoints(s.CheckpointFile, []byte(s.CheckpointKey.Reveal()), cmp.Or(s.CheckpointInterval, defaultCheckpoint))
				if err != nil {
					f.Close()
					closeAll(backends)
					return err
				}
				f.AnchorTo(cp)
			}
			switch {
			case s.SyncEveryBatch:
			case s.SyncInterval > 0:
				f.SyncEvery(s.SyncInterval)
			default:
				f.SyncEvery(defaultSyncInterval)
			}
			backends = append(backends, f)
		}
	}
	backends = append(backends, e.backends...)
	e.auditor.Store(audit.New(backends, audit.Options{
		QueueSize: e.cfg.Audit.QueueSize,
		BatchSize: e.cfg.Audit.BatchSize,
		Linger:    e.cfg.Audit.Linger,
		Logger:    e.logger,
		OnCommit:  e.opts.OnAuditCommit,
	}))
	if e.cfg.File != "" && e.cfg.Reload {
		if err := e.watch(); err != nil {
			return err
		}
	}
	return nil
}

func closeAll(bs []audit.Backend) {
	for _, b := range bs {
		_ = b.Close()
	}
}

// Shutdown stops watching and flushes the audit sinks, waiting for them
// until ctx ends. It is safe without Start and safe to repeat.
func (e *Enforcer) Shutdown(ctx context.Context) error {
	if e.stop != nil {
		close(e.stop)
		<-e.watchDone
		e.stop = nil
	}
	var errs []error
	if a := e.auditor.Load(); a != nil {
		if err := a.Close(ctx); err != nil {
			e.logger.Error("audit records were lost at shutdown", "error", err)
			errs = append(errs, err)
		}
	} else {
		closeAll(e.backends)
	}
	if e.redis != nil {
		if err := e.redis.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Document returns the policy document in force.
func (e *Enforcer) Document() *Document { return e.state.Load().doc }

// Engine returns the engine of the policy in force.
func (e *Enforcer) Engine() *Engine { return e.state.Load().eng }

// AuditStats reports the audit sinks (nil before Start).
func (e *Enforcer) AuditStats() []audit.Stats {
	if a := e.auditor.Load(); a != nil {
		return a.Stats()
	}
	return nil
}

// Reload re-reads the policy file and swaps it in atomically. A document
// that fails to load or validate is rejected with an error log and a
// metric, and the policy in force stays.
func (e *Enforcer) Reload() error {
	if e.cfg.File == "" {
		return errors.New("policy: no policy file is configured; the built-in default cannot be reloaded")
	}
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	old := e.state.Load()
	doc, err := Load(e.cfg.File)
	var st *state
	if err == nil {
		st, err = e.newState(doc)
	}
	if err != nil {
		msg := err.Error()
		e.lastReloadErr.Store(&msg)
		e.metrics.reload(false)
		e.logger.Error("policy reload rejected; the previous policy stays in force",
			"file", e.cfg.File, "error", msg, "policy_hash", old.doc.Hash())
		return err
	}
	e.lastReloadErr.Store(nil)
	if doc.Hash() == old.doc.Hash() {
		return nil
	}
	e.state.Store(st)
	e.metrics.reload(true)
	e.logger.Info("policy reloaded", "file", e.cfg.File, "policy_hash", doc.Hash(), "previous_hash", old.doc.Hash(),
		"revision", doc.Revision)
	if e.onReload != nil {
		// What each caller may see can have changed: clients re-list tools.
		e.onReload()
	}
	return nil
}

// OnReload registers f to run after a new policy is swapped in. Call it
// before Start.
func (e *Enforcer) OnReload(f func()) { e.onReload = f }

// reloadDebounce groups the several events an editor or a ConfigMap
// update produces.
const reloadDebounce = 200 * time.Millisecond

// watch reloads on SIGHUP and on changes in the policy file's directory
// (watching the directory catches atomic renames and symlink swaps).
func (e *Enforcer) watch() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("policy: watching %s: %w", e.cfg.File, err)
	}
	if err := w.Add(filepath.Dir(e.cfg.File)); err != nil {
		w.Close()
		return fmt.Errorf("policy: watching %s: %w", e.cfg.File, err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	e.stop, e.watchDone = make(chan struct{}), make(chan struct{})
	stop, done := e.stop, e.watchDone
	go func() {
		defer close(done)
		defer w.Close()
		defer signal.Stop(hup)
		var debounce <-chan time.Time
		for {
			select {
			case <-stop:
				return
			case <-hup:
				e.logger.Info("SIGHUP received: reloading the policy", "file", e.cfg.File)
				_ = e.Reload()
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Op != fsnotify.Chmod {
					debounce = time.After(reloadDebounce)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				e.logger.Warn("policy file watch error", "file", e.cfg.File, "error", err)
			case <-debounce:
				debounce = nil
				_ = e.Reload()
			}
		}
	}()
	return nil
}

// HealthCheck reports the policy in force (hash, version, name, revision)
// and the audit sinks as readiness detail.
func (e *Enforcer) HealthCheck() health.Check {
	return health.Check{Name: "policy", Func: func(context.Context) (any, error) {
		st := e.state.Load()
		d := map[string]any{
			"hash":      st.doc.Hash(),
			"version":   st.doc.Version,
			"name":      st.doc.Name,
			"revision":  st.doc.Revision,
			"source":    st.doc.Source(),
			"loaded_at": st.loadedAt.UTC().Format(time.RFC3339),
		}
		if msg := e.lastReloadErr.Load(); msg != nil {
			d["last_reload_error"] = *msg
		}
		var sinks []map[string]any
		for _, s := range e.AuditStats() {
			m := map[string]any{"sink": s.Sink, "backlog": s.Backlog, "written": s.Written, "dropped": s.Dropped}
			if s.LastError != "" {
				m["last_error"] = s.LastError
			}
			sinks = append(sinks, m)
		}
		d["audit"] = sinks
		return d, nil
	}}
}

// resourceLevel is the classification level of a resource URI; unknown
// URIs count as restricted.
func (e *Enforcer) resourceClass(uri string) core.Classification {
	for _, r := range e.resources {
		if r.tmpl == nil && r.uri == uri {
			return r.class
		}
	}
	for _, r := range e.resources {
		if r.tmpl != nil && (r.tmpl.Raw() == uri || r.tmpl.Match(uri) != nil) {
			return r.class
		}
	}
	return core.Restricted
}

// roleSetOf is the caller's roles.
func (e *Engine) roleSetOf(p *authn.Principal, now time.Time) roleSet {
	if p == nil {
		return roleSet{}
	}
	var act *activation
	return e.resolveRoles(p, &act, now)
}
