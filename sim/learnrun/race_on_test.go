//go:build race

package learnrun

const raceEnabled = true
