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
	// SharedBlobObject and Funds are set for extend --shared: the shared
	// blob extended and the funds it has left.
	SharedBlobObject *chain.ObjectID `json:"sharedBlobObject,omitempty"`
	Funds            *uint64         `json:"funds,omitempty"`
}

func newExtendCmd() *cobra.Command {
	var (
		cf       clientFlags
		objectID string
		epochs   uint32
		shared   bool
	)
	cmd := &cobra.Command{
		Use:   "extend --blob-obj-id ID --epochs-extended N [--shared]",
		Short: "Extend a certified blob the wallet owns, or a shared blob, by some epochs",
		Long: `Extends a certified blob object the wallet owns by some epochs, paying from
the wallet. With --shared, --blob-obj-id names a shared blob (walrus share,
store --share), which anyone may extend: the extension is paid from the shared
blob's funds (walrus fund-shared-blob), not from the wallet.`,
		Args: cobra.NoArgs,
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
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, true, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			if shared {
				res, err := c.ExtendShared(ctx, oid, epochs)
				if err != nil {
					return err
				}
				sb := res.Shared
				if cf.json {
					return printJSON(cmd.OutOrStdout(), extendOutput{EpochsExtended: epochs, BlobObject: client.NewBlobObject(sb.Blob),
						Cost: res.Cost, SharedBlobObject: &sb.ID, Funds: &sb.Funds})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Success: The blob has been extended by %d epochs.\nShared blob object ID: %s\nSui object ID: %s\nBlob ID: %s\nNew expiry epoch (exclusive): %d\nCost (paid from the shared blob's funds): %s WAL\nFunds left: %s WAL\n",
					epochs, sb.ID, sb.Blob.ID, sb.Blob.BlobID, sb.Blob.EndEpoch(), formatWAL(res.Cost), formatWAL(sb.Funds))
				return nil
			}
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
	cmd.Flags().BoolVar(&shared, "shared", false, "--blob-obj-id is a shared blob, extended from its funds")
	return cmd
}
