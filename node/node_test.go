package node

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
)

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 0))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// readBack fetches every sliver of a blob from the nodes holding them and
// checks each is byte-identical to the encoding.
func readBack(t *testing.T, c *testCluster, enc *encoding.EncodedBlob) {
	t.Helper()
	com := c.committee()
	for i := range c.nodes {
		want := c.slivers(com, enc, i)
		for _, axis := range []encoding.Axis{encoding.Primary, encoding.Secondary} {
			var idx []uint16
			var exp []encoding.Sliver
			for _, s := range want {
				if s.Axis == axis {
					idx = append(idx, s.Index)
					exp = append(exp, s)
				}
			}
			got, err := c.client.GetSlivers(c.ctx, c.pid(i), enc.BlobID, axis, idx)
			if err != nil {
				t.Fatalf("node %d: get %s slivers: %v", i, axis, err)
			}
			for k, r := range got {
				if r.Err != nil || r.Sliver.Index != exp[k].Index || !bytes.Equal(r.Sliver.Data, exp[k].Data) {
					t.Fatalf("node %d: %s sliver %d differs from the encoding (err %v)", i, axis, exp[k].Index, r.Err)
				}
			}
		}
	}
}

// TestStoreReadCertify: a blob's slivers go through libp2p to four nodes,
// come back byte-identical, and the nodes' confirmations verify, aggregate
// and certify the blob on chain.
func TestStoreReadCertify(t *testing.T) {
	c := newCluster(t, clusterOpts{nodes: 4, shards: 10})
	data := randomBytes(100_000, 1)
	enc, obj := c.storeBlob(data, 3)
	readBack(t, c, enc)
	st, err := c.chain.BlobStatus(c.ctx, enc.BlobID)
	if err != nil || !st.IsCertified || st.Kind != chain.BlobPermanent {
		t.Fatalf("chain status after certify: %+v, %v", st, err)
	}
	// Metadata comes back verified; status reports the stored slivers.
	md, err := c.client.GetMetadata(c.ctx, c.pid(0), enc.BlobID)
	if err != nil || !bytes.Equal(md.MarshalBCS(), enc.Metadata.MarshalBCS()) {
		t.Fatalf("metadata: %v", err)
	}
	waitFor(t, "node sees the certification", 5*time.Second, func() error {
		s, err := c.client.GetStatus(c.ctx, c.pid(1), enc.BlobID)
		if err != nil {
			return err
		}
		com := c.committee()
		want := uint32(2 * len(com.Members[c.member(com, 1)].Shards))
		if s.State != p2p.BlobCertified || s.StoredSlivers != want || !s.HasMetadata || s.EndEpoch != obj.EndEpoch() {
			return errors.New("status " + s.State.String())
		}
		return nil
	})
}

// TestBadInput: each bad request gets its typed error and stores nothing.
func TestBadInput(t *testing.T) {
	c := newCluster(t, clusterOpts{nodes: 4, shards: 10})
	com := c.committee()
	enc, obj := c.register(randomBytes(5000, 2), 2, false)
	if err := c.client.PutMetadata(c.ctx, c.pid(0), enc.BlobID, enc.Metadata); err != nil {
		t.Fatal(err)
	}
	own := c.slivers(com, enc, 0)
	other := c.slivers(com, enc, 1)[0]
	corrupt := own[0]
	corrupt.Data = bytes.Clone(corrupt.Data)
	corrupt.Data[3] ^= 0x10

	cases := []struct {
		name   string
		slice  []encoding.Sliver
		wantIs error
	}{
		{"sliver of another node's shard", []encoding.Sliver{other}, p2p.ErrNotAssigned},
		{"sliver failing its hash", []encoding.Sliver{corrupt}, p2p.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs, err := c.client.PutSlivers(c.ctx, c.pid(0), enc.BlobID, tc.slice)
			if err != nil {
				t.Fatalf("request failed as a whole: %v", err)
			}
			if len(errs) != 1 || !errors.Is(errs[0].Err, tc.wantIs) {
				t.Fatalf("per-sliver errors %v, want one %v", errs, tc.wantIs)
			}
			if shards, _ := c.nodes[0].node.store.StoredShards(c.ctx, enc.BlobID); len(shards) != 0 {
				t.Fatalf("stored shards %v after a rejected sliver", shards)
			}
		})
	}

	t.Run("unknown blob", func(t *testing.T) {
		unknown := encoding.BlobID{0xee}
		if _, err := c.client.PutSlivers(c.ctx, c.pid(0), unknown, own[:1]); !errors.Is(err, p2p.ErrNotFound) {
			t.Fatalf("slivers without metadata: err = %v, want ErrNotFound", err)
		}
		if _, err := c.client.GetMetadata(c.ctx, c.pid(0), unknown); !errors.Is(err, p2p.ErrNotFound) {
			t.Fatalf("metadata of an unknown blob: err = %v, want ErrNotFound", err)
		}
		if _, err := c.client.GetRecoverySymbols(c.ctx, c.pid(0), unknown, encoding.Primary, []uint16{0}); !errors.Is(err, p2p.ErrNotFound) {
			t.Fatalf("recovery of an unknown blob: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("metadata of another blob", func(t *testing.T) {
		// The p2p server checks the hash; metadata for the wrong shard
		// count is the node's to refuse.
		c4, _ := encoding.New(4)
		e4, _ := c4.Encode([]byte("four shards"))
		if err := c.client.PutMetadata(c.ctx, c.pid(0), e4.BlobID, e4.Metadata); !errors.Is(err, p2p.ErrInvalid) {
			t.Fatalf("metadata for n=4 on an n=10 network: err = %v, want ErrInvalid", err)
		}
	})

	t.Run("forged confirmation requests", func(t *testing.T) {
		// Before the slivers are stored the node does not sign.
		if _, err := c.client.GetConfirmation(c.ctx, c.pid(0), p2p.ConfirmationRequest{BlobID: enc.BlobID, Epoch: com.Epoch}); !errors.Is(err, p2p.ErrNotFound) {
			t.Fatalf("confirmation before slivers: err = %v, want ErrNotFound", err)
		}
		c.send(enc, 0)
		for _, tc := range []struct {
			name string
			req  p2p.ConfirmationRequest
			want error
		}{
			{"wrong epoch", p2p.ConfirmationRequest{BlobID: enc.BlobID, Epoch: com.Epoch + 1}, p2p.ErrInvalid},
			{"unregistered blob", p2p.ConfirmationRequest{BlobID: encoding.BlobID{1}, Epoch: com.Epoch}, p2p.ErrNotRegistered},
			{"object that is not a registration", p2p.ConfirmationRequest{BlobID: enc.BlobID, Epoch: com.Epoch, ObjectID: &[32]byte{9}}, p2p.ErrNotRegistered},
		} {
			if _, err := c.client.GetConfirmation(c.ctx, c.pid(0), tc.req); !errors.Is(err, tc.want) {
				t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
			}
		}
		// The genuine request is signed, by the right key, on the right
		// message.
		cert, err := c.confirm(enc, obj, []int{0})
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
	c := newCluster(t, clusterOpts{nodes: 4, shards: 10})
	enc, err := c.codec.Encode(randomBytes(3000, 3))
	if err != nil {
		t.Fatal(err)
	}
	for i := range c.nodes {
		c.send(enc, i)
	}
	for i := range c.nodes {
		if shards, _ := c.nodes[i].node.store.StoredShards(c.ctx, enc.BlobID); len(shards) != 0 {
			t.Fatalf("node %d stored slivers of an unregistered blob", i)
		}
	}
	res, err := c.chain.RegisterBlob(c.ctx, c.user, chain.RegisterBlobArgs{
		BlobID: enc.BlobID, RootHash: enc.Metadata.Root(), Size: 3000, EncodingType: encoding.RS2, Epochs: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := c.confirm(enc, res.Blob, []int{0, 1, 2, 3})
	if err != nil {
		t.Fatalf("confirmations after registration: %v", err)
	}
	if _, err := c.chain.CertifyBlob(c.ctx, c.user, res.Blob.ID, cert); err != nil {
		t.Fatal(err)
	}
	readBack(t, c, enc)
}

// TestRecovery: a node that received nothing rebuilds its slivers from its
// peers' recovery symbols once the blob is certified by the others.
func TestRecovery(t *testing.T) {
	c := newCluster(t, clusterOpts{nodes: 4, shards: 10})
	com := c.committee()
	// The node with the fewest shards is left out; the others hold a quorum.
	lazy := 0
	for i := range c.nodes {
		if len(com.Members[c.member(com, i)].Shards) < len(com.Members[c.member(com, lazy)].Shards) {
			lazy = i
		}
	}
	enc, obj := c.register(randomBytes(20_000, 4), 2, false)
	var signers []int
	for i := range c.nodes {
		if i != lazy {
			c.send(enc, i)
			signers = append(signers, i)
		}
	}
	cert, err := c.confirm(enc, obj, signers)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.chain.CertifyBlob(c.ctx, c.user, obj.ID, cert); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the left-out node recovers its slivers", 20*time.Second, func() error {
		missing, err := c.nodes[lazy].node.missingShards(c.ctx, enc.BlobID, c.nodes[lazy].node.view.Load())
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return errNotYet
		}
		return nil
	})
	readBack(t, c, enc)
}

// TestRestart: a node stopped and started again serves what it stored.
func TestRestart(t *testing.T) {
	c := newCluster(t, clusterOpts{nodes: 4, shards: 10})
	enc, _ := c.storeBlob(randomBytes(40_000, 5), 2)
	c.stop(2)
	c.start(2)
	readBack(t, c, enc)
}
