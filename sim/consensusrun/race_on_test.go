//go:build race

package consensusrun

const raceEnabled = true
