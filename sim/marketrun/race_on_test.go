//go:build race

package marketrun

const raceEnabled = true
