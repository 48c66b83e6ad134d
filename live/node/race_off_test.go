//go:build !race

package node_test

// raceEnabled: under the race detector, the heavy claim tests run a
// lighter version of their path (fewer rounds) and leave their figures
// out.
const raceEnabled = false
