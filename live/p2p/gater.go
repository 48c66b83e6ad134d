package p2p

import (
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// gater refuses inbound connections from peers outside the address book
// (and Config.Observers) once the handshake has authenticated them, before
// any stream or gossip: a stranger costs a host one handshake, counted.
// Outbound dials go only to book peers anyway.
type gater struct{ h *Host }

var _ connmgr.ConnectionGater = gater{}

func (gater) InterceptPeerDial(peer.ID) bool                                  { return true }
func (gater) InterceptAddrDial(peer.ID, ma.Multiaddr) bool                    { return true }
func (gater) InterceptAccept(network.ConnMultiaddrs) bool                     { return true }
func (gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

func (g gater) InterceptSecured(dir network.Direction, pid peer.ID, _ network.ConnMultiaddrs) bool {
	if dir == network.DirOutbound {
		return true
	}
	g.h.mu.Lock()
	_, member := g.h.peers[pid]
	ok := member || g.h.observers[pid]
	g.h.mu.Unlock()
	if !ok {
		g.h.refuse(ReasonUnknownPeer, "conn", pid)
	}
	return ok
}
