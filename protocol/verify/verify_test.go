package verify

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/rewards"
)

var job = chain.JobID{0xab, 1}

func TestMerkleProofs(t *testing.T) {
	for n := 1; n <= 33; n++ {
		leaves := Trajectory(job, uint32(n), uint32(n-1))
		root := Root(leaves)
		for i := range leaves {
			p := Prove(leaves, i)
			if !VerifyProof(root, n, i, leaves[i], p) {
				t.Fatalf("n=%d: proof of leaf %d does not verify", n, i)
			}
			if VerifyProof(root, n, i, Hash{1}, p) {
				t.Fatalf("n=%d: a wrong leaf %d verifies", n, i)
			}
			if n > 1 && VerifyProof(root, n, (i+1)%n, leaves[i], p) {
				t.Fatalf("n=%d: leaf %d verifies at index %d", n, i, (i+1)%n)
			}
		}
		if VerifyProof(root, n, n, leaves[0], nil) || VerifyProof(root, n, -1, leaves[0], nil) {
			t.Fatalf("n=%d: out-of-range index verifies", n)
		}
	}
	if Root(nil) != (Hash{}) {
		t.Error("root of nothing is not zero")
	}
	// A root changes when any leaf does.
	l := Trajectory(job, 0, 8)
	r := Root(l)
	l[5] = Hash{9}
	if Root(l) == r {
		t.Error("changing leaf 5 kept the root")
	}
}

func TestCheckpointsDiffer(t *testing.T) {
	seen := map[Hash]bool{}
	for _, j := range []chain.JobID{{1}, {2}} {
		for u := uint32(0); u < 3; u++ {
			for s := uint32(0); s < 3; s++ {
				h := Checkpoint(j, u, s)
				if seen[h] {
					t.Fatalf("checkpoint %x repeats", h[:4])
				}
				seen[h] = true
			}
		}
	}
	if Honest(job, 3, 7) != Checkpoint(job, 3, 7) {
		t.Error("the honest result is not the last checkpoint")
	}
}

func TestQuorum(t *testing.T) {
	good, bad, other := Hash{1}, Hash{2}, Hash{3}
	for _, tc := range []struct {
		name             string
		want, q, max     int
		votes            []Hash
		decided, failed  bool
		more             int
		winner           Hash
		agree, dissenter int
	}{
		{"pending", 2, 2, 3, []Hash{good}, false, false, 0, Hash{}, 0, 0},
		{"agree", 2, 2, 3, []Hash{good, good}, true, false, 0, good, 2, 0},
		{"disagree asks one more", 2, 2, 3, []Hash{good, bad}, false, false, 1, Hash{}, 0, 0},
		{"third breaks the tie", 3, 2, 3, []Hash{good, bad, good}, true, false, 0, good, 2, 1},
		{"three different fail", 3, 2, 3, []Hash{good, bad, other}, false, true, 0, Hash{}, 0, 0},
		{"k3 early quorum", 3, 2, 4, []Hash{bad, good, good}, true, false, 0, good, 2, 1},
		{"k1 takes the first", 1, 1, 1, []Hash{bad}, true, false, 0, bad, 1, 0},
	} {
		q := NewQuorum(tc.want, tc.q, tc.max)
		for i, h := range tc.votes {
			q.Add(protocol.NodeID(i), h)
		}
		d := q.Decide()
		if d.Decided != tc.decided || d.Failed != tc.failed || d.More != tc.more || d.Winner != tc.winner ||
			len(d.Agree) != tc.agree || len(d.Dissent) != tc.dissenter {
			t.Errorf("%s: %+v", tc.name, d)
		}
	}
	q := NewQuorum(2, 2, 3)
	q.Add(1, good)
	q.Add(1, bad) // a node votes once
	if len(q.Votes()) != 1 {
		t.Error("second vote of one node counted")
	}
	q.Add(2, bad)
	if d := q.Decide(); d.More != 1 || q.Want() != 3 {
		t.Fatalf("after a split: %+v, want %d", d, q.Want())
	}
	if d := q.Decide(); d.More != 0 {
		t.Errorf("deciding again without new votes asked for %d more", d.More)
	}
}

func TestTrust(t *testing.T) {
	tr := Trust{After: 3, Sample: 0.25}
	for i := range 3 {
		if tr.Trusted(7) {
			t.Fatalf("trusted after %d agreements", i)
		}
		tr.Agree(7)
	}
	if !tr.Trusted(7) {
		t.Fatal("not trusted after 3 agreements")
	}
	if tr.Replicas(7, 2, 0.1) != 2 || tr.Replicas(7, 2, 0.5) != 1 || tr.Replicas(8, 2, 0.9) != 2 {
		t.Error("replicas: trusted hosts are sampled with probability 0.25, others always replicated")
	}
	tr.Disagree(7)
	if tr.Trusted(7) {
		t.Error("still trusted after a disagreement")
	}
	if (&Trust{}).Trusted(7) {
		t.Error("the zero Trust trusts")
	}
}

// The game ends on the first step where the cheater's trajectory departs
// from the honest one, in at most ⌈log₂ steps⌉ rounds, whatever the
// cheater does after that step (oracle: the first differing checkpoint).
func TestDisputeFindsFirstBadStep(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		steps := uint32(rapid.IntRange(1, 300).Draw(t, "steps"))
		from := uint32(rapid.IntRange(1, int(steps)).Draw(t, "fake from"))
		honest := Trajectory(job, 0, steps)
		fake := make([]Hash, len(honest))
		copy(fake, honest)
		for i := from; i <= steps; i++ {
			if i == from || rapid.Bool().Draw(t, "differ") || i == steps {
				fake[i] = Hash{byte(i), 0xff}
			}
		}
		d := NewDispute(steps)
		for !d.Done() {
			m := d.Query()
			d.Answer(honest[m], fake[m])
		}
		// The game keeps "agree at lo, differ at hi"; the first difference
		// lies in (lo, hi], so it is lo+1 when the span is one step — unless
		// the fake returns to honest values later, when it may stop at any
		// differing step after an agreeing one.
		s := d.Step()
		if honest[s] != fake[s] || honest[s+1] == fake[s+1] {
			t.Fatalf("ended at step %d: agree %v, differ %v", s, honest[s] == fake[s], honest[s+1] != fake[s+1])
		}
		if d.Rounds() > MaxRounds(steps) {
			t.Fatalf("%d rounds for %d steps, at most %d", d.Rounds(), steps, MaxRounds(steps))
		}
	})
	if MaxRounds(1) != 0 || MaxRounds(2) != 1 || MaxRounds(32) != 5 || MaxRounds(33) != 6 {
		t.Error("MaxRounds")
	}
}

func TestEvidenceRoundTripAndJudge(t *testing.T) {
	offender := chain.Address{7}
	e := Evidence{Offence: rewards.LazyWork, How: ByReplay, Offender: offender, Job: job, Unit: 300, Steps: 16, Step: 16, Claimed: Hash{5}}
	got, err := DecodeEvidence(e.Encode())
	if err != nil || !bytes.Equal(got.Encode(), e.Encode()) || got.Proof != nil {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	committed := map[chain.Address]Hash{offender: {5}}
	judge := Judge(func(j chain.JobID, u uint32, a chain.Address) (Hash, error) {
		if h, ok := committed[a]; ok && j == job && u == 300 {
			return h, nil
		}
		return Hash{}, errors.New("no such commitment")
	}, func(Hash) (uint32, error) { return 0, errors.New("no such batch") })
	if err := judge(offender, e.Encode()); err != nil {
		t.Errorf("true evidence rejected: %v", err)
	}
	honest := e
	honest.Claimed = Honest(job, 300, 16)
	lied := e
	lied.Claimed = Hash{6}
	for name, tc := range map[string]struct {
		who chain.Address
		ev  []byte
	}{
		"honest claim":   {offender, honest.Encode()},
		"not committed":  {chain.Address{8}, func() []byte { x := e; x.Offender = chain.Address{8}; return x.Encode() }()},
		"other offender": {chain.Address{8}, e.Encode()},
		"other commit":   {offender, lied.Encode()},
		"garbage":        {offender, []byte{1, 2, 3}},
		"trailing bytes": {offender, append(e.Encode(), 0)},
	} {
		if err := judge(tc.who, tc.ev); !errors.Is(err, ErrEvidence) {
			t.Errorf("%s: %v, want ErrEvidence", name, err)
		}
	}
	// A dispute checkpoint and a validator's approval need no commitment.
	mid := Evidence{Offence: rewards.LazyWork, How: ByDispute, Offender: chain.Address{9}, Job: job, Unit: 1, Steps: 16, Step: 9, Claimed: Hash{1}}
	fa := Evidence{Offence: rewards.FalseApproval, How: ByReplay, Offender: chain.Address{9}, Job: job, Unit: 1, Steps: 16, Step: 16, Claimed: Hash{1}}
	for _, ev := range []Evidence{mid, fa} {
		if err := judge(chain.Address{9}, ev.Encode()); err != nil {
			t.Errorf("%v evidence rejected: %v", ev.How, err)
		}
	}
}

// A result committed in a batch is proven by its Merkle path to a
// recorded root: the judge takes the claim only where the path places
// exactly that leaf in a batch of the recorded size.
func TestEvidenceBatchProof(t *testing.T) {
	offender := chain.Address{7}
	var leaves []Hash
	for u := range uint32(5) {
		leaves = append(leaves, ResultLeaf(job, u, chain.Address{byte(u)}, Hash{byte(u)}))
	}
	claimed := Hash{0xba, 0xd}
	leaves[3] = ResultLeaf(job, 3, offender, claimed)
	root := Root(leaves)
	judge := Judge(nil, func(r Hash) (uint32, error) {
		if r != root {
			return 0, errors.New("no such batch")
		}
		return 5, nil
	})
	e := Evidence{Offence: rewards.LazyWork, How: ByReplay, Offender: offender, Job: job, Unit: 3, Steps: 4, Step: 4, Claimed: claimed,
		Proof: &ResultProof{Root: root, Count: 5, Index: 3, Path: Prove(leaves, 3)}}
	got, err := DecodeEvidence(e.Encode())
	if err != nil || !bytes.Equal(got.Encode(), e.Encode()) || got.Proof == nil || len(got.Proof.Path) != len(e.Proof.Path) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if err := judge(offender, e.Encode()); err != nil {
		t.Fatalf("true evidence rejected: %v", err)
	}
	bad := func(f func(e *Evidence)) []byte {
		x := e
		p := *e.Proof
		p.Path = slices.Clone(p.Path)
		x.Proof = &p
		f(&x)
		return x.Encode()
	}
	for name, ev := range map[string][]byte{
		"other unit":      bad(func(x *Evidence) { x.Unit = 2 }),
		"other claim":     bad(func(x *Evidence) { x.Claimed = Hash{1} }),
		"other index":     bad(func(x *Evidence) { x.Proof.Index = 2 }),
		"wrong count":     bad(func(x *Evidence) { x.Proof.Count = 6 }),
		"unknown root":    bad(func(x *Evidence) { x.Proof.Root = Hash{1} }),
		"bent path":       bad(func(x *Evidence) { x.Proof.Path[0][0] ^= 1 }),
		"short path":      bad(func(x *Evidence) { x.Proof.Path = x.Proof.Path[1:] }),
		"index past end":  bad(func(x *Evidence) { x.Proof.Index = 5 }),
		"trailing bytes":  append(e.Encode(), 0),
		"truncated proof": e.Encode()[:len(e.Encode())-1],
	} {
		if err := judge(offender, ev); !errors.Is(err, ErrEvidence) {
			t.Errorf("%s: %v, want ErrEvidence", name, err)
		}
	}
}

// FuzzDecodeEvidence: no input panics, and what decodes re-encodes to
// itself.
func FuzzDecodeEvidence(f *testing.F) {
	f.Add(Evidence{Offence: rewards.LazyWork, How: ByQuorum, Job: job, Unit: 1, Steps: 1, Step: 1}.Encode())
	f.Add(Evidence{Offence: rewards.FalseApproval, How: ByDispute, Job: job, Unit: 1 << 31, Steps: 1 << 20, Step: 7}.Encode())
	f.Add(Evidence{Offence: rewards.LazyWork, How: ByReplay, Job: job, Unit: 2, Steps: 1, Step: 1,
		Proof: &ResultProof{Count: 3, Index: 2, Path: []Hash{{1}, {2}}}}.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEvidence(b)
		if err != nil {
			return
		}
		if !bytes.Equal(e.Encode(), b) {
			t.Fatalf("%x decodes to %+v, which encodes to %x", b, e, e.Encode())
		}
	})
}
