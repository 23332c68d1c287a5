package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Table is a live Pebble table of the store.
type Table struct {
	// Num is the table's file number: a table is written once, and newer
	// tables have larger numbers.
	Num uint64
	// Size is its size in bytes; Path its file.
	Size uint64
	Path string
	// Start and End bound its keys: [Start, End).
	Start, End []byte
}

// Tables returns the store's live tables by increasing file number. A table
// that virtual tables share is listed once, with the bounds of all of them.
func (s *Store) Tables() ([]Table, error) {
	if err := s.enter(context.Background()); err != nil {
		return nil, err
	}
	defer s.exit()
	levels, err := s.db.SSTables()
	if err != nil {
		return nil, s.translate("list tables", nil, err)
	}
	byNum := map[uint64]*Table{}
	for _, level := range levels {
		for i := range level {
			info := &level[i]
			num := uint64(info.BackingSSTNum)
			start, end := info.Smallest.UserKey, keySuccessor(info.Largest.UserKey)
			if t, ok := byNum[num]; ok {
				if string(start) < string(t.Start) {
					t.Start = append([]byte(nil), start...)
				}
				if string(end) > string(t.End) {
					t.End = end
				}
				continue
			}
			byNum[num] = &Table{Num: num, Size: info.Size, Path: s.opts.FS.PathJoin(s.dir, fmt.Sprintf("%06d.sst", num)),
				Start: append([]byte(nil), start...), End: end}
		}
	}
	out := make([]Table, 0, len(byNum))
	for _, t := range byNum {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Table) int { return cmp.Compare(a.Num, b.Num) })
	return out, nil
}

// VerifyTable reads every block of table t from disk, past the block cache,
// and checks its checksum. Before each read it calls pace with the bytes about
// to be read (a rate limiter; nil for none), and stops with its error. A
// block that fails is ErrCorrupt, and t's range is noted as damaged (Damaged,
// Excise). A table that compactions have removed meanwhile is ErrNotFound.
func (s *Store) VerifyTable(ctx context.Context, t Table, pace func(ctx context.Context, n int) error) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.exit()
	f, err := s.opts.FS.Open(t.Path, vfs.RandomReadsOption)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("%w: table %s", ErrNotFound, t.Path)
		}
		return s.translate("open table", nil, err)
	}
	readable, err := sstable.NewSimpleReadable(&pacedFile{File: f, ctx: ctx, pace: pace})
	if err != nil {
		_ = f.Close()
		return s.translate("open table", nil, err)
	}
	r, err := sstable.NewReader(ctx, readable, s.po.MakeReaderOptions())
	if err == nil {
		err = r.ValidateBlockChecksums()
		if cerr := r.Close(); err == nil {
			err = cerr
		}
	} else {
		_ = readable.Close()
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("store: verify table %s: %w", t.Path, ctx.Err())
	}
	var pe paceError
	if errors.As(err, &pe) {
		return pe.err
	}
	if !pebble.IsCorruptionError(err) {
		return s.translate("verify table "+t.Path, nil, err)
	}
	msg := pebbleMessage(err)
	s.log.Error("corrupt table", "file", t.Path, "err", msg)
	s.damage.add(Damage{Start: t.Start, End: t.End, File: t.Path, Cause: msg})
	return fmt.Errorf("%w: table %s: %s", ErrCorrupt, t.Path, msg)
}

// pacedFile is a table file whose reads wait for a rate limiter.
type pacedFile struct {
	vfs.File
	ctx  context.Context
	pace func(ctx context.Context, n int) error
}

// paceError carries the pacer's error through Pebble's reader.
type paceError struct{ err error }

func (e paceError) Error() string { return e.err.Error() }

func (f *pacedFile) ReadAt(p []byte, off int64) (int, error) {
	if f.pace != nil {
		if err := f.pace(f.ctx, len(p)); err != nil {
			return 0, paceError{err}
		}
	}
	return f.File.ReadAt(p, off)
}

// CheckState reads every value of the small tables the node's state lives in
// (pair markers, blob records, the expiry index, the event cursor, the epoch,
// shard statuses, object records, shard-sync cursors): what a node reads as
// it starts. A corrupt block is ErrCorrupt and noted as damage (Damaged), to
// be excised before the node relies on the state. Slivers and metadata are
// not read.
func (s *Store) CheckState(ctx context.Context) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.exit()
	return s.scan(ctx, s.db, prefix(tagShardPair), prefixEnd([]byte{SchemaVersion}), func(_, _ []byte) (bool, error) {
		return true, nil
	})
}
