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
//   - Accounts hold WAL in FROST. The faucet mints at most the genesis's
//     FaucetLimit per request; WAL is otherwise only moved, and destroyed
//     only when a node forfeits its rewards.
//   - Epoch e starts in phase EpochChangeSync and is EpochChangeDone once
//     nodes holding n − f shards of its committee reported sync done (the
//     genesis epoch starts done). At its midpoint (once done) the committee
//     of e+1 is selected: the largest pools by stake in e+1, at most
//     MaxCommitteeSize and n, shards apportioned by D'Hondt and moved as
//     little as possible; prices are the highest that members holding n − f
//     shards voted for or above; new BLS keys enter. At its end the epoch
//     changes: rewards are paid, stake withdraws and activates, and the new
//     epoch starts with a seed drawn from the block's randomness.
//   - Stake added before the next committee is selected activates next
//     epoch, else the one after; withdrawals likewise. Pools count shares:
//     rewards raise the value of a share, the operator takes its commission
//     from the pool's rewards into its account.
//   - Storage costs ceil(encoded length / 1 MiB) units × storage price ×
//     epochs, plus units × write price to register a blob; each epoch's
//     storage fees (and the write fees of the epoch of registration) are
//     paid to that epoch's committee by shards when it ends. When attesters
//     holding n − f shards attested an epoch, members that fewer than n − f
//     shards' holders marked as passing forfeit their rewards (burned).
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
// transactions' digests and the events they emitted; the first block follows
// the chain ID (the genesis hash). The Pebble keys are listed in db.go; a
// block, its events and the new head are written in one synced batch. Open
// replays every block on the genesis state, checking the hash chain, that
// each transaction still executes, and that it emits the same events.
// Records carry a Blake2b-256 checksum that is verified before decoding.
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
