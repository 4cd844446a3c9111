package main

import "syscall"

// childAttrs makes the kernel send SIGTERM to a server if mcpfleet itself
// dies without stopping it (SIGKILL), so no orphan keeps the port.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
