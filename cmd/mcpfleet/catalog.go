package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// serverSchemaURL is the registry schema revision the catalog follows; a
// copy of the schema is in testdata/ and every generated file is validated
// against it in the tests.
const serverSchemaURL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"

// registryNamespace is the reverse-DNS namespace of the fleet's names in
// the registry.
const registryNamespace = "io.github.mcpfleet"

// serverJSON is the registry's server.json (only the fields we fill).
type serverJSON struct {
	Schema      string          `json:"$schema"`
	Name        string          `json:"name"`
	Title       string          `json:"title,omitempty"`
	Description string          `json:"description"`
	Version     string          `json:"version"`
	WebsiteURL  string          `json:"websiteUrl,omitempty"`
	Repository  *repositoryJSON `json:"repository,omitempty"`
	Packages    []packageJSON   `json:"packages,omitempty"`
	Remotes     []transportJSON `json:"remotes,omitempty"`
}

type repositoryJSON struct {
	URL       string `json:"url"`
	Source    string `json:"source"`
	Subfolder string `json:"subfolder,omitempty"`
}

type packageJSON struct {
	RegistryType         string          `json:"registryType"`
	Identifier           string          `json:"identifier"`
	Version              string          `json:"version"`
	RuntimeHint          string          `json:"runtimeHint,omitempty"`
	Transport            transportJSON   `json:"transport"`
	PackageArguments     []argumentJSON  `json:"packageArguments,omitempty"`
	EnvironmentVariables []keyValueInput `json:"environmentVariables,omitempty"`
}

type transportJSON struct {
	Type    string          `json:"type"`
	URL     string          `json:"url,omitempty"`
	Headers []keyValueInput `json:"headers,omitempty"`
}

type argumentJSON struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

type keyValueInput struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Format      string `json:"format,omitempty"`
	Default     string `json:"default,omitempty"`
	IsRequired  bool   `json:"isRequired,omitempty"`
	IsSecret    bool   `json:"isSecret,omitempty"`
}

// catalogOptions is what server.json files are generated from.
type catalogOptions struct {
	version    string
	image      string // OCI repository prefix, e.g. docker.io/mcpfleet
	remoteURL  string // optional URL template with {name}
	repository string // optional source repository URL
}

// exactVersion accepts a specific version, never a range or "latest"
// (the registry rejects those).
var exactVersion = regexp.MustCompile(`^v?[0-9A-Za-z][0-9A-Za-z.+-]*$`)

func validVersion(v string) bool {
	if v == "latest" || !exactVersion.MatchString(v) {
		return false
	}
	for _, part := range strings.Split(strings.SplitN(v, "-", 2)[0], ".") {
		if part == "x" || part == "X" || part == "*" {
			return false
		}
	}
	return true
}

// serverEntry returns the server.json of one server.
func serverEntry(s fleetServer, o catalogOptions) serverJSON {
	v := strings.TrimPrefix(o.version, "v")
	env := []keyValueInput{}
	if s.dataDirEnv != "" {
		env = append(env, keyValueInput{Name: s.dataDirEnv, Description: "Directory for the embedded database (mount a volume here)", Format: "filepath", Default: "/data"})
	}
	for _, c := range s.creds {
		env = append(env, keyValueInput{Name: c.env, Description: c.what + " (or a reference: env:NAME, file:PATH)", IsRequired: !c.optional, IsSecret: true})
	}
	if s.awsChain {
		env = append(env,
			keyValueInput{Name: "AWS_REGION", Description: "AWS region; credentials come from the default chain (role, profile, environment)"},
			keyValueInput{Name: "AWS_PROFILE", Description: "Named profile in the shared AWS config, if not using a role"})
	}
	e := serverJSON{
		Schema:      serverSchemaURL,
		Name:        registryNamespace + "/" + s.name,
		Title:       s.title,
		Description: s.description,
		Version:     v,
		Packages: []packageJSON{{
			RegistryType:         "oci",
			Identifier:           o.image + "/" + s.binaryName() + ":" + v,
			Version:              v,
			RuntimeHint:          "docker",
			Transport:            transportJSON{Type: "stdio"},
			PackageArguments:     []argumentJSON{{Type: "named", Name: "--transport", Value: "stdio"}},
			EnvironmentVariables: env,
		}},
	}
	if len(e.Packages[0].EnvironmentVariables) == 0 {
		e.Packages[0].EnvironmentVariables = nil
	}
	if o.repository != "" {
		e.Repository = &repositoryJSON{URL: o.repository, Source: "github", Subfolder: "servers/" + s.name}
	}
	if o.remoteURL != "" {
		e.Remotes = []transportJSON{{
			Type: "streamable-http",
			URL:  strings.ReplaceAll(o.remoteURL, "{name}", s.name),
			Headers: []keyValueInput{{Name: "Authorization", Description: "Bearer token: an OAuth access token for this server, or an mcpfleet API key (Bearer mcpk_...)",
				IsRequired: true, IsSecret: true}},
		}}
	}
	return e
}

// catalog writes DIR/<server>/server.json for every server in the table.
func catalog(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "catalog", "--out DIR [--version V] [--image PREFIX] [--remote-url URL] [--repository URL]")
	out := fs.String("out", "", "directory to write <server>/server.json into")
	ver := fs.String("version", "", "the version to publish (default: this build's version)")
	image := fs.String("image", "docker.io/mcpfleet", "OCI repository prefix of the server images")
	remote := fs.String("remote-url", "", "URL template of the hosted servers with {name}, e.g. https://{name}.mcp.example.com/mcp")
	repo := fs.String("repository", "", "source repository URL to name in each entry")
	only := fs.String("servers", "", "comma-separated servers (default: all)")
	if _, code, ok := parse(fs, args); !ok {
		return code
	} else if fs.NArg() > 0 {
		return usageError(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return usageError(e, fs, "name the output directory with --out")
	}
	v := *ver
	if v == "" {
		v = strings.Fields(fullVersion())[0]
		if v == "dev" {
			v = "0.0.0-dev"
		}
	}
	if !validVersion(v) {
		return usageError(e, fs, "--version %q must be one specific version (no ranges, not latest)", v)
	}
	if *remote != "" && !strings.HasPrefix(*remote, "https://") && !strings.HasPrefix(*remote, "http://") {
		return usageError(e, fs, "--remote-url must start with https:// or http://")
	}
	servers, unknown := selectServers(*only)
	if len(unknown) > 0 {
		return usageError(e, fs, "unknown servers %v", unknown)
	}
	o := catalogOptions{version: v, image: strings.TrimSuffix(*image, "/"), remoteURL: *remote, repository: *repo}
	for _, s := range servers {
		entry := serverEntry(s, o)
		if len(entry.Description) > 100 {
			fmt.Fprintf(e.stderr, "mcpfleet catalog: %s: description is %d characters, over the registry's 100\n", s.name, len(entry.Description))
			return 1
		}
		b, err := marshalIndent(entry)
		if err == nil {
			dir := filepath.Join(*out, s.name)
			if err = os.MkdirAll(dir, 0o755); err == nil {
				err = os.WriteFile(filepath.Join(dir, "server.json"), b, 0o644)
			}
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "mcpfleet catalog: %v\n", err)
			return 1
		}
		fmt.Fprintf(e.stdout, "%s\n", filepath.Join(*out, s.name, "server.json"))
	}
	return 0
}
