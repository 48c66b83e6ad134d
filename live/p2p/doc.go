// Package p2p is a live.Transport over go-libp2p: direct messages travel on
// one reused stream per peer under the protocol ID /dais/msg/1.0.0 (each
// frame a uvarint length then the wire frame), and Publish uses gossipsub,
// one pubsub topic per wire.Topic. Nodes are named by an address book that
// maps every protocol.NodeID to a libp2p peer; Noise (TCP) or TLS (QUIC)
// authenticates the peer, so the book is what attributes a frame to a node.
//
//	h, err := p2p.New(p2p.Config{Self: id})    // listens on 127.0.0.1, TCP and QUIC
//	h.AddPeers(book)                          // book[id] = other hosts' AddrInfo()
//	rt, err := live.New(node, live.Config{ID: id, Transport: h, ...})
//	h.SetReceiver(rt)
//	rt.Start(); defer h.Close(); defer rt.Stop()
package p2p
