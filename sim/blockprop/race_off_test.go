//go:build !race

package blockprop

const raceEnabled = false
