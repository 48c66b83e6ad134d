package consensusrun

import (
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/scenarios/netspec"
)

// benchRun runs p b.N times and reports the engine's speed: simulated
// seconds per wall-clock second, events per second, and what a height cost.
func benchRun(b *testing.B, p *Params) {
	var wall, events, heights, msgs, bytes, txs float64
	var heap uint64
	for i := 0; i < b.N; i++ {
		res, err := Run(p)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Failures) != 0 || res.Blocks() == 0 {
			b.Fatalf("%d heights, failures %v", res.Blocks(), res.Failures)
		}
		wall += res.Wall.Seconds()
		events += float64(res.Events)
		heights += float64(res.Blocks())
		msgs += float64(res.Msgs)
		bytes += float64(res.Bytes)
		heap = res.HeapBuilt
		if res.Ledger != nil {
			txs += float64(res.Ledger.Committed)
		}
	}
	b.ReportMetric(float64(b.N)*p.Until.Seconds()/wall, "sim-s/s")
	b.ReportMetric(events/wall, "events/s")
	b.ReportMetric(heights/float64(b.N), "heights")
	b.ReportMetric(msgs/heights, "msgs/height")
	b.ReportMetric(bytes/heights/1e6, "MB/height")
	b.ReportMetric(float64(heap)/float64(p.Validators+p.Followers), "heapB/node")
	if p.Ledger != nil {
		b.ReportMetric(txs/float64(b.N)/p.Until.Seconds(), "tx/s")
	}
}

// bft100Ledger is 100 validators and 100 client full nodes on the real
// ledger: each node keeps a replica, the clients send 100 transfers a
// second between them, each to 2 validators, which relay to the others.
func bft100Ledger(sigs consensus.SigMode, until protocol.Duration) *Params {
	clients := make([]protocol.NodeID, 100)
	for i := range clients {
		clients[i] = protocol.NodeID(100 + i)
	}
	return &Params{Seed: 1, Engine: BFT, Validators: 100, Followers: 100, BFT: BFTParams{Sigs: sigs},
		Link: netspec.Link{UpBps: 1e9, DownBps: 1e9}, Until: until, Record: true,
		Ledger: &LedgerParams{TxRate: 100, Clients: clients, ModeledVerification: sigs == consensus.SigModeled}}
}

// BenchmarkBFT100Ledger: the ledger run with modeled signatures (votes and
// transfers: signed by clients, not verified), 60 simulated seconds.
func BenchmarkBFT100Ledger(b *testing.B) {
	benchRun(b, bft100Ledger(consensus.SigModeled, 60*protocol.Second))
}

// BenchmarkBFT100LedgerRealSigs: the same with real ed25519 verification
// of every vote and every transfer, 20 simulated seconds.
func BenchmarkBFT100LedgerRealSigs(b *testing.B) {
	benchRun(b, bft100Ledger(consensus.SigReal, 20*protocol.Second))
}

// BenchmarkBFT100Followers10k: 100 validators over the measured regions and
// 10,000 non-validator full nodes that receive every commit by gossip
// (each dials 4 others; each validator pushes to 4), 1 Gbit/s links,
// modeled signatures, 20 simulated seconds.
func BenchmarkBFT100Followers10k(b *testing.B) {
	benchRun(b, &Params{Seed: 1, Engine: BFT, Validators: 100, Followers: 10000,
		BFT: BFTParams{Sigs: consensus.SigModeled}, Link: netspec.Link{UpBps: 1e9, DownBps: 1e9},
		Until: 20 * protocol.Second, Record: true})
}

// BenchmarkBFT1000: 1,000 validators over the measured regions, modeled
// signatures, 5 simulated seconds (4 heights of 2·10⁶ votes each).
func BenchmarkBFT1000(b *testing.B) {
	benchRun(b, &Params{Seed: 1, Engine: BFT, Validators: 1000,
		BFT: BFTParams{Sigs: consensus.SigModeled}, Until: 5 * protocol.Second, Record: true})
}

// BenchmarkBFT100: 100 validators alone, 60 simulated seconds, for scale.
func BenchmarkBFT100(b *testing.B) {
	benchRun(b, &Params{Seed: 1, Engine: BFT, Validators: 100,
		BFT: BFTParams{Sigs: consensus.SigModeled}, Until: 60 * protocol.Second, Record: true})
}

// BenchmarkNakamoto1k: 1,000 full nodes, 100 of them mining, gossip over 8
// peers each, 10 s blocks, one simulated hour.
func BenchmarkNakamoto1k(b *testing.B) {
	benchRun(b, &Params{Seed: 1, Engine: Nakamoto, Validators: 100, Followers: 900,
		Nakamoto: NakamotoParams{Interval: 10 * protocol.Second, Degree: 4}, Link: netspec.Link{UpBps: 1e9, DownBps: 1e9},
		Until: protocol.Hour, Record: true})
}
