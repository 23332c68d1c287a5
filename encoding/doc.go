// Package encoding is the RS2 codec of Walrus, byte for byte: it turns a blob
// into n sliver pairs, their metadata and the blob ID, decodes blobs from
// slivers, and rebuilds lost slivers from recovery symbols.
//
// # Parameters
//
// n shards give f = ⌊(n−1)/3⌋, rows = n−2f primary source symbols and
// cols = n−f secondary source symbols. A blob of L bytes uses symbols of
// S = ceil(max(L,1)/(rows·cols)) bytes rounded up to even, S ≤ 65,534. The
// blob, zero-padded to rows·cols·S bytes, is a rows × cols matrix of symbols
// (row-major). Columns are extended with RS(rows → n) and rows with
// RS(cols → n), giving the n × n expanded matrix E.
//
// Primary sliver i is row i of E cut to its first cols symbols; secondary
// sliver j is column j of E cut to its first rows symbols. Sliver pair i is
// primary sliver i and secondary sliver n−1−i, and is stored on shard
// (i + blobID mod n) mod n.
//
// # Formats
//
// These layouts are part of the format and must not change; golden vectors
// made by Walrus's own encoder (testdata/gen.sh) pin them.
//
//	Merkle leaf        Blake2b-256(0x00 ‖ data)
//	Merkle inner node  Blake2b-256(0x01 ‖ left ‖ right); a level with an odd
//	                   count gets 32 zero bytes (not hashed) as last sibling
//	sliver hash        Merkle root over the n symbols of the sliver's full row
//	                   or column of E
//	metadata (BCS)     0x00 ‖ type u8 ‖ length u64 ‖ ULEB128(n) ‖
//	                   n × (0x01 ‖ primary hash ‖ 0x01 ‖ secondary hash)
//	blob ID            Blake2b-256(type u8 ‖ length u64 LE ‖ Merkle root over
//	                   n leaves, leaf i = primary hash i ‖ secondary hash i)
//	sliver (BCS)       ULEB128(len) ‖ symbols ‖ symbol size u16 ‖ index u16
//
// The BCS layouts are written and read through package encoding/bcs, whose
// strict Reader the decoders of p2p and store share: canonical forms only,
// lengths capped and checked against the input before anything is
// allocated. ReadMetadata and ReadRecoverySymbol decode in place inside a
// larger message.
//
// # Reed-Solomon
//
// Both codes run on klauspost/reedsolomon's Leopard GF(2^16) backend, which
// computes the same codewords as Walrus's reed-solomon-simd; see rs.go for how
// the low-rate column code maps onto it, and pack.go for how symbols are laid
// into its 64-byte chunks. Small encodes run on a pure-Go port of the same
// transform (leopard.go) until the process has built klauspost's tables.
//
// # Hashing
//
// Hashing is the floor of encoding and verification: a blob's Merkle trees
// hash about 4·n² short inputs. Leaves and the nodes of each tree level are
// hashed 8 or 4 at a time by the multi-buffer Blake2b of internal/blake2bx;
// all-zero symbols and all-zero subtrees are answered from a cache.
//
// # Use
//
// Example encodes a blob, checks its metadata against the blob ID, verifies
// slivers (and refuses a corrupted one) and decodes the blob from them.
package encoding
