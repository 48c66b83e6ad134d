//go:build !race

package marketrun

const raceEnabled = false
