package sui

import (
	"reflect"
	"slices"
	"testing"

	"github.com/walrus-go/walrus/chain"
)

func pk(b byte) []byte { return seq(48, b) }

func u32p(v uint32) *uint32 { return &v }

func idp(b byte) *chain.ObjectID { id := chain.ObjectID(h32(b)); return &id }

// wantObjects are the values vectors.mjs serialized, as the Go decoders
// must read them.
func wantObjects(sender chain.Address) map[string]any {
	com := []CommitteeEntry{{NodeID: h32(0x55), Shards: []uint16{0, 1, 2, 3, 4, 5, 6}}, {NodeID: h32(0x56), Shards: []uint16{7, 8, 9}}}
	return map[string]any{
		"System": Versioned{ID: h32(0x22), Version: 1, PackageID: h32(0x11)},
		"SystemStateInnerV1": Field[SystemStateInnerV1]{ID: h32(0x23), Name: 1, Value: SystemStateInnerV1{
			Committee: BlsCommittee{
				Members: []BlsMember{{PublicKey: pk(0x90), Weight: 7, NodeID: h32(0x55)}, {PublicKey: pk(0x92), Weight: 3, NodeID: h32(0x56)}},
				NShards: 10, Epoch: 7, TotalAggregatedKey: pk(0x94),
			},
			TotalCapacitySize: 1 << 45, UsedCapacitySize: 123456, StoragePrice: 1000, WritePrice: 300,
			AccountingIndex: 1, AccountingLength: 3,
			Accounting:       []FutureAccounting{{7, 10, 20}, {8, 11, 21}, {9, 12, 22}},
			LatestEventBlob:  &EventBlob{BlobID: le32(5), EndingCheckpoint: 99},
			EventBlobWeights: []EventBlobWeight{{Blob: EventBlob{BlobID: le32(6), EndingCheckpoint: 100}, Weight: 4}},
			DenyListSizes:    h32(0x24),
		}},
		"Staking": Versioned{ID: h32(0x33), Version: 1, PackageID: h32(0x11), NewPackageID: idp(0x12)},
		"StakingInnerV1": Field[StakingInnerV1]{ID: h32(0x34), Name: 1, Value: StakingInnerV1{
			NShards: 10, EpochDurationMs: 3_600_000, FirstEpochStartMs: 1_700_000_000_000, PoolsID: h32(0x35), PoolsSize: 2, Epoch: 7,
			ActiveSetID: h32(0x36), Committee: com,
			PreviousCommittee:   []CommitteeEntry{{NodeID: h32(0x55), Shards: []uint16{0, 1, 2, 3, 4}}, {NodeID: h32(0x56), Shards: []uint16{5, 6, 7, 8, 9}}},
			NextEpochParams:     &EpochParams{1 << 45, 1100, 310},
			EpochState:          EpochState{Kind: StateNextParamsSelected, Value: 1_700_000_123_000},
			NextEpochPublicKeys: h32(0x37),
		}},
		"StakingInnerV1Syncing": Field[StakingInnerV1]{ID: h32(0x34), Name: 1, Value: StakingInnerV1{
			NShards: 10, EpochDurationMs: 3_600_000, FirstEpochStartMs: 1_700_000_000_000, PoolsID: h32(0x35), PoolsSize: 2, Epoch: 8,
			ActiveSetID: h32(0x36), HasNextCommittee: true,
			NextCommittee:       []CommitteeEntry{{NodeID: h32(0x56), Shards: []uint16{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}},
			Committee:           com,
			PreviousCommittee:   []CommitteeEntry{},
			EpochState:          EpochState{Kind: StateEpochChangeSync, Value: 3},
			NextEpochPublicKeys: h32(0x37),
		}},
		"StakingPool": StakingPool{
			ID: h32(0x55), State: PoolActive, StoragePriceVote: 1000, WritePriceVote: 300, NodeCapacity: 1 << 40,
			NodeInfo: StorageNodeInfo{
				Name: "node-0", NodeID: h32(0x55), NetworkAddress: "/p2p/12D3KooWPsWYDHYAkbKpzGrUDsd7wUA4xuE7eYWpB8ykXRPy3dBC /ip4/127.0.0.1/tcp/9000 /ip6/::1/tcp/9000",
				PublicKey: pk(0x90), NextEpochPublicKey: pk(0x91), NetworkPublicKey: append([]byte{0}, seq(32, 0xd0)...), MetadataID: h32(0x57),
			},
			ActivationEpoch: 1, LatestEpoch: 7, WalBalance: 40_000_000_000, NumShares: 39_000_000_000,
			PendingSharesWithdraw: []EpochValue{}, PreActiveWithdrawals: []EpochValue{{8, 5}}, PendingCommission: []EpochValue{{8, 2500}},
			CommissionRate: 1000, ExchangeRatesID: h32(0x58), ExchangeRatesSize: 7,
			PendingStake: []EpochValue{{8, 2_000_000_000}, {9, 1_000_000_000}}, RewardsPool: 77, Commission: 12,
			CommissionReceiver: Authorized{IsObject: true, ID: h32(0xc3)}, GovernanceAuthorized: Authorized{ID: sender},
			ExtraFieldsID: h32(0x59),
		},
		"StakingPoolWithdrawing": StakingPool{
			ID: h32(0x56), State: PoolWithdrawing, WithdrawingEpoch: 9, StoragePriceVote: 1, WritePriceVote: 2, NodeCapacity: 3,
			NodeInfo: StorageNodeInfo{
				Name: "walrus-node", NodeID: h32(0x56), NetworkAddress: "walrus.example.com:9185",
				PublicKey: pk(0x92), NetworkPublicKey: append([]byte{2}, seq(32, 0xe0)...), MetadataID: h32(0x5a),
			},
			ActivationEpoch: 2, LatestEpoch: 7, WalBalance: 1, NumShares: 1,
			PendingSharesWithdraw: []EpochValue{}, PreActiveWithdrawals: []EpochValue{}, PendingCommission: []EpochValue{},
			ExchangeRatesID: h32(0x5b), PendingStake: []EpochValue{},
			CommissionReceiver: Authorized{ID: sender}, GovernanceAuthorized: Authorized{IsObject: true, ID: h32(0xc3)},
			ExtraFieldsID: h32(0x5c),
		},
		"Blob": Blob{ID: h32(0xc0), RegisteredEpoch: 7, BlobID: vecBlobID, Size: 1000, EncodingType: 1, CertifiedEpoch: u32p(7),
			Storage: Storage{ID: h32(0xc1), StartEpoch: 7, EndEpoch: 10, Size: 5 << 20}, Deletable: true},
		"BlobUncertified": Blob{ID: h32(0xc4), RegisteredEpoch: 7, BlobID: vecBlobID, Size: 1000, EncodingType: 1,
			Storage: Storage{ID: h32(0xc5), StartEpoch: 7, EndEpoch: 8, Size: 5 << 20}},
		"Storage":              Storage{ID: h32(0xc1), StartEpoch: 7, EndEpoch: 10, Size: 5 << 20},
		"StakedWal":            StakedWal{ID: h32(0xc2), NodeID: vecNode, Principal: 2_000_000_000, ActivationEpoch: 8},
		"StakedWalWithdrawing": StakedWal{ID: h32(0xc2), Withdrawing: true, WithdrawEpoch: 10, NodeID: vecNode, Principal: 2_000_000_000, ActivationEpoch: 8},
		"StorageNodeCap": StorageNodeCap{ID: h32(0xc3), NodeID: vecNode, LastEpochSyncDone: 6,
			LastEventBlobAttestation: &EventBlobAttestation{Checkpoint: 42, Epoch: 7}},
		"BlobMetadataField": MetadataField{ID: h32(0xc6), Pairs: vecAttrPairs},
	}
}

// vecAttrPairs are the attribute pairs of the vectors (attrPairs).
var vecAttrPairs = []chain.AttributePair{{Key: "content-type", Value: "text/plain"}, {Key: "x-key", Value: "a value"}}

// le32 is the BCS of a small u256.
func le32(v byte) [32]byte { var b [32]byte; b[0] = v; return b }

// decodeObject decodes the named vector object and re-encodes it.
func decodeObject(name string, b []byte) (any, []byte, error) {
	switch name {
	case "System", "Staking":
		v, err := DecodeVersioned(b)
		return v, v.Encode(), err
	case "SystemStateInnerV1":
		v, err := DecodeSystemInner(b)
		return v, EncodeSystemInner(v), err
	case "StakingInnerV1", "StakingInnerV1Syncing":
		v, err := DecodeStakingInner(b)
		return v, EncodeStakingInner(v), err
	case "StakingPool", "StakingPoolWithdrawing":
		v, err := DecodeStakingPool(b)
		return v, v.Encode(), err
	case "Blob", "BlobUncertified":
		v, err := DecodeBlob(b)
		return v, v.Encode(), err
	case "Storage":
		v, err := DecodeStorage(b)
		return v, v.Encode(), err
	case "StakedWal", "StakedWalWithdrawing":
		v, err := DecodeStakedWal(b)
		return v, v.Encode(), err
	case "StorageNodeCap":
		v, err := DecodeStorageNodeCap(b)
		return v, v.Encode(), err
	case "BlobMetadataField":
		v, err := DecodeMetadataField(b)
		return v, v.Encode(), err
	}
	return nil, nil, nil
}

// TestObjectVectors decodes each Mysten-serialized object to the values it
// was made from, and encodes them back to the same bytes.
func TestObjectVectors(t *testing.T) {
	v := loadVectors(t)
	want := wantObjects(vecKey(t).Address())
	for name, enc := range v.Objects {
		t.Run(name, func(t *testing.T) {
			b := b64(t, enc)
			got, re, err := decodeObject(name, b)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatalf("no decoder for vector %q", name)
			}
			if !reflect.DeepEqual(got, want[name]) {
				t.Errorf("decoded\n %+v\nwant\n %+v", got, want[name])
			}
			if !slices.Equal(re, b) {
				t.Errorf("re-encoded\n %x\nwant\n %x", re, b)
			}
			// Every strict prefix fails to decode, and so does a trailing byte.
			for _, bad := range [][]byte{b[:len(b)-1], append(slices.Clone(b), 0)} {
				if _, _, err := decodeObject(name, bad); err == nil {
					t.Errorf("decoding %d of %d bytes succeeded", len(bad), len(b))
				}
			}
		})
	}
	if len(v.Objects) != len(want) {
		t.Errorf("%d vectors, %d expectations", len(v.Objects), len(want))
	}
}

// TestEventVectors decodes each Mysten-serialized event.
func TestEventVectors(t *testing.T) {
	v := loadVectors(t)
	obj := chain.ObjectID(h32(0xc0))
	want := map[string]MoveEvent{
		"BlobRegistered":          {Type: "BlobRegistered", Epoch: 7, BlobID: vecBlobID, Size: 1000, EncodingType: 1, EndEpoch: 10, Deletable: true, ObjectID: obj},
		"BlobCertified":           {Type: "BlobCertified", Epoch: 7, BlobID: vecBlobID, EndEpoch: 10, Deletable: true, ObjectID: obj},
		"BlobExtended":            {Type: "BlobCertified", Epoch: 8, BlobID: vecBlobID, EndEpoch: 14, Deletable: true, ObjectID: obj, IsExtension: true},
		"BlobDeleted":             {Type: "BlobDeleted", Epoch: 9, BlobID: vecBlobID, EndEpoch: 14, ObjectID: obj, WasCertified: true},
		"InvalidBlobID":           {Type: "InvalidBlobID", Epoch: 7, BlobID: vecBlobID},
		"EpochChangeStart":        {Type: "EpochChangeStart", Epoch: 8},
		"EpochChangeDone":         {Type: "EpochChangeDone", Epoch: 8},
		"EpochParametersSelected": {Type: "EpochParametersSelected", Epoch: 9},
		"ShardsReceived":          {Type: "ShardsReceived", Epoch: 8, Shards: []uint16{3, 5, 9}},
	}
	for name, enc := range v.Events {
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %q", name)
			}
			b := b64(t, enc)
			got, err := DecodeEvent(w.Type, b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("decoded %+v, want %+v", got, w)
			}
			if re := got.Encode(); !slices.Equal(re, b) {
				t.Errorf("re-encoded %x, want %x", re, b)
			}
			if _, err := DecodeEvent(w.Type, b[:len(b)-1]); err == nil {
				t.Error("a truncated event decoded")
			}
		})
	}
	if len(v.Events) != len(want) {
		t.Errorf("%d vectors, %d expectations", len(v.Events), len(want))
	}
}
