// Package crm is the CRM MCP server: companies, contacts, deals in
// pipelines, activities and owners, stored in embedded SQLite or PostgreSQL.
// It runs fully offline.
//
// [Module] plugs it into a server built on pkg/core. Tests in other modules
// can run it in-process with coretest:
//
//	h := coretest.Start(t, coretest.Options{
//		YAML:    crm.TestYAML(t.TempDir()),
//		Modules: []fx.Option{crm.Module},
//	})
//	cs := h.Connect(t, nil)
package crm

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/health"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// Toolsets.
const (
	toolsetRecords    = "records"
	toolsetDeals      = "deals"
	toolsetActivities = "activities"
	toolsetReports    = "reports"
)

// DefaultConfig is the server's embedded default configuration (server
// identity and the crm section); config files and MCPFLEET_* variables are
// layered over it.
//
//go:embed defaults.yaml
var DefaultConfig []byte

// Module provides the CRM's config section, its store (opened at start,
// closed at stop), tools, resource templates, prompts and a readiness check.
var Module = fx.Module("crm",
	fx.Provide(newConfig, newService),
	core.AsToolset(core.Toolset{Name: toolsetRecords, Description: "Search, read, create, update and delete companies and contacts", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetDeals, Description: "Deals: create, update, move through pipeline stages", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetActivities, Description: "Notes, calls, e-mails, meetings and tasks", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetReports, Description: "Pipeline summary and duplicate detection", Default: true}),
	core.AsTool(newSearchRecords),
	core.AsTool(newGetRecord),
	core.AsTool(newDeleteRecord),
	core.AsTool(newCreateCompany),
	core.AsTool(newUpdateCompany),
	core.AsTool(newCreateContact),
	core.AsTool(newUpdateContact),
	core.AsTool(newCreateDeal),
	core.AsTool(newUpdateDeal),
	core.AsTool(newMoveDealStage),
	core.AsTool(newLogActivity),
	core.AsTool(newUpdateActivity),
	core.AsTool(newListTasks),
	core.AsTool(newPipelineSummary),
	core.AsTool(newFindDuplicateContacts),
	core.AsResourceTemplate(newContactResource),
	core.AsResourceTemplate(newCompanyResource),
	core.AsResourceTemplate(newDealResource),
	core.AsPrompt(newAccountBriefPrompt),
	core.AsPrompt(newPipelineReviewPrompt),
	core.AsHealthCheck(newHealthCheck),
)

func newConfig(doc *config.Document) (Config, error) {
	cfg := NewDefaultConfig()
	if err := doc.Section("crm", &cfg); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func newService(lc fx.Lifecycle, cfg Config, logger *slog.Logger) (*Service, error) {
	s, err := NewService(cfg, logger)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.StartStopHook(s.Start, s.Stop))
	return s, nil
}

// Service is the CRM's domain logic over its store: validation, stage
// rules, idempotency digests, views. Tools, resources, prompts and the
// import/export commands all go through it.
type Service struct {
	cfg    Config
	logger *slog.Logger
	st     atomic.Pointer[store.Store]
	// now is the clock; tests may replace it before Start.
	now func() time.Time
	// stopPurge ends the idempotency-key purge loop; purgeDone closes when
	// it has.
	stopPurge chan struct{}
	purgeDone chan struct{}
}

// NewService validates cfg and returns a Service that is not yet started.
func NewService(cfg Config, logger *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, logger: logger, now: time.Now}, nil
}

// Start opens the database (migrating it), creates the configured owners
// and, when asked, loads the demo data into an empty database.
func (s *Service) Start(ctx context.Context) error {
	opts := s.cfg.StoreOptions()
	opts.Logger = s.logger
	st, err := store.Open(ctx, opts)
	if err != nil {
		return err
	}
	for _, o := range s.cfg.Owners {
		if _, err := st.EnsureOwner(ctx, o.Name, o.Email); err != nil {
			_ = st.Close()
			return fmt.Errorf("crm: creating owner %s: %w", o.Email, err)
		}
	}
	s.st.Store(st)
	if s.cfg.LoadDemoData {
		loaded, err := s.LoadDemoIfEmpty(ctx)
		if err != nil {
			s.st.Store(nil)
			_ = st.Close()
			return fmt.Errorf("crm: loading demo data: %w", err)
		}
		if loaded {
			s.logger.Info("loaded demo data into empty database", "driver", s.cfg.Driver)
		}
	}
	if s.cfg.IdempotencyTTL > 0 {
		s.stopPurge, s.purgeDone = make(chan struct{}), make(chan struct{})
		go s.purgeLoop(st)
	}
	s.logger.Info("crm store ready", "driver", s.cfg.Driver)
	return nil
}

// purgeInterval is how often expired idempotency keys are removed.
const purgeInterval = time.Hour

// purgeLoop removes expired idempotency keys at start and then hourly.
func (s *Service) purgeLoop(st *store.Store) {
	defer close(s.purgeDone)
	t := time.NewTicker(purgeInterval)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		n, err := st.PurgeIdempotencyKeys(ctx, s.now().Add(-s.cfg.IdempotencyTTL))
		cancel()
		switch {
		case err != nil:
			s.logger.Warn("purging expired idempotency keys failed", "error", err.Error())
		case n > 0:
			s.logger.Info("purged expired idempotency keys", "count", n)
		}
		select {
		case <-s.stopPurge:
			return
		case <-t.C:
		}
	}
}

// Stop closes the database. It is safe without Start.
func (s *Service) Stop(context.Context) error {
	if s.stopPurge != nil {
		close(s.stopPurge)
		<-s.purgeDone
		s.stopPurge = nil
	}
	if st := s.st.Swap(nil); st != nil {
		return st.Close()
	}
	return nil
}

// Store returns the open store, or nil before Start.
func (s *Service) Store() *store.Store { return s.st.Load() }

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

func (s *Service) store() (*store.Store, error) {
	st := s.st.Load()
	if st == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "crm store is not open (server starting or stopping)"}
	}
	return st, nil
}

func (s *Service) today() string { return s.now().UTC().Format(time.DateOnly) }

func newHealthCheck(s *Service) health.Check {
	return health.Check{Name: "crm_database", Func: func(ctx context.Context) (any, error) {
		st := s.Store()
		if st == nil {
			return nil, errors.New("database not open")
		}
		if err := st.Ping(ctx); err != nil {
			return nil, err
		}
		return map[string]string{"driver": st.Driver()}, nil
	}}
}

// explain turns store errors into messages a model can act on. Errors that
// are not the caller's to fix become an internal protocol error: the detail
// goes to the log, not to the client.
func (s *Service) explain(ctx context.Context, err error) error {
	var (
		nf  *store.NotFoundError
		cf  *store.ConflictError
		idc *store.IdempotencyConflictError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nf):
		return fmt.Errorf("%w; search_records with type %q finds ids", nf, nf.Kind)
	case errors.As(err, &cf):
		return fmt.Errorf("conflict: %w; call get_record to see the current values and retry with expected_version %d", cf, cf.Current)
	case errors.As(err, &idc):
		return fmt.Errorf("conflict: %w; send the original request again, or use a new idempotency_key for a new %s", idc, idc.Kind.Singular())
	case errors.Is(err, store.ErrReplayDeleted), errors.Is(err, store.ErrNoSearchWords):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	var wire *jsonrpc.Error
	if errors.As(err, &wire) {
		return wire
	}
	s.logger.ErrorContext(ctx, "crm store error", "error", err)
	return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "internal CRM database error; try again later"}
}

// TestYAML is a config for running the CRM in a test: server name "crm",
// embedded SQLite in dir, demo data off. It ends inside the crm section, so
// crm keys indented by two spaces may follow ("  load_demo_data: true\n").
// Over HTTP, set transport, http.addr and auth in coretest.Options.Config.
func TestYAML(dir string) string {
	return fmt.Sprintf("server:\n  name: crm\ncrm:\n  data_dir: %q\n", dir)
}
