package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/store"
)

// A node stores a blob's metadata and the pairs of the shards it holds, reads a
// sliver back, and garbage-collects the blob once it has expired.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "store-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	logger := slog.New(slog.DiscardHandler)

	s, err := store.Open(dir, store.Options{Logger: logger})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	const n = 10
	codec, err := encoding.New(n)
	if err != nil {
		panic(err)
	}
	enc, err := codec.Encode([]byte("hello, walrus"))
	if err != nil {
		panic(err)
	}
	id := enc.BlobID

	// Record the registration (from a chain event) with the event cursor.
	err = s.Update(ctx, func(tx *store.Tx) error {
		rec := store.BlobRecord{EncodingType: encoding.RS2, UnencodedLength: 13, EndEpoch: 5, RegisteredEpoch: 2, PermanentRegistered: 1}
		if err := tx.PutBlobRecord(id, rec); err != nil {
			return err
		}
		return tx.SetEventCursor([]byte("event-41"))
	})
	if err != nil {
		panic(err)
	}

	// Store the metadata and the pairs of the shards this node holds.
	if err := s.PutMetadata(ctx, id, enc.Metadata); err != nil {
		panic(err)
	}
	var pairs []store.ShardPair
	for _, shard := range []uint16{1, 4, 7} {
		pairs = append(pairs, store.ShardPair{Shard: shard, Pair: enc.Pair(id.PairForShard(int(shard), n))})
	}
	if err := s.PutPairs(ctx, id, pairs); err != nil {
		panic(err)
	}
	shards, _ := s.StoredShards(ctx, id)
	fmt.Println("stored shards:", shards)

	sl, err := s.Sliver(ctx, 4, id, encoding.Primary)
	if err != nil {
		panic(err)
	}
	want := enc.Pair(id.PairForShard(4, n)).Primary
	fmt.Println("sliver intact:", sl.Index == want.Index && slices.Equal(sl.Data, want.Data))

	// In epoch 5 the blob has expired: collect it.
	expired, _ := s.ExpiredAt(ctx, 5, nil, 0)
	for _, e := range expired {
		if err := s.DeleteBlob(ctx, e.BlobID); err != nil {
			panic(err)
		}
	}
	_, err = s.Sliver(ctx, 4, id, encoding.Primary)
	fmt.Println("expired:", len(expired), "after GC:", errors.Is(err, store.ErrNotFound))
	// Output:
	// stored shards: [1 4 7]
	// sliver intact: true
	// expired: 1 after GC: true
}
