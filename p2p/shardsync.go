package p2p

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/bcs"
)

// Shard sync (shard-sync/get, DESIGN.md §5 step 7): a node that gains a shard
// at an epoch change pulls the shard's sliver pairs from the shard's previous
// holder, in blob-ID order, a bounded response at a time, each resuming from
// the cursor the previous one ended at.
//
//	request   epoch u32 ‖ shard u16 ‖ Option<blob_id> after ‖ limit u32 ‖ with_metadata bool
//	response  frames of ShardSyncFrame, each ≤ MaxShardSyncFrameSize:
//	          zero or more Pair frames, in increasing blob-ID order, then one End or Err frame
//
//	ShardSyncFrame = 0x00 ‖ blob_id ‖ Option<Metadata> ‖ Sliver primary ‖ Sliver secondary   (Pair)
//	               | 0x01 ‖ Error                                                           (Err, as every error response)
//	               | 0x02 ‖ Option<blob_id> next ‖ more bool                                 (End)

// Limits of shard-sync/get.
const (
	// MaxShardSyncFrameSize caps one frame of a shard-sync/get response:
	// one blob's sliver pair, with its metadata when asked for. It holds the
	// pair of a blob of the maximum size for every n whose primary slivers
	// fit MaxSliverFrameSize (n ≤ 1,536: 101 MB), with its metadata, and it
	// stays under DefaultLimits.StreamMemory so that a stream can reserve
	// it. A Server skips a pair over it (the requester recovers that one).
	MaxShardSyncFrameSize = 120 << 20

	// MaxShardSyncLimit caps the pairs of one shard-sync/get response (a
	// request's Limit).
	MaxShardSyncLimit = 4096

	// MaxShardSyncResponseBytes is where a Server ends a response early (with
	// More set): once the pair frames it sent reach this many bytes, so that a
	// response fits its stream's deadline. The requester asks again from the
	// cursor.
	MaxShardSyncResponseBytes = 256 << 20
)

// ShardSyncRequest asks a node for the sliver pairs it stores of one shard
// (shard-sync/get). It is also its wire form (BCS, fields in order; After is
// an Option).
type ShardSyncRequest struct {
	// Epoch is the epoch whose committee assigns Shard to the requester:
	// the epoch it syncs for.
	Epoch uint32
	// Shard is the shard to sync.
	Shard uint16
	// After, if set, starts the response after this blob ID: the cursor
	// (ShardSyncEnd.Next) of the previous response.
	After *encoding.BlobID `bcs:"optional"`
	// Limit caps the pairs of the response: 1 to MaxShardSyncLimit.
	Limit uint32
	// WithMetadata asks for each blob's metadata with its pair: a node new
	// to the committee lacks the metadata of the blobs certified before it
	// joined. Metadata is 66 bytes per shard, more than a blob's whole pair
	// for small blobs at n = 1,000, so a node that has it does not ask.
	WithMetadata bool
}

// validate checks the request's limit.
func (r *ShardSyncRequest) validate() error {
	switch {
	case r.Limit == 0:
		return fmt.Errorf("%w: shard-sync limit 0", ErrInvalid)
	case r.Limit > MaxShardSyncLimit:
		return fmt.Errorf("%w: shard-sync limit %d, max %d", ErrTooLarge, r.Limit, MaxShardSyncLimit)
	}
	return nil
}

// ShardSyncPair is one blob's sliver pair of a shard, as shard-sync/get
// carries it.
type ShardSyncPair struct {
	BlobID encoding.BlobID
	// Metadata is the blob's metadata; set if and only if the request asked
	// for it.
	Metadata *encoding.Metadata
	// Pair is the blob's sliver pair on the shard: primary sliver i and
	// secondary sliver n−1−i, axes set.
	Pair encoding.SliverPair
}

// ShardSyncEnd ends a shard-sync/get response.
type ShardSyncEnd struct {
	// Next is the cursor to resume from (the next request's After): the
	// last blob ID the response covered, sent or skipped. It is nil only
	// when the response covered none and the request had no After.
	Next *encoding.BlobID
	// More reports that the shard may hold pairs after Next: the response
	// ended at its limit. When false, the shard has none after Next.
	More bool
}

// ShardSyncHandler serves shard-sync/get. It is optional: a Server serves the
// protocol if and only if its Handler implements it.
type ShardSyncHandler interface {
	// SyncShard serves one request. It checks that the requester
	// (RemotePeer(ctx)) holds req.Shard in the committee of req.Epoch
	// (ErrNotAssigned otherwise), then calls send with each sliver pair of
	// the shard it stores after req.After, in increasing blob-ID order, with
	// its metadata if and only if req.WithMetadata, and returns where the
	// response ended.
	//
	// send writes the pair out (the Server does not retain it) and reports
	// whether the response takes more: false once it holds req.Limit pairs
	// or MaxShardSyncResponseBytes, and the handler then returns (the Server
	// sets More). An error from send means the stream failed: the handler
	// returns it. The Server checks what the handler sends (order, shard,
	// metadata) and answers ErrInternal for a handler that breaks it. An
	// error the handler returns after sending pairs is sent as the
	// response's Err frame; the requester keeps the pairs before it.
	SyncShard(ctx context.Context, req ShardSyncRequest, send func(*ShardSyncPair) (bool, error)) (ShardSyncEnd, error)
}

// Shard-sync frame tags: a Result's Ok and Err, and End.
const (
	shardSyncTagPair = 0
	shardSyncTagErr  = 1
	shardSyncTagEnd  = 2
)

// shardSyncPairSize is the payload length of a pair frame, with md the
// metadata's BCS form (nil: none).
func shardSyncPairSize(p *ShardSyncPair, md []byte) int {
	return 1 + len(p.BlobID) + 1 + len(md) + p.Pair.Primary.BCSSize() + p.Pair.Secondary.BCSSize()
}

// appendShardSyncPairHead appends the bytes of a pair frame up to the
// primary sliver's data: the tag, blob ID, metadata option and the primary
// sliver's length.
func appendShardSyncPairHead(b []byte, p *ShardSyncPair, md []byte) []byte {
	b = append(b, shardSyncTagPair)
	b = append(b, p.BlobID[:]...)
	if md == nil {
		b = append(b, 0)
	} else {
		b = append(append(b, 1), md...)
	}
	return bcs.AppendLength(b, len(p.Pair.Primary.Data))
}

// appendShardSyncPairMiddle appends the bytes between the two slivers' data:
// the primary's tail and the secondary's length.
func appendShardSyncPairMiddle(b []byte, p *ShardSyncPair) []byte {
	b = append(b, sliverTail(&p.Pair.Primary)...)
	return bcs.AppendLength(b, len(p.Pair.Secondary.Data))
}

// writeShardSyncPair writes a whole pair frame to w, streaming the slivers
// from their Data, and returns the frame's payload length.
func writeShardSyncPair(w io.Writer, p *ShardSyncPair, md []byte) (int, error) {
	size := shardSyncPairSize(p, md)
	head := appendShardSyncPairHead(appendFrameLen(make([]byte, 0, 64+len(md)), size), p, md)
	for _, part := range [][]byte{head, p.Pair.Primary.Data, appendShardSyncPairMiddle(nil, p),
		p.Pair.Secondary.Data, sliverTail(&p.Pair.Secondary)} {
		if _, err := w.Write(part); err != nil {
			return 0, err
		}
	}
	return size, nil
}

// encodeShardSyncPairFrame returns a whole pair frame's payload.
func encodeShardSyncPairFrame(p *ShardSyncPair) []byte {
	var md []byte
	if p.Metadata != nil {
		md = p.Metadata.MarshalBCS()
	}
	b := appendShardSyncPairHead(make([]byte, 0, shardSyncPairSize(p, md)), p, md)
	b = append(b, p.Pair.Primary.Data...)
	b = appendShardSyncPairMiddle(b, p)
	b = append(b, p.Pair.Secondary.Data...)
	return append(b, sliverTail(&p.Pair.Secondary)...)
}

// encodeShardSyncEndFrame returns an End frame's payload.
func encodeShardSyncEndFrame(e ShardSyncEnd) []byte {
	b := []byte{shardSyncTagEnd}
	if e.Next == nil {
		b = append(b, 0)
	} else {
		b = append(append(b, 1), e.Next[:]...)
	}
	return bcs.AppendBool(b, e.More)
}

// encodeShardSyncErrFrame returns an Err frame's payload: the bytes of every
// error response.
func encodeShardSyncErrFrame(e wireError) []byte { return encodeErr(e) }

// decodeShardSyncFrame decodes a frame of a shard-sync/get response: a pair,
// the End, or the peer's error (exactly one is set when err is nil). A
// pair's slivers alias b. It checks the layout only; checkShardSyncPair
// checks a pair against its request.
func decodeShardSyncFrame(b []byte) (*ShardSyncPair, *ShardSyncEnd, *RemoteError, error) {
	r := bcs.NewReader(b)
	switch r.Variant("shard-sync frame", 3) {
	case shardSyncTagPair:
		p := &ShardSyncPair{}
		copy(p.BlobID[:], r.Fixed("blob_id", len(p.BlobID)))
		if r.Option("metadata") {
			md, err := encoding.ReadMetadata(r)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%w: shard-sync pair: %w", ErrMalformed, err)
			}
			p.Metadata = md
		}
		for _, sl := range []*encoding.Sliver{&p.Pair.Primary, &p.Pair.Secondary} {
			sl.Axis = encoding.Primary
			if sl == &p.Pair.Secondary {
				sl.Axis = encoding.Secondary
			}
			sl.Data = r.Bytes(sl.Axis.String()+" sliver data", MaxShardSyncFrameSize)
			sl.SymbolSize = r.U16(sl.Axis.String() + " symbol size")
			sl.Index = r.U16(sl.Axis.String() + " sliver index")
		}
		if err := r.Done(); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: shard-sync pair: %w", ErrMalformed, err)
		}
		for _, sl := range []*encoding.Sliver{&p.Pair.Primary, &p.Pair.Secondary} {
			if sl.SymbolSize == 0 || sl.SymbolSize%2 != 0 || len(sl.Data)%int(sl.SymbolSize) != 0 {
				return nil, nil, nil, fmt.Errorf("%w: shard-sync pair: %s sliver of %d bytes with symbol size %d",
					ErrMalformed, sl.Axis, len(sl.Data), sl.SymbolSize)
			}
		}
		return p, nil, nil, nil
	case shardSyncTagErr:
		var e wireError
		if err := decodeBCS(b[1:], &e); err != nil {
			return nil, nil, nil, err
		}
		if err := e.validate(); err != nil {
			return nil, nil, nil, err
		}
		return nil, nil, e.remote(), nil
	case shardSyncTagEnd:
		e := &ShardSyncEnd{}
		if r.Option("next") {
			var id encoding.BlobID
			copy(id[:], r.Fixed("next", len(id)))
			e.Next = &id
		}
		e.More = r.Bool("more")
		if err := r.Done(); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: shard-sync end: %w", ErrMalformed, err)
		}
		return nil, e, nil, nil
	}
	return nil, nil, nil, fmt.Errorf("%w: shard-sync frame: %w", ErrMalformed, r.Err())
}

// checkShardSyncPair checks a pair against its request: after prev (the
// request's After or the previous pair), of the requested shard (the
// slivers are primary i and secondary n−1−i of a valid n, and pair i of the
// blob maps to the shard), and with metadata, for that blob and n, if and
// only if the request asked for it.
func checkShardSyncPair(req *ShardSyncRequest, prev *encoding.BlobID, p *ShardSyncPair) error {
	if prev != nil && bytes.Compare(p.BlobID[:], prev[:]) <= 0 {
		return fmt.Errorf("pair of blob %s does not come after %s", p.BlobID, prev)
	}
	pri, sec := &p.Pair.Primary, &p.Pair.Secondary
	if pri.Axis != encoding.Primary || sec.Axis != encoding.Secondary {
		return fmt.Errorf("pair of blob %s has a %s and a %s sliver", p.BlobID, pri.Axis, sec.Axis)
	}
	n := int(pri.Index) + int(sec.Index) + 1
	if _, err := encoding.NewParams(n); err != nil {
		return fmt.Errorf("slivers %d and %d of blob %s are no pair: %v", pri.Index, sec.Index, p.BlobID, err)
	}
	if got := p.BlobID.ShardForPair(int(pri.Index), n); got != int(req.Shard) {
		return fmt.Errorf("pair %d of blob %s is on shard %d, not %d (n = %d)", pri.Index, p.BlobID, got, req.Shard, n)
	}
	switch {
	case req.WithMetadata && p.Metadata == nil:
		return fmt.Errorf("pair of blob %s without the metadata asked for", p.BlobID)
	case !req.WithMetadata && p.Metadata != nil:
		return fmt.Errorf("pair of blob %s with metadata not asked for", p.BlobID)
	case p.Metadata != nil && p.Metadata.N() != n:
		return fmt.Errorf("metadata of blob %s for %d shards, its pair is of n = %d", p.BlobID, p.Metadata.N(), n)
	}
	return nil
}

// checkShardSyncEnd checks a response's End against its request and the
// last pair sent (nil: none): the cursor never moves back, and covers every
// pair sent.
func checkShardSyncEnd(req *ShardSyncRequest, last *encoding.BlobID, e *ShardSyncEnd) error {
	floor := req.After
	if last != nil {
		floor = last
	}
	switch {
	case floor == nil:
		return nil // any cursor: the response covered blobs it skipped, or none
	case e.Next == nil:
		return fmt.Errorf("shard-sync response ends without a cursor after blob %s", floor)
	case bytes.Compare(e.Next[:], floor[:]) < 0:
		return fmt.Errorf("shard-sync cursor %s moves back from %s", e.Next, floor)
	}
	return nil
}

// shardSyncWriter is the send function a Server hands a ShardSyncHandler:
// it checks each pair and writes its frame.
type shardSyncWriter struct {
	st    *serverStream
	req   *ShardSyncRequest
	last  *encoding.BlobID // the last pair sent or skipped
	count int
	bytes int
	full  bool
	bad   error // the handler broke the contract
	err   error // the stream failed
}

func (w *shardSyncWriter) send(p *ShardSyncPair) (bool, error) {
	switch {
	case w.err != nil:
		return false, w.err
	case w.bad != nil:
		return false, w.bad
	case w.full:
		w.bad = fmt.Errorf("shard-sync handler sent a pair after the response was full")
		return false, w.bad
	case p == nil:
		w.bad = fmt.Errorf("shard-sync handler sent no pair")
		return false, w.bad
	}
	prev := w.req.After
	if w.last != nil {
		prev = w.last
	}
	if err := checkShardSyncPair(w.req, prev, p); err != nil {
		w.bad = fmt.Errorf("shard-sync handler: %v", err)
		return false, w.bad
	}
	id := p.BlobID
	w.last = &id
	var md []byte
	if p.Metadata != nil {
		md = p.Metadata.MarshalBCS()
	}
	if size := shardSyncPairSize(p, md); size > MaxShardSyncFrameSize {
		w.st.log.Warn("shard-sync pair over the frame cap skipped; the requester recovers it",
			"blob_id", p.BlobID, "shard", w.req.Shard, "bytes", size)
		return true, nil
	}
	size, err := writeShardSyncPair(w.st.w, p, md)
	if err != nil {
		w.err = err
		return false, err
	}
	w.count++
	w.bytes += size
	if w.count >= int(w.req.Limit) || w.bytes >= MaxShardSyncResponseBytes {
		w.full = true
	}
	return !w.full, nil
}

func (s *Server) serveShardSync(ctx context.Context, st *serverStream) error {
	h, ok := s.handler.(ShardSyncHandler)
	if !ok {
		return st.respondErr(fmt.Errorf("%w: the node does not serve shard sync", ErrNotFound))
	}
	var req ShardSyncRequest
	if answered, err := st.readRequest(MaxRequestFrameSize, func(b []byte) error { return decodeBCS(b, &req) }); answered || err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return st.respondErr(err)
	}
	st.frames.release()
	w := &shardSyncWriter{st: st, req: &req}
	end, err := call(st.log, func() (ShardSyncEnd, error) { return h.SyncShard(ctx, req, w.send) })
	switch {
	case w.err != nil:
		return w.err
	case ctx.Err() != nil:
		return ctx.Err()
	case w.bad != nil:
		err = fmt.Errorf("%w: %v", ErrInternal, w.bad)
		st.log.Error("shard-sync handler broke its contract", "error", w.bad)
	case err == nil:
		if w.full {
			end.More = true
		}
		if cerr := checkShardSyncEnd(&req, w.last, &end); cerr != nil {
			err = fmt.Errorf("%w: %v", ErrInternal, cerr)
			st.log.Error("shard-sync handler broke its contract", "error", cerr)
		}
	}
	if err != nil {
		return st.respondErr(handlerErr(st.log, err))
	}
	return st.respond(encodeShardSyncEndFrame(end))
}

// SyncShard asks p for sliver pairs of a shard (shard-sync/get) and calls fn
// with each as it arrives, in the order sent, then returns the response's
// End. It checks each pair against the request (ErrProtocol otherwise): in
// increasing blob-ID order after req.After, of req.Shard, with metadata that
// hashes to its blob ID if and only if req.WithMetadata, at most req.Limit
// of them. Verifying the slivers against the metadata is the caller's.
//
// fn owns the pair (its slivers are the frame's memory, allocated for it).
// If fn returns an error, SyncShard stops and returns that error as is. If
// the exchange fails part-way, the pairs fn took stay taken: resume with
// After set to the last of them.
func (c *Client) SyncShard(ctx context.Context, p peer.ID, req ShardSyncRequest, fn func(*ShardSyncPair) error) (ShardSyncEnd, error) {
	if err := req.validate(); err != nil {
		return ShardSyncEnd{}, &RequestError{Peer: p, Protocol: ProtocolShardSyncGet, Err: err}
	}
	var end ShardSyncEnd
	var fnErr error
	err := c.exchange(ctx, p, ProtocolShardSyncGet, writeRequest(encodeBCS(&req)), func(f *frameReader) error {
		var last *encoding.BlobID
		count := 0
		for {
			b, err := f.next(MaxShardSyncFrameSize, false)
			if err != nil {
				return err
			}
			pair, e, rerr, err := decodeShardSyncFrame(b)
			switch {
			case err != nil:
				return err
			case rerr != nil:
				return rerr
			case e != nil:
				if err := checkShardSyncEnd(&req, last, e); err != nil {
					return fmt.Errorf("%w: %v", ErrProtocol, err)
				}
				end = *e
				return nil
			}
			prev := req.After
			if last != nil {
				prev = last
			}
			if count++; count > int(req.Limit) {
				return fmt.Errorf("%w: more than the %d shard-sync pairs asked for", ErrProtocol, req.Limit)
			}
			if err := checkShardSyncPair(&req, prev, pair); err != nil {
				return fmt.Errorf("%w: %v", ErrProtocol, err)
			}
			if pair.Metadata != nil {
				if got := pair.Metadata.BlobID(); got != pair.BlobID {
					return fmt.Errorf("%w: metadata of the pair of blob %s hashes to %s", ErrProtocol, pair.BlobID, got)
				}
			}
			id := pair.BlobID
			last = &id
			if err := fn(pair); err != nil {
				fnErr = err
				return err
			}
		}
	})
	if fnErr != nil {
		return ShardSyncEnd{}, fnErr
	}
	return end, err
}
