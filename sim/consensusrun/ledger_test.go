package consensusrun

import (
	"math"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/sim/check"
)

// withReplicas makes Run keep every node's ledger in *out.
func withReplicas(lp *LedgerParams, out *[]*chain.Ledger) {
	inner := lp.Wrap
	lp.Wrap = func(id protocol.NodeID, l *chain.Ledger) consensus.App {
		*out = append(*out, l)
		if inner != nil {
			return inner(id, l)
		}
		return l
	}
}

// TestLedgerUnderBFT: 16 validators and 8 followers, every node a client,
// 40 transfers a second for 30 s. Nearly every transfer is committed (all
// but those of the last block or two), so tx/s is about the offered rate;
// nothing is refused; every replica ends in the same state; the supply
// is genesis plus one token a height, and half the fees are burned.
func TestLedgerUnderBFT(t *testing.T) {
	lp := &LedgerParams{TxRate: 40, ModeledVerification: true}
	var ls []*chain.Ledger
	withReplicas(lp, &ls)
	p := &Params{Seed: 3, Engine: BFT, Validators: 16, Followers: 8, BFT: BFTParams{Sigs: consensus.SigModeled},
		Until: 30 * protocol.Second, Record: true, Ledger: lp}
	res := mustRun(t, p)
	lr := res.Ledger
	t.Logf("%d heights; %d submitted, %d committed (%.1f tx/s); fees %d, minted %d, burned %d; mempool p50 %.0f max %.0f; %d checks modeled",
		res.Blocks(), lr.Submitted, lr.Committed, lr.TxPerSec(p.Until), lr.Fees, lr.Minted, lr.Burned,
		res.Recorder.Quantile(Mempool, 0.5), res.Recorder.Quantile(Mempool, 1), lr.Modeled)
	if len(res.Failures) != 0 {
		t.Fatalf("invariants broken: %v", res.Failures)
	}
	// Poisson: 1,200 ± 35 submitted; a height (≈1.3 s) of them in flight.
	if lr.Submitted < 1100 || lr.Committed+80 < lr.Submitted || lr.Committed > lr.Submitted {
		t.Errorf("%d submitted, %d committed: want about 1,200, nearly all committed", lr.Submitted, lr.Committed)
	}
	if tps := lr.TxPerSec(p.Until); tps < 36 || tps > 42 {
		t.Errorf("%.1f tx/s at 40 offered", tps)
	}
	if lr.RejectedTotal() != 0 || lr.Throttled != 0 || lr.Resyncs != 0 {
		t.Errorf("refusals %v, %d throttled, %d resyncs: want none on a clean network", lr.Rejected, lr.Throttled, lr.Resyncs)
	}
	if lr.Verified != 0 || lr.Modeled < 24*lr.Committed {
		t.Errorf("%d signature checks computed, %d modeled: want none computed, one per transaction per node at least", lr.Verified, lr.Modeled)
	}
	// Every replica: at the run's last height or one behind, the same root
	// as every other at that height, conserving the supply.
	roots := map[uint64]chain.Hash{}
	for i, l := range ls {
		if l.Height()+1 < lr.Height {
			t.Errorf("node %d at height %d, the first validator at %d", i, l.Height(), lr.Height)
		}
		if r, ok := roots[l.Height()]; ok && r != l.StateRoot() {
			t.Errorf("node %d: state root differs at height %d", i, l.Height())
		}
		roots[l.Height()] = l.StateRoot()
		if err := l.CheckSupply(); err != nil {
			t.Error(err)
		}
	}
	genesis := uint64(24)*1000*chain.Token + 16*1_000_000
	if lr.Minted != lr.Height*chain.Token || lr.Supply.Minted != genesis+lr.Minted || lr.Supply.Burned != lr.Burned {
		t.Errorf("minted %d in %d heights (supply minted %d, burned %d): want a token a height on %d", lr.Minted, lr.Height,
			lr.Supply.Minted, lr.Supply.Burned, genesis)
	}
	if lr.Fees == 0 || lr.Fees%lr.Committed != 0 || lr.Burned > lr.Fees/2 || lr.Burned+lr.Height < lr.Fees/2 {
		t.Errorf("fees %d for %d transfers, %d burned: want one fee each, half burned (rounded down per block)", lr.Fees, lr.Committed, lr.Burned)
	}
	if n := res.Recorder.Total(TxsCommitted); n != float64(lr.Committed) {
		t.Errorf("txs_committed measure %v, result %d", n, lr.Committed)
	}
}

// TestLedgerRealSignatures: with real ed25519 throughout (votes and
// transactions), a client-signed transfer is verified by every validator
// that takes or checks it; a transfer whose signature was tampered with,
// sent straight to every validator, is refused by each of them and never
// committed: its sender's nonce and balance stay at genesis everywhere.
func TestLedgerRealSignatures(t *testing.T) {
	const validators, forger = 10, 15
	clients := []protocol.NodeID{10, 11, 12, 13, 14}
	lp := &LedgerParams{TxRate: 10, Clients: clients}
	var ls []*chain.Ledger
	withReplicas(lp, &ls)
	p := &Params{Seed: 5, Engine: BFT, Validators: validators, Followers: 6, Until: 15 * protocol.Second, Record: true, Ledger: lp}
	key := chain.KeyFor(p.Seed, forger)
	good := chain.Sign(key, chain.NewTransfer(0, 100_000, chain.AddressOf(chain.KeyFor(p.Seed, 0)), 500*chain.Token))
	sig := append([]byte(nil), good.Sig...)
	sig[10] ^= 0x40
	forged := &chain.Tx{Type: good.Type, Sender: good.Sender, Nonce: good.Nonce, Fee: good.Fee, Payload: good.Payload, Sig: sig}
	p.WrapNode = func(id protocol.NodeID, n protocol.Node) protocol.Node {
		if id != forger {
			return n
		}
		return protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
			n.Handle(env, in)
			if _, ok := in.(protocol.Start); ok {
				for v := protocol.NodeID(0); v < validators; v++ {
					env.Send(v, forged)
				}
			}
		})
	}
	res := mustRun(t, p)
	lr := res.Ledger
	t.Logf("%d heights; %d committed; %d signature checks; refusals %v; votes: %d verified", res.Blocks(), lr.Committed, lr.Verified, lr.Rejected, res.SigsVerified)
	if len(res.Failures) != 0 {
		t.Fatalf("invariants broken: %v", res.Failures)
	}
	if lr.Committed < 100 || lr.Modeled != 0 || lr.Verified < validators*lr.Committed || res.SigsVerified == 0 {
		t.Errorf("%d committed, %d checks computed, %d modeled, %d vote checks: want real checks of ~150 transfers at every validator",
			lr.Committed, lr.Verified, lr.Modeled, res.SigsVerified)
	}
	if lr.Rejected["bad_signature"] != validators || lr.RejectedTotal() != validators {
		t.Errorf("refusals %v, want bad_signature from each of the %d validators and nothing else", lr.Rejected, validators)
	}
	addr := chain.AddressOf(key)
	for i, l := range ls {
		// Clients pay it small amounts; the forged transfer would take 500 tokens.
		if a := l.Account(addr); a.Nonce != 0 || a.Balance < 1000*chain.Token {
			t.Fatalf("node %d: the forger's account is %+v: the forged transfer was committed", i, a)
		}
	}
}

// phantomMint is a broken ledger: from height 3 on it reports a token more
// per block than it minted, as a ledger that credited a reward without
// counting it would.
type phantomMint struct {
	*chain.Ledger
	extra uint64
}

func (m *phantomMint) Commit(height uint64, block []byte, hash consensus.Hash, now protocol.Time) {
	m.Ledger.Commit(height, block, hash, now)
	if height >= 3 {
		m.extra += chain.Token
	}
}

func (m *phantomMint) Supply() chain.Supply {
	s := m.Ledger.Supply()
	s.Balances += m.extra
	return s
}

// TestBrokenLedgerFailsConservation: the checker's conservation hook reads
// every replica after every commit, so one broken replica is reported, at
// the height it broke, and only it.
func TestBrokenLedgerFailsConservation(t *testing.T) {
	lp := &LedgerParams{TxRate: 10, ModeledVerification: true}
	lp.Wrap = func(id protocol.NodeID, l *chain.Ledger) consensus.App {
		if id == 3 {
			return &phantomMint{Ledger: l}
		}
		return l
	}
	p := &Params{Seed: 2, Engine: BFT, Validators: 10, BFT: BFTParams{Sigs: consensus.SigModeled},
		Until: 10 * protocol.Second, Record: true, Ledger: lp}
	res := mustRun(t, p)
	if len(res.Failures) == 0 {
		t.Fatal("no violation from a ledger that mints from nothing")
	}
	f := res.Failures[0]
	t.Logf("%d violations; first: %v", len(res.Failures), f)
	if f.Kind != check.Conservation || f.Node != 3 || f.Height != 3 {
		t.Errorf("first violation %+v, want conservation at node 3, height 3", f)
	}
	for _, f := range res.Failures {
		if f.Node != 3 || f.Kind != check.Conservation {
			t.Errorf("violation %v: only node 3's supply is broken", f)
		}
	}
	if got, _ := Summary(res).Figure("invariant_failures"); got.Value != float64(len(res.Failures)) {
		t.Errorf("invariant_failures %v, want %d", got.Value, len(res.Failures))
	}
}

// TestLedgerDeterministic: the same seed gives the same ledger run, event
// for event; another seed another.
func TestLedgerDeterministic(t *testing.T) {
	trace := func(seed uint64) (uint64, LedgerResult) {
		res := mustRun(t, &Params{Seed: seed, Engine: BFT, Validators: 8, Followers: 4, BFT: BFTParams{Sigs: consensus.SigModeled},
			Until: 8 * protocol.Second, Trace: true, Record: true, Ledger: &LedgerParams{TxRate: 30, ModeledVerification: true}})
		return res.TraceHash, *res.Ledger
	}
	a, la := trace(1)
	b, lb := trace(1)
	c, _ := trace(2)
	if a != b || a == c || la.Committed != lb.Committed || la.Supply != lb.Supply || la.Committed == 0 {
		t.Errorf("trace hashes %x, %x (same seed), %x; committed %d and %d", a, b, c, la.Committed, lb.Committed)
	}
}

// TestLedgerUnderLongestChain: miners build ledger blocks on unconfirmed
// parents, full nodes fetch missing parents (the ledger holds orphans
// until their parent is accepted), transactions flood over a sparse peer
// graph. Transfers commit at about the offered rate, less those in the
// last Confirmations blocks, and every replica conserves the supply.
func TestLedgerUnderLongestChain(t *testing.T) {
	lp := &LedgerParams{TxRate: 5, ModeledVerification: true}
	var ls []*chain.Ledger
	withReplicas(lp, &ls)
	p := &Params{Seed: 4, Engine: Nakamoto, Validators: 10, Followers: 10, Until: 120 * protocol.Second, Record: true,
		Nakamoto: NakamotoParams{Interval: 2 * protocol.Second, Confirmations: 3, Degree: 3}, Ledger: lp}
	res := mustRun(t, p)
	lr := res.Ledger
	t.Logf("%d heights, %d mined, stale rate %.3f, %d reorgs; %d submitted, %d committed (%.2f tx/s); refusals %v",
		res.Blocks(), res.Mined, res.StaleRate, res.Reorgs, lr.Submitted, lr.Committed, lr.TxPerSec(p.Until), lr.Rejected)
	if len(res.Failures) != 0 || res.DeepForks != 0 {
		t.Fatalf("invariants broken: %v, %d deep forks", res.Failures, res.DeepForks)
	}
	// About 600 submitted; the last ~4 blocks' worth (≈ 8 s) not final.
	if lr.Committed < lr.Submitted*3/4 || math.Abs(lr.TxPerSec(p.Until)-5) > 1.5 {
		t.Errorf("%d of %d committed (%.2f tx/s at 5 offered)", lr.Committed, lr.Submitted, lr.TxPerSec(p.Until))
	}
	for i, l := range ls {
		if err := l.CheckSupply(); err != nil || l.Height()+2 < lr.Height {
			t.Errorf("node %d at height %d (first miner %d): %v", i, l.Height(), lr.Height, err)
		}
	}
}
