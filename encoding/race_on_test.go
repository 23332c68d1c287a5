//go:build race

package encoding

// raceTest is set under the race detector, which slows the pure-Go loops
// tenfold; tests skip their largest pure-Go cases then.
const raceTest = true
