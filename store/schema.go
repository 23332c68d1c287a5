package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Schema version file.
//
// This layout is part of the on-disk format. The schema version a store was
// written with is kept in a file of its own in the store's directory, beside
// Pebble's files (Pebble ignores names it does not know):
//
//	file name: WALRUS_STORE
//	contents:  "walrus/store schema=<version in decimal>\n"
//
// It is not a key: Pebble packs keys into checksummed blocks in key order, and
// a schema key sharing a block with a sliver would let one flipped bit in that
// sliver make the whole store unopenable, where it should only make the sliver
// unreadable (TestCorruptSSTBitFlip shows it). The file is written once, when
// Open creates the store: to a temporary name, synced, renamed, and the
// directory synced.
const (
	schemaFile   = "WALRUS_STORE"
	schemaPrefix = "walrus/store schema="
	// maxSchemaFileSize bounds what readSchema reads: the file is one short
	// line.
	maxSchemaFileSize = 64
)

// parseSchema parses the contents of the schema file. It accepts exactly the
// bytes formatSchema writes for a version in [1, 255].
func parseSchema(b []byte) (byte, error) {
	s, ok := strings.CutPrefix(string(b), schemaPrefix)
	if !ok {
		return 0, fmt.Errorf("%s does not start with %q", schemaFile, schemaPrefix)
	}
	num, ok := strings.CutSuffix(s, "\n")
	if !ok {
		return 0, fmt.Errorf("%s does not end in a newline", schemaFile)
	}
	v, err := strconv.ParseUint(num, 10, 8)
	if err != nil || v == 0 || strconv.FormatUint(v, 10) != num {
		return 0, fmt.Errorf("%s: bad version %q", schemaFile, num)
	}
	return byte(v), nil
}

// formatSchema returns the contents of the schema file for version v.
func formatSchema(v byte) []byte {
	return []byte(schemaPrefix + strconv.Itoa(int(v)) + "\n")
}

// readSchema reads the schema file of dir. It returns an error wrapping
// fs.ErrNotExist if there is none, ErrCorrupt if it does not parse, and ErrIO
// if it cannot be read.
func readSchema(dir string) (byte, error) {
	f, err := os.Open(filepath.Join(dir, schemaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrIO, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSchemaFileSize+1))
	if err != nil {
		return 0, fmt.Errorf("%w: read %s: %v", ErrIO, schemaFile, err)
	}
	if len(b) > maxSchemaFileSize {
		return 0, fmt.Errorf("%w: %s is longer than %d bytes", ErrCorrupt, schemaFile, maxSchemaFileSize)
	}
	v, err := parseSchema(b)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return v, nil
}

// writeSchema writes the schema file of dir durably: a temporary file, synced,
// renamed into place, and the directory synced.
func writeSchema(dir string, v byte) error {
	tmp := filepath.Join(dir, schemaFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrIO, err)
	}
	_, werr := f.Write(formatSchema(v))
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("%w: write %s: %v", ErrIO, tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, schemaFile)); err != nil {
		return fmt.Errorf("%w: %v", ErrIO, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrIO, err)
	}
	if err := errors.Join(d.Sync(), d.Close()); err != nil {
		return fmt.Errorf("%w: sync %s: %v", ErrIO, dir, err)
	}
	return nil
}

// checkSchema checks the schema file of the store, or writes it for a new,
// empty database.
func (s *Store) checkSchema() error {
	v, err := readSchema(s.dir)
	switch {
	case err == nil && v == SchemaVersion:
		return nil
	case err == nil:
		return fmt.Errorf("%w: %s holds schema version %d, this build reads version %d", ErrSchema, s.dir, v, SchemaVersion)
	case errors.Is(err, ErrCorrupt):
		s.log.Error("corrupt schema file", "dir", s.dir, "err", err.Error())
		return err
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	it, err := s.db.NewIter(nil)
	if err != nil {
		return s.translate("open", nil, err)
	}
	nonEmpty := it.First()
	var first []byte
	if nonEmpty {
		first = append(first, it.Key()...)
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return s.translate("open", nil, err)
	}
	if nonEmpty {
		return fmt.Errorf("%w: %s holds a Pebble database without a %s file (first key %x): not a store", ErrSchema, s.dir, schemaFile, first)
	}
	return writeSchema(s.dir, SchemaVersion)
}
