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
//
// Bootstrap discovery (peers.go): a book entry may carry no addresses; the
// host then learns them from the nodes it reaches. n, err :=
// h.FindPeers(ctx, id) opens a /dais/peers/1.0.0 stream to node id, which
// answers with the signed peer records (libp2p record.Envelope of a
// peer.PeerRecord, as identify carries them) of itself and of the book
// nodes it is connected to, each a uvarint length then the envelope, at
// most MaxPeerRecords of at most MaxPeerRecordBytes. The asker checks each
// signature and that the signer's peer ID is in its book; a record that
// fails is dropped and counted (Stats.PeerRecordsMalformed,
// PeerRecordsForeign), and a bad length prefix ends the answer. Only book
// nodes are answered. Limits: addresses are those the nodes announce (no
// NAT traversal, relay, hole punching or AutoNAT: a node behind NAT must
// be given a reachable address); no DHT and no gossipsub peer exchange,
// so a node finds only what its bootstrap nodes (and the nodes it reaches
// through them) are connected to, which suits networks of tens of nodes.
//
// Hostile peers. A peer outside the book is refused at the handshake
// (Config.Observers may connect, to ping, and send nothing). A member may
// still be hostile, so an inbound frame costs the host only what arrived
// (frames.go): its length prefix is checked against the largest frame,
// then its header against its kind's limit (Config.KindLimits); its
// length is reserved in the resource manager before it is read; its
// buffer grows with the bytes that arrive; it must arrive within
// FrameTimeout plus a second per MiB; each peer has a frame and a byte
// rate (PeerFrameRate, PeerByteRate). A publication whose signed origin
// is not a member, or whose frame no codec takes, is rejected by a topic
// validator before gossipsub forwards it. Every refusal is counted by
// reason and kind in Refusals (the receiver adds its own there: a bad
// signature) and logged at most once per reason every 10 s; Blocked counts
// the resource manager's refusals.
//
// Resources (limits.go): the libp2p resource manager is on, with stated
// limits (Config.Limits, DefaultLimits): 1,024 connections (512 inbound),
// 8,192 streams (4,096 inbound) and 1 GiB of transport memory in all; 8
// connections, 256 streams (8 of them direct-message streams) and 128 MiB
// per peer; libp2p's machine-scaled defaults for every other scope. What
// is over a limit is refused by libp2p before dais sees it, and counted.
package p2p
