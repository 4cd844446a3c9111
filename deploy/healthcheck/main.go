// Command healthcheck is the container health probe: distroless images
// have no shell or curl, so the image carries this small static binary and
// the Docker HEALTHCHECK and the ECS task definition run it.
//
//	healthcheck [URL]   (default http://127.0.0.1:8080/readyz)
//
// It exits 0 when URL answers 200 within two seconds, else 1.
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	url := "http://127.0.0.1:8080/readyz"
	if len(os.Args) > 1 {
		url = os.Args[1]
	}
	if err := probe(url, 2*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

// probe returns nil when url answers 200 within timeout.
func probe(url string, timeout time.Duration) error {
	client := &http.Client{Timeout: timeout}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	return nil
}
