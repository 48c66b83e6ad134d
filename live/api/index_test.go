package api_test

import (
	"testing"

	"github.com/dais-sim/dais/live/api"
	"github.com/dais-sim/dais/protocol/chain"
)

// The index follows a job through its committed transactions: posted
// (pending), results committed (running, first commitment per unit),
// settled (paid, burned, the rest refunded; verified = units whose
// committing provider the settlement paid), and ignores a height it has
// applied and refuses one out of order.
func TestIndexFollowsAJob(t *testing.T) {
	poster, p1, p2, settler := key(1), key(2), key(3), key(4)
	x := api.NewIndex()
	block := func(txs ...chain.Tx) *chain.Block {
		var ps []*chain.Tx
		for i := range txs {
			ps = append(ps, &txs[i])
		}
		return chain.NewBlock(chain.Header{}, ps)
	}
	signed := func(k []byte, tx chain.Tx) chain.Tx { return *chain.Sign(k, tx) }
	apply := func(h uint64, b *chain.Block) {
		t.Helper()
		if err := x.Apply(h, b); err != nil {
			t.Fatal(err)
		}
	}

	apply(1, block(signed(poster, chain.NewJobPost(0, 10, 1000, spec.Encode()))))
	id := chain.JobIDFor(chain.AddressOf(poster), 0)
	if j, ok := x.Job(id); !ok || j.State != api.JobPending || j.Units != 4 || j.Budget != 1000 || j.PostedHeight != 1 || j.Poster != chain.AddressOf(poster) {
		t.Fatalf("posted job: %+v %v", j, ok)
	}
	r := func(b byte) chain.Hash { return chain.Hash{b} }
	apply(2, block(
		signed(p1, chain.NewResultCommit(0, 10, id, 0, r(1))),
		signed(p2, chain.NewResultCommit(0, 10, id, 0, r(2))), // a replica of unit 0
		signed(p2, chain.NewResultCommit(1, 10, id, 1, r(3))),
		signed(p2, chain.NewResultCommit(2, 10, id, 3, r(4))),
		signed(p2, chain.NewResultCommit(3, 10, id, 50, r(5))), // no unit 50 in a 4-unit job
	))
	j, _ := x.Job(id)
	if j.State != api.JobRunning || j.Computed != 3 {
		t.Errorf("after results: %+v, want running with 3 units computed", j)
	}
	res, _ := x.Results(id)
	if len(res) != 3 || res[0].Unit != 0 || res[0].Commitment != r(1) || res[0].Provider != chain.AddressOf(p1) || res[2].Unit != 3 {
		t.Errorf("results %+v", res)
	}
	// A replayed height changes nothing; a gap is an error.
	apply(2, block(signed(p1, chain.NewResultCommit(1, 10, id, 2, r(9)))))
	if err := x.Apply(4, block()); err == nil {
		t.Error("height 4 after 2 was taken")
	}
	// Settlement pays p1 only (p2's units failed their check), burns 50,
	// closes: the rest goes back to the poster.
	apply(3, block(signed(settler, chain.NewSettle(0, 10, chain.Release{Job: id, Pay: []chain.Credit{{To: chain.AddressOf(p1), Amount: 300}}, Burn: 50, Close: true}))))
	j, _ = x.Job(id)
	if j.State != api.JobDone || j.Paid != 300 || j.Refunded != 650 || j.SettledHeight != 3 || j.Verified != 1 {
		t.Errorf("settled: %+v, want done, paid 300, refunded 650, 1 unit verified", j)
	}
	// A job closed paying nobody failed.
	apply(4, block(signed(poster, chain.NewJobPost(1, 10, 500, spec.Encode()))))
	id2 := chain.JobIDFor(chain.AddressOf(poster), 1)
	apply(5, block(signed(settler, chain.NewSettle(1, 10, chain.Release{Job: id2, Close: true}))))
	if j, _ := x.Job(id2); j.State != api.JobFailed || j.Refunded != 500 {
		t.Errorf("a job closed unpaid: %+v", j)
	}
	if _, ok := x.Job(chain.JobID{7}); ok {
		t.Error("an unknown job was found")
	}
	if x.Height() != 5 {
		t.Errorf("height %d", x.Height())
	}
}

// The index forgets the oldest closed jobs past MaxSettled: a long-lived
// node's memory holds the open jobs and a bounded history.
func TestIndexBoundsSettledJobs(t *testing.T) {
	poster, settler := key(1), key(4)
	x := api.NewIndex()
	h := uint64(0)
	for i := range uint64(api.MaxSettled + 10) {
		post := chain.Sign(poster, chain.NewJobPost(i, 10, 100, spec.Encode()))
		id := chain.JobIDFor(chain.AddressOf(poster), i)
		settle := chain.Sign(settler, chain.NewSettle(i, 10, chain.Release{Job: id, Pay: []chain.Credit{{To: chain.AddressOf(settler), Amount: 1}}, Close: true}))
		h++
		if err := x.Apply(h, chain.NewBlock(chain.Header{}, []*chain.Tx{post, settle})); err != nil {
			t.Fatal(err)
		}
	}
	first, last := chain.JobIDFor(chain.AddressOf(poster), 0), chain.JobIDFor(chain.AddressOf(poster), api.MaxSettled+9)
	if _, ok := x.Job(first); ok {
		t.Error("the oldest settled job is still held")
	}
	if j, ok := x.Job(last); !ok || j.State != api.JobDone {
		t.Errorf("the newest settled job: %+v %v", j, ok)
	}
	if _, ok := x.Job(chain.JobIDFor(chain.AddressOf(poster), 10)); !ok {
		t.Error("job 10, among the last MaxSettled, was forgotten")
	}
}
