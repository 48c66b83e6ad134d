package store_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/dais-sim/dais/live/store"
)

func open(t *testing.T, path string) *store.Store {
	t.Helper()
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func rec(h uint64) []byte { return []byte(fmt.Sprintf("block %d", h)) }

func TestAppendInOrderAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.db")
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Height() != 0 {
		t.Fatalf("empty store at height %d", s.Height())
	}
	for h := uint64(1); h <= 300; h++ {
		if err := s.Append(h, rec(h)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(302, rec(302)); !errors.Is(err, store.ErrGap) {
		t.Errorf("append past the next height: %v, want ErrGap", err)
	}
	if err := s.Append(0, rec(0)); !errors.Is(err, store.ErrGap) {
		t.Errorf("append at height 0: %v, want ErrGap", err)
	}
	if err := s.Append(7, rec(7)); err != nil {
		t.Errorf("repeating a write: %v, want nil", err)
	}
	if err := s.Append(7, []byte("another block")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("rewriting a height: %v, want ErrConflict", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(301, rec(301)); !errors.Is(err, store.ErrClosed) {
		t.Errorf("append after Close: %v, want ErrClosed", err)
	}

	s = open(t, path)
	if s.Height() != 300 {
		t.Fatalf("reopened at height %d, want 300", s.Height())
	}
	// Heights past 255 sort after 255 only with big-endian keys.
	var got []uint64
	err = s.Range(250, 260, func(h uint64, r []byte) error {
		if !bytes.Equal(r, rec(h)) {
			t.Errorf("height %d holds %q", h, r)
		}
		got = append(got, h)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 11 || got[0] != 250 || got[10] != 260 {
		t.Errorf("Range(250, 260) visited %v", got)
	}
	if r, err := s.Get(256); err != nil || !bytes.Equal(r, rec(256)) {
		t.Errorf("Get(256) = %q, %v", r, err)
	}
	if _, err := s.Get(301); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(301) = %v, want ErrNotFound", err)
	}
	stop := errors.New("stop")
	n := 0
	if err := s.Range(1, 300, func(uint64, []byte) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("Range returned %v after %d calls; want fn's error after 1", err, n)
	}
}

func TestIdentityAndSigned(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.db")
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if h, r, err := s.Signed(); h != 0 || r != 0 || err != nil {
		t.Errorf("fresh Signed() = %d, %d, %v", h, r, err)
	}
	if err := s.SetIdentity([]byte("net-a")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSigned(12, 3); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	if err := s.SetIdentity([]byte("net-a")); err != nil {
		t.Errorf("same identity after reopening: %v", err)
	}
	if err := s.SetIdentity([]byte("net-b")); !errors.Is(err, store.ErrIdentity) {
		t.Errorf("another network's identity: %v, want ErrIdentity", err)
	}
	if h, r, err := s.Signed(); h != 12 || r != 3 || err != nil {
		t.Errorf("Signed() = %d, %d, %v; want 12, 3", h, r, err)
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.db")
	open(t, path)
	start := time.Now()
	if _, err := store.Open(path, store.Options{LockTimeout: 100 * time.Millisecond}); err == nil {
		t.Fatal("a second Open of a store in use succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the refused Open took %v", d)
	}
}

// crashWriterEnv makes the test binary a writer that appends heights and
// prints each one once Append has returned, until it is killed.
const crashWriterEnv = "DAIS_STORE_CRASH_WRITER"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashWriterEnv); path != "" {
		s, err := store.Open(path, store.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		for h := s.Height() + 1; ; h++ {
			if err := s.Append(h, rec(h)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
			fmt.Println(h)
		}
	}
	os.Exit(m.Run())
}

// TestNothingAcknowledgedIsLostToSIGKILL kills a process that is appending,
// at a moment it does not choose, and checks that every height it
// reported written is in the file, intact, with no hole below it.
func TestNothingAcknowledgedIsLostToSIGKILL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.db")
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashWriterEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var acked uint64
		for sc.Scan() {
			h, err := strconv.ParseUint(sc.Text(), 10, 64)
			if err != nil {
				t.Fatalf("writer printed %q", sc.Text())
			}
			acked = h
			if acked >= uint64(20*(round+1)) {
				break
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		if acked == 0 {
			t.Fatalf("round %d: the writer acknowledged nothing; stderr: %s", round, stderr.String())
		}
		s, err := store.Open(path, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if s.Height() < acked {
			t.Errorf("round %d: writer acknowledged height %d, the store holds up to %d", round, acked, s.Height())
		}
		var next uint64 = 1
		err = s.Range(1, s.Height(), func(h uint64, r []byte) error {
			if h != next || !bytes.Equal(r, rec(h)) {
				return fmt.Errorf("height %d (expected %d) holds %q", h, next, r)
			}
			next++
			return nil
		})
		if err != nil {
			t.Errorf("round %d: %v", round, err)
		}
		s.Close()
	}
}
