// Package live drives protocol nodes in real time: one Runtime per node, one
// goroutine per Runtime calling Handle one input at a time, the wall clock
// since a shared epoch as Now, and a Transport (live/p2p, or anything that
// moves frames) as the network.
//
//	rt, err := live.New(node, live.Config{ID: id, Seed: seed, Epoch: epoch, Transport: h, Sink: sink})
//	h.SetReceiver(rt) // h, a *p2p.Host, hands each frame it receives to rt.Deliver
//	rt.Start()        // the node gets Start; from now on inputs flow
//	defer rt.Stop()   // the node gets Stop; Stop returns when its goroutine has ended
//
// The node code is the one the simulator (package sim) runs; only the Env
// differs, and Runtime documents where real time makes it differ.
package live
