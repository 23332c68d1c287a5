package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
)

func init() { register(newExtendCmd) }

// extendOutput is `walrus extend --json`.
// It is Walrus's ExtendBlobOutput (epochsExtended) with the extended object
// and the cost (ours).
type extendOutput struct {
	EpochsExtended uint32            `json:"epochsExtended"`
	BlobObject     client.BlobObject `json:"blobObject"`
	Cost           uint64            `json:"cost"`
}

func newExtendCmd() *cobra.Command {
	var (
		cf       clientFlags
		objectID string
		epochs   uint32
		shared   bool
	)
	cmd := &cobra.Command{
		Use:   "extend --blob-obj-id ID --epochs-extended N",
		Short: "Extend a certified blob the wallet owns by some epochs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if objectID == "" {
				return errors.New("--blob-obj-id is required")
			}
			oid, err := chain.ParseObjectID(objectID)
			if err != nil {
				return fmt.Errorf("--blob-obj-id: %w", err)
			}
			if epochs == 0 {
				return errors.New("--epochs-extended must be at least 1")
			}
			if shared {
				return fmt.Errorf("--shared: %w", errSharedBlobs)
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, true, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			res, err := c.Extend(ctx, oid, epochs)
			if err != nil {
				return err
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), extendOutput{EpochsExtended: epochs, BlobObject: client.NewBlobObject(res.Blob), Cost: res.Cost})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Success: A blob object was extended.\nSui object ID: %s\nBlob ID: %s\nNew expiry epoch (exclusive): %d\nCost (excluding gas): %s WAL\n",
				res.Blob.ID, res.Blob.BlobID, res.Blob.EndEpoch(), formatWAL(res.Cost))
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&objectID, "blob-obj-id", "", "the blob object to extend")
	cmd.Flags().Uint32Var(&epochs, "epochs-extended", 0, "number of epochs to add")
	cmd.Flags().BoolVar(&shared, "shared", false, "the object is a shared blob (Walrus's shared_blob)")
	return cmd
}
