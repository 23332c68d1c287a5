package sui

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/mr-tron/base58"

	"github.com/walrus-go/walrus/chain"
)

// How a node of ours is found from Walrus's node record (StorageNodeInfo).
// Walrus's own nodes put "host:port" in network_address and a 33-byte
// compressed secp256r1 TLS key in network_public_key; its client dials
// https://host:port and checks the TLS key. Ours speak libp2p, so:
//
//	network_address     "/p2p/<peer ID>" followed by the node's multiaddrs,
//	                    separated by single spaces; at most
//	                    MaxNetworkAddressLen bytes (the Move package's limit)
//	network_public_key  0x00 ‖ the 32-byte Ed25519 libp2p key (0x00 is Sui's
//	                    Ed25519 flag; a secp256r1 key starts with 0x02 or
//	                    0x03, so the two never collide). The peer ID in
//	                    network_address must be this key's; the reader
//	                    checks it. A peer ID that is not an Ed25519 identity
//	                    is written with 0xFF ‖ 32 zero bytes (no key).
//
// A record in Walrus's own form reads as one address /dns/host/tcp/port
// (/ip4 or /ip6 for literal IPs) and no peer ID.

// MaxNetworkAddressLen is walrus::staking_pool's MAX_NETWORK_ADDRESS_LENGTH.
const MaxNetworkAddressLen = 259

// MaxNodeNameLen is walrus::staking_pool's MAX_NODE_NAME_LENGTH.
const MaxNodeNameLen = 100

// NetworkKeySize is the length the package requires of network_public_key.
const NetworkKeySize = 33

const (
	netKeyEd25519 = 0x00
	netKeyNone    = 0xFF
)

// ed25519PeerPrefix prefixes an Ed25519 key in an identity-multihash peer
// ID: multihash identity (0x00), length 36, protobuf PublicKey{Type:
// Ed25519, Data: 32 bytes}.
var ed25519PeerPrefix = []byte{0x00, 0x24, 0x08, 0x01, 0x12, 0x20}

// PeerIDFromEd25519 returns the libp2p peer ID of an Ed25519 public key.
func PeerIDFromEd25519(pub []byte) string {
	return base58.Encode(append(append([]byte(nil), ed25519PeerPrefix...), pub...))
}

// ed25519FromPeerID returns the key of an Ed25519 identity peer ID.
func ed25519FromPeerID(id string) ([]byte, bool) {
	b, err := base58.Decode(id)
	if err != nil || len(b) != len(ed25519PeerPrefix)+32 || !bytes.HasPrefix(b, ed25519PeerPrefix) {
		return nil, false
	}
	return b[len(ed25519PeerPrefix):], true
}

// EncodeNetworkRecord returns network_address and network_public_key for a
// node of ours.
func EncodeNetworkRecord(peerID string, addrs []string) (string, []byte, error) {
	if peerID == "" || strings.ContainsAny(peerID, " /") {
		return "", nil, fmt.Errorf("%w: peer ID %q", chain.ErrInvalidArgument, peerID)
	}
	if len(addrs) > chain.MaxNodeAddresses {
		return "", nil, fmt.Errorf("%w: %d addresses, at most %d", chain.ErrInvalidArgument, len(addrs), chain.MaxNodeAddresses)
	}
	parts := []string{"/p2p/" + peerID}
	for _, a := range addrs {
		if !strings.HasPrefix(a, "/") || strings.ContainsAny(a, " \t\n") || len(a) > chain.MaxAddressLen {
			return "", nil, fmt.Errorf("%w: address %q is not a multiaddr", chain.ErrInvalidArgument, a)
		}
		parts = append(parts, a)
	}
	na := strings.Join(parts, " ")
	if len(na) > MaxNetworkAddressLen {
		return "", nil, fmt.Errorf("%w: peer ID and addresses take %d bytes, the package allows %d", chain.ErrInvalidArgument, len(na), MaxNetworkAddressLen)
	}
	key := make([]byte, NetworkKeySize)
	if pub, ok := ed25519FromPeerID(peerID); ok {
		key[0] = netKeyEd25519
		copy(key[1:], pub)
	} else {
		key[0] = netKeyNone
	}
	return na, key, nil
}

// DecodeNetworkRecord reads a node's peer ID and multiaddrs from its record,
// in our form or Walrus's.
func DecodeNetworkRecord(networkAddress string, networkKey []byte) (peerID string, addrs []string, err error) {
	if !strings.HasPrefix(networkAddress, "/") {
		a, err := hostPortMultiaddr(networkAddress)
		if err != nil {
			return "", nil, err
		}
		return "", []string{a}, nil
	}
	parts := strings.Split(networkAddress, " ")
	id, ok := strings.CutPrefix(parts[0], "/p2p/")
	if !ok || id == "" {
		return "", nil, fmt.Errorf("%w: network address %q does not start with /p2p/<peer ID>", ErrDecode, networkAddress)
	}
	if len(networkKey) == NetworkKeySize && networkKey[0] == netKeyEd25519 {
		if want := PeerIDFromEd25519(networkKey[1:]); want != id {
			return "", nil, fmt.Errorf("%w: peer ID %s is not the network key's (%s)", ErrDecode, id, want)
		}
	}
	addrs = []string{}
	for _, a := range parts[1:] {
		if a == "" || !strings.HasPrefix(a, "/") {
			return "", nil, fmt.Errorf("%w: network address %q", ErrDecode, networkAddress)
		}
		addrs = append(addrs, a)
	}
	return id, addrs, nil
}

// hostPortMultiaddr turns Walrus's "host:port" into a multiaddr.
func hostPortMultiaddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("%w: network address %q: %v", ErrDecode, s, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil || host == "" {
		return "", fmt.Errorf("%w: network address %q", ErrDecode, s)
	}
	proto := "dns"
	if ip := net.ParseIP(host); ip != nil {
		proto = "ip6"
		if ip.To4() != nil {
			proto = "ip4"
		}
	}
	return "/" + proto + "/" + host + "/tcp/" + port, nil
}
