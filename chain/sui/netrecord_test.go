package sui

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/chain"
)

func TestNetworkRecord(t *testing.T) {
	v := loadVectors(t)
	if got := PeerIDFromEd25519(seq(32, 0xd0)); got != v.PeerID {
		t.Fatalf("peer ID %s, vectors (base58 by @mysten/sui) %s", got, v.PeerID)
	}
	pool, err := DecodeStakingPool(b64(t, v.Objects["StakingPool"]))
	if err != nil {
		t.Fatal(err)
	}
	id, addrs, err := DecodeNetworkRecord(pool.NodeInfo.NetworkAddress, pool.NodeInfo.NetworkPublicKey)
	if err != nil || id != v.PeerID || !slices.Equal(addrs, []string{"/ip4/127.0.0.1/tcp/9000", "/ip6/::1/tcp/9000"}) {
		t.Fatalf("decoded %q %q %v", id, addrs, err)
	}
	// Walrus's own record: host:port and a secp256r1 key.
	walrusPool, err := DecodeStakingPool(b64(t, v.Objects["StakingPoolWithdrawing"]))
	if err != nil {
		t.Fatal(err)
	}
	id, addrs, err = DecodeNetworkRecord(walrusPool.NodeInfo.NetworkAddress, walrusPool.NodeInfo.NetworkPublicKey)
	if err != nil || id != "" || !slices.Equal(addrs, []string{"/dns/walrus.example.com/tcp/9185"}) {
		t.Fatalf("Walrus record decoded %q %q %v", id, addrs, err)
	}
	for in, want := range map[string]string{"1.2.3.4:5": "/ip4/1.2.3.4/tcp/5", "[::1]:7": "/ip6/::1/tcp/7"} {
		if _, a, err := DecodeNetworkRecord(in, nil); err != nil || a[0] != want {
			t.Errorf("%s: %v %v", in, a, err)
		}
	}
	// A record whose peer ID is not its key's is refused.
	key := append([]byte{0}, seq(32, 1)...)
	if _, _, err := DecodeNetworkRecord("/p2p/"+v.PeerID+" /ip4/1.1.1.1/tcp/1", key); !errors.Is(err, ErrDecode) {
		t.Errorf("mismatched key: %v", err)
	}
	// A peer ID that is not an Ed25519 identity is carried without a key.
	na, k, err := EncodeNetworkRecord("12D3KooWTestPeer0", []string{"/ip4/127.0.0.1/tcp/9000"})
	if err != nil || k[0] != netKeyNone || len(k) != NetworkKeySize {
		t.Fatalf("fallback record %q %x %v", na, k, err)
	}
	if id, _, err := DecodeNetworkRecord(na, k); err != nil || id != "12D3KooWTestPeer0" {
		t.Errorf("fallback decoded %q %v", id, err)
	}
	bad := map[string]func() error{
		"no peer ID":    func() error { _, _, err := EncodeNetworkRecord("", nil); return err },
		"not multiaddr": func() error { _, _, err := EncodeNetworkRecord("x", []string{"127.0.0.1:1"}); return err },
		"too long": func() error {
			_, _, err := EncodeNetworkRecord("x", []string{"/dns/" + strings.Repeat("a", 250) + "/tcp/1"})
			return err
		},
		"too many": func() error {
			_, _, err := EncodeNetworkRecord("x", make([]string, chain.MaxNodeAddresses+1))
			return err
		},
	}
	for name, f := range bad {
		if err := f(); !errors.Is(err, chain.ErrInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
