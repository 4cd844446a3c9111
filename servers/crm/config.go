package crm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// Config is the "crm" section of the server's configuration.
type Config struct {
	// Driver is "sqlite" (embedded, the default) or "postgres".
	Driver string `yaml:"driver"`
	// DataDir holds the SQLite database file (crm.db).
	DataDir string `yaml:"data_dir"`
	// DSN is the PostgreSQL connection string, e.g. "env:CRM_DATABASE_URL".
	DSN config.Secret `yaml:"dsn"`
	// SQLiteSynchronous is "full" (default: an acknowledged write survives
	// power loss) or "normal" (survives a process crash; faster).
	SQLiteSynchronous string `yaml:"sqlite_synchronous"`
	// MaxOpenConns caps database connections (PostgreSQL pool, SQLite
	// readers); 0 picks a default.
	MaxOpenConns int `yaml:"max_open_conns"`
	// LoadDemoData loads the demo data set into a fresh, empty database.
	LoadDemoData bool `yaml:"load_demo_data"`
	// IdempotencyTTL is how long an idempotency key is remembered (a retry
	// within it returns the first result); 0 keeps keys forever.
	IdempotencyTTL time.Duration `yaml:"idempotency_ttl"`
	// DefaultCurrency applies to deals created without a currency.
	DefaultCurrency string `yaml:"default_currency"`
	// Owners are created (or renamed) at start, matched by e-mail.
	Owners []OwnerConfig `yaml:"owners"`
	// Pipelines are the deal pipelines; the first is the default.
	Pipelines []Pipeline `yaml:"pipelines"`
	// CustomProperties are the extra fields each object type accepts.
	CustomProperties CustomProperties `yaml:"custom_properties"`
}

// OwnerConfig is an owner created at start.
type OwnerConfig struct {
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
}

// Pipeline is an ordered list of deal stages.
type Pipeline struct {
	Name   string  `yaml:"name"`
	Stages []Stage `yaml:"stages"`
}

// Stage is one step of a pipeline.
type Stage struct {
	Name string `yaml:"name"`
	// Probability (0 to 1) weights the stage's amounts in the forecast.
	Probability float64 `yaml:"probability"`
	// Status is what a deal in this stage is: open, won or lost.
	Status string `yaml:"status"`
}

// CustomProperties lists the custom properties per object type.
type CustomProperties struct {
	Companies []PropertyDef `yaml:"companies"`
	Contacts  []PropertyDef `yaml:"contacts"`
	Deals     []PropertyDef `yaml:"deals"`
}

// For returns the definitions for kind.
func (c CustomProperties) For(kind store.Kind) []PropertyDef {
	switch kind {
	case store.Companies:
		return c.Companies
	case store.Contacts:
		return c.Contacts
	case store.Deals:
		return c.Deals
	}
	return nil
}

// Property types.
const (
	PropString = "string"
	PropNumber = "number"
	PropBool   = "bool"
	PropDate   = "date"
	PropEnum   = "enum"
)

// PropertyDef defines one custom property.
type PropertyDef struct {
	Name        string `yaml:"name"`
	Type        string `yaml:"type"`
	Description string `yaml:"description"`
	// Values are the allowed values of an enum.
	Values   []string `yaml:"values"`
	Required bool     `yaml:"required"`
}

// DefaultDataDir is where the SQLite database lives unless data_dir says
// otherwise: a per-user data directory, the same wherever the host starts
// the process (a stdio server's working directory is the host's choice).
// It is $XDG_DATA_HOME/mcpfleet/crm, else ~/.local/share/mcpfleet/crm; on
// macOS ~/Library/Application Support/mcpfleet/crm and on Windows
// %LocalAppData%\mcpfleet\crm. Without a home directory it is ./.data.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "mcpfleet", "crm")
	}
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "mcpfleet", "crm")
		}
	case "darwin", "ios":
		if d, err := os.UserConfigDir(); err == nil {
			return filepath.Join(d, "mcpfleet", "crm")
		}
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return filepath.Join(h, ".local", "share", "mcpfleet", "crm")
	}
	return "./.data"
}

// NewDefaultConfig returns the defaults: embedded SQLite in the per-user
// data directory ([DefaultDataDir]) and a "sales" pipeline.
func NewDefaultConfig() Config {
	return Config{
		Driver:            store.SQLite,
		DataDir:           DefaultDataDir(),
		SQLiteSynchronous: "full",
		DefaultCurrency:   "USD",
		IdempotencyTTL:    7 * 24 * time.Hour,
		Pipelines: []Pipeline{{
			Name: "sales",
			Stages: []Stage{
				{Name: "lead", Probability: 0.1, Status: "open"},
				{Name: "qualified", Probability: 0.25, Status: "open"},
				{Name: "proposal", Probability: 0.5, Status: "open"},
				{Name: "negotiation", Probability: 0.75, Status: "open"},
				{Name: "closed_won", Probability: 1, Status: "won"},
				{Name: "closed_lost", Probability: 0, Status: "lost"},
			},
		}},
	}
}

// builtinFields are the columns a custom property may not be named after
// (they share the CSV header namespace).
var builtinFields = map[store.Kind][]string{
	store.Companies: {"id", "version", "created_at", "updated_at", "name", "domain", "industry", "owner_id"},
	store.Contacts:  {"id", "version", "created_at", "updated_at", "first_name", "last_name", "email", "phone", "title", "company_id", "owner_id"},
	store.Deals: {"id", "version", "created_at", "updated_at", "name", "pipeline", "stage", "status", "amount", "currency",
		"close_date", "company_id", "owner_id"},
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Validate fails fast with every problem found.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf("crm."+format, a...)) }
	if c.IdempotencyTTL < 0 {
		add("idempotency_ttl must not be negative")
	}
	switch c.Driver {
	case store.SQLite:
		if c.DataDir == "" {
			add("data_dir is empty")
		}
		if c.SQLiteSynchronous != "full" && c.SQLiteSynchronous != "normal" {
			add("sqlite_synchronous %q is not full or normal", c.SQLiteSynchronous)
		}
	case store.Postgres:
		if !c.DSN.IsSet() {
			add("dsn is required for the postgres driver (e.g. dsn: env:CRM_DATABASE_URL)")
		}
	default:
		add("driver %q is not sqlite or postgres", c.Driver)
	}
	if c.MaxOpenConns < 0 {
		add("max_open_conns is negative")
	}
	if _, ok := currencyExponent(c.DefaultCurrency); !ok {
		add("default_currency %q is not an ISO 4217 code", c.DefaultCurrency)
	}
	for i, o := range c.Owners {
		if o.Name == "" || checkEmail(o.Email) != nil {
			add("owners[%d] needs a name and a valid email", i)
		}
	}
	if len(c.Pipelines) == 0 {
		add("pipelines is empty: define at least one pipeline")
	}
	seen := map[string]bool{}
	for i, p := range c.Pipelines {
		if !nameRE.MatchString(p.Name) {
			add("pipelines[%d].name %q must be snake_case", i, p.Name)
		}
		if seen[p.Name] {
			add("pipelines: %q is defined twice", p.Name)
		}
		seen[p.Name] = true
		stages := map[string]bool{}
		var open, won bool
		for j, s := range p.Stages {
			if !nameRE.MatchString(s.Name) {
				add("pipelines[%d].stages[%d].name %q must be snake_case", i, j, s.Name)
			}
			if stages[s.Name] {
				add("pipelines[%d]: stage %q is defined twice", i, s.Name)
			}
			stages[s.Name] = true
			if s.Probability < 0 || s.Probability > 1 {
				add("pipelines[%d].stages[%d].probability %v is not between 0 and 1", i, j, s.Probability)
			}
			switch s.Status {
			case "open":
				open = true
			case "won":
				won = true
			case "lost":
			default:
				add("pipelines[%d].stages[%d].status %q is not open, won or lost", i, j, s.Status)
			}
		}
		if !open || !won {
			add("pipelines[%d] (%s) needs at least one open and one won stage", i, p.Name)
		}
	}
	for _, kind := range []store.Kind{store.Companies, store.Contacts, store.Deals} {
		names := map[string]bool{}
		for i, d := range c.CustomProperties.For(kind) {
			where := fmt.Sprintf("custom_properties.%s[%d]", kind, i)
			if !nameRE.MatchString(d.Name) {
				add("%s.name %q must be snake_case", where, d.Name)
			}
			if names[d.Name] {
				add("%s: %q is defined twice", where, d.Name)
			}
			names[d.Name] = true
			if slices.Contains(builtinFields[kind], d.Name) {
				add("%s: %q clashes with a built-in %s field", where, d.Name, kind)
			}
			if !slices.Contains([]string{PropString, PropNumber, PropBool, PropDate, PropEnum}, d.Type) {
				add("%s.type %q is not string, number, bool, date or enum", where, d.Type)
			}
			if (d.Type == PropEnum) != (len(d.Values) > 0) {
				add("%s: values are required for enum properties and only for them", where)
			}
		}
	}
	return errors.Join(errs...)
}

// DatabasePath is the SQLite file.
func (c *Config) DatabasePath() string { return filepath.Join(c.DataDir, "crm.db") }

// StoreOptions translates the config for [store.Open].
func (c *Config) StoreOptions() store.Options {
	return store.Options{
		Driver:       c.Driver,
		Path:         c.DatabasePath(),
		DSN:          c.DSN.Reveal(),
		Synchronous:  c.SQLiteSynchronous,
		MaxOpenConns: c.MaxOpenConns,
	}
}

// pipeline returns the named pipeline, or the default one for "".
func (c *Config) pipeline(name string) (Pipeline, error) {
	if name == "" {
		return c.Pipelines[0], nil
	}
	for _, p := range c.Pipelines {
		if p.Name == name {
			return p, nil
		}
	}
	names := make([]string, len(c.Pipelines))
	for i, p := range c.Pipelines {
		names[i] = p.Name
	}
	return Pipeline{}, fmt.Errorf("unknown pipeline %s; pipelines are: %s", core.Quote(name), joinQuoted(names))
}

// stage returns the named stage of p.
func (p Pipeline) stage(name string) (Stage, error) {
	for _, s := range p.Stages {
		if s.Name == name {
			return s, nil
		}
	}
	return Stage{}, fmt.Errorf("unknown stage %s in pipeline %s; stages in order are: %s", core.Quote(name), p.Name, joinQuoted(p.stageNames()))
}

func (p Pipeline) stageNames() []string {
	names := make([]string, len(p.Stages))
	for i, s := range p.Stages {
		names[i] = s.Name
	}
	return names
}
