// Package protocol defines the boundary between protocol code and the
// drivers that run it: a Node is a single-threaded state machine fed Inputs
// through Handle, and everything it does to the outside world goes through
// Env. The simulator (package sim) and live mode (package live) are two
// implementations of Env; protocol code cannot tell them apart.
//
// A driver's loop, in outline:
//
//	node.Handle(env, protocol.Start{})
//	for in := range inputs {       // Recv, TimerFired, JobDone, in time order
//		node.Handle(env, in)       // effects (Send, SetTimer, Submit) are recorded by env
//	}
//	node.Handle(env, protocol.Stop{})
//
// Code under protocol/ starts no goroutines and touches no wall clock, global
// randomness, OS or network; lint_test.go enforces this.
package protocol
