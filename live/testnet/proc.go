package testnet

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dais-sim/dais/protocol"
)

// Launcher says how to start a node process.
type Launcher struct {
	// Command starts one node when "--config FILE" is appended; nil means
	// this executable's "node" command (dais node).
	Command []string
	// Env is added to the process's environment.
	Env []string
	// DieWithParent has the OS kill the nodes when the process that
	// started them dies (Linux; elsewhere it is ignored). Tests set it, so
	// that one that panics or times out leaves no node behind; dais
	// testnet up does not, since its nodes must outlive it.
	DieWithParent bool
}

func (l Launcher) command() ([]string, error) {
	if len(l.Command) > 0 {
		return l.Command, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("testnet: finding the dais executable: %w", err)
	}
	return []string{exe, "node"}, nil
}

// Start starts the given nodes (all of them if none is named), each as
// its own process in its own session, with stdout and stderr appended to
// its output.log and its pid in its pid file. It fails with ErrRunning,
// starting nothing, if one of them runs already. It does not wait for the
// nodes to be ready: WaitReady does.
func (t *Testnet) Start(l Launcher, ids ...protocol.NodeID) error {
	if len(ids) == 0 {
		ids = t.IDs()
	}
	running := t.Running()
	var busy []string
	for _, id := range ids {
		if !t.has(id) {
			return fmt.Errorf("%w: no node %d (nodes 0…%d)", ErrOptions, id, len(t.Network.Nodes)-1)
		}
		if pid, ok := running[id]; ok {
			busy = append(busy, fmt.Sprintf("node %d (pid %d)", id, pid))
		}
	}
	if len(busy) > 0 {
		return fmt.Errorf("%w: %s", ErrRunning, strings.Join(busy, ", "))
	}
	argv, err := l.command()
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := t.start(argv, l, id); err != nil {
			return err
		}
	}
	return nil
}

func (t *Testnet) start(argv []string, l Launcher, id protocol.NodeID) error {
	cfg, err := filepath.Abs(t.ConfigPath(id))
	if err != nil {
		return err
	}
	out, err := os.OpenFile(t.OutputPath(id), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("testnet: node %d: %w", id, err)
	}
	defer out.Close() // the child has its own descriptor
	cmd := exec.Command(argv[0], append(slices.Clone(argv[1:]), "--config", cfg)...)
	cmd.Env = append(os.Environ(), l.Env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr(l.DieWithParent)
	// Start and reap the child on a goroutine locked to its OS thread
	// until the child exits: the kernel sends a parent-death signal when
	// the thread that forked the child ends, not the process (golang/go
	// #27505), and the Go runtime ends a thread whenever a goroutine exits
	// locked to it — any goroutine, in any library, that could later run
	// on an unlocked forking thread. Reaping goes on for as long as this
	// process lives; after that the init process reaps.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		err := cmd.Wait()
		// Say how it ended, where its panic would be: "signal: killed"
		// from a SIGKILL (ours, the OOM killer's) leaves no other trace.
		if f, ferr := os.OpenFile(t.OutputPath(id), os.O_WRONLY|os.O_APPEND, 0); ferr == nil {
			fmt.Fprintf(f, "testnet: node %d (pid %d) ended: %v\n", id, cmd.Process.Pid, cmp.Or(err, error(errExited)))
			f.Close()
		}
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("testnet: starting node %d: %w", id, err)
	}
	if err := os.WriteFile(t.pidPath(id), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		cmd.Process.Kill()
		return fmt.Errorf("testnet: node %d: writing its pid: %w", id, err)
	}
	return nil
}

// errExited is how a node that exited with status 0 ended.
var errExited = errors.New("exit status 0")

// Running returns the pid of every node whose process is alive: its pid
// file names a live process that, where /proc tells, runs that node's
// config (so a pid reused by another program is not taken for a node).
func (t *Testnet) Running() map[protocol.NodeID]int {
	out := map[protocol.NodeID]int{}
	for _, id := range t.IDs() {
		if pid, ok := t.alive(id); ok {
			out[id] = pid
		}
	}
	return out
}

func (t *Testnet) alive(id protocol.NodeID) (int, bool) {
	b, err := os.ReadFile(t.pidPath(id))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	cfg, err := filepath.Abs(t.ConfigPath(id))
	if err != nil {
		return 0, false
	}
	return pid, processAlive(pid, cfg)
}

// Kill sends SIGKILL to a node, as a crash would, and waits (up to 5 s)
// for it to be gone.
func (t *Testnet) Kill(id protocol.NodeID) error {
	pid, ok := t.alive(id)
	if !ok {
		return fmt.Errorf("testnet: node %d is not running", id)
	}
	if err := kill(pid); err != nil {
		return fmt.Errorf("testnet: killing node %d (pid %d): %w", id, pid, err)
	}
	if !t.waitGone(5*time.Second, id) {
		return fmt.Errorf("testnet: node %d (pid %d) still runs after SIGKILL", id, pid)
	}
	return nil
}

// Stop asks every running node to stop (SIGTERM: a graceful shutdown),
// waits up to timeout, then kills those still running (SIGKILL). Pid files
// of stopped nodes are removed.
func (t *Testnet) Stop(timeout time.Duration) error {
	running := t.Running()
	ids := make([]protocol.NodeID, 0, len(running))
	for id, pid := range running {
		ids = append(ids, id)
		terminate(pid)
	}
	slices.Sort(ids)
	var errs []error
	if !t.waitGone(timeout, ids...) {
		for _, id := range ids {
			if pid, ok := t.alive(id); ok {
				kill(pid)
			}
		}
		if !t.waitGone(5*time.Second, ids...) {
			for _, id := range ids {
				if pid, ok := t.alive(id); ok {
					errs = append(errs, fmt.Errorf("testnet: node %d (pid %d) still runs after SIGKILL", id, pid))
				}
			}
		}
	}
	for _, id := range t.IDs() {
		if _, ok := t.alive(id); !ok {
			os.Remove(t.pidPath(id))
		}
	}
	return errors.Join(errs...)
}

// waitGone polls until none of ids runs, or timeout; it reports whether
// they all stopped.
func (t *Testnet) waitGone(timeout time.Duration, ids ...protocol.NodeID) bool {
	deadline := time.Now().Add(timeout)
	for {
		left := false
		for _, id := range ids {
			if _, ok := t.alive(id); ok {
				left = true
			}
		}
		if !left {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
