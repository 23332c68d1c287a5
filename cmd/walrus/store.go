package main

import (
	"errors"
	"fmt"
	"io"
	"os"

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

func newStoreCmd() *cobra.Command {
	var (
		cf                   clientFlags
		epochs               uint32
		permanent, deletable bool
		force, dryRun        bool
		sendTo               string
	)
	cmd := &cobra.Command{
		Use:   "store FILE...",
		Short: "Store files as blobs",
		Long: `Encodes each FILE, registers and pays for it with the wallet, sends it to the
storage nodes and certifies it. A permanent blob already certified for long
enough is not stored again (unless --force). New blobs are deletable unless
--permanent is given, as Walrus's CLI since v1.33.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if permanent && deletable {
				return errors.New("--permanent and --deletable are mutually exclusive")
			}
			if epochs == 0 {
				return errors.New("--epochs must be at least 1")
			}
			opts := client.StoreOptions{Epochs: epochs, Deletable: !permanent, Force: force, DryRun: dryRun}
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
			out := cmd.OutOrStdout()
			var results []storeOutput
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
				if !cf.json {
					printStoreResult(out, path, res)
				}
			}
			if cf.json {
				if err := printJSON(out, results); err != nil {
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
	f.Uint32Var(&epochs, "epochs", 1, "number of epochs to store the blobs for, from the current one")
	f.BoolVar(&permanent, "permanent", false, "store permanent blobs (cannot be deleted before they expire)")
	f.BoolVar(&deletable, "deletable", false, "store deletable blobs (the default)")
	f.BoolVar(&force, "force", false, "store even if the blob is already certified for long enough")
	f.BoolVar(&dryRun, "dry-run", false, "only print the blob IDs, encoded sizes and costs")
	f.StringVar(&sendTo, "send-object-to", "", "address that receives the blob objects (default the wallet's)")
	return cmd
}

// storeFile stores one file, refusing one over the network's maximum
// before reading it.
func storeFile(cmd *cobra.Command, c *client.Client, path string, opts client.StoreOptions, asJSON bool) (*client.StoreResult, error) {
	ctx := cmd.Context()
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
	blob, err := c.ReadBlobFrom(ctx, io.Reader(f), st.Size())
	if err != nil {
		return nil, err
	}
	progress, done := newProgress(cmd, asJSON, st.Size(), path)
	defer done()
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
		fmt.Fprintf(w, "Success: %s blob stored successfully.\nPath: %s\nBlob ID: %s\nSui object ID: %s\nUnencoded size: %s\nEncoded size (including replicated metadata): %s\nCost (excluding gas): %s WAL (storage was purchased, and a new blob object was registered)\nExpiry epoch (exclusive): %d\nEncoding type: %s\n",
			kind, path, n.BlobObject.BlobID, n.BlobObject.ID, humanBytes(n.BlobObject.Size), humanBytes(n.BlobObject.Storage.Size),
			formatWAL(n.Cost), n.BlobObject.Storage.EndEpoch, n.BlobObject.EncodingType)
	}
}
