package encoding

// Element packing.
//
// A symbol of S bytes (S even) holds E = S/2 elements of GF(2^16). Walrus's
// Reed-Solomon library reads a shard in 64-byte chunks: bytes 0..31 are the low
// bytes of 32 elements and bytes 32..63 their high bytes. A final chunk of t <
// 64 bytes holds t/2 elements: its first t/2 bytes are the low bytes and the
// rest the high bytes. That fixes which two bytes of a symbol form each
// element.
//
// Both codes act on each element position independently, so any arrangement
// of elements into klauspost's 64-byte chunk layout gives the same results, as
// long as all shards of one call use the same one. A shard holding a run of
// `count` symbols is laid out as
//
//	[count × the symbols' full 64-byte chunks, copied as they are]
//	[the symbols' tail elements, packed densely: 32 to a chunk]
//
// so full chunks move with one copy per symbol, and small symbols (a 2-byte
// symbol is one element) share chunks instead of each filling one of their own.
// A run of one symbol (large symbols, and every sliver VerifySliver expands)
// is not copied at all: encodeSplit codes its full chunks where they lie and
// packs only its tail.

// layout is the packing of a run of count symbols of size s.
type layout struct {
	s, count int
	full     int // bytes of full chunks per symbol
	tail     int // tail elements per symbol
}

func newLayout(s, count int) layout {
	full := s / 64 * 64
	return layout{s: s, count: count, full: full, tail: (s - full) / 2}
}

// size is the packed shard length.
func (l layout) size() int { return l.count*l.full + packedLen(l.count*l.tail) }

// packedLen is the length of the packed form of count elements.
func packedLen(count int) int { return (count + 31) / 32 * 64 }

// put writes symbol sym as symbol k of the run into shard dst.
func (l layout) put(dst []byte, k int, sym []byte) {
	copy(dst[k*l.full:(k+1)*l.full], sym[:l.full])
	if l.tail > 0 {
		t := sym[l.full:]
		putRun(dst[l.count*l.full:], k*l.tail, t[:l.tail], t[l.tail:])
	}
}

// get reads symbol k of the run from shard src into sym.
func (l layout) get(src []byte, k int, sym []byte) {
	copy(sym[:l.full], src[k*l.full:(k+1)*l.full])
	if l.tail > 0 {
		t := sym[l.full:]
		getRun(src[l.count*l.full:], k*l.tail, t[:l.tail], t[l.tail:])
	}
}

// putAll packs the concatenated symbols raw (count of them) into dst.
func (l layout) putAll(dst, raw []byte) {
	if l.tail == 0 {
		copy(dst, raw)
		return
	}
	for k := range l.count {
		l.put(dst, k, raw[k*l.s:(k+1)*l.s])
	}
}

// getAll unpacks all symbols of dst into raw, concatenated.
func (l layout) getAll(src, raw []byte) {
	if l.tail == 0 {
		copy(raw, src)
		return
	}
	for k := range l.count {
		l.get(src, k, raw[k*l.s:(k+1)*l.s])
	}
}

// putRun writes elements, low bytes from lo and high bytes from hi, into the
// densely packed buffer dst starting at element k.
func putRun(dst []byte, k int, lo, hi []byte) {
	for len(lo) > 0 {
		c, slot := k/32, k%32
		n := copy(dst[64*c+slot:64*c+32], lo)
		copy(dst[64*c+32+slot:64*c+64], hi[:n])
		lo, hi, k = lo[n:], hi[n:], k+n
	}
}

// getRun reads len(lo) elements starting at element k of packed src.
func getRun(src []byte, k int, lo, hi []byte) {
	for len(lo) > 0 {
		c, slot := k/32, k%32
		n := copy(lo, src[64*c+slot:64*c+32])
		copy(hi[:n], src[64*c+32+slot:64*c+64])
		lo, hi, k = lo[n:], hi[n:], k+n
	}
}
