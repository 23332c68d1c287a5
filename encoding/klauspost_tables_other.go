//go:build !amd64 || noasm || appengine || gccgo || nopshufb || purego

package encoding

// klauspostLeanInit does nothing here: klauspost initialises its tables
// itself (see klauspost_tables_amd64.go).
func klauspostLeanInit() {}
