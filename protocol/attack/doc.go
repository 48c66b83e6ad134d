// Package attack holds adversaries as protocol.Node decorators: each wraps
// an honest node and changes what it sends, so honest code has no "if
// malicious" branch and an attack is chosen where the world is built:
//
//	v := bft.NewValidator(cfg)
//	world.Add(attack.Equivocate(v, attack.EquivocateConfig{…}))   // instead of world.Add(v)
//
// A decorator hands the inner node an Env of its own whose Send and Publish
// it intercepts; timers it sets for itself are told apart from the inner
// node's by their TimerID.
//
// Consensus attacks: Equivocate (two proposals and two votes per step, one
// to each side of the validators, optionally colluding through a
// Coalition), Silent (sends nothing) and DelayVotes (holds votes back).
//
// Marketplace attacks (market.go): LazyWork (fakes a share of its work
// units; with stale results, a free rider) and ApproveRing (validators
// approving each other's bad work).
//
// Learning attacks (poison.go): PoisonData (label flipping, and Sybils
// training on a shared poisoned shard), ScaleUpdates and SignFlip,
// LittleIsEnough, FreeRide, and InflateScores (colluding validators).
package attack
