//go:build !race

package encoding

const raceTest = false
