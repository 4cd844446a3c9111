//go:build !unix

package loadgen

import "time"

// ProcessCPU is the process's CPU time where the platform reports it; zero
// here, so cpu-us/call reads 0.
func ProcessCPU() time.Duration { return 0 }
