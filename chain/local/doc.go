// Package local is the embedded local chain: the default chain.Chain
// backend, so that a whole network runs on one machine with no outside
// service. It is real code with real rules, not a mock; the conformance
// suite of package chaintest runs against it in-process (Open) and over HTTP
// (NewHandler or Serve, with NewClient).
//
// # Use
//
// In-process, as the devnet and tests do:
//
//	c, err := local.Open(ctx, local.Config{Dir: dir, Genesis: g})
//	defer c.Close()
//	go local.Serve(ctx, ln, c, log) // for node processes
//
// From another process (`walrus chain serve` runs the server):
//
//	c, err := local.NewClient("http://127.0.0.1:9180")
//
// # State machine
//
// A block first runs the transitions its time makes due, then its
// transactions in order. It records every transaction that passed the
// signature, expiry and duplicate checks, with its outcome: one that failed
// changes nothing, but its digest is remembered until its expiry like a
// successful one's, so no signed bytes execute twice or after failing once.
// The rules (DESIGN.md §4):
//
//   - Accounts hold WAL in FROST. WAL is minted at genesis and by the
//     faucet, moved otherwise, and destroyed only when a node forfeits its
//     rewards. A chain has a faucet only when its genesis names one
//     (Genesis.Faucet): a pool of Total FROST, at most PerAccount to an
//     account over all its requests. Accounts are free, so only the total
//     bounds what one person can mint: Validate refuses a total that could
//     buy f + 1 shards against the genesis stake (MaxFaucetTotal), and
//     SafeFaucet makes one of half that.
//   - Nodes register with a libp2p Ed25519 peer ID that no other node has,
//     signed by that network key for the operator and the epoch
//     (chain.NetworkKeyMessage); a new peer ID on update likewise.
//   - Epoch e starts in phase EpochChangeSync and is EpochChangeDone once
//     nodes holding n − f shards of its committee reported sync done (the
//     genesis epoch starts done). At its midpoint (once done) the committee
//     of e+1 is selected: the largest pools by stake in e+1, at most
//     MaxCommitteeSize and n, shards apportioned by D'Hondt and moved as
//     little as possible; prices are the highest that members holding n − f
//     shards voted for or above; new BLS keys enter. At its end the epoch
//     changes: rewards are paid, stake withdraws and activates, and the new
//     epoch starts with a seed drawn from the block's randomness.
//   - Capacity: a shard of epoch t stores ⌈S / n⌉ bytes, S being the
//     encoded length of all storage resources (attached or not) that cover
//     t. A node that declared capacity C is given at most ⌊C / ⌈S/n⌉⌋
//     shards: D'Hondt skips it once it has them. Should the committee's
//     capacity not hold S, the shards left go by D'Hondt alone (every shard
//     needs a holder).
//   - Stake added before the next committee is selected activates next
//     epoch, else the one after; withdrawals likewise. Pending stake that
//     no selected committee counts (it activates in e+2, or in e+1 before
//     the selection or in a pool that is not selected) is withdrawn at
//     once by Withdraw, as Walrus's withdraw_stake; pending stake counted
//     by the next committee can only be requested, and leaves the pool the
//     epoch after it activates. Pools count shares: rewards raise the
//     value of a share.
//   - Storage costs ceil(encoded length / 1 MiB) units × storage price ×
//     epochs, plus units × write price to register a blob; each epoch's
//     storage fees (and the write fees of the epoch of registration) are
//     that epoch's pot.
//   - Storage challenges (DESIGN.md §7). The challenge window of epoch e
//     is epoch e from its EpochChangeDone on (through NextParamsSelected)
//     until it ends: a member of e's committee submits one attestation for
//     e in it (ErrWrongPhase during the epoch change, ErrWrongEpoch after
//     e). Attestations are counted by the shards of their signers. When e
//     ends its pot is paid, in FROST, rounding down: member i's reward is
//     ⌊pot × shards_i / n⌋, paid only if attesters holding ≥ n − f shards
//     marked it as passing; the operator's commission ⌊reward × rate /
//     10,000⌋ accrues to the node (collected by CollectCommission) and the
//     rest goes to the pool. If the attesters hold ≥ n − f shards, a member
//     they did not mark so forfeits its reward: burned. If they hold fewer,
//     no member is proven either way, so no reward is paid or burned: the
//     pot carries over to e+1, as the rounding dust always does. (Paying
//     everyone then, as the chain did before challenges ran, would pay
//     nodes that store nothing whenever more than f shards' holders stay
//     silent; burning would punish the nodes that did attest. Carrying
//     keeps every node's interest in attesting.) Each member's epoch is
//     kept in its history (NodeHistory, NodeHistoryEpochs epochs).
//   - A blob's ID is re-derived from its root hash, size and encoding type
//     at registration; certification needs a quorum certificate of the
//     current committee; invalidation a certificate at validity (f + 1).
//
// # Transactions
//
// A Tx is encoded with BCS (go-bcs); its digest is Blake2b-256 of
// "TransactionData::" ‖ BCS, and its signature is Sui's: flag 0x00 ‖
// Ed25519 signature of Blake2b-256(0x00 0x00 0x00 ‖ BCS) ‖ public key. The
// sender is the address of that key. Each transaction carries a random nonce
// and an expiry at most MaxTxTTL after the block that executes it; the
// digests of the transactions in blocks, failed or not, are remembered
// until their expiry (to the second), so a transaction executes at most
// once and never after it failed: replaying its bytes gives
// chain.ErrDuplicateTx, then chain.ErrTxExpired.
//
// # Blocks and storage
//
// A block header (BlockHeader) commits to the previous block's hash, the
// transactions' digests and outcomes and the events they emitted; the first
// block follows the chain ID (the genesis hash). The Pebble keys are listed
// in db.go; a block, its events and the new head are written in one synced
// batch. Every SnapshotInterval blocks, and at Close, the whole state is
// written as a snapshot (its canonical serialization, the one the state
// root hashes). Open starts from the snapshot, once it has checked that it
// decodes to exactly its bytes and that its last block hash is the stored
// block's, and replays the blocks after it, checking the hash chain, that
// each transaction replays to its recorded outcome, and that it emits the
// same events: a restart costs what happened since the snapshot (measured
// after 100,000 transactions: about 0.2 s after Close, under 1 s after a
// crash, against 5 s and more to replay them all). With VerifyReplay, Open
// replays from the genesis with signature checks and compares the state
// with the snapshot. Records carry a Blake2b-256 checksum that is verified
// before decoding.
//
// Blob objects and unattached storage resources are pruned from the state
// ExpiredRetention epochs after their end epoch, except blob objects
// wrapped in a shared blob (a Sui shared object is never deleted, and its
// funds stay with it); executed digests when they expire.
//
// # HTTP server and browsers
//
// The server (NewHandler, Serve) holds no keys: every transaction it takes
// is signed by its sender, so whoever reaches it can do only what the keys
// they hold allow. It bounds what a client can make it hold: headers must
// arrive within ServerReadHeaderTimeout, a transaction's body (at most
// twice MaxTxSize) within ServerBodyTimeout, a request within
// ServerReadTimeout and its answer within ServerWriteTimeout (room for a
// long poll of MaxEventWait); idle keep-alive connections close after
// ServerIdleTimeout, and past MaxInFlightRequests requests at once it
// answers 503.
//
// What a web page open in a browser on the same machine can and cannot do
// to a chain served on loopback:
//
//   - It cannot submit a transaction. POST /v1/tx takes only
//     Content-Type application/json (else 415); the bodies a page may send
//     to another origin without asking first (text/plain, forms,
//     multipart) are refused, and a JSON one needs a CORS preflight, which
//     the server never grants (it sends no Access-Control-* header).
//     Browsers' Sec-Fetch-Site and Origin headers are checked as well
//     (http.CrossOriginProtection): a cross-origin POST is refused with 403
//     whatever its type. And a page has no account key to sign with but
//     its own.
//   - It cannot read answers: without CORS headers the browser hides them
//     from the page. It can make the browser send GETs (an image, a
//     no-cors fetch), which change nothing; every GET is a read.
//   - Through DNS rebinding (a name of the page's that later resolves to
//     127.0.0.1) a page becomes same-origin and can read what any local
//     process can: the chain's state, which is public anyway. It still
//     cannot sign for anyone else's account.
//
// # Concurrency
//
// Chain and Client are safe for concurrent use. One producer goroutine
// builds blocks; reads share a lock with it.
package local
