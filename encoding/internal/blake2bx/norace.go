//go:build !race

package blake2bx

const raceEnabled = false

func raceRead(*byte, int) {}
