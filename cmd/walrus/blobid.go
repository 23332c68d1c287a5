package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/encoding"
)

func init() { register(newBlobIDCmd) }

// defaultBlobIDShards is Walrus mainnet's shard count: with it, blob IDs equal
// mainnet's for the same bytes.
const defaultBlobIDShards = 1000

func newBlobIDCmd() *cobra.Command {
	var (
		nShards int
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "blob-id FILE",
		Short: "Print the blob ID of a file, without storing it",
		Long: `Encodes FILE with RS2 for --n-shards shards and prints its blob ID, the same
ID Walrus computes for the same bytes and shard count.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			c, err := encoding.New(nShards)
			if err != nil {
				return err
			}
			st, err := os.Stat(path)
			if err != nil {
				return err
			}
			if !st.Mode().IsRegular() {
				return fmt.Errorf("%s is not a regular file", path)
			}
			// Refuse an oversized file before reading it.
			if uint64(st.Size()) > c.MaxBlobSize() {
				return fmt.Errorf("%s: %w", path, &encoding.TooLargeError{Size: uint64(st.Size()), Max: c.MaxBlobSize(), N: nShards})
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			// The metadata alone gives the blob ID: the secondary slivers
			// need not be built.
			_, id, err := c.ComputeMetadata(data)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(struct {
					BlobID          encoding.BlobID `json:"blobId"`
					File            string          `json:"file"`
					UnencodedLength int             `json:"unencodedLength"`
					NShards         int             `json:"nShards"`
				}{id, path, len(data), nShards})
			}
			fmt.Fprintf(out, "Blob ID: %s\nFile: %s\nUnencoded size: %d B\nShards: %d\n", id, path, len(data), nShards)
			return nil
		},
	}
	cmd.Flags().IntVar(&nShards, "n-shards", defaultBlobIDShards, "number of shards to encode for")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
