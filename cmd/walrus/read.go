package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
)

func init() { register(newReadCmd) }

// cliReadWindow is the read window (client.Config.ReadWindow) of walrus
// read, twice the client's default: a process makes one read, and a
// 64 MiB blob's rows are then all on their way while the process builds
// its codec tables (client.Blob.StreamRange; a daemon serving many reads
// keeps the default).
const cliReadWindow = 64 << 20

// readOutput is `walrus read --json`.
type readOutput struct {
	Out    string          `json:"out,omitempty"`
	BlobID encoding.BlobID `json:"blobId"`
	// Blob is the blob (base64) when no --out was given.
	Blob []byte `json:"blob,omitempty"`
}

func newReadCmd() *cobra.Command {
	var (
		cf     clientFlags
		out    string
		strict bool
		skip   bool
	)
	cmd := &cobra.Command{
		Use:   "read BLOB_ID",
		Short: "Read a blob",
		Long: `Reads a blob from the storage nodes, verifying every sliver, and writes it to
--out or stdout. The default consistency check re-encodes the systematic
slivers; --strict-consistency-check re-encodes the whole blob;
--skip-consistency-check checks only each sliver against the metadata, for
blobs whose writer you trust.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseBlobIDArg(args[0])
			if err != nil {
				return err
			}
			if strict && skip {
				return errors.New("--strict-consistency-check and --skip-consistency-check are mutually exclusive")
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, false, cliLogger(cmd), func(cfg *client.Config) { cfg.ReadWindow = cliReadWindow })
			if err != nil {
				return err
			}
			defer closeFn()
			opts := client.ReadOptions{Strict: strict, SkipConsistencyCheck: skip}
			var done func()
			// No bar when the blob goes to the same terminal.
			opts.Progress, done = newStageProgress(cmd, cf.json || (out == "" && isTerminal(cmd.OutOrStdout())), "read "+id.String()[:8], false)
			var (
				blob []byte
				size int64
			)
			if out != "" {
				// To a file: streamed (verified rows as they arrive, in
				// constant memory) into a temporary file renamed at the end.
				size, err = readToFile(ctx, c, id, opts, out)
			} else {
				blob, err = c.ReadBlob(ctx, id, opts)
				size = int64(len(blob))
			}
			done()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch {
			case cf.json:
				res := readOutput{BlobID: id, Out: out}
				if out == "" {
					res.Blob = blob
				}
				return printJSON(w, res)
			case out == "":
				_, err := bytes.NewReader(blob).WriteTo(w)
				return err
			}
			fmt.Fprintf(w, "Success: Blob %s (%s) stored in file %s.\n", id, humanBytes(uint64(size)), out)
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVarP(&out, "out", "o", "", "file to write the blob to (default stdout)")
	cmd.Flags().BoolVar(&strict, "strict-consistency-check", false, "re-encode the whole blob and check every sliver hash")
	cmd.Flags().BoolVar(&skip, "skip-consistency-check", false, "skip the consistency check (slivers are still verified): for trusted writers")
	return cmd
}

// readToFile reads blob id into the file at path through
// streamFileAtomic: streamed, or with opts.Strict read whole and checked
// first.
func readToFile(ctx context.Context, c *client.Client, id encoding.BlobID, opts client.ReadOptions, path string) (int64, error) {
	if opts.Strict {
		blob, err := c.ReadBlob(ctx, id, opts)
		if err != nil {
			return 0, err
		}
		return streamFileAtomic(path, int64(len(blob)), func(w io.Writer) (int64, error) {
			n, err := w.Write(blob)
			return int64(n), err
		})
	}
	b, err := c.Open(ctx, id, opts)
	if err != nil {
		return 0, err
	}
	return streamFileAtomic(path, b.Size(), func(w io.Writer) (int64, error) { return b.Stream(ctx, w) })
}

// streamFileAtomic writes what write writes (size bytes) to path through a
// temporary file and a rename, so that a failed read never leaves half a
// blob behind. The temporary file's blocks are allocated first
// (preallocate).
func streamFileAtomic(path string, size int64, write func(io.Writer) (int64, error)) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".walrus-read-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	preallocate(tmp, size)
	bw := bufio.NewWriterSize(tmp, 1<<20)
	n, err := write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		tmp.Close()
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	return n, os.Rename(tmp.Name(), path)
}
