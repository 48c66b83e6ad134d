//go:build !unix

package testnet

import (
	"errors"
	"syscall"
)

var errNoUnix = errors.New("testnet: running node processes needs a Unix system")

func processAlive(int, string) bool         { return false }
func terminate(int) error                   { return errNoUnix }
func kill(int) error                        { return errNoUnix }
func sysProcAttr(bool) *syscall.SysProcAttr { return nil }
