// Package client stores blobs on, and reads them from, the storage nodes
// of a network (DESIGN.md §8), and manages blob objects through the chain.
//
// A Client is built from a Config: the Chain (any chain.Chain) to read the system state
// and committee from and send transactions to, the wallet (a chain.Signer)
// that pays, and optionally a p2p.Host (else one is created that listens
// nowhere). It learns n, the committee's peer IDs and addresses and the
// shard assignment from the chain, caches them for Config.ViewTTL, and
// reads them again at an epoch's end or when a node or the chain answers
// for another epoch.
//
//	c, err := client.New(ctx, client.Config{Chain: ch, Signer: wallet})
//	res, err := c.Store(ctx, blob, client.StoreOptions{Epochs: 5})
//	blob, err := c.ReadBlob(ctx, res.BlobID(), client.ReadOptions{})
//
// The package's Example runs exactly this on a network of real parts in one
// process (package network).
//
// # Write path
//
// Store encodes the blob; returns AlreadyCertified without paying when a
// permanent object of it is certified until the wanted epoch; registers and
// pays; sends each node its metadata and then, in one request, the sliver
// pairs of the shards it holds (pair i lives on shard blobID.ShardForPair(i,
// n)), to all nodes in parallel with bounded concurrency; verifies each
// node's signed confirmation against its BLS key; waits until the signers
// hold n − f shards and Config.GracePeriod more; aggregates the certificate
// and certifies. Without a quorum it fails with a *QuorumError naming each
// node that failed and why.
//
// # Read path
//
// Open checks the blob's status on chain and takes the first metadata that
// verifies against the blob ID; it fetches no sliver (an HTTP HEAD costs
// just this). A Blob then streams any byte range (StreamRange; Read and
// ReadBlob stream the whole blob): row r of the blob is systematic primary
// sliver r, so a range asks only for the rows covering it, of the nodes
// holding them, at most Config.ReadWindow bytes at a time, and writes each
// row, in order, once it verified against its hash in the metadata. The
// first byte of a large blob thus leaves after one row, and a read holds
// its window, not the blob. A row of 1 MiB or more that the range covers at
// most half of is read as the symbols that hold the range (p2p symbols/get),
// each with its Merkle proof against the row's hash: a 1 MB range of a
// 140 MB blob moves about 1 MB.
//
// Consistency: every row written has been verified against the metadata's
// primary sliver hash, which is what Walrus's default consistency check
// (encoding.CheckDefault) establishes for a decoded blob: every reader that
// passes it gets the bytes the systematic slivers commit to. A symbol read
// writes symbols proven to be leaves of the row's Merkle tree, the same
// bytes, with one difference: a whole-row read also checks that the row
// re-expands to its hash, so for a row the writer encoded inconsistently
// (which no honest node stores, and an inconsistency proof then marks
// invalid on chain) it fails where a symbol read returns the committed
// leaves. Two readers never get different bytes for the same range. It cannot
// re-encode the whole blob before sending its first byte, so the strict
// check (encoding.CheckStrict: the blob re-encodes to every sliver hash,
// and so to its ID) is not streamed: ReadOptions.Strict reads rows verified
// primary slivers, decodes and checks the whole blob, then writes it.
//
// Faults: a node whose slivers do not verify is logged with its peer ID and
// not asked again during the Blob's reads; a node that fails, lies, or does
// not answer within Config.HedgeDelay (plus the time to move the bytes in
// flight, and 4× the read's slowest answer) has its rows rebuilt from the
// other nodes' recovery symbols (each verified against its secondary
// sliver's hash, the rebuilt row against its own), so a silent node costs
// the hedge delay, not a request timeout. That needs n − f shards' nodes;
// beyond f bad shards (reads tolerate 2f) the read decodes the whole blob
// from any rows verified primary slivers instead. It fails with a
// *NotEnoughSliversError when even that is impossible.
//
// # Results
//
// StoreResult and BlobObject are Walrus's JSON forms (camelCase, as its
// publisher and CLI print them). Package client/daemon serves them over
// Walrus's HTTP API; package clienttest runs an in-process network for
// tests.
//
// # Config file
//
// ConfigFile is the YAML file of the CLI (contexts with a chain URL, a
// wallet and a daemon URL), read with LoadConfig and written with
// WriteConfig; DefaultConfigPath is $WALRUS_CONFIG or
// ~/.config/walrus/client.yaml.
package client
