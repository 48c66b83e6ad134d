//go:build race

package blockprop

const raceEnabled = true
