// Package suitest is a Sui JSON-RPC server for tests of the Sui backend
// (chain/sui) and of what runs on it: a client's write path, a node's event
// follower. No Sui node can run here, so the server answers the calls
// chain/sui makes, in Sui's JSON shapes, from a real embedded chain
// (chain/local) that enforces the protocol's rules:
//
//   - transactions arrive as Sui TransactionData BCS with a Sui Ed25519
//     signature; the server decodes them (sui.DecodeTransaction), checks
//     the signature against the sender's address, recognises the Walrus
//     Move calls chain/sui builds, and executes the same operation on the
//     local chain, signed with the sender's key (the server holds the test
//     accounts' keys: AddAccount);
//   - objects (System, Staking and their inner dynamic fields, staking
//     pools, blobs, storage, staked WAL, StorageNodeCaps, coins) are
//     served as the BCS of Walrus's Move types, made from the local chain's
//     state with chain/sui's encoders (which the vector tests check
//     against Mysten's SDK byte for byte);
//   - events are the local chain's, as walrus::events BCS; failures are
//     rendered as the MoveAbort of the package that means the same.
//
// What this proves and what it does not: that chain/sui's JSON-RPC layer,
// coin and gas handling, object reading and event following work against
// these shapes and these semantics. The Move package's own rules are the
// local chain's here, not Walrus's (see chain/sui's package doc for where
// they differ); the JSON shapes are Sui's as documented and as
// sui-go-sdk's models read them, not captured from a node.
package suitest

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/chaintest"
	"github.com/walrus-go/walrus/chain/local"
	"github.com/walrus-go/walrus/chain/sui"
	"github.com/walrus-go/walrus/encoding"
)

// The fixed IDs of the deployment the server pretends.
var (
	PackageID = chain.ObjectID{0: 0xa1, 31: 0x01}
	SystemID  = chain.ObjectID{0: 0xa1, 31: 0x02}
	StakingID = chain.ObjectID{0: 0xa1, 31: 0x03}
	PoolsID   = chain.ObjectID{0: 0xa1, 31: 0x04}
	WALPkg    = chain.ObjectID{0: 0xa1, 31: 0x05}
)

// Shared versions of System and Staking.
const (
	systemVersion  = 5
	stakingVersion = 6
	// GasPrice is the reference gas price the server reports.
	GasPrice = 1000
	// GasPerAccount is the SUI (MIST) every account holds for gas.
	GasPerAccount = 1_000_000_000_000
	// maxRequest bounds a request body.
	maxRequest = 1 << 20
)

// WALType is the server's WAL coin type.
var WALType = WALPkg.String() + "::wal::WAL"

// Server is the test server. Close it (New registers that with t).
type Server struct {
	srv   *httptest.Server
	local *local.Chain
	clock *clock

	mu      sync.Mutex
	keys    map[chain.Address]*chain.AccountKey
	objects map[chain.ObjectID]*meta // objects the local chain does not list by ID
	version uint64
}

// meta is what the server remembers of an object the local chain does not
// serve by ID.
type meta struct {
	kind  string // "storage", "staked", "cap", "coin"
	owner chain.Address
	node  chain.NodeID // cap
	value uint64       // coin
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// New starts a server over a fresh local chain with the network's genesis,
// holding the keys of its client and node operators.
func New(t testing.TB, net *chaintest.Network) *Server {
	t.Helper()
	g := &local.Genesis{
		NShards: net.NShards, EpochDuration: local.Duration(net.EpochDuration), MaxEpochsAhead: net.MaxEpochsAhead,
		StoragePrice: net.StoragePrice, WritePrice: net.WritePrice, MinStake: net.MinStake,
		Accounts: []local.GenesisAccount{{Address: net.Client.Address(), Balance: net.ClientFunds}},
	}
	for _, n := range net.Nodes {
		gn, err := local.NewGenesisNode(n.Operator.Address(), n.Key, n.Network, n.Name, n.PeerID, n.Addresses, n.Stake)
		if err != nil {
			t.Fatal(err)
		}
		gn.Commission = n.Commission
		g.Nodes = append(g.Nodes, gn)
	}
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	lc, err := local.Open(context.Background(), local.Config{Genesis: g, Now: clk.now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{local: lc, clock: clk, keys: map[chain.Address]*chain.AccountKey{}, objects: map[chain.ObjectID]*meta{}}
	s.AddAccount(net.Client)
	for _, n := range net.Nodes {
		s.AddAccount(n.Operator)
	}
	nodes, err := lc.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		s.addCap(n.ID, n.Operator)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.srv.Close()
		lc.Close()
	})
	return s
}

// Over starts a server over an existing local chain (a test network's),
// holding keys, the accounts whose transactions it may execute; every
// registered node's operator gets its StorageNodeCap. The chain's owner
// moves its clock; Advance may not be used.
func Over(t testing.TB, lc *local.Chain, keys ...*chain.AccountKey) *Server {
	t.Helper()
	s := &Server{local: lc, keys: map[chain.Address]*chain.AccountKey{}, objects: map[chain.ObjectID]*meta{}}
	for _, k := range keys {
		s.AddAccount(k)
	}
	nodes, err := lc.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		s.addCap(n.ID, n.Operator)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// AddAccount lets the server execute transactions signed by k's address.
func (s *Server) AddAccount(k *chain.AccountKey) {
	s.mu.Lock()
	s.keys[k.Address()] = k
	s.mu.Unlock()
}

// Local returns the local chain behind the server (to fund accounts, to
// compare state).
func (s *Server) Local() *local.Chain { return s.local }

// Config returns the chain/sui configuration that reaches the server.
func (s *Server) Config() sui.Config {
	return sui.Config{RPCURL: s.srv.URL, Package: PackageID.String(), System: SystemID.String(), Staking: StakingID.String(),
		WALType: WALType, PollInterval: 10 * time.Millisecond}
}

// Advance moves the clock by d and lets the local chain make its blocks
// (servers from New only).
func (s *Server) Advance(ctx context.Context, d time.Duration) error {
	if s.clock == nil {
		return errors.New("suitest: Advance on a server over a chain it does not own")
	}
	s.clock.add(d)
	return s.local.Tick(ctx)
}

func (s *Server) addCap(node chain.NodeID, owner chain.Address) chain.ObjectID {
	id := derive("cap", node[:])
	s.mu.Lock()
	s.objects[id] = &meta{kind: "cap", owner: owner, node: node}
	s.mu.Unlock()
	return id
}

func (s *Server) remember(id chain.ObjectID, m *meta) {
	s.mu.Lock()
	s.objects[id] = m
	s.mu.Unlock()
}

func (s *Server) lookup(id chain.ObjectID) *meta {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.objects[id]; m != nil {
		c := *m
		return &c
	}
	return nil
}

func (s *Server) capOf(node chain.NodeID) (chain.ObjectID, *meta) {
	id := derive("cap", node[:])
	return id, s.lookup(id)
}

// derive makes a deterministic object ID.
func derive(kind string, parts ...[]byte) chain.ObjectID {
	h, _ := blake2b.New256(nil)
	h.Write([]byte("suitest:" + kind))
	for _, p := range parts {
		h.Write(p)
	}
	var id chain.ObjectID
	h.Sum(id[:0])
	return id
}

func (s *Server) nextVersion() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	return s.version
}

// ---- JSON-RPC -------------------------------------------------------------

type request struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

type rpcErr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	result, err := s.dispatch(r.Context(), req.Method, req.Params)
	resp := map[string]any{"jsonrpc": "2.0", "id": req.ID}
	if err != nil {
		resp["error"] = rpcErr{Code: -32000, Message: err.Error()}
	} else {
		resp["result"] = result
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func param[T any](ps []json.RawMessage, i int) (T, error) {
	var v T
	if i >= len(ps) || string(ps[i]) == "null" {
		return v, nil
	}
	err := json.Unmarshal(ps[i], &v)
	return v, err
}

func (s *Server) dispatch(ctx context.Context, method string, ps []json.RawMessage) (any, error) {
	switch method {
	case "sui_getChainIdentifier":
		return "35834a8a", nil
	case "suix_getReferenceGasPrice":
		return strconv.Itoa(GasPrice), nil
	case "sui_getObject":
		id, err := objectParam(ps, 0)
		if err != nil {
			return nil, err
		}
		return s.objectResponse(ctx, id)
	case "sui_multiGetObjects":
		ids, err := param[[]string](ps, 0)
		if err != nil {
			return nil, err
		}
		var out []any
		for _, x := range ids {
			id, err := chain.ParseObjectID(x)
			if err != nil {
				return nil, err
			}
			r, err := s.objectResponse(ctx, id)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	case "suix_getDynamicFieldObject":
		return s.dynamicField(ctx, ps)
	case "suix_getDynamicFields":
		return s.dynamicFields(ctx, ps)
	case "suix_getOwnedObjects":
		return s.ownedObjects(ctx, ps)
	case "suix_getCoins":
		return s.coins(ctx, ps)
	case "suix_getBalance":
		owner, err := addressParam(ps, 0)
		if err != nil {
			return nil, err
		}
		typ, _ := param[string](ps, 1)
		bal := uint64(GasPerAccount)
		if typ == WALType {
			if bal, err = s.local.Balance(ctx, owner); err != nil {
				return nil, err
			}
		}
		return map[string]any{"coinType": typ, "coinObjectCount": 1, "totalBalance": strconv.FormatUint(bal, 10)}, nil
	case "suix_queryEvents":
		return s.queryEvents(ctx, ps)
	case "sui_executeTransactionBlock":
		return s.execute(ctx, ps)
	}
	return nil, fmt.Errorf("method %s not supported by suitest", method)
}

func objectParam(ps []json.RawMessage, i int) (chain.ObjectID, error) {
	x, err := param[string](ps, i)
	if err != nil {
		return chain.ObjectID{}, err
	}
	return chain.ParseObjectID(x)
}

func addressParam(ps []json.RawMessage, i int) (chain.Address, error) {
	x, err := param[string](ps, i)
	if err != nil {
		return chain.Address{}, err
	}
	return chain.ParseAddress(x)
}

// obj is a served object.
type obj struct {
	id     chain.ObjectID
	typ    string
	bcs    []byte
	owner  chain.Address
	shared uint64
}

func typeName(module, name string) string { return PackageID.String() + "::" + module + "::" + name }

func (o obj) json(version uint64) map[string]any {
	dg := blake2b.Sum256(append(o.id[:], binary.LittleEndian.AppendUint64(nil, version)...))
	var owner any = map[string]string{"AddressOwner": o.owner.String()}
	if o.shared != 0 {
		owner = map[string]any{"Shared": map[string]uint64{"initial_shared_version": o.shared}}
	} else if o.owner.IsZero() {
		owner = map[string]string{"ObjectOwner": PoolsID.String()}
	}
	return map[string]any{"data": map[string]any{
		"objectId": o.id.String(), "version": strconv.FormatUint(version, 10), "digest": sui.DigestString(dg), "type": o.typ,
		"owner": owner,
		"bcs":   map[string]any{"dataType": "moveObject", "type": o.typ, "hasPublicTransfer": true, "version": version, "bcsBytes": base64.StdEncoding.EncodeToString(o.bcs)},
	}}
}

var notExists = map[string]any{"error": map[string]string{"code": "notExists"}}

func (s *Server) objectResponse(ctx context.Context, id chain.ObjectID) (any, error) {
	o, ok, err := s.object(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return notExists, nil
	}
	return o.json(s.nextVersion()), nil
}

// object builds the object with the given ID from the local chain's state.
func (s *Server) object(ctx context.Context, id chain.ObjectID) (obj, bool, error) {
	switch id {
	case SystemID:
		return obj{id: id, typ: typeName("system", "System"), shared: systemVersion,
			bcs: sui.Versioned{ID: id, Version: 1, PackageID: PackageID}.Encode()}, true, nil
	case StakingID:
		return obj{id: id, typ: typeName("staking", "Staking"), shared: stakingVersion,
			bcs: sui.Versioned{ID: id, Version: 1, PackageID: PackageID}.Encode()}, true, nil
	}
	if b, err := s.local.BlobObject(ctx, id); err == nil {
		return s.blobObj(b), true, nil
	} else if !errors.Is(err, chain.ErrNotFound) {
		return obj{}, false, err
	}
	if n, err := s.local.Node(ctx, id); err == nil {
		o, err := s.poolObj(ctx, n)
		return o, err == nil, err
	}
	m := s.lookup(id)
	if m == nil {
		return obj{}, false, nil
	}
	switch m.kind {
	case "cap":
		return obj{id: id, typ: typeName("storage_node", "StorageNodeCap"), owner: m.owner,
			bcs: sui.StorageNodeCap{ID: id, NodeID: m.node}.Encode()}, true, nil
	case "coin":
		b := append(append([]byte(nil), id[:]...), binary.LittleEndian.AppendUint64(nil, m.value)...)
		return obj{id: id, typ: "0x2::coin::Coin<" + WALType + ">", owner: m.owner, bcs: b}, true, nil
	case "storage":
		rs, err := s.local.StorageResources(ctx, m.owner)
		if err != nil {
			return obj{}, false, err
		}
		for _, r := range rs {
			if r.ID == id {
				return storageObj(r, m.owner), true, nil
			}
		}
	case "staked":
		ws, err := s.local.StakedWAL(ctx, m.owner)
		if err != nil {
			return obj{}, false, err
		}
		for _, w := range ws {
			if w.ID == id {
				return stakedObj(w), true, nil
			}
		}
	}
	return obj{}, false, nil
}

func (s *Server) blobObj(b chain.BlobObject) obj {
	return obj{id: b.ID, typ: typeName("blob", "Blob"), owner: b.Owner, bcs: sui.Blob{
		ID: b.ID, RegisteredEpoch: b.RegisteredEpoch, BlobID: b.BlobID, Size: b.Size, EncodingType: uint8(b.EncodingType),
		CertifiedEpoch: b.CertifiedEpoch, Deletable: b.Deletable,
		Storage: sui.Storage{ID: b.Storage.ID, StartEpoch: b.Storage.StartEpoch, EndEpoch: b.Storage.EndEpoch, Size: b.Storage.Size},
	}.Encode()}
}

func storageObj(r chain.StorageResource, owner chain.Address) obj {
	return obj{id: r.ID, typ: typeName("storage_resource", "Storage"), owner: owner,
		bcs: sui.Storage{ID: r.ID, StartEpoch: r.StartEpoch, EndEpoch: r.EndEpoch, Size: r.Size}.Encode()}
}

func stakedObj(w chain.StakedWAL) obj {
	return obj{id: w.ID, typ: typeName("staked_wal", "StakedWal"), owner: w.Owner, bcs: sui.StakedWal{
		ID: w.ID, Withdrawing: w.State == chain.StakeWithdrawing, WithdrawEpoch: w.WithdrawEpoch, NodeID: w.NodeID,
		Principal: w.Principal, ActivationEpoch: w.ActivationEpoch,
	}.Encode()}
}

func (s *Server) poolObj(ctx context.Context, n chain.NodeInfo) (obj, error) {
	st, err := s.local.SystemState(ctx)
	if err != nil {
		return obj{}, err
	}
	na, nk, err := sui.EncodeNetworkRecord(n.PeerID, n.Addresses)
	if err != nil {
		return obj{}, err
	}
	capID, _ := s.capOf(n.ID)
	p := sui.StakingPool{
		ID: n.ID, StoragePriceVote: n.StoragePriceVote, WritePriceVote: n.WritePriceVote, NodeCapacity: n.Capacity,
		NodeInfo:        sui.StorageNodeInfo{Name: n.Name, NodeID: n.ID, NetworkAddress: na, PublicKey: n.PublicKey[:], NetworkPublicKey: nk},
		ActivationEpoch: n.RegisteredEpoch, LatestEpoch: st.Epoch, WalBalance: n.Stake, NumShares: n.Stake, CommissionRate: n.Commission,
		PendingSharesWithdraw: []sui.EpochValue{}, PreActiveWithdrawals: []sui.EpochValue{}, PendingCommission: []sui.EpochValue{}, PendingStake: []sui.EpochValue{},
		CommissionReceiver: sui.Authorized{IsObject: true, ID: capID}, GovernanceAuthorized: sui.Authorized{ID: n.Operator},
	}
	if n.NextPublicKey != nil {
		p.NodeInfo.NextEpochPublicKey = n.NextPublicKey[:]
	}
	if n.PendingStake > 0 {
		p.PendingStake = []sui.EpochValue{{Epoch: st.Epoch + 1, Value: n.PendingStake}}
	}
	if n.NextCommission != n.Commission {
		p.PendingCommission = []sui.EpochValue{{Epoch: st.Epoch + 1, Value: uint64(n.NextCommission)}}
	}
	return obj{id: n.ID, typ: typeName("staking_pool", "StakingPool"), bcs: p.Encode()}, nil
}

func entries(c *chain.Committee) []sui.CommitteeEntry {
	out := []sui.CommitteeEntry{}
	for _, m := range c.Members {
		out = append(out, sui.CommitteeEntry{NodeID: m.NodeID, Shards: slices.Clone(m.Shards)})
	}
	return out
}

func (s *Server) dynamicField(ctx context.Context, ps []json.RawMessage) (any, error) {
	parent, err := objectParam(ps, 0)
	if err != nil {
		return nil, err
	}
	name, err := param[struct {
		Type  string `json:"type"`
		Value any    `json:"value"`
	}](ps, 1)
	if err != nil {
		return nil, err
	}
	st, err := s.local.SystemState(ctx)
	if err != nil {
		return nil, err
	}
	switch parent {
	case SystemID, StakingID:
		if name.Type != "u64" || fmt.Sprint(name.Value) != "1" {
			return notExists, nil
		}
		com, err := s.local.Committee(ctx, 0)
		if err != nil {
			return nil, err
		}
		fieldID := derive("field", parent[:])
		var b []byte
		if parent == SystemID {
			inner := sui.SystemStateInnerV1{
				Committee:    sui.BlsCommittee{NShards: uint16(st.NShards), Epoch: st.Epoch, TotalAggregatedKey: make([]byte, 48)},
				StoragePrice: st.StoragePrice, WritePrice: st.WritePrice, AccountingLength: st.MaxEpochsAhead,
				Accounting:       []sui.FutureAccounting{},
				EventBlobWeights: []sui.EventBlobWeight{},
			}
			for _, m := range com.Members {
				inner.Committee.Members = append(inner.Committee.Members, sui.BlsMember{PublicKey: m.PublicKey[:], Weight: uint16(len(m.Shards)), NodeID: m.NodeID})
			}
			b = sui.EncodeSystemInner(sui.Field[sui.SystemStateInnerV1]{ID: fieldID, Name: 1, Value: inner})
		} else {
			inner := sui.StakingInnerV1{
				NShards: uint16(st.NShards), EpochDurationMs: uint64(st.EpochDuration.Milliseconds()),
				FirstEpochStartMs: uint64(st.EpochStart.Add(-time.Duration(st.Epoch-1) * st.EpochDuration).UnixMilli()),
				PoolsID:           PoolsID, Epoch: st.Epoch, Committee: entries(com), PreviousCommittee: []sui.CommitteeEntry{},
			}
			if prev, err := s.local.Committee(ctx, st.Epoch-1); err == nil && st.Epoch > 1 {
				inner.PreviousCommittee = entries(prev)
			}
			if next, err := s.local.Committee(ctx, st.Epoch+1); err == nil {
				inner.HasNextCommittee, inner.NextCommittee = true, entries(next)
			}
			switch st.Phase {
			case chain.PhaseSyncing:
				inner.EpochState = sui.EpochState{Kind: sui.StateEpochChangeSync}
			case chain.PhaseActive:
				inner.EpochState = sui.EpochState{Kind: sui.StateEpochChangeDone, Value: uint64(st.EpochStart.UnixMilli())}
			default:
				inner.EpochState = sui.EpochState{Kind: sui.StateNextParamsSelected, Value: uint64(st.EpochStart.UnixMilli())}
			}
			b = sui.EncodeStakingInner(sui.Field[sui.StakingInnerV1]{ID: fieldID, Name: 1, Value: inner})
		}
		return obj{id: fieldID, typ: "0x2::dynamic_field::Field<u64, inner>", bcs: b, owner: chain.Address{}}.json(s.nextVersion()), nil
	case PoolsID:
		id, err := chain.ParseObjectID(fmt.Sprint(name.Value))
		if err != nil {
			return nil, err
		}
		n, err := s.local.Node(ctx, id)
		if errors.Is(err, chain.ErrUnknownNode) {
			return notExists, nil
		} else if err != nil {
			return nil, err
		}
		o, err := s.poolObj(ctx, n)
		if err != nil {
			return nil, err
		}
		return o.json(s.nextVersion()), nil
	}
	return s.metadataField(ctx, parent, name.Type, name.Value)
}

func (s *Server) dynamicFields(ctx context.Context, ps []json.RawMessage) (any, error) {
	parent, err := objectParam(ps, 0)
	if err != nil {
		return nil, err
	}
	var data []any
	if parent == PoolsID {
		nodes, err := s.local.Nodes(ctx)
		if err != nil {
			return nil, err
		}
		for _, n := range nodes {
			data = append(data, map[string]any{"name": map[string]string{"type": "0x2::object::ID", "value": n.ID.String()},
				"objectType": typeName("staking_pool", "StakingPool"), "objectId": n.ID.String(), "version": 1, "digest": sui.DigestString([32]byte{})})
		}
	}
	return map[string]any{"data": data, "nextCursor": nil, "hasNextPage": false}, nil
}

func (s *Server) ownedObjects(ctx context.Context, ps []json.RawMessage) (any, error) {
	owner, err := addressParam(ps, 0)
	if err != nil {
		return nil, err
	}
	q, err := param[struct {
		Filter map[string]string `json:"filter"`
	}](ps, 1)
	if err != nil {
		return nil, err
	}
	var objs []obj
	switch q.Filter["StructType"] {
	case typeName("blob", "Blob"):
		bs, err := s.local.BlobObjects(ctx, owner)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			objs = append(objs, s.blobObj(b))
		}
	case typeName("storage_resource", "Storage"):
		rs, err := s.local.StorageResources(ctx, owner)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			s.remember(r.ID, &meta{kind: "storage", owner: owner})
			objs = append(objs, storageObj(r, owner))
		}
	case typeName("staked_wal", "StakedWal"):
		ws, err := s.local.StakedWAL(ctx, owner)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			s.remember(w.ID, &meta{kind: "staked", owner: owner})
			objs = append(objs, stakedObj(w))
		}
	case typeName("storage_node", "StorageNodeCap"):
		s.mu.Lock()
		for id, m := range s.objects {
			if m.kind == "cap" && m.owner == owner {
				objs = append(objs, obj{id: id, typ: typeName("storage_node", "StorageNodeCap"), owner: owner, bcs: sui.StorageNodeCap{ID: id, NodeID: m.node}.Encode()})
			}
		}
		s.mu.Unlock()
	}
	var data []any
	for _, o := range objs {
		data = append(data, o.json(s.nextVersion()))
	}
	return map[string]any{"data": data, "nextCursor": nil, "hasNextPage": false}, nil
}

// coins serves an account's WAL as two coins (so that payments merge) and
// its gas as one SUI coin.
func (s *Server) coins(ctx context.Context, ps []json.RawMessage) (any, error) {
	owner, err := addressParam(ps, 0)
	if err != nil {
		return nil, err
	}
	typ, _ := param[string](ps, 1)
	coin := func(id chain.ObjectID, bal uint64) map[string]any {
		v := s.nextVersion()
		dg := blake2b.Sum256(append(id[:], byte(v)))
		return map[string]any{"coinType": typ, "coinObjectId": id.String(), "version": strconv.FormatUint(v, 10),
			"digest": sui.DigestString(dg), "balance": strconv.FormatUint(bal, 10)}
	}
	var data []any
	if typ == WALType {
		bal, err := s.local.Balance(ctx, owner)
		if err != nil {
			return nil, err
		}
		if bal > 0 {
			data = append(data, coin(derive("wal0", owner[:]), bal-bal/2))
		}
		if bal/2 > 0 {
			data = append(data, coin(derive("wal1", owner[:]), bal/2))
		}
	} else {
		data = append(data, coin(derive("gas", owner[:]), GasPerAccount))
	}
	return map[string]any{"data": data, "nextCursor": nil, "hasNextPage": false}, nil
}

// ---- events ----------------------------------------------------------------

// moveEvent maps a local event to the walrus::events event the package
// emits for it; ok is false for events Walrus's package does not emit.
func moveEvent(e chain.Event) (sui.MoveEvent, bool) {
	m := sui.MoveEvent{Epoch: e.Epoch, BlobID: e.BlobID, ObjectID: e.ObjectID}
	switch e.Kind {
	case chain.EventBlobRegistered:
		m.Type, m.Size, m.EncodingType, m.EndEpoch, m.Deletable = "BlobRegistered", e.Size, uint8(e.EncodingType), e.EndEpoch, e.Deletable
	case chain.EventBlobCertified, chain.EventBlobExtended:
		m.Type, m.EndEpoch, m.Deletable, m.IsExtension = "BlobCertified", e.EndEpoch, e.Deletable, e.Kind == chain.EventBlobExtended
	case chain.EventBlobDeleted:
		m.Type, m.EndEpoch, m.WasCertified = "BlobDeleted", e.EndEpoch, e.WasCertified
	case chain.EventInvalidBlobID:
		m.Type = "InvalidBlobID"
	case chain.EventEpochChangeStart:
		m.Type = "EpochChangeStart"
	case chain.EventEpochChangeDone:
		m.Type = "EpochChangeDone"
	case chain.EventCommitteeSelected:
		m.Type, m.Epoch = "EpochParametersSelected", e.NextEpoch
	default:
		return m, false
	}
	return m, true
}

func eventJSON(e chain.Event, m sui.MoveEvent) map[string]any {
	return map[string]any{
		"id":        map[string]string{"txDigest": sui.DigestString(e.TxDigest), "eventSeq": strconv.FormatUint(e.Cursor.Seq, 10)},
		"packageId": PackageID.String(), "transactionModule": "system", "sender": chain.Address{}.String(),
		"type": typeName("events", m.Type), "parsedJson": map[string]any{},
		"bcsEncoding": "base64", "bcs": base64.StdEncoding.EncodeToString(m.Encode()), "timestampMs": "0",
	}
}

func (s *Server) queryEvents(ctx context.Context, ps []json.RawMessage) (any, error) {
	cur, err := param[*struct {
		TxDigest string `json:"txDigest"`
		EventSeq string `json:"eventSeq"`
	}](ps, 1)
	if err != nil {
		return nil, err
	}
	limit, _ := param[int](ps, 2)
	limit = min(max(limit, 1), 50)
	var after chain.Cursor
	if cur != nil {
		if after.Seq, err = strconv.ParseUint(cur.EventSeq, 10, 64); err != nil {
			return nil, err
		}
	}
	var data []any
	var next any
	more := false
	for len(data) < limit {
		evs, err := s.local.Events(ctx, after, 100, 0)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			after = e.Cursor
			if m, ok := moveEvent(e); ok {
				j := eventJSON(e, m)
				data = append(data, j)
				next = j["id"]
				if len(data) == limit {
					more = true
					break
				}
			}
		}
	}
	if len(data) < limit {
		more = false
	}
	return map[string]any{"data": data, "nextCursor": next, "hasNextPage": more}, nil
}

// ---- transactions ----------------------------------------------------------

func (s *Server) execute(ctx context.Context, ps []json.RawMessage) (any, error) {
	txb64, _ := param[string](ps, 0)
	sigs, _ := param[[]string](ps, 1)
	txb, err := base64.StdEncoding.DecodeString(txb64)
	if err != nil {
		return nil, err
	}
	tx, err := sui.DecodeTransaction(txb)
	if err != nil {
		return nil, err
	}
	if len(sigs) != 1 {
		//lint:ignore ST1005 Sui\'s own message, as its RPC returns it
		return nil, errors.New("Invalid user signature: one signature expected")
	}
	sig, err := base64.StdEncoding.DecodeString(sigs[0])
	if err != nil || len(sig) != 1+64+32 || sig[0] != 0 {
		//lint:ignore ST1005 Sui\'s own message, as its RPC returns it
		return nil, errors.New("Invalid user signature: not an Ed25519 signature")
	}
	pub := ed25519.PublicKey(sig[65:])
	h, _ := blake2b.New256(nil)
	h.Write([]byte{0, 0, 0})
	h.Write(txb)
	if chain.AddressOf(pub) != tx.Sender || !ed25519.Verify(pub, h.Sum(nil), sig[1:65]) {
		//lint:ignore ST1005 Sui\'s own message, as its RPC returns it
		return nil, errors.New("Invalid user signature: Signature is not valid")
	}
	s.mu.Lock()
	key := s.keys[tx.Sender]
	s.mu.Unlock()
	if key == nil {
		return nil, fmt.Errorf("suitest holds no key for %s (AddAccount)", tx.Sender)
	}
	digest := sui.DigestString(sui.TxDigest(txb))
	res, err := s.run(ctx, key, tx)
	resp := map[string]any{"digest": digest}
	if err != nil {
		status, ok := sui.RenderAbort(err, PackageID)
		if !ok {
			status = "suitest: " + chain.ErrorCode(err) + ": " + err.Error()
		}
		resp["effects"] = map[string]any{"status": map[string]string{"status": "failure", "error": status}, "executedEpoch": "0"}
		return resp, nil
	}
	var evs, changes []any
	for _, e := range res.receipt.Events {
		if m, ok := moveEvent(e); ok {
			evs = append(evs, eventJSON(e, m))
		}
	}
	for _, c := range res.created {
		changes = append(changes, map[string]any{"type": "created", "objectType": c.typ, "objectId": c.id.String(), "version": "1", "digest": sui.DigestString([32]byte{})})
	}
	resp["effects"] = map[string]any{"status": map[string]string{"status": "success"}, "executedEpoch": "0"}
	resp["events"] = evs
	resp["objectChanges"] = changes
	resp["checkpoint"] = strconv.FormatUint(res.receipt.Height, 10)
	return resp, nil
}

type result struct {
	receipt chain.TxReceipt
	created []obj
}

// pure reads a Pure input.
type pureReader struct {
	tx  *sui.DecodedTx
	err error
}

func (p *pureReader) pure(a sui.TxArg) []byte {
	if a.Kind != sui.ArgInput || int(a.Index) >= len(p.tx.Inputs) || p.tx.Inputs[a.Index].Pure == nil {
		if p.err == nil {
			p.err = fmt.Errorf("%w: argument is not a pure input", chain.ErrInvalidArgument)
		}
		return make([]byte, 64)
	}
	return p.tx.Inputs[a.Index].Pure
}

func (p *pureReader) u64(a sui.TxArg) uint64 {
	b := p.pure(a)
	return binary.LittleEndian.Uint64(append(b, make([]byte, 8)...))
}
func (p *pureReader) u32(a sui.TxArg) uint32 { return uint32(p.u64(a)) }
func (p *pureReader) u16(a sui.TxArg) uint16 { return uint16(p.u64(a)) }
func (p *pureReader) b32(a sui.TxArg) [32]byte {
	var out [32]byte
	copy(out[:], p.pure(a))
	return out
}

// vec reads a BCS vector<u8> (or string) input.
func (p *pureReader) vec(a sui.TxArg) []byte {
	b := p.pure(a)
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) != n {
		if p.err == nil {
			p.err = fmt.Errorf("%w: bad vector input", chain.ErrInvalidArgument)
		}
		return nil
	}
	return b[k:]
}

func (p *pureReader) object(a sui.TxArg) chain.ObjectID {
	if a.Kind != sui.ArgInput || int(a.Index) >= len(p.tx.Inputs) || p.tx.Inputs[a.Index].Object == nil {
		if p.err == nil {
			p.err = fmt.Errorf("%w: argument is not an owned object", chain.ErrInvalidArgument)
		}
		return chain.ObjectID{}
	}
	return p.tx.Inputs[a.Index].Object.ID
}

func (s *Server) calls(tx *sui.DecodedTx) map[string]sui.TxCommand {
	out := map[string]sui.TxCommand{}
	for _, c := range tx.Commands {
		if c.Kind == sui.CmdMoveCall && c.Package == PackageID {
			out[c.Module+"::"+c.Function] = c
		}
	}
	return out
}

// run executes the operation a transaction of chain/sui stands for.
func (s *Server) run(ctx context.Context, k *chain.AccountKey, tx *sui.DecodedTx) (result, error) {
	p := &pureReader{tx: tx}
	calls := s.calls(tx)
	has := func(name string) (sui.TxCommand, bool) { c, ok := calls[name]; return c, ok }
	var res result
	var err error
	switch {
	case len(calls) == 0:
		// merge, split, transfer: a WAL transfer.
		var amount uint64
		var to chain.Address
		for _, c := range tx.Commands {
			switch c.Kind {
			case sui.CmdSplitCoins:
				amount = p.u64(c.Args[1])
			case sui.CmdTransferObjects:
				to = p.b32(c.Args[len(c.Args)-1])
			}
		}
		if p.err != nil {
			return res, p.err
		}
		res.receipt, err = s.local.TransferWAL(ctx, k, to, amount)
	case calls["system::register_blob"].Function != "":
		c := calls["system::register_blob"]
		a := c.Args
		args := chain.RegisterBlobArgs{BlobID: encoding.BlobID(p.b32(a[2])), RootHash: encoding.Hash(p.b32(a[3])), Size: p.u64(a[4]),
			EncodingType: encoding.EncodingType(p.u64(a[5]) & 0xff), Deletable: p.u64(a[6])&0xff == 1}
		if r, ok := has("system::reserve_space"); ok {
			args.Epochs = p.u32(r.Args[2])
		} else {
			id := p.object(a[1])
			args.Storage = &id
		}
		for _, t := range tx.Commands {
			if t.Kind == sui.CmdTransferObjects {
				args.Owner = p.b32(t.Args[len(t.Args)-1])
			}
		}
		if p.err != nil {
			return res, p.err
		}
		r, err := s.local.RegisterBlob(ctx, k, args)
		if err != nil {
			return res, err
		}
		res.receipt, res.created = r.Receipt, []obj{s.blobObj(r.Blob)}
	case calls["system::reserve_space"].Function != "":
		a := calls["system::reserve_space"].Args
		r, err := s.local.ReserveStorage(ctx, k, p.u64(a[1]), p.u32(a[2]))
		if err != nil {
			return res, err
		}
		s.remember(r.Storage.ID, &meta{kind: "storage", owner: k.Address()})
		res.receipt, res.created = r.Receipt, []obj{storageObj(r.Storage, k.Address())}
	case calls["system::certify_blob"].Function != "":
		a := calls["system::certify_blob"].Args
		cert := &chain.Certificate{Signers: chain.Bitmap(p.vec(a[3])), Message: p.vec(a[4])}
		copy(cert.Signature[:], p.vec(a[2]))
		if p.err != nil {
			return res, p.err
		}
		r, err := s.local.CertifyBlob(ctx, k, p.object(a[1]), cert)
		res.receipt = r.Receipt
		return res, err
	case calls["system::delete_blob"].Function != "":
		a := calls["system::delete_blob"].Args
		r, err := s.local.DeleteBlob(ctx, k, p.object(a[1]))
		if err != nil {
			return res, err
		}
		s.remember(r.Storage.ID, &meta{kind: "storage", owner: k.Address()})
		res.receipt, res.created = r.Receipt, []obj{storageObj(r.Storage, k.Address())}
	case calls["system::extend_blob"].Function != "":
		a := calls["system::extend_blob"].Args
		r, err := s.local.ExtendBlob(ctx, k, p.object(a[1]), p.u32(a[2]))
		res.receipt = r.Receipt
		return res, err
	case calls["system::invalidate_blob_id"].Function != "":
		a := calls["system::invalidate_blob_id"].Args
		cert := &chain.Certificate{Signers: chain.Bitmap(p.vec(a[2])), Message: p.vec(a[3])}
		copy(cert.Signature[:], p.vec(a[1]))
		if p.err != nil {
			return res, p.err
		}
		res.receipt, err = s.local.InvalidateBlob(ctx, k, cert)
	case calls["staking::register_candidate"].Function != "":
		a := calls["staking::register_candidate"].Args
		peer, addrs, err := sui.DecodeNetworkRecord(string(p.vec(a[2])), p.vec(a[5]))
		if err != nil {
			return res, fmt.Errorf("%w: %v", chain.ErrInvalidArgument, err)
		}
		args := chain.RegisterNodeArgs{Name: string(p.vec(a[1])), PeerID: peer, Addresses: addrs,
			Commission: p.u16(a[7]), StoragePriceVote: p.u64(a[8]), WritePriceVote: p.u64(a[9]), Capacity: p.u64(a[10])}
		copy(args.PublicKey[:], p.vec(a[4]))
		copy(args.ProofOfPossession[:], p.vec(a[6]))
		if p.err != nil {
			return res, p.err
		}
		n, err := s.local.RegisterNode(ctx, k, args)
		if err != nil {
			return res, err
		}
		capID := s.addCap(n.ID, k.Address())
		res.created = []obj{{id: capID, typ: typeName("storage_node", "StorageNodeCap"), owner: k.Address()}}
	case calls["staking::stake_with_pool"].Function != "":
		a := calls["staking::stake_with_pool"].Args
		var amount uint64
		for _, c := range tx.Commands {
			if c.Kind == sui.CmdSplitCoins {
				amount = p.u64(c.Args[1])
			}
		}
		if p.err != nil {
			return res, p.err
		}
		w, err := s.local.Stake(ctx, k, p.b32(a[2]), amount)
		if err != nil {
			return res, err
		}
		s.remember(w.ID, &meta{kind: "staked", owner: k.Address()})
		res.created = []obj{stakedObj(w)}
	case calls["staking::request_withdraw_stake"].Function != "":
		_, err := s.local.RequestWithdrawal(ctx, k, p.object(calls["staking::request_withdraw_stake"].Args[1]))
		return res, err
	case calls["staking::withdraw_stake"].Function != "":
		v, err := s.local.Withdraw(ctx, k, p.object(calls["staking::withdraw_stake"].Args[1]))
		if err != nil {
			return res, err
		}
		id := derive("coin", []byte(fmt.Sprint(s.nextVersion())))
		s.remember(id, &meta{kind: "coin", owner: k.Address(), value: v})
		res.created = []obj{{id: id, typ: "0x2::coin::Coin<" + WALType + ">"}}
	case calls["staking::epoch_sync_done"].Function != "":
		a := calls["staking::epoch_sync_done"].Args
		m := s.lookup(p.object(a[1]))
		if m == nil || m.kind != "cap" || m.owner != k.Address() {
			return res, fmt.Errorf("%w: no StorageNodeCap", chain.ErrNotOwner)
		}
		res.receipt, err = s.local.EpochSyncDone(ctx, k, m.node, p.u32(a[2]))
	case calls["blob::insert_or_update_metadata_pair"].Function != "", calls["blob::remove_metadata_pair"].Function != "",
		calls["blob::take_metadata"].Function != "":
		res.receipt, err = s.blobMetadata(ctx, k, tx, p)
	case calls["staking::collect_commission"].Function != "":
		return res, fmt.Errorf("%w: suitest: the local chain has no commission collection", chain.ErrInvalidArgument)
	default:
		return s.updateNode(ctx, k, tx, p, calls)
	}
	return res, err
}

// blobMetadata executes a transaction of blob metadata calls (chain/sui
// attributes.go): all on one Blob, of one kind.
func (s *Server) blobMetadata(ctx context.Context, k *chain.AccountKey, tx *sui.DecodedTx, p *pureReader) (chain.TxReceipt, error) {
	var blob chain.ObjectID
	var pairs []chain.AttributePair
	var keys []string
	take := false
	for _, c := range tx.Commands {
		if c.Kind != sui.CmdMoveCall || c.Module != "blob" {
			continue
		}
		blob = p.object(c.Args[0])
		switch c.Function {
		case "insert_or_update_metadata_pair":
			pairs = append(pairs, chain.AttributePair{Key: string(p.vec(c.Args[1])), Value: string(p.vec(c.Args[2]))})
		case "remove_metadata_pair":
			keys = append(keys, string(p.vec(c.Args[1])))
		case "take_metadata":
			take = true
		}
	}
	if p.err != nil {
		return chain.TxReceipt{}, p.err
	}
	switch {
	case len(pairs) > 0:
		return s.local.SetBlobAttribute(ctx, k, blob, pairs)
	case len(keys) > 0:
		return s.local.RemoveBlobAttributePairs(ctx, k, blob, keys)
	case take:
		return s.local.RemoveBlobAttribute(ctx, k, blob)
	}
	return chain.TxReceipt{}, fmt.Errorf("%w: suitest: no blob metadata call", chain.ErrInvalidArgument)
}

// metadataField answers the dynamic field b"metadata" of a Blob: its
// attribute, or notExists.
func (s *Server) metadataField(ctx context.Context, parent chain.ObjectID, typ string, value any) (any, error) {
	want := make([]any, len(sui.MetadataFieldName))
	for i, c := range []byte(sui.MetadataFieldName) {
		want[i] = float64(c)
	}
	if typ != "vector<u8>" || fmt.Sprint(value) != fmt.Sprint(want) {
		return notExists, nil
	}
	a, err := s.local.BlobAttribute(ctx, parent)
	if errors.Is(err, chain.ErrNotFound) || a == nil && err == nil {
		return notExists, nil
	} else if err != nil {
		return nil, err
	}
	id := derive("metadata", parent[:])
	b := sui.MetadataField{ID: id, Pairs: a.Pairs}.Encode()
	return obj{id: id, typ: "0x2::dynamic_field::Field<vector<u8>, " + typeName("metadata", "Metadata") + ">", bcs: b}.json(s.nextVersion()), nil
}

// updateNode executes a transaction of staking setters.
func (s *Server) updateNode(ctx context.Context, k *chain.AccountKey, tx *sui.DecodedTx, p *pureReader, calls map[string]sui.TxCommand) (result, error) {
	var res result
	var node chain.NodeID
	var args chain.UpdateNodeArgs
	found := false
	for _, c := range tx.Commands {
		if c.Kind != sui.CmdMoveCall || c.Module != "staking" || !strings.HasPrefix(c.Function, "set_") {
			continue
		}
		m := s.lookup(p.object(c.Args[1]))
		if m == nil || m.kind != "cap" || m.owner != k.Address() {
			return res, fmt.Errorf("%w: no StorageNodeCap", chain.ErrNotOwner)
		}
		node, found = m.node, true
		switch c.Function {
		case "set_name":
			v := string(p.vec(c.Args[2]))
			args.Name = &v
		case "set_network_address":
			peer, addrs, err := sui.DecodeNetworkRecord(string(p.vec(c.Args[2])), nil)
			if err != nil {
				return res, fmt.Errorf("%w: %v", chain.ErrInvalidArgument, err)
			}
			args.PeerID, args.Addresses = &peer, addrs
		case "set_network_public_key":
		case "set_next_commission":
			v := p.u16(c.Args[2])
			args.Commission = &v
		case "set_next_public_key":
			var pk chain.BLSPublicKey
			var pop chain.BLSSignature
			copy(pk[:], p.vec(c.Args[2]))
			copy(pop[:], p.vec(c.Args[3]))
			args.PublicKey, args.ProofOfPossession = &pk, &pop
		case "set_storage_price_vote":
			v := p.u64(c.Args[2])
			args.StoragePriceVote = &v
		case "set_write_price_vote":
			v := p.u64(c.Args[2])
			args.WritePriceVote = &v
		case "set_node_capacity_vote":
			v := p.u64(c.Args[2])
			args.Capacity = &v
		}
	}
	if !found {
		return res, fmt.Errorf("%w: suitest does not know this transaction", chain.ErrInvalidArgument)
	}
	if p.err != nil {
		return res, p.err
	}
	_, err := s.local.UpdateNode(ctx, k, node, args)
	return res, err
}
