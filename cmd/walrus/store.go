package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
)

func init() { register(newStoreCmd) }

// storeOutput is one file's entry of `walrus store --json`, as Walrus's.
type storeOutput struct {
	BlobStoreResult *client.StoreResult `json:"blobStoreResult,omitempty"`
	Path            string              `json:"path"`
	Error           string              `json:"error,omitempty"`
}

// dryRunOutput is one file's entry of `walrus store --dry-run --json`, as
// Walrus's DryRunOutput.
type dryRunOutput struct {
	Path          string          `json:"path"`
	BlobID        encoding.BlobID `json:"blobId"`
	UnencodedSize uint64          `json:"unencodedSize"`
	EncodedSize   uint64          `json:"encodedSize"`
	StorageCost   uint64          `json:"storageCost"`
	EncodingType  string          `json:"encodingType"`
}

// stdinPath is the FILE that means standard input.
const stdinPath = "-"

func newStoreCmd() *cobra.Command {
	var (
		cf                   clientFlags
		lifetime             epochArg
		permanent, deletable bool
		force, dryRun, share bool
		sendTo               string
	)
	cmd := &cobra.Command{
		Use:     "store FILE...",
		Aliases: []string{"write"},
		Short:   "Store files as blobs",
		Long: `Encodes each FILE ("-" is standard input), registers and pays for it with the
wallet, sends it to the storage nodes and certifies it. A permanent blob
already certified for long enough is not stored again (unless --force). New
blobs are deletable unless --permanent is given, as Walrus's CLI since v1.33.

The lifetime is one of --epochs N (or max), --end-epoch E and
--earliest-expiry-time T; without any, ` + fmt.Sprint(defaultEpochs) + ` epoch: until the end of the
current epoch (walrus info shows its length).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if permanent && deletable {
				return errors.New("--permanent and --deletable are mutually exclusive")
			}
			if err := lifetime.check(); err != nil {
				return err
			}
			if share && !permanent {
				return errors.New("deletable blobs cannot be shared: --share needs --permanent")
			}
			if share && sendTo != "" {
				return errors.New("--share and --send-object-to are mutually exclusive")
			}
			if n := slices.Index(args, stdinPath); n >= 0 && slices.Index(args[n+1:], stdinPath) >= 0 {
				return errors.New(`standard input ("-") can be stored once per command`)
			}
			opts := client.StoreOptions{Deletable: !permanent, Force: force, DryRun: dryRun, Share: share}
			if sendTo != "" {
				a, err := chain.ParseAddress(sendTo)
				if err != nil {
					return fmt.Errorf("--send-object-to: %w", err)
				}
				opts.Owner = a
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, !dryRun, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			state, err := c.SystemState(ctx)
			if err != nil {
				return err
			}
			if opts.Epochs, err = lifetime.epochsAhead(&state, time.Now()); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var results []storeOutput
			var dry []dryRunOutput
			failed := 0
			for _, path := range args {
				res, err := storeFile(cmd, c, path, opts, cf.json)
				if err != nil {
					failed++
					if !cf.json {
						fmt.Fprintf(cmd.ErrOrStderr(), "Error: %s: %v\n", path, err)
					}
					results = append(results, storeOutput{Path: path, Error: err.Error()})
					continue
				}
				results = append(results, storeOutput{BlobStoreResult: res, Path: path})
				if d := res.DryRun; d != nil {
					dry = append(dry, dryRunOutput{Path: path, BlobID: d.BlobID, UnencodedSize: d.UnencodedLength,
						EncodedSize: d.EncodedLength, StorageCost: d.StorageCost, EncodingType: "RS2"})
				}
				if !cf.json {
					printStoreResult(out, path, res)
				}
			}
			if cf.json {
				var v any = results
				if dryRun && failed == 0 {
					v = dry
				}
				if err := printJSON(out, v); err != nil {
					return err
				}
			}
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d files not stored", failed, len(args))}
			}
			return nil
		},
	}
	cf.register(cmd)
	f := cmd.Flags()
	lifetime.register(f)
	f.BoolVar(&permanent, "permanent", false, "store permanent blobs (cannot be deleted before they expire)")
	f.BoolVar(&deletable, "deletable", false, "store deletable blobs (the default)")
	f.BoolVar(&force, "force", false, "store even if the blob is already certified for long enough")
	f.BoolVar(&dryRun, "dry-run", false, "only print the blob IDs, encoded sizes and costs")
	f.BoolVar(&share, "share", false, "share the blob objects after storing them (permanent blobs only)")
	f.StringVar(&sendTo, "send-object-to", "", "address that receives the blob objects (default the wallet's)")
	return cmd
}

// storeFile stores one file ("-": standard input), refusing one over the
// network's maximum before reading it.
func storeFile(cmd *cobra.Command, c *client.Client, path string, opts client.StoreOptions, asJSON bool) (*client.StoreResult, error) {
	ctx := cmd.Context()
	var r io.Reader
	var size int64
	if path == stdinPath {
		r = cmd.InOrStdin()
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("not a regular file")
		}
		state, err := c.SystemState(ctx)
		if err != nil {
			return nil, err
		}
		if p, err := state.Params(); err == nil && uint64(st.Size()) > p.MaxBlobSize() {
			return nil, &encoding.TooLargeError{Size: uint64(st.Size()), Max: p.MaxBlobSize(), N: state.NShards}
		}
		r, size = f, st.Size()
	}
	// The bar starts before the file is read: reading a large file is the
	// first thing that takes time.
	progress, done := newStageProgress(cmd, asJSON, path, true)
	defer done()
	if progress != nil {
		r = &progressReader{r: r, total: size, fn: progress}
	}
	blob, err := c.ReadBlobFrom(ctx, r, size)
	if err != nil {
		return nil, err
	}
	opts.Progress = progress
	return c.Store(ctx, blob, opts)
}

// printStoreResult prints a store's outcome in Walrus's CLI wording.
func printStoreResult(w io.Writer, path string, res *client.StoreResult) {
	switch {
	case res.DryRun != nil:
		d := res.DryRun
		fmt.Fprintf(w, "Dry run: the blob would be stored with the following parameters.\nPath: %s\nBlob ID: %s\nUnencoded size: %s\nEncoded size (including replicated metadata): %s\nCost (excluding gas): %s WAL\n",
			path, d.BlobID, humanBytes(d.UnencodedLength), humanBytes(d.EncodedLength), formatWAL(d.StorageCost))
		if d.AlreadyCertified {
			fmt.Fprintln(w, "The blob is already certified for long enough: storing it would cost nothing.")
		}
	case res.AlreadyCertified != nil:
		a := res.AlreadyCertified
		fmt.Fprintf(w, "Success: Blob was already available and certified within Walrus, for a sufficient number of epochs.\nPath: %s\nBlob ID: %s\nExpiry epoch (exclusive): %d\n",
			path, a.BlobID, a.EndEpoch)
	case res.NewlyCreated != nil:
		n := res.NewlyCreated
		kind := "Permanent"
		if n.BlobObject.Deletable {
			kind = "Deletable"
		}
		shared := ""
		if n.SharedBlobObject != nil {
			shared = "\nShared blob object ID: " + n.SharedBlobObject.String()
		}
		fmt.Fprintf(w, "Success: %s blob stored successfully.\nPath: %s\nBlob ID: %s\nSui object ID: %s\nUnencoded size: %s\nEncoded size (including replicated metadata): %s\nCost (excluding gas): %s WAL (storage was purchased, and a new blob object was registered)\nExpiry epoch (exclusive): %d%s\nEncoding type: %s\n",
			kind, path, n.BlobObject.BlobID, n.BlobObject.ID, humanBytes(n.BlobObject.Size), humanBytes(n.BlobObject.Storage.Size),
			formatWAL(n.Cost), n.BlobObject.Storage.EndEpoch, shared, n.BlobObject.EncodingType)
	}
}
