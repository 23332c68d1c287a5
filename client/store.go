package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
)

// Retries of one node's part of a store, for answers that may clear soon:
// ErrBusy (the node's intake buffer is full) and ErrNotRegistered (the node
// has not seen the registration yet).
const (
	storeRetries      = 2
	storeRetryBackoff = 250 * time.Millisecond
)

// StoreOptions say how to store a blob.
type StoreOptions struct {
	// Epochs is how many epochs, from the current one, to store the blob
	// for; at least 1.
	Epochs uint32
	// Deletable makes a blob object its owner may delete before it expires.
	// A permanent blob (the default of the zero value) cannot be deleted.
	Deletable bool
	// Force stores the blob even when it is already certified long enough.
	Force bool
	// DryRun encodes the blob and reports its ID and cost without paying or
	// sending anything.
	DryRun bool
	// Owner receives the blob object; the zero address means the wallet.
	Owner chain.Address
	// Share wraps a newly created (permanent) blob object into a shared
	// blob once certified, as Walrus's --share: NewlyCreated then names it
	// (SharedBlobObject). It excludes Deletable and Owner.
	Share bool
	// Progress, if set, is called as the store advances (from several
	// goroutines one at a time).
	Progress func(Progress)
}

// Progress reports how far a store or read is: Done of Total units of
// Stage ("encode", "register", "send" in bytes of slivers written to the
// nodes' streams as they are written, "certify"; "read" in verified
// slivers).
type Progress struct {
	Stage       string
	Done, Total int64
}

func (o *StoreOptions) validate() error {
	if o.Epochs == 0 {
		return fmt.Errorf("%w: epochs must be at least 1", ErrInvalidOptions)
	}
	if o.Share && o.Deletable {
		return fmt.Errorf("%w: deletable blobs cannot be shared", ErrInvalidOptions)
	}
	if o.Share && !o.Owner.IsZero() {
		return fmt.Errorf("%w: a blob is either shared or sent to an address, not both", ErrInvalidOptions)
	}
	return nil
}

// StoreReader reads a blob from r (up to the network's maximum blob size)
// and stores it as Store does. Encoding needs the whole blob, so it is read
// into memory first; a blob over the maximum is refused as soon as the
// reader passes it, with an error matching ErrBlobTooLarge.
func (c *Client) StoreReader(ctx context.Context, r io.Reader, opts StoreOptions) (*StoreResult, error) {
	blob, err := c.ReadBlobFrom(ctx, r, 0)
	if err != nil {
		return nil, err
	}
	return c.Store(ctx, blob, opts)
}

// ReadBlobFrom reads a whole blob from r into memory, refusing one over
// the network's maximum blob size (or max, if smaller and not 0) with a
// *encoding.TooLargeError. sizeHint, if positive, sizes the buffer.
func (c *Client) ReadBlobFrom(ctx context.Context, r io.Reader, sizeHint int64) ([]byte, error) {
	v, err := c.currentView(ctx, false)
	if err != nil {
		return nil, err
	}
	limit := v.codec.MaxBlobSize()
	buf := new(bytes.Buffer)
	if sizeHint > 0 && uint64(sizeHint) <= limit {
		v.codec.WarmFor(uint64(sizeHint)) // while the blob is read
		// ReadFrom grows a buffer with less than MinRead bytes free before
		// each read, the last one (which sees EOF) too: without the extra
		// MinRead, a blob of exactly sizeHint bytes is copied into a buffer
		// of twice its size at its end. The buffer is made, not grown:
		// Buffer.Grow zeroes its new bytes in one piece that cannot be
		// preempted (tens of megabytes, while the garbage collector waits
		// to scan this goroutine, signalling it again and again), where a
		// fresh large allocation needs no zeroing or zeroes in chunks.
		b := encoding.MakeBuffer(int(sizeHint) + bytes.MinRead)
		buf = bytes.NewBuffer(b[:0])
		// A file is read in parts at once: the copy out of the page cache
		// and the page faults of the fresh buffer are a fifth of a 64 MiB
		// store's critical path before the encode, on one core.
		if ra, ok := r.(io.ReaderAt); ok && sizeHint >= parallelReadMin && readAtParallel(ra, b[:sizeHint]) {
			buf = bytes.NewBuffer(b[:sizeHint])
			// What the file holds past sizeHint (it grew) is read on.
			r = io.NewSectionReader(ra, sizeHint, int64(limit)+1-sizeHint)
		}
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, int64(limit)+1-int64(buf.Len()))); err != nil {
		return nil, err
	}
	n := int64(buf.Len())
	if uint64(n) > limit {
		return nil, &encoding.TooLargeError{Size: uint64(n), Max: limit, N: v.state.NShards}
	}
	return buf.Bytes(), nil
}

// parallelReadMin is the smallest blob ReadBlobFrom reads in parallel
// parts (parallelReadParts) from an io.ReaderAt.
const (
	parallelReadMin   = 8 << 20
	parallelReadParts = 2
)

// readAtParallel fills b from ra at offset 0 in parallelReadParts parts at
// once, reporting whether every part was read whole (false: an error, or
// the source is shorter; the caller reads it again in order).
func readAtParallel(ra io.ReaderAt, b []byte) bool {
	var wg sync.WaitGroup
	var failed atomic.Bool
	part := (len(b) + parallelReadParts - 1) / parallelReadParts
	for off := 0; off < len(b); off += part {
		p := b[off:min(off+part, len(b))]
		wg.Go(func() {
			if n, err := ra.ReadAt(p, int64(off)); n != len(p) || (err != nil && err != io.EOF) {
				failed.Store(true)
			}
		})
	}
	wg.Wait()
	return !failed.Load()
}

// Store stores blob for opts.Epochs epochs (DESIGN.md §8): it encodes the
// blob; checks its status on chain and returns AlreadyCertified, paying
// nothing, when a permanent object is certified until at least the wanted
// epoch (unless Force, or Deletable); registers the blob, paying for it;
// sends the metadata and then, in one request per node, the sliver pairs of
// every shard the node holds, to all nodes in parallel (at most
// Config.MaxConcurrentNodes at once); collects the nodes' signed
// confirmations, verifying each against the member's BLS key, until the
// signers hold n − f shards, and then for Config.GracePeriod plus
// Config.GraceFactor of the time that took more; and
// certifies the blob with the aggregate certificate.
//
// If the epoch changes during the store (nodes refuse the confirmation, or
// the chain refuses the certificate), Store reads the new committee and
// tries once more. When no quorum can be had the error is a *QuorumError
// naming every node that failed and why; the blob then stays registered,
// uncertified, and a later store of the same bytes pays again.
func (c *Client) Store(ctx context.Context, blob []byte, opts StoreOptions) (*StoreResult, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if c.signer == nil && !opts.DryRun {
		return nil, ErrNoWallet
	}
	v, err := c.currentView(ctx, false)
	if err != nil {
		return nil, err
	}
	if max := v.codec.MaxBlobSize(); uint64(len(blob)) > max {
		return nil, &encoding.TooLargeError{Size: uint64(len(blob)), Max: max, N: v.state.NShards}
	}
	if !opts.DryRun {
		c.dialCommittee(ctx, v)
	}
	report(opts.Progress, "encode", 0, 1)
	t0 := time.Now()
	enc, err := v.codec.Encode(blob)
	if err != nil {
		return nil, err
	}
	c.log.Debug("blob encoded", "blob_id", enc.BlobID, "size", len(blob), "duration", time.Since(t0))
	report(opts.Progress, "encode", 1, 1)
	return c.storeEncoded(ctx, v, enc, opts)
}

// dialCommittee connects to the members of v's committee in the
// background, at most Config.MaxConcurrentNodes at once, so that a store's
// connections are set up while its blob is encoded rather than by its
// first requests. Failures are left to those requests.
func (c *Client) dialCommittee(ctx context.Context, v *view) {
	sem := make(chan struct{}, c.cfg.MaxConcurrentNodes)
	for _, p := range v.peers {
		if p == "" {
			continue
		}
		go func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				return
			}
			dctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
			defer cancel()
			_ = c.host.Connect(dctx, p)
		}()
	}
}

// StoreEncoded stores a blob the caller has encoded (with an
// encoding.Codec for the network's shard count), as Store does from its
// status check on. Nothing checks that the slivers are one codeword: each
// node verifies its slivers against the metadata only, and a blob whose
// slivers are not one codeword is found by the nodes' recovery, proven
// inconsistent and marked invalid on chain; reads of it then fail with
// ErrBlobInvalid. Tests of that defence use it to play a dishonest writer.
func (c *Client) StoreEncoded(ctx context.Context, enc *encoding.EncodedBlob, opts StoreOptions) (*StoreResult, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if c.signer == nil && !opts.DryRun {
		return nil, ErrNoWallet
	}
	v, err := c.currentView(ctx, false)
	if err != nil {
		return nil, err
	}
	n := v.codec.Params().N
	if enc.Metadata == nil || len(enc.Metadata.Hashes) != n || len(enc.Primary) != n || len(enc.Secondary) != n {
		return nil, fmt.Errorf("%w: the blob is not encoded for %d shards", ErrInvalidOptions, n)
	}
	if enc.Metadata.BlobID() != enc.BlobID {
		return nil, fmt.Errorf("%w: the metadata is for blob %s, not %s", ErrInvalidOptions, enc.Metadata.BlobID(), enc.BlobID)
	}
	return c.storeEncoded(ctx, v, enc, opts)
}

func (c *Client) storeEncoded(ctx context.Context, v *view, enc *encoding.EncodedBlob, opts StoreOptions) (*StoreResult, error) {
	blobLen := enc.Metadata.UnencodedLength
	log := c.log.With("blob_id", enc.BlobID)
	params := v.codec.Params()
	encLen, err := params.EncodedLength(blobLen)
	if err != nil {
		return nil, err
	}
	st, err := c.chain.BlobStatus(ctx, enc.BlobID)
	if err != nil {
		return nil, fmt.Errorf("client: reading the status of blob %s: %w", enc.BlobID, err)
	}
	dedup := !opts.Force && !opts.Deletable && st.IsCertifiedUntil(v.state.Epoch+opts.Epochs)
	if opts.DryRun {
		cost, err := v.state.RegisterCost(blobLen, opts.Epochs)
		if err != nil {
			return nil, err
		}
		if dedup {
			cost = 0
		}
		return &StoreResult{DryRun: &DryRunResult{BlobID: enc.BlobID, UnencodedLength: blobLen,
			EncodedLength: encLen, StorageCost: cost, AlreadyCertified: dedup}}, nil
	}
	if dedup {
		log.Debug("blob already certified", "end_epoch", st.EndEpoch)
		return &StoreResult{AlreadyCertified: &AlreadyCertified{BlobID: enc.BlobID, Event: eventID(st.Event), EndEpoch: st.EndEpoch}}, nil
	}

	report(opts.Progress, "register", 0, 1)
	tReg := time.Now()
	reg, err := c.chain.RegisterBlob(ctx, c.signer, chain.RegisterBlobArgs{
		BlobID: enc.BlobID, RootHash: enc.Metadata.Root(), Size: blobLen, EncodingType: encoding.RS2,
		Epochs: opts.Epochs, Deletable: opts.Deletable, Owner: opts.Owner,
	})
	if err != nil {
		return nil, fmt.Errorf("client: registering blob %s: %w", enc.BlobID, err)
	}
	report(opts.Progress, "register", 1, 1)
	obj := reg.Blob
	log.Debug("blob registered", "object_id", obj.ID, "cost", reg.Cost, "duration", time.Since(tReg))

	var cres chain.CertifyBlobResult
	lied := newLiars() // nodes caught signing what does not verify: not asked again by this store
	for attempt := 0; ; attempt++ {
		var cert *chain.Certificate
		tSend := time.Now()
		cert, v, err = c.certificate(ctx, v, enc, obj, opts.Progress, lied)
		if err != nil {
			return nil, err
		}
		log.Debug("certificate collected", "duration", time.Since(tSend))
		report(opts.Progress, "certify", 0, 1)
		tCert := time.Now()
		cres, err = c.chain.CertifyBlob(ctx, c.signer, obj.ID, cert)
		log.Debug("certify sent", "duration", time.Since(tCert), "error", err)
		if err == nil {
			break
		}
		if attempt == 0 && errors.Is(err, chain.ErrWrongEpoch) {
			log.Info("epoch changed before certification; collecting confirmations again", "epoch", v.state.Epoch)
			if v, err = c.refreshView(ctx); err != nil {
				return nil, err
			}
			continue
		}
		return nil, fmt.Errorf("client: certifying blob %s (object %s): %w", enc.BlobID, obj.ID, err)
	}
	report(opts.Progress, "certify", 1, 1)
	nc := &NewlyCreated{
		BlobObject:        NewBlobObject(cres.Blob),
		ResourceOperation: ResourceOperation{RegisterFromScratch: &RegisterFromScratch{EncodedLength: encLen, EpochsAhead: opts.Epochs}},
		Cost:              reg.Cost,
	}
	if opts.Share {
		if err := c.shareNew(ctx, nc); err != nil {
			return nil, err
		}
	}
	return &StoreResult{NewlyCreated: nc}, nil
}

// shareNew wraps a newly created blob object into a shared blob, as
// Walrus's publisher does after the store (PostStoreAction::Share).
func (c *Client) shareNew(ctx context.Context, nc *NewlyCreated) error {
	sb, err := c.chain.ShareBlob(ctx, c.signer, nc.BlobObject.ID, 0)
	if err != nil {
		return fmt.Errorf("client: blob %s is stored (object %s, still the wallet's), but sharing it failed: %w", nc.BlobObject.BlobID, nc.BlobObject.ID, err)
	}
	nc.SharedBlobObject = &sb.ID
	return nil
}

func report(fn func(Progress), stage string, done, total int64) {
	if fn != nil {
		fn(Progress{Stage: stage, Done: done, Total: total})
	}
}

// certificate sends the blob to the committee of v and aggregates a
// certificate from its confirmations. When the quorum fails and the chain
// has moved to another epoch meanwhile, it tries once more with the new
// committee. It returns the view the certificate is for.
func (c *Client) certificate(ctx context.Context, v *view, enc *encoding.EncodedBlob, obj chain.BlobObject, progress func(Progress),
	lied *liars) (*chain.Certificate, *view, error) {
	for attempt := 0; ; attempt++ {
		cert, err := c.distribute(ctx, v, enc, obj, progress, lied)
		if err == nil {
			return cert, v, nil
		}
		if attempt == 0 && errors.Is(err, ErrQuorumNotReached) {
			nv, rerr := c.refreshView(ctx)
			if rerr == nil && nv.state.Epoch != v.state.Epoch {
				c.log.Info("epoch changed during the store; sending to the new committee", "blob_id", enc.BlobID, "epoch", nv.state.Epoch)
				v = nv
				continue
			}
		}
		return nil, v, err
	}
}

// errBadConfirmation is a confirmation whose message or signature does not
// verify.
var errBadConfirmation = errors.New("client: invalid confirmation")

// nodeResult is one member's outcome in distribute.
type nodeResult struct {
	member int
	sig    chain.BLSSignature
	err    error
}

// distribute sends metadata and slivers to every member of v's committee
// but those in lied, and collects verified confirmations until the signers
// hold a quorum plus the grace period, or every member has answered. Only
// confirmations whose message and signature verify against the member's
// key are aggregated; a member whose confirmation does not is caught lying.
func (c *Client) distribute(ctx context.Context, v *view, enc *encoding.EncodedBlob, obj chain.BlobObject, progress func(Progress),
	lied *liars) (*chain.Certificate, error) {
	com := v.committee
	n := com.NShards
	bc := chain.BlobCertification{Epoch: v.state.Epoch, BlobID: enc.BlobID, Deletable: obj.Deletable}
	var objectID *[32]byte
	if obj.Deletable {
		bc.ObjectID = obj.ID
		id := [32]byte(obj.ID)
		objectID = &id
	}
	msg := bc.Message()

	var total int64
	for i := range enc.Primary {
		total += int64(len(enc.Primary[i].Data) + len(enc.Secondary[i].Data))
	}
	var progMu sync.Mutex
	var sent int64
	report(progress, "send", 0, total)

	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan nodeResult, len(com.Members))
	sem := make(chan struct{}, c.cfg.MaxConcurrentNodes)
	var wg sync.WaitGroup
	for i := range com.Members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := lied.lie(v.peers[i]); v.peers[i] != "" && err != nil {
				results <- nodeResult{member: i, err: fmt.Errorf("not asked: it lied earlier in this store: %w", err)}
				return
			}
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-dctx.Done():
				results <- nodeResult{member: i, err: dctx.Err()}
				return
			}
			slivers := make([]encoding.Sliver, 0, 2*len(com.Members[i].Shards))
			for _, s := range com.Members[i].Shards {
				pair := enc.BlobID.PairForShard(int(s), n)
				p := enc.Pair(pair)
				p.Primary.Axis, p.Secondary.Axis = encoding.Primary, encoding.Secondary
				slivers = append(slivers, p.Primary, p.Secondary)
			}
			nctx := dctx
			if progress != nil {
				// Bytes as they are written, so that a bar moves with the
				// transfer (a retry counts again; the total caps it).
				nctx = p2p.WithSentBytes(dctx, func(b int) {
					progMu.Lock()
					sent = min(sent+int64(b), total)
					report(progress, "send", sent, total)
					progMu.Unlock()
				})
			}
			sig, err := c.storeOnNode(nctx, v, i, enc, slivers, p2p.ConfirmationRequest{BlobID: enc.BlobID, Epoch: v.state.Epoch, ObjectID: objectID}, msg, lied)
			results <- nodeResult{member: i, sig: sig, err: err}
		}()
	}
	defer wg.Wait()

	sigs := make(map[int]chain.BLSSignature)
	errs := make(map[int]error)
	weight, need := 0, com.QuorumShards()
	began := time.Now()
	var grace <-chan time.Time
	for pending := len(com.Members); pending > 0; {
		select {
		case r := <-results:
			pending--
			if r.err != nil {
				errs[r.member] = r.err
				continue
			}
			sigs[r.member] = r.sig
			weight += len(com.Members[r.member].Shards)
			if weight >= need && grace == nil {
				extra := c.cfg.graceAfter(time.Since(began))
				if extra <= 0 {
					pending = 0
					continue
				}
				t := time.NewTimer(extra)
				defer t.Stop()
				grace = t.C
			}
		case <-grace:
			pending = 0
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	cancel()
	if weight < need {
		qe := &QuorumError{BlobID: enc.BlobID, Epoch: v.state.Epoch, Shards: weight, Need: need}
		for i := range com.Members {
			if err, ok := errs[i]; ok {
				qe.Failures = append(qe.Failures, failure(com, i, err))
			}
		}
		return nil, qe
	}
	if len(errs) > 0 {
		c.log.Debug("store reached quorum despite failures", "blob_id", enc.BlobID, "failed_nodes", len(errs))
	}
	cert, err := chain.NewCertificate(com, msg, sigs)
	if err != nil {
		return nil, fmt.Errorf("client: aggregating the certificate of blob %s: %w", enc.BlobID, err)
	}
	return cert, nil
}

// storeOnNode sends the metadata and slivers of a blob to member i, then
// asks for its confirmation and verifies it: the message must be msg and
// the signature the member's, or the member is caught lying (in lied).
func (c *Client) storeOnNode(ctx context.Context, v *view, i int, enc *encoding.EncodedBlob, slivers []encoding.Sliver,
	req p2p.ConfirmationRequest, msg []byte, lied *liars) (chain.BLSSignature, error) {
	p := v.peers[i]
	if p == "" {
		return chain.BLSSignature{}, errBadPeerID
	}
	t0 := time.Now()
	defer func() {
		c.log.Debug("stored on node", "blob_id", enc.BlobID, "member", i, "duration", time.Since(t0))
	}()
	err := retry(ctx, func() error { return c.p2p.PutMetadata(ctx, p, enc.BlobID, enc.Metadata) })
	if err != nil {
		c.markFailed(p)
		return chain.BLSSignature{}, fmt.Errorf("storing metadata: %w", err)
	}
	if len(slivers) > 0 {
		err = retry(ctx, func() error {
			refused, err := c.p2p.PutSlivers(ctx, p, enc.BlobID, slivers)
			if err != nil {
				return err
			}
			if len(refused) > 0 {
				return fmt.Errorf("%d of %d slivers refused, first: %w", len(refused), len(slivers), &refused[0])
			}
			return nil
		})
		if err != nil {
			c.markFailed(p)
			return chain.BLSSignature{}, fmt.Errorf("storing slivers: %w", err)
		}
	}
	c.log.Debug("slivers sent", "blob_id", enc.BlobID, "member", i, "duration", time.Since(t0))
	var conf p2p.Confirmation
	err = retry(ctx, func() (err error) {
		conf, err = c.p2p.GetConfirmation(ctx, p, req)
		return err
	})
	if err != nil {
		c.markFailed(p)
		return chain.BLSSignature{}, fmt.Errorf("getting the confirmation: %w", err)
	}
	sig, err := verifyConfirmation(v.committee.Members[i].PublicKey, conf, msg)
	if err != nil {
		c.caught(lied, v, i, enc.BlobID, err)
		return chain.BLSSignature{}, err
	}
	c.markHealthy(p)
	return sig, nil
}

// verifyConfirmation checks a node's confirmation: it signs msg, with the
// node's key pk. The error matches errBadConfirmation.
func verifyConfirmation(pk chain.BLSPublicKey, conf p2p.Confirmation, msg []byte) (chain.BLSSignature, error) {
	sig, err := chain.VerifySignedMessage(pk, conf.Message, conf.Signature, msg)
	if err != nil {
		return chain.BLSSignature{}, fmt.Errorf("%w: %w", errBadConfirmation, err)
	}
	return sig, nil
}

// retry runs fn, again up to storeRetries times for errors that may clear.
func retry(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || attempt == storeRetries || !(errors.Is(err, p2p.ErrBusy) || errors.Is(err, p2p.ErrNotRegistered)) {
			return err
		}
		t := time.NewTimer(storeRetryBackoff << attempt)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}
