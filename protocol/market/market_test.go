package market

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/protocol/prototest"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/verify"
	"github.com/dais-sim/dais/protocol/wire"
)

func TestPick(t *testing.T) {
	c := []Candidate{
		{ID: 4, FreeSince: 10, Finish: 50, VTime: 3, Weight: 1},
		{ID: 2, FreeSince: 10, Finish: 40, VTime: 1, Weight: 0},
		{ID: 9, FreeSince: 5, Finish: 40, VTime: 1, Weight: 3},
	}
	for _, tc := range []struct {
		p    Policy
		want protocol.NodeID
	}{
		{FIFO, 9},      // waited longest
		{Fastest, 2},   // earliest finish, tie to the smaller ID
		{FairShare, 2}, // least virtual time, tie to the smaller ID
	} {
		if got := c[Pick(tc.p, c, 0)].ID; got != tc.want {
			t.Errorf("%s picked %d, want %d", tc.p, got, tc.want)
		}
	}
	// Lottery: by weight in ID order (2: 0, 4: 1, 9: 3 of 4).
	for _, tc := range []struct {
		u    float64
		want protocol.NodeID
	}{{0, 4}, {0.249, 4}, {0.25, 9}, {0.999, 9}} {
		if got := c[Pick(Lottery, c, tc.u)].ID; got != tc.want {
			t.Errorf("lottery at %g picked %d, want %d", tc.u, got, tc.want)
		}
	}
	zero := []Candidate{{ID: 3}, {ID: 1}}
	if got := zero[Pick(Lottery, zero, 0.6)].ID; got != 3 {
		t.Errorf("all-zero weights at 0.6 picked %d, want the second by ID (3)", got)
	}
	for _, p := range []Policy{FIFO, Fastest, FairShare, Lottery} {
		q, err := ParsePolicy(p.String())
		if err != nil || q != p {
			t.Errorf("%s does not parse back: %v", p, err)
		}
	}
}

// Weighted fair queueing: picking the least virtual time and charging
// FLOPs ÷ capacity gives each provider work in proportion to capacity
// (to within one unit).
func TestFairShareIsProportional(t *testing.T) {
	caps := []float64{1, 2, 5, 0.25}
	vt := make([]float64, len(caps))
	n := make([]int, len(caps))
	const units = 8250
	for range units {
		c := make([]Candidate, len(caps))
		for i := range caps {
			c[i] = Candidate{ID: protocol.NodeID(i), VTime: vt[i]}
		}
		k := Pick(FairShare, c, 0)
		vt[k] += 1 / caps[k]
		n[k]++
	}
	for i, cp := range caps {
		want := units * cp / 8.25
		if d := float64(n[i]) - want; d > 1 || d < -1 {
			t.Errorf("capacity %g got %d units, want %.0f", cp, n[i], want)
		}
	}
}

func TestSpecCodec(t *testing.T) {
	s := Spec{Kind: Training, Units: 4, UnitFLOPs: 1e15, UnitBytes: 5e12, MemBytes: 2e10, Steps: 32, Precision: gpu.FP16, Deadline: protocol.Minute}
	got, err := DecodeSpec(s.Encode())
	if err != nil || got != s {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for name, bad := range map[string]Spec{
		"no units": {Kind: Compute, Steps: 1},
		"no steps": {Kind: Compute, Units: 1},
		"kind":     {Kind: 9, Units: 1, Steps: 1},
	} {
		if _, err := DecodeSpec(bad.Encode()); !errors.Is(err, wire.ErrTooLarge) {
			t.Errorf("%s: %v, want a range error", name, err)
		}
	}
	if _, err := DecodeSpec(append(s.Encode(), 0)); !errors.Is(err, wire.ErrTrailing) {
		t.Errorf("trailing byte: %v", err)
	}
	if got := s.Step().FLOPs; got != 1e15/32 {
		t.Errorf("a step is %g FLOPs", got)
	}
}

func FuzzDecodeSpec(f *testing.F) {
	f.Add(Spec{Kind: Compute, Units: 8, UnitFLOPs: 1e14, Steps: 16}.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSpec(b)
		if err != nil {
			return
		}
		if string(s.Encode()) != string(b) {
			t.Fatalf("%x decodes to %+v, which encodes to %x", b, s, s.Encode())
		}
	})
}

var h100, _ = gpu.Lookup("h100")

// A provider joins, runs each assignment on its GPU, answers with the
// honest result (and checkpoint root when asked), and answers a dispute
// query with a checkpoint whose proof verifies against that root.
func TestProvider(t *testing.T) {
	env := prototest.NewEnv(5, 1)
	p := &Provider{Committee: 0, Class: h100}
	p.Handle(env, protocol.Start{})
	if s := env.TakeSent(); len(s) != 1 || s[0].Msg.(*Join).Role != RoleProvider || s[0].Msg.(*Join).Slots != 2 {
		t.Fatalf("start sent %+v", s)
	}
	job := chain.JobID{7}
	spec := Spec{Kind: Training, Units: 2, UnitFLOPs: 1e15, Steps: 16}
	// Work from anyone but the committee is ignored.
	p.Handle(env, protocol.Recv{From: 3, Msg: &Assign{Job: job, Unit: 1, Spec: spec, Root: true}})
	p.Handle(env, protocol.Recv{From: 3, Msg: &DisputeQuery{Job: job, Unit: 1, Step: 9, Steps: 16}})
	if j, s := env.TakeJobs(), env.TakeSent(); len(j)+len(s) != 0 {
		t.Fatalf("a non-member's work started %+v and sent %+v", j, s)
	}
	p.Handle(env, protocol.Recv{From: 0, Msg: &Assign{Job: job, Unit: 1, Spec: spec, Root: true}})
	jobs := env.TakeJobs()
	if len(jobs) != 1 || jobs[0].Job.FLOPs != 1e15 {
		t.Fatalf("submitted %+v", jobs)
	}
	p.Handle(env, protocol.JobDone{ID: jobs[0].ID, Result: gpu.Result{DurationNs: 2e9, EnergyJ: 1400}})
	res := env.TakeSent()[0].Msg.(*Result)
	root := verify.Root(verify.Trajectory(job, 1, 16))
	if res.Result != verify.Honest(job, 1, 16) || res.Root != root || res.Failed {
		t.Fatalf("result %+v", res)
	}
	if ev := env.TakeEvents(); len(ev) != 1 || ev[0].Event.(Computed).FLOPs != 1e15 {
		t.Errorf("events %+v", ev)
	}
	p.Handle(env, protocol.Recv{From: 0, Msg: &DisputeQuery{Job: job, Unit: 1, Step: 9, Steps: 16}})
	rv := env.TakeSent()[0].Msg.(*DisputeReveal)
	if !verify.VerifyProof(root, 17, 9, rv.Checkpoint, rv.Proof) {
		t.Error("the reveal does not verify against the committed root")
	}
	// A unit that does not fit fails.
	p.Handle(env, protocol.Recv{From: 0, Msg: &Assign{Job: job, Unit: 0, Spec: spec}})
	p.Handle(env, protocol.JobDone{ID: env.TakeJobs()[0].ID, Result: gpu.Result{Err: "no memory"}})
	if r := env.TakeSent()[0].Msg.(*Result); !r.Failed {
		t.Error("a failed job was not reported failed")
	}
	p.Handle(env, protocol.Stop{Leave: true})
	if s := env.TakeSent(); len(s) != 1 {
		t.Errorf("a leaving provider sent %d messages, want its Leave", len(s))
	}
}

func TestValidator(t *testing.T) {
	env := prototest.NewEnv(6, 1)
	v := &Validator{Committee: 0, Class: h100}
	v.Handle(env, protocol.Start{})
	env.TakeSent()
	job := chain.JobID{3}
	spec := Spec{Kind: Compute, Units: 1, UnitFLOPs: 8e14, Steps: 8}
	for _, tc := range []struct {
		m     *Replay
		flops float64
		want  verify.Hash
	}{
		{&Replay{Check: 1, Job: job, Spec: spec, Whole: true}, 8e14, verify.Honest(job, 0, 8)},
		{&Replay{Check: 2, Job: job, Spec: spec, Step: 3}, 1e14, verify.Checkpoint(job, 0, 4)},
	} {
		v.Handle(env, protocol.Recv{From: 0, Msg: tc.m})
		j := env.TakeJobs()[0]
		if j.Job.FLOPs != tc.flops {
			t.Errorf("check %d ran %g FLOPs, want %g", tc.m.Check, j.Job.FLOPs, tc.flops)
		}
		v.Handle(env, protocol.JobDone{ID: j.ID})
		if got := env.TakeSent()[0].Msg.(*Verdict); got.Check != tc.m.Check || got.Result != tc.want {
			t.Errorf("verdict %+v", got)
		}
	}
}

func TestRequester(t *testing.T) {
	env := prototest.NewEnv(7, 1)
	q := &Requester{Committee: 0, Arrivals: Arrivals{Process: Constant, Rate: 1},
		Types:       []JobType{{Name: "r", Kind: Compute, Share: 1, FLOPs: dist.Fixed{V: 2e14}, Units: 5, Intensity: 100, PricePerPFLOP: 3}},
		Until:       protocol.Time(10 * protocol.Second),
		CancelShare: 1, CancelAfter: 5 * protocol.Second}
	env.Node = q
	q.Handle(env, protocol.Start{})
	env.Advance(protocol.Second) // the first post, at a random phase
	first := env.TakeSent()
	if len(first) != 1 {
		t.Fatalf("sent %+v in the first second", first)
	}
	p := first[0].Msg.(*PostJob)
	if p.Budget != 3 || p.Spec.UnitBytes != 2e12 || p.Spec.Units != 5 || p.Spec.Steps != 1 {
		t.Errorf("post %+v: budget ⌈3 × 10¹⁵ FLOPs / 10¹⁵⌉ = 3, bytes 2·10¹²", p)
	}
	// The first job opens; its cancel timer fires; the others never open,
	// so they are not cancelled.
	q.Handle(env, protocol.Recv{From: 0, Msg: &JobStatus{Seq: p.Seq, Job: chain.JobID{1}, Status: Opened}})
	env.Advance(15 * protocol.Second)
	posts, cancels := 1, 0
	for _, s := range env.TakeSent() {
		switch m := s.Msg.(type) {
		case *PostJob:
			posts++
		case *Cancel:
			if m.Job != (chain.JobID{1}) {
				t.Errorf("cancelled %x, which never opened", m.Job[:2])
			}
			cancels++
		}
	}
	if posts < 9 || posts > 10 || cancels != 1 {
		t.Errorf("%d posts in 10 s at 1/s and %d cancels, want about 10 and 1", posts, cancels)
	}
	q.Handle(env, protocol.Recv{From: 0, Msg: &JobStatus{Seq: p.Seq, Job: chain.JobID{1}, Status: Cancelled, Verified: 2, Refund: 1}})
	found := false
	for _, e := range env.TakeEvents() {
		if f, ok := e.Event.(JobFinished); ok && f.Seq == p.Seq && f.Status == Cancelled && f.Verified == 2 {
			found = true
		}
	}
	if !found {
		t.Error("no JobFinished for the cancelled job")
	}
}

// A committee, driven by hand, opens a posted job when its post commits,
// assigns its units, accepts the results and settles: the provider gets
// its fee share, the pool its pot share, the rest is burned, and the
// escrow is empty.
func TestCommitteeSettles(t *testing.T) {
	const seed = 9
	keys := make([]chain.PubKey, 3) // 0 committee, 1 requester, 2 provider
	for i := range keys {
		keys[i] = chain.PubKeyOf(chain.KeyFor(seed, protocol.NodeID(i)))
	}
	genesis := []chain.Account{
		{Address: keys[1].Address(), Balance: 1000 * chain.Token},
		{Address: keys[2].Address(), Stake: 10 * chain.Token},
	}
	pol := rewards.DefaultPolicy()
	c, env := startTestCommittee(t, seed, keys, genesis, FIFO, Verification{Scheme: NoVerification})
	c.Handle(env, protocol.Recv{From: 2, Msg: &Join{Role: RoleProvider, Class: h100, Slots: 2}})
	spec := Spec{Kind: Compute, Units: 3, UnitFLOPs: 1e14, Steps: 4}
	const budget = 30*chain.Token + 2 // 10 tokens a unit, 2 base units of rounding
	c.Handle(env, protocol.Recv{From: 1, Msg: &PostJob{Seq: 1, Budget: budget, Spec: spec}})
	env.Advance(2500 * protocol.Millisecond) // the post commits in block 1
	var assigns []*Assign
	for _, s := range env.TakeSent() {
		if m, ok := s.Msg.(*Assign); ok && s.To == 2 {
			assigns = append(assigns, m)
		}
	}
	if len(assigns) != 2 {
		t.Fatalf("%d assignments to a provider with 2 slots", len(assigns))
	}
	job := assigns[0].Job
	answer := func(a *Assign) {
		c.Handle(env, protocol.Recv{From: 2, Msg: &Result{Job: a.Job, Unit: a.Unit, Result: verify.Honest(a.Job, a.Unit, a.Spec.Steps)}})
	}
	answer(assigns[0])
	third := env.TakeSent()
	if len(third) != 1 {
		t.Fatalf("after a result: sent %+v, want the third assignment", third)
	}
	answer(assigns[1])
	answer(third[0].Msg.(*Assign))
	env.Advance(5 * protocol.Second) // the settle goes into block 2 or 3 and commits
	l := c.Ledger()
	if j, ok := l.Job(job); !ok || j.Escrow != 0 {
		t.Fatalf("job %+v after settlement", j)
	}
	price := rewards.Tokens(budget / 3)
	split := pol.Fees.Split(price)
	if got := l.Account(keys[2].Address()).Balance; got < uint64(3*split.Provider) {
		t.Errorf("provider holds %d, want at least its fee share %d", got, 3*split.Provider)
	}
	if got := 1000*chain.Token - l.Account(keys[1].Address()).Balance; got != uint64(3*price) {
		t.Errorf("requester paid %d, want 3 units × %d (the rounding refunded)", got, price)
	}
	var status *JobStatus
	for _, s := range env.TakeSent() {
		if m, ok := s.Msg.(*JobStatus); ok && m.Status == Done {
			status = m
		}
	}
	if status == nil || status.Verified != 3 || status.Refund != 2 {
		t.Errorf("final status %+v, want done, 3 verified, 2 refunded", status)
	}
	if err := l.CheckSupply(); err != nil {
		t.Error(err)
	}
}

// A unit with input waits for it: the provider fetches it from the
// assignment's source, one unit at a time in assignment order, runs a unit
// only once its input arrived from that source, and sends the output to
// the source before its result to the committee.
func TestProviderMovesUnitData(t *testing.T) {
	env := prototest.NewEnv(5, 1)
	p := &Provider{Committee: 0, Class: h100, DownBps: 1e9, UpBps: 2e8}
	p.Handle(env, protocol.Start{})
	if j := env.TakeSent()[0].Msg.(*Join); j.DownBps != 1e9 || j.UpBps != 2e8 {
		t.Fatalf("join %+v does not declare the link", j)
	}
	job := chain.JobID{4}
	spec := Spec{Kind: Compute, Units: 2, UnitFLOPs: 1e12, Steps: 1, InputBytes: 5e5, OutputBytes: 7e3}
	for u := range uint32(2) {
		p.Handle(env, protocol.Recv{From: 0, Msg: &Assign{Job: job, Unit: u, Spec: spec, Source: 3}})
	}
	s := env.TakeSent()
	if len(s) != 1 || s[0].To != 3 || *s[0].Msg.(*Fetch) != (Fetch{Job: job, Unit: 0, Bytes: 5e5}) || len(env.TakeJobs()) != 0 {
		t.Fatalf("after two assignments: sent %+v; want one fetch of unit 0 from the source and nothing run", s)
	}
	// Input from someone else, or for the other unit, runs nothing.
	p.Handle(env, protocol.Recv{From: 2, Msg: &Data{Job: job, Unit: 0, Bytes: 5e5}})
	p.Handle(env, protocol.Recv{From: 3, Msg: &Data{Job: job, Unit: 1, Bytes: 5e5}})
	if j := env.TakeJobs(); len(j) != 0 {
		t.Fatalf("ran %+v before unit 0's input came from its source", j)
	}
	p.Handle(env, protocol.Recv{From: 3, Msg: &Data{Job: job, Unit: 0, Bytes: 5e5}})
	jobs, s := env.TakeJobs(), env.TakeSent()
	if len(jobs) != 1 || len(s) != 1 || s[0].Msg.(*Fetch).Unit != 1 {
		t.Fatalf("unit 0's input arrived: ran %+v, sent %+v; want unit 0 run and unit 1 fetched", jobs, s)
	}
	p.Handle(env, protocol.JobDone{ID: jobs[0].ID})
	s = env.TakeSent()
	if len(s) != 2 || s[0].To != 3 || !s[0].Msg.(*Data).Output || s[0].Msg.(*Data).Bytes != 7e3 || s[1].To != 0 {
		t.Fatalf("unit 0 done: sent %+v; want its output to the source, then its result to the committee", s)
	}
	if r := s[1].Msg.(*Result); r.Unit != 0 || r.Result != verify.Honest(job, 0, 1) {
		t.Errorf("result %+v", r)
	}
}

// A requester's stream type opens a session and releases one unit into it
// at each arrival, each unit of its own size; at Until it ends the
// session.
func TestRequesterStreamsASession(t *testing.T) {
	env := prototest.NewEnv(7, 1)
	q := &Requester{Committee: 0, Arrivals: Arrivals{Process: Poisson, Rate: 10},
		Types: []JobType{{Name: "infer", Kind: Inference, Share: 1, FLOPs: dist.Exponential{M: 1e12}, Units: 1000, Budget: 5e9, Stream: true}},
		Until: protocol.Time(2 * protocol.Second)}
	env.Node = q
	q.Handle(env, protocol.Start{})
	env.Advance(3 * protocol.Second)
	var posts []*PostJob
	var rel []*Release
	for _, s := range env.TakeSent() {
		switch m := s.Msg.(type) {
		case *PostJob:
			posts = append(posts, m)
		case *Release:
			rel = append(rel, m)
		}
	}
	if len(posts) != 1 || !posts[0].Spec.Stream || posts[0].Spec.Units != 1000 || posts[0].Spec.UnitFLOPs != 1e12 {
		t.Fatalf("posts %+v: want one session of 1,000 units stating the mean size", posts)
	}
	if n := len(rel); n < 10 || n > 35 || !rel[n-1].End {
		t.Fatalf("%d releases in 2 s at 10/s, the last %+v: want about 20 and an end", n, rel[n-1])
	}
	sizes := map[uint64]bool{}
	for i, r := range rel[:len(rel)-1] {
		if r.Seq != posts[0].Seq || r.Unit != uint32(i) || r.End || r.Posted <= 0 {
			t.Fatalf("release %d: %+v", i, r)
		}
		sizes[r.FLOPs] = true
	}
	if len(sizes) < len(rel)-2 {
		t.Errorf("%d distinct sizes among %d units: each should draw its own", len(sizes), len(rel)-1)
	}
}

// A unit whose every replica timed out runs again on the same providers
// once they answer: with as many providers as replicas (a live committee
// that restarted and assigned before it was connected), holding the
// lost replicas against them left the unit queued for ever.
func TestTimedOutUnitRunsAgain(t *testing.T) {
	const seed = 9
	keys := make([]chain.PubKey, 4) // 0 committee, 1 requester, 2 and 3 providers
	for i := range keys {
		keys[i] = chain.PubKeyOf(chain.KeyFor(seed, protocol.NodeID(i)))
	}
	c, env := startTestCommittee(t, seed, keys, []chain.Account{
		{Address: keys[1].Address(), Balance: 1000 * chain.Token},
		{Address: keys[2].Address(), Stake: 10 * chain.Token}, {Address: keys[3].Address(), Stake: 10 * chain.Token}},
		FIFO, Verification{Scheme: Redundancy, Replicas: 2, Quorum: 2})
	for _, p := range []protocol.NodeID{2, 3} {
		c.Handle(env, protocol.Recv{From: p, Msg: &Join{Role: RoleProvider, Class: h100, Slots: 1}})
	}
	c.Handle(env, protocol.Recv{From: 1, Msg: &PostJob{Seq: 1, Budget: 10 * chain.Token, Spec: Spec{Kind: Compute, Units: 1, UnitFLOPs: 1e14, Steps: 1}}})
	assigned := func() map[protocol.NodeID]*Assign {
		out := map[protocol.NodeID]*Assign{}
		for _, s := range env.TakeSent() {
			if m, ok := s.Msg.(*Assign); ok {
				out[s.To] = m
			}
		}
		return out
	}
	env.Advance(2500 * protocol.Millisecond) // the post commits; both replicas go out
	first := assigned()
	if len(first) != 2 {
		t.Fatalf("assigned %v, want the unit on providers 2 and 3", first)
	}
	env.Advance(10 * protocol.Minute) // neither answers: both replicas time out
	if again := assigned(); len(again) != 0 {
		t.Fatalf("assigned %v to providers that have not answered since they timed out", again)
	}
	// Their late answers are not results, but they show the providers are
	// back; the unit runs again on both.
	for p, a := range first {
		c.Handle(env, protocol.Recv{From: p, Msg: &Result{Job: a.Job, Unit: a.Unit, Result: verify.Honest(a.Job, a.Unit, a.Spec.Steps)}})
	}
	env.Advance(2 * protocol.Second)
	second := assigned()
	if len(second) != 2 {
		t.Fatalf("after the late answers: assigned %v, want the unit again on providers 2 and 3", second)
	}
	for p, a := range second {
		c.Handle(env, protocol.Recv{From: p, Msg: &Result{Job: a.Job, Unit: a.Unit, Result: verify.Honest(a.Job, a.Unit, a.Spec.Steps)}})
	}
	env.Advance(5 * protocol.Second)
	var done bool
	for _, s := range env.TakeSent() {
		if m, ok := s.Msg.(*JobStatus); ok && m.Status == Done && m.Verified == 1 {
			done = true
		}
	}
	if !done {
		t.Error("the job did not end done with its unit verified")
	}
}

// A payout to more accounts than one transaction can carry goes out in
// chunks, and its completion runs once, after the last: at 10,000
// providers a reward period's payout was refused (over MaxTxBytes) and
// the run panicked.
func TestPayoutInChunks(t *testing.T) {
	const seed = 9
	keys := []chain.PubKey{chain.PubKeyOf(chain.KeyFor(seed, 0))}
	special := func(i uint32) chain.PubKey { return testSpecial(seed, i) }
	const n = 3*payoutChunk + 17
	c, env := startTestCommittee(t, seed, keys, []chain.Account{{Address: special(1).Address(), Balance: 10 * n}},
		FIFO, Verification{Scheme: NoVerification})
	credits := make([]chain.Credit, n)
	for i := range credits {
		credits[i] = chain.Credit{To: chain.PubKeyOf(chain.KeyFor(seed, protocol.NodeID(2000+i))).Address(), Amount: 10}
	}
	size := func(cs []chain.Credit) int {
		return len(chain.Sign(chain.KeyFor(seed, 1001), chain.NewPayout(0, 1, cs)).Encoded())
	}
	if one, all := size(credits[:payoutChunk]), size(credits); one > chain.MaxTxBytes || all <= chain.MaxTxBytes {
		t.Fatalf("a chunk encodes in %d bytes, the whole payout in %d: want the chunk under %d and the whole over it", one, all, chain.MaxTxBytes)
	}
	var done []uint64
	if !c.submitPayout(env, special(1), credits, func(_ protocol.Env, h uint64) { done = append(done, h) }) {
		t.Fatal("the payout was refused")
	}
	env.Advance(5 * protocol.Second)
	if len(done) != 1 {
		t.Fatalf("completion ran %d times, want once", len(done))
	}
	l := c.Ledger()
	paid := 0
	for _, cr := range credits {
		if l.Account(cr.To).Balance == 10 {
			paid++
		}
	}
	if paid != n {
		t.Errorf("%d of %d accounts credited", paid, n)
	}
}

// TestKeyedMatchPicksAsPickDoes holds the per-class ordered sets that
// FIFO and FairShare match from (firstEligible) to the linear weighing of
// every free provider (weighAll, Pick), at every unit a busy market is
// about to place: providers of five classes with one to three slots and
// their own links, jobs that need more memory than some classes have or
// carry deadlines, redundant units (a provider holding a replica is not
// eligible again), answers, failures, timeouts, leaves, and joins again,
// online or not, as another class.
func TestKeyedMatchPicksAsPickDoes(t *testing.T) {
	for _, pol := range []Policy{FIFO, FairShare, Fastest} {
		t.Run(pol.String(), func(t *testing.T) { keyedMatch(t, pol) })
	}
}

func keyedMatch(t *testing.T, pol Policy) {
	const (
		seed      = 11
		requester = 1
		first     = 2 // providers 2…61
		providers = 60
	)
	keys := make([]chain.PubKey, first+providers)
	genesis := []chain.Account{}
	for i := range keys {
		keys[i] = chain.PubKeyOf(chain.KeyFor(seed, protocol.NodeID(i)))
		if i == requester {
			genesis = append(genesis, chain.Account{Address: keys[i].Address(), Balance: 1e9 * chain.Token})
		} else if i >= first {
			genesis = append(genesis, chain.Account{Address: keys[i].Address(), Stake: 10 * chain.Token})
		}
	}
	c, env := startTestCommittee(t, seed, keys, genesis, pol, Verification{Scheme: Redundancy, Replicas: 2, Quorum: 2})
	var probes, placed, walked int
	matchProbe = func(c *Committee, u *unit, now protocol.Time) {
		probes++
		a, fa := c.firstEligible(u, now)
		// The ID-ordered free list weighAll walks, which keyed policies
		// do not keep.
		c.free = c.free[:0]
		for _, p := range c.provs {
			if p.inFree {
				c.free = append(c.free, p)
			}
		}
		if len(c.free) != c.nfree {
			t.Fatalf("%d providers free, counted %d", len(c.free), c.nfree)
		}
		b, fb := c.weighAll(nil, u, now)
		if a != b || fa != fb {
			t.Fatalf("unit %d of job %x at %v: the ordered sets pick %v (finish %v), weighing every free provider %v (finish %v)",
				u.idx, u.job.id[:4], now, idOf(a), fa, idOf(b), fb)
		}
		if a == nil {
			return
		}
		placed++
		head := c.free[0]
		for _, p := range c.free[1:] {
			if c.before(p, head) {
				head = p
			}
		}
		if head != a {
			walked++ // the first free provider in key order was passed over
		}
	}
	defer func() { matchProbe = nil }()

	rng := rand.New(rand.NewPCG(seed, uint64(pol)))
	var classes []gpu.Class
	for _, n := range []string{"h100", "a100", "rtx4090", "t4", "cpu"} {
		cl, _ := gpu.Lookup(n)
		classes = append(classes, cl)
	}
	links := []uint64{0, 100e6, 1e9, 10e9}
	joins := map[protocol.NodeID]int{}
	join := func(p protocol.NodeID) { // a provider joining again comes as the next class
		i := int(p) - first
		joins[p]++
		c.Handle(env, protocol.Recv{From: p, Msg: &Join{Role: RoleProvider, Class: classes[(i+joins[p])%len(classes)], Slots: uint32(1 + i%3),
			DownBps: links[i%len(links)], UpBps: links[(i/4)%len(links)]}})
	}
	for p := range providers {
		join(protocol.NodeID(first + p))
	}
	seq := uint64(0)
	post := func() {
		seq++
		mem := []uint64{0, 8e9, 30e9, 60e9}[rng.IntN(4)]
		var deadline protocol.Duration
		if rng.IntN(3) == 0 {
			deadline = protocol.Duration(20+rng.IntN(120)) * protocol.Second
		}
		c.Handle(env, protocol.Recv{From: requester, Msg: &PostJob{Seq: seq, Budget: 1e6 * chain.Token, Spec: Spec{
			Kind: Compute, Units: uint32(4 + rng.IntN(30)), UnitFLOPs: uint64(1e13 * (1 + rng.IntN(100))), MemBytes: mem,
			Steps: 1, Deadline: deadline, InputBytes: uint64(rng.IntN(3)) * 1e8, OutputBytes: uint64(rng.IntN(2)) * 1e7}}})
	}
	running := map[protocol.NodeID][]*Assign{}
	closes := 0
	for step := range 600 {
		if step%8 == 0 {
			post()
		}
		env.Advance(protocol.Duration(100+rng.IntN(2900)) * protocol.Millisecond)
		for _, ev := range env.TakeEvents() {
			if _, ok := ev.Event.(JobClosed); ok {
				closes++
			}
		}
		for _, s := range env.TakeSent() {
			if a, ok := s.Msg.(*Assign); ok {
				running[s.To] = append(running[s.To], a)
			}
		}
		for p := range providers {
			id := protocol.NodeID(first + p)
			switch r := rng.IntN(100); {
			case r < 1: // leaves, and joins again later
				c.Handle(env, protocol.Recv{From: id, Msg: &Leave{}})
				delete(running, id)
			case r < 2:
				join(id)
			case r < 40 && len(running[id]) > 0: // answers its oldest unit (or fails it, or stays silent)
				a := running[id][0]
				running[id] = running[id][1:]
				if x := rng.IntN(20); x > 0 {
					c.Handle(env, protocol.Recv{From: id, Msg: &Result{Job: a.Job, Unit: a.Unit, Failed: x == 1,
						Result: verify.Honest(a.Job, a.Unit, a.Spec.Steps)}})
				}
			}
		}
	}
	t.Logf("%s: %d units weighed, %d placed, %d past the first free provider in key order", pol, probes, placed, walked)
	closed := 0
	for _, j := range c.open {
		if j.state == jobClosed {
			closed++
		}
	}
	if closed != c.closedOpen || closes == 0 {
		t.Errorf("%d of the open list's %d jobs are closed, pruneOpen counted %d (%d closed in all)", closed, len(c.open), c.closedOpen, closes)
	}
	if placed < 500 || walked < 50 {
		t.Errorf("%d units placed, %d of them past the first free provider: the market did not exercise the ordered sets", placed, walked)
	}
}

func idOf(m *member) any {
	if m == nil {
		return "none"
	}
	return m.id
}

// testSpecial is the committee's account i of a test's keys (0 the
// settler, 1 the reward pool, 2 the treasury).
func testSpecial(seed uint64, i uint32) chain.PubKey {
	return chain.PubKeyOf(chain.KeyFor(seed, protocol.NodeID(1000+i)))
}

// startTestCommittee is node 0's committee over keys and genesis, as the
// unit tests run it (2 s blocks committed 300 ms later, the default
// reward policy, supply checked after every block), started on a
// prototest.Env.
func startTestCommittee(t *testing.T, seed uint64, keys []chain.PubKey, genesis []chain.Account, sched Policy, v Verification) (*Committee, *prototest.Env) {
	t.Helper()
	c, err := NewCommittee(Config{
		Ledger: chain.Config{Params: chain.DefaultParams(), KeySeed: seed, Genesis: genesis},
		Keys:   keys, Settler: testSpecial(seed, 0), Pool: testSpecial(seed, 1), Treasury: testSpecial(seed, 2),
		Policy: rewards.DefaultPolicy(), Scheduler: sched, Verify: v,
		BlockInterval: 2 * protocol.Second, CommitDelay: 300 * protocol.Millisecond, CheckSupply: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	env := prototest.NewEnv(0, 1)
	env.Node = c
	c.Handle(env, protocol.Start{})
	return c, env
}
