// Package quilt is Walrus's QuiltV1 format, byte for byte: many small files
// (patches) stored as one blob, each readable alone from the few secondary
// slivers it occupies. The same files, tags and shard count give the same
// quilt bytes, hence the same quilt blob ID and quilt patch IDs, as Walrus's
// encoder (crates/walrus-core quilt_encoding.rs) and Mysten's TypeScript
// SDK (encodeQuilt); golden vectors made by the latter (testdata/gen.sh) pin
// it.
//
// # Layout
//
// For n shards a blob is a rows × cols matrix of symbols of S bytes, stored
// row-major (rows = n−2f, cols = n−f; see package encoding). A quilt uses
// that matrix by columns: column j is the j-th symbol of every row, top to
// bottom, which is exactly the data of secondary sliver j. Bytes are written
// down a column, then on into the next one.
//
//	column 0…k−1   the index: version 0x01 ‖ size u32 LE ‖ BCS QuiltIndexV1
//	               (k ≤ MaxIndexColumns)
//	columns ≥ k    the patches, sorted by identifier (bytewise), each
//	               starting at a fresh column and taking whole columns:
//
//	  version 0x01 ‖ length u32 LE ‖ mask u8           (blob header, 6 bytes)
//	  identifier size u16 LE ‖ BCS string identifier
//	  [tags size u16 LE ‖ BCS map<string,string> tags]  (if mask bit 0)
//	  data                                              (length counts all
//	                                                     after the header)
//
//	BCS QuiltIndexV1 = vector of (end column u16 ‖ identifier string ‖ tags
//	                   map); a patch starts where the previous one ends, the
//	                   first after the index's k columns. Map entries are
//	                   sorted by their keys' BCS bytes.
//
// S is the smallest even symbol size (≤ encoding.MaxSymbolSize) with which
// the index (in at most MaxIndexColumns columns) and every patch (in whole
// columns) fit into cols columns; the rest of the matrix is zero.
//
// A quilt patch ID names a patch across Walrus: quilt blob ID (32 bytes) ‖
// version 0x01 ‖ start column u16 LE ‖ end column u16 LE, in URL-safe base64
// without padding (50 characters).
//
// # Reading a patch
//
// A patch with columns [start, end) lies wholly in secondary slivers start…
// end−1 (sliver pair n−1−j holds secondary sliver j): a reader fetches those,
// verifies them against the blob's metadata, and hands them to Columns. The
// index is read the same way from column 0 (whose first bytes give the
// index's size, hence its columns). In the primary slivers (rows) the same
// patch is the byte range [start·S, end·S) of every one of them.
//
// Decoders treat the quilt's bytes as untrusted: every size is checked
// against the bytes present before anything is allocated, and a malformed
// quilt gives ErrMalformed. They are at least as strict as Walrus's.
package quilt
