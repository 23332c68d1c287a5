package sui

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/block-vision/sui-go-sdk/models"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/encoding"
)

// Cursors. A chain.Cursor of this backend carries Sui's event ID in its
// Token, "<transaction digest (base58)>:<event sequence>", and a Seq this
// backend counts: the Seq of the cursor resumed from plus the event's place
// after it. suix_queryEvents resumes strictly after the event ID, so a
// stored cursor resumes exactly once. Seq orders the cursors of one
// follower; cursors of followers that started from different points are
// ordered by Sui, not by Seq.

func cursorToken(id models.EventId) string { return id.TxDigest + ":" + id.EventSeq }

func parseCursorToken(tok string) (*models.EventId, error) {
	d, seq, ok := strings.Cut(tok, ":")
	if !ok {
		return nil, fmt.Errorf("%w: Sui cursor token %q", chain.ErrInvalidArgument, tok)
	}
	if _, err := ParseDigestString(d); err != nil {
		return nil, err
	}
	if _, err := strconv.ParseUint(seq, 10, 64); err != nil {
		return nil, fmt.Errorf("%w: Sui cursor token %q", chain.ErrInvalidArgument, tok)
	}
	return &models.EventId{TxDigest: d, EventSeq: seq}, nil
}

// eventType returns the struct name of a walrus::events event type, or ""
// for another module's.
func (c *Chain) eventType(t string) string {
	pkg, rest, ok := strings.Cut(t, "::")
	if !ok {
		return ""
	}
	id, err := chain.ParseObjectID(normalizeHex(pkg))
	if err != nil || id != c.typePkg {
		return ""
	}
	name, ok := strings.CutPrefix(rest, "events::")
	if !ok || !knownEvents[name] {
		return ""
	}
	return name
}

// toEvent converts a Walrus event. ok is false for events that have no
// chain.EventKind (ShardsReceived: it names no node).
func toEvent(m MoveEvent) (chain.Event, bool) {
	e := chain.Event{Epoch: m.Epoch, BlobID: encoding.BlobID(m.BlobID), ObjectID: m.ObjectID}
	switch m.Type {
	case "BlobRegistered":
		e.Kind, e.Size, e.EncodingType, e.EndEpoch, e.Deletable = chain.EventBlobRegistered, m.Size, encoding.EncodingType(m.EncodingType), m.EndEpoch, m.Deletable
	case "BlobCertified":
		e.Kind, e.EndEpoch, e.Deletable = chain.EventBlobCertified, m.EndEpoch, m.Deletable
		if m.IsExtension {
			e.Kind = chain.EventBlobExtended
		}
	case "BlobDeleted":
		e.Kind, e.EndEpoch, e.WasCertified = chain.EventBlobDeleted, m.EndEpoch, m.WasCertified
	case "InvalidBlobID":
		e.Kind = chain.EventInvalidBlobID
	case "EpochChangeStart":
		e.Kind = chain.EventEpochChangeStart
	case "EpochChangeDone":
		e.Kind = chain.EventEpochChangeDone
	case "EpochParametersSelected":
		e.Kind, e.Epoch, e.NextEpoch = chain.EventCommitteeSelected, m.Epoch-1, m.Epoch
	default:
		return e, false
	}
	return e, true
}

// convert turns an RPC event into a chain event; ok is false for events
// this backend skips.
func (c *Chain) convert(ev rpcEvent) (chain.Event, bool, error) {
	name := c.eventType(ev.Type)
	if name == "" {
		return chain.Event{}, false, nil
	}
	b, err := ev.bytes()
	if err != nil {
		return chain.Event{}, false, fmt.Errorf("%w: event %s: %v", ErrDecode, ev.Type, err)
	}
	m, err := DecodeEvent(name, b)
	if err != nil {
		return chain.Event{}, false, err
	}
	e, ok := toEvent(m)
	if !ok {
		return e, false, nil
	}
	if d, err := ParseDigestString(ev.ID.TxDigest); err == nil {
		e.TxDigest = d
	}
	return e, true, nil
}

// Events follows walrus::events with suix_queryEvents, ascending, from
// after (see the cursor doc above). Events of other kinds are skipped;
// when there are none after the cursor it polls every PollInterval until
// wait has passed.
func (c *Chain) Events(ctx context.Context, after chain.Cursor, limit int, wait time.Duration) ([]chain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxEventsPerCall {
		return nil, fmt.Errorf("%w: limit %d outside [1, %d]", chain.ErrInvalidArgument, limit, MaxEventsPerCall)
	}
	var cursor *models.EventId
	if after.Token != "" {
		var err error
		if cursor, err = parseCursorToken(after.Token); err != nil {
			return nil, err
		}
	} else if after.Seq != 0 {
		return nil, fmt.Errorf("%w: cursor %s has no Sui event ID", chain.ErrInvalidArgument, after)
	}
	deadline := time.Now().Add(wait)
	filter := map[string]any{"MoveEventModule": map[string]string{"package": c.typePkg.String(), "module": "events"}}
	var out []chain.Event
	for {
		var page eventPage
		if err := c.rpc.call(ctx, &page, "suix_queryEvents", filter, cursor, min(pageLimit, limit-len(out)), false); err != nil {
			return nil, err
		}
		for _, ev := range page.Data {
			id := ev.ID
			cursor = &id
			e, ok, err := c.convert(ev)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			e.Cursor = chain.Cursor{Seq: after.Seq + uint64(len(out)) + 1, Token: cursorToken(ev.ID)}
			out = append(out, e)
		}
		if len(out) >= limit || (len(out) > 0 && !page.HasNextPage) {
			return out, nil
		}
		if page.HasNextPage && len(page.Data) > 0 {
			continue
		}
		if len(out) > 0 || !time.Now().Before(deadline) {
			return out, nil
		}
		t := time.NewTimer(min(c.cfg.PollInterval, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-c.closed:
			t.Stop()
			return nil, chain.ErrClosed
		case <-t.C:
		}
	}
}

// blobIndex maps blob IDs to their blob objects, from the event stream:
// Walrus's package keeps no such index on chain (its storage nodes keep
// one). BlobStatus brings it up to date, then reads the objects.
type blobIndex struct {
	cursor   chain.Cursor
	objects  map[encoding.BlobID]map[chain.ObjectID]*indexed
	invalid  map[encoding.BlobID]chain.Cursor
	nobjects int
}

type indexed struct {
	reg, cert chain.Cursor
	certified bool
}

func (x *blobIndex) init() {
	x.objects = map[encoding.BlobID]map[chain.ObjectID]*indexed{}
	x.invalid = map[encoding.BlobID]chain.Cursor{}
}

func (x *blobIndex) apply(e chain.Event) error {
	x.cursor = e.Cursor
	switch e.Kind {
	case chain.EventBlobRegistered:
		if x.nobjects >= MaxIndexedBlobs {
			return fmt.Errorf("sui: blob status index over %d objects: %w", MaxIndexedBlobs, chain.ErrTooLarge)
		}
		m := x.objects[e.BlobID]
		if m == nil {
			m = map[chain.ObjectID]*indexed{}
			x.objects[e.BlobID] = m
		}
		m[e.ObjectID] = &indexed{reg: e.Cursor}
		x.nobjects++
	case chain.EventBlobCertified:
		if o := x.objects[e.BlobID][e.ObjectID]; o != nil {
			o.cert, o.certified = e.Cursor, true
		}
	case chain.EventBlobDeleted:
		if m := x.objects[e.BlobID]; m != nil && m[e.ObjectID] != nil {
			delete(m, e.ObjectID)
			x.nobjects--
		}
	case chain.EventInvalidBlobID:
		if _, ok := x.invalid[e.BlobID]; !ok {
			x.invalid[e.BlobID] = e.Cursor
		}
	}
	return nil
}

// BlobStatus aggregates a blob ID's live objects as the local chain does
// (chain.BlobStatus). It follows the event stream from where it last
// stopped (the whole stream on first use), then reads the objects.
func (c *Chain) BlobStatus(ctx context.Context, id encoding.BlobID) (chain.BlobStatus, error) {
	c.idxMu.Lock()
	defer c.idxMu.Unlock()
	for {
		evs, err := c.Events(ctx, c.idx.cursor, MaxEventsPerCall, 0)
		if err != nil {
			return chain.BlobStatus{}, err
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			if err := c.idx.apply(e); err != nil {
				return chain.BlobStatus{}, err
			}
		}
	}
	if ev, ok := c.idx.invalid[id]; ok {
		return chain.BlobStatus{Kind: chain.BlobInvalid, Event: &ev}, nil
	}
	st, err := c.readState(ctx)
	if err != nil {
		return chain.BlobStatus{}, err
	}
	ids := make([]chain.ObjectID, 0, len(c.idx.objects[id]))
	for oid := range c.idx.objects[id] {
		ids = append(ids, oid)
	}
	objs, err := c.rpc.multiGet(ctx, ids)
	if err != nil {
		return chain.BlobStatus{}, err
	}
	var out chain.BlobStatus
	var best *chain.BlobObject
	var bestRec *indexed
	for _, o := range objs {
		b, err := blobObject(o)
		if err != nil {
			return chain.BlobStatus{}, err
		}
		if b.BlobID != id || b.Storage.EndEpoch <= st.staking.Epoch {
			continue
		}
		if ce := b.CertifiedEpoch; ce != nil && (out.InitialCertifiedEpoch == nil || *ce < *out.InitialCertifiedEpoch) {
			e := *ce
			out.InitialCertifiedEpoch = &e
		}
		if b.Deletable {
			out.Deletable.Registered++
			if b.IsCertified() {
				out.Deletable.Certified++
			}
			continue
		}
		if best == nil || betterBlob(&b, best) {
			bb := b
			best, bestRec = &bb, c.idx.objects[id][b.ID]
		}
	}
	switch {
	case best != nil:
		out.Kind, out.EndEpoch, out.IsCertified = chain.BlobPermanent, best.Storage.EndEpoch, best.IsCertified()
		ev := bestRec.reg
		if out.IsCertified && bestRec.certified {
			ev = bestRec.cert
		}
		out.Event = &ev
	case out.Deletable.Registered > 0:
		out.Kind = chain.BlobDeletable
	}
	return out, nil
}

// betterBlob orders permanent objects as the local chain does: certified
// first, then the later end epoch, then the smaller ID.
func betterBlob(a, b *chain.BlobObject) bool {
	if a.IsCertified() != b.IsCertified() {
		return a.IsCertified()
	}
	if a.Storage.EndEpoch != b.Storage.EndEpoch {
		return a.Storage.EndEpoch > b.Storage.EndEpoch
	}
	return bytes.Compare(a.ID[:], b.ID[:]) < 0
}
