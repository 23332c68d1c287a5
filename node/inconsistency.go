package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
	"github.com/walrus-go/walrus/store"
)

// Inconsistent blobs (DESIGN.md §3 and Walrus's design): a writer may send
// slivers that each verify against the metadata yet are not one codeword.
// No node can tell at intake; recovery finds it, when verified recovery
// symbols decode to a sliver whose hash is not the metadata's
// (encoding.ErrInconsistentBlob). The node then builds an inconsistency
// proof, sends it to every other committee member (p2p inconsistency/put),
// collects their signed invalid-blob attestations, verifying each, and once
// the signers hold f + 1 shards submits the aggregate certificate to the
// chain, which marks the blob ID invalid. Every node then drops the blob,
// and reads answer "invalid".

// Limits of the invalidator.
const (
	// maxInvalidations bounds the blobs a node is invalidating at once; a
	// proof past it is dropped, and the next recovery of that blob finds
	// the inconsistency again.
	maxInvalidations = 16
	// invalidationAttempts is how many rounds of attestations a node tries
	// for one blob (an epoch change or too few answers end a round).
	invalidationAttempts = 5
	// invalidationBackoff is the wait before the first retry; it doubles.
	invalidationBackoff = 2 * time.Second
	// maxProofSenders bounds the proofs one invalidation sends at once.
	maxProofSenders = 16
)

// invalidator turns inconsistency proofs into an invalid-blob certificate on
// chain. It is safe for concurrent use.
type invalidator struct {
	views   *views
	peers   *p2p.Client
	chain   Chain
	account chain.Signer
	key     *chain.BLSPrivateKey
	log     *slog.Logger

	// Counters, on the node's registry (nil: none).
	reported, invalidated, forged prometheus.Counter

	ctx context.Context // the node's; set by start
	wg  sync.WaitGroup
	mu  sync.Mutex
	// busy holds the blobs being invalidated.
	busy map[encoding.BlobID]bool
}

// init readies the invalidator, registering its counters on reg (nil:
// none).
func (iv *invalidator) init(reg *prometheus.Registry) *invalidator {
	iv.busy = make(map[encoding.BlobID]bool)
	iv.log = iv.log.With("part", "invalidator")
	c := func(name, help string) prometheus.Counter {
		v := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "walrus", Subsystem: "node", Name: name, Help: help})
		if reg != nil {
			reg.MustRegister(v)
		}
		return v
	}
	iv.reported = c("inconsistent_blobs_found_total", "Blobs whose recovery symbols proved them inconsistently encoded (invalidations started).")
	iv.invalidated = c("invalid_blob_certificates_total", "Invalid-blob certificates the node aggregated and the chain accepted.")
	iv.forged = c("invalid_attestations_dropped_total", "Invalid-blob attestations of peers whose message or signature did not verify.")
	return iv
}

// start lets report start invalidations, which end with ctx.
func (iv *invalidator) start(ctx context.Context) {
	iv.mu.Lock()
	iv.ctx = ctx
	iv.mu.Unlock()
}

// wait waits until ctx (start's) ends and the invalidations have returned.
func (iv *invalidator) wait() {
	iv.mu.Lock()
	ctx := iv.ctx
	iv.mu.Unlock()
	if ctx != nil {
		<-ctx.Done()
	}
	// A report that saw ctx live has added to wg by the time it lets go
	// of the lock.
	iv.mu.Lock()
	//lint:ignore SA2001 an empty critical section, on purpose (see above)
	iv.mu.Unlock()
	iv.wg.Wait()
}

// report starts invalidating blob id with proof pr, unless it is already
// being invalidated or too many are. It does not block.
func (iv *invalidator) report(id encoding.BlobID, md *encoding.Metadata, pr *encoding.InconsistencyProof) {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	if iv.ctx == nil || iv.ctx.Err() != nil || iv.busy[id] {
		return
	}
	if len(iv.busy) >= maxInvalidations {
		iv.log.Warn("too many blobs being invalidated; dropping a proof (the next recovery finds it again)", "blob_id", id)
		return
	}
	iv.busy[id] = true
	iv.reported.Inc()
	ctx := iv.ctx
	iv.wg.Add(1)
	go func() {
		defer iv.wg.Done()
		defer func() {
			iv.mu.Lock()
			delete(iv.busy, id)
			iv.mu.Unlock()
		}()
		iv.invalidate(ctx, id, md, pr)
	}()
}

// invalidate runs rounds of attestations until the chain marks id invalid.
func (iv *invalidator) invalidate(ctx context.Context, id encoding.BlobID, md *encoding.Metadata, pr *encoding.InconsistencyProof) {
	iv.log.Warn("blob is inconsistently encoded; asking the committee to attest it invalid", "blob_id", id,
		"axis", pr.Axis, "sliver", pr.Index, "symbols", len(pr.Symbols))
	backoff := invalidationBackoff
	for attempt := 1; attempt <= invalidationAttempts && ctx.Err() == nil; attempt++ {
		st, err := iv.chain.BlobStatus(ctx, id)
		if err == nil && st.Kind == chain.BlobInvalid {
			iv.log.Info("blob ID is marked invalid on chain", "blob_id", id)
			return
		}
		err = iv.round(ctx, id, pr)
		if err == nil {
			iv.log.Info("blob ID marked invalid", "blob_id", id)
			return
		}
		iv.log.Warn("invalidating blob failed", "blob_id", id, "attempt", attempt, "err", err)
		if sleepCtx(ctx, backoff) != nil {
			return
		}
		backoff *= 2
	}
}

// round collects attestations of the current committee and submits the
// certificate once the signers hold f + 1 shards.
func (iv *invalidator) round(ctx context.Context, id encoding.BlobID, pr *encoding.InconsistencyProof) error {
	v := iv.views.load()
	com := v.committee
	msg := chain.InvalidBlobMessage(v.epoch, id)
	sigs := make(map[int]chain.BLSSignature)
	weight, need := 0, com.ValidityShards()
	if v.index >= 0 {
		sigs[v.index] = iv.key.Sign(msg)
		weight += len(com.Members[v.index].Shards)
	}
	type answer struct {
		member int
		sig    chain.BLSSignature
		err    error
	}
	put, err := p2p.NewInconsistencyPut(id, v.epoch, pr)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	answers := make(chan answer, len(com.Members))
	sem := make(chan struct{}, maxProofSenders)
	var wg sync.WaitGroup
	defer wg.Wait()
	asked := 0
	for i, m := range com.Members {
		if i == v.index || weight >= need {
			continue
		}
		pid, err := p2p.ParsePeerID(m.PeerID)
		if err != nil {
			continue
		}
		asked++
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-rctx.Done():
				answers <- answer{member: i, err: rctx.Err()}
				return
			}
			a, err := iv.peers.PutInconsistency(rctx, pid, put)
			if err != nil {
				answers <- answer{member: i, err: err}
				return
			}
			sig, err := verifyAttestation(m.PublicKey, a, msg)
			if err != nil {
				iv.forged.Inc()
				iv.log.Warn("peer lied: its invalid-blob attestation does not verify; dropped", "blob_id", id, "peer", pid, "err", err)
			}
			answers <- answer{member: i, sig: sig, err: err}
		}()
	}
	for ; asked > 0 && weight < need; asked-- {
		var a answer
		select {
		case a = <-answers:
		case <-ctx.Done():
			return ctx.Err()
		}
		if a.err != nil {
			iv.log.Debug("no attestation from committee member", "blob_id", id, "member", com.Members[a.member].Name, "err", a.err)
			continue
		}
		sigs[a.member] = a.sig
		weight += len(com.Members[a.member].Shards)
	}
	cancel()
	if weight < need {
		return fmt.Errorf("node: attestations from members holding %d shards, need %d", weight, need)
	}
	cert, err := chain.NewCertificate(com, msg, sigs)
	if err != nil {
		return err
	}
	if _, err := iv.chain.InvalidateBlob(ctx, iv.account, cert); err != nil {
		return fmt.Errorf("node: submitting the invalid-blob certificate: %w", err)
	}
	iv.invalidated.Inc()
	return nil
}

// errBadAttestation is an attestation whose message or signature does not
// verify.
var errBadAttestation = errors.New("node: invalid attestation")

// verifyAttestation checks a member's attestation: it signs msg with the
// member's key pk.
func verifyAttestation(pk chain.BLSPublicKey, a p2p.Attestation, msg []byte) (chain.BLSSignature, error) {
	sig, err := chain.VerifySignedMessage(pk, a.Message, a.Signature, msg)
	if err != nil {
		return chain.BLSSignature{}, fmt.Errorf("%w: %w", errBadAttestation, err)
	}
	return sig, nil
}

// inconsistent is what recovery calls when symbols fail to rebuild a sliver
// of blob id (encoding.ErrInconsistentBlob): it builds the proof and hands
// it to the invalidator.
func (r *recoverer) inconsistent(id encoding.BlobID, md *encoding.Metadata, axis encoding.Axis, index uint16, syms []encoding.RecoverySymbol) {
	if r.invalid == nil {
		return
	}
	pr, err := r.codec.NewInconsistencyProof(md, axis, int(index), syms)
	if err != nil {
		r.log.Warn("symbols failed to rebuild a sliver but make no inconsistency proof", "blob_id", id, "axis", axis, "sliver", index, "err", err)
		return
	}
	r.invalid.report(id, md, pr)
}

var _ p2p.InconsistencyHandler = (*handler)(nil)

// AcceptInconsistency implements p2p.InconsistencyHandler: the node must
// know the blob's metadata, be in the committee of req.Epoch, its current
// epoch, and the header must announce the blob's symbol size and the count
// a proof takes.
func (h *handler) AcceptInconsistency(ctx context.Context, req p2p.InconsistencyRequest) error {
	v := h.views.load()
	if req.Epoch != v.epoch {
		return fmt.Errorf("%w: attestation for epoch %d, the node is in epoch %d", p2p.ErrInvalid, req.Epoch, v.epoch)
	}
	if v.index < 0 {
		return fmt.Errorf("%w: the node is not in the committee of epoch %d", p2p.ErrNotAssigned, v.epoch)
	}
	md, err := h.store.Metadata(ctx, req.BlobID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: no metadata for blob %s", p2p.ErrNotFound, req.BlobID)
	}
	if err != nil {
		return err
	}
	p := h.codec.Params()
	s, err := p.SymbolSize(md.UnencodedLength)
	if err != nil {
		return fmt.Errorf("%w: %w", p2p.ErrInvalid, err)
	}
	if want := p.ProofSymbols(encoding.Axis(req.Axis)); int(req.Count) != want || int(req.SymbolSize) != s {
		return fmt.Errorf("%w: a proof for a %s sliver of blob %s takes %d symbols of %d bytes, not %d of %d",
			p2p.ErrInvalid, encoding.Axis(req.Axis), req.BlobID, want, s, req.Count, req.SymbolSize)
	}
	return nil
}

// AttestInconsistency implements p2p.InconsistencyHandler: it verifies the
// proof against the stored metadata and signs the invalid-blob message.
func (h *handler) AttestInconsistency(ctx context.Context, req p2p.InconsistencyRequest, pr *encoding.InconsistencyProof) (p2p.Attestation, error) {
	md, err := h.store.Metadata(ctx, req.BlobID)
	if errors.Is(err, store.ErrNotFound) {
		return p2p.Attestation{}, fmt.Errorf("%w: no metadata for blob %s", p2p.ErrNotFound, req.BlobID)
	}
	if err != nil {
		return p2p.Attestation{}, err
	}
	if err := h.codec.VerifyInconsistencyProof(md, pr); err != nil {
		return p2p.Attestation{}, fmt.Errorf("%w: %w", p2p.ErrInvalid, err)
	}
	msg := chain.InvalidBlobMessage(req.Epoch, req.BlobID)
	sig := h.signer.Sign(msg)
	from, _ := p2p.RemotePeer(ctx)
	h.log.Warn("verified an inconsistency proof; attesting the blob ID invalid", "blob_id", req.BlobID, "peer", from,
		"axis", pr.Axis, "sliver", pr.Index)
	return p2p.Attestation{Message: msg, Signature: sig[:]}, nil
}
