//go:build !race

package quilt

const raceEnabled = false
