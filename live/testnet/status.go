package testnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/protocol"
)

// NodeStatus is what a testnet knows of one node.
type NodeStatus struct {
	ID   protocol.NodeID `json:"id"`
	Role string          `json:"role"`
	// PID is the node's process, 0 when it is not running.
	PID int `json:"pid"`
	// Addr is the host:port of its /status and /metrics.
	Addr string `json:"addr,omitempty"`
	// Status is the node's /status; nil when it did not answer, and Err
	// says why.
	Status *node.Status `json:"status,omitempty"`
	Err    string       `json:"error,omitempty"`
}

// StatusAddr returns the host:port node id's status server listens on,
// from the status.addr file it writes when it starts.
func (t *Testnet) StatusAddr(id protocol.NodeID) (string, error) {
	b, err := os.ReadFile(filepath.Join(t.DataDir(id), node.StatusFile))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

var client = &http.Client{Timeout: 3 * time.Second}

// Status asks every node for its /status, concurrently.
func (t *Testnet) Status(ctx context.Context) []NodeStatus {
	running := t.Running()
	out := make([]NodeStatus, len(t.Network.Nodes))
	var wg sync.WaitGroup
	for i, m := range t.Network.Nodes {
		out[i] = NodeStatus{ID: m.ID, Role: m.Role, PID: running[m.ID]}
		if out[i].PID == 0 {
			out[i].Err = "not running"
			continue
		}
		wg.Add(1)
		go func(ns *NodeStatus) {
			defer wg.Done()
			addr, err := t.StatusAddr(ns.ID)
			if err != nil {
				ns.Err = "no status address yet"
				return
			}
			ns.Addr = addr
			var st node.Status
			if err := getJSON(ctx, "http://"+addr+"/status", &st); err != nil {
				ns.Err = err.Error()
				return
			}
			ns.Status = &st
		}(&out[i])
	}
	wg.Wait()
	return out
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// ErrNotReady is WaitReady giving up.
var ErrNotReady = errors.New("testnet: nodes not ready")

// WaitReady waits until every named node (all if none is named) answers
// /status as ready (its store replayed), or ctx ends. A node whose process has exited fails at once,
// with the end of its output, which says why.
func (t *Testnet) WaitReady(ctx context.Context, ids ...protocol.NodeID) error {
	if len(ids) == 0 {
		ids = t.IDs()
	}
	for {
		var waiting []protocol.NodeID
		sts := t.Status(ctx)
		for _, id := range ids {
			ns := sts[id]
			if ns.PID == 0 {
				return fmt.Errorf("%w: node %d is not running; %s ends with:\n%s", ErrNotReady, id, t.OutputPath(id), tail(t.OutputPath(id), 2048))
			}
			if ns.Status == nil || !ns.Status.Ready {
				waiting = append(waiting, id)
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: nodes %v were not ready: %w", ErrNotReady, waiting, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tail returns the last n bytes of a file, for error messages.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	off := max(fi.Size()-n, 0)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil {
		return err.Error()
	}
	return string(b)
}
