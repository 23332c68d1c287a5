package node_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/network/faults"
	"github.com/walrus-go/walrus/network/nettest"
	"github.com/walrus-go/walrus/node"
	"github.com/walrus-go/walrus/p2p"
	"github.com/walrus-go/walrus/store"
)

// TestStoreReadCertify: a blob's slivers go through libp2p to four nodes,
// come back byte-identical, and the nodes' confirmations verify, aggregate
// and certify the blob on chain.
func TestStoreReadCertify(t *testing.T) {
	e := newEnv(t, nettest.Options{})
	data := randomBytes(100_000, 1)
	enc, obj := e.storeBlob(data, 3, false)
	e.readBack(enc)
	st, err := e.nw.Chain.BlobStatus(e.ctx, enc.BlobID)
	if err != nil || !st.IsCertified || st.Kind != chain.BlobPermanent {
		t.Fatalf("chain status after certify: %+v, %v", st, err)
	}
	md, err := e.p2p.GetMetadata(e.ctx, e.pid(0), enc.BlobID, 10)
	if err != nil || !bytes.Equal(md.MarshalBCS(), enc.Metadata.MarshalBCS()) {
		t.Fatalf("metadata: %v", err)
	}
	com := e.committee()
	if err := waitUntil(func() error {
		s, err := e.p2p.GetStatus(e.ctx, e.pid(1), enc.BlobID)
		if err != nil {
			return err
		}
		want := uint32(2 * len(e.shards(com, 1)))
		if s.State != p2p.BlobCertified || s.StoredSlivers != want || !s.HasMetadata || s.EndEpoch != obj.EndEpoch() {
			return errors.New("status " + s.State.String())
		}
		return nil
	}); err != nil {
		t.Fatalf("node sees the certification: %v", err)
	}
}

// TestBadInput: each bad request gets its typed error and stores nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t, nettest.Options{})
	com := e.committee()
	enc, obj := e.register(randomBytes(5000, 2), 2, false)
	if err := e.p2p.PutMetadata(e.ctx, e.pid(0), enc.BlobID, enc.Metadata); err != nil {
		t.Fatal(err)
	}
	own := e.slivers(com, enc, 0)
	other := e.slivers(com, enc, 1)[0]
	corrupt := own[0]
	corrupt.Data = bytes.Clone(corrupt.Data)
	corrupt.Data[3] ^= 0x10
	node0 := e.nw.Nodes[0].Running()

	for _, tc := range []struct {
		name   string
		slice  []encoding.Sliver
		wantIs error
	}{
		{"sliver of another node's shard", []encoding.Sliver{other}, p2p.ErrNotAssigned},
		{"sliver failing its hash", []encoding.Sliver{corrupt}, p2p.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs, err := e.p2p.PutSlivers(e.ctx, e.pid(0), enc.BlobID, tc.slice)
			if err != nil {
				t.Fatalf("request failed as a whole: %v", err)
			}
			if len(errs) != 1 || !errors.Is(errs[0].Err, tc.wantIs) {
				t.Fatalf("per-sliver errors %v, want one %v", errs, tc.wantIs)
			}
			if missing, _ := node0.MissingShards(e.ctx, enc.BlobID); len(missing) != len(e.shards(com, 0)) {
				t.Fatalf("node 0 lacks only shards %v after a rejected sliver", missing)
			}
		})
	}

	t.Run("unknown blob", func(t *testing.T) {
		unknown := encoding.BlobID{0xee}
		if _, err := e.p2p.PutSlivers(e.ctx, e.pid(0), unknown, own[:1]); !errors.Is(err, p2p.ErrNotFound) {
			t.Fatalf("slivers without metadata: err = %v, want ErrNotFound", err)
		}
		if _, err := e.p2p.GetMetadata(e.ctx, e.pid(0), unknown, 10); !errors.Is(err, p2p.ErrNotFound) {
			t.Fatalf("metadata of an unknown blob: err = %v, want ErrNotFound", err)
		}
		if _, err := e.p2p.GetRecoverySymbols(e.ctx, e.pid(0), unknown, encoding.Primary, []uint16{0}, 2, 10); !errors.Is(err, p2p.ErrNotFound) {
			t.Fatalf("recovery of an unknown blob: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("metadata of another blob", func(t *testing.T) {
		c4, _ := encoding.New(4)
		e4, _ := c4.Encode([]byte("four shards"))
		if err := e.p2p.PutMetadata(e.ctx, e.pid(0), e4.BlobID, e4.Metadata); !errors.Is(err, p2p.ErrInvalid) {
			t.Fatalf("metadata for n=4 on an n=10 network: err = %v, want ErrInvalid", err)
		}
	})

	t.Run("forged confirmation requests", func(t *testing.T) {
		if _, err := e.p2p.GetConfirmation(e.ctx, e.pid(0), p2p.ConfirmationRequest{BlobID: enc.BlobID, Epoch: com.Epoch}); !errors.Is(err, p2p.ErrNotFound) {
			t.Fatalf("confirmation before slivers: err = %v, want ErrNotFound", err)
		}
		e.send(enc, 0)
		for _, tc := range []struct {
			name string
			req  p2p.ConfirmationRequest
			want error
		}{
			{"wrong epoch", p2p.ConfirmationRequest{BlobID: enc.BlobID, Epoch: com.Epoch + 1}, p2p.ErrInvalid},
			{"unregistered blob", p2p.ConfirmationRequest{BlobID: encoding.BlobID{1}, Epoch: com.Epoch}, p2p.ErrNotRegistered},
			{"object that is not a registration", p2p.ConfirmationRequest{BlobID: enc.BlobID, Epoch: com.Epoch, ObjectID: &[32]byte{9}}, p2p.ErrNotRegistered},
			{"a permanent registration confirmed as deletable", p2p.ConfirmationRequest{BlobID: enc.BlobID, Epoch: com.Epoch, ObjectID: (*[32]byte)(&obj.ID)}, p2p.ErrInvalid},
		} {
			if _, err := e.p2p.GetConfirmation(e.ctx, e.pid(0), tc.req); !errors.Is(err, tc.want) {
				t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
			}
		}
		cert, err := e.confirm(enc, obj, []int{0})
		if err != nil {
			t.Fatal(err)
		}
		bc, err := chain.ParseBlobCertification(cert.Message)
		if err != nil || bc.BlobID != enc.BlobID || bc.Epoch != com.Epoch || bc.Deletable {
			t.Fatalf("signed message %+v, %v", bc, err)
		}
	})
}

// TestBufferBeforeRegistration: slivers sent before the node has seen the
// registration wait in the buffer and are stored when it arrives.
func TestBufferBeforeRegistration(t *testing.T) {
	e := newEnv(t, nettest.Options{})
	enc, err := e.codec.Encode(randomBytes(3000, 3))
	if err != nil {
		t.Fatal(err)
	}
	for i := range e.nw.Nodes {
		e.send(enc, i)
	}
	for i, n := range e.nw.Nodes {
		if st := n.Running().Status(e.ctx); st.BufferedB == 0 {
			t.Fatalf("node %d buffers nothing for an unregistered blob", i)
		}
		if missing, _ := n.Running().MissingShards(e.ctx, enc.BlobID); len(missing) != len(e.shards(e.committee(), i)) {
			t.Fatalf("node %d stored slivers of an unregistered blob", i)
		}
	}
	res, err := e.nw.Chain.RegisterBlob(e.ctx, e.nw.Wallet, chain.RegisterBlobArgs{
		BlobID: enc.BlobID, RootHash: enc.Metadata.Root(), Size: 3000, EncodingType: encoding.RS2, Epochs: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := e.confirm(enc, res.Blob, []int{0, 1, 2, 3})
	if err != nil {
		t.Fatalf("confirmations after registration: %v", err)
	}
	if _, err := e.nw.Chain.CertifyBlob(e.ctx, e.nw.Wallet, res.Blob.ID, cert); err != nil {
		t.Fatal(err)
	}
	e.readBack(enc)
	for i, n := range e.nw.Nodes {
		if st := n.Running().Status(e.ctx); st.BufferedB != 0 {
			t.Errorf("node %d still buffers %d bytes after the registration", i, st.BufferedB)
		}
	}
}

// leastShards returns the node of the committee with the fewest shards.
func (e *env) leastShards() int {
	com := e.committee()
	lazy := 0
	for i := range e.nw.Nodes {
		if len(e.shards(com, i)) < len(e.shards(com, lazy)) {
			lazy = i
		}
	}
	return lazy
}

// TestRecovery: a node that received nothing rebuilds its slivers from its
// peers' recovery symbols once the blob is certified by the others, even
// when one of those peers lies about its symbols or their proofs.
func TestRecovery(t *testing.T) {
	for _, liar := range []string{"honest peers", "a peer lies about symbols", "a peer lies about proofs"} {
		t.Run(liar, func(t *testing.T) {
			e := newEnv(t, nettest.Options{Nodes: 7, Shards: 10})
			lazy := e.leastShards()
			enc, obj := e.register(randomBytes(20_000, 4), 2, false)
			var signers []int
			for i := range e.nw.Nodes {
				if i != lazy {
					e.send(enc, i)
					signers = append(signers, i)
				}
			}
			cert, err := e.confirm(enc, obj, signers)
			if err != nil {
				t.Fatal(err)
			}
			bad := (lazy + 1) % len(e.nw.Nodes)
			switch liar {
			case "a peer lies about symbols":
				e.nw.Nodes[bad].Faults.Set(faults.LieSymbols)
			case "a peer lies about proofs":
				e.nw.Nodes[bad].Faults.Set(faults.LieProofs)
			}
			if _, err := e.nw.Chain.CertifyBlob(e.ctx, e.nw.Wallet, obj.ID, cert); err != nil {
				t.Fatal(err)
			}
			if err := e.nw.WaitHeld(e.ctx, enc.BlobID, lazy); err != nil {
				t.Fatal(err)
			}
			e.nw.Nodes[bad].Faults.Set(faults.Honest)
			e.readBack(enc)
		})
	}
}

// TestRestartAndWipe: a node stopped and started again serves what it
// stored; a node whose store was wiped rebuilds it from the chain's events
// and its peers.
func TestRestartAndWipe(t *testing.T) {
	e := newEnv(t, nettest.Options{})
	enc, _ := e.storeBlob(randomBytes(40_000, 5), 2, false)
	if err := e.nw.RestartNode(e.ctx, 2); err != nil {
		t.Fatal(err)
	}
	e.readBack(enc)
	if err := e.nw.WipeNode(e.ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.nw.WaitHeld(e.ctx, enc.BlobID, 1); err != nil {
		t.Fatal(err)
	}
	e.readBack(enc)
}

// storedShards opens node i's store, stopped, and returns the shards it
// holds pairs of for blob id.
func (e *env) storedShards(i int, id encoding.BlobID) []uint16 {
	e.t.Helper()
	if err := e.nw.StopNode(i); err != nil {
		e.t.Fatal(err)
	}
	defer func() {
		if err := e.nw.StartNode(e.ctx, i); err != nil {
			e.t.Fatal(err)
		}
	}()
	s, err := store.Open(filepath.Join(e.nw.Nodes[i].Config.DataDir, "db"), store.Options{Logger: nettest.Logger(e.t, false)})
	if err != nil {
		e.t.Fatal(err)
	}
	defer s.Close()
	shards, err := s.StoredShards(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return shards
}

// TestEpochChangeMovesShards: stake moved to one node changes the
// committee; the node gaining shards ends up holding their slivers, the
// nodes losing shards stop serving them once the change is done and delete
// them, and the blob reads throughout.
func TestEpochChangeMovesShards(t *testing.T) {
	e := newEnv(t, nettest.Options{})
	c := nettest.Client(t, e.nw)
	blob := nettest.Blob(30_000, 7)
	res, err := c.Store(e.ctx, blob, storeOpts(10))
	if err != nil {
		t.Fatal(err)
	}
	id := res.BlobID()
	before := e.committee()
	gainer := 3
	// A big stake with node 3, before the next committee is selected.
	if _, err := e.nw.Chain.Stake(e.ctx, e.nw.Wallet, e.nw.Nodes[gainer].ID(), 5000*chain.FrostPerWAL); err != nil {
		t.Fatal(err)
	}
	epoch, err := e.nw.AdvanceEpoch(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := e.committee()
	if after.Epoch != epoch || len(e.shards(after, gainer)) <= len(e.shards(before, gainer)) {
		t.Fatalf("node %d holds shards %v in epoch %d, %v before", gainer, e.shards(after, gainer), epoch, e.shards(before, gainer))
	}
	if err := e.nw.WaitHeld(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.nw.WaitChangeDone(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, c, id); !bytes.Equal(got, blob) {
		t.Fatal("the blob reads back different after the epoch change")
	}
	// A loser's shard: no longer served, and deleted.
	loser, lost := -1, uint16(0)
	for i := range e.nw.Nodes {
		for _, s := range e.shards(before, i) {
			if !slices.Contains(e.shards(after, i), s) {
				loser, lost = i, s
			}
		}
	}
	if loser < 0 {
		t.Fatal("no node lost a shard")
	}
	pair := id.PairForShard(int(lost), after.NShards)
	if err := waitUntil(func() error {
		res, err := e.p2p.GetSlivers(e.ctx, e.pid(loser), id, encoding.Primary, []uint16{uint16(pair)}, encoding.MaxSymbolSize)
		if err == nil && len(res) == 1 && errors.Is(res[0].Err, p2p.ErrNotAssigned) {
			return nil
		}
		return errNotYet
	}); err != nil {
		t.Fatalf("node %d still serves shard %d after the change: %v", loser, lost, err)
	}
	if shards := e.storedShards(loser, id); slices.Contains(shards, lost) {
		t.Fatalf("node %d still stores shard %d (stores %v)", loser, lost, shards)
	}
	if shards := e.storedShards(gainer, id); len(shards) != len(e.shards(after, gainer)) {
		t.Fatalf("node %d stores shards %v, holds %v", gainer, shards, e.shards(after, gainer))
	}
}

// TestGarbageCollection: a blob expires at its end epoch and a deleted
// deletable blob at once; the nodes then delete their slivers and metadata
// and refuse to serve them.
func TestGarbageCollection(t *testing.T) {
	e := newEnv(t, nettest.Options{})
	c := nettest.Client(t, e.nw)
	short, err := c.Store(e.ctx, nettest.Blob(2000, 1), storeOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	del, err := c.Store(e.ctx, nettest.Blob(2000, 2), deletableOpts(5))
	if err != nil {
		t.Fatal(err)
	}
	keep, err := c.Store(e.ctx, nettest.Blob(2000, 3), storeOpts(5))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []encoding.BlobID{short.BlobID(), del.BlobID(), keep.BlobID()} {
		if err := e.nw.WaitHeld(e.ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Delete(e.ctx, del.NewlyCreated.BlobObject.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.nw.AdvanceEpoch(e.ctx); err != nil {
		t.Fatal(err)
	}
	gone := func(id encoding.BlobID) error {
		for i := range e.nw.Nodes {
			st, err := e.p2p.GetStatus(e.ctx, e.pid(i), id)
			if err != nil {
				return err
			}
			if st.State != p2p.BlobUnknown || st.HasMetadata || st.StoredSlivers != 0 {
				return errNotYet
			}
		}
		return nil
	}
	for name, id := range map[string]encoding.BlobID{"expired": short.BlobID(), "deleted": del.BlobID()} {
		if err := waitUntil(func() error { return gone(id) }); err != nil {
			t.Fatalf("%s blob still known to the nodes: %v", name, err)
		}
		if _, err := e.p2p.GetMetadata(e.ctx, e.pid(0), id, 10); !errors.Is(err, p2p.ErrNotFound) {
			t.Fatalf("%s blob's metadata: %v", name, err)
		}
		if shards := e.storedShards(0, id); len(shards) != 0 {
			t.Fatalf("%s blob: node 0 still stores shards %v", name, shards)
		}
	}
	if got := readAll(t, c, keep.BlobID()); !bytes.Equal(got, nettest.Blob(2000, 3)) {
		t.Fatal("the kept blob does not read back")
	}
}

// TestLargeRequest: a sliver/put of a registered blob far larger than the
// intake's staging writes its pairs as it goes, overlapped with the slivers
// that follow, within a per-peer share smaller than two stagings (so that
// a sliver waits for the write in flight to free its memory): every sliver
// is stored, the node confirms, and nothing stays reserved.
func TestLargeRequest(t *testing.T) {
	e := newEnv(t, nettest.Options{Nodes: 1, Shards: 100, NodeConfig: func(i int, c *node.Config) {
		c.MaxBufferedBytes = 16 << 20
		c.MaxBufferedBytesPerPeer = 6 << 20
	}})
	enc, _ := e.storeBlob(randomBytes(6<<20, 63), 2, false) // 2n slivers of 27 MiB in one request
	e.readBack(enc)
	if b := e.nw.Nodes[0].Running().Status(e.ctx).BufferedB; b != 0 {
		t.Fatalf("%d bytes still buffered", b)
	}
}
