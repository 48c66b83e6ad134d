package testnet

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dais-sim/dais/protocol"
)

// Logs writes the logs of the given nodes (all if none is named) to w,
// each line prefixed with its node when there are several. With follow
// it then goes on writing lines as they are appended (a node's log is
// reopened if it is replaced, as after a data dir reset) until ctx ends.
func (t *Testnet) Logs(ctx context.Context, w io.Writer, follow bool, ids ...protocol.NodeID) error {
	if len(ids) == 0 {
		ids = t.IDs()
	}
	tails := make([]*logTail, len(ids))
	for i, id := range ids {
		if !t.has(id) {
			return fmt.Errorf("%w: no node %d (nodes 0…%d)", ErrOptions, id, len(t.Network.Nodes)-1)
		}
		tails[i] = &logTail{path: t.LogPath(id)}
		if len(ids) > 1 {
			tails[i].prefix = fmt.Sprintf("node-%d | ", id)
		}
	}
	defer func() {
		for _, lt := range tails {
			lt.close()
		}
	}()
	for {
		for _, lt := range tails {
			if err := lt.copy(w); err != nil {
				return err
			}
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// logTail reads a growing file from where it left off, whole lines only.
type logTail struct {
	path, prefix string
	f            *os.File
	off          int64
	partial      []byte
}

func (lt *logTail) copy(w io.Writer) error {
	if lt.f != nil {
		// A file shorter than what was read was replaced: start over.
		if fi, err := os.Stat(lt.path); err != nil || fi.Size() < lt.off {
			lt.close()
		}
	}
	if lt.f == nil {
		f, err := os.Open(lt.path)
		if err != nil {
			return nil // not written yet
		}
		lt.f, lt.off, lt.partial = f, 0, nil
	}
	r := bufio.NewReader(io.NewSectionReader(lt.f, lt.off, 1<<62))
	bw := bufio.NewWriter(w)
	for {
		line, err := r.ReadBytes('\n')
		lt.off += int64(len(line))
		if err != nil {
			lt.partial = append(lt.partial, line...)
			break
		}
		if len(lt.partial) > 0 {
			line = append(lt.partial, line...)
			lt.partial = nil
		}
		if _, err := fmt.Fprintf(bw, "%s%s\n", lt.prefix, bytes.TrimRight(line, "\n")); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func (lt *logTail) close() {
	if lt.f != nil {
		lt.f.Close()
		lt.f = nil
	}
}
