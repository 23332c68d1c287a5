package local

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/walrus-go/walrus/chain"
)

// Pebble keys of the local chain. These are part of the on-disk format;
// formatVersion changes with them.
//
//	v                 format version, u32 BE
//	g                 genesis, JSON (after defaults; the hash of its BCS is the chain ID)
//	h                 head: height u64 BE ‖ block hash(32)
//	b ‖ height u64 BE sealed BCS block
//	e ‖ seq u64 BE    sealed JSON event
//	s                 sealed state snapshot (snapshot.go)
//
// A sealed record is Blake2b-256(payload) ‖ payload. A block, its events and
// the head are written in one synced batch, so a crash leaves either all of
// a block or none of it.
const formatVersion = 2

var (
	keyVersion  = []byte("v")
	keyGenesis  = []byte("g")
	keyHead     = []byte("h")
	keySnapshot = []byte("s")
)

func blockKey(h uint64) []byte { return binary.BigEndian.AppendUint64([]byte("b"), h) }
func eventKey(s uint64) []byte { return binary.BigEndian.AppendUint64([]byte("e"), s) }

// db is the chain's Pebble database.
type db struct {
	p    *pebble.DB
	sync *pebble.WriteOptions
	// failWrites, for tests, makes writeBlock fail with it.
	failWrites error
}

func openDB(dir string, noSync bool) (*db, error) {
	opts := &pebble.Options{}
	if dir == "" {
		opts.FS = vfs.NewMem()
	}
	opts.Logger = quietLogger{}
	p, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("local: opening %s: %w", dir, err)
	}
	d := &db{p: p, sync: pebble.Sync}
	if noSync {
		d.sync = pebble.NoSync
	}
	return d, nil
}

func (d *db) close() error { return d.p.Close() }

// get returns a copy of a key's value, or nil if it is absent.
func (d *db) get(key []byte) ([]byte, error) {
	v, closer, err := d.p.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// loadMeta returns the stored genesis and head; a nil genesis means a new
// database.
func (d *db) loadMeta() (*Genesis, uint64, error) {
	v, err := d.get(keyVersion)
	if err != nil || v == nil {
		return nil, 0, err
	}
	if len(v) != 4 || binary.BigEndian.Uint32(v) != formatVersion {
		return nil, 0, fmt.Errorf("%w: database format %x, this build reads %d; re-create the chain", chain.ErrCorrupt, v, formatVersion)
	}
	gb, err := d.get(keyGenesis)
	if err != nil {
		return nil, 0, err
	}
	var g Genesis
	if err := json.Unmarshal(gb, &g); err != nil {
		return nil, 0, fmt.Errorf("%w: stored genesis: %v", chain.ErrCorrupt, err)
	}
	h, err := d.get(keyHead)
	if err != nil {
		return nil, 0, err
	}
	var height uint64
	if h != nil {
		if len(h) != 40 {
			return nil, 0, fmt.Errorf("%w: head record of %d bytes", chain.ErrCorrupt, len(h))
		}
		height = binary.BigEndian.Uint64(h)
	}
	return &g, height, nil
}

func (d *db) initMeta(g *Genesis) error {
	gb, err := json.Marshal(g)
	if err != nil {
		return err
	}
	b := d.p.NewBatch()
	defer b.Close()
	_ = b.Set(keyVersion, binary.BigEndian.AppendUint32(nil, formatVersion), nil)
	_ = b.Set(keyGenesis, gb, nil)
	return b.Commit(pebble.Sync)
}

func (d *db) block(h uint64) (*Block, error) {
	rec, err := d.get(blockKey(h))
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, fmt.Errorf("%w: block %d missing", chain.ErrCorrupt, h)
	}
	return decodeBlock(rec)
}

// writeBlock stores a block, its events and the new head in one batch.
func (d *db) writeBlock(b *Block, hash chain.Digest, evs []chain.Event) error {
	if d.failWrites != nil {
		return d.failWrites
	}
	rec, err := encodeBlock(b)
	if err != nil {
		return err
	}
	batch := d.p.NewBatch()
	defer batch.Close()
	_ = batch.Set(blockKey(b.Header.Height), rec, nil)
	for i := range evs {
		_ = batch.Set(eventKey(evs[i].Cursor.Seq), encodeEvent(&evs[i]), nil)
	}
	head := binary.BigEndian.AppendUint64(nil, b.Header.Height)
	_ = batch.Set(keyHead, append(head, hash[:]...), nil)
	return batch.Commit(d.sync)
}

// writeSnapshot replaces the state snapshot.
func (d *db) writeSnapshot(rec []byte, sync bool) error {
	if d.failWrites != nil {
		return d.failWrites
	}
	opts := pebble.NoSync
	if sync {
		opts = d.sync
	}
	return d.p.Set(keySnapshot, rec, opts)
}

// events reads the events with sequence numbers in [from, to].
func (d *db) events(from, to uint64) ([]chain.Event, error) {
	it, err := d.p.NewIter(&pebble.IterOptions{LowerBound: eventKey(from), UpperBound: eventKey(to + 1)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []chain.Event
	for ok := it.First(); ok; ok = it.Next() {
		ev, err := decodeEvent(it.Value())
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	if uint64(len(out)) != to-from+1 {
		return nil, fmt.Errorf("%w: %d events stored in [%d, %d]", chain.ErrCorrupt, len(out), from, to)
	}
	return out, nil
}

// quietLogger drops Pebble's informational logs and keeps its fatal ones.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}
