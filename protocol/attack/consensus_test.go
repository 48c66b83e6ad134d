package attack_test

import (
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/attack"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/consensus/consensustest"
	"github.com/dais-sim/dais/protocol/prototest"
	"github.com/dais-sim/dais/protocol/wire"
)

const seed = 3

func validators(t *testing.T, n int) *consensus.ValidatorSet {
	t.Helper()
	var cands []consensus.Validator
	for i := 0; i < n; i++ {
		cands = append(cands, consensus.Candidate(seed, protocol.NodeID(i), 1))
	}
	set, err := consensus.NewValidatorSet(cands, 0)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func validator(set *consensus.ValidatorSet, id protocol.NodeID) (*bft.Validator, consensus.Signer, *consensustest.App) {
	s := consensus.Signer{Key: consensus.DeriveKey(seed, id)}
	app := consensustest.NewApp(8)
	return bft.NewValidator(bft.Config{Set: set, Signer: s, App: app, Timeouts: bft.DefaultTimeouts(),
		Rebroadcast: protocol.Hour, CatchUp: protocol.Hour}), s, app
}

// proposalFrom returns the height-1, round-0 proposal of its proposer.
func proposalFrom(set *consensus.ValidatorSet) *bft.Proposal {
	id := set.At(bft.Proposers(set, 1, 1)[0][0]).ID
	b, h := consensustest.NewApp(8).MakeBlock(1, consensus.Hash{}, id, 0)
	p := &bft.Proposal{Height: 1, POLRound: -1, Proposer: id, BlockHash: h, Block: b}
	s := consensus.Signer{Key: consensus.DeriveKey(seed, id)}
	p.Sig = s.Sign(p.SignBytes())
	return p
}

// notProposer is a validator that does not propose height 1, round 0.
func notProposer(set *consensus.ValidatorSet) protocol.NodeID {
	return set.At((bft.Proposers(set, 1, 1)[0][0] + 1) % set.Len()).ID
}

func TestSilentSendsNothing(t *testing.T) {
	set := validators(t, 4)
	for _, id := range []protocol.NodeID{set.At(bft.Proposers(set, 1, 1)[0][0]).ID, notProposer(set)} {
		v, _, _ := validator(set, id)
		n := attack.Silent(v)
		env := prototest.NewEnv(id, 1)
		env.Node = n
		n.Handle(env, protocol.Start{})
		n.Handle(env, protocol.Recv{From: 9, Msg: proposalFrom(set)})
		env.Advance(10 * protocol.Second)
		if s := env.TakeSent(); len(s) != 0 {
			t.Errorf("silent validator %d sent %d messages", id, len(s))
		}
		if v.Height() != 1 || len(env.Timers()) == 0 {
			t.Errorf("the validator inside should still run (height %d, %d timers)", v.Height(), len(env.Timers()))
		}
	}
}

func TestDelayVotes(t *testing.T) {
	set := validators(t, 4)
	id := notProposer(set)
	v, _, _ := validator(set, id)
	d := 700 * protocol.Millisecond
	n := attack.DelayVotes(v, d)
	env := prototest.NewEnv(id, 1)
	env.Node = n
	n.Handle(env, protocol.Start{})
	env.SetNow(protocol.Time(protocol.Second))
	n.Handle(env, protocol.Recv{From: 9, Msg: proposalFrom(set)})
	if s := env.TakeSent(); len(s) != 0 {
		t.Fatalf("sent %d messages at once, want the prevotes held", len(s))
	}
	env.Advance(d - 1)
	if s := env.TakeSent(); len(s) != 0 {
		t.Fatalf("released %d votes before the delay", len(s))
	}
	env.Advance(1)
	s := env.TakeSent()
	if len(s) != 3 {
		t.Fatalf("released %d votes after the delay, want the prevote to 3 validators", len(s))
	}
	for _, m := range s {
		if vt, ok := m.Msg.(*bft.Vote); !ok || vt.Type != bft.Prevote {
			t.Errorf("released %T, want a prevote", m.Msg)
		}
	}
	// Non-votes are not held.
	n.Handle(env, protocol.Recv{From: 9, Msg: &bft.Commit{Height: 5}})
	if s := env.TakeSent(); len(s) != 1 {
		t.Errorf("a catch-up request was held: %d sent", len(s))
	}
}

// sentTo groups what was sent by receiver.
func sentTo(ss []prototest.Sent) map[protocol.NodeID][]wire.Msg {
	out := map[protocol.NodeID][]wire.Msg{}
	for _, s := range ss {
		out[s.To] = append(out[s.To], s.Msg)
	}
	return out
}

// TestEquivocateVotes: side A gets the honest prevote, side B a conflicting
// one, both validly signed.
func TestEquivocateVotes(t *testing.T) {
	set := validators(t, 4)
	id := notProposer(set)
	v, s, app := validator(set, id)
	inB := func(n protocol.NodeID) bool { return n >= 2 }
	n := attack.Equivocate(v, attack.EquivocateConfig{Signer: s, App: app, InB: inB})
	env := prototest.NewEnv(id, 1)
	env.Node = n
	n.Handle(env, protocol.Start{})
	p := proposalFrom(set)
	n.Handle(env, protocol.Recv{From: p.Proposer, Msg: p})
	check := consensus.Signer{}
	for to, ms := range sentTo(env.TakeSent()) {
		vt := ms[0].(*bft.Vote)
		want := p.BlockHash
		if inB(to) {
			want = consensus.Hash{}
		}
		if len(ms) != 1 || vt.BlockHash != want || vt.Validator != id {
			t.Errorf("node %d got %d votes, for %x; want one for %x", to, len(ms), vt.BlockHash[:4], want[:4])
		}
		if !check.Verify(set.At(mustIndex(set, id)).PubKey, vt.SignBytes(), vt.Sig) {
			t.Errorf("the vote to node %d is not validly signed", to)
		}
	}
}

func mustIndex(set *consensus.ValidatorSet, id protocol.NodeID) int {
	i, _ := set.Index(id)
	return i
}

// TestEquivocateSplit: a colluding proposer sends side A and side B two
// valid blocks, and a colluding voter, whatever it saw, votes for each
// side's own block.
func TestEquivocateSplit(t *testing.T) {
	set := validators(t, 4)
	prop := set.At(bft.Proposers(set, 1, 1)[0][0]).ID
	voter := notProposer(set)
	inB := func(n protocol.NodeID) bool { return n != prop && n != voter && n%2 == 0 }
	co := attack.NewCoalition()

	pv, ps, papp := validator(set, prop)
	pn := attack.Equivocate(pv, attack.EquivocateConfig{Signer: ps, App: papp, InB: inB, Coalition: co})
	penv := prototest.NewEnv(prop, 1)
	penv.Node = pn
	pn.Handle(penv, protocol.Start{})
	byTo := sentTo(penv.TakeSent())
	var a, b *bft.Proposal
	for to, ms := range byTo {
		for _, m := range ms {
			if p, ok := m.(*bft.Proposal); ok {
				if inB(to) {
					b = p
				} else {
					a = p
				}
			}
		}
	}
	if a == nil || b == nil || a.BlockHash == b.BlockHash || co.Splits() != 1 {
		t.Fatalf("proposals A %v B %v, %d splits; want two different ones", a != nil, b != nil, co.Splits())
	}
	check := consensus.Signer{}
	if h, err := consensustest.NewApp(0).CheckBlock(1, consensus.Hash{}, b.Block); err != nil || h != b.BlockHash ||
		!check.Verify(set.At(mustIndex(set, prop)).PubKey, b.SignBytes(), b.Sig) {
		t.Fatalf("block B is not a valid, signed proposal: %v", err)
	}

	vv, vs, vapp := validator(set, voter)
	vn := attack.Equivocate(vv, attack.EquivocateConfig{Signer: vs, App: vapp, InB: inB, Coalition: co})
	venv := prototest.NewEnv(voter, 1)
	venv.Node = vn
	vn.Handle(venv, protocol.Start{})
	vn.Handle(venv, protocol.Recv{From: prop, Msg: a})
	for to, ms := range sentTo(venv.TakeSent()) {
		want := a.BlockHash
		if inB(to) {
			want = b.BlockHash
		}
		if vt := ms[0].(*bft.Vote); vt.BlockHash != want {
			t.Errorf("node %d (side B: %v) got a prevote for the other side's block", to, inB(to))
		}
	}
}
