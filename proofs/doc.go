// Package proofs implements storage challenges: every epoch each shard's
// holder proves that it still has the slivers it is paid to store. From the
// epoch's seed, the epoch, the challenged node and a shard, anyone derives the
// shard's challenge (a sample of slivers of the epoch's blobs and a symbol
// position in each); the holder answers with those symbols and their Merkle
// proofs against the sliver hashes in the blobs' metadata; the challenger
// verifies them against metadata it holds itself (DESIGN.md §7).
//
// Nodes call it like this (the p2p protocol and the attestation are the
// node's and chain's):
//
//	// At EpochChangeStart(e), over the epoch's blob set (below):
//	idx, err := proofs.NewEpochIndex(seed, e, n, liveBlobIDs)
//
//	// Prover, once per epoch and shard it holds; serve the bytes to every
//	// challenger that asks (challenge/get):
//	ch, err := idx.Challenge(self, shard)
//	resp, err := prover.Prove(ctx, ch) // *MissingError: recover those, retry
//	cached := resp.MarshalBCS()
//
//	// Challenger, for every shard of every other member:
//	exps, err := verifier.ExpectAll(ctx, challenges)
//	limit := exps[i].Shape().MaxSize() // cap the frame before reading it
//	err = exps[i].Verify(ctx, stream)  // nil: passed; ErrFailed: failed
//
// A member passes when every one of its shards passes; the challenger signs
// one attestation with a bit per committee member (chain.AttestationMessage).
//
// # The blob set of an epoch
//
// The challenges of epoch e sample the blobs that every shard must hold
// during e: the blob IDs that, in the chain's event order just before
// EpochChangeStart(e), have a certified, undeleted blob object, are not
// marked invalid, and whose end epoch is greater than e. In a node's
// records (package node): certified in an epoch before e, with a live
// certified registration, end epoch > e (the largest end epoch of the live
// registrations, certified or not: the node keeps the slivers that long),
// not invalid — on the state the node has when it processes the
// EpochChangeStart(e) event, so that what happens later in e
// (new certifications, deletions, extensions) does not move the set. Every
// shard holds one sliver pair of each of these blobs, so the set is the same
// for all shards; challenger and challenged compute it from the same ordered
// event stream and never exchange it.
//
// A blob deleted or invalidated after the set was fixed stays in e's
// challenges; its holder may answer with a release claim (Answer.Released),
// which the challenger accepts only when its own view of the chain shows the
// release (ReleasedFunc). A node that defers deleting such blobs' slivers to
// the epoch's end never needs the claim. A challenger that has applied the
// release and dropped the blob's metadata no longer knows its symbol size:
// its shape marks the sample AnySymbolSize, and any answer of the right
// form (a claim, or a symbol of any size up to encoding.MaxSymbolSize with a
// proof of the usual length) passes for it.
//
// # Derivation (format)
//
// H is Blake2b-256; LE64(h) is the first 8 bytes of h as a little-endian
// u64; BCS(...) is the BCS encoding of a tuple: a string is ULEB128(length) ‖
// UTF-8 bytes, a seed, node ID or blob ID is its 32 bytes, u16 and u32 are
// little-endian. seed is the epoch's challenge seed (chain.Chain.EpochSeed),
// node the challenged node's ID, shard its shard, n the network's shard
// count, and the blob set has N distinct blob IDs.
//
//	order   h_b = H(BCS("walrus-go/proofs/v1/order", seed, epoch u32, blob_id))
//	        key(b, primary) = LE64(h_b[0:8]), key(b, secondary) = LE64(h_b[8:16])
//	        O = the 2N slivers (b, axis), sorted by (key, blob_id bytewise, axis)
//	start   p = LE64(H(BCS("walrus-go/proofs/v1/start", seed, epoch u32, node, shard u16)))
//	        i0 = the first position of O whose key ≥ p, or 0 if there is none
//	samples m = min(SampleCount, 2N); sample j ∈ [0, m) is the sliver O[(i0 + j) mod 2N]
//	sliver  pair = (shard − (blob_id as a big-endian integer mod n)) mod n;
//	        the sliver index is pair (primary) or n − 1 − pair (secondary)
//	symbol  LE64(H(BCS("walrus-go/proofs/v1/symbol", seed, epoch u32, node, shard u16, j u32))) mod n
//
// (The bias of the reduction mod n is below n/2^64.) O depends on the epoch
// only, so a node builds it once per epoch (EpochIndex) and each challenge is
// a window of it. testdata/vectors.json pins the derivation with the
// intermediate values; its test re-derives them from the text above.
//
// # Why this derivation
//
// Agreement without exchange: the inputs are the chain's seed and the blob
// set, both known to every node that follows the chain. Views that differ by
// one blob sample the same slivers but at most two, so a lagging view changes
// little; it still fails the challenge (the response names the challenge it
// answers, below), and the chain's quorum of attestations absorbs a few
// wrong challengers.
//
// Uniform whatever the prover chose to drop: the order keys are a
// pseudo-random function of a seed that nobody knows before the epoch
// starts, so the m slivers after the start point are a uniformly random
// m-subset of the shard's 2N slivers, independent of any choice the node made
// before (the keys are exchangeable). The alternative of taking "the next
// certified blob ID at or after each of m pseudo-random points in ID space"
// needs no order either, but samples each blob with probability proportional
// to the gap in ID space before it, and those gaps are public: a node that
// drops the 1% of blobs that follow the smallest gaps is sampled with
// probability about q²/2 = 0.005% per point and escapes 98% of challenges
// (the detection table's last column). Positions into the sorted list of blob IDs
// would be uniform but need both sides to agree on the exact count, and a
// rank lookup the store does not have.
//
// Slivers, not blobs, are the unit: a node that dropped one sliver of each of
// 2% of its blobs is caught as fast as one that dropped both slivers of 1%,
// and a shard with 2N ≤ SampleCount slivers has every sliver challenged.
//
// Symbol positions are uniform over the n symbols of the sliver's expansion:
// f/n ≈ 1/3 of them are positions the node does not store (parity symbols of
// its row or column), which it can only compute from a whole sliver. A node
// that keeps the n leaf hashes of a sliver and part of its symbols does not
// pass.
//
// # Sample size
//
// A shard holds M = 2N slivers; a node that dropped D of them escapes a
// challenge of m distinct slivers with probability
//
//	C(M−D, m) / C(M, m) = Π_{i<m} (M−D−i)/(M−i) ≤ (1 − D/M)^m
//
// With D/M ≥ 1% this is at most 0.99^m, and 0.99^459 = 0.00992 ≤ 0.01 <
// 0.99^458, so SampleCount = 459. Sampling with replacement would make the
// bound exact, P = (1 − q)^m, so 459 also suffices there; sampling without
// replacement, as here, does a little better on small shards (0.9918 for
// M = 6,000) and is certain when M ≤ 459. Measured (BenchmarkDetection:
// 100,000 blobs, 10,000 trials of a seed and a shard; the cheater drops
// ⌈q·M⌉ slivers chosen before the seed is known, at random, as one range of
// blob IDs, as whole pairs, or as the blobs after the smallest gaps in
// ID space; the last column is the naive scheme above under that attack):
//
//	dropped  exact  random  ID range  pairs  ID gaps  naive, ID-gap attack
//	0.1%     0.369  0.365   0.364     0.367  0.369    0.000
//	1%       0.990  0.991   0.989     0.990  0.991    0.022
//	5%       1.000  1.000   1.000     1.000  1.000    0.434
//	20%      1.000  1.000   1.000     1.000  1.000    1.000
//
// Per shard, per node, per member: challenges are drawn per shard, so that
// every shard earns its share of the rewards (paid by shards held): a sample
// of 459 slivers drawn over all of a node's s shards would catch 1% missing
// from one of them only with probability 1 − (1 − 0.01/s)^459 (37% for
// s = 10). The cost is proportional to the data held. All of a node's
// shards travel in one request (DESIGN.md §6), and the verdict is per
// member: a member passes when every one of its shards does. A shard passes
// only when every sample is proven; an honest node never fails (a node that
// lost a sliver sees its challenge at the epoch's start and can recover the
// sliver before answering), and any tolerance would lower the detection
// above.
//
// # What the challenge proves, and what the challenger checks
//
//   - There is no "not held" answer: a sample is a proven symbol or a release
//     claim, and the claim passes only when the challenger itself sees the
//     blob released.
//   - The challenger derives the challenge from its own blob set and checks
//     symbols against the metadata it holds (verified against the blob ID
//     when it was stored), never against what the prover sends.
//   - A response names the Digest of the challenge it answers, which binds
//     the epoch, node, shard and samples: a response of another shard or
//     epoch, or to a challenge derived from another blob set, fails
//     (ErrChallengeMismatch). Seeds cannot be predicted, so nothing is
//     computed ahead of the epoch.
//   - The prover answers its own derived challenge, computed once per epoch
//     and shard and served from a cache to every challenger, so challengers
//     cannot make it expand slivers of their choosing.
//   - What a challenge cannot tell apart: a node that stores only each
//     sliver's n leaf hashes (32·n bytes instead of S·cols) can answer sample
//     (row i, position t) by fetching symbol E[i][t] from the holder of
//     column t (recovery/get returns exactly that symbol), since every symbol
//     of a row is also a symbol of some column. That saves space for symbols
//     above about 48 bytes (blobs above 109 KB at n = 100, 10.7 MB at
//     n = 1000) and costs SampleCount recovery requests per shard per epoch.
//     Challenges prove that a node can produce the data within the window,
//     not that it keeps it on its own disk. The node can make the trick
//     expensive and visible: a short deadline for answers (an honest
//     node's response is ready at the epoch's start) and refusing, or rate
//     limiting and logging, recovery requests during the challenge window
//     from a node for blobs its shards held since before the epoch.
//
// # Formats
//
// These layouts are part of the format and must not change.
//
//	challenge  epoch u32 ‖ node [32] ‖ shard u16 ‖ n u16 ‖ ULEB128(m) ‖
//	           m × (blob ID [32] ‖ axis u8 ‖ sliver u16 ‖ symbol u16)
//	digest     H(BCS("walrus-go/proofs/v1/challenge") ‖ challenge)
//	response   digest [32] ‖ ULEB128(m) ‖ m × answer
//	answer     0x00 ‖ recovery symbol | 0x01 (released)
//	recovery   axis u8 ‖ sliver u16 ‖ symbol position u16 ‖ ULEB128(S) ‖
//	symbol     S bytes ‖ ULEB128(d) ‖ d × 32-byte proof node
//	           (encoding.RecoverySymbol's BCS form; d = ⌈log2 n⌉)
//
// The attestation stays in package chain, which verifies and counts it and
// may not import proofs: chain.AttestationMessage is intent 16 ‖ 0 ‖ 3 ‖
// epoch u32 LE ‖ attester node ID [32] ‖ ULEB128(len) ‖ bitmap, where bit i
// (byte i/8, bit i%8) is set when committee member i of the epoch passed all
// its shards' challenges, as Verify judged them.
//
// # Bounds
//
// A challenge has at most SampleCount samples (37 bytes each: 17 KB). A
// response's size is fixed by its challenge and the challenger's metadata
// before any of it arrives: Shape.MaxSize is its exact size when every sample
// is proven (a release claim only shortens it), so a reader caps the frame at
// it. Verify streams: it holds one answer (at most 64 KiB + 512 bytes) at a
// time and reads not a byte past the response. The decoders are strict (no
// trailing bytes, canonical ULEB128, every size as the shape says) and
// fuzzed. They use a small BCS reader of this package (bcs.go) with the rules
// of encoding's.
//
// # Costs
//
// Proving a symbol re-expands the stored sliver: its hash is the Merkle root
// over the n symbols of the full row or column, and the proof's nodes hash
// symbols the node does not store, so each sample costs one Reed-Solomon
// encode of one sliver, n leaf hashes of S bytes and n−1 inner hashes.
// Keeping each sliver's n leaf hashes (32·n bytes, more than the sliver
// itself for blobs under about 10 MB at n = 1000) would save the encode and
// the leaf hashes but not the tree, so the package does not.
//
// Measured on the shared 2-core machine (make bench BENCH='EpochIndex|
// Challenge|Prove|Verify|ExpectAll'; medians of 6 runs under load, ±10–70%),
// for 100,000 blobs of one size, per shard unless said:
//
//	                              n = 100                   n = 1000
//	index (once per epoch)        72 ms, 19 MB              72 ms, 19 MB
//	derive a challenge            0.21 ms (17 KB in BCS)    0.21 ms (17 KB)
//	prove, 64 KiB blobs           24 ms, 118 KB response    0.20 s, 148 KB
//	prove, 1 MiB blobs            73 ms, 312 KB             0.20 s, 150 KB
//	prove, 64 MiB blobs           5–10 s, 13.6 MB           1.1–1.9 s, 290 KB
//	verify, ≤ 1 MiB blobs         1–2 ms                    1–2 ms
//	verify, 64 MiB blobs          20–50 ms                  1.2 ms
//	ExpectAll, all n shards       0.16 s                    4.6–6.2 s
//
// A whole node's epoch (make bench BENCH=NodeEpoch; 100,000 blobs of
// 1 MiB; CPU time of one run, which varies less than wall time on the
// loaded machine, ±15%):
//
//	                          n = 1000, 100 members    n = 100, 20 members
//	                          (10 shards each)         (5 shards each)
//	index                     0.08 s                   0.07 s
//	prove own shards          0.8–0.9 s                0.13 s
//	challenge the others      5.0–5.8 s                0.34 s
//	bytes sent (responses)    152 MB (99 × 10 × 153 KB)  30 MB
//	bytes received            152 MB (990 responses)    30 MB
//	allocated                 7.3 GB                   0.38 GB
//
// At n = 1000 challenging is mostly preparing the expectations (decoding
// the metadata of each sampled blob once, 3.4 s) and verifying (1.6 s);
// nearly all the allocation is metadata decoded and dropped at once.
//
// Proving costs one sliver expansion per sample (0.05–0.16 ms at n = 100
// for blobs up to 1 MiB, 0.44 ms at n = 1000, where the 2n hashes dominate;
// 10–20 ms for the 2 MB slivers of 64 MiB blobs at n = 100, half hashing
// and half the Reed-Solomon encode and its copies). A node proves each of
// its shards once per epoch and serves the bytes to every challenger. A
// challenger's cost is dominated by reading metadata: ExpectAll decodes each
// sampled blob's metadata once (n·66 bytes; 99% of 100,000 blobs at
// n = 1000).
package proofs
