//go:build unix

package testnet

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// processAlive reports whether pid is a live process running the node
// with config file cfg. Where /proc exists it must list cfg among the
// process's arguments; a zombie has none, so it counts as gone.
func processAlive(pid int, cfg string) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		if _, statErr := os.Stat("/proc/self"); statErr == nil {
			return false // /proc works, and has no such process
		}
		return true // no /proc (macOS): trust the pid
	}
	for _, arg := range bytes.Split(cmdline, []byte{0}) {
		if string(arg) == cfg {
			return true
		}
	}
	// Between fork and exec a child still shows its parent's command
	// line, and during exec none: a node this process has just started is
	// not yet running its config, but it is not gone either. A zombie too
	// shows none; its state says which.
	if len(cmdline) == 0 {
		return !zombie(pid)
	}
	self, err := os.ReadFile("/proc/self/cmdline")
	return err == nil && bytes.Equal(cmdline, self)
}

// zombie reports whether pid has exited and awaits its parent's wait (or
// is gone): its state in /proc/pid/stat, after the command name in
// parentheses, is Z or X.
func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return true
	}
	state := stat[i+2]
	return state == 'Z' || state == 'X'
}

func terminate(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }
func kill(pid int) error      { return syscall.Kill(pid, syscall.SIGKILL) }
