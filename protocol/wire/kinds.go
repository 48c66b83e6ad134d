package wire

// Every message kind in dais, in one list so numbers are never reused.
// A package registers the decoder for its kinds in its init function.
const (
	KindBlockAnnounce Kind = 1 // protocol/gossip.Block
)
