// Package sui is the chain backend on Sui: chain.Chain over Sui JSON-RPC and
// Walrus's own Move package (contracts/walrus in MystenLabs/walrus), the
// same package Walrus deploys, so that the backend also reads Walrus's
// own deployments.
//
// # Mapping
//
//	SystemState      System → dynamic field (u64 version) SystemStateInnerV1
//	                 (prices, max epochs ahead) and Staking → StakingInnerV1
//	                 (epoch, phase, shards, epoch duration). EpochStart is
//	                 first_epoch_start + (epoch − 1) × duration; TotalStake
//	                 sums the current committee's pools; FaucetLimit is 0.
//	Committee        current: staking committee (shards) + the system's
//	                 BlsCommittee (keys, bitmap order = node-ID order);
//	                 previous and next from StakingInnerV1; older ones are
//	                 not kept on Sui (ErrNoCommittee).
//	Node, Nodes      StakingPool, a dynamic object field of the pools table.
//	                 Operator = governance_authorized (the registering
//	                 address); the operator signs with its StorageNodeCap.
//	BlobObject(s)    walrus::blob::Blob objects; StorageResources: Storage.
//	BlobStatus       Walrus keeps no per-blob-ID index on chain (its nodes
//	                 keep one), so this backend builds one from the event
//	                 stream (at most MaxIndexedBlobs objects, in memory,
//	                 rebuilt from the start after a restart) and reads the
//	                 live objects.
//	Balance          suix_getBalance of the WAL coin type.
//	StakedWAL        StakedWal objects; Value is the principal (rewards
//	                 are not computed).
//	Events           suix_queryEvents over walrus::events (see follow.go for
//	                 the cursor: Sui's event ID in Token, a per-follower Seq).
//	                 BlobRegistered, BlobCertified (is_extension →
//	                 BlobExtended), BlobDeleted, InvalidBlobID,
//	                 EpochChangeStart/Done, EpochParametersSelected
//	                 (CommitteeSelected) map to chain events; others are
//	                 skipped. Walrus's events name no owner (Owner is zero)
//	                 and the package emits no staking or node events.
//	transactions     reserve_space, reserve_space + register_blob (or
//	                 register_blob with a Storage), certify_blob,
//	                 delete_blob, extend_blob, invalidate_blob_id,
//	                 node_metadata::new + register_candidate, the staking
//	                 set_* calls, stake_with_pool, request_withdraw_stake,
//	                 withdraw_stake, set_next_commission, collect_commission
//	                 (auth::authenticate_with_object on the cap),
//	                 epoch_sync_done, WAL transfers (calls.go). WAL is paid
//	                 from the signer's coins, largest first, merged into
//	                 one (at most MaxCoins); gas from its SUI coins at the
//	                 reference price, budget Config.GasBudget.
//	errors           every E* abort of the package and the framework's
//	                 balance/coin aborts map to chain sentinels
//	                 (errors.go); an RPC refusal of a signature is
//	                 ErrBadSignature.
//
// Not available on Sui (ErrNotAvailable, also matching
// chain.ErrInvalidArgument): EpochSeed and SubmitAttestation, because
// storage-challenge attestations are ours and Walrus's package has none;
// RequestWAL answers chain.ErrFaucetDisabled. Differences of the package
// that callers meet: only a Blob's owner can certify it (the Blob is passed
// by &mut); registering an invalidated blob ID succeeds on chain (nodes
// refuse it).
//
// # Our nodes in Walrus's node record
//
// A node's libp2p identity and multiaddrs travel in StorageNodeInfo
// (netrecord.go): network_address = "/p2p/<peer ID> <multiaddr> …" (at most
// 259 bytes, the package's limit), network_public_key = 0x00 ‖ the 32-byte
// Ed25519 libp2p key, which the reader checks against the peer ID. A
// client reading the committee thus gets each member's PeerID and
// Addresses as from the local chain. Walrus's own nodes ("host:port" and a
// secp256r1 TLS key) read as a /dns|ip4|ip6/…/tcp/… address and no peer ID.
//
// # What is proven, and how
//
// By vectors made with Mysten's SDKs (testdata/vectors: vectors.mjs with
// @mysten/sui 2.33.1 and @mysten/walrus 1.2.13; tests never need Node.js):
//   - every transaction kind above: bytes, digest and Ed25519 signature
//     identical to @mysten/sui's for the same inputs (TestTransactionVectors);
//   - the BCS of System, SystemStateInnerV1 (as its dynamic field),
//     Staking, StakingInnerV1 (two epoch states), StakingPool (ours and
//     Walrus's record), Blob (certified and not), Storage, serialized by
//     @mysten/walrus's generated bindings, decode to the values they were
//     made from and re-encode to the same bytes (TestObjectVectors);
//   - StakedWal, StorageNodeCap and the events have no binding in
//     @mysten/walrus 1.2.13: their layouts are transcribed from the Move
//     sources into vectors.mjs and serialized by @mysten/sui's BCS, so the
//     vectors prove the Go codec against Mysten's serializer, and the
//     layout only as far as the transcription is right;
//   - the peer ID derivation against @mysten/sui's base58.
//
// By the abort table's tests only (TestAbortMapping): that each abort code
// maps to its sentinel; the MoveAbort text format is Sui's as documented,
// not captured from a node.
//
// By the test server only (chain/sui/suitest, over the real local chain):
// the JSON-RPC layer (method names, parameters, Sui's JSON shapes as
// sui-go-sdk's models read them), object and dynamic-field reads, coin
// and gas selection, execution and the event follower's resumption; a blob's
// whole lifecycle (TestBlobLifecycle) and the conformance tests that apply
// to Sui (TestConformance; the skipped ones say why). The rules enforced
// there are the local chain's, not the Move package's; no Sui node was run.
package sui
