package store

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/walrus-go/walrus/encoding"
)

// Sliver log.
//
// This layout is part of the on-disk format. A sliver of at least
// Options.MinLoggedSliver data bytes is written once, to a segment file of the
// store's sliver log, and Pebble holds a reference to it under the sliver's
// key; smaller slivers stay in Pebble whole. Pebble would write a large sliver
// twice (its WAL, then the blob file its memtable flushes to) and copy it into
// its memtable besides; the log writes it once, with one fdatasync, before the
// batch of references commits (synced too). A crash between the two leaves
// unreferenced bytes in a segment, which garbage collection reclaims; a
// reference never names bytes that did not reach the disk.
//
//	directory:  <store dir>/slivers/
//	segment:    <id, 8 decimal digits>.slv, id ≥ 1
//	contents:   segmentHeader (16 bytes) ‖ sliver data ‖ sliver data ‖ …
//	            (a sliver written with direct I/O, of directMinSliver bytes
//	            or more, starts at a multiple of directAlign and is followed
//	            by zeros to the next; references name offsets, so readers
//	            need not know)
//	HIGHEST:    "walrus slivers highest=<id in decimal>\n", the highest id
//	            ever created (written, synced and renamed into place before
//	            the segment is created), so that no id is used twice
//
// A sliver's data is its symbols, nothing else; the reference (the payload
// under the sliver's key, in the value envelope of value.go) says where:
//
//	0x00 ‖ segment u32 ‖ offset u64 ‖ length u32 ‖ CRC-32C(data) u32 ‖
//	symbol size u16 ‖ sliver index u16          (all little-endian, 25 bytes)
//	[‖ leaf hash ‖ leaf hash ‖ …]               (32 bytes each, optional)
//
// A reference may go on with the leaf hashes of the sliver's expansion
// (ShardPair.Leaves, as encoding.Codec.VerifySliverLeaves returns them): with
// them, a holder serves some of a large sliver's symbols with their proofs
// from a read of those symbols alone (SliverSymbols), where it would read,
// expand and hash the whole sliver. They sit in the reference, not the
// segment, so that every path that deletes or moves a reference takes them
// along, and the value envelope's checksum covers them. A reference without
// them (25 bytes, as every store wrote before them) reads as before.
//
// An inline sliver's payload is its BCS form, which starts with the ULEB128
// length of its data: never 0x00, since a stored sliver has data. So the first
// byte tells the two apart, and stores written before the log read unchanged.
//
// Segments are written by appending: new writes go to the active segment,
// which is sealed when it reaches Options.SliverSegmentSize (or by Compact, or
// a failed sync) and replaced by a new one. Open makes the last segment active
// again, if its header reads and it has room: writes go on after whatever a
// crash left at its end, bytes no reference names. Deletions only drop
// references; CollectSlivers (run in the background after deletions and every
// sliverGCInterval, and by Compact) counts the live bytes of every sealed
// segment from the references, removes the segments that hold none, and moves
// the live slivers of those that are mostly garbage to the active segment
// before removing them.
const (
	sliverLogDir  = "slivers"
	segmentSuffix = ".slv"
	segmentHeader = "walrus slivers1\n"
	// highestFile records the highest segment ID created
	// ("walrus slivers highest=<id>\n"), so that IDs are never reused.
	highestFile        = "HIGHEST"
	highestPrefix      = "walrus slivers highest="
	maxHighestFileSize = 64

	// refPayloadLen is the length of a sliver reference's payload.
	refPayloadLen = 1 + 4 + 8 + 4 + 4 + 2 + 2
	// refMarker is the first byte of a reference's payload.
	refMarker = 0x00
	// leafLen is the length of one leaf hash a reference may carry, and
	// maxRefLeaves the most it may carry: one per shard.
	leafLen      = 32
	maxRefLeaves = encoding.MaxShards

	// maxSegments bounds the segments of a store: one per SliverSegmentSize
	// of sliver data (16 TiB at the default size), each in memory.
	maxSegments = 1 << 16
	// maxOpenSegments bounds the segment files the store keeps open: past
	// it, the least recently read sealed ones are closed, and opened again
	// when a read needs them (Pebble's MaxOpenFiles is another 1000).
	maxOpenSegments = 256

	// Slivers of at least directMinSliver bytes are written with direct
	// I/O (O_DIRECT) where the file system allows it: at directAlign-aligned
	// offsets, padded with zeros to a multiple of directAlign, through an
	// aligned buffer of directChunk bytes. A buffered write copies every
	// byte into the page cache and writes it back later; on the machine this
	// was measured on (a VM's ext4) that was 0.67 s of kernel CPU per 256
	// MiB, against 0.03 s direct (dd bs=2M, buffered vs oflag=direct), and
	// the bytes of a write-once blob need not take page cache from reads.
	// Smaller slivers stay buffered and packed, where padding would cost up
	// to an eighth of their space.
	directAlign     = 4096
	directMinSliver = 256 << 10
	directChunk     = 1 << 20
)

// sliverRef is a decoded reference to a logged sliver.
type sliverRef struct {
	seg        uint32
	off        uint64
	n          uint32
	crc        uint32
	symbolSize uint16
	index      uint16
	// leaves are the leaf hashes the reference carries (leafLen bytes
	// each), or nil; parseRef's alias its payload.
	leaves []byte
}

// payloadLen is the length of the reference's payload.
func (r *sliverRef) payloadLen() int { return refPayloadLen + len(r.leaves) }

func (r *sliverRef) appendPayload(b []byte) []byte {
	b = append(b, refMarker)
	b = binary.LittleEndian.AppendUint32(b, r.seg)
	b = binary.LittleEndian.AppendUint64(b, r.off)
	b = binary.LittleEndian.AppendUint32(b, r.n)
	b = binary.LittleEndian.AppendUint32(b, r.crc)
	b = binary.LittleEndian.AppendUint16(b, r.symbolSize)
	b = binary.LittleEndian.AppendUint16(b, r.index)
	return append(b, r.leaves...)
}

// isRef reports whether a sliver payload is a reference.
func isRef(payload []byte) bool { return len(payload) > 0 && payload[0] == refMarker }

// parseRef decodes a reference payload; the leaves of the result alias p.
func parseRef(p []byte) (sliverRef, error) {
	extra := len(p) - refPayloadLen
	if extra < 0 || extra%leafLen != 0 || extra/leafLen > maxRefLeaves || p[0] != refMarker {
		return sliverRef{}, fmt.Errorf("sliver reference of %d bytes, want %d and up to %d leaf hashes of %d", len(p), refPayloadLen, maxRefLeaves, leafLen)
	}
	r := sliverRef{
		seg:        binary.LittleEndian.Uint32(p[1:]),
		off:        binary.LittleEndian.Uint64(p[5:]),
		n:          binary.LittleEndian.Uint32(p[13:]),
		crc:        binary.LittleEndian.Uint32(p[17:]),
		symbolSize: binary.LittleEndian.Uint16(p[21:]),
		index:      binary.LittleEndian.Uint16(p[23:]),
	}
	if extra > 0 {
		r.leaves = p[refPayloadLen:]
	}
	if r.seg == 0 || r.off < uint64(len(segmentHeader)) || r.n == 0 || r.symbolSize == 0 || r.symbolSize%2 != 0 || r.n%uint32(r.symbolSize) != 0 {
		return sliverRef{}, fmt.Errorf("bad sliver reference (segment %d, offset %d, %d bytes, symbol size %d)", r.seg, r.off, r.n, r.symbolSize)
	}
	return r, nil
}

// SliverSum is the checksum the store keeps of a logged sliver's data:
// CRC-32C (Castagnoli).
func SliverSum(data []byte) uint32 { return crc32.Checksum(data, castagnoli) }

// errSegmentGone is why a reference cannot be read: its segment is not (or no
// longer) in the log.
var errSegmentGone = errors.New("sliver log segment not found")

// segment is one file of the sliver log.
type segment struct {
	id uint32
	// f is the open file, or nil for a sealed segment no one uses, closed
	// to keep the open files under maxOpenSegments (sliverLog.mu guards
	// the change; a user holding a reference sees a stable f).
	f vfs.File
	// lastUse orders the segments for closing (sliverLog.mu).
	lastUse uint64
	// refs counts the segment's users: the log's map holds one, each read
	// in progress another. The file closes when the count drops to 0.
	refs atomic.Int32
	// size is the end of the bytes reserved in the file (guarded by
	// sliverLog.mu); inflight counts the writes reserved and not yet
	// finished (committed or failed), which garbage collection waits for.
	size     int64
	inflight int
	// syncMu serializes the segment's syncs; syncFailed, set under it,
	// says one failed.
	syncMu     sync.Mutex
	syncFailed bool
	// direct is a second handle on the file with O_DIRECT set, for writes
	// of large slivers while the segment is active (sliverLog.mu guards
	// it; a writer holding a reservation sees a stable one); directTried
	// says it was opened or could not be.
	direct      vfs.File
	directTried bool
}

// errSyncFailed is why a batch cannot trust its writes to a segment: a sync
// of the segment failed since.
var errSyncFailed = errors.New("an earlier sync of the segment failed")

// syncData syncs the segment's data. After a failed sync the kernel may have
// dropped the file's dirty pages, those of other batches too, and reports
// the error once per open file: to one caller. So a failure is remembered,
// and every later sync of the segment fails as well (the batches that wrote
// to it before the failure and had not synced may have lost their bytes),
// with syncs serialized so that none slips between the failure and its
// record.
func (sg *segment) syncData() error {
	sg.syncMu.Lock()
	defer sg.syncMu.Unlock()
	if sg.syncFailed {
		return errSyncFailed
	}
	if err := sg.f.SyncData(); err != nil {
		sg.syncFailed = true
		return err
	}
	return nil
}

func (sg *segment) release() {
	if sg.refs.Add(-1) == 0 {
		if sg.f != nil {
			_ = sg.f.Close()
		}
		if sg.direct != nil {
			_ = sg.direct.Close()
		}
	}
}

// sliverLog is the store's set of segments.
type sliverLog struct {
	fs      vfs.FS
	dir     string
	sync    bool
	segSize int64

	mu     sync.Mutex
	segs   map[uint32]*segment
	active *segment // nil until the first write after Open
	nextID uint32
	// open counts the segments whose file is open; clock orders their uses.
	open  int
	clock uint64
	// noDirect is set once the file system refused direct I/O.
	noDirect bool
}

// directBufs pools the aligned buffers of writeDirect.
var directBufs = sync.Pool{New: func() any {
	b := make([]byte, directChunk+directAlign)
	a := int(alignUp(int64(addr(b)))) - int(addr(b))
	b = b[a : a+directChunk : a+directChunk]
	return &b
}}

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// writeDirect writes data at off (aligned) through f, a direct handle. Data
// that starts at an aligned address (a sliver the p2p server read into an
// aligned buffer) goes from where it is, but for its last partial block;
// the rest through an aligned buffer, in chunks, the last padded with zeros.
func writeDirect(f vfs.File, data []byte, off int64) error {
	if head := len(data) &^ (directAlign - 1); head > 0 && addr(data)%directAlign == 0 {
		if _, err := f.WriteAt(data[:head], off); err != nil {
			return err
		}
		data, off = data[head:], off+int64(head)
		if len(data) == 0 {
			return nil
		}
	}
	bp := directBufs.Get().(*[]byte)
	defer directBufs.Put(bp)
	buf := *bp
	for len(data) > 0 {
		n := copy(buf, data)
		data = data[n:]
		w := int(alignUp(int64(n)))
		clear(buf[n:w])
		if _, err := f.WriteAt(buf[:w], off); err != nil {
			return err
		}
		off += int64(w)
	}
	return nil
}

func segmentName(id uint32) string { return fmt.Sprintf("%08d%s", id, segmentSuffix) }

// openSliverLog opens (creating) the sliver log in dir: every segment there,
// for reads. Writes go to a new segment.
func openSliverLog(fs vfs.FS, storeDir string, segSize int64, sync bool) (*sliverLog, error) {
	l := &sliverLog{fs: fs, dir: fs.PathJoin(storeDir, sliverLogDir), sync: sync, segSize: segSize, segs: map[uint32]*segment{}, nextID: 1}
	if err := fs.MkdirAll(l.dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: sliver log: %v", ErrIO, err)
	}
	if sync {
		// The directory's own entry, new or not, is durable before a
		// reference names a segment in it.
		if err := syncDir(fs, storeDir); err != nil {
			return nil, fmt.Errorf("%w: sliver log: sync %s: %v", ErrIO, storeDir, err)
		}
	}
	names, err := fs.List(l.dir)
	if err != nil {
		return nil, fmt.Errorf("%w: sliver log: %v", ErrIO, err)
	}
	slices.Sort(names)
	if hw := readHighest(fs, l.dir); hw >= l.nextID && hw < math.MaxUint32 {
		l.nextID = hw + 1
	}
	for _, name := range names {
		num, ok := strings.CutSuffix(name, segmentSuffix)
		if !ok {
			continue // a temporary or foreign file
		}
		id, err := strconv.ParseUint(num, 10, 32)
		if err != nil || id == 0 || segmentName(uint32(id)) != name {
			continue
		}
		// Past every segment file, readable or not: a new segment must not
		// reopen one whose header is damaged and overwrite the slivers that
		// references still name.
		l.nextID = max(l.nextID, uint32(id)+1)
		if len(l.segs) >= maxSegments {
			l.close()
			return nil, fmt.Errorf("%w: sliver log holds more than %d segments", ErrIO, maxSegments)
		}
		path := fs.PathJoin(l.dir, name)
		f, err := fs.Open(path)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("%w: sliver log: %v", ErrIO, err)
		}
		var hdr [len(segmentHeader)]byte
		if _, err := f.ReadAt(hdr[:], 0); err != nil || string(hdr[:]) != segmentHeader {
			// A segment without its header is one whose creation a crash
			// cut short (the header is synced before any reference to it):
			// nothing refers to it.
			_ = f.Close()
			continue
		}
		fi, err := f.Stat()
		if err != nil {
			_ = f.Close()
			l.close()
			return nil, fmt.Errorf("%w: sliver log: %v", ErrIO, err)
		}
		// Closed until a read needs it.
		_ = f.Close()
		sg := &segment{id: uint32(id), size: fi.Size()}
		sg.refs.Store(1)
		l.segs[sg.id] = sg
	}
	// Writes go on in the last segment, after whatever a crash left at its
	// end (bytes no reference names, as references commit only after their
	// data is synced): a new segment per Open would leave many small ones,
	// each an open file for good, since collection only merges sparse ones.
	if last := l.segs[l.nextID-1]; last != nil && last.size < l.segSize {
		path := fs.PathJoin(l.dir, segmentName(last.id))
		f, err := fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("%w: sliver log: %v", ErrIO, err)
		}
		last.f = f
		l.open++
		l.active = last
	}
	return l, nil
}

// close releases every segment (reads in progress keep theirs open).
func (l *sliverLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, sg := range l.segs {
		delete(l.segs, id)
		sg.release()
	}
	l.active = nil
	l.open = 0
}

// acquire returns segment id for reading, its file open, and the end of the
// bytes reserved in it; the caller releases it. A segment whose file is
// gone is errSegmentGone too.
func (l *sliverLog) acquire(id uint32) (*segment, int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sg := l.segs[id]
	if sg == nil {
		return nil, 0, fmt.Errorf("%w: segment %d", errSegmentGone, id)
	}
	if sg.f == nil {
		f, err := l.fs.Open(l.fs.PathJoin(l.dir, segmentName(id)))
		if errors.Is(err, os.ErrNotExist) {
			return nil, 0, fmt.Errorf("%w: segment %d: %v", errSegmentGone, id, err)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%w: sliver log: open segment %d: %v", ErrIO, id, err)
		}
		sg.f = f
		l.open++
	}
	l.clock++
	sg.lastUse = l.clock
	sg.refs.Add(1)
	if l.open > maxOpenSegments {
		l.closeIdle()
	}
	return sg, sg.size, nil
}

// closeIdle closes the files of the least recently used segments that no one
// uses (sealed, no reads, no writes in flight), down to 3/4 of
// maxOpenSegments; l.mu held.
func (l *sliverLog) closeIdle() {
	var idle []*segment
	for _, sg := range l.segs {
		if sg.f != nil && sg != l.active && sg.inflight == 0 && sg.refs.Load() == 1 {
			idle = append(idle, sg)
		}
	}
	slices.SortFunc(idle, func(a, b *segment) int { return cmp.Compare(a.lastUse, b.lastUse) })
	for _, sg := range idle {
		if l.open <= maxOpenSegments*3/4 {
			return
		}
		_ = sg.f.Close()
		sg.f = nil
		l.open--
	}
}

// acquireRef acquires the segment ref names (release it), checking that
// ref's data lies within it.
func (l *sliverLog) acquireRef(ref sliverRef) (*segment, error) {
	sg, size, err := l.acquire(ref.seg)
	if err != nil {
		return nil, err
	}
	// A reference past the segment's end (a bug's, or a truncated file's)
	// is corrupt: not an offset for ReadAt to refuse as an I/O error, nor a
	// length to allocate.
	if ref.off > uint64(size) || uint64(ref.n) > uint64(size)-ref.off {
		sg.release()
		return nil, fmt.Errorf("segment %d of %d bytes ends before offset %d + %d", ref.seg, size, ref.off, ref.n)
	}
	return sg, nil
}

// readAt reads buf at off in sg, the segment of ref.
func readAt(sg *segment, ref sliverRef, buf []byte, off int64) error {
	if _, err := sg.f.ReadAt(buf, off); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: segment %d ends before offset %d + %d", errChecksum, ref.seg, ref.off, ref.n)
		}
		return fmt.Errorf("%w: read segment %d: %v", ErrIO, ref.seg, err)
	}
	return nil
}

// read reads the data ref names, checked against its CRC, into a new slice.
func (l *sliverLog) read(ref sliverRef) ([]byte, error) {
	sg, err := l.acquireRef(ref)
	if err != nil {
		return nil, err
	}
	defer sg.release()
	buf := make([]byte, ref.n)
	if err := readAt(sg, ref, buf, int64(ref.off)); err != nil {
		return nil, err
	}
	if got := SliverSum(buf); got != ref.crc {
		return nil, fmt.Errorf("%w: segment %d offset %d: stored %08x, computed %08x", errChecksum, ref.seg, ref.off, ref.crc, got)
	}
	return buf, nil
}

// readSymbols reads the symbols at positions of the data ref names, one
// buffer per position (in one allocation): a read of those bytes alone, so
// the CRC of the whole data is not checked; the caller checks each symbol
// against the leaf hashes ref carries.
func (l *sliverLog) readSymbols(ref sliverRef, positions []int) ([][]byte, error) {
	sg, err := l.acquireRef(ref)
	if err != nil {
		return nil, err
	}
	defer sg.release()
	s := int(ref.symbolSize)
	count := int(ref.n) / s
	buf := make([]byte, len(positions)*s)
	out := make([][]byte, len(positions))
	for i := 0; i < len(positions); {
		// Adjacent positions are one read.
		j := i + 1
		for j < len(positions) && positions[j] == positions[j-1]+1 {
			j++
		}
		x := positions[i]
		if x < 0 || positions[j-1] >= count {
			return nil, fmt.Errorf("%w: symbols %d to %d of a sliver of %d", ErrInvalid, x, positions[j-1], count)
		}
		if err := readAt(sg, ref, buf[i*s:j*s], int64(ref.off)+int64(x*s)); err != nil {
			return nil, err
		}
		for k := i; k < j; k++ {
			out[k] = buf[k*s : (k+1)*s : (k+1)*s]
		}
		i = j
	}
	return out, nil
}

// createSegment creates, with its header synced, a new segment; l.mu held.
func (l *sliverLog) createSegment() (*segment, error) {
	if len(l.segs) >= maxSegments {
		return nil, fmt.Errorf("%w: sliver log holds %d segments, the most it may", ErrIO, maxSegments)
	}
	id := l.nextID
	if err := l.writeHighest(id); err != nil {
		return nil, fmt.Errorf("%w: sliver log: create segment %d: %v", ErrIO, id, err)
	}
	path := l.fs.PathJoin(l.dir, segmentName(id))
	f, err := l.fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return nil, fmt.Errorf("%w: sliver log: %v", ErrIO, err)
	}
	_, err = f.WriteAt([]byte(segmentHeader), 0)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = l.syncDir()
	}
	if err != nil {
		_ = f.Close()
		_ = l.fs.Remove(path)
		return nil, fmt.Errorf("%w: sliver log: create segment %d: %v", ErrIO, id, err)
	}
	l.nextID++
	l.open++
	sg := &segment{id: id, f: f, size: int64(len(segmentHeader))}
	sg.refs.Store(1)
	l.segs[id] = sg
	return sg, nil
}

func (l *sliverLog) syncDir() error { return syncDir(l.fs, l.dir) }

// writeHighest records id as the highest segment ID ever created, in
// highestFile (synced; the directory sync that makes the segment's entry
// durable makes the rename durable too): Open never hands out an ID again,
// even when the file of the highest segment is gone and references to it
// remain, which would otherwise name bytes of a new segment.
func (l *sliverLog) writeHighest(id uint32) error {
	tmp := l.fs.PathJoin(l.dir, highestFile+".tmp")
	f, err := l.fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	_, werr := f.Write([]byte(highestPrefix + strconv.FormatUint(uint64(id), 10) + "\n"))
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return err
	}
	return l.fs.Rename(tmp, l.fs.PathJoin(l.dir, highestFile))
}

// readHighest returns the ID highestFile records, or 0 if there is none or
// it does not parse (the segment files' own IDs still bound nextID).
func readHighest(fs vfs.FS, dir string) uint32 {
	f, err := fs.Open(fs.PathJoin(dir, highestFile))
	if err != nil {
		return 0
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxHighestFileSize+1))
	if err != nil || len(b) > maxHighestFileSize {
		return 0
	}
	num, ok := strings.CutPrefix(string(b), highestPrefix)
	if !ok {
		return 0
	}
	num, ok = strings.CutSuffix(num, "\n")
	v, err := strconv.ParseUint(num, 10, 32)
	if !ok || err != nil {
		return 0
	}
	return uint32(v)
}

func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// reserve reserves n bytes in the active segment, sealing it first if they
// would take it past segSize (a segment holds at least one write). For a
// write to make with direct I/O it returns the direct handle, and the bytes
// reserved are aligned (see directMinSliver).
func (l *sliverLog) reserve(n int) (*segment, int64, vfs.File, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active == nil || (l.active.size+int64(n) > l.segSize && l.active.size > int64(len(segmentHeader))) {
		sg, err := l.createSegment()
		if err != nil {
			return nil, 0, nil, err
		}
		old := l.active
		l.active = sg
		l.dropDirect(old)
	}
	sg := l.active
	off := sg.size
	var direct vfs.File
	if n >= directMinSliver {
		if direct = l.directFile(sg); direct != nil {
			off = alignUp(off)
			n = int(alignUp(int64(n)))
		}
	}
	sg.size = off + int64(n)
	sg.inflight++
	sg.refs.Add(1)
	return sg, off, direct, nil
}

func alignUp(n int64) int64 { return (n + directAlign - 1) &^ (directAlign - 1) }

// directFile returns the active segment sg's direct handle, opening it on
// first use; nil where direct I/O is not to be had. l.mu held.
func (l *sliverLog) directFile(sg *segment) vfs.File {
	if sg.directTried {
		return sg.direct
	}
	sg.directTried = true
	if l.noDirect {
		return nil
	}
	f, err := l.fs.OpenReadWrite(l.fs.PathJoin(l.dir, segmentName(sg.id)), vfs.WriteCategoryUnspecified)
	if err != nil {
		return nil // the buffered handle is there to write with
	}
	if !setDirect(f) {
		_ = f.Close()
		l.noDirect = true
		return nil
	}
	sg.direct = f
	return f
}

// dropDirect closes sg's direct handle once it is neither active nor
// written to. l.mu held.
func (l *sliverLog) dropDirect(sg *segment) {
	if sg != nil && sg != l.active && sg.inflight == 0 && sg.direct != nil {
		_ = sg.direct.Close()
		sg.direct = nil
	}
}

// seal seals the active segment: the next write begins a new one.
func (l *sliverLog) seal() {
	l.mu.Lock()
	old := l.active
	l.active = nil
	l.dropDirect(old)
	l.mu.Unlock()
}

// finish ends a write reserve began.
func (l *sliverLog) finish(sg *segment) {
	l.mu.Lock()
	sg.inflight--
	l.dropDirect(sg)
	l.mu.Unlock()
	sg.release()
}

// logWriter writes the logged slivers of one batch: each to its reserved
// place, then sync syncs the segments they went to.
type logWriter struct {
	l    *sliverLog
	segs []*segment
}

// write writes data to the log and returns its reference, which carries
// leaves (nil: none); sum, if not nil, is SliverSum of its data, computed by
// the caller.
func (w *logWriter) write(sl *encoding.Sliver, sum *uint32, leaves []byte) (sliverRef, error) {
	sg, off, direct, err := w.l.reserve(len(sl.Data))
	if err != nil {
		return sliverRef{}, err
	}
	if !slices.Contains(w.segs, sg) {
		w.segs = append(w.segs, sg)
	} else {
		w.l.finish(sg) // one reservation per segment is enough to hold it
	}
	if direct != nil {
		err = writeDirect(direct, sl.Data, off)
		if errors.Is(err, syscall.EINVAL) {
			// The file system took O_DIRECT but not this write (its
			// alignment is coarser): buffered from now on.
			w.l.mu.Lock()
			w.l.noDirect = true
			w.l.mu.Unlock()
			_, err = sg.f.WriteAt(sl.Data, off)
		}
	} else {
		_, err = sg.f.WriteAt(sl.Data, off)
	}
	if err != nil {
		return sliverRef{}, fmt.Errorf("%w: sliver log: write segment %d: %v", ErrIO, sg.id, err)
	}
	var crc uint32
	if sum != nil {
		crc = *sum
	} else {
		crc = SliverSum(sl.Data)
	}
	return sliverRef{
		seg: sg.id, off: uint64(off), n: uint32(len(sl.Data)),
		crc: crc, symbolSize: sl.SymbolSize, index: sl.Index, leaves: leaves,
	}, nil
}

// sync makes the written slivers durable.
func (w *logWriter) sync() error {
	if !w.l.sync {
		return nil
	}
	for _, sg := range w.segs {
		if err := sg.syncData(); err != nil {
			w.l.retire(sg)
			return fmt.Errorf("%w: sliver log: sync segment %d: %v", ErrIO, sg.id, err)
		}
	}
	return nil
}

// retire seals sg if it is the active segment: after a failed sync it takes
// no new writes.
func (l *sliverLog) retire(sg *segment) {
	l.mu.Lock()
	if l.active == sg {
		l.active = nil
	}
	l.dropDirect(sg)
	l.mu.Unlock()
}

// done ends the batch's writes: after its commit, or its failure.
func (w *logWriter) done() {
	for _, sg := range w.segs {
		w.l.finish(sg)
	}
	w.segs = w.segs[:0]
}
