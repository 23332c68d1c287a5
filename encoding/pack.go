package encoding

// Element packing.
//
// A symbol of S bytes (S even) holds E = S/2 elements of GF(2^16). Walrus's
// Reed-Solomon library reads a shard in 64-byte chunks: bytes 0..31 are the low
// bytes of 32 elements and bytes 32..63 their high bytes. A final chunk of t <
// 64 bytes holds t/2 elements: its first t/2 bytes are the low bytes and the
// rest the high bytes. That fixes which two bytes of a symbol form each
// element, and in which order the elements come.
//
// Both codes act on each element position independently, so any arrangement of
// elements into klauspost's chunk layout gives the same results, as long as all
// shards of a call use the same one. We pack the elements of a run of symbols
// densely, element k of the run going to chunk k/32, slot k%32. Small symbols
// then share chunks instead of each filling a 64-byte chunk of its own, and
// when S is a multiple of 64 packing is a plain copy.

// packedLen is the length of the packed form of count elements.
func packedLen(count int) int { return (count + 31) / 32 * 64 }

// elementRuns calls fn for each run of elements of a symbol of size s that sit
// contiguously in the symbol: a run of m elements starting at element e of the
// symbol has its low bytes at lo..lo+m and its high bytes at hi..hi+m.
func elementRuns(s int, fn func(e, m, lo, hi int)) {
	full := s / 64
	for c := range full {
		fn(32*c, 32, 64*c, 64*c+32)
	}
	if t := s - 64*full; t > 0 {
		fn(32*full, t/2, 64*full, 64*full+t/2)
	}
}

// putRun writes m elements, low bytes from lo and high bytes from hi, into
// packed buffer dst starting at element k.
func putRun(dst []byte, k int, lo, hi []byte) {
	for len(lo) > 0 {
		c, slot := k/32, k%32
		n := copy(dst[64*c+slot:64*c+32], lo)
		copy(dst[64*c+32+slot:64*c+64], hi[:n])
		lo, hi, k = lo[n:], hi[n:], k+n
	}
}

// getRun reads m = len(lo) elements starting at element k of packed src.
func getRun(src []byte, k int, lo, hi []byte) {
	for len(lo) > 0 {
		c, slot := k/32, k%32
		n := copy(lo, src[64*c+slot:64*c+32])
		copy(hi[:n], src[64*c+32+slot:64*c+64])
		lo, hi, k = lo[n:], hi[n:], k+n
	}
}

// packSymbol writes symbol sym (its elements) into dst starting at element k.
func packSymbol(dst []byte, k int, sym []byte) {
	elementRuns(len(sym), func(e, m, lo, hi int) {
		putRun(dst, k+e, sym[lo:lo+m], sym[hi:hi+m])
	})
}

// unpackSymbol reads symbol sym from src starting at element k.
func unpackSymbol(src []byte, k int, sym []byte) {
	elementRuns(len(sym), func(e, m, lo, hi int) {
		getRun(src, k+e, sym[lo:lo+m], sym[hi:hi+m])
	})
}

// packSymbols packs the concatenated symbols of size s in raw into dst,
// starting at element k. Slots past the last element are left as they are:
// element positions are independent, so what they hold never reaches a used
// slot. When s is a multiple of 64 and k is chunk-aligned this is a copy.
func packSymbols(dst []byte, k int, raw []byte, s int) {
	if s%64 == 0 && k%32 == 0 {
		copy(dst[k*2:], raw)
		return
	}
	e := s / 2
	for off := 0; off < len(raw); off += s {
		packSymbol(dst, k, raw[off:off+s])
		k += e
	}
}

// unpackSymbols is the inverse of packSymbols.
func unpackSymbols(src []byte, k int, raw []byte, s int) {
	if s%64 == 0 && k%32 == 0 {
		copy(raw, src[k*2:])
		return
	}
	e := s / 2
	for off := 0; off < len(raw); off += s {
		unpackSymbol(src, k, raw[off:off+s])
		k += e
	}
}
