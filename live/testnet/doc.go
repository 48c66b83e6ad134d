// Package testnet runs a local testnet: a directory that describes N live
// nodes (live/node) on 127.0.0.1, and the OS processes that run them.
//
//	tn, err := testnet.Create(testnet.Options{Dir: "testnet", Nodes: 4, Seed: 1})
//	err = tn.Start(testnet.Launcher{})         // N × "dais node --config testnet/node-i/config.yaml"
//	err = tn.WaitReady(ctx)                    // every node has replayed its store and answers /status
//	sts := tn.Status(ctx)                      // height, peers, mempool per node
//	run, bad, err := tn.Report()               // a metrics.Run for reports.Write; bad: safety violations
//	err = tn.Stop(10 * time.Second)            // SIGTERM, then SIGKILL
//
// The directory holds testnet.json (the node.Network every node reads:
// seed, epoch, members, ports) and per node node-i/config.yaml, node-i/pid,
// node-i/output.log (the process's stdout and stderr) and node-i/data (the
// node's store, log, events and status.addr). With Options.Discovery only
// node 0's address is written (as testnet.json's bootstrap); the other
// nodes' configs listen on a port the OS picks and they find one another
// through node 0. Processes outlive the command
// that started them; the pid files let a later command find them.
package testnet
