// Package node is one live dais node: a BFT validator or follower with its
// own chain.Ledger, driven by a live.Runtime over a p2p.Host, its committed
// chain in an embedded store (live/store), serving Prometheus metrics and a
// JSON status on loopback. dais node runs one per process; dais testnet
// runs several.
//
//	cfg, err := node.LoadConfig("testnet/node-0/config.yaml")
//	n, err := node.New(cfg, node.Options{})
//	n.Start()        // replays the store, then takes part in consensus
//	defer n.Close()  // or node.Run(ctx, cfg, opts) until SIGTERM
//
// The node runs the protocol code the simulator runs (bft, chain), wired
// as sim/consensusrun wires it. Protocols beside consensus plug in as
// Services of Apps routed by wire kind (apps.go): a network with a market
// section runs the compute marketplace (market.go: the committee leader's
// market ledger is its own, not the BFT chain; units run real work); one
// with a learning section runs a federated training job (learning.go: its
// payouts are transactions on the BFT chain). Their messages leave from a
// goroutine per peer (appsend.go), and the events they emit go to the
// events file with consensus's (protoevents.go), for dais testnet report.
// A network is described by one file every node reads (Network): its
// members' roles, stakes, addresses and public keys. Each node's secret
// keys (libp2p identity, validator key, account key) are its own, in a
// key file (keys.go; dais node keygen, or dais testnet up); nothing
// derives them from the seed, which drives only what the simulator
// draws. Every frame a peer sends passes inbound.go before the node sees
// it: forged, stale and unsigned messages are refused and counted
// (dais_p2p_refused_total) with the transport's own refusals (live/p2p),
// and service messages travel signed by their author (signed.go). A member may leave its Addrs out and
// listen where its Config.Listen says (/ip4/127.0.0.1/tcp/0: a port the OS
// picks); the nodes then dial the bootstrap addresses (Network.Bootstrap,
// Config.Bootstrap: multiaddrs ending in /p2p/<peer ID> of a member), and
// while a member is missing, the connect loop asks up to three connected
// nodes for the others' signed addresses (p2p.Host.FindPeers) every 2 s;
// dais_p2p_peer_records_total counts the records taken and dropped. A
// node that knows no address of a running member (its bootstrap nodes all
// down) stays alone until one is back: discovered addresses are not
// stored across restarts.
package node
