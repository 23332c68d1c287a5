package chaintest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// Run runs the conformance suite against the backend that f starts.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name string
		fn   func(*env)
	}{
		{"Genesis", testGenesis},
		{"Faucet", testFaucet},
		{"Transfer", testTransfer},
		{"Signatures", testSignatures},
		{"RegisterBlob", testRegisterBlob},
		{"CertifyBlob", testCertifyBlob},
		{"DeletableBlob", testDeletableBlob},
		{"ExtendBlob", testExtendBlob},
		{"StorageResource", testStorageResource},
		{"Dedup", testDedup},
		{"InvalidateBlob", testInvalidateBlob},
		{"Expiry", testExpiry},
		{"EpochChange", testEpochChange},
		{"Staking", testStaking},
		{"RegisterNode", testRegisterNode},
		{"PeerIDs", testPeerIDs},
		{"UpdateNode", testUpdateNode},
		{"Pricing", testPricing},
		{"Rewards", testRewards},
		{"ChallengeRewards", testChallengeRewards},
		{"Attestation", testAttestation},
		{"PendingWithdrawal", testPendingWithdrawal},
		{"Capacity", testCapacity},
		{"Events", testEvents},
		{"BlobAttributes", testBlobAttributes},
		{"SharedBlobs", testSharedBlobs},
	}
	// One network for all tests: its keys are read-only, and making them
	// (with proofs of possession) is most of a fresh chain's cost.
	net := NewNetwork(1, 40, 30, 20, 10)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := f(t, net)
			e := &env{t: t, ctx: t.Context(), net: net, b: b, c: b.Chain}
			e.init()
			tt.fn(e)
		})
	}
}

// env is one conformance test's view of the chain.
type env struct {
	t   *testing.T
	ctx context.Context
	net *Network
	b   *Backend
	c   chain.Chain
	// ids[i] is the node ID of net.Nodes[i].
	ids []chain.NodeID
}

func (e *env) init() {
	nodes, err := e.c.Nodes(e.ctx)
	e.must(err)
	for _, n := range e.net.Nodes {
		i := slices.IndexFunc(nodes, func(info chain.NodeInfo) bool { return info.PublicKey == n.Key.PublicKey() })
		if i < 0 {
			e.t.Fatalf("genesis node %s not registered", n.Name)
		}
		e.ids = append(e.ids, nodes[i].ID)
	}
}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) wantErr(err, want error, what string) {
	e.t.Helper()
	if !errors.Is(err, want) {
		e.t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func (e *env) system() chain.SystemState {
	e.t.Helper()
	s, err := e.c.SystemState(e.ctx)
	e.must(err)
	return s
}

func (e *env) committee(epoch uint32) *chain.Committee {
	e.t.Helper()
	c, err := e.c.Committee(e.ctx, epoch)
	e.must(err)
	return c
}

func (e *env) balance(a chain.Address) uint64 {
	e.t.Helper()
	b, err := e.c.Balance(e.ctx, a)
	e.must(err)
	return b
}

// keyOf returns the protocol key of a committee member.
func (e *env) keyOf(m chain.Member) *chain.BLSPrivateKey {
	for _, n := range e.net.Nodes {
		if n.Key.PublicKey() == m.PublicKey {
			return n.Key
		}
	}
	e.t.Fatalf("no key for member %s", m.NodeID)
	return nil
}

// cert signs msg by the members holding the most shards until they hold at
// least shards shards, and aggregates the signatures.
func (e *env) cert(com *chain.Committee, msg []byte, shards int) *chain.Certificate {
	e.t.Helper()
	order := make([]int, len(com.Members))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return len(com.Members[b].Shards) - len(com.Members[a].Shards) })
	sigs := map[int]chain.BLSSignature{}
	held := 0
	for _, i := range order {
		if held >= shards {
			break
		}
		sigs[i] = e.keyOf(com.Members[i]).Sign(msg)
		held += len(com.Members[i].Shards)
	}
	c, err := chain.NewCertificate(com, msg, sigs)
	e.must(err)
	return c
}

// certBelow signs msg by members holding fewer than shards shards.
func (e *env) certBelow(com *chain.Committee, msg []byte, shards int) *chain.Certificate {
	e.t.Helper()
	sigs := map[int]chain.BLSSignature{}
	held := 0
	for i, m := range com.Members {
		if held+len(m.Shards) >= shards {
			continue
		}
		sigs[i] = e.keyOf(m).Sign(msg)
		held += len(m.Shards)
	}
	c, err := chain.NewCertificate(com, msg, sigs)
	e.must(err)
	return c
}

// blob makes the registration arguments of a synthetic blob: the chain
// checks the blob ID against root hash, size and encoding type only.
func blob(seed byte, size uint64, epochs uint32, deletable bool) chain.RegisterBlobArgs {
	var root encoding.Hash
	for i := range root {
		root[i] = seed
	}
	return chain.RegisterBlobArgs{
		BlobID: encoding.ComputeBlobID(encoding.RS2, size, root), RootHash: root, Size: size,
		EncodingType: encoding.RS2, Epochs: epochs, Deletable: deletable,
	}
}

func (e *env) register(s chain.Signer, a chain.RegisterBlobArgs) chain.RegisterBlobResult {
	e.t.Helper()
	r, err := e.c.RegisterBlob(e.ctx, s, a)
	e.must(err)
	return r
}

func (e *env) certify(obj chain.BlobObject) chain.CertifyBlobResult {
	e.t.Helper()
	com := e.committee(0)
	msg := chain.BlobCertification{Epoch: com.Epoch, BlobID: obj.BlobID, Deletable: obj.Deletable, ObjectID: obj.ID}.Message()
	r, err := e.c.CertifyBlob(e.ctx, e.net.Client, obj.ID, e.cert(com, msg, com.QuorumShards()))
	e.must(err)
	return r
}

// advance moves the clock and lets the chain catch up.
func (e *env) advance(d time.Duration) {
	e.t.Helper()
	e.must(e.b.Advance(e.ctx, d))
}

// syncAll reports sync done for every member of the current committee.
func (e *env) syncAll() {
	e.t.Helper()
	s := e.system()
	for _, m := range e.committee(s.Epoch).Members {
		n := e.nodeByID(m.NodeID)
		_, err := e.c.EpochSyncDone(e.ctx, n.Operator, m.NodeID, s.Epoch)
		e.must(err)
	}
}

func (e *env) nodeByID(id chain.NodeID) *Node {
	for i, x := range e.ids {
		if x == id {
			return e.net.Nodes[i]
		}
	}
	e.t.Fatalf("unknown node %s", id)
	return nil
}

// nextEpoch moves to the next epoch and completes its epoch change.
func (e *env) nextEpoch() uint32 {
	e.t.Helper()
	before := e.system()
	e.advance(e.net.EpochDuration)
	s := e.system()
	if s.Epoch != before.Epoch+1 || s.Phase != chain.PhaseSyncing {
		e.t.Fatalf("after an epoch: epoch %d phase %v, want %d %v", s.Epoch, s.Phase, before.Epoch+1, chain.PhaseSyncing)
	}
	e.syncAll()
	if s = e.system(); s.Phase != chain.PhaseActive {
		e.t.Fatalf("after sync reports: phase %v", s.Phase)
	}
	return s.Epoch
}

// allEvents reads the whole event stream.
func (e *env) allEvents() []chain.Event {
	e.t.Helper()
	var out []chain.Event
	var cur chain.Cursor
	for {
		evs, err := e.c.Events(e.ctx, cur, 100, 0)
		e.must(err)
		if len(evs) == 0 {
			return out
		}
		out = append(out, evs...)
		cur = evs[len(evs)-1].Cursor
	}
}

// eventsOf returns the events of a kind.
func (e *env) eventsOf(kind chain.EventKind) []chain.Event {
	var out []chain.Event
	for _, ev := range e.allEvents() {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// ---- signers that misbehave ----------------------------------------------

// unsigned does not sign.
type unsigned struct{ *chain.AccountKey }

func (unsigned) Sign([]byte) []byte { return nil }

// impostor claims another account's address but signs with its own key.
type impostor struct {
	*chain.AccountKey
	claim chain.Address
}

func (i impostor) Address() chain.Address { return i.claim }

// garbled signs with junk.
type garbled struct{ *chain.AccountKey }

func (garbled) Sign([]byte) []byte { return make([]byte, ed25519.SignatureSize) }
