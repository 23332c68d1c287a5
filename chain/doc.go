// Package chain is the only way the rest of the project talks to a chain: the
// [Chain] interface, the types it returns, and the cryptography that storage
// nodes, clients and chain backends share (account keys, BLS protocol keys,
// signed messages and certificates).
//
// Two backends implement [Chain]: package chain/local (the embedded local
// chain, in-process or over HTTP) and, later, chain/sui. Nothing outside this
// package and its backends sees backend types.
//
// # Units
//
// 1 WAL = 10^9 FROST ([FrostPerWAL]); every amount is in FROST. Storage is
// paid per unit of [StorageUnitSize] bytes of encoded length per epoch.
//
// # Identifiers
//
//	Address    Blake2b-256(0x00 ‖ Ed25519 public key), as on Sui; "0x" + 64 hex
//	ObjectID   Blake2b-256(0xF1 ‖ transaction digest ‖ creation index u64 LE);
//	           "0x" + 64 hex. A node's ID (NodeID) is its staking pool's ID.
//	Digest     a transaction digest; 64 hex
//
// # Signed messages
//
// These layouts are part of the format (DESIGN.md §3) and must not change;
// golden tests pin them.
//
//	message              intent type u8 ‖ intent version u8 (0) ‖ app id u8 (3) ‖
//	                     epoch u32 LE ‖ body
//	intent types         0 proof of possession, 1 blob certification,
//	                     2 invalid blob ID, 3 shard sync,
//	                     16 storage-challenge attestation,
//	                     17 network key registration
//	proof of possession  body = address(32) ‖ 0x30 ‖ BLS public key(48)
//	                     (BCS: address, vector<u8>), signed with the key itself
//	blob certification   body = blob ID(32) ‖ 0x00                (permanent)
//	                     body = blob ID(32) ‖ 0x01 ‖ object ID(32) (deletable)
//	invalid blob ID      body = blob ID(32)
//	attestation          body = node ID(32) ‖ ULEB128(len) ‖ bitmap of members
//	                     that passed their challenges
//	network key          body = operator address(32) ‖ 0x26 ‖ peer ID(38)
//	                     (BCS: address, vector<u8>), signed with the node's
//	                     libp2p Ed25519 network key (plain Ed25519)
//
// A peer ID is libp2p's for an Ed25519 key: base58btc of the identity
// multihash 0x00 0x24 ‖ protobuf(KeyType Ed25519, key) = 0x08 0x01 0x12 0x20
// ‖ key(32). ParsePeerID and PeerIDOf implement it without libp2p, whose key
// types stay in package p2p.
//
// BLS12-381 keys follow the "minimal public key" variant: public keys are
// compressed G1 points (48 bytes), signatures compressed G2 points (96
// bytes), hashed to G2 with the IETF DST
// "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_", as fastcrypto and Walrus do.
// Because every key on chain comes with a proof of possession, signatures on
// the same message are aggregated by adding them, and verified against the sum
// of the signers' public keys.
//
// A [Certificate] is a message, the aggregate signature of some committee
// members on it, and a bitmap of those members (bit i = member i of the
// committee, LSB first). It is valid at quorum when the signers hold at least
// n − f shards, and at validity when they hold at least f + 1.
package chain
