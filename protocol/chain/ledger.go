package chain

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	"sort"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/wire"
)

// Config sets up a Ledger.
type Config struct {
	// Genesis lists the initial accounts; their balances and stakes count
	// as minted. Addresses must be distinct.
	Genesis []Account
	// Params are the rules; start from DefaultParams.
	Params Params
	// Emission is the block reward schedule; nil pays Params.BlockReward
	// at every height (FixedEmission).
	Emission Emission
	// ProposerAddress maps a block's proposer to the account its reward
	// and fees go to; nil uses AddressOf(KeyFor(KeySeed, id)).
	ProposerAddress func(protocol.NodeID) Address
	KeySeed         uint64
	// VerifyEvidence judges a slash's evidence; nil accepts any non-empty
	// evidence (the verify package supplies the real judge).
	VerifyEvidence func(offender Address, evidence []byte) error
	// Settler is the only account that may send Settle transactions (the
	// marketplace committee's); the zero Address means nobody may.
	Settler Address
	// SlashFraction, if not nil, says what share of the offender's stake
	// the slash with this evidence in the block at height burns (so each
	// offence can have its own fraction, and governance can change it);
	// nil burns Params.SlashFraction for every slash. It must be a pure
	// function of its arguments.
	SlashFraction func(height uint64, evidence []byte) PPM
	// ModeledVerification skips ed25519.Verify, counting each skipped check
	// (Verifications), for simulations too large to verify every signature
	// at every node. Signatures are then not checked at all: an adversary
	// that forges them needs real verification.
	ModeledVerification bool
}

// Verifications counts signature checks since the ledger was made.
type Verifications struct {
	Real    uint64 // ed25519.Verify calls
	Modeled uint64 // checks skipped under ModeledVerification
}

// Applied is the measurement of one committed block at one node: what the
// block carried and what it minted and burned. The Ledger is an App, not a
// Node, so it cannot emit: after Commit the engine emits it for the ledger
// (consensus.Reporter: CommitEvent), or a runner emits LastApplied.
type Applied struct {
	Height   uint64
	Proposer protocol.NodeID
	Txs      int    // including the reward
	User     int    // user transactions: Txs less the reward
	Bytes    int    // canonical encoding
	Gas      uint64 // user transactions' gas
	Fees     uint64 // base units paid by senders
	Burned   uint64 // fee burn plus slashes
	Minted   uint64 // the reward
	// Pending is the number of transactions left in this node's mempool
	// after the block (its own view: mempools differ between nodes).
	Pending int
	// StateRoot is this node's committed state root after the block: equal
	// at every honest replica, which sim/check holds them to.
	StateRoot Hash
}

// Kind implements metrics.Event.
func (Applied) Kind() string { return "chain.applied" }

// Supply is where every token is, in base units. Conservation: Minted −
// Burned = Balances + Staked + Unbonding + Escrow.
type Supply struct {
	Minted, Burned                      uint64
	Balances, Staked, Unbonding, Escrow uint64
}

// view is the state after a checked or built block not yet committed.
type view struct {
	st      *layer
	height  uint64
	parent  Hash
	applied Applied
	txs     []Hash // the user transactions' hashes
}

// Ledger is the replicated state machine: accounts, stake, escrow,
// governance records and a mempool. It implements consensus.App. A Ledger
// is used from one goroutine (its node's).
type Ledger struct {
	cfg  Config
	p    Params
	emit Emission

	base *layer // committed state
	tip  Hash   // hash of the last committed block; zero at genesis
	// views are checked or built blocks above the committed state, by
	// hash: their state is kept so that Commit need not re-apply them, and
	// so that a longest-chain engine can check a block whose parent is not
	// final yet. Commit prunes the ones it makes unreachable.
	views map[Hash]*view

	pool      mempool
	ahead     aheadPool
	proposers map[protocol.NodeID]Address
	last      Applied
	// lately holds the hashes of the user transactions of the last two
	// committed blocks (newest first), so that ReceiveTx can tell a late
	// copy of a committed transaction from a refusal.
	lately [2]map[Hash]bool
	sigs   Verifications
}

var (
	_ consensus.App      = (*Ledger)(nil)
	_ consensus.TxSink   = (*Ledger)(nil)
	_ consensus.Reporter = (*Ledger)(nil)
)

// NewLedger returns a ledger at height 0 holding the genesis accounts.
func NewLedger(cfg Config) (*Ledger, error) {
	if err := cfg.Params.Validate(); err != nil {
		return nil, err
	}
	l := &Ledger{cfg: cfg, p: cfg.Params, emit: cfg.Emission, base: newBase(),
		views: map[Hash]*view{}, pool: newMempool(), proposers: map[protocol.NodeID]Address{}}
	if l.emit == nil {
		l.emit = FixedEmission(cfg.Params.BlockReward)
	}
	var total uint64
	for i, a := range cfg.Genesis {
		if _, dup := l.base.accounts[a.Address]; dup {
			return nil, fmt.Errorf("chain: genesis account %d: address %s listed twice", i, a.Address)
		}
		t, c1 := bits.Add64(total, a.Balance, 0)
		t, c2 := bits.Add64(t, a.Stake, 0)
		if c1|c2 != 0 {
			return nil, fmt.Errorf("chain: genesis account %d: %w: total supply exceeds %d base units", i, ErrOverflow, uint64(1<<64-1))
		}
		total = t
		l.base.setAccount(a.Address, acct{Balance: a.Balance, Stake: a.Stake, Nonce: a.Nonce})
	}
	l.base.minted = total
	return l, nil
}

func (l *Ledger) emission(height uint64) uint64 { return l.emit(height) }

func (l *Ledger) proposerAddr(id protocol.NodeID) Address {
	if l.cfg.ProposerAddress != nil {
		return l.cfg.ProposerAddress(id)
	}
	a, ok := l.proposers[id]
	if !ok {
		a = AddressOf(KeyFor(l.cfg.KeySeed, id))
		l.proposers[id] = a
	}
	return a
}

// verify checks tx's signature, or counts it as modeled.
func (l *Ledger) verify(tx *Tx) error {
	if l.cfg.ModeledVerification {
		l.sigs.Modeled++
		return nil
	}
	l.sigs.Real++
	return tx.verify()
}

// stateAt returns the state after parent, on which a block at height builds.
func (l *Ledger) stateAt(parent Hash, height uint64) (*layer, error) {
	if parent == l.tip {
		if height != l.base.height+1 {
			return nil, fmt.Errorf("%w: height %d on the committed tip at %d", ErrHeight, height, l.base.height)
		}
		return l.base, nil
	}
	v, ok := l.views[parent]
	if !ok {
		return nil, fmt.Errorf("%w %x (committed height %d)", ErrUnknownParent, parent[:6], l.base.height)
	}
	if height != v.height+1 {
		return nil, fmt.Errorf("%w: height %d on a parent at %d", ErrHeight, height, v.height)
	}
	return v.st, nil
}

// MakeBlock implements consensus.App: a block on parent with the reward the
// schedule pays and the best mempool transactions within the size and gas
// limits. The parent must be the committed tip or a block this ledger
// checked or made since; anything else is an engine bug and panics.
func (l *Ledger) MakeBlock(height uint64, parent Hash, proposer protocol.NodeID, now protocol.Time) ([]byte, Hash) {
	ps, err := l.stateAt(parent, height)
	if err != nil {
		panic(fmt.Sprintf("chain: MakeBlock at height %d: %v", height, err))
	}
	st := ps.child()
	l.beginBlock(st, height)
	paddr := l.proposerAddr(proposer)
	room := l.p.MaxBlockBytes - blockOverhead
	var txs []*Tx
	if r := l.emission(height); r > 0 {
		rw := NewReward(height, paddr, r)
		if err := l.applyReward(st, rw, paddr); err != nil {
			panic(fmt.Sprintf("chain: MakeBlock at height %d: %v", height, err))
		}
		txs = append(txs, rw)
		room -= len(rw.enc)
	}
	user, gas := l.fill(st, room, l.p.MaxBlockGas)
	txs = append(txs, user...)
	b := l.finish(st, ps, Header{Height: height, Prev: parent, Time: now, Proposer: proposer}, txs, gas)
	return b.enc, b.hash
}

// finish ends the block on st, seals it with its roots and keeps its view.
func (l *Ledger) finish(st, ps *layer, h Header, txs []*Tx, gas uint64) *Block {
	fees := st.fees
	l.endBlock(st, l.proposerAddr(h.Proposer))
	h.TxRoot, h.StateRoot = TxRoot(txs), st.root()
	b := NewBlock(h, txs)
	l.keep(b, st, ps, gas, fees)
	return b
}

// keep records the view of a checked or built block.
func (l *Ledger) keep(b *Block, st, ps *layer, gas, fees uint64) {
	var txs []Hash
	for _, tx := range b.Txs {
		if tx.Type != TxReward {
			txs = append(txs, tx.hash)
		}
	}
	l.views[b.hash] = &view{st: st, height: b.Header.Height, parent: b.Header.Prev, txs: txs, applied: Applied{
		Height: b.Header.Height, Proposer: b.Header.Proposer, Txs: len(b.Txs), User: len(txs), Bytes: len(b.enc), Gas: gas,
		Fees: fees, Burned: st.burned - ps.burned, Minted: st.minted - ps.minted,
	}}
}

// CheckBlock implements consensus.App: it decodes the block and replays it
// on a copy-on-write layer over its parent's state, checking the header
// (height, parent), the size and gas limits, the reward, every
// transaction's signature and rules in order, and both roots. The committed
// state is never touched; a block that passes is kept so that Commit (or a
// child's CheckBlock) reuses its state. The hash is returned even when the
// block is rejected.
func (l *Ledger) CheckBlock(height uint64, parent Hash, block []byte) (Hash, error) {
	hash := Hash(sha256.Sum256(block))
	if v, ok := l.views[hash]; ok && v.height == height && v.parent == parent {
		return hash, nil
	}
	if err := l.check(height, parent, block, hash); err != nil {
		return hash, fmt.Errorf("chain: block %x at height %d: %w", hash[:6], height, err)
	}
	return hash, nil
}

func (l *Ledger) check(height uint64, parent Hash, block []byte, hash Hash) error {
	if len(block) > l.p.MaxBlockBytes {
		return fmt.Errorf("%w: %d bytes > %d", ErrBlockTooLarge, len(block), l.p.MaxBlockBytes)
	}
	b, err := decodeBlock(block, hash)
	if err != nil {
		return err
	}
	h := b.Header
	switch {
	case h.Height != height:
		return fmt.Errorf("%w: header says %d", ErrHeight, h.Height)
	case h.Prev != parent:
		return fmt.Errorf("%w: %x, parent is %x", ErrPrevHash, h.Prev[:6], parent[:6])
	}
	ps, err := l.stateAt(parent, height)
	if err != nil {
		return err
	}
	if TxRoot(b.Txs) != h.TxRoot {
		return ErrTxRoot
	}
	st := ps.child()
	l.beginBlock(st, height)
	txs := b.Txs
	if r := l.emission(height); r > 0 {
		if len(txs) == 0 {
			return fmt.Errorf("%w: no reward", ErrForgedReward)
		}
		if err := l.applyReward(st, txs[0], l.proposerAddr(h.Proposer)); err != nil {
			return err
		}
		txs = txs[1:]
	}
	var gas uint64
	for i, tx := range txs {
		if tx.Type == TxReward {
			return fmt.Errorf("%w: a reward among user transactions", ErrForgedReward)
		}
		if gas += l.p.Gas.Gas(tx.Type, len(tx.enc)); gas > l.p.MaxBlockGas {
			return fmt.Errorf("%w: %d gas > %d at tx %d", ErrGasLimit, gas, l.p.MaxBlockGas, i)
		}
		// A transaction in the mempool was verified when it arrived, and
		// its hash covers its signature.
		if _, known := l.pool.byHash[tx.hash]; !known {
			if err := l.verify(tx); err != nil {
				return fmt.Errorf("tx %d: %w", i, err)
			}
		}
		if err := l.applyTx(st, tx); err != nil {
			return fmt.Errorf("tx %d: %w", i, err)
		}
	}
	fees := st.fees
	l.endBlock(st, l.proposerAddr(h.Proposer))
	if root := st.root(); root != h.StateRoot {
		return fmt.Errorf("%w: header %x, computed %x", ErrStateRoot, h.StateRoot[:6], root[:6])
	}
	l.keep(b, st, ps, gas, fees)
	return nil
}

// Commit implements consensus.App: it makes the block the committed state.
// A block this ledger checked or built on the committed tip is adopted
// without replay; any other is checked first. A block that fails, or whose
// hash is not the given one, is a broken invariant (consensus finalized
// what a correct node would reject, or the engine mixed up blocks) and
// panics with the height. The mempool then drops what the block made stale.
func (l *Ledger) Commit(height uint64, block []byte, hash Hash, now protocol.Time) {
	if height != l.base.height+1 {
		panic(fmt.Sprintf("chain: Commit of height %d on committed height %d", height, l.base.height))
	}
	v, ok := l.views[hash]
	if !ok || v.parent != l.tip || v.height != height {
		got, err := l.CheckBlock(height, l.tip, block)
		if err != nil {
			panic(fmt.Sprintf("chain: Commit of an invalid block at height %d: %v", height, err))
		}
		if got != hash {
			panic(fmt.Sprintf("chain: Commit at height %d: block hashes to %x, engine says %x", height, got[:6], hash[:6]))
		}
		v = l.views[hash]
	}
	v.st.flushInto(l.base)
	// Keep the views that build on this block, now on the new base; the
	// rest can never be committed.
	for h, w := range l.views {
		if w == v || !descends(w.st, v.st, l.base) {
			delete(l.views, h)
		}
	}
	for _, w := range l.views {
		if w.st.parent == v.st {
			w.st.parent = l.base
		}
	}
	l.tip = hash
	l.recheck(v.st.accounts)
	l.last = v.applied
	l.last.Pending = len(l.pool.byHash)
	l.last.StateRoot = l.base.root()
	l.lately[1], l.lately[0] = l.lately[0], make(map[Hash]bool, len(v.txs))
	for _, h := range v.txs {
		l.lately[0][h] = true
	}
	l.promoteAll()
}

// descends reports whether layer s is built on layer anc (before reaching base).
func descends(s, anc, base *layer) bool {
	for p := s.parent; p != nil && p != base; p = p.parent {
		if p == anc {
			return true
		}
	}
	return false
}

// LastApplied returns the measurement of the last committed block (zero
// before the first).
func (l *Ledger) LastApplied() Applied { return l.last }

// CommitEvent implements consensus.Reporter: LastApplied, for the engine to
// emit after each Commit.
func (l *Ledger) CommitEvent() metrics.Event { return l.last }

// ReceiveTx implements consensus.TxSink: a *Tx from the network goes
// through AddTx, or, if its nonce is a little ahead of its sender's next,
// is held until the gap fills (ahead.go). Either way it is reported added
// when new, so that the engine relays it: a node that relayed only what
// it could add at once would stop a transaction that overtook its
// predecessor on the way to it. A refusal is reported as Rejected, except for a
// transaction the mempool holds or one of the last two committed blocks
// held: relaying delivers most transactions to a node more than once, and
// those copies are the cost of relaying, not refusals.
func (l *Ledger) ReceiveTx(m wire.Msg) (added bool, ev metrics.Event) {
	tx, ok := m.(*Tx)
	if !ok {
		return false, nil
	}
	err := l.AddTx(tx)
	switch {
	case err == nil:
		l.promote(tx.from)
		return true, nil
	case errors.Is(err, ErrKnownTx) || l.lately[0][tx.hash] || l.lately[1][tx.hash]:
		return false, nil
	case errors.Is(err, ErrNonce):
		if next := l.base.account(tx.from).Nonce + uint64(len(l.pool.bySender[tx.from])); tx.Nonce > next {
			held, herr := l.hold(tx, next)
			if herr == nil {
				return held, nil
			}
			err = herr
		}
	}
	return false, Rejected{Type: tx.Type, Reason: Reason(err)}
}

// Height returns the committed height (0 at genesis).
func (l *Ledger) Height() uint64 { return l.base.height }

// Tip returns the hash of the last committed block; the zero Hash at
// genesis, which is therefore the parent of height 1.
func (l *Ledger) Tip() Hash { return l.tip }

// StateRoot returns the root of the committed state.
func (l *Ledger) StateRoot() Hash { return l.base.root() }

// Verifications returns the signature checks done and modeled so far.
func (l *Ledger) Verifications() Verifications { return l.sigs }

// Account returns an account's committed state (zero if it never held
// anything).
func (l *Ledger) Account(a Address) Account {
	v := l.base.account(a)
	return Account{Address: a, Balance: v.Balance, Stake: v.Stake, Nonce: v.Nonce}
}

// Job returns an escrowed job (its Spec is a copy).
func (l *Ledger) Job(id JobID) (Job, bool) {
	j, ok := l.base.job(id)
	j.Spec = bytes.Clone(j.Spec)
	return j, ok
}

// ResultRoot returns the committed batch of results with this Merkle root.
func (l *Ledger) ResultRoot(root Hash) (RootRecord, bool) { return l.base.resultRoot(root) }

// Commitment returns the result provider committed for a job's unit.
func (l *Ledger) Commitment(job JobID, unit uint32, provider Address) (Commitment, bool) {
	return l.base.commit(commitKey{job, unit, provider})
}

// FindCommitment is Commitment, or why there is none: a job the ledger
// holds keeps all its commitments, so a missing one was never made; a
// job it does not hold was never posted or was pruned (prune.go), which
// the ledger cannot tell apart without keeping what pruning drops.
func (l *Ledger) FindCommitment(job JobID, unit uint32, provider Address) (Commitment, error) {
	if c, ok := l.Commitment(job, unit, provider); ok {
		return c, nil
	}
	if _, ok := l.base.job(job); ok {
		return Commitment{}, fmt.Errorf("%s committed no result for unit %d of job %x", provider, unit, job[:4])
	}
	return Commitment{}, fmt.Errorf("%w %x: never posted%s", ErrUnknownJob, job[:4], l.pastWindow("settled"))
}

// FindResultRoot is ResultRoot, or why there is none.
func (l *Ledger) FindResultRoot(root Hash) (RootRecord, error) {
	if r, ok := l.ResultRoot(root); ok {
		return r, nil
	}
	return RootRecord{}, fmt.Errorf("no result root %x on the ledger: never recorded%s", root[:4], l.pastWindow("recorded"))
}

// pastWindow completes "never …" with the other reason a record is
// missing when the ledger prunes.
func (l *Ledger) pastWindow(what string) string {
	if l.p.DisputeBlocks == 0 {
		return ""
	}
	return fmt.Sprintf(", or %s %d or more blocks ago: past the dispute window", what, l.p.DisputeBlocks)
}

// Proposal returns a governance proposal (its Body is a copy).
func (l *Ledger) Proposal(id uint64) (ProposalRecord, bool) {
	p, ok := l.base.proposal(id)
	p.Body = bytes.Clone(p.Body)
	return p, ok
}

// Tally is a proposal's votes weighted by the voters' stake.
type Tally struct {
	Yes, No, Abstain uint64 // stake, base units
	Voters           int
}

// Tally weighs each recorded vote on a proposal by the voter's committed
// stake now (stake moved after voting moves its weight with it, as in
// tallies taken at the end of a voting period).
func (l *Ledger) Tally(id uint64) (Tally, error) {
	if _, ok := l.base.proposal(id); !ok {
		return Tally{}, fmt.Errorf("%w %d", ErrNoProposal, id)
	}
	var t Tally
	for k, c := range l.base.votes { // sums: the order does not matter
		if k.Proposal != id {
			continue
		}
		w := l.base.account(k.Voter).Stake
		t.Voters++
		switch c {
		case VoteYes:
			t.Yes += w
		case VoteNo:
			t.No += w
		case VoteAbstain:
			t.Abstain += w
		}
	}
	return t, nil
}

// Stakes returns every account with stake, by address.
func (l *Ledger) Stakes() []Account {
	var out []Account
	for a, v := range l.base.accounts {
		if v.Stake > 0 {
			out = append(out, Account{Address: a, Balance: v.Balance, Stake: v.Stake, Nonce: v.Nonce})
		}
	}
	sort.Slice(out, func(i, j int) bool { return string(out[i].Address[:]) < string(out[j].Address[:]) })
	return out
}

// Supply walks the committed state and totals where every token is. It
// costs O(accounts + jobs + unbonding batches).
func (l *Ledger) Supply() Supply { return l.base.supply() }

func (l *layer) supply() Supply {
	s := Supply{Minted: l.minted, Burned: l.burned}
	for _, v := range merged(l, func(l *layer) map[Address]acct { return l.accounts }) {
		s.Balances += v.Balance
		s.Staked += v.Stake
	}
	for _, j := range merged(l, func(l *layer) map[JobID]Job { return l.jobs }) {
		s.Escrow += j.Escrow
	}
	for _, b := range merged(l, func(l *layer) map[uint64]unbondBatch { return l.unbond }) {
		for _, u := range b {
			s.Unbonding += u.Amount
		}
	}
	return s
}

// Check reports whether the supply is conserved: minted − burned equals
// balances + staked + unbonding + escrow. The error wraps ErrConservation
// and names the difference.
func (s Supply) Check() error {
	n := func(x uint64) *big.Int { return new(big.Int).SetUint64(x) }
	exist := new(big.Int).Sub(n(s.Minted), n(s.Burned))
	held := new(big.Int).Add(n(s.Balances), n(s.Staked))
	held.Add(held, n(s.Unbonding)).Add(held, n(s.Escrow))
	if exist.Cmp(held) == 0 {
		return nil
	}
	return fmt.Errorf("%w: minted %d − burned %d = %s, held %s (balances %d + staked %d + unbonding %d + escrow %d): difference %s",
		ErrConservation, s.Minted, s.Burned, exist, held, s.Balances, s.Staked, s.Unbonding, s.Escrow,
		new(big.Int).Sub(held, exist))
}

// CheckSupply checks conservation of the committed state (Supply().Check()).
func (l *Ledger) CheckSupply() error { return l.Supply().Check() }

// RecomputeStateRoot rebuilds the committed state root from every record,
// ignoring the incremental sum; it must equal StateRoot. O(state): for
// invariant checks, not for every block of a large run.
func (l *Ledger) RecomputeStateRoot() Hash { return l.base.recomputeRoot() }
