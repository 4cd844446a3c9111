package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestDockerfilesGenerated keeps servers/<name>/Dockerfile equal to the
// template's output (UPDATE_GOLDEN=true rewrites them, as make dockerfiles
// does); tests/deploy checks the rules they must follow.
func TestDockerfilesGenerated(t *testing.T) {
	for _, s := range fleetTable {
		var want bytes.Buffer
		if err := renderDockerfile(&want, s); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "..", "servers", s.name, "Dockerfile")
		if *update {
			if err := os.WriteFile(path, want.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (run make dockerfiles)", err)
			continue
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s is not what the template gives; run make dockerfiles", path)
		}
	}
}
