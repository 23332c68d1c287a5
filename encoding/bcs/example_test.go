package bcs_test

import (
	"errors"
	"fmt"

	"github.com/walrus-go/walrus/encoding/bcs"
)

// request is a value with a fixed-size array, an option and a vector:
// blob_id [32]u8 ‖ epoch u32 ‖ Option<[32]u8> object_id ‖ vector<u16> indices.
type request struct {
	BlobID   [32]byte
	Epoch    uint32
	ObjectID *[32]byte
	Indices  []uint16
}

const maxIndices = 1000

func (q *request) appendBCS(b []byte) []byte {
	b = append(b, q.BlobID[:]...)
	b = bcs.AppendU32(b, q.Epoch)
	b = bcs.AppendBool(b, q.ObjectID != nil)
	if q.ObjectID != nil {
		b = append(b, q.ObjectID[:]...)
	}
	b = bcs.AppendLength(b, len(q.Indices))
	for _, i := range q.Indices {
		b = bcs.AppendU16(b, i)
	}
	return b
}

func decodeRequest(b []byte) (*request, error) {
	r := bcs.NewReader(b)
	var q request
	copy(q.BlobID[:], r.Fixed("blob id", 32))
	q.Epoch = r.U32("epoch")
	if r.Option("object id") {
		q.ObjectID = new([32]byte)
		copy(q.ObjectID[:], r.Fixed("object id", 32))
	}
	// The length is checked against the cap and the input before the
	// slice is made, so a lying length costs nothing.
	n := r.Length("indices", maxIndices)
	raw := r.Fixed("indices", 2*n)
	if r.Err() == nil {
		q.Indices = make([]uint16, n)
		ir := bcs.NewReader(raw)
		for k := range q.Indices {
			q.Indices[k] = ir.U16("index")
		}
	}
	if err := r.Done(); err != nil {
		return nil, err
	}
	return &q, nil
}

func Example() {
	q := request{BlobID: [32]byte{1, 2, 3}, Epoch: 7, Indices: []uint16{1, 300}}
	b := q.appendBCS(nil)
	fmt.Printf("%d bytes, ending % x\n", len(b), b[32:])

	back, err := decodeRequest(b)
	fmt.Println(back.Epoch, back.ObjectID == nil, back.Indices, err)

	// The same bytes with a length that claims 2^32−1 indices, a
	// non-minimal length, and a trailing byte.
	for _, bad := range [][]byte{
		append(b[:37:37], 0xff, 0xff, 0xff, 0xff, 0x0f),
		append(b[:37:37], 0x82, 0x00, 0x01, 0x00, 0x2c, 0x01),
		append(b, 0),
	} {
		_, err := decodeRequest(bad)
		fmt.Println(errors.Is(err, bcs.ErrMalformed), err)
	}
	// Output:
	// 42 bytes, ending 07 00 00 00 00 02 01 00 2c 01
	// 7 true [1 300] <nil>
	// true bcs: indices: 4294967295 exceeds 1000 (at byte 37)
	// true bcs: indices: non-canonical ULEB128 (at byte 37)
	// true bcs: 1 trailing bytes (at byte 42)
}
