//go:build !amd64 || !gc || purego || noasm

package blake2bx

const defaultLanes = 1

func supportedLanes() []int { return []int{1} }

func callKernel(int, *args) { panic("blake2bx: no vector kernel in this build") }
