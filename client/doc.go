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
// Read checks the blob's status on chain, takes the first metadata that
// verifies against the blob ID, asks nodes for the primary slivers of their
// shards (systematic ones and healthy nodes first, only as many nodes as
// needed, more when one fails or lies), verifies every sliver, decodes from
// the first rows distinct verified slivers and checks consistency
// (encoding.CheckDefault, or CheckStrict). It tolerates f shards' nodes
// down or lying; with more it fails with a *NotEnoughSliversError.
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
