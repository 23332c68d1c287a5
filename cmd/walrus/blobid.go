package main

import (
	"fmt"
	"os"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/encoding"
)

func init() { register(newBlobIDCmd) }

// defaultBlobIDShards is Walrus mainnet's shard count: with it, blob IDs equal
// mainnet's for the same bytes. blob-id uses it when neither --n-shards nor
// a client config names a network.
const defaultBlobIDShards = 1000

// blobIDOutput is `walrus blob-id --json`: Walrus's BlobIdOutput, and the
// shard count it was computed for (ours).
type blobIDOutput struct {
	BlobID          encoding.BlobID `json:"blobId"`
	File            string          `json:"file"`
	UnencodedLength uint64          `json:"unencodedLength"`
	EncodingType    string          `json:"encodingType"`
	NShards         int             `json:"nShards"`
}

func newBlobIDCmd() *cobra.Command {
	var (
		cf      clientFlags
		nShards int
	)
	cmd := &cobra.Command{
		Use:   "blob-id FILE",
		Short: "Print the blob ID of a file, without storing it",
		Long: `Encodes FILE with RS2 and prints its blob ID, the same ID Walrus computes for
the same bytes and shard count. The shard count is --n-shards, else the
configured network's (the client config's context), else ` + fmt.Sprint(defaultBlobIDShards) + ` (Walrus mainnet's).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if !cmd.Flags().Changed("n-shards") {
				n, err := cf.networkShards(cmd)
				if err != nil {
					return err
				}
				if n > 0 {
					nShards = n
				}
			}
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
			data, unmap, err := mapFile(path)
			if err != nil {
				return err
			}
			defer unmap()
			// The metadata alone gives the blob ID: the secondary slivers
			// need not be built.
			_, id, err := c.ComputeMetadata(data)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			out := blobIDOutput{BlobID: id, File: path, UnencodedLength: uint64(len(data)), EncodingType: "RS2", NShards: nShards}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Success: Blob from file '%s' encoded successfully.\nUnencoded size: %d\nBlob ID: %s\nEncoding type: %s\nShards: %d\n",
				out.File, out.UnencodedLength, out.BlobID, out.EncodingType, out.NShards)
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().IntVar(&nShards, "n-shards", defaultBlobIDShards, "number of shards to encode for (default: the configured network's, else 1000)")
	return cmd
}

// networkShards returns the shard count of the configured network, or 0
// when no config file names one (and none was asked for).
func (f *clientFlags) networkShards(cmd *cobra.Command) (int, error) {
	if !f.hasNetwork() {
		return 0, nil
	}
	w, closeFn, err := f.openWallet(cmd.Context(), false)
	if err != nil {
		return 0, err
	}
	defer closeFn()
	st, err := w.chain.SystemState(cmd.Context())
	if err != nil {
		return 0, fmt.Errorf("reading the network's shard count (or give --n-shards): %w", err)
	}
	return st.NShards, nil
}

// mapFile maps the file at path read-only and returns its bytes and the
// function that unmaps them. Mapping the page cache in place saves reading a
// copy of the file into fresh memory: for a 64 MiB file at n = 1000 the copy
// and its page faults were 6% of blob-id's CPU time (perf). Like a read
// racing a writer, a file changed meanwhile gives a blob ID of no version of
// it; one truncated meanwhile ends the process with SIGBUS.
func mapFile(path string) ([]byte, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 {
		return nil, func() {}, nil
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mapping %s: %w", path, err)
	}
	return data, func() { _ = syscall.Munmap(data) }, nil
}
