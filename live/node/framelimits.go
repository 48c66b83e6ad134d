package node

import (
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/protocol/wire"
)

// smallFrame bounds the frames of kinds that carry no block, model or
// batch: votes, requests, the market's messages.
const smallFrame = 64 << 10

// frameLimits are the largest frames of each kind a node of netw takes
// (p2p.Config.KindLimits, and for the inner frames of Signed envelopes),
// sized from what the protocol may really send, and the largest of all: a
// peer that announces a longer frame is refused before it is read. Kinds
// a BFT network never sends, and services it does not run, get 0: their
// frames are refused outright.
func frameLimits(netw *Network, p chain.Params) (limits map[wire.Kind]int, maxFrame int) {
	block := p.MaxBlockBytes + 64<<10 // the block, its header and a commit's signatures
	limits = map[wire.Kind]int{
		wire.KindBlockAnnounce: 0, wire.KindPowBlock: 0,
		wire.KindTx:    p.MaxTxBytes + 1<<10,
		wire.KindBlock: block, wire.KindProposal: block, wire.KindCommit: block,
		wire.KindVote: 1 << 10, wire.KindBlockReq: 1 << 10,
	}
	if netw.LongestChain() {
		limits[wire.KindPowBlock] = block
	}
	service := func(kinds []wire.Kind, on bool, limit int) {
		for _, k := range kinds {
			limits[k] = 0
			if on {
				limits[k] = limit
			}
		}
	}
	service(kindRange(wire.KindJobPost, wire.KindDisputeReveal), netw.Market != nil, smallFrame)
	// A model or an update is up to MaxParams 8-byte values.
	service(kindRange(wire.KindModel, wire.KindCandidate), netw.Learning != nil, 8*learn.MaxParams+1<<20)
	// Kinds registered since this list was written: small until listed.
	for _, k := range wire.Kinds() {
		if _, ok := limits[k]; !ok {
			limits[k] = smallFrame
		}
	}
	envelope := 0
	for _, k := range signedKinds() {
		envelope = max(envelope, limits[k])
	}
	if envelope > 0 {
		envelope += 1 << 10 // the author and the signature
	}
	limits[wire.KindSigned] = envelope
	for _, l := range limits {
		maxFrame = max(maxFrame, l)
	}
	return limits, maxFrame
}
