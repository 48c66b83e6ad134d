package consensusrun

import (
	"math"
	"slices"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/scenarios/netspec"
	"github.com/dais-sim/dais/sim/check"
)

func mustRun(t *testing.T, p *Params) *Result {
	t.Helper()
	res, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// bft100 is 100 equally staked validators spread over the ten measured
// regions, with modeled signatures (a real run would spend its time in
// ed25519: 2·10⁴ checks per height).
func bft100(until protocol.Duration) *Params {
	return &Params{Seed: 1, Engine: BFT, Validators: 100, BFT: BFTParams{Sigs: consensus.SigModeled},
		Until: until, Record: true}
}

// matrixStats returns the median and largest round trip between two
// different regions.
func matrixStats(m netspec.Matrix) (median, largest protocol.Duration) {
	var rtts []protocol.Duration
	for i := range m.RTT {
		for j := range m.RTT[i] {
			if i != j {
				rtts = append(rtts, m.RTT[i][j])
			}
		}
	}
	slices.Sort(rtts)
	return rtts[len(rtts)/2], rtts[len(rtts)-1]
}

// TestBFT100Validators: 100 validators over the measured matrix decide a
// block about every timeout_commit (1 s) plus a height's latency, in round
// 0. Finality is bounded below by a cross-region round trip (a decision is
// three message delays, proposal, prevote and precommit, and a quorum of 67
// spans most of the ten regions) and above by three of the largest one-way
// delays (with unlimited links and no loss, every correct validator has the
// proposal after one, every prevote after two, every precommit after three).
func TestBFT100Validators(t *testing.T) {
	res := mustRun(t, bft100(60*protocol.Second))
	median, largest := matrixStats(netspec.DefaultMatrix())
	t.Logf("%d heights; finality p50 %v p95 %v p99 %v max %v; rounds per height %v; block interval p50 %v; %.0f messages and %.0f kB per block",
		res.Blocks(), res.Finality.P50, res.Finality.P95, res.Finality.P99, res.Finality.Max, res.RoundsPerHeight,
		res.BlockInterval.P50, res.PerBlock(res.Msgs), res.PerBlock(res.Bytes)/1e3)
	if len(res.Failures) != 0 {
		t.Fatalf("invariants broken: %v", res.Failures)
	}
	// A height takes 1 s of commit timeout and about 0.3 s of voting.
	if n := res.Blocks(); n < 40 || n > 60 {
		t.Errorf("%d heights in 60 s, want 40–60", n)
	}
	if res.RoundsPerHeight[0] != uint64(res.Blocks()) {
		t.Errorf("rounds per height %v: every height should decide in round 0 without faults", res.RoundsPerHeight)
	}
	if res.Finality.P50 <= median {
		t.Errorf("finality p50 %v is within one median cross-region round trip (%v)", res.Finality.P50, median)
	}
	// The recorder's quantiles are within 0.5%.
	if limit := 3 * largest / 2; res.Finality.Max > limit+limit/200 || res.Finality.P99 > limit {
		t.Errorf("finality p99 %v, max %v: more than three largest one-way delays (%v)", res.Finality.P99, res.Finality.Max, limit)
	}
	// Each height: a proposal to 99, two votes from each of 100 to 99.
	if m := res.PerBlock(res.ConsensusMsgs); m < 99+2*100*99 || m > 99+2*100*99+200 {
		t.Errorf("%.0f validator messages per height, want about %d", m, 99+2*100*99)
	}
	if res.SigsSkipped == 0 || res.SigsVerified != 0 {
		t.Errorf("modeled signatures: %d skipped, %d verified", res.SigsSkipped, res.SigsVerified)
	}
}

// TestEquivocationBelowOneThird: 33 of 100 equally staked validators
// collude to split the honest validators' view (each half gets its own
// block and all 33 attackers' votes for it). 33 + 33 honest = 66 is not
// more than two thirds, so no conflicting block is final anywhere, and
// heights still commit (in rounds whose proposer is honest).
func TestEquivocationBelowOneThird(t *testing.T) {
	for _, kind := range []AttackKind{Colluding, Equivocation} {
		p := bft100(60 * protocol.Second)
		p.Adversaries = []Adversary{{Kind: kind, Count: 33}}
		res := mustRun(t, p)
		t.Logf("%s ×33: %d heights, rounds per height %v, %d timeouts", kind, res.Blocks(), res.RoundsPerHeight, res.Timeouts)
		if len(res.Failures) != 0 {
			t.Errorf("%s ×33: invariants broken: %v", kind, res.Failures)
		}
		if res.Blocks() < 10 {
			t.Errorf("%s ×33: only %d heights in 60 s", kind, res.Blocks())
		}
	}
}

// TestEquivocationAboveOneThirdBreaksSafety: the same attack with 34
// attackers. Each honest half (33) plus the attackers (34) is 67 of 100,
// a quorum: each half finalizes its own block, and the checker says so.
func TestEquivocationAboveOneThirdBreaksSafety(t *testing.T) {
	p := bft100(30 * protocol.Second)
	p.Adversaries = []Adversary{{Kind: Colluding, Count: 34}}
	res := mustRun(t, p)
	var conflicts []check.Violation
	for _, f := range res.Failures {
		if f.Kind == check.Conflict {
			conflicts = append(conflicts, f)
		}
	}
	if len(conflicts) == 0 {
		t.Fatalf("no conflicting commits with 34 of 100 colluding; failures %v", res.Failures)
	}
	c := conflicts[0]
	t.Logf("%v", c)
	if c.Hash == c.Other || slices.Contains(res.Byzantine, c.Node) || slices.Contains(res.Byzantine, c.OtherNode) {
		t.Errorf("violation %+v should name two honest nodes and two blocks", c)
	}
}

// TestPartitionHalvesThenHeals: validators 0–49 are cut off from 50–99
// for 30 s. Neither side has more than two thirds, so no height is decided
// during the cut; after it heals, stuck validators resend their votes
// (Config.Rebroadcast), see +2/3 prevotes and precommits of the round
// they are in, time out into the next round and decide there.
func TestPartitionHalvesThenHeals(t *testing.T) {
	var half []protocol.NodeID
	for i := 0; i < 50; i++ {
		half = append(half, protocol.NodeID(i))
	}
	from, heal := protocol.Time(20*protocol.Second), protocol.Time(50*protocol.Second)
	p := bft100(80 * protocol.Second)
	p.Partitions = []netspec.Partition{{From: from, Until: heal, Nodes: half}}
	res := mustRun(t, p)
	if len(res.Failures) != 0 {
		t.Fatalf("invariants broken: %v", res.Failures)
	}
	before := res.CommittedIn(0, from)
	if during := res.CommittedIn(from, heal); len(during) != 0 {
		t.Fatalf("%d heights decided during a 50/50 partition (first at %v)", len(during), during[0].First)
	}
	after := res.CommittedIn(heal, protocol.Time(p.Until))
	if len(after) == 0 {
		t.Fatal("nothing decided after the partition healed")
	}
	first := after[0]
	resume := first.First.Sub(heal)
	t.Logf("%d heights before the cut, none during, %d in the 30 s after; first %v after the heal, in round %d",
		len(before), len(after), resume, first.Round)
	// Rebroadcast (2 s) + timeoutPrevote (1 s) + timeoutPrecommit (1 s) +
	// a round: about 4.5 s at worst.
	if resume > 5*protocol.Second || first.Round > 3 {
		t.Errorf("first decision %v after the heal, in round %d; want within 5 s and 3 rounds", resume, first.Round)
	}
	// Then back to the normal pace (≈1.3 s a height).
	if len(after) < 18 {
		t.Errorf("%d heights in the 30 s after the heal, want at least 18", len(after))
	}
}

// TestMinorityCatchesUp: 30 validators are cut off for 30 s while the
// other 70 (more than two thirds) go on deciding. After the heal the 30
// hear of later heights, ask for the commits they missed (BlockReq →
// Commit) and apply them: every height ends up committed by all 100, the
// missed ones within a few seconds of the heal.
func TestMinorityCatchesUp(t *testing.T) {
	var cut []protocol.NodeID
	for i := 0; i < 30; i++ {
		cut = append(cut, protocol.NodeID(i))
	}
	from, heal := protocol.Time(10*protocol.Second), protocol.Time(40*protocol.Second)
	p := bft100(60 * protocol.Second)
	p.Partitions = []netspec.Partition{{From: from, Until: heal, Nodes: cut}}
	res := mustRun(t, p)
	if len(res.Failures) != 0 {
		t.Fatalf("invariants broken: %v", res.Failures)
	}
	during := res.CommittedIn(from, heal)
	if len(during) < 10 {
		t.Fatalf("the 70 decided only %d heights during the cut", len(during))
	}
	var latest protocol.Time
	for _, h := range res.Heights[:len(res.Heights)-1] {
		if h.Commits != 100 {
			t.Errorf("height %d committed by %d of 100 validators", h.Height, h.Commits)
		}
		if h.First >= from && h.First < heal {
			latest = max(latest, h.Last)
		}
	}
	t.Logf("%d heights during the cut; the minority had them all %v after the heal", len(during), latest.Sub(heal))
	if latest.Sub(heal) > 5*protocol.Second {
		t.Errorf("the minority caught up %v after the heal, want within 5 s", latest.Sub(heal))
	}
}

// TestFollowers: 1,000 non-validators follow 100 validators by gossip:
// each applies every height (a commit behind at most, at the end) a flood
// later than the validators.
func TestFollowers(t *testing.T) {
	p := bft100(15 * protocol.Second)
	p.Followers = 1000
	p.Link = netspec.Link{UpBps: 1e9, DownBps: 1e9}
	res := mustRun(t, p)
	t.Logf("%d heights; validators p50 %v, followers p50 %v p99 %v (%d commits)", res.Blocks(),
		res.Finality.P50, res.FollowerFinality.P50, res.FollowerFinality.P99, res.FollowerFinality.N)
	if len(res.Failures) != 0 {
		t.Fatalf("invariants broken: %v", res.Failures)
	}
	if want := int64(1000 * (res.Blocks() - 1)); res.FollowerFinality.N < want {
		t.Errorf("%d follower commits, want at least %d", res.FollowerFinality.N, want)
	}
	if res.FollowerFinality.P50 <= res.Finality.P50 {
		t.Errorf("followers (p50 %v) ahead of validators (p50 %v)", res.FollowerFinality.P50, res.Finality.P50)
	}
}

// TestLossyNetwork: with 5% of messages lost and exponential jitter, a
// validator missing a vote stalls until a resend or a timeout, so heights
// slow down but keep coming, and followers recover lost commits by asking.
func TestLossyNetwork(t *testing.T) {
	p := bft100(60 * protocol.Second)
	p.Loss = 0.05
	p.Jitter = dist.Exponential{M: 0.01}
	p.Followers = 200
	res := mustRun(t, p)
	t.Logf("%d heights, rounds per height %v, %d timeouts, finality p50 %v p99 %v", res.Blocks(), res.RoundsPerHeight,
		res.Timeouts, res.Finality.P50, res.Finality.P99)
	if len(res.Failures) != 0 {
		t.Fatalf("invariants broken: %v", res.Failures)
	}
	if res.Blocks() < 25 {
		t.Errorf("%d heights in 60 s with 5%% loss", res.Blocks())
	}
	if want := int64(200 * (res.Blocks() - 1)); res.FollowerFinality.N < want {
		t.Errorf("%d follower commits, want at least %d", res.FollowerFinality.N, want)
	}
}

// TestDeterministic: the same seed gives the same run, event for event; a
// different seed a different one.
func TestDeterministic(t *testing.T) {
	trace := func(seed uint64, engine Engine) uint64 {
		p := &Params{Seed: seed, Engine: engine, Validators: 20, Followers: 30, Until: 10 * protocol.Second, Trace: true,
			BFT: BFTParams{Sigs: consensus.SigModeled}, Nakamoto: NakamotoParams{Interval: protocol.Second, Degree: 3},
			Adversaries: nil}
		if engine == BFT {
			p.Adversaries = []Adversary{{Kind: Equivocation, Count: 3}, {Kind: DelayedVotes, Count: 2, Delay: 300 * protocol.Millisecond}}
		}
		return mustRun(t, p).TraceHash
	}
	for _, e := range []Engine{BFT, Nakamoto} {
		a, b, c := trace(1, e), trace(1, e), trace(2, e)
		if a != b || a == c {
			t.Errorf("%s: trace hashes %x, %x (same seed), %x (other seed)", e, a, b, c)
		}
	}
}

// TestSilentAndDelayedValidators: a fifth of the validators silent slows
// the chain (their proposals time out) but does not stop it. With 34 of
// 100 holding their votes back 400 ms, the 66 others are not a quorum, so
// both the prevote and the precommit quorum wait for a late vote: finality
// grows by about two delays.
func TestSilentAndDelayedValidators(t *testing.T) {
	base := mustRun(t, bft100(30*protocol.Second))
	p := bft100(30 * protocol.Second)
	p.Adversaries = []Adversary{{Kind: SilentValidator, Count: 20}}
	silent := mustRun(t, p)
	p = bft100(30 * protocol.Second)
	p.Adversaries = []Adversary{{Kind: DelayedVotes, Count: 34, Delay: 400 * protocol.Millisecond}}
	delayed := mustRun(t, p)
	t.Logf("heights in 30 s: %d honest, %d with 20 silent (rounds %v), %d with 34 delaying (finality p50 %v vs %v)",
		base.Blocks(), silent.Blocks(), silent.RoundsPerHeight, delayed.Blocks(), delayed.Finality.P50, base.Finality.P50)
	for _, r := range []*Result{silent, delayed} {
		if len(r.Failures) != 0 {
			t.Fatalf("invariants broken: %v", r.Failures)
		}
	}
	if silent.Blocks() >= base.Blocks() || silent.Blocks() < base.Blocks()/3 || len(silent.RoundsPerHeight) < 2 {
		t.Errorf("20 silent: %d heights (rounds %v) against %d", silent.Blocks(), silent.RoundsPerHeight, base.Blocks())
	}
	if d := delayed.Finality.P50 - base.Finality.P50; d < 300*protocol.Millisecond || d > 500*protocol.Millisecond {
		t.Errorf("finality p50 %v with delayed votes, %v without: want about 400 ms more", delayed.Finality.P50, base.Finality.P50)
	}
}

// TestStaleRate: on a network where every block reaches every other node
// after exactly d (one region whose round trip is 2d, links without a
// bandwidth limit, a full mesh), a block goes stale when another block is
// found while it propagates: the other miners hold almost all the hash
// power and find blocks at rate ≈ 1/T, so the chance that one lands in
// the window d is 1 − e^(−d/T). Two second-order effects pull the
// measured rate a little below it: the finder's own share (1%) cannot
// fork itself, and stale blocks count in the denominator too (stale/all ≈
// μ/(1+μ) rather than 1 − e^(−μ)): −1% to −4.5% for d/T from 0.02 to
// 0.08. Block counts are chosen so that the sampling error (σ ≈ 2–3%) leaves
// about 3σ to the 10% bound; seeds 1–4 give −1% to −7%.
func TestStaleRate(t *testing.T) {
	if raceEnabled {
		t.Skip("a statistical test of 10⁵ blocks; the run is single-threaded, so the race detector has nothing to find")
	}
	for _, tc := range []struct {
		d, interval protocol.Duration
		blocks      int
	}{
		{100 * protocol.Millisecond, 5 * protocol.Second, 60000},
		{200 * protocol.Millisecond, 5 * protocol.Second, 40000},
		{400 * protocol.Millisecond, 5 * protocol.Second, 30000},
	} {
		t.Run((tc.d / protocol.Millisecond * protocol.Millisecond).String(), func(t *testing.T) {
			t.Parallel()
			p := &Params{Seed: 1, Engine: Nakamoto, Validators: 100, Until: tc.interval * protocol.Duration(tc.blocks),
				Matrix:   netspec.Matrix{Regions: []string{"one"}, RTT: [][]protocol.Duration{{2 * tc.d}}},
				Nakamoto: NakamotoParams{Interval: tc.interval, NoRelay: true}, BlockSize: 64, Record: true}
			res := mustRun(t, p)
			want := 1 - math.Exp(-tc.d.Seconds()/tc.interval.Seconds())
			t.Logf("d/T = %.2f: %d mined, %d stale: rate %.4f, 1−e^(−d/T) = %.4f (%+.1f%%); fork rate %.4f; %d reorgs, deepest %d",
				tc.d.Seconds()/tc.interval.Seconds(), res.Mined, res.Stale, res.StaleRate, want, 100*(res.StaleRate/want-1),
				res.ForkRate, res.Reorgs, res.MaxReorg)
			if math.Abs(res.StaleRate/want-1) > 0.10 {
				t.Errorf("stale rate %.4f, want %.4f ± 10%%", res.StaleRate, want)
			}
			if len(res.Failures) != 0 || res.DeepForks != 0 {
				t.Errorf("invariants broken: %v, %d deep forks", res.Failures, res.DeepForks)
			}
		})
	}
}

// TestLongestChainWeights: a miner's share of the main chain follows its
// weight, by stake (a lottery) or by its GPU's hash power, over a sparse
// peer graph with relaying and non-mining full nodes.
func TestLongestChainWeights(t *testing.T) {
	for _, p := range []*Params{
		{Seed: 3, Engine: Nakamoto, Validators: 3, Stakes: []uint64{1, 1, 2}, Until: 2000 * 10 * protocol.Second,
			Nakamoto: NakamotoParams{Interval: 10 * protocol.Second, Stake: true}, Record: true},
		{Seed: 4, Engine: Nakamoto, Validators: 6, Followers: 20, Until: 2000 * 10 * protocol.Second,
			Nakamoto: NakamotoParams{Interval: 10 * protocol.Second, GPUs: []string{"h100", "t4", "rtx4090"}, Degree: 3}, Record: true},
	} {
		res := mustRun(t, p)
		if len(res.Failures) != 0 || res.DeepForks != 0 {
			t.Fatalf("invariants broken: %v, %d deep forks", res.Failures, res.DeepForks)
		}
		var total, sum float64
		for i := range res.Weights {
			total += float64(res.MainBlocks[i])
			sum += res.Weights[i]
		}
		t.Logf("weights %v: main-chain blocks %v; stale rate %.4f; finality p50 %v", res.Weights, res.MainBlocks, res.StaleRate, res.Finality.P50)
		if total < 1800 {
			t.Errorf("%.0f main-chain blocks in 2,000 intervals", total)
		}
		for i, w := range res.Weights {
			share, want := float64(res.MainBlocks[i])/total, w/sum
			if sigma := math.Sqrt(want * (1 - want) / total); math.Abs(share-want) > 4*sigma {
				t.Errorf("miner %d (weight %.0f of %.0f) mined %.3f of the main chain, want %.3f ± %.3f", i, w, sum, share, want, 4*sigma)
			}
		}
		if p.Followers > 0 && res.FollowerFinality.N < int64(p.Followers)*int64(res.Blocks()-1) {
			t.Errorf("%d commits at full nodes for %d heights", res.FollowerFinality.N, res.Blocks())
		}
	}
}

// Processing costs (Params.CPU, CommitNs) lengthen a height by what the
// nodes' processors spend: a decision is three message delays (proposal,
// prevote, precommit), each at least one send and one receive longer, and
// at most every validator's send and receive longer, queued on one
// processor. Storing a block longer than the commit timeout holds the next
// proposal back, and recording the round a validator signs in holds its
// first message of the round back.
func TestProcessingCosts(t *testing.T) {
	const n = 4
	base := func() *Params {
		return &Params{Seed: 3, Engine: BFT, Validators: n, Until: 20 * protocol.Second, Record: true,
			Matrix: netspec.Matrix{Regions: []string{"lo"}, RTT: [][]protocol.Duration{{protocol.Millisecond}}}}
	}
	free := mustRun(t, base())
	const send, recv = 100 * protocol.Microsecond, 300 * protocol.Microsecond
	p := base()
	p.CPU.SendNs, p.CPU.RecvNs = int64(send), int64(recv)
	costly := mustRun(t, p)
	extra := costly.Finality.P50 - free.Finality.P50
	if lo, hi := 3*(send+recv), 3*n*(send+recv); extra < lo || extra > hi {
		t.Errorf("finality p50 %v free, %v with send %v and receive %v: %v more, want [%v, %v]",
			free.Finality.P50, costly.Finality.P50, send, recv, extra, lo, hi)
	}
	if costly.Blocks() == 0 || costly.Blocks() > free.Blocks() {
		t.Errorf("%d blocks with costs, %d free", costly.Blocks(), free.Blocks())
	}
	p = base()
	p.CommitNs = 1500 * protocol.Millisecond // longer than the 1 s commit timeout
	stored := mustRun(t, p)
	if got := stored.BlockInterval.P50; got < p.CommitNs || free.BlockInterval.P50 >= p.CommitNs {
		t.Errorf("block interval p50 %v with a %v store, %v free", got, p.CommitNs, free.BlockInterval.P50)
	}
	// The round a validator signs in is stored twice on a height's path:
	// by the proposer before its proposal, by the others before their
	// prevotes; their precommits are of the same round.
	p = base()
	p.SignedRoundNs = 5 * protocol.Millisecond
	guarded := mustRun(t, p)
	if extra := guarded.Finality.P50 - free.Finality.P50; extra < 2*p.SignedRoundNs || extra > 3*p.SignedRoundNs {
		t.Errorf("finality p50 %v with a %v signed-round write, %v free: want 2 to 3 writes more", guarded.Finality.P50, p.SignedRoundNs, free.Finality.P50)
	}
	p = base()
	p.CPU.RecvNs = -1
	if _, err := Run(p); err == nil {
		t.Error("a negative cost ran")
	}
}
