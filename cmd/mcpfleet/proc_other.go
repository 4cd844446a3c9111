//go:build !linux

package main

import "syscall"

// childAttrs: outside Linux there is no parent-death signal; up stops its
// children itself on SIGINT and SIGTERM.
func childAttrs() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
