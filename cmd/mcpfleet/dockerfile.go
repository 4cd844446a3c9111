package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"strings"
	"text/template"
)

// dockerfileTemplate is every server's Dockerfile; servers differ only in
// what the server table says about them, so the files are generated (make
// dockerfiles) and a test keeps them in step.
//
//go:embed dockerfile.tmpl
var dockerfileTemplate string

var dockerfileTmpl = template.Must(template.New("Dockerfile").Parse(dockerfileTemplate))

// renderDockerfile writes the Dockerfile of s.
func renderDockerfile(w io.Writer, s fleetServer) error {
	return dockerfileTmpl.Execute(w, struct {
		Name, Description, RegistryName, DataDirEnv string
	}{s.name, strings.ReplaceAll(s.description, `"`, `'`), registryNamespace + "/" + s.name, s.dataDirEnv})
}

// dockerfile prints the Dockerfile of one server.
func dockerfile(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "dockerfile", "SERVER")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return usageError(e, fs, "name one server")
	}
	servers, unknown := selectServers(pos[0])
	if len(unknown) > 0 {
		return usageError(e, fs, "unknown server %q", pos[0])
	}
	if err := renderDockerfile(e.stdout, servers[0]); err != nil {
		fmt.Fprintf(e.stderr, "mcpfleet dockerfile: %v\n", err)
		return 1
	}
	return 0
}
