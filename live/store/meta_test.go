package store_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/dais-sim/dais/live/store"
)

func TestMetaSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.db")
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Meta("learn"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Meta of an empty store: %v, want ErrNotFound", err)
	}
	if err := s.SetIdentity([]byte("net")); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"one", "two"} {
		if err := s.PutMeta("learn", []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	// A key named like the store's own is kept apart from them.
	if err := s.PutMeta("identity", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	if v, err := s.Meta("learn"); err != nil || string(v) != "two" {
		t.Fatalf("Meta after reopen: %q, %v; want the last value", v, err)
	}
	if err := s.SetIdentity([]byte("net")); err != nil {
		t.Fatalf("PutMeta(identity) touched the store's identity: %v", err)
	}
}
