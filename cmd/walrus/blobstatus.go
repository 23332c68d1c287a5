package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
)

func init() { register(newBlobStatusCmd) }

func newBlobStatusCmd() *cobra.Command {
	var (
		cf     clientFlags
		file   string
		blobID string
		nodes  bool
	)
	cmd := &cobra.Command{
		Use:   "blob-status [BLOB_ID | --blob-id ID | --file FILE]",
		Short: "Show a blob's status on chain (and on the storage nodes)",
		Long: `Prints the status of a blob ID, or of --file's blob ID, on chain: whether it
is certified, permanent or deletable, until which epoch. --nodes also asks
every storage node what it stores.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if blobID != "" {
				// Walrus's CLI takes the ID as --blob-id.
				args = append(args, blobID)
			}
			if len(args) > 1 || (len(args) == 1) == (file != "") {
				return errors.New("give one of BLOB_ID, --blob-id or --file")
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, false, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			var id encoding.BlobID
			if file != "" {
				if id, err = fileBlobID(cmd, c, file); err != nil {
					return err
				}
			} else if id, err = parseBlobIDArg(args[0]); err != nil {
				return err
			}
			st, err := c.Status(ctx, id, client.StatusOptions{Nodes: nodes})
			if err != nil {
				return err
			}
			if cf.json {
				state, err := c.SystemState(ctx)
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), newBlobStatusOutput(st, file, &state))
			}
			printBlobStatus(cmd.OutOrStdout(), st)
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&blobID, "blob-id", "", "the blob ID (as Walrus's CLI takes it; same as the argument)")
	cmd.Flags().StringVar(&file, "file", "", "compute the blob ID of this file (for the network's shard count)")
	cmd.Flags().BoolVar(&nodes, "nodes", false, "also ask every storage node")
	return cmd
}

// blobStatusOutput is `walrus blob-status --json`: Walrus's
// BlobStatusOutput, and the nodes' answers with --nodes (ours).
type blobStatusOutput struct {
	BlobID                   encoding.BlobID     `json:"blobId"`
	File                     string              `json:"file,omitempty"`
	Status                   any                 `json:"status"`
	EstimatedExpiryTimestamp *time.Time          `json:"estimatedExpiryTimestamp,omitempty"`
	Nodes                    []client.NodeStatus `json:"nodes,omitempty"`
}

// newWalrusEventID is an event as Walrus prints Sui's EventID.
func newWalrusEventID(c *chain.Cursor) *client.EventID {
	if c == nil {
		return nil
	}
	return &client.EventID{TxDigest: c.Token, EventSeq: strconv.FormatUint(c.Seq, 10)}
}

type walrusDeletableCounts struct {
	CountDeletableTotal     uint32 `json:"countDeletableTotal"`
	CountDeletableCertified uint32 `json:"countDeletableCertified"`
}

// walrusBlobStatus is a blob's status in the JSON form of Walrus's
// BlobStatus (a serde enum: "nonexistent", {"invalid": …},
// {"permanent": …} or {"deletable": …}).
func walrusBlobStatus(s chain.BlobStatus) any {
	counts := walrusDeletableCounts{s.Deletable.Registered, s.Deletable.Certified}
	switch s.Kind {
	case chain.BlobInvalid:
		return map[string]any{"invalid": struct {
			Event *client.EventID `json:"event"`
		}{newWalrusEventID(s.Event)}}
	case chain.BlobPermanent:
		return map[string]any{"permanent": struct {
			EndEpoch              uint32                `json:"endEpoch"`
			IsCertified           bool                  `json:"isCertified"`
			StatusEvent           *client.EventID       `json:"statusEvent"`
			DeletableCounts       walrusDeletableCounts `json:"deletableCounts"`
			InitialCertifiedEpoch *uint32               `json:"initialCertifiedEpoch"`
		}{s.EndEpoch, s.IsCertified, newWalrusEventID(s.Event), counts, s.InitialCertifiedEpoch}}
	case chain.BlobDeletable:
		return map[string]any{"deletable": struct {
			InitialCertifiedEpoch *uint32               `json:"initialCertifiedEpoch"`
			DeletableCounts       walrusDeletableCounts `json:"deletableCounts"`
		}{s.InitialCertifiedEpoch, counts}}
	}
	return "nonexistent"
}

// newBlobStatusOutput builds Walrus's output; a permanent blob's expiry is
// estimated as Walrus does: the current epoch's start plus an epoch per
// epoch left.
func newBlobStatusOutput(st *client.BlobStatus, file string, state *chain.SystemState) blobStatusOutput {
	out := blobStatusOutput{BlobID: st.BlobID, File: file, Status: walrusBlobStatus(st.Status), Nodes: st.Nodes}
	if s := st.Status; s.Kind == chain.BlobPermanent && s.EndEpoch > state.Epoch {
		t := state.EpochStart.Add(state.EpochDuration * time.Duration(s.EndEpoch-state.Epoch)).UTC()
		out.EstimatedExpiryTimestamp = &t
	}
	return out
}

// fileBlobID encodes a file for the network's shard count.
func fileBlobID(cmd *cobra.Command, c *client.Client, path string) (encoding.BlobID, error) {
	state, err := c.SystemState(cmd.Context())
	if err != nil {
		return encoding.BlobID{}, err
	}
	codec, err := encoding.New(state.NShards)
	if err != nil {
		return encoding.BlobID{}, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return encoding.BlobID{}, err
	}
	if uint64(st.Size()) > codec.MaxBlobSize() {
		return encoding.BlobID{}, &encoding.TooLargeError{Size: uint64(st.Size()), Max: codec.MaxBlobSize(), N: state.NShards}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return encoding.BlobID{}, err
	}
	_, id, err := codec.ComputeMetadata(data)
	return id, err
}

func printBlobStatus(w io.Writer, st *client.BlobStatus) {
	s := st.Status
	switch s.Kind {
	case chain.BlobNonexistent:
		fmt.Fprintf(w, "Blob ID %s does not exist within Walrus (current epoch %d).\n", st.BlobID, st.Epoch)
	case chain.BlobInvalid:
		fmt.Fprintf(w, "Blob ID %s is marked invalid: it was inconsistently encoded.\n", st.BlobID)
	case chain.BlobPermanent:
		state := "registered (not certified)"
		if s.IsCertified {
			state = "certified"
		}
		fmt.Fprintf(w, "Blob ID %s is %s as a permanent blob.\nExpiry epoch (exclusive): %d\n", st.BlobID, state, s.EndEpoch)
	case chain.BlobDeletable:
		fmt.Fprintf(w, "Blob ID %s is stored as deletable blobs only.\n", st.BlobID)
	}
	if s.Kind != chain.BlobNonexistent && s.Kind != chain.BlobInvalid {
		if s.InitialCertifiedEpoch != nil {
			fmt.Fprintf(w, "Initially certified in epoch: %d\n", *s.InitialCertifiedEpoch)
		}
		fmt.Fprintf(w, "Deletable blob objects: %d (%d certified)\n", s.Deletable.Registered, s.Deletable.Certified)
		if s.Event != nil {
			fmt.Fprintf(w, "Event: %s\n", s.Event)
		}
	}
	if len(st.Nodes) > 0 {
		fmt.Fprintln(w, "\nStorage nodes:")
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NODE\tSHARDS\tSTATE\tMETADATA\tSLIVERS\tERROR")
		for _, n := range st.Nodes {
			if n.Status == nil {
				fmt.Fprintf(tw, "%s\t%d\t-\t-\t-\t%s\n", n.Name, n.Shards, n.Error)
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%v\t%d/%d\t\n", n.Name, n.Shards, n.State, n.Status.HasMetadata, n.Status.StoredSlivers, 2*n.Shards)
		}
		tw.Flush()
	}
}
