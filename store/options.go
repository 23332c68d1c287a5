package store

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable/block"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Defaults and bounds of Options. Each bound is checked by Validate.
const (
	// DefaultCacheSize is the default block cache: enough for the index and
	// filter blocks of a store of some hundred GiB and the small values
	// (markers, records); slivers are read once per request and gain little
	// from caching.
	DefaultCacheSize = 64 << 20
	// MinCacheSize is the smallest block cache Validate accepts.
	MinCacheSize = 1 << 20

	// DefaultMemTableSize is the default memtable size. Slivers are large
	// (hundreds of KiB to tens of MiB), so a small memtable would flush after
	// a handful of pairs and make many small L0 files.
	DefaultMemTableSize = 64 << 20
	// MinMemTableSize and MaxMemTableSize bound Options.MemTableSize. Pebble
	// itself refuses 4 GiB and more.
	MinMemTableSize = 1 << 20
	MaxMemTableSize = 1 << 30

	// DefaultMaxOpenFiles is the default soft limit on open files.
	DefaultMaxOpenFiles = 1000
	// MinMaxOpenFiles is the smallest MaxOpenFiles Validate accepts.
	MinMaxOpenFiles = 16

	// DefaultMaxBatchSize is the default largest write batch, in bytes:
	// all the pairs of one PutPairs call, with keys and checksums.
	DefaultMaxBatchSize = 1 << 30
	// MaxMaxBatchSize bounds Options.MaxBatchSize. Pebble's hard limit on a
	// batch is 4 GiB (and it panics past it), and a batch is held in memory
	// twice while it is built from the caller's slivers.
	MaxMaxBatchSize = 2 << 30
	// MinMaxBatchSize is the smallest MaxBatchSize Validate accepts.
	MinMaxBatchSize = 1 << 20

	// DefaultMinLoggedSliver is the default Options.MinLoggedSliver: the
	// slivers of blobs of about a MiB and more go to the sliver log (vlog.go),
	// those of smaller blobs stay in Pebble, where a small write costs one
	// WAL sync rather than two syncs.
	DefaultMinLoggedSliver = 32 << 10
	// MinMinLoggedSliver and MaxMinLoggedSliver bound Options.MinLoggedSliver.
	MinMinLoggedSliver = 1
	MaxMinLoggedSliver = 1 << 30

	// DefaultSliverSegmentSize is the default Options.SliverSegmentSize:
	// garbage collection reclaims space a segment at a time.
	DefaultSliverSegmentSize = 256 << 20
	// MinSliverSegmentSize and MaxSliverSegmentSize bound
	// Options.SliverSegmentSize (a reference's offset is 64 bits; a segment
	// of a few GiB keeps a collection's rewrite short).
	MinSliverSegmentSize = 1 << 10
	MaxSliverSegmentSize = 4 << 30
)

// Options configure a Store. The zero value is valid: Open fills in defaults.
type Options struct {
	// Logger receives the store's log output and Pebble's (background
	// errors, corruption, stalls, slow disks), with subsystem=store. The
	// default is slog.Default().
	Logger *slog.Logger

	// CacheSize is the size of Pebble's block cache in bytes. The default is
	// DefaultCacheSize; it must be at least MinCacheSize.
	CacheSize int64

	// MemTableSize is the size of a Pebble memtable in bytes. Up to two
	// memtables (one being flushed) are held in memory. The default is
	// DefaultMemTableSize; it must lie in [MinMemTableSize, MaxMemTableSize].
	MemTableSize uint64

	// MaxOpenFiles is a soft limit on the files Pebble keeps open. The
	// default is DefaultMaxOpenFiles; it must be at least MinMaxOpenFiles.
	MaxOpenFiles int

	// MaxBatchSize is the largest write batch in bytes; PutPairs returns
	// ErrTooLarge for pairs that need more. The default is
	// DefaultMaxBatchSize; it must lie in [MinMaxBatchSize, MaxMaxBatchSize].
	MaxBatchSize int

	// DisableSync commits writes without waiting for the WAL to reach the
	// disk: a write that returned may be lost in a crash (atomicity of each
	// batch is kept). A storage node must not set it: it signs confirmations
	// for slivers it has stored. It exists for tests and benchmarks.
	DisableSync bool

	// FS is the file system the store's files live on (default vfs.Default,
	// the OS's). Tests wrap the real one to inject disk errors (Pebble's
	// vfs/errorfs); production code leaves it nil.
	FS vfs.FS

	// KeepValuesInTables turns Pebble's value separation off: slivers stay
	// in the LSM's tables instead of blob files. Blob files keep large
	// values out of compactions; tests of damage to tables set it to put
	// slivers where the damage is.
	KeepValuesInTables bool

	// MinLoggedSliver is the size of sliver data, in bytes, from which a
	// sliver is written to the sliver log rather than into Pebble
	// (vlog.go). The default is DefaultMinLoggedSliver; it must lie in
	// [MinMinLoggedSliver, MaxMinLoggedSliver]. KeepValuesInTables keeps
	// every sliver in Pebble.
	MinLoggedSliver int

	// SliverSegmentSize is the size at which the sliver log's active
	// segment is sealed and a new one begun. The default is
	// DefaultSliverSegmentSize; it must lie in [MinSliverSegmentSize,
	// MaxSliverSegmentSize].
	SliverSegmentSize int64
}

// EnsureDefaults sets every zero field to its default.
func (o *Options) EnsureDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.MaxOpenFiles == 0 {
		o.MaxOpenFiles = DefaultMaxOpenFiles
	}
	if o.MaxBatchSize == 0 {
		o.MaxBatchSize = DefaultMaxBatchSize
	}
	if o.MinLoggedSliver == 0 {
		o.MinLoggedSliver = DefaultMinLoggedSliver
	}
	if o.SliverSegmentSize == 0 {
		o.SliverSegmentSize = DefaultSliverSegmentSize
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
}

// Validate checks every field against its bounds and reports all the fields
// that are out of them, naming each. It returns ErrInvalid, wrapped.
func (o *Options) Validate() error {
	var errs []error
	if o.Logger == nil {
		errs = append(errs, errors.New("field Logger must be set"))
	}
	if o.CacheSize < MinCacheSize {
		errs = append(errs, fmt.Errorf("CacheSize (%d) must be >= %d", o.CacheSize, MinCacheSize))
	}
	if o.MemTableSize < MinMemTableSize || o.MemTableSize > MaxMemTableSize {
		errs = append(errs, fmt.Errorf("MemTableSize (%d) must be in [%d, %d]", o.MemTableSize, MinMemTableSize, MaxMemTableSize))
	}
	if o.MaxOpenFiles < MinMaxOpenFiles {
		errs = append(errs, fmt.Errorf("MaxOpenFiles (%d) must be >= %d", o.MaxOpenFiles, MinMaxOpenFiles))
	}
	if o.MaxBatchSize < MinMaxBatchSize || o.MaxBatchSize > MaxMaxBatchSize {
		errs = append(errs, fmt.Errorf("MaxBatchSize (%d) must be in [%d, %d]", o.MaxBatchSize, MinMaxBatchSize, MaxMaxBatchSize))
	}
	if o.MinLoggedSliver < MinMinLoggedSliver || o.MinLoggedSliver > MaxMinLoggedSliver {
		errs = append(errs, fmt.Errorf("MinLoggedSliver (%d) must be in [%d, %d]", o.MinLoggedSliver, MinMinLoggedSliver, MaxMinLoggedSliver))
	}
	if o.SliverSegmentSize < MinSliverSegmentSize || o.SliverSegmentSize > MaxSliverSegmentSize {
		errs = append(errs, fmt.Errorf("SliverSegmentSize (%d) must be in [%d, %d]", o.SliverSegmentSize, MinSliverSegmentSize, MaxSliverSegmentSize))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: options: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// mayBeLargeBatch reports whether Pebble may commit a batch of size bytes
// and count entries as a flushable of its own: one whose memtable footprint
// (its entries, each with a skiplist node) reaches Pebble's
// largeBatchThreshold, (MemTableSize − an empty memtable's size)/2. Such a
// batch is not copied into the memtable; Pebble keeps its buffer until it is
// flushed, and empties the Batch at commit. The estimate errs on the large
// side: maxNodeOverhead bounds a node with its full tower (Pebble's is about
// 180 bytes) and an entry's sequence number, emptyMemTableBytes the empty
// memtable (3 skiplists' head and tail nodes, about 1 KiB).
func (o *Options) mayBeLargeBatch(size int, count uint32) bool {
	const maxNodeOverhead, emptyMemTableBytes = 256, 16 << 10
	return uint64(size)+uint64(count)*maxNodeOverhead >= (o.MemTableSize-emptyMemTableBytes)/2
}

// valueSeparationMinSize is the smallest value Pebble stores apart from the
// LSM, in a blob file: slivers of all but the smallest blobs.
const valueSeparationMinSize = 4 << 10

// maxBlobReferenceDepth is how many blob files that overlap in the key space
// one sstable may reference before a compaction rewrites the values it
// moves into new blob files. Every flush writes one blob file, and the
// slivers of each blob span every shard's keys, so each flush's blob file
// overlaps all others: at Pebble's usual 10, a compaction out of L0 would
// rewrite all its slivers every few flushes, writing each sliver about once
// more than the WAL and the flush. Point reads (all the node does but shard
// sync) open one blob file per value whatever the depth.
const maxBlobReferenceDepth = 100

// formatMajorVersion is the Pebble format new stores are created with, pinned
// so that a Pebble upgrade does not silently ratchet the files of existing
// stores (Pebble only ever moves a database forward).
const formatMajorVersion = pebble.FormatValueSeparation

// pebbleOptions returns the Pebble options for o, which must be valid. Every
// option that matters to the store is set here rather than left to Pebble's
// defaults, which change between releases.
func (o *Options) pebbleOptions(log *slog.Logger) *pebble.Options {
	po := &pebble.Options{
		FS:                          o.FS,
		FormatMajorVersion:          formatMajorVersion,
		CacheSize:                   o.CacheSize,
		MemTableSize:                o.MemTableSize,
		MemTableStopWritesThreshold: 4,
		MaxOpenFiles:                o.MaxOpenFiles,
		// The store issues a WAL sync per batch; smooth out the sstable
		// writes of flushes and compactions.
		BytesPerSync:    1 << 20,
		WALBytesPerSync: 0,
		// L0 files are flushed memtables; a flush writes one file per
		// memtable rather than many small ones.
		L0CompactionThreshold: 4,
		L0StopWritesThreshold: 20,
		LBaseMaxBytes:         256 << 20,
		Logger:                pebbleLogger{log},
		EventListener:         eventListener(log),
		// Two cores is the common machine for a node; one compaction runs
		// alongside flushes, and a second when compaction debt builds up.
		CompactionConcurrencyRange: func() (int, int) { return 1, 2 },
	}
	// Sliver values go to blob files at flush (value separation): the LSM
	// then holds keys and small values only, and compactions move sliver
	// references instead of rewriting the slivers.
	po.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
		return pebble.ValueSeparationPolicy{
			Enabled:               !o.KeepValuesInTables,
			MinimumSize:           valueSeparationMinSize,
			MaxBlobReferenceDepth: maxBlobReferenceDepth,
			RewriteMinimumAge:     5 * time.Minute,
			// Blob files with a fifth of their values deleted (expired
			// blobs) are rewritten to give the space back.
			TargetGarbageRatio: 0.2,
		}
	}
	po.TargetFileSizes[0] = 16 << 20
	for i := range po.Levels {
		// Bloom filters turn point lookups of absent keys (HasPair for a
		// sliver not yet received, Metadata of an unknown blob) into one
		// filter probe per file.
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		po.Levels[i].BlockSize = 32 << 10
	}
	po.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return compressionSettings })
	return po
}

// compressionProfile is the compression of every level: Pebble's fastest
// (MinLZ on amd64), adaptively. A file's writer compresses a sample of its
// blocks (the first, then one in ten) both ways, and while the samples show
// that compression does not pay (it saves less than a tenth), it stores the
// others as they are. Most slivers are parity or compressed payloads, which
// never pay for a compression attempt (a sliver is a block of its own in a
// blob file, and trying one costs an allocation and a pass over it); slivers
// of blobs of text still compress. Reading does not depend on it: each block
// records its own compression.
var compressionProfile = &block.CompressionProfile{
	Name:                           "WalrusAdaptiveFastest",
	DataBlocks:                     block.FastestCompression.DataBlocks,
	ValueBlocks:                    block.FastestCompression.ValueBlocks,
	OtherBlocks:                    block.NoCompression.OtherBlocks,
	MinReductionPercent:            12,
	AdaptiveReductionCutoffPercent: 10,
}

var compressionSettings = pebble.UniformDBCompressionSettings(compressionProfile)

// pebbleLogger adapts slog to Pebble's Logger.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) { p.l.Info(fmt.Sprintf(format, args...)) }

func (p pebbleLogger) Errorf(format string, args ...any) { p.l.Error(fmt.Sprintf(format, args...)) }

// Fatalf logs and panics: Pebble calls it on a broken invariant and expects it
// not to return.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "fatal", true)
	panic("store: pebble: " + msg)
}

// eventListener logs the Pebble events an operator should see; routine
// flushes and compactions go to Debug.
func eventListener(log *slog.Logger) *pebble.EventListener {
	return &pebble.EventListener{
		// Errors are logged by their message: Pebble's carry stack traces that
		// slog would print whole.
		BackgroundError: func(err error) { log.Error("pebble background error", "err", pebbleMessage(err)) },
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			log.Error("pebble data corruption", "path", info.Path, "err", pebbleMessage(info.Details))
		},
		DiskSlow: func(info pebble.DiskSlowInfo) {
			log.Warn("slow disk", "path", info.Path, "op", info.OpType.String(), "duration", info.Duration)
		},
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) { log.Warn("write stall", "reason", info.Reason) },
		WriteStallEnd:   func() { log.Info("write stall ended") },
		LowDiskSpace: func(info pebble.LowDiskSpaceInfo) {
			log.Warn("low disk space", "avail_bytes", info.AvailBytes, "total_bytes", info.TotalBytes)
		},
		FlushEnd: func(info pebble.FlushInfo) {
			log.Debug("pebble flush", "info", info.String())
		},
		CompactionEnd: func(info pebble.CompactionInfo) {
			log.Debug("pebble compaction", "info", info.String())
		},
	}
}
