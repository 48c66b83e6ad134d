// Package store is a live node's embedded database, one bbolt file per node:
// the committed chain, one record per height (what the node needs to
// replay the block after a restart: the engine's commit message, the block
// with the signatures that made it final), the identity of the network the
// data belongs to, and the height and round of the last message the node
// signed (so that a restarted validator never signs twice in one round).
//
//	s, err := store.Open(filepath.Join(dataDir, "chain.db"), store.Options{})
//	err = s.Append(s.Height()+1, rec) // durable (fsynced) when it returns
//	err = s.Range(1, s.Height(), func(h uint64, rec []byte) error { ... })
//	defer s.Close()
//
// Every write is one bbolt transaction, durable when it returns: a node
// that writes a block before it acts on it loses nothing to a SIGKILL. A
// Store is safe for concurrent use; bbolt's file lock keeps a second
// process (or a second Open) from writing the same file.
package store
