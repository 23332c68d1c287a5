// Package bcs reads and writes BCS, the Binary Canonical Serialization of Sui
// and Walrus, strictly. It is the one reader of lengths, tags and fixed-width
// values that the project's decoders of untrusted bytes build on: encoding's
// layouts (metadata, slivers, recovery symbols), p2p's messages and frame
// prefixes, and store's values.
//
// # BCS
//
// Integers are fixed-width and little-endian. A bool is one byte, 0x00 or
// 0x01. A sequence (vector<T>, a byte string, a UTF-8 string) is
// ULEB128(count) ‖ its elements. An option is 0x00 | 0x01 ‖ value. An enum is
// ULEB128(variant index) ‖ the variant's value. A struct or tuple is its
// fields in order, with nothing between them. A ULEB128 is at most 2^32−1
// and uses the fewest bytes that hold its value; a sequence holds at most
// MaxSequenceLength elements. Every value has exactly one encoding, which is
// what makes BCS fit for hashing and signing — and a decoder that accepts a
// second one is a bug.
//
// # Reading
//
// A Reader decodes from a byte slice. Each read names the field it reads, for
// its error. The first error sticks: later reads return zero values and
// consume nothing, so a decoder reads its fields one after another and checks
// Err (or Done, which also rejects trailing bytes) once at the end. A Reader
// rejects
//
//   - input that ends inside a value (ErrTruncated);
//   - bytes after the value (ErrTrailing, from Done);
//   - a ULEB128 longer than its value needs (ErrNonCanonical);
//   - a ULEB128 over 2^32−1, or a length over the caller's cap or
//     MaxSequenceLength (ErrTooLarge);
//   - a bool or option tag other than 0 and 1, an enum variant the caller
//     does not know, a string that is not UTF-8, or a value the caller
//     rejects with Fail (ErrInvalid).
//
// A length is checked against the caller's cap and then against the input
// left (every element takes at least one byte) before Length returns it, so
// a decoder that allocates from a length allocates no more than its input
// could fill. Every error is an *Error naming the field and its offset, and
// matches ErrMalformed as well as its class with errors.Is.
//
// A Reader is also an io.Reader over what remains, so that a reflecting BCS
// library (go-bcs, which p2p uses for its multi-field messages) decodes from
// it, and the custom decoders that library calls can type-assert to *Reader
// and read lengths through it.
//
// # Writing
//
// The Append functions append values in the same forms to a byte slice, as
// strconv's and encoding/binary's do: AppendLength(b, len(v)), AppendBytes,
// AppendU32, and so on.
//
// See Example for a decoder and its encoder.
package bcs
