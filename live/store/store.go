package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Errors callers may check with errors.Is.
var (
	// ErrNotFound is a height or key the store does not hold.
	ErrNotFound = errors.New("store: not found")
	// ErrGap is an Append that is not at the next height: the chain is
	// stored without holes, so that a replay never skips a block.
	ErrGap = errors.New("store: append not at the next height")
	// ErrConflict is an Append of a different record at a height already
	// stored: a committed block never changes.
	ErrConflict = errors.New("store: a different record is stored at that height")
	// ErrIdentity is SetIdentity on a store made for another network.
	ErrIdentity = errors.New("store: data belongs to another network")
	// ErrClosed is any call after Close.
	ErrClosed = errors.New("store: closed")
)

var (
	bucketChain = []byte("chain") // height (8 bytes, big-endian) → record
	bucketMeta  = []byte("meta")
	keyIdentity = []byte("identity")
	keySigned   = []byte("signed") // height (8) ‖ round (4), big-endian
)

// Options tune Open; the zero value is the durable default.
type Options struct {
	// ReadOnly opens the file with a shared lock, so that tools (a report,
	// a test checking what a killed node kept) can read a store no process
	// is writing. Writes then fail.
	ReadOnly bool
	// LockTimeout bounds the wait for the file lock when another process
	// holds it; 0 means 2 s. A node that finds its data dir locked is a
	// second copy of a running node, and must not start.
	LockTimeout time.Duration
}

// Store is one node's database. Its methods are safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string

	mu     sync.Mutex
	height uint64 // highest stored height, 0 when empty
	closed bool
}

// Open opens the store at path, creating it (not its directory) if needed.
func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 2 * time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, ReadOnly: opts.ReadOnly,
		// The map freelist keeps appends cheap as the file grows; the
		// array one scans on every allocation.
		FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("store: opening %s: another process holds it (a node already running on this data dir?): %w", path, err)
		}
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if !opts.ReadOnly {
		err = db.Update(func(tx *bolt.Tx) error {
			for _, b := range [][]byte{bucketChain, bucketMeta} {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("store: initializing %s: %w", path, err)
		}
	}
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChain)
		if b == nil {
			return nil // a read-only open of a store never written
		}
		k, _ := b.Cursor().Last()
		if k != nil {
			if len(k) != 8 {
				return fmt.Errorf("store: %s: malformed height key %x", path, k)
			}
			s.height = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Path is the file the store lives in.
func (s *Store) Path() string { return s.path }

// Close closes the file; later calls fail with ErrClosed. Closing twice is
// not an error.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: closing %s: %w", s.path, err)
	}
	return nil
}

func heightKey(h uint64) []byte { return binary.BigEndian.AppendUint64(nil, h) }

// Height is the highest height stored (0 when empty). Heights 1…Height
// are all present.
func (s *Store) Height() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.height
}

// Append stores rec as the record of height, which must be Height()+1
// (ErrGap otherwise). Appending the same bytes at a stored height again is
// a no-op, and different bytes fail with ErrConflict, so a caller that is
// unsure whether a write landed may simply repeat it. The record is on
// disk (fsynced) when Append returns nil; the store keeps no reference to
// rec.
func (s *Store) Append(height uint64, rec []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if height == 0 || height > s.height+1 {
		return fmt.Errorf("%w: height %d, stored up to %d", ErrGap, height, s.height)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChain)
		if old := b.Get(heightKey(height)); old != nil {
			if bytes.Equal(old, rec) {
				return nil
			}
			return fmt.Errorf("%w: height %d", ErrConflict, height)
		}
		return b.Put(heightKey(height), rec)
	})
	if err != nil {
		return fmt.Errorf("store: appending height %d to %s: %w", height, s.path, err)
	}
	s.height = max(s.height, height)
	return nil
}

// Get returns a copy of the record at height, or ErrNotFound.
func (s *Store) Get(height uint64) ([]byte, error) {
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChain)
		if b == nil {
			return ErrNotFound
		}
		v := b.Get(heightKey(height))
		if v == nil {
			return ErrNotFound
		}
		out = bytes.Clone(v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: height %d: %w", height, err)
	}
	return out, nil
}

// Range calls fn for every stored height from..to (inclusive), in order,
// and stops at the first error fn returns, which Range returns. rec is
// valid only during the call (it points into the memory-mapped file);
// fn must copy what it keeps, and must not call the Store.
func (s *Store) Range(from, to uint64, fn func(height uint64, rec []byte) error) error {
	return s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChain)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(heightKey(from)); k != nil; k, v = c.Next() {
			h := binary.BigEndian.Uint64(k)
			if h > to {
				break
			}
			if err := fn(h, v); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	// bbolt serializes Close against open transactions itself.
	return s.db.View(fn)
}

// SetIdentity binds the store to a network: the first call records id,
// later calls (after restarts) must pass the same bytes, or fail with
// ErrIdentity, so a node never replays another network's blocks into its
// ledger.
func (s *Store) SetIdentity(id []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		old := b.Get(keyIdentity)
		switch {
		case old == nil:
			return b.Put(keyIdentity, id)
		case !bytes.Equal(old, id):
			return fmt.Errorf("%w: %s was made for network %x, not %x", ErrIdentity, s.path, old, id)
		}
		return nil
	})
}

// Signed returns the height and round of the last message the node
// signed, as SetSigned recorded it (zeros if never).
func (s *Store) Signed() (height uint64, round uint32, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if b == nil {
			return nil
		}
		if v := b.Get(keySigned); len(v) == 12 {
			height, round = binary.BigEndian.Uint64(v), binary.BigEndian.Uint32(v[8:])
		}
		return nil
	})
	return height, round, err
}

// SetSigned records that the node signed a message at (height, round).
// It is durable when it returns, so call it before the message leaves:
// after a crash, Signed tells the node which rounds it may already have
// voted in.
func (s *Store) SetSigned(height uint64, round uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	v := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, height), round)
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySigned, v) }); err != nil {
		return fmt.Errorf("store: recording the last signed round in %s: %w", s.path, err)
	}
	return nil
}
