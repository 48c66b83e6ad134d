package testnet

import "syscall"

// sysProcAttr puts a node in its own session, so that a Ctrl-C in the
// terminal that started the testnet does not reach it, and with
// dieWithParent has the kernel kill it when its parent dies.
func sysProcAttr(dieWithParent bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setsid: true}
	if dieWithParent {
		a.Pdeathsig = syscall.SIGKILL
	}
	return a
}
