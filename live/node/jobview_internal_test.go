package node

import (
	"log/slog"
	"testing"

	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/market"
)

// The committee's node answers the user API for every unit it verified of
// a job, not for the first 256 of all jobs its /status lists (a job's
// results were cut, and later jobs had none), and for its last maxAPIJobs
// jobs, forgetting the oldest first.
func TestCommitteeJobViewKeepsEveryUnit(t *testing.T) {
	s := &marketState{log: slog.New(slog.DiscardHandler)}
	job := func(i int) chain.JobID { return chain.JobIDFor(chain.Address{1}, uint64(i)) }
	for i := range 3 * maxMarketList {
		s.record(market.Verified{Job: job(i % 2), Unit: uint32(i / 2)})
	}
	s.record(market.JobClosed{Job: job(1), Verified: 3 * maxMarketList / 2})
	for u := range 10 {
		s.record(market.Assigned{Job: job(0), Unit: uint32(u % 7 * 20)}) // 7 distinct units, across words
	}
	for j := range 2 {
		units, settled, assigned := s.jobView(job(j))
		if want := map[int]uint32{0: 7, 1: 0}[j]; assigned != want {
			t.Errorf("job %d: %d units assigned, want %d", j, assigned, want)
		}
		if len(units) != 3*maxMarketList/2 {
			t.Errorf("job %d: %d units in the view, want %d", j, len(units), 3*maxMarketList/2)
		}
		if (settled != nil) != (j == 1) {
			t.Errorf("job %d: settlement %+v", j, settled)
		}
	}
	if n := len(s.snapshot().Units); n != maxMarketList {
		t.Errorf("/status lists %d units, want its first %d", n, maxMarketList)
	}
	for i := 2; i < maxAPIJobs+1; i++ {
		s.record(market.Verified{Job: job(i)})
	}
	if u, _, _ := s.jobView(job(0)); u != nil {
		t.Error("the oldest job is still in the view after maxAPIJobs newer ones")
	}
	if u, _, _ := s.jobView(job(1)); len(u) == 0 {
		t.Error("the second oldest job left the view too early")
	}
}
