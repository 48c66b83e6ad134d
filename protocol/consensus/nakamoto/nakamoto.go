package nakamoto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/wire"
)

// MaxBody bounds a block's App encoding on the wire.
const MaxBody = 64 << 20

// Block is a block announcement: the App's block and, outside it, what the
// engine routes by (the App's encoding is opaque to it).
type Block struct {
	Height uint64
	Parent consensus.Hash
	Miner  protocol.NodeID
	// Time is when the block was found.
	Time protocol.Time
	Body []byte
}

func init() {
	wire.Register(wire.KindPowBlock, "nakamoto.Block", decodeBlock)
}

// Kind implements wire.Msg.
func (*Block) Kind() wire.Kind { return wire.KindPowBlock }

// AppendBody implements wire.Msg.
func (b *Block) AppendBody(p []byte) []byte {
	p = binary.AppendUvarint(p, b.Height)
	p = consensus.AppendHash(p, b.Parent)
	p = binary.AppendUvarint(p, uint64(b.Miner))
	p = binary.AppendUvarint(p, uint64(b.Time))
	return wire.AppendBytes(p, b.Body)
}

// WireSize implements wire.Msg.
func (b *Block) WireSize() int {
	return wire.HeaderSize(wire.KindPowBlock) + wire.UvarintSize(b.Height) + consensus.HashSize(b.Parent) +
		wire.UvarintSize(uint64(b.Miner)) + wire.UvarintSize(uint64(b.Time)) + wire.BytesSize(len(b.Body))
}

func decodeBlock(body []byte) (wire.Msg, error) {
	r := wire.NewReader(body)
	b := &Block{Height: r.Uvarint()}
	parent, herr := consensus.ReadHash(r)
	miner, t := r.Uvarint(), r.Uvarint()
	b.Body = r.Bytes(MaxBody)
	if err := r.Done(); err != nil {
		return nil, err
	}
	if herr != nil {
		return nil, herr
	}
	if miner > math.MaxUint32 || t > math.MaxInt64 {
		return nil, fmt.Errorf("%w: nakamoto block field out of range", wire.ErrTooLarge)
	}
	b.Parent, b.Miner, b.Time = parent, protocol.NodeID(miner), protocol.Time(t)
	return b, nil
}

// Mined is emitted by the node that found a block.
type Mined struct {
	Height uint64
	Hash   consensus.Hash
	Parent consensus.Hash
}

// Kind implements metrics.Event.
func (Mined) Kind() string { return "nakamoto.mined" }

// Reorg is emitted when a node's tip moves to a branch that does not
// extend it: Depth blocks of its old chain left the main chain.
type Reorg struct {
	Depth  uint64
	Height uint64 // of the new tip
}

// Kind implements metrics.Event.
func (Reorg) Kind() string { return "nakamoto.reorg" }

// DeepFork is emitted when a heavier branch forks below the committed
// height: following it would roll back App.Commit, so the node stays on
// its chain. Confirmations was too small for the network.
type DeepFork struct {
	Committed uint64 // the node's committed height
	Fork      uint64 // height of the common ancestor
	Height    uint64 // of the branch's tip
}

// Kind implements metrics.Event.
func (DeepFork) Kind() string { return "nakamoto.deep_fork" }

// Config is what a node needs.
type Config struct {
	App consensus.App
	// Peers are the nodes this node announces blocks to.
	Peers []protocol.NodeID
	// Interval is the target block interval of the whole network.
	Interval protocol.Duration
	// Share is this node's share of the total hash power (or stake, for a
	// lottery); it finds blocks at rate Share/Interval. 0: it does not mine.
	Share float64
	// Confirmations is how many blocks must sit on a block before it is
	// committed.
	Confirmations int
	// NoRelay stops a node forwarding others' blocks and transactions:
	// right for a full mesh, where every block reaches every node in one hop
	// anyway and a flood would only add n² duplicates. Clients must then
	// send their transactions to every miner.
	NoRelay bool
	// Keep is how many heights below the committed one a node remembers, to
	// recognise late blocks of dead branches. 0 means 2·Confirmations + 16.
	Keep int
	// MaxOrphans bounds blocks held while their parent is fetched. 0 means
	// 256.
	MaxOrphans int
}

type entry struct {
	b      *Block
	hash   consensus.Hash
	height uint64
	parent *entry // nil for genesis and for entries at the prune boundary
}

type orphan struct {
	b    *Block
	hash consensus.Hash
	from protocol.NodeID
	// held is true for a block that waited for its parent: the App has not
	// judged it yet.
	held bool
}

// Node is a longest-chain full node, mining or not.
type Node struct {
	cfg       Config
	self      protocol.NodeID
	started   bool
	blocks    map[consensus.Hash]*entry
	tip       *entry
	committed *entry
	pruned    uint64 // heights below this are forgotten
	// orphans wait for their parent, by the parent's hash.
	orphans   map[consensus.Hash][]orphan
	orphanOf  map[consensus.Hash]consensus.Hash // orphan hash → parent hash
	nOrphans  int
	mineTimer protocol.TimerID
	mining    bool
	// levels[i] lists the hashes of the blocks at height levelBase+i.
	levels    [][]consensus.Hash
	levelBase uint64
}

// New returns a node.
func New(cfg Config) *Node {
	if cfg.Keep <= 0 {
		cfg.Keep = 2*cfg.Confirmations + 16
	}
	if cfg.MaxOrphans <= 0 {
		cfg.MaxOrphans = 256
	}
	g := &entry{}
	return &Node{cfg: cfg, blocks: map[consensus.Hash]*entry{{}: g}, tip: g, committed: g,
		orphans: map[consensus.Hash][]orphan{}, orphanOf: map[consensus.Hash]consensus.Hash{}}
}

// Tip returns the height and hash of the node's best block.
func (n *Node) Tip() (uint64, consensus.Hash) { return n.tip.height, n.tip.hash }

// Committed returns the height and hash of the last committed block.
func (n *Node) Committed() (uint64, consensus.Hash) { return n.committed.height, n.committed.hash }

// Block returns a block the node holds, by hash. A driver that stores
// what its node commits takes each block here when its Committed event is
// emitted: a commit of many heights at once (a node catching up) prunes
// the lowest of them from memory before the input ends.
func (n *Node) Block(hash consensus.Hash) (*Block, bool) {
	if e, ok := n.blocks[hash]; ok && e.b != nil {
		return e.b, true
	}
	return nil, false
}

// Restore hands the node a block it committed before a restart, so that a
// driver rebuilds the node from its store without the network: the block
// must be the child of the committed one, with nothing on top of it; the
// App checks it, and it becomes the tip and is committed at once, since it
// was final already (replaying it as a received block would leave the top
// Confirmations blocks of the store uncommitted, free to be reorganized
// away). Call it before Start, block by block in height order; blocks
// mined since come from peers as usual.
func (n *Node) Restore(env protocol.Env, b *Block) error {
	if n.tip != n.committed || b.Height != n.committed.height+1 || b.Parent != n.committed.hash {
		return fmt.Errorf("nakamoto: restoring a block of height %d: it is not the child of the committed block (height %d)",
			b.Height, n.committed.height)
	}
	hash, err := n.cfg.App.CheckBlock(b.Height, b.Parent, b.Body)
	if err != nil {
		return fmt.Errorf("nakamoto: restoring height %d: %w", b.Height, err)
	}
	e := &entry{b: b, hash: hash, height: b.Height, parent: n.committed}
	n.blocks[hash] = e
	n.index(e)
	n.tip = e
	consensus.Commit(env, n.cfg.App, consensus.Committed{Height: e.height, Hash: hash, Parent: b.Parent,
		Proposed: b.Time, Latency: env.Now().Sub(b.Time), Bytes: len(b.Body)}, b.Body)
	n.committed = e
	n.prune()
	return nil
}

// Handle implements protocol.Node.
func (n *Node) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		n.self, n.started = env.Self(), true
		n.mining = false // timers died if the node was away
		n.mine(env)
	case protocol.Recv:
		switch m := in.Msg.(type) {
		case *Block:
			n.onBlock(env, in.From, m)
		case *consensus.BlockReq:
			if e, ok := n.blocks[m.Hash]; ok && e.b != nil {
				env.Send(in.From, e.b)
			}
		default:
			n.onTx(env, in.From, m)
		}
	case protocol.TimerFired:
		if in.ID != n.mineTimer || !n.mining {
			return
		}
		n.mining = false
		body, hash := n.cfg.App.MakeBlock(n.tip.height+1, n.tip.hash, n.self, env.Now())
		b := &Block{Height: n.tip.height + 1, Parent: n.tip.hash, Miner: n.self, Time: env.Now(), Body: body}
		env.Emit(Mined{Height: b.Height, Hash: hash, Parent: b.Parent})
		n.accept(env, n.self, b, hash)
		if !n.mining {
			n.mine(env)
		}
	}
}

// mine (re)draws the time to this node's next block. The exponential is
// memoryless, so redrawing on every new tip gives the same law as keeping
// the old timer; redrawing keeps the rule simple if rates ever change.
func (n *Node) mine(env protocol.Env) {
	if n.cfg.Share <= 0 || n.cfg.Interval <= 0 || !n.started {
		return
	}
	if n.mining {
		env.CancelTimer(n.mineTimer)
	}
	mean := float64(n.cfg.Interval) / n.cfg.Share
	n.mineTimer = env.SetTimer(protocol.Duration(env.Rand().ExpFloat64()*mean), 0)
	n.mining = true
}

// onTx hands a message that is not the engine's to the App (a transaction
// for its mempool: consensus.TxSink) and floods one the App adds on to the
// peers, as blocks are flooded; the mempool, which adds a transaction
// once, ends the flood.
func (n *Node) onTx(env protocol.Env, from protocol.NodeID, m wire.Msg) {
	if !consensus.OfferTx(env, n.cfg.App, m) || n.cfg.NoRelay {
		return
	}
	for _, p := range n.cfg.Peers {
		if p != from && p != n.self {
			env.Send(p, m)
		}
	}
}

func (n *Node) onBlock(env protocol.Env, from protocol.NodeID, b *Block) {
	if b.Height == 0 || b.Height <= n.pruned {
		return
	}
	hash, err := n.cfg.App.CheckBlock(b.Height, b.Parent, b.Body)
	_, parentKnown := n.blocks[b.Parent]
	// An App that replays blocks on their parent's state cannot judge one
	// whose parent it has not seen: such a block is held, and judged when
	// the parent is accepted. One the App rejects outright is dropped.
	if err != nil && (parentKnown || !errors.Is(err, consensus.ErrUnknownParent)) {
		return
	}
	if _, dup := n.blocks[hash]; dup {
		return
	}
	if _, dup := n.orphanOf[hash]; dup {
		return
	}
	if !parentKnown {
		n.hold(env, from, b, hash)
		return
	}
	n.accept(env, from, b, hash)
}

// hold keeps a block whose parent is unknown and asks the sender for the
// oldest missing ancestor.
func (n *Node) hold(env protocol.Env, from protocol.NodeID, b *Block, hash consensus.Hash) {
	if n.nOrphans >= n.cfg.MaxOrphans {
		return
	}
	n.orphans[b.Parent] = append(n.orphans[b.Parent], orphan{b, hash, from, true})
	n.orphanOf[hash] = b.Parent
	n.nOrphans++
	missing := b.Parent
	for {
		p, ok := n.orphanOf[missing]
		if !ok {
			break
		}
		missing = p
	}
	env.Send(from, &consensus.BlockReq{Hash: missing})
}

// accept adds a checked block whose parent is known, relays it, then the
// orphans that were waiting on it (checked now that their parent is
// known), and moves the tip if the chain got longer.
func (n *Node) accept(env protocol.Env, from protocol.NodeID, b *Block, hash consensus.Hash) {
	queue := []orphan{{b, hash, from, false}}
	best := n.tip
	for len(queue) > 0 {
		o := queue[0]
		queue = queue[1:]
		parent := n.blocks[o.b.Parent]
		if parent == nil || parent.height+1 != o.b.Height {
			n.dropOrphans(o.hash)
			continue
		}
		if o.held {
			if h, err := n.cfg.App.CheckBlock(o.b.Height, o.b.Parent, o.b.Body); err != nil || h != o.hash {
				n.dropOrphans(o.hash)
				continue
			}
		}
		e := &entry{b: o.b, hash: o.hash, height: o.b.Height, parent: parent}
		n.blocks[o.hash] = e
		n.index(e)
		if e.height > best.height { // strictly: ties keep the first seen
			best = e
		}
		if !n.cfg.NoRelay || o.from == n.self {
			for _, p := range n.cfg.Peers {
				if p != o.from && p != n.self {
					env.Send(p, o.b)
				}
			}
		}
		if kids, ok := n.orphans[o.hash]; ok {
			delete(n.orphans, o.hash)
			for _, k := range kids {
				delete(n.orphanOf, k.hash)
				n.nOrphans--
			}
			queue = append(queue, kids...)
		}
	}
	if best != n.tip {
		n.switchTip(env, best)
	}
}

// dropOrphans forgets the held descendants of a block that will never be
// accepted (invalid, or at the wrong height): none of them can be.
func (n *Node) dropOrphans(parent consensus.Hash) {
	kids, ok := n.orphans[parent]
	if !ok {
		return
	}
	delete(n.orphans, parent)
	for _, k := range kids {
		delete(n.orphanOf, k.hash)
		n.nOrphans--
		n.dropOrphans(k.hash)
	}
}

// switchTip makes e the tip if its branch does not fork below the
// committed height, then commits what became deep enough.
func (n *Node) switchTip(env protocol.Env, e *entry) {
	a, b := n.tip, e
	for b != nil && a != nil && b.height > a.height {
		b = b.parent
	}
	for a != nil && b != nil && a.height > b.height {
		a = a.parent
	}
	for a != nil && b != nil && a != b {
		a, b = a.parent, b.parent
	}
	if a == nil || b == nil || a.height < n.committed.height {
		fork := uint64(0)
		if a != nil && b != nil {
			fork = a.height
		}
		env.Emit(DeepFork{Committed: n.committed.height, Fork: fork, Height: e.height})
		return
	}
	if depth := n.tip.height - a.height; depth > 0 {
		env.Emit(Reorg{Depth: depth, Height: e.height})
	}
	n.tip = e
	n.confirm(env)
	n.mine(env)
}

// confirm commits, in height order, the main-chain blocks with at least
// Confirmations blocks on top.
func (n *Node) confirm(env protocol.Env) {
	k := uint64(n.cfg.Confirmations)
	if n.tip.height < k || n.tip.height-k <= n.committed.height {
		return
	}
	target := n.tip.height - k
	chain := make([]*entry, 0, target-n.committed.height)
	for e := n.tip; e.height > n.committed.height; e = e.parent {
		if e.height <= target {
			chain = append(chain, e)
		}
	}
	now := env.Now()
	for i := len(chain) - 1; i >= 0; i-- {
		e := chain[i]
		consensus.Commit(env, n.cfg.App, consensus.Committed{Height: e.height, Hash: e.hash, Parent: e.b.Parent,
			Proposed: e.b.Time, Latency: now.Sub(e.b.Time), Bytes: len(e.b.Body)}, e.b.Body)
		n.committed = e
	}
	n.prune()
}

// prune forgets blocks more than Keep heights below the committed one.
// Blocks are listed by height, so pruning touches only what it deletes.
func (n *Node) prune() {
	if n.committed.height <= uint64(n.cfg.Keep) {
		return
	}
	cut := n.committed.height - uint64(n.cfg.Keep) // ≥ 1
	for n.levelBase < cut && len(n.levels) > 0 {
		for _, h := range n.levels[0] {
			delete(n.blocks, h)
		}
		n.levels[0] = nil
		n.levels = n.levels[1:]
		n.levelBase++
	}
	if len(n.levels) > 0 {
		for _, h := range n.levels[0] {
			n.blocks[h].parent = nil
		}
	}
	n.pruned = cut - 1
	if n.nOrphans > 0 {
		for parent, kids := range n.orphans {
			// Deleting by a height bound gives the same map in any order.
			if kids[0].b.Height <= cut {
				delete(n.orphans, parent)
				for _, k := range kids {
					delete(n.orphanOf, k.hash)
					n.nOrphans--
				}
			}
		}
	}
}

// index lists a new block under its height, for prune.
func (n *Node) index(e *entry) {
	for uint64(len(n.levels)) <= e.height-n.levelBase {
		n.levels = append(n.levels, nil)
	}
	l := &n.levels[e.height-n.levelBase]
	*l = append(*l, e.hash)
}
