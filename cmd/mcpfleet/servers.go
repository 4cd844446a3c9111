package main

import (
	"cmp"
	"os"
	"path/filepath"
	"strings"
)

// fleetServer is one domain server of the fleet. Adding a server is one
// entry in fleetTable: everything else (up, install, hostconfig, catalog,
// the Makefile's images target) reads the table.
type fleetServer struct {
	// name is the short name: servers/<name>, binary mcp-<name>, host
	// config key, catalog directory.
	name string
	// title and description go into server.json (description at most 100
	// characters, as the registry requires).
	title, description string
	// port is the loopback port `mcpfleet up` serves it on by default.
	port int
	// creds are the upstream credentials the server needs; empty when it
	// needs none (the CRM) or finds them itself (AWS's default chain).
	creds []credential
	// dataDirEnv is the variable naming the server's local data
	// directory (the CRM's SQLite); host configs and up set it to an
	// absolute per-user directory, images to /data.
	dataDirEnv string
	// awsChain marks the server that takes credentials from the AWS
	// default chain (server.json documents AWS_REGION and AWS_PROFILE).
	awsChain bool
	// remote marks a server whose readiness includes its upstream (checks
	// named <name>_...): up starts it even while the upstream cannot be
	// reached, saying so, rather than stopping the whole fleet.
	remote bool
}

// credential is one upstream secret a server reads from MCPFLEET_<...>.
// The server accepts either the secret itself or a reference
// ("env:NAME", "file:PATH"); host configs only ever write references.
type credential struct {
	// env is the variable the server reads, e.g. MCPFLEET_GITHUB_TOKEN.
	env string
	// alias is the conventional variable people already have set (e.g.
	// GITHUB_TOKEN); `mcpfleet up` and host configs refer to it.
	alias string
	// what describes it for prompts and server.json.
	what string
	// optional: the server runs without it (Slack's user token, which
	// search and unreads need). up forwards it when set; host configs
	// leave it out, since a reference to an unset variable would stop the
	// server; server.json lists it as not required.
	optional bool
	// placeholder is a syntactically valid value for --list-tools.
	placeholder string
}

// fleetTable lists every server of the fleet. Slack and AWS are written
// in parallel with this table; a server whose directory is missing from
// the source tree (or whose binary is missing from the install dir) is
// skipped with one line saying so.
var fleetTable = []fleetServer{
	{
		name: "crm", title: "mcpfleet CRM", port: 8080,
		description: "CRM of companies, contacts, deals and activities on embedded SQLite or PostgreSQL",
		dataDirEnv:  "MCPFLEET_CRM_DATA_DIR",
	},
	{
		name: "github", title: "mcpfleet GitHub", port: 8081,
		description: "GitHub issues, pull requests, code, actions and repositories with governed access",
		creds:       []credential{{env: "MCPFLEET_GITHUB_TOKEN", alias: "GITHUB_TOKEN", what: "GitHub personal access token"}},
		remote:      true,
	},
	{
		name: "slack", title: "mcpfleet Slack", port: 8082,
		description: "Slack channels, messages, threads, users and search with governed access",
		// The server reads a bot token (xoxb-) and a user token (xoxp-);
		// it runs with either, and up with either set.
		creds: []credential{
			{env: "MCPFLEET_SLACK_TOKEN", alias: "SLACK_TOKEN", what: "Slack bot token (xoxb-)", placeholder: "xoxb-placeholder-for-listing"},
			{env: "MCPFLEET_SLACK_USER_TOKEN", alias: "SLACK_USER_TOKEN", what: "Slack user token (xoxp-), for search and unreads", optional: true},
		},
		remote: true,
	},
	{
		name: "aws", title: "mcpfleet AWS", port: 8083,
		description: "AWS EC2, S3, IAM, CloudWatch and cost insight through the default credential chain",
		awsChain:    true,
		remote:      true,
	},
}

// binaryName is the server's executable name.
func (s fleetServer) binaryName() string { return "mcp-" + s.name }

// pkgPath is the server's main package relative to the repository root.
func (s fleetServer) pkgPath() string { return "./servers/" + s.name + "/cmd/mcp-" + s.name }

// awsChainVars are the variables that give the AWS default credential
// chain something to find outside shared config files.
var awsChainVars = []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"}

// hasAWSCredentials reports whether the default chain has a source here:
// one of awsChainVars, or a shared config or credentials file.
func hasAWSCredentials(getenv func(string) string) bool {
	for _, v := range awsChainVars {
		if getenv(v) != "" {
			return true
		}
	}
	files := []string{getenv("AWS_SHARED_CREDENTIALS_FILE"), getenv("AWS_CONFIG_FILE")}
	if home, err := os.UserHomeDir(); err == nil {
		files = append(files, filepath.Join(home, ".aws", "credentials"), filepath.Join(home, ".aws", "config"))
	}
	for _, f := range files {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}

// missingCreds returns the credentials not available in the environment
// (neither the MCPFLEET_ variable nor its alias is set; for the AWS
// server, no source for the default chain).
func (s fleetServer) missingCreds(getenv func(string) string) []credential {
	var out []credential
	if s.awsChain && !hasAWSCredentials(getenv) {
		out = append(out, credential{alias: "AWS_PROFILE", what: "or AWS_ACCESS_KEY_ID, or ~/.aws/credentials: a source for the AWS default credential chain"})
	}
	anySet := false
	for _, c := range s.creds {
		if c.set(getenv) {
			anySet = true
		} else if !c.optional {
			out = append(out, c)
		}
	}
	// An optional credential stands in for the required ones: Slack runs
	// with a user token alone.
	if anySet {
		return nil
	}
	return out
}

// set reports whether the credential or its alias is in the environment.
func (c credential) set(getenv func(string) string) bool {
	return getenv(c.env) != "" || (c.alias != "" && getenv(c.alias) != "")
}

// defaultAWSRegion is the region of the one account up gives the AWS
// server when neither AWS_REGION nor AWS_DEFAULT_REGION is set.
const defaultAWSRegion = "us-east-1"

// credEnv returns the variables to pass to a child so that it finds its
// credentials: the MCPFLEET_ variable as set, or a reference to the alias
// (the secret never travels through our argv or logs). The AWS server,
// without a config file, gets one account on the default chain in the
// region the environment names (MCPFLEET_AWS_REGIONS).
func (s fleetServer) credEnv(getenv func(string) string) []string {
	var out []string
	for _, c := range s.creds {
		if getenv(c.env) == "" && c.alias != "" && getenv(c.alias) != "" {
			out = append(out, c.env+"=env:"+c.alias)
		}
	}
	if s.awsChain && getenv("MCPFLEET_CONFIG") == "" && getenv("MCPFLEET_AWS_REGIONS") == "" {
		region := cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), defaultAWSRegion)
		out = append(out, "MCPFLEET_AWS_REGIONS="+region)
	}
	return out
}

// selectServers returns the table entries named in list (comma-separated;
// empty means all), or the unknown names.
func selectServers(list string) ([]fleetServer, []string) {
	if strings.TrimSpace(list) == "" {
		return fleetTable, nil
	}
	var out []fleetServer
	var unknown []string
	for n := range strings.SplitSeq(list, ",") {
		n = strings.TrimSpace(n)
		found := false
		for _, s := range fleetTable {
			if s.name == n {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			unknown = append(unknown, n)
		}
	}
	return out, unknown
}

// userDataDir is the per-user directory where a server keeps local data
// when a host starts it (hosts start stdio servers in arbitrary working
// directories, so a relative path would scatter databases).
func userDataDir(server string) (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "mcpfleet", server), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share", "mcpfleet", server), nil
}
