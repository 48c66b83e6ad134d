package bft

import (
	"slices"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/wire"
)

// Timeouts are the waits of Algorithm 1, each growing by its delta per
// round (timeoutPropose(r) = Propose + r·ProposeDelta, and so on), so that
// after the network stabilizes some round lasts long enough for every
// correct validator to hear the others (the paper's liveness argument,
// section 4). Commit is CometBFT's timeout_commit: the wait after a
// decision before the next height starts, which sets the block interval.
type Timeouts struct {
	Propose, ProposeDelta     protocol.Duration
	Prevote, PrevoteDelta     protocol.Duration
	Precommit, PrecommitDelta protocol.Duration
	Commit                    protocol.Duration
}

// DefaultTimeouts are CometBFT's defaults (config.toml, [consensus]).
func DefaultTimeouts() Timeouts {
	return Timeouts{
		Propose: 3 * protocol.Second, ProposeDelta: 500 * protocol.Millisecond,
		Prevote: protocol.Second, PrevoteDelta: 500 * protocol.Millisecond,
		Precommit: protocol.Second, PrecommitDelta: 500 * protocol.Millisecond,
		Commit: protocol.Second,
	}
}

// ProposeAt is timeoutPropose(round).
func (t Timeouts) ProposeAt(round int32) protocol.Duration {
	return t.Propose + protocol.Duration(round)*t.ProposeDelta
}

// PrevoteAt is timeoutPrevote(round).
func (t Timeouts) PrevoteAt(round int32) protocol.Duration {
	return t.Prevote + protocol.Duration(round)*t.PrevoteDelta
}

// PrecommitAt is timeoutPrecommit(round).
func (t Timeouts) PrecommitAt(round int32) protocol.Duration {
	return t.Precommit + protocol.Duration(round)*t.PrecommitDelta
}

// Config is what a validator needs.
type Config struct {
	// Set is the validator set; the node must be in it.
	Set *consensus.ValidatorSet
	// Signer signs this validator's messages and checks the others'.
	Signer consensus.Signer
	// App is this node's own application.
	App      consensus.App
	Timeouts Timeouts
	// Followers are non-validator nodes this validator pushes each Commit
	// to; they flood it on among themselves.
	Followers []protocol.NodeID
	// Rebroadcast is how often a validator that has not moved (same height,
	// round and step) sends its current proposal and votes again. The paper
	// assumes every message between correct processes is eventually
	// delivered; a message lost to a partition never is, so without resends
	// a split that heals finds everyone waiting for votes that were cut.
	// 0 means 2 s.
	Rebroadcast protocol.Duration
	// CatchUp is how long a validator that heard from a higher height waits
	// before asking that node for the commit it lacks: usually its own
	// decision is a moment away, and the request would be wasted. 0 means
	// 1 s.
	CatchUp protocol.Duration
	// KeepCommits is how many recent commits a validator keeps to answer
	// BlockReqs from nodes that fell behind. 0 means 256.
	KeepCommits int
}

func (c *Config) defaults() {
	if c.Rebroadcast <= 0 {
		c.Rebroadcast = 2 * protocol.Second
	}
	if c.CatchUp <= 0 {
		c.CatchUp = protocol.Second
	}
	if c.KeepCommits <= 0 {
		c.KeepCommits = 256
	}
}

type step uint8

// The steps of Algorithm 1 (line 4), ordered so that "step ≥ prevote"
// (line 36) is a comparison.
const (
	stepPropose step = iota
	stepPrevote
	stepPrecommit
)

func (s step) String() string {
	return [...]string{"propose", "prevote", "precommit"}[s]
}

// Timer kinds, in the top bits of a timer's tag.
const (
	tmPropose uint64 = 1 + iota
	tmPrevote
	tmPrecommit
	tmCommitWait
	tmRebroadcast
	tmCatchUp
)

// tag packs a timer's kind, round and height (low 32 bits: heights that far
// apart never meet in one node's pending timers).
func tag(kind uint64, height uint64, round int32) uint64 {
	return kind<<60 | uint64(uint32(round))&(1<<28-1)<<32 | height&(1<<32-1)
}

func untag(t uint64) (kind uint64, height32 uint32, round int32) {
	return t >> 60, uint32(t), int32(t >> 32 & (1<<28 - 1))
}

// maxRoundsAhead bounds how far past its own round a validator keeps
// messages: a faulty validator could otherwise make it hold state for any
// number of rounds. Correct validators leave a round only on a timeout or
// on f+1 messages of a later one, so they drift apart by a few rounds, not
// thousands.
const maxRoundsAhead = 1 << 12

// maxProposals bounds the distinct proposals kept per round: one from a
// correct proposer, a few from an equivocating one.
const maxProposals = 4

type value struct {
	block []byte
	hash  consensus.Hash
}

type proposalInfo struct {
	p     *Proposal
	valid bool // valid(v) of the paper: the App accepted the block
}

// hashStake is the stake behind one hash in a vote set.
type hashStake struct {
	hash  consensus.Hash
	stake uint64
}

// voteSet holds one round's votes of one type: the first vote of each
// validator (a second, different one is equivocation and is not counted),
// and the stake behind each hash, nil votes under the zero Hash.
type voteSet struct {
	votes []*Vote
	total uint64
	tally []hashStake // few entries: a correct round has one or two
}

func (s *voteSet) stakeFor(h consensus.Hash) uint64 {
	for _, t := range s.tally {
		if t.hash == h {
			return t.stake
		}
	}
	return 0
}

// add counts v for validator i with the given stake. It returns the vote
// already held when i voted before (a duplicate or an equivocation).
func (s *voteSet) add(n int, i int, stake uint64, v *Vote) (prev *Vote) {
	if s.votes == nil {
		s.votes = make([]*Vote, n)
	}
	if p := s.votes[i]; p != nil {
		return p
	}
	s.votes[i] = v
	s.total += stake
	for k := range s.tally {
		if s.tally[k].hash == v.BlockHash {
			s.tally[k].stake += stake
			return nil
		}
	}
	s.tally = append(s.tally, hashStake{v.BlockHash, stake})
	return nil
}

// roundState is what a validator knows of one round of its height.
type roundState struct {
	round      int32
	proposals  []proposalInfo // from proposer(h, round), first received first
	prevotes   voteSet
	precommits voteSet
	// senders marks validators heard from in this round, for line 55.
	senders     []bool
	senderStake uint64
	// "for the first time" flags of lines 34, 36 and 47.
	prevoteTimer, lockedOnce, precommitTimer bool
	// This node's own messages, resent when it is stuck.
	mine []wire.Msg
}

// Validator is a BFT validator: the Tendermint algorithm of Buchman, Kwon
// and Milosevic, "The latest gossip on BFT consensus" (2018), Algorithm 1,
// with weighted votes. Comments cite its line numbers. It is a
// protocol.Node; build it with NewValidator.
type Validator struct {
	cfg  Config
	self protocol.NodeID
	idx  int
	n    int

	// Algorithm 1, lines 2–9 (decision_p is the App plus the commit ring).
	height      uint64
	round       int32
	step        step
	lockedValue *value
	lockedRound int32
	validValue  *value
	validRound  int32

	parent  consensus.Hash // the block decided at height−1
	started bool
	// waiting is true between a decision and StartRound(0) of the next
	// height: CometBFT's timeout_commit. Messages for the new height are
	// counted meanwhile; no rule runs.
	waiting bool
	rounds  []*roundState // sorted by round

	base      rotation // proposer priorities after `height` picks; the last gave proposer(height, 0)
	roundRot  rotation // a copy of base advanced for rounds ≥ 1
	proposers []int    // proposer(height, r) for r < len

	future       []protocol.Recv // messages for height+1 that came early
	aheadPeer    protocol.NodeID
	aheadHeight  uint64
	catchUpArmed bool

	commits []*Commit // ring of recent decisions, by height % len

	moves, movesSeen uint64 // height/round/step changes, for the stuck check

	st HeightDone // this height's counters
}

// NewValidator returns a validator. Its first Start panics if the node is
// not in cfg.Set, which is a wiring error.
func NewValidator(cfg Config) *Validator {
	cfg.defaults()
	return &Validator{cfg: cfg, n: cfg.Set.Len(), lockedRound: -1, validRound: -1}
}

// Height is the height the validator is deciding (the last decided is
// Height−1).
func (v *Validator) Height() uint64 { return v.height }

// Round is the validator's current round.
func (v *Validator) Round() int32 { return v.round }

// Parent is the hash of the last decided block (zero before height 1).
func (v *Validator) Parent() consensus.Hash { return v.parent }

// Locked returns lockedRound and the hash of lockedValue (zero when none).
func (v *Validator) Locked() (round int32, hash consensus.Hash) {
	if v.lockedValue == nil {
		return v.lockedRound, consensus.Hash{}
	}
	return v.lockedRound, v.lockedValue.hash
}

// ProposerOf returns the node that proposes round r of the current height.
func (v *Validator) ProposerOf(r int32) protocol.NodeID {
	return v.cfg.Set.At(v.proposer(r)).ID
}

// Handle implements protocol.Node.
func (v *Validator) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		v.start(env, in.Rejoin)
	case protocol.Recv:
		if !v.started {
			return
		}
		switch m := in.Msg.(type) {
		case *Proposal:
			v.onProposal(env, in.From, m)
		case *Vote:
			v.onVote(env, in.From, m)
		case *Commit:
			v.onCommit(env, in.From, m)
		case *consensus.BlockReq:
			v.onBlockReq(env, in.From, m)
		default:
			v.onTx(env, in.From, m)
		}
	case protocol.TimerFired:
		if v.started {
			v.onTimer(env, in.Tag)
		}
	}
}

// upon start do StartRound(0) (line 10).
func (v *Validator) start(env protocol.Env, rejoin bool) {
	env.SetTimer(v.cfg.Rebroadcast, tag(tmRebroadcast, 0, 0))
	if rejoin && v.started {
		v.catchUpArmed = false
		// Timers died with the node. Re-entering the round it left could make
		// it propose or vote twice in one round; a later round is always safe.
		if v.waiting {
			env.SetTimer(0, tag(tmCommitWait, v.height, 0))
			return
		}
		v.startRound(env, v.round+1)
		v.progress(env)
		return
	}
	idx, ok := v.cfg.Set.Index(env.Self())
	if !ok {
		panic("bft: validator is not in the validator set")
	}
	v.self, v.idx, v.started = env.Self(), idx, true
	v.base = newRotation(v.cfg.Set)
	v.commits = make([]*Commit, v.cfg.KeepCommits)
	v.enterHeight(1)
	v.startRound(env, 0)
	v.progress(env)
}

// enterHeight resets the per-height state (line 53) and the proposer
// schedule for a new height.
func (v *Validator) enterHeight(h uint64) {
	v.height = h
	v.round, v.step = 0, stepPropose
	v.lockedValue, v.lockedRound = nil, -1
	v.validValue, v.validRound = nil, -1
	v.rounds = v.rounds[:0]
	v.proposers = append(v.proposers[:0], v.base.next())
	v.roundRot = v.base.clone()
	v.st = HeightDone{Height: h}
	v.moves++
}

// proposer is proposer(h_p, r) as a validator index.
func (v *Validator) proposer(r int32) int {
	for int32(len(v.proposers)) <= r {
		v.proposers = append(v.proposers, v.roundRot.next())
	}
	return v.proposers[r]
}

// roundState returns the state of round r, creating it.
func (v *Validator) roundState(r int32) *roundState {
	i, found := slices.BinarySearchFunc(v.rounds, r, func(rs *roundState, r int32) int { return int(rs.round) - int(r) })
	if found {
		return v.rounds[i]
	}
	rs := &roundState{round: r}
	v.rounds = slices.Insert(v.rounds, i, rs)
	return rs
}

// StartRound, lines 11–21.
func (v *Validator) startRound(env protocol.Env, r int32) {
	v.round, v.step = r, stepPropose // lines 12–13
	v.moves++
	if v.proposer(r) == v.idx { // line 14
		var val value
		if v.validValue != nil { // lines 15–16
			val = *v.validValue
		} else { // line 18
			val.block, val.hash = v.cfg.App.MakeBlock(v.height, v.parent, v.self, env.Now())
		}
		p := &Proposal{Height: v.height, Round: uint32(r), POLRound: v.validRound, Time: env.Now(),
			Proposer: v.self, BlockHash: val.hash, Block: val.block}
		if v.cfg.Signer.Modeled() {
			p.Sig = v.cfg.Signer.Sign(nil)
		} else {
			p.Sig = v.cfg.Signer.Sign(p.SignBytes())
		}
		v.broadcast(env, p) // line 19
		rs := v.roundState(r)
		rs.mine = append(rs.mine, p)
		v.addProposal(rs, p, true)
		return
	}
	env.SetTimer(v.cfg.Timeouts.ProposeAt(r), tag(tmPropose, v.height, r)) // line 21
}

// broadcast sends m to every other validator. Votes go straight to each
// validator rather than through gossip: at this scale validators form a
// full mesh (as CometBFT validators peer with each other or their
// sentries), so a vote takes one hop.
func (v *Validator) broadcast(env protocol.Env, m wire.Msg) {
	size := uint64(m.WireSize())
	for i := 0; i < v.n; i++ {
		if i == v.idx {
			continue
		}
		env.Send(v.cfg.Set.At(i).ID, m)
		v.st.Msgs++
		v.st.Bytes += size
	}
}

func (v *Validator) send(env protocol.Env, to protocol.NodeID, m wire.Msg) {
	env.Send(to, m)
	v.st.Msgs++
	v.st.Bytes += uint64(m.WireSize())
}

// vote signs and broadcasts a vote of this node and counts it here
// (lines 24, 26, 30, 32, 40, 45, 59, 63).
func (v *Validator) vote(env protocol.Env, t VoteType, hash consensus.Hash) {
	vt := &Vote{Type: t, Height: v.height, Round: uint32(v.round), BlockHash: hash, Validator: v.self}
	if v.cfg.Signer.Modeled() {
		vt.Sig = v.cfg.Signer.Sign(nil)
	} else {
		vt.Sig = v.cfg.Signer.Sign(vt.SignBytes())
	}
	v.broadcast(env, vt)
	rs := v.roundState(v.round)
	rs.mine = append(rs.mine, vt)
	v.addVote(rs, v.idx, vt)
}

// behind handles a message for a height above this node's: keep it if it
// is for the next height (it is usually just early), and ask the sender for
// the missing commit if the node is still behind after CatchUp.
func (v *Validator) behind(env protocol.Env, from protocol.NodeID, height uint64, in protocol.Recv) {
	if height == v.height+1 && len(v.future) < 4*v.n {
		v.future = append(v.future, in)
	}
	if height > v.aheadHeight {
		v.aheadHeight, v.aheadPeer = height, from
	}
	if !v.catchUpArmed {
		v.catchUpArmed = true
		env.SetTimer(v.cfg.CatchUp, tag(tmCatchUp, 0, 0))
	}
}

func (v *Validator) onProposal(env protocol.Env, from protocol.NodeID, p *Proposal) {
	switch {
	case p.Height < v.height:
		return
	case p.Height > v.height:
		v.behind(env, from, p.Height, protocol.Recv{From: from, Msg: p})
		return
	}
	r := int32(p.Round)
	if r > v.round+maxRoundsAhead || p.POLRound >= r || p.POLRound < -1 {
		return
	}
	pi := v.proposer(r)
	if v.cfg.Set.At(pi).ID != p.Proposer || !v.verify(pi, p.Sig, p.SignBytes) {
		return
	}
	rs := v.roundState(r)
	for _, q := range rs.proposals {
		if q.p.BlockHash == p.BlockHash && q.p.POLRound == p.POLRound {
			return // a resend
		}
	}
	if len(rs.proposals) > 0 {
		env.Emit(Equivocation{Height: v.height, Round: p.Round, Validator: p.Proposer})
		if len(rs.proposals) >= maxProposals {
			return
		}
	}
	hash, err := v.cfg.App.CheckBlock(v.height, v.parent, p.Block)
	v.addProposal(rs, p, err == nil && hash == p.BlockHash)
	v.progress(env)
}

func (v *Validator) addProposal(rs *roundState, p *Proposal, valid bool) {
	rs.proposals = append(rs.proposals, proposalInfo{p: p, valid: valid})
	v.heard(rs, v.proposer(rs.round))
}

// heard marks validator i as heard from in round rs (line 55).
func (v *Validator) heard(rs *roundState, i int) {
	if rs.senders == nil {
		rs.senders = make([]bool, v.n)
	}
	if !rs.senders[i] {
		rs.senders[i] = true
		rs.senderStake += v.cfg.Set.At(i).Stake
	}
}

// verify checks a signature by validator i; sb builds the signed bytes only
// when signatures are real.
func (v *Validator) verify(i int, sig []byte, sb func() []byte) bool {
	if v.cfg.Signer.Modeled() {
		return v.cfg.Signer.Verify(nil, nil, sig)
	}
	return v.cfg.Signer.Verify(v.cfg.Set.At(i).PubKey, sb(), sig)
}

func (v *Validator) onVote(env protocol.Env, from protocol.NodeID, vt *Vote) {
	switch {
	case vt.Height < v.height:
		return
	case vt.Height > v.height:
		v.behind(env, from, vt.Height, protocol.Recv{From: from, Msg: vt})
		return
	}
	r := int32(vt.Round)
	if r > v.round+maxRoundsAhead || (vt.Type != Prevote && vt.Type != Precommit) {
		return
	}
	i, ok := v.cfg.Set.Index(vt.Validator)
	if !ok || i == v.idx || !v.verify(i, vt.Sig, vt.SignBytes) {
		return
	}
	if v.addVote(v.roundState(r), i, vt) {
		v.progress(env)
		return
	}
	if prev := v.roundState(r).votesOf(vt.Type).votes[i]; prev.BlockHash != vt.BlockHash {
		env.Emit(Equivocation{Height: v.height, Round: vt.Round, Validator: vt.Validator, Type: vt.Type})
	}
}

func (rs *roundState) votesOf(t VoteType) *voteSet {
	if t == Prevote {
		return &rs.prevotes
	}
	return &rs.precommits
}

// addVote counts a vote; false if the validator had voted already.
func (v *Validator) addVote(rs *roundState, i int, vt *Vote) bool {
	if rs.votesOf(vt.Type).add(v.n, i, v.cfg.Set.At(i).Stake, vt) != nil {
		return false
	}
	v.heard(rs, i)
	return true
}

// progress runs the upon-rules of Algorithm 1 until none applies: one rule's
// action (a step change, a new round) can enable another.
func (v *Validator) progress(env protocol.Env) {
	for !v.waiting && v.rule(env) {
	}
}

// rule fires the first upon-rule whose condition holds and reports whether
// one did.
func (v *Validator) rule(env protocol.Env) bool {
	set := v.cfg.Set
	// Lines 49–54: a block with +2/3 precommits in any round, and its
	// proposal, decide the height.
	for _, rs := range v.rounds {
		for _, pi := range rs.proposals {
			if pi.valid && set.Quorum(rs.precommits.stakeFor(pi.p.BlockHash)) {
				v.decide(env, rs, pi.p)
				return true
			}
		}
	}
	// Lines 55–56: f+1 of the stake is in a later round: go there.
	for i := len(v.rounds) - 1; i >= 0 && v.rounds[i].round > v.round; i-- {
		if rs := v.rounds[i]; set.OneThird(rs.senderStake) {
			v.startRound(env, rs.round)
			return true
		}
	}
	rs := v.roundState(v.round)
	if v.step == stepPropose && len(rs.proposals) > 0 {
		pi := rs.proposals[0]
		p := pi.p
		switch {
		case p.POLRound == -1: // lines 22–27
			if pi.valid && (v.lockedRound == -1 || v.lockedValue.hash == p.BlockHash) { // line 23
				v.vote(env, Prevote, p.BlockHash) // line 24
			} else {
				v.vote(env, Prevote, consensus.Hash{}) // line 26
			}
			v.setStep(stepPrevote) // line 27
			return true
		case p.POLRound < v.round && set.Quorum(v.roundState(p.POLRound).prevotes.stakeFor(p.BlockHash)): // line 28
			if pi.valid && (v.lockedRound <= p.POLRound || v.lockedValue.hash == p.BlockHash) { // line 29
				v.vote(env, Prevote, p.BlockHash) // line 30
			} else {
				v.vote(env, Prevote, consensus.Hash{}) // line 32
			}
			v.setStep(stepPrevote) // line 33
			return true
		}
	}
	// Lines 34–35: +2/3 prevotes of any kind: start the prevote timeout.
	if v.step == stepPrevote && !rs.prevoteTimer && set.Quorum(rs.prevotes.total) {
		rs.prevoteTimer = true
		env.SetTimer(v.cfg.Timeouts.PrevoteAt(v.round), tag(tmPrevote, v.height, v.round))
		return true
	}
	// Lines 36–43: a valid proposal with +2/3 prevotes for it, once per round.
	if v.step >= stepPrevote && !rs.lockedOnce {
		for _, pi := range rs.proposals {
			if !pi.valid || !set.Quorum(rs.prevotes.stakeFor(pi.p.BlockHash)) {
				continue
			}
			rs.lockedOnce = true
			val := &value{block: pi.p.Block, hash: pi.p.BlockHash}
			if v.step == stepPrevote { // line 37
				v.lockedValue, v.lockedRound = val, v.round // lines 38–39
				v.vote(env, Precommit, val.hash)            // line 40
				v.setStep(stepPrecommit)                    // line 41
			}
			v.validValue, v.validRound = val, v.round // lines 42–43
			return true
		}
	}
	// Lines 44–46: +2/3 prevotes for nil.
	if v.step == stepPrevote && set.Quorum(rs.prevotes.stakeFor(consensus.Hash{})) {
		v.vote(env, Precommit, consensus.Hash{}) // line 45
		v.setStep(stepPrecommit)                 // line 46
		return true
	}
	// Lines 47–48: +2/3 precommits of any kind: start the precommit timeout.
	if !rs.precommitTimer && set.Quorum(rs.precommits.total) {
		rs.precommitTimer = true
		env.SetTimer(v.cfg.Timeouts.PrecommitAt(v.round), tag(tmPrecommit, v.height, v.round))
		return true
	}
	return false
}

func (v *Validator) setStep(s step) {
	v.step = s
	v.moves++
}

// decide is lines 49–54 for the proposal p of round rs, whose block has
// +2/3 precommits there.
func (v *Validator) decide(env protocol.Env, rs *roundState, p *Proposal) {
	c := &Commit{Height: v.height, Round: uint32(rs.round), BlockHash: p.BlockHash, Proposed: p.Time, Block: p.Block}
	for i, vt := range rs.precommits.votes {
		if vt != nil && vt.BlockHash == p.BlockHash {
			c.Sigs = append(c.Sigs, CommitSig{Validator: v.cfg.Set.At(i).ID, Sig: vt.Sig})
		}
	}
	slices.SortFunc(c.Sigs, func(a, b CommitSig) int { return int(a.Validator) - int(b.Validator) })
	v.finalize(env, c)
}

// finalize records a decided block (line 51), moves to the next height
// (lines 52–53) and, after the commit timeout, starts its round 0 (line 54).
func (v *Validator) finalize(env protocol.Env, c *Commit) {
	consensus.Commit(env, v.cfg.App, consensus.Committed{Height: c.Height, Hash: c.BlockHash, Parent: v.parent,
		Round: c.Round, Proposed: c.Proposed, Latency: env.Now().Sub(c.Proposed), Bytes: len(c.Block)}, c.Block)
	v.commits[c.Height%uint64(len(v.commits))] = c
	for _, f := range v.cfg.Followers {
		v.send(env, f, c)
	}
	v.st.Rounds = c.Round + 1
	v.st.SigsVerified, v.st.SigsSkipped = v.cfg.Signer.Verified, v.cfg.Signer.Skipped
	env.Emit(v.st)
	v.cfg.Signer.Verified, v.cfg.Signer.Skipped = 0, 0

	v.parent = c.BlockHash
	v.enterHeight(c.Height + 1)
	future := v.future
	v.future = nil
	if v.aheadHeight > v.height {
		// Still behind: the next commit is already out there; ask for it now
		// and skip the commit timeout.
		v.send(env, v.aheadPeer, &consensus.BlockReq{Height: v.height})
		v.startRound(env, 0)
		v.replay(env, future)
		v.progress(env)
		return
	}
	v.waiting = true
	env.SetTimer(v.cfg.Timeouts.Commit, tag(tmCommitWait, v.height, 0))
	v.replay(env, future)
}

func (v *Validator) replay(env protocol.Env, msgs []protocol.Recv) {
	for _, in := range msgs {
		v.Handle(env, in)
	}
}

func (v *Validator) onTimer(env protocol.Env, t uint64) {
	kind, h32, r := untag(t)
	current := h32 == uint32(v.height) && r == v.round && !v.waiting
	switch kind {
	case tmPropose: // lines 57–60
		if current && v.step == stepPropose {
			v.timeout(env, stepPropose)
			v.vote(env, Prevote, consensus.Hash{})
			v.setStep(stepPrevote)
		}
	case tmPrevote: // lines 61–64
		if current && v.step == stepPrevote {
			v.timeout(env, stepPrevote)
			v.vote(env, Precommit, consensus.Hash{})
			v.setStep(stepPrecommit)
		}
	case tmPrecommit: // lines 65–67
		if current {
			v.timeout(env, stepPrecommit)
			v.startRound(env, v.round+1)
		}
	case tmCommitWait: // line 54, after the commit timeout
		if v.waiting && h32 == uint32(v.height) {
			v.waiting = false
			v.startRound(env, 0)
		}
	case tmRebroadcast:
		env.SetTimer(v.cfg.Rebroadcast, tag(tmRebroadcast, 0, 0))
		if v.moves == v.movesSeen && !v.waiting {
			// The current round's messages, and those of validRound: a
			// proposal that carries it as POLRound needs that round's
			// prevotes to be heard (line 28).
			if v.validRound >= 0 && v.validRound != v.round {
				v.resend(env, v.roundState(v.validRound))
			}
			v.resend(env, v.roundState(v.round))
			v.st.Resends++
		}
		v.movesSeen = v.moves
		return
	case tmCatchUp:
		v.catchUpArmed = false
		if v.aheadHeight > v.height {
			v.send(env, v.aheadPeer, &consensus.BlockReq{Height: v.height})
			v.catchUpArmed = true
			env.SetTimer(v.cfg.CatchUp, tag(tmCatchUp, 0, 0))
		}
		return
	}
	v.progress(env)
}

func (v *Validator) resend(env protocol.Env, rs *roundState) {
	for _, m := range rs.mine {
		v.broadcast(env, m)
	}
}

func (v *Validator) timeout(env protocol.Env, s step) {
	v.st.Timeouts++
	env.Emit(TimeoutFired{Height: v.height, Round: uint32(v.round), Step: s.String()})
}

func (v *Validator) onCommit(env protocol.Env, from protocol.NodeID, c *Commit) {
	switch {
	case c.Height < v.height:
		return
	case c.Height > v.height:
		if c.Height > v.aheadHeight {
			v.aheadHeight, v.aheadPeer = c.Height, from
		}
		v.send(env, from, &consensus.BlockReq{Height: v.height})
		return
	}
	if VerifyCommit(v.cfg.Set, &v.cfg.Signer, c) != nil {
		return
	}
	if hash, err := v.cfg.App.CheckBlock(v.height, v.parent, c.Block); err != nil || hash != c.BlockHash {
		return
	}
	v.waiting = false
	v.finalize(env, c)
}

// onTx hands a message that is not a consensus message to the App (a
// transaction for its mempool: consensus.TxSink). A transaction the App
// adds from a node outside the validator set (a client) is relayed to
// every other validator, as CometBFT's mempool gossip does, so that
// whoever proposes next has it; one from a validator is not, since that
// validator relayed it to everyone already (the validators form a full
// mesh). Relays are mempool traffic, not counted in HeightDone.
func (v *Validator) onTx(env protocol.Env, from protocol.NodeID, m wire.Msg) {
	if !consensus.OfferTx(env, v.cfg.App, m) {
		return
	}
	if _, isValidator := v.cfg.Set.Index(from); isValidator {
		return
	}
	for i := 0; i < v.n; i++ {
		if i != v.idx {
			env.Send(v.cfg.Set.At(i).ID, m)
		}
	}
}

func (v *Validator) onBlockReq(env protocol.Env, from protocol.NodeID, r *consensus.BlockReq) {
	if r.Height == 0 || r.Height >= v.height {
		return
	}
	if c := v.commits[r.Height%uint64(len(v.commits))]; c != nil && c.Height == r.Height {
		v.send(env, from, c)
	}
}
