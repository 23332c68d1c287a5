package sui

import (
	"slices"
	"testing"
)

// FuzzObjects feeds arbitrary bytes to every object decoder: none may
// panic or allocate beyond its input, and whatever decodes re-encodes to
// the same bytes (the layouts are canonical).
func FuzzObjects(f *testing.F) {
	v := loadVectors(f)
	names := []string{"System", "SystemStateInnerV1", "StakingInnerV1", "StakingPool", "Blob", "Storage", "StakedWal", "StorageNodeCap", "BlobMetadataField"}
	for i, n := range names {
		f.Add(uint8(i), b64(f, v.Objects[n]))
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		name := names[int(which)%len(names)]
		_, re, err := decodeObject(name, b)
		if err == nil && !slices.Equal(re, b) {
			t.Fatalf("%s: decoded bytes re-encode differently\n in %x\nout %x", name, b, re)
		}
	})
}

// FuzzEvents does the same for the event decoder.
func FuzzEvents(f *testing.F) {
	v := loadVectors(f)
	var types []string
	for name := range knownEvents {
		types = append(types, name)
	}
	slices.Sort(types)
	for i, n := range types {
		f.Add(uint8(i), b64(f, v.Events[n]))
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		typ := types[int(which)%len(types)]
		e, err := DecodeEvent(typ, b)
		if err == nil && !slices.Equal(e.Encode(), b) {
			t.Fatalf("%s: re-encodes differently", typ)
		}
	})
}

// FuzzNetworkRecord feeds arbitrary node records (from any pool on chain).
func FuzzNetworkRecord(f *testing.F) {
	f.Add("/p2p/12D3KooWPsWYDHYAkbKpzGrUDsd7wUA4xuE7eYWpB8ykXRPy3dBC /ip4/127.0.0.1/tcp/9000", append([]byte{0}, seq(32, 0xd0)...))
	f.Add("walrus.example.com:9185", append([]byte{2}, seq(32, 1)...))
	f.Fuzz(func(t *testing.T, addr string, key []byte) {
		id, addrs, err := DecodeNetworkRecord(addr, key)
		if err != nil || id == "" {
			return
		}
		// What decodes in our form encodes back to the same address.
		na, _, err := EncodeNetworkRecord(id, addrs)
		if err == nil && na != addr {
			t.Fatalf("%q re-encodes as %q", addr, na)
		}
	})
}

// FuzzExecutionError feeds arbitrary status strings (from the RPC).
func FuzzExecutionError(f *testing.F) {
	f.Add(moveAbort("blob", "f", 5, 1))
	f.Add("InsufficientGas")
	f.Fuzz(func(t *testing.T, s string) {
		if ExecutionError(s) == nil {
			t.Fatal("nil error")
		}
	})
}

// FuzzDecodeTransaction feeds arbitrary transaction bytes (as the test
// server receives them).
func FuzzDecodeTransaction(f *testing.F) {
	v := loadVectors(f)
	for _, tv := range v.Transactions {
		f.Add(b64(f, tv.TxBytes))
	}
	f.Fuzz(func(t *testing.T, b []byte) { DecodeTransaction(b) })
}
