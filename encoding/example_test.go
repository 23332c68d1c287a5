package encoding_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/walrus-go/walrus/encoding"
)

// A blob's life in this package: the writer encodes it and sends each shard
// its sliver pair and the metadata; the blob ID commits to all of them. A
// reader gets the metadata, checks it against the blob ID, verifies each
// sliver it receives against the metadata, and decodes from enough of them.
func Example() {
	codec, err := encoding.New(10) // a network of 10 shards
	if err != nil {
		panic(err)
	}
	p := codec.Params()
	fmt.Printf("n = %d, f = %d: %d primary or %d secondary slivers decode a blob\n", p.N, p.F, p.Rows, p.Cols)

	blob := []byte("Walrus stores blobs as slivers on many nodes; a third of them may lie.")
	enc, err := codec.Encode(blob)
	if err != nil {
		panic(err)
	}
	fmt.Println("blob ID:", enc.BlobID)

	// The reader trusts the blob ID only: the metadata must hash to it.
	md, err := encoding.UnmarshalMetadata(enc.Metadata.MarshalBCS())
	if err != nil {
		panic(err)
	}
	fmt.Println("metadata verifies:", md.Verify(enc.BlobID, p.N) == nil)

	// Slivers arrive in BCS from nodes; each is checked before use, and a
	// corrupted one is refused.
	var verified []encoding.Sliver
	for i := p.N - p.Rows; i < p.N; i++ { // the last rows primary slivers
		s, err := encoding.UnmarshalSliver(encoding.Primary, enc.Primary[i].MarshalBCS())
		if err != nil {
			panic(err)
		}
		if i == p.N-1 {
			bad := s
			bad.Data = bytes.Clone(s.Data)
			bad.Data[0] ^= 1
			err := codec.VerifySliver(md, &bad)
			fmt.Println("corrupted sliver:", errors.Is(err, encoding.ErrInvalidSliver))
		}
		if err := codec.VerifySliver(md, &s); err != nil {
			panic(err)
		}
		verified = append(verified, s)
	}

	out, err := codec.Decode(md, verified, encoding.CheckDefault)
	if err != nil {
		panic(err)
	}
	fmt.Printf("decoded from %d slivers: %q\n", len(verified), out)
	// Output:
	// n = 10, f = 3: 4 primary or 7 secondary slivers decode a blob
	// blob ID: _0I4mu4UnE5dOVnsIEZOx-it4_PUhphlft21fqNwhaU
	// metadata verifies: true
	// corrupted sliver: true
	// decoded from 4 slivers: "Walrus stores blobs as slivers on many nodes; a third of them may lie."
}
