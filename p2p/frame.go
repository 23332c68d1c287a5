package p2p

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/walrus-go/walrus/encoding/bcs"
)

// A frame is ULEB128(len(payload)) ‖ payload. The length prefix must be
// canonical (minimal) and at most maxVarintLen bytes, as BCS's lengths are;
// it is checked against the cap of the frame's place before anything is
// allocated.

// maxVarintLen is the longest length prefix: 5 bytes, which hold 2^32−1,
// far above every cap.
const maxVarintLen = bcs.MaxULEB128Len

// memoryScope is the part of a libp2p resource scope the frame reader uses to
// account for a frame's buffer before allocating it.
type memoryScope interface {
	ReserveMemory(size int, prio uint8) error
	ReleaseMemory(size int)
}

// readFrameLen reads a frame's length prefix and checks it against max.
// A stream that ends before the first byte returns io.EOF; one that ends
// inside the prefix returns ErrTruncated.
func readFrameLen(r io.ByteReader, max int) (int, error) {
	v, err := bcs.ReadULEB128(r)
	switch {
	case err == nil:
	case err == io.EOF:
		return 0, io.EOF
	case errors.Is(err, bcs.ErrTruncated):
		return 0, fmt.Errorf("%w: stream ended inside a length prefix", ErrTruncated)
	case errors.Is(err, bcs.ErrNonCanonical):
		return 0, fmt.Errorf("%w: non-minimal length prefix", ErrMalformed)
	case errors.Is(err, bcs.ErrTooLarge):
		return 0, fmt.Errorf("%w: length prefix over 2^32-1", ErrFrameTooLarge)
	default:
		return 0, err
	}
	if uint64(v) > uint64(max) {
		return 0, fmt.Errorf("%w: %d bytes, cap %d", ErrFrameTooLarge, v, max)
	}
	return int(v), nil
}

// frameReader reads frames from a stream. It is not safe for concurrent use.
type frameReader struct {
	r     *bufio.Reader
	scope memoryScope // nil: no accounting
	held  int         // bytes reserved in scope for the current buffer
	buf   []byte      // reused by next when reuse is set
}

func newFrameReader(r io.Reader, scope memoryScope) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 16<<10), scope: scope}
}

// next reads one frame of at most max bytes. What is missing — a frame that
// the protocol requires, or the rest of one — is ErrTruncated.
//
// With reuse, the payload lives in a buffer that the next call overwrites,
// and its reservation is held until then (or release); without it, the
// payload is the caller's and its memory is released from the scope as
// soon as it is read: the reservation bounds what is in flight on the
// stream, and the caller accounts for what it keeps.
func (f *frameReader) next(max int, reuse bool) ([]byte, error) {
	b, _, err := f.read(max, reuse, false)
	return b, err
}

// nextPooled is next without reuse, the payload in a buffer from the frame
// pool: buf is that whole buffer, for lendFrame (or putFrameBuffer).
func (f *frameReader) nextPooled(max int) (b, buf []byte, err error) { return f.read(max, false, true) }

func (f *frameReader) read(max int, reuse, pooled bool) (b, buf []byte, err error) {
	n, err := readFrameLen(f.r, max)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("%w: stream ended before a frame", ErrTruncated)
		}
		return nil, nil, err
	}
	if reuse && cap(f.buf) >= n {
		b = f.buf[:n]
	} else {
		f.release()
		if err := f.reserve(n); err != nil {
			return nil, nil, err
		}
		if pooled {
			buf = frameBuffer(n)
			b = buf[:n]
		} else {
			b = make([]byte, n)
		}
		if reuse {
			f.buf = b
		}
	}
	if !reuse {
		defer f.release()
	}
	if _, err := io.ReadFull(f.r, b); err != nil {
		putFrameBuffer(buf)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, fmt.Errorf("%w: stream ended inside a frame of %d bytes", ErrTruncated, n)
		}
		return nil, nil, err
	}
	return b, buf, nil
}

// nextOwned reads one frame of at most max bytes into a buffer of its own,
// which the caller may keep (nothing reuses it). The frame's reservation in
// the scope is held until the next call or release: the caller reserves
// what it keeps in its own account first, so the bytes are accounted for
// from before their allocation until they are dropped.
func (f *frameReader) nextOwned(max int) ([]byte, error) { return f.nextOwnedAligned(max, nil) }

// ownedAlign is the alignment nextOwnedAligned gives a frame's part: a page,
// enough for direct I/O from the buffer on every device.
const ownedAlign = 4096

// nextOwnedAligned is nextOwned, with the buffer placed so that byte
// at(n) of an n-byte frame (if at is not nil and returns an offset in the
// frame) lies at a multiple of ownedAlign in memory: the store writes a
// sliver's data from there to disk with direct I/O, without a copy. The
// buffer is lent from the frame pool for that part (see RecycleSliver).
func (f *frameReader) nextOwnedAligned(max int, at func(n int) int) ([]byte, error) {
	f.release()
	n, err := readFrameLen(f.r, max)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: stream ended before a frame", ErrTruncated)
		}
		return nil, err
	}
	var b []byte
	if off := -1; at != nil && n >= ownedAlign {
		if off = at(n); off >= 0 && off < n {
			if err := f.reserve(frameBufferSize(n + ownedAlign)); err != nil {
				return nil, err
			}
			buf := frameBuffer(n + ownedAlign)
			shift := (ownedAlign - int((addr(buf)+uintptr(off))%ownedAlign)) % ownedAlign
			b = buf[shift : shift+n : shift+n]
			// The caller may hand the part back (RecycleSliver); a frame
			// that does not decode leaves an entry until buf is collected.
			lendFrame(buf, b[off:])
		}
	}
	if b == nil {
		if err := f.reserve(n); err != nil {
			return nil, err
		}
		b = make([]byte, n)
	}
	if _, err := io.ReadFull(f.r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: stream ended inside a frame of %d bytes", ErrTruncated, n)
		}
		return nil, err
	}
	return b, nil
}

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

func (f *frameReader) reserve(n int) error {
	if f.scope == nil || n == 0 {
		return nil
	}
	if err := f.scope.ReserveMemory(n, network.ReservationPriorityAlways); err != nil {
		return fmt.Errorf("%w: reserving %d bytes for a frame: %v", ErrBusy, n, err)
	}
	f.held = n
	return nil
}

// release returns the reservation of the current buffer (the reused one, or
// nextOwned's), and drops the reused one.
func (f *frameReader) release() {
	if f.scope != nil && f.held > 0 {
		f.scope.ReleaseMemory(f.held)
	}
	f.held = 0
	f.buf = nil
}

// appendFrameLen appends the length prefix of an n-byte payload.
func appendFrameLen(b []byte, n int) []byte {
	return bcs.AppendLength(b, n)
}

// writeFrame writes one frame.
func writeFrame(w io.Writer, payload []byte) error {
	var head [maxVarintLen]byte
	if _, err := w.Write(appendFrameLen(head[:0], len(payload))); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}
