package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/blake2b"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/p2p"
	"github.com/walrus-go/walrus/proofs"
	"github.com/walrus-go/walrus/store"
)

// Storage challenges (DESIGN.md §7, package proofs). In each epoch e the
// node
//
//  1. fixes e's blob set when it applies EpochChangeStart(e): the blobs
//     certified before e, live past e and not invalid, in its records at
//     that point of the event stream, which every node follows in the same
//     order (challengeSetFile keeps it across restarts);
//  2. once e's change is done (EpochChangeDone), proves its own shards'
//     challenges, each as soon as the shard is synced, and keeps the
//     responses to serve to every challenger (challenge/get). A sample it
//     cannot prove queues its blob for recovery, and it proves again;
//  3. challenges every other member of e's committee, all of a member's
//     shards in one request, verifies the responses against its own
//     metadata, retries a member that failed or did not answer with
//     backoff until the window closes (Config.ChallengeWindow after the
//     change is done, at most half the epoch), and then
//  4. signs and submits one attestation (intent 16) with a bit per member
//     that passed every shard, its own bit set when it proved all its
//     shards. The chain pays by these attestations (chain/local).

// challengeSetFile, in the data dir, holds the blob set of the epoch whose
// challenges the node runs. Its layout:
//
//	"walrus-challenge-set-1" ‖ epoch u32 LE ‖ count u32 LE ‖ count × blob ID [32] (sorted) ‖ Blake2b-256 of all before
//
// challengeAttestedFile holds the last epoch the node attested (u32 LE), so
// that a node restarted after attesting serves its responses but does not
// challenge and attest again.
const (
	challengeSetFile      = "challenge-set"
	challengeSetMagic     = "walrus-challenge-set-1"
	challengeAttestedFile = "challenge-attested"
)

// Defaults of the challenge part (Config).
const (
	DefaultChallengeWindow  = 10 * time.Minute
	DefaultChallengeBackoff = 2 * time.Second
	DefaultChallengeWorkers = 4
	// maxChallengeBackoff caps the backoff between attempts on a member.
	maxChallengeBackoff = time.Minute
	// syncPoll is how often the prover looks whether a shard's sync is
	// done.
	syncPoll = 100 * time.Millisecond
	// minChallengeAttempts is how many attempts on a failing member the
	// window leaves room for at least: the backoff shrinks to fit them in
	// a short window (an epoch of seconds in tests).
	minChallengeAttempts = 8
)

// challengeMetrics are the challenge part's metrics, on the node's registry.
type challengeMetrics struct {
	proved, proveMissing, served, servedBytes, received, passed, failed, attested prometheus.Counter
	setSize                                                                       prometheus.Gauge
}

func newChallengeMetrics(reg *prometheus.Registry) *challengeMetrics {
	c := func(name, help string) prometheus.Counter {
		v := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "walrus", Subsystem: "node", Name: name, Help: help})
		reg.MustRegister(v)
		return v
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "walrus", Subsystem: "node", Name: "challenge_blob_set",
		Help: "Blobs in the current epoch's storage-challenge blob set."})
	reg.MustRegister(g)
	return &challengeMetrics{
		proved:       c("challenge_shards_proved_total", "Own shards whose storage-challenge response was computed."),
		proveMissing: c("challenge_prove_missing_total", "Attempts to prove a shard that lacked sampled slivers (queued for recovery)."),
		served:       c("challenge_responses_served_total", "Storage-challenge responses served to challengers (one per shard)."),
		servedBytes:  c("challenge_bytes_served_total", "Bytes of storage-challenge responses served."),
		received:     c("challenge_bytes_received_total", "Bytes of storage-challenge responses received from challenged members."),
		passed:       c("challenge_members_passed_total", "Committee members judged passing (all shards) in an attestation."),
		failed:       c("challenge_members_failed_total", "Committee members judged failing in an attestation."),
		attested:     c("challenge_attestations_total", "Storage-challenge attestations submitted."),
		setSize:      g,
	}
}

// ChallengeStatus is what Status reports of the node's storage challenges in
// an epoch.
type ChallengeStatus struct {
	Epoch uint32 `json:"epoch"`
	// BlobSet is the number of blobs the epoch's challenges sample.
	BlobSet int `json:"blobSet"`
	// Proven are the node's own shards whose responses are ready;
	// Unproven those it could not prove yet.
	Proven   []uint16 `json:"provenShards"`
	Unproven []uint16 `json:"unprovenShards"`
	// ResponseBytes is what the ready responses take (held in memory).
	ResponseBytes int `json:"responseBytes"`
	// Members are the node's verdicts on the other committee members.
	Members []MemberVerdict `json:"members"`
	// Attested is set once the node's attestation is on chain; Passed are
	// the committee indices it marked as passing.
	Attested bool  `json:"attested"`
	Passed   []int `json:"passed,omitempty"`
	// AttestError is why the attestation was not submitted, if it failed.
	AttestError string `json:"attestError,omitempty"`
}

// MemberVerdict is the node's verdict on one member's storage challenges.
type MemberVerdict struct {
	NodeID string `json:"nodeId"`
	Index  int    `json:"index"`
	Shards int    `json:"shards"`
	// Verdict is "pending" (being challenged), "passed" or "failed" (at
	// the window's end).
	Verdict  string `json:"verdict"`
	Attempts int    `json:"attempts"`
	// Error is the last failure (empty once passed).
	Error string `json:"error,omitempty"`
}

// challenger is the node's part that runs storage challenges. It is safe
// for concurrent use.
type challenger struct {
	store   *store.Store
	codec   *encoding.Codec
	chain   Chain
	views   *views
	peers   *p2p.Client
	recov   *recoverer
	syncing func(shard uint16) bool
	signer  *chain.BLSPrivateKey
	account chain.Signer
	self    chain.NodeID
	dir     string
	metrics *challengeMetrics
	log     *slog.Logger
	window  time.Duration
	backoff time.Duration
	workers int
	// start runs fn in a goroutine the node waits for at shutdown.
	start func(fn func())

	mu  sync.Mutex
	cur *epochChallenges
	// last is the status of the previous epoch's challenges.
	last *ChallengeStatus
}

// epochChallenges are the challenges of one epoch.
type epochChallenges struct {
	epoch  uint32
	ids    []encoding.BlobID // the blob set, sorted
	cancel context.CancelFunc

	mu        sync.Mutex
	opened    bool
	index     *proofs.EpochIndex
	view      *view
	peers     map[peer.ID]bool // the committee's members
	responses map[uint16][]byte
	unproven  map[uint16]bool
	status    ChallengeStatus
}

// fix fixes the blob set of epoch e from the store's records, as they are
// when the node applies EpochChangeStart(e), and keeps it in the data dir.
// It replaces the previous epoch's challenges.
func (c *challenger) fix(ctx context.Context, e uint32) error {
	ids, err := c.blobSet(ctx, e)
	if err != nil {
		return err
	}
	if err := writeChallengeSet(filepath.Join(c.dir, challengeSetFile), e, ids); err != nil {
		return fmt.Errorf("node: keeping the challenge blob set: %w", err)
	}
	c.replace(e, ids)
	return nil
}

// replace makes ids epoch e's blob set, ending the previous epoch's
// challenges.
func (c *challenger) replace(e uint32, ids []encoding.BlobID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.cur; old != nil {
		if old.cancel != nil {
			old.cancel()
		}
		st := old.snapshot()
		c.last = &st
	}
	c.cur = &epochChallenges{epoch: e, ids: ids, responses: map[uint16][]byte{}, unproven: map[uint16]bool{},
		status: ChallengeStatus{Epoch: e, BlobSet: len(ids)}}
	c.metrics.setSize.Set(float64(len(ids)))
}

// blobSet lists the blobs of epoch e's challenges: certified before e, not
// invalid, with a live certified registration and an end epoch after e.
func (c *challenger) blobSet(ctx context.Context, e uint32) ([]encoding.BlobID, error) {
	var ids []encoding.BlobID
	// The expiry index lists every record by end epoch: start after e's.
	after := &store.Expiry{EndEpoch: e, BlobID: encoding.BlobID(bytes.Repeat([]byte{0xff}, 32))}
	for {
		page, err := c.store.ExpiredAt(ctx, math.MaxUint32, after, 0)
		if err != nil {
			return nil, err
		}
		for _, x := range page {
			rec, found, err := blobRecord(ctx, c.store, x.BlobID)
			if err != nil && !errors.Is(err, store.ErrCorrupt) {
				return nil, err
			}
			if found && inChallengeSet(rec, e) {
				ids = append(ids, x.BlobID)
			}
		}
		if len(page) < store.DefaultPageLimit {
			break
		}
		after = &page[len(page)-1]
	}
	slices.SortFunc(ids, func(a, b encoding.BlobID) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(ids), nil
}

// inChallengeSet reports whether a blob with record rec is in epoch e's
// challenge blob set.
func inChallengeSet(rec store.BlobRecord, e uint32) bool {
	return rec.Certified && rec.CertifiedEpoch < e && !rec.Invalid && rec.EndEpoch > e &&
		rec.PermanentCertified+rec.DeletableCertified > 0
}

// load restores the blob set of epoch e kept in the data dir, if it is e's.
func (c *challenger) load(e uint32) bool {
	ids, epoch, err := readChallengeSet(filepath.Join(c.dir, challengeSetFile))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			c.log.Warn("the kept challenge blob set is unreadable; no challenges until the next epoch", "err", err)
		}
		return false
	}
	if epoch != e {
		return false
	}
	c.replace(e, ids)
	return true
}

// loadOrGenesis is load, and for the first epoch, which starts without an
// epoch change, the empty blob set that nothing certified before it makes.
func (c *challenger) loadOrGenesis(e uint32) bool {
	if c.load(e) {
		return true
	}
	if e != 1 {
		return false
	}
	c.replace(e, nil)
	return true
}

// open starts epoch e's challenges once its change is done: proving the
// node's own shards and challenging the other members. It does nothing for
// an epoch other than the fixed blob set's, twice, for a node outside the
// committee, or on a chain without seeds.
func (c *challenger) open(ctx context.Context, v *view) {
	c.mu.Lock()
	ec := c.cur
	c.mu.Unlock()
	if ec == nil || ec.epoch != v.epoch || v.index < 0 {
		return
	}
	ec.mu.Lock()
	if ec.opened {
		ec.mu.Unlock()
		return
	}
	ec.opened = true
	ec.mu.Unlock()
	if st, err := c.chain.SystemState(ctx); err != nil || st.Epoch != v.epoch {
		// Events of a past epoch, replayed: its challenges are over.
		return
	}
	seed, err := c.chain.EpochSeed(ctx, v.epoch)
	if err != nil {
		c.log.Info("no storage challenges this epoch: the chain gives no seed", "epoch", v.epoch, "err", err)
		return
	}
	index, err := proofs.NewEpochIndex(seed, v.epoch, v.n(), slices.Values(ec.ids))
	if err != nil {
		c.log.Warn("no storage challenges this epoch", "epoch", v.epoch, "err", err)
		return
	}
	members := make(map[peer.ID]bool, len(v.committee.Members))
	for _, m := range v.committee.Members {
		if pid, err := p2p.ParsePeerID(m.PeerID); err == nil {
			members[pid] = true
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	ec.mu.Lock()
	ec.index, ec.view, ec.peers, ec.cancel = index, v, members, cancel
	for _, s := range v.shards {
		ec.unproven[s] = true
	}
	ec.mu.Unlock()
	c.mu.Lock()
	if c.cur != ec {
		cancel() // replaced meanwhile
	}
	c.mu.Unlock()
	c.log.Info("storage challenges open", "epoch", v.epoch, "blobs", len(ec.ids), "members", len(v.committee.Members))
	proved := make(chan struct{})
	c.start(func() { defer close(proved); c.proveAll(ctx, ec) })
	if c.attestedEpoch() == v.epoch {
		ec.mu.Lock()
		ec.status.Attested = true
		ec.mu.Unlock()
		c.log.Info("attested this epoch before a restart; serving the responses only", "epoch", v.epoch)
		return
	}
	c.start(func() { c.challengeAll(ctx, ec, proved) })
}

// attestedEpoch is the last epoch the node attested (0: none known).
func (c *challenger) attestedEpoch() uint32 {
	b, err := os.ReadFile(filepath.Join(c.dir, challengeAttestedFile))
	if err != nil || len(b) != 4 {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

// current returns the challenges of epoch e, if they are open.
func (c *challenger) current(e uint32) *epochChallenges {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil || c.cur.epoch != e {
		return nil
	}
	return c.cur
}

// response serves the node's response for shard in epoch to who.
func (c *challenger) response(ctx context.Context, epoch uint32, shard uint16) ([]byte, error) {
	ec := c.current(epoch)
	if ec == nil {
		return nil, fmt.Errorf("%w: no storage challenges for epoch %d here", p2p.ErrNotFound, epoch)
	}
	ec.mu.Lock()
	defer ec.mu.Unlock()
	if ec.index == nil {
		return nil, fmt.Errorf("%w: the challenges of epoch %d are not open yet", p2p.ErrBusy, epoch)
	}
	if who, ok := p2p.RemotePeer(ctx); ok && !ec.peers[who] {
		return nil, fmt.Errorf("%w: only members of epoch %d's committee challenge", p2p.ErrNotAssigned, epoch)
	}
	if !ec.view.holds(shard) {
		return nil, fmt.Errorf("%w: shard %d in epoch %d", p2p.ErrNotAssigned, shard, epoch)
	}
	b, ok := ec.responses[shard]
	if !ok {
		return nil, fmt.Errorf("%w: the response of shard %d is not ready", p2p.ErrBusy, shard)
	}
	c.metrics.served.Inc()
	c.metrics.servedBytes.Add(float64(len(b)))
	return b, nil
}

// released reports whether a blob of the epoch's set no longer needs to be
// stored: deleted (no record, or no live registration) or marked invalid.
func (c *challenger) released(ctx context.Context, id encoding.BlobID) (bool, error) {
	rec, found, err := blobRecord(ctx, c.store, id)
	if err != nil {
		return false, err
	}
	return !found || rec.Invalid || rec.PermanentRegistered+rec.DeletableRegistered == 0, nil
}

// proveAll proves the node's shards, each once it is synced, retrying those
// with missing slivers (after queueing their blobs for recovery) until the
// epoch's challenges end.
func (c *challenger) proveAll(ctx context.Context, ec *epochChallenges) {
	prover := proofs.NewProver(c.codec, c.store, c.released)
	backoff := c.backoff
	for ctx.Err() == nil {
		ec.mu.Lock()
		todo := slices.Sorted(maps.Keys(ec.unproven))
		ec.mu.Unlock()
		if len(todo) == 0 {
			return
		}
		failed := false
		for _, s := range todo {
			if c.syncing != nil && c.syncing(s) {
				continue
			}
			ch, err := ec.index.Challenge(c.self, s)
			if err != nil {
				c.log.Error("deriving an own challenge failed", "shard", s, "err", err)
				failed = true
				continue
			}
			resp, err := prover.Prove(ctx, ch)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				failed = true
				var miss *proofs.MissingError
				if errors.As(err, &miss) {
					c.metrics.proveMissing.Inc()
					c.log.Warn("cannot prove an own shard yet; recovering the sampled slivers", "epoch", ec.epoch, "shard", s,
						"missing", len(miss.Samples), "err", err)
					for _, sm := range miss.Samples {
						c.recov.check(ctx, sm.BlobID)
					}
				} else {
					c.log.Warn("proving an own shard failed", "epoch", ec.epoch, "shard", s, "err", err)
				}
				continue
			}
			b := resp.MarshalBCS()
			ec.mu.Lock()
			ec.responses[s] = b
			delete(ec.unproven, s)
			ec.mu.Unlock()
			c.metrics.proved.Inc()
		}
		if !failed {
			// Only shards still syncing are left: look again soon, so that
			// the responses are ready right after the sync.
			if sleepCtx(ctx, syncPoll) != nil {
				return
			}
			continue
		}
		if sleepCtx(ctx, backoff) != nil {
			return
		}
		backoff = min(2*backoff, maxChallengeBackoff)
	}
}

// memberState is the challenger's state of one member.
type memberState struct {
	index  int
	member chain.Member
	pid    peer.ID
	exps   []*proofs.Expectation // nil until the challenges are expected
}

// challengeAll challenges every other member until each passed or the
// window closed, then attests.
func (c *challenger) challengeAll(ctx context.Context, ec *epochChallenges, proved <-chan struct{}) {
	v := ec.view
	window := c.window
	if d := c.epochDuration(ctx); d > 0 {
		window = min(window, d/2)
	}
	deadline := time.Now().Add(window)
	step := max(window/minChallengeAttempts, time.Millisecond)
	backoff := min(c.backoff, step)
	verifier, err := proofs.NewVerifier(v.n(), challengeMetadata{c}, c.released)
	if err != nil {
		c.log.Error("no storage challenges", "err", err)
		return
	}
	var pending []*memberState
	for i, m := range v.committee.Members {
		if i == v.index {
			continue
		}
		ms := &memberState{index: i, member: m}
		ms.pid, err = p2p.ParsePeerID(m.PeerID)
		verdict := MemberVerdict{NodeID: m.NodeID.String(), Index: i, Shards: len(m.Shards), Verdict: "pending"}
		if err != nil {
			verdict.Error = err.Error()
		} else {
			pending = append(pending, ms)
		}
		ec.setVerdict(verdict)
	}
	c.expectAll(ctx, ec, verifier, pending)
	passed := map[int]bool{}
	// No attempt outlasts the window: a silent member must not hold the
	// round (and the attestation of everyone else) for a request timeout.
	actx, acancel := context.WithDeadline(ctx, deadline)
	defer acancel()
	for attempt := 1; len(pending) > 0; attempt++ {
		results := make([]error, len(pending))
		sem := make(chan struct{}, c.workers)
		var wg sync.WaitGroup
		for k, ms := range pending {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				results[k] = c.challengeMember(actx, ec, verifier, ms)
			}()
		}
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
		var still []*memberState
		for k, ms := range pending {
			verdict := MemberVerdict{NodeID: ms.member.NodeID.String(), Index: ms.index, Shards: len(ms.member.Shards),
				Verdict: "passed", Attempts: attempt}
			if results[k] == nil {
				passed[ms.index] = true
			} else {
				verdict.Verdict, verdict.Error = "pending", results[k].Error()
				still = append(still, ms)
			}
			ec.setVerdict(verdict)
		}
		pending = still
		if len(pending) == 0 || time.Now().Add(backoff).After(deadline) {
			break
		}
		if sleepCtx(ctx, backoff) != nil {
			return
		}
		backoff = min(2*backoff, maxChallengeBackoff, step)
	}
	for _, ms := range pending {
		ec.updateVerdict(ms.index, func(mv *MemberVerdict) { mv.Verdict = "failed" })
		c.log.Warn("committee member failed its storage challenges", "epoch", ec.epoch, "node_id", ms.member.NodeID,
			"err", ec.verdictError(ms.index))
	}
	// Our own bit: set once every own shard is proven, waiting for that
	// until the window closes.
	select {
	case <-proved:
	case <-ctx.Done():
		return
	case <-time.After(time.Until(deadline)):
	}
	ec.mu.Lock()
	self := len(ec.unproven) == 0
	ec.mu.Unlock()
	if self {
		passed[v.index] = true
	}
	c.attest(ctx, ec, passed)
}

// epochDuration is the chain's epoch length (0 if unknown).
func (c *challenger) epochDuration(ctx context.Context) time.Duration {
	st, err := c.chain.SystemState(ctx)
	if err != nil {
		return 0
	}
	return st.EpochDuration
}

// challenges derives a member's challenges, one per shard in shards.
func (ms *memberState) challenges(ec *epochChallenges, shards []uint16) ([]*proofs.Challenge, error) {
	chs := make([]*proofs.Challenge, len(shards))
	for i, s := range shards {
		ch, err := ec.index.Challenge(ms.member.NodeID, s)
		if err != nil {
			return nil, err
		}
		chs[i] = ch
	}
	return chs, nil
}

// shards are the member's shards, sorted.
func (ms *memberState) shards() []uint16 {
	s := slices.Clone(ms.member.Shards)
	slices.Sort(s)
	return s
}

// expectAll prepares the expectations of every member's challenges at once:
// the metadata of a blob sampled by many shards is read once (reading
// metadata is most of a challenger's cost). If that fails, each member's are
// prepared on their own when it is challenged.
func (c *challenger) expectAll(ctx context.Context, ec *epochChallenges, verifier *proofs.Verifier, members []*memberState) {
	var all []*proofs.Challenge
	for _, ms := range members {
		chs, err := ms.challenges(ec, ms.shards())
		if err != nil {
			return
		}
		all = append(all, chs...)
	}
	exps, err := verifier.ExpectAll(ctx, all)
	if err != nil {
		c.log.Debug("preparing every member's challenges at once failed; preparing them one member at a time", "err", err)
		return
	}
	for _, ms := range members {
		k := len(ms.member.Shards)
		ms.exps, exps = exps[:k:k], exps[k:]
	}
}

// challengeMember challenges all of a member's shards in one request and
// returns nil if every response verifies.
func (c *challenger) challengeMember(ctx context.Context, ec *epochChallenges, verifier *proofs.Verifier, ms *memberState) error {
	shards := ms.shards()
	if len(shards) == 0 {
		return nil
	}
	if ms.exps == nil {
		chs, err := ms.challenges(ec, shards)
		if err != nil {
			return err
		}
		exps, err := verifier.ExpectAll(ctx, chs)
		if err != nil {
			return fmt.Errorf("preparing the challenges (ours to fix): %w", err)
		}
		ms.exps = exps
	}
	sizes := make([]int, len(shards))
	for i, e := range ms.exps {
		sizes[i] = e.Shape().MaxSize()
	}
	var errs []error
	err := c.peers.GetChallengeResponses(ctx, ms.pid, p2p.ChallengeRequest{Epoch: ec.epoch, Shards: shards}, sizes,
		func(i int, resp []byte, rerr *p2p.RemoteError) error {
			if rerr != nil {
				errs = append(errs, fmt.Errorf("shard %d: %w", shards[i], rerr))
				return nil
			}
			c.metrics.received.Add(float64(len(resp)))
			if err := ms.exps[i].Verify(ctx, bytes.NewReader(resp)); err != nil {
				errs = append(errs, fmt.Errorf("shard %d: %w", shards[i], err))
			}
			return nil
		})
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// attest signs and submits the node's attestation for ec's epoch.
func (c *challenger) attest(ctx context.Context, ec *epochChallenges, passed map[int]bool) {
	v := ec.view
	idx := slices.Sorted(maps.Keys(passed))
	bm := chain.BitmapOf(len(v.committee.Members), idx...)
	att := chain.Attestation{Node: c.self, Epoch: ec.epoch, Passed: bm,
		Signature: c.signer.Sign(chain.AttestationMessage(ec.epoch, c.self, bm))}
	var err error
	for attempt := range 5 {
		if _, err = c.chain.SubmitAttestation(ctx, c.account, att); err == nil || !errors.Is(err, chain.ErrUnavailable) {
			break
		}
		if sleepCtx(ctx, DefaultChainRetryBackoff<<attempt) != nil {
			return
		}
	}
	ec.mu.Lock()
	ec.status.Passed = idx
	if err != nil {
		ec.status.AttestError = err.Error()
	} else {
		ec.status.Attested = true
	}
	ec.mu.Unlock()
	if err != nil {
		c.log.Warn("storage-challenge attestation not accepted", "epoch", ec.epoch, "err", err)
		return
	}
	if err := os.WriteFile(filepath.Join(c.dir, challengeAttestedFile), binary.LittleEndian.AppendUint32(nil, ec.epoch), 0o600); err != nil {
		c.log.Warn("keeping the attested epoch failed; a restart would attest again (and be refused)", "err", err)
	}
	c.metrics.attested.Inc()
	c.metrics.passed.Add(float64(len(idx)))
	c.metrics.failed.Add(float64(len(v.committee.Members) - len(idx)))
	c.log.Info("attested storage challenges", "epoch", ec.epoch, "passed", len(idx), "members", len(v.committee.Members))
}

// status reports the current epoch's challenges (nil before any) and the
// previous epoch's.
func (c *challenger) status() (cur, last *ChallengeStatus) {
	c.mu.Lock()
	ec, last := c.cur, c.last
	c.mu.Unlock()
	if ec != nil {
		st := ec.snapshot()
		cur = &st
	}
	return cur, last
}

func (ec *epochChallenges) snapshot() ChallengeStatus {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	st := ec.status
	st.Members = slices.Clone(st.Members)
	st.Passed = slices.Clone(st.Passed)
	st.Proven = slices.Sorted(maps.Keys(ec.responses))
	st.Unproven = slices.Sorted(maps.Keys(ec.unproven))
	st.ResponseBytes = 0
	for _, b := range ec.responses {
		st.ResponseBytes += len(b)
	}
	return st
}

func (ec *epochChallenges) setVerdict(mv MemberVerdict) {
	ec.updateVerdict(mv.Index, func(old *MemberVerdict) { *old = mv })
}

func (ec *epochChallenges) updateVerdict(index int, f func(*MemberVerdict)) {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	for i := range ec.status.Members {
		if ec.status.Members[i].Index == index {
			f(&ec.status.Members[i])
			return
		}
	}
	mv := MemberVerdict{Index: index}
	f(&mv)
	ec.status.Members = append(ec.status.Members, mv)
	slices.SortFunc(ec.status.Members, func(a, b MemberVerdict) int { return a.Index - b.Index })
}

func (ec *epochChallenges) verdictError(index int) string {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	for _, mv := range ec.status.Members {
		if mv.Index == index {
			return mv.Error
		}
	}
	return ""
}

// challengeMetadata is the verifier's metadata source: the store, or the
// committee (verified against the blob ID, then stored) for a blob the node
// lacks the metadata of.
type challengeMetadata struct{ c *challenger }

func (m challengeMetadata) Metadata(ctx context.Context, id encoding.BlobID) (*encoding.Metadata, error) {
	return m.c.recov.metadata(ctx, id, newLiars())
}

// writeChallengeSet writes a blob set to path (through a temporary file and
// a rename, so that a crash leaves the old one or the new one).
func writeChallengeSet(path string, epoch uint32, ids []encoding.BlobID) error {
	b := make([]byte, 0, len(challengeSetMagic)+8+32*len(ids)+32)
	b = append(b, challengeSetMagic...)
	b = binary.LittleEndian.AppendUint32(b, epoch)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		b = append(b, id[:]...)
	}
	sum := blake2b.Sum256(b)
	b = append(b, sum[:]...)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// errChallengeSet is readChallengeSet's error for a file that is not a
// whole blob set.
var errChallengeSet = errors.New("node: malformed challenge blob set")

// readChallengeSet reads a blob set written by writeChallengeSet.
func readChallengeSet(path string) ([]encoding.BlobID, uint32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	head := len(challengeSetMagic) + 8
	if len(b) < head+32 || string(b[:len(challengeSetMagic)]) != challengeSetMagic {
		return nil, 0, fmt.Errorf("%w: %s", errChallengeSet, path)
	}
	body, sum := b[:len(b)-32], b[len(b)-32:]
	if got := blake2b.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, 0, fmt.Errorf("%w: %s: checksum mismatch", errChallengeSet, path)
	}
	epoch := binary.LittleEndian.Uint32(b[len(challengeSetMagic):])
	count := binary.LittleEndian.Uint32(b[len(challengeSetMagic)+4:])
	if uint64(len(body)-head) != 32*uint64(count) {
		return nil, 0, fmt.Errorf("%w: %s: %d blob IDs in %d bytes", errChallengeSet, path, count, len(body)-head)
	}
	ids := make([]encoding.BlobID, count)
	for i := range ids {
		copy(ids[i][:], body[head+32*i:])
	}
	return ids, epoch, nil
}

// ChallengeResponse implements p2p.ChallengeHandler.
func (h *handler) ChallengeResponse(ctx context.Context, epoch uint32, shard uint16) ([]byte, error) {
	if h.challenges == nil {
		return nil, fmt.Errorf("%w: the node runs no storage challenges", p2p.ErrNotFound)
	}
	return h.challenges.response(ctx, epoch, shard)
}

var _ p2p.ChallengeHandler = (*handler)(nil)
