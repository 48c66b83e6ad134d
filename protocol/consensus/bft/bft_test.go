package bft_test

import (
	"fmt"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/consensus/consensustest"
	"github.com/dais-sim/dais/protocol/prototest"
)

const seed = 7

// fixture is a validator under test driven by hand, with the keys of the
// others to forge their messages.
type fixture struct {
	t   *testing.T
	set *consensus.ValidatorSet
	me  protocol.NodeID
	v   *bft.Validator
	env *prototest.Env
}

func newSet(t *testing.T, stakes ...uint64) *consensus.ValidatorSet {
	t.Helper()
	var cands []consensus.Validator
	for i, s := range stakes {
		cands = append(cands, consensus.Candidate(seed, protocol.NodeID(i), s))
	}
	set, err := consensus.NewValidatorSet(cands, 0)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func newFixture(t *testing.T, set *consensus.ValidatorSet, me protocol.NodeID) *fixture {
	v := bft.NewValidator(bft.Config{Set: set, Signer: consensus.Signer{Key: consensus.DeriveKey(seed, me)},
		App: consensustest.NewApp(16), Timeouts: bft.DefaultTimeouts(), Rebroadcast: protocol.Hour, CatchUp: protocol.Hour})
	env := prototest.NewEnv(me, 1)
	env.Node = v
	v.Handle(env, protocol.Start{})
	return &fixture{t: t, set: set, me: me, v: v, env: env}
}

// block returns a block at height 1 and its hash; different makers give
// different blocks.
func block(maker protocol.NodeID) ([]byte, consensus.Hash) {
	return consensustest.NewApp(16).MakeBlock(1, consensus.Hash{}, maker, protocol.Time(maker))
}

func proposal(round uint32, pol int32, from protocol.NodeID, b []byte, h consensus.Hash) *bft.Proposal {
	p := &bft.Proposal{Height: 1, Round: round, POLRound: pol, Proposer: from, BlockHash: h, Block: b}
	s := consensus.Signer{Key: consensus.DeriveKey(seed, from)}
	p.Sig = s.Sign(p.SignBytes())
	return p
}

func vote(t bft.VoteType, round uint32, from protocol.NodeID, h consensus.Hash) *bft.Vote {
	v := &bft.Vote{Type: t, Height: 1, Round: round, BlockHash: h, Validator: from}
	s := consensus.Signer{Key: consensus.DeriveKey(seed, from)}
	v.Sig = s.Sign(v.SignBytes())
	return v
}

// deliver hands the validator messages, each from its signer.
func (f *fixture) deliver(ms ...any) {
	for _, m := range ms {
		switch m := m.(type) {
		case *bft.Proposal:
			f.v.Handle(f.env, protocol.Recv{From: m.Proposer, Msg: m})
		case *bft.Vote:
			f.v.Handle(f.env, protocol.Recv{From: m.Validator, Msg: m})
		}
	}
}

// votes returns the votes the validator sent since the last call, one per
// step (a broadcast sends the same vote to every other validator).
func (f *fixture) votes() []*bft.Vote {
	var out []*bft.Vote
	for _, s := range f.env.TakeSent() {
		if v, ok := s.Msg.(*bft.Vote); ok && (len(out) == 0 || out[len(out)-1] != v) {
			out = append(out, v)
		}
	}
	return out
}

func (f *fixture) wantVote(t bft.VoteType, round uint32, h consensus.Hash) {
	f.t.Helper()
	vs := f.votes()
	if len(vs) != 1 || vs[0].Type != t || vs[0].Round != round || vs[0].BlockHash != h {
		f.t.Fatalf("sent %s, want one %s in round %d for %s", describe(vs), t, round, name(h))
	}
}

func describe(vs []*bft.Vote) string {
	s := "["
	for _, v := range vs {
		s += fmt.Sprintf("%s r%d %s; ", v.Type, v.Round, name(v.BlockHash))
	}
	return s + "]"
}

var names = map[consensus.Hash]string{}

func name(h consensus.Hash) string {
	if h.IsZero() {
		return "nil"
	}
	if n, ok := names[h]; ok {
		return n
	}
	return "?"
}

// others returns the validators other than me and the given proposers.
func others(set *consensus.ValidatorSet, me protocol.NodeID) []protocol.NodeID {
	var out []protocol.NodeID
	for _, id := range set.IDs() {
		if id != me {
			out = append(out, id)
		}
	}
	return out
}

// pickMe returns a validator that proposes none of rounds 0..rounds−1 of
// height 1.
func pickMe(t *testing.T, set *consensus.ValidatorSet, rounds int) protocol.NodeID {
	props := bft.Proposers(set, 1, rounds)[0]
	for i := 0; i < set.Len(); i++ {
		free := true
		for _, p := range props {
			free = free && p != i
		}
		if free {
			return set.At(i).ID
		}
	}
	t.Fatal("every validator proposes in the first rounds")
	return 0
}

// TestLocking follows Algorithm 1 through a lock and its release: a
// validator that precommitted A in round 0 (lines 36–41) prevotes nil for
// another block B proposed without a proof of lock (line 26) or with a
// proof of lock older than its own (line 28 does not fire, line 59 on the
// timeout), and prevotes B once B has +2/3 prevotes in a round at or after
// its lockedRound (lines 28–30).
func TestLocking(t *testing.T) {
	set := newSet(t, 1, 1, 1, 1, 1, 1, 1) // 7 validators: quorum 5, f+1 = 3
	me := pickMe(t, set, 3)
	f := newFixture(t, set, me)
	props := bft.Proposers(set, 1, 3)[0]
	p0, p1, p2 := set.At(props[0]).ID, set.At(props[1]).ID, set.At(props[2]).ID
	o := others(set, me)
	blockA, a := block(p0)
	blockB, b := block(p1)
	names[a], names[b] = "A", "B"

	// Round 0: A is proposed; me prevotes it (line 24); +2/3 prevote A, so
	// me locks on A and precommits it (lines 36–41).
	f.deliver(proposal(0, -1, p0, blockA, a))
	f.wantVote(bft.Prevote, 0, a)
	f.deliver(vote(bft.Prevote, 0, o[0], a), vote(bft.Prevote, 0, o[1], a), vote(bft.Prevote, 0, o[2], a), vote(bft.Prevote, 0, o[3], a))
	f.wantVote(bft.Precommit, 0, a)
	if r, h := f.v.Locked(); r != 0 || h != a {
		t.Fatalf("locked on %s in round %d, want A in round 0", name(h), r)
	}
	// The others precommit nil; the precommit timeout moves me to round 1.
	f.deliver(vote(bft.Precommit, 0, o[0], consensus.Hash{}), vote(bft.Precommit, 0, o[1], consensus.Hash{}),
		vote(bft.Precommit, 0, o[2], consensus.Hash{}), vote(bft.Precommit, 0, o[3], consensus.Hash{}))
	f.env.Advance(bft.DefaultTimeouts().PrecommitAt(0))
	if f.v.Round() != 1 {
		t.Fatalf("round %d after the precommit timeout, want 1", f.v.Round())
	}

	// Round 1: B without a proof of lock: me is locked on A, so nil (line 26).
	f.deliver(proposal(1, -1, p1, blockB, b))
	f.wantVote(bft.Prevote, 1, consensus.Hash{})

	// f+1 of the stake is in round 2 (line 55): me follows.
	f.deliver(vote(bft.Prevote, 2, o[0], consensus.Hash{}), vote(bft.Prevote, 2, o[1], consensus.Hash{}), vote(bft.Prevote, 2, o[2], consensus.Hash{}))
	if f.v.Round() != 2 {
		t.Fatalf("round %d after f+1 messages of round 2, want 2", f.v.Round())
	}
	f.votes()

	// Round 2, first try: B re-proposed claiming a proof of lock from round
	// 1 that me has not seen: line 28 needs the +2/3 prevotes, so me waits.
	f.deliver(proposal(2, 1, p2, blockB, b))
	if vs := f.votes(); len(vs) != 0 {
		t.Fatalf("prevoted %s on a proof of lock it has not seen", describe(vs))
	}
	// The proof arrives: +2/3 prevoted B in round 1 ≥ lockedRound 0, so me
	// unlocks in effect and prevotes B (lines 28–30).
	f.deliver(vote(bft.Prevote, 1, o[0], b), vote(bft.Prevote, 1, o[1], b), vote(bft.Prevote, 1, o[3], b), vote(bft.Prevote, 1, o[4], b), vote(bft.Prevote, 1, o[5], b))
	f.wantVote(bft.Prevote, 2, b)
}

// TestLockedIgnoresOlderProof: a proof of lock older than the lock does not
// release it (line 29: lockedRound ≤ vr fails), so the validator prevotes
// nil.
func TestLockedIgnoresOlderProof(t *testing.T) {
	set := newSet(t, 1, 1, 1, 1, 1, 1, 1)
	me := pickMe(t, set, 3)
	f := newFixture(t, set, me)
	props := bft.Proposers(set, 1, 3)[0]
	p1, p2 := set.At(props[1]).ID, set.At(props[2]).ID
	o := others(set, me)
	blockA, a := block(p1)
	blockB, b := block(p2)
	names[a], names[b] = "A", "B"

	// Round 0: B gets +2/3 prevotes, but me never sees a proposal (it
	// prevotes nil on the propose timeout, line 59) and precommits nil.
	f.env.Advance(bft.DefaultTimeouts().ProposeAt(0))
	f.wantVote(bft.Prevote, 0, consensus.Hash{})
	f.deliver(vote(bft.Prevote, 0, o[0], b), vote(bft.Prevote, 0, o[1], b), vote(bft.Prevote, 0, o[2], b), vote(bft.Prevote, 0, o[3], b), vote(bft.Prevote, 0, o[4], b))
	f.env.Advance(bft.DefaultTimeouts().PrevoteAt(0))
	f.wantVote(bft.Precommit, 0, consensus.Hash{})
	f.deliver(vote(bft.Precommit, 0, o[0], consensus.Hash{}), vote(bft.Precommit, 0, o[1], consensus.Hash{}), vote(bft.Precommit, 0, o[2], consensus.Hash{}), vote(bft.Precommit, 0, o[3], consensus.Hash{}))
	f.env.Advance(bft.DefaultTimeouts().PrecommitAt(0))

	// Round 1: A is proposed and gets +2/3 prevotes: me locks on A in round 1.
	f.deliver(proposal(1, -1, p1, blockA, a))
	f.wantVote(bft.Prevote, 1, a)
	f.deliver(vote(bft.Prevote, 1, o[0], a), vote(bft.Prevote, 1, o[1], a), vote(bft.Prevote, 1, o[2], a), vote(bft.Prevote, 1, o[3], a))
	f.wantVote(bft.Precommit, 1, a)
	f.deliver(vote(bft.Precommit, 1, o[0], consensus.Hash{}), vote(bft.Precommit, 1, o[1], consensus.Hash{}), vote(bft.Precommit, 1, o[2], consensus.Hash{}), vote(bft.Precommit, 1, o[3], consensus.Hash{}))
	f.env.Advance(bft.DefaultTimeouts().PrecommitAt(1))

	// Round 2: B with its (real) proof of lock from round 0 < lockedRound 1.
	f.deliver(proposal(2, 0, p2, blockB, b))
	f.wantVote(bft.Prevote, 2, consensus.Hash{})
}

// TestTimeoutsGrowPerRound: each round's propose timeout is longer by
// ProposeDelta, both in the formula and in the timers the validator sets.
func TestTimeoutsGrowPerRound(t *testing.T) {
	to := bft.Timeouts{Propose: 3 * protocol.Second, ProposeDelta: 500 * protocol.Millisecond,
		Prevote: protocol.Second, PrevoteDelta: 250 * protocol.Millisecond,
		Precommit: 2 * protocol.Second, PrecommitDelta: 100 * protocol.Millisecond}
	for _, tc := range []struct {
		round                       int32
		propose, prevote, precommit protocol.Duration
	}{
		{0, 3 * protocol.Second, protocol.Second, 2 * protocol.Second},
		{1, 3500 * protocol.Millisecond, 1250 * protocol.Millisecond, 2100 * protocol.Millisecond},
		{4, 5 * protocol.Second, 2 * protocol.Second, 2400 * protocol.Millisecond},
	} {
		if got := to.ProposeAt(tc.round); got != tc.propose {
			t.Errorf("timeoutPropose(%d) = %v, want %v", tc.round, got, tc.propose)
		}
		if got := to.PrevoteAt(tc.round); got != tc.prevote {
			t.Errorf("timeoutPrevote(%d) = %v, want %v", tc.round, got, tc.prevote)
		}
		if got := to.PrecommitAt(tc.round); got != tc.precommit {
			t.Errorf("timeoutPrecommit(%d) = %v, want %v", tc.round, got, tc.precommit)
		}
	}

	// A lone validator whose peers never speak: each round ends with the
	// precommit timeout only after +2/3 precommits, so drive rounds with
	// nil votes and check the propose timer it sets on entering each round.
	set := newSet(t, 1, 1, 1, 1, 1, 1, 1)
	me := pickMe(t, set, 4)
	f := newFixture(t, set, me)
	o := others(set, me)
	def := bft.DefaultTimeouts()
	for r := uint32(0); r < 4; r++ {
		start := f.env.Now()
		ts := f.env.Timers()
		var got protocol.Duration = -1
		for _, tm := range ts {
			if tm.At.Sub(start) == def.ProposeAt(int32(r)) {
				got = tm.At.Sub(start)
			}
		}
		if got != def.ProposeAt(int32(r)) {
			t.Fatalf("round %d: timers %+v at %v, want one after %v", r, ts, start, def.ProposeAt(int32(r)))
		}
		f.env.Advance(def.ProposeAt(int32(r))) // prevote nil (line 59)
		for _, id := range o[:4] {
			f.deliver(vote(bft.Prevote, r, id, consensus.Hash{}))
		}
		// +2/3 prevotes for nil: precommit nil (line 45); +2/3 precommits
		// start the precommit timeout (line 47).
		for _, id := range o[:4] {
			f.deliver(vote(bft.Precommit, r, id, consensus.Hash{}))
		}
		before := f.env.Now()
		f.env.Advance(def.PrecommitAt(int32(r)))
		if f.v.Round() != int32(r+1) {
			t.Fatalf("round %d after the precommit timeout of round %d", f.v.Round(), r)
		}
		var fired int
		for _, e := range f.env.TakeEvents() {
			if tf, ok := e.Event.(bft.TimeoutFired); ok && tf.Round == r {
				fired++
			}
		}
		if fired != 2 || f.env.Now().Sub(before) != def.PrecommitAt(int32(r)) {
			t.Fatalf("round %d: %d timeouts fired, want propose and precommit", r, fired)
		}
	}
}

// TestProposerRotation: proposers are picked in proportion to stake over a
// full period, the same whatever order candidates come in, and the
// validator proposes by the same schedule.
func TestProposerRotation(t *testing.T) {
	stakes := []uint64{50, 30, 10, 10} // gcd 10: a period of 10 heights
	set := newSet(t, stakes...)
	props := bft.Proposers(set, 10, 1)
	count := map[protocol.NodeID]uint64{}
	var seq []protocol.NodeID
	for _, rs := range props {
		id := set.At(rs[0]).ID
		count[id]++
		seq = append(seq, id)
	}
	for i, s := range stakes {
		if count[protocol.NodeID(i)] != s/10 {
			t.Errorf("validator %d (stake %d) proposed %d of 10 heights, want %d", i, s, count[protocol.NodeID(i)], s/10)
		}
	}
	// Smooth: the largest validator never proposes three heights running.
	for i := 2; i < len(seq); i++ {
		if seq[i] == 0 && seq[i-1] == 0 && seq[i-2] == 0 {
			t.Errorf("validator 0 proposes three heights running: %v", seq)
		}
	}
	// The candidates' order does not matter.
	var rev []consensus.Validator
	for i := len(stakes) - 1; i >= 0; i-- {
		rev = append(rev, consensus.Candidate(seed, protocol.NodeID(i), stakes[i]))
	}
	set2, _ := consensus.NewValidatorSet(rev, 0)
	for h, rs := range bft.Proposers(set2, 10, 1) {
		if set2.At(rs[0]).ID != seq[h] {
			t.Fatalf("height %d: proposer %d with candidates reversed, %d in order", h+1, set2.At(rs[0]).ID, seq[h])
		}
	}
	// A validator follows the same schedule for the rounds of its height.
	rounds := bft.Proposers(set, 1, 5)[0]
	f := newFixture(t, set, 3)
	for r, i := range rounds {
		if got := f.v.ProposerOf(int32(r)); got != set.At(i).ID {
			t.Errorf("round %d: validator says %d proposes, schedule says %d", r, got, set.At(i).ID)
		}
	}
	if rounds[0] != props[0][0] {
		t.Errorf("round 0 of height 1 is %d, the first height's proposer %d", rounds[0], props[0][0])
	}
}

// TestForgedVoteIgnored: a vote whose signature does not verify is not
// counted, so it cannot complete a quorum.
func TestForgedVoteIgnored(t *testing.T) {
	set := newSet(t, 1, 1, 1, 1)
	me := pickMe(t, set, 1)
	f := newFixture(t, set, me)
	p0 := set.At(bft.Proposers(set, 1, 1)[0][0]).ID
	o := others(set, me)
	blk, h := block(p0)
	f.deliver(proposal(0, -1, p0, blk, h))
	f.wantVote(bft.Prevote, 0, h)
	forged := vote(bft.Prevote, 0, o[1], h)
	forged.Sig = vote(bft.Prevote, 0, o[0], h).Sig // o[0]'s signature on o[1]'s vote
	f.deliver(vote(bft.Prevote, 0, o[0], h), forged)
	if vs := f.votes(); len(vs) != 0 {
		t.Fatalf("precommitted on a forged vote: %s", describe(vs))
	}
	f.deliver(vote(bft.Prevote, 0, o[1], h))
	f.wantVote(bft.Precommit, 0, h)
}
