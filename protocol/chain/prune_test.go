package chain

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

const window = 4 // the dispute window of pruneNet, in blocks

// pruneNet is settlerNet with a 4-block dispute window and a judge that
// holds a slash's evidence — the job (16 bytes), the unit (4) and any tail
// that makes it unique — to the offender's commitment on its replica.
func pruneNet(t *testing.T) *net {
	var n *net
	replica := 0
	n = newNet(t, 4, 2, func(c *Config) {
		c.Settler = AddressOf(KeyFor(testSeed, 3))
		c.Params.DisputeBlocks = window
		me := replica
		replica++
		c.VerifyEvidence = func(offender Address, ev []byte) error {
			var j JobID
			copy(j[:], ev)
			_, err := n.ledgers[me].FindCommitment(j, binary.BigEndian.Uint32(ev[16:]), offender)
			return err
		}
	})
	return n
}

func evidenceFor(job JobID, unit uint32, tail byte) []byte {
	return append(binary.BigEndian.AppendUint32(job[:], unit), tail)
}

// A settled job's record and commitments are pruned exactly the window
// after the block that settled it, and kept however long the job stays
// open; a slash naming a pruned commitment is refused. The net's step
// holds every block's incremental root to the recomputed one and the
// replicas to one another.
func TestPruneSettledJob(t *testing.T) {
	n := pruneNet(t)
	l := n.ledgers[0]
	id := postJob(t, n, 1_000_000)
	mustAdd(t, n, n.sign(1, NewResultCommit(n.nonce(1), fee, id, 0, Hash{7})))
	n.step(2)
	for range 3 * window { // open: nothing goes
		n.step(2)
	}
	if _, ok := l.Commitment(id, 0, n.addrs[1]); !ok {
		t.Fatalf("the commitment of an open job was pruned after %d blocks", 3*window)
	}
	// A slash inside the window stands.
	mustAdd(t, n, n.sign(3, NewSlash(n.nonce(3), fee, n.addrs[1], evidenceFor(id, 0, 1))))
	mustAdd(t, n, n.sign(3, NewSettle(n.nonce(3), fee, Release{Job: id, Close: true})))
	// A commitment made after its job closed goes with the job.
	mustAdd(t, n, n.sign(2, NewResultCommit(n.nonce(2), fee, id, 1, Hash{8})))
	n.step(2)
	settled := l.Height()
	for l.Height() < settled+window-1 {
		n.step(2)
		if _, ok := l.Job(id); !ok {
			t.Fatalf("job pruned at height %d, settled at %d with a %d-block window", l.Height(), settled, window)
		}
	}
	if _, ok := l.Commitment(id, 1, n.addrs[2]); !ok {
		t.Fatal("the commitment made after the job closed is missing")
	}
	n.step(2) // settled + window
	if _, ok := l.Job(id); ok {
		t.Fatalf("job kept at height %d, settled at %d with a %d-block window", l.Height(), settled, window)
	}
	for _, c := range []struct {
		unit uint32
		who  int
	}{{0, 1}, {1, 2}} {
		if _, ok := l.Commitment(id, c.unit, n.addrs[c.who]); ok {
			t.Errorf("the commitment of unit %d outlived its job", c.unit)
		}
	}
	for i, r := range n.ledgers {
		if _, marked := r.base.jobs[id]; marked {
			t.Errorf("replica %d's committed state keeps a mark for the pruned job", i)
		}
		if _, marked := r.base.commits[id]; marked {
			t.Errorf("replica %d's committed state keeps the pruned job's commitments", i)
		}
	}
	err := l.AddTx(n.sign(3, NewSlash(n.nonce(3), fee, n.addrs[1], evidenceFor(id, 0, 2))))
	if !errors.Is(err, ErrBadEvidence) || !strings.Contains(err.Error(), "past the dispute window") {
		t.Errorf("a slash naming a pruned commitment: %v, want ErrBadEvidence past the dispute window", err)
	}
	// Unknown to the ledger now, the job takes no more commitments.
	if err := l.AddTx(n.sign(1, NewResultCommit(n.nonce(1), fee, id, 2, Hash{9}))); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("a commitment to a pruned job: %v, want ErrUnknownJob", err)
	}
}

// A result root is pruned exactly the window after the block that
// recorded it: the mark of a pruned record in a pending block's layer
// hides it from the blocks built above, and reaches the committed state
// as a deletion.
func TestPruneResultRootAcrossPendingBlocks(t *testing.T) {
	n := pruneNet(t)
	l0, l1 := n.ledgers[0], n.ledgers[1]
	root := Hash{1, 2, 3}
	mustAdd(t, n, n.sign(3, NewResultRoot(n.nonce(3), fee, root, 5)))
	n.step(2)
	recorded := l0.Height()
	for l0.Height() < recorded+window-1 {
		n.step(2)
	}
	if _, err := l0.FindResultRoot(root); err != nil {
		t.Fatalf("root pruned early, at height %d: %v", l0.Height(), err)
	}
	// Blocks at recorded+window (which prunes) and the one above it, made
	// before either commits: the block above sees the root gone.
	h := l0.Height() + 1
	rawA, a := l0.MakeBlock(h, l0.Tip(), 2, n.now)
	if _, ok := l0.views[a].st.child().resultRoot(root); ok {
		t.Fatal("a layer above the pruning block still sees the root")
	}
	rawB, b := l0.MakeBlock(h+1, a, 2, n.now)
	for _, blk := range []struct {
		h    uint64
		raw  []byte
		hash Hash
	}{{h, rawA, a}, {h + 1, rawB, b}} {
		if got, err := l1.CheckBlock(blk.h, l1.Tip(), blk.raw); err != nil || got != blk.hash {
			t.Fatalf("replica 1 rejects block %d: %v", blk.h, err)
		}
		for _, l := range n.ledgers {
			l.Commit(blk.h, blk.raw, blk.hash, n.now)
		}
		if l0.StateRoot() != l1.StateRoot() || l0.StateRoot() != l0.RecomputeStateRoot() {
			t.Fatalf("at height %d the replicas disagree, or the root is not the recomputed one", blk.h)
		}
	}
	_, err := l0.FindResultRoot(root)
	if err == nil || !strings.Contains(err.Error(), "past the dispute window") {
		t.Errorf("the pruned root: %v, want past the dispute window", err)
	}
	if _, marked := l0.base.roots[root]; marked {
		t.Error("the committed state keeps a mark for the pruned root")
	}
	// Pruned, the root is a new record again.
	mustAdd(t, n, n.sign(3, NewResultRoot(n.nonce(3), fee, root, 5)))
	n.step(2)
	if r, err := l0.FindResultRoot(root); err != nil || r.Height != l0.Height() {
		t.Errorf("the re-recorded root: %+v, %v; want it recorded at %d", r, err, l0.Height())
	}
}

// A settled job with model versions keeps its record (its uses pay its
// poster) and its commitments (its lineage).
func TestPruneKeepsJobsWithVersions(t *testing.T) {
	n := pruneNet(t)
	l := n.ledgers[0]
	id := postJob(t, n, 1000)
	mustAdd(t, n, n.sign(3, NewResultCommit(n.nonce(3), fee, id, 0, Hash{7})))
	mustAdd(t, n, n.sign(3, NewVersionCommit(n.nonce(3), fee, VersionCommit{Job: id, Version: Hash{7}, Access: AccessPaid, Price: 10})))
	mustAdd(t, n, n.sign(3, NewSettle(n.nonce(3), fee, Release{Job: id, Close: true})))
	n.step(2)
	for range 2 * window {
		n.step(2)
	}
	if _, ok := l.Job(id); !ok {
		t.Fatal("a job with versions was pruned")
	}
	if _, ok := l.Commitment(id, 0, n.addrs[3]); !ok {
		t.Fatal("a job with versions lost its commitment")
	}
	poster := l.Account(n.addrs[0]).Balance
	mustAdd(t, n, n.sign(1, NewUse(n.nonce(1), fee, id, Hash{7})))
	n.step(2)
	if got := l.Account(n.addrs[0]).Balance - poster; got != 10 {
		t.Errorf("the poster got %d for a use of the settled job's version, want 10", got)
	}
}

// With no window nothing is pruned.
func TestPruneOff(t *testing.T) {
	n := newNet(t, 4, 2, func(c *Config) {
		c.Settler = AddressOf(KeyFor(testSeed, 3))
		c.Params.DisputeBlocks = 0
	})
	l := n.ledgers[0]
	id := postJob(t, n, 1000)
	mustAdd(t, n, n.sign(3, NewResultRoot(n.nonce(3), fee, Hash{4}, 1)))
	mustAdd(t, n, n.sign(3, NewSettle(n.nonce(3), fee, Release{Job: id, Close: true})))
	n.step(2)
	for range 3 * window {
		n.step(2)
	}
	if _, ok := l.Job(id); !ok {
		t.Error("job pruned with DisputeBlocks 0")
	}
	if _, ok := l.ResultRoot(Hash{4}); !ok {
		t.Error("result root pruned with DisputeBlocks 0")
	}
	if len(l.base.expiry) != 0 {
		t.Errorf("%d expiry batches with DisputeBlocks 0", len(l.base.expiry))
	}
}
