package bft_test

import (
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/consensus/consensustest"
	"github.com/dais-sim/dais/scenarios/netspec"
	"github.com/dais-sim/dais/sim"
	"github.com/dais-sim/dais/sim/netmodel"
)

// world builds n validators (real ed25519 signatures) and followers over
// the measured regions, one region each in turn; followers form a ring
// and validator i pushes commits to follower i mod followers.
func world(t *testing.T, n, followers int, sink metrics.Sink) (*sim.World, []*consensustest.App) {
	t.Helper()
	var stakes []uint64
	for i := 0; i < n; i++ {
		stakes = append(stakes, 1)
	}
	set := newSet(t, stakes...)
	m := netspec.DefaultMatrix()
	net, err := netmodel.New(m)
	if err != nil {
		t.Fatal(err)
	}
	w := sim.New(sim.Config{Seed: seed, Net: net, Sink: sink})
	var apps []*consensustest.App
	for i := 0; i < n+followers; i++ {
		net.AddNode(i%len(m.Regions), netspec.Link{})
		app := consensustest.NewApp(256)
		app.Keep = true
		apps = append(apps, app)
		id := protocol.NodeID(i)
		if i < n {
			var push []protocol.NodeID
			if followers > 0 {
				push = []protocol.NodeID{protocol.NodeID(n + i%followers)}
			}
			w.Add(bft.NewValidator(bft.Config{Set: set, Signer: consensus.Signer{Key: consensus.DeriveKey(seed, id)},
				App: app, Timeouts: bft.DefaultTimeouts(), Followers: push}))
			continue
		}
		k := i - n
		ring := []protocol.NodeID{protocol.NodeID(n + (k+1)%followers), protocol.NodeID(n + (k+followers-1)%followers)}
		w.Add(bft.NewFollower(bft.FollowerConfig{Set: set, App: app, Peers: ring}))
	}
	return w, apps
}

func samePrefix(t *testing.T, apps []*consensustest.App) {
	t.Helper()
	ref := apps[0].Hashes()
	for i, a := range apps {
		for h, x := range a.Hashes() {
			if h < len(ref) && x != ref[h] {
				t.Fatalf("node %d committed a different block at height %d", i, h+1)
			}
		}
		if len(a.Hashes()) > len(ref) {
			ref = a.Hashes()
		}
	}
}

// TestCommitsWithRealSignatures: four validators in four regions, every
// signature made and checked, decide a block about every timeout_commit
// plus three message delays, all the same blocks, and followers apply them.
func TestCommitsWithRealSignatures(t *testing.T) {
	var verified uint64
	w, apps := world(t, 4, 6, metrics.SinkFunc(func(s metrics.Stamped) {
		if d, ok := s.Event.(bft.HeightDone); ok {
			verified += d.SigsVerified
			if d.SigsSkipped != 0 {
				t.Errorf("skipped %d signature checks with real signatures", d.SigsSkipped)
			}
		}
	}))
	w.Start()
	w.RunUntil(protocol.Time(20 * protocol.Second))
	samePrefix(t, apps)
	for i, a := range apps {
		// timeout_commit is 1 s and a height takes 3 one-way delays of at
		// most 125 ms: between 13 and 20 heights in 20 s.
		if a.Height() < 13 || a.Height() > 20 {
			t.Errorf("node %d committed %d heights in 20 s, want 13–20", i, a.Height())
		}
	}
	if verified < 4*3*2*13 {
		t.Errorf("%d signatures verified, want at least one per vote received", verified)
	}
}

// TestCrashedValidatorCatchesUp: a validator that is down for 15 s misses
// several heights (the other three are a quorum and go on, slowed by the
// rounds it should have proposed, which end on the propose timeout); back, it
// hears of a later height, asks for the commits it lacks and is level
// with the others within a few seconds. A follower that was down too
// catches up from its peers.
func TestCrashedValidatorCatchesUp(t *testing.T) {
	w, apps := world(t, 4, 4, nil)
	w.Leave(3, protocol.Time(3*protocol.Second), true)
	w.Leave(6, protocol.Time(3*protocol.Second), true)
	w.Rejoin(3, protocol.Time(18*protocol.Second))
	w.Rejoin(6, protocol.Time(18*protocol.Second))
	w.Start()
	w.RunUntil(protocol.Time(17 * protocol.Second))
	behind := apps[0].Height() - apps[3].Height()
	if behind < 5 {
		t.Fatalf("the crashed validator is only %d heights behind after 14 s down", behind)
	}
	w.RunUntil(protocol.Time(24 * protocol.Second))
	samePrefix(t, apps)
	for _, i := range []int{3, 6} {
		if d := int(apps[0].Height()) - int(apps[i].Height()); d > 1 || d < -1 {
			t.Errorf("node %d is %d heights behind validator 0 six seconds after rejoining (was %d)", i, d, behind)
		}
	}
}
