//go:build unix && !linux

package testnet

import "syscall"

// sysProcAttr puts a node in its own session, so that a Ctrl-C in the
// terminal that started the testnet does not reach it. These systems have
// no parent-death signal; dieWithParent is ignored.
func sysProcAttr(bool) *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
