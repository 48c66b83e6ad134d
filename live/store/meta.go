package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// appPrefix keeps the keys of PutMeta apart from the store's own.
const appPrefix = "app/"

// PutMeta records val under key for a protocol that runs beside the chain
// (a federated-learning coordinator's last committed model), replacing
// what was there. It is durable when it returns.
func (s *Store) PutMeta(key string, val []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put([]byte(appPrefix+key), val) }); err != nil {
		return fmt.Errorf("store: recording %s in %s: %w", key, s.path, err)
	}
	return nil
}

// Meta returns a copy of what PutMeta last recorded under key, or
// ErrNotFound.
func (s *Store) Meta(key string) ([]byte, error) {
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get([]byte(appPrefix + key)); v != nil {
			out = append([]byte{}, v...)
		}
		return nil
	})
	if err == nil && out == nil {
		err = fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return out, err
}
