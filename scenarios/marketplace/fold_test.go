package marketplace

import (
	"cmp"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/market"
)

// The meter folds a job's units into its figures foldAfter after the job
// closed and drops its record, so that its memory follows the jobs open
// or recently closed rather than the run's length; every figure must be
// what a meter that keeps every record to the end makes of the same
// events, late replicas included (computed after their job closed, within
// foldAfter). Two hours of jobs: one posted every 10 s, 8 units, two
// replicas each, the second replica of some units computed after close.
func TestFoldedMeterMatchesKeepingEveryJob(t *testing.T) {
	h100, _ := gpu.Lookup("h100")
	nodes := []Node{{Role: "", Group: -1, Sybil: -1}}
	for range 4 {
		nodes = append(nodes, Node{Role: Provider, Class: h100, Sybil: -1})
	}
	var p Params
	end := protocol.Time(2 * protocol.Hour)
	folding := NewMeter(&p, nodes, 0, end, nil)
	keeping := NewMeter(&p, nodes, 0, end, nil)
	keeping.m.foldAfter = math.MaxInt64
	var evs []metrics.Stamped // fed in time order below
	feed := func(at protocol.Time, node protocol.NodeID, ev metrics.Event) {
		evs = append(evs, metrics.Stamped{AtNs: int64(at), Node: uint32(node), Event: ev})
	}
	const units = 8
	jobs := 0
	for post := protocol.Time(0); post < end-protocol.Time(20*protocol.Minute); post = post.Add(10 * protocol.Second) {
		jobs++
		id := market.JobID{byte(jobs), byte(jobs >> 8)}
		feed(post.Add(300*protocol.Millisecond), 0, market.JobCommitted{Job: id, Wait: 300 * protocol.Millisecond})
		feed(post.Add(300*protocol.Millisecond), 0, market.JobOpened{Job: id, Units: units, Wait: 300 * protocol.Millisecond})
		for u := range uint32(units) {
			for r := range protocol.NodeID(2) {
				prov := 1 + (protocol.NodeID(jobs)+protocol.NodeID(u)+r)%4
				start := post.Add(protocol.Duration(1+u+uint32(r)) * protocol.Second)
				feed(start, 0, market.Assigned{Job: id, Unit: u, Provider: prov, Queued: protocol.Second, Posted: post})
				took := protocol.Duration(2+u%3) * protocol.Second
				if r == 1 && u%4 == 0 {
					took += 5 * protocol.Minute // finishes after its job closed
				}
				feed(start.Add(took), prov, market.Computed{Job: id, Unit: u, FLOPs: 1e12, DurationNs: int64(took)})
			}
			feed(post.Add(protocol.Duration(10+u)*protocol.Second), 0, market.Verified{Job: id, Unit: u, Payees: []protocol.NodeID{1 + protocol.NodeID(u)%4}, FLOPs: 1e12, Latency: protocol.Second})
		}
		feed(post.Add(30*protocol.Second), 0, market.JobClosed{Job: id, Units: units, Verified: units})
	}
	slices.SortStableFunc(evs, func(a, b metrics.Stamped) int { return cmp.Compare(a.AtNs, b.AtNs) })
	for _, s := range evs {
		folding.Record(s)
		keeping.Record(s)
	}
	if n := len(folding.m.jobs); n > 100 || len(keeping.m.jobs) != jobs {
		t.Errorf("the folding meter holds %d job records, the keeping one %d; want ≤ 100 and all %d", n, len(keeping.m.jobs), jobs)
	}
	a, b := folding.m.result(end, 0, 0, nil, nil), keeping.m.result(end, 0, 0, nil, nil)
	for _, f := range []string{"Verified", "UsefulFLOPs", "VerificationFLOPs", "BadAccepted", "PostStart", "CommitStart", "Completion", "QueueWait"} {
		if x, y := reflect.ValueOf(*a).FieldByName(f).Interface(), reflect.ValueOf(*b).FieldByName(f).Interface(); !reflect.DeepEqual(x, y) {
			t.Errorf("%s: folding %v, keeping every job %v", f, x, y)
		}
	}
	if a.Verified != jobs*units || a.VerificationFLOPs != float64(jobs*units)*1e12 {
		t.Errorf("%d units verified, %g verification FLOPs: want %d and %g (every unit's second replica, late ones included)",
			a.Verified, a.VerificationFLOPs, jobs*units, float64(jobs*units)*1e12)
	}
	if folding.m.late != 0 {
		t.Errorf("%d events came after their job was folded", folding.m.late)
	}
}
