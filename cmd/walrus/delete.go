package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
)

func init() { register(newDeleteCmd) }

func newDeleteCmd() *cobra.Command {
	var (
		cf               clientFlags
		blobID, objectID string
	)
	cmd := &cobra.Command{
		Use:   "delete (--blob-id ID | --object-id ID)",
		Short: "Delete deletable blobs the wallet owns",
		Long: `Deletes the wallet's deletable blob object --object-id, or every deletable
blob object of --blob-id the wallet owns, and returns their storage to the
wallet. Permanent blobs cannot be deleted. Copies others hold (caches, other
objects of the same blob) are not affected.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (blobID == "") == (objectID == "") {
				return errors.New("give exactly one of --blob-id and --object-id")
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, true, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			var deleted []client.DeleteResult
			if objectID != "" {
				oid, err := chain.ParseObjectID(objectID)
				if err != nil {
					return fmt.Errorf("--object-id: %w", err)
				}
				res, err := c.Delete(ctx, oid)
				if err != nil {
					return err
				}
				deleted = append(deleted, *res)
			} else {
				id, err := encoding.ParseBlobID(blobID)
				if err != nil {
					return fmt.Errorf("--blob-id: %w", err)
				}
				if deleted, err = c.DeleteBlobID(ctx, id); err != nil {
					return err
				}
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), deleted)
			}
			for _, d := range deleted {
				fmt.Fprintf(cmd.OutOrStdout(), "Success: Deleted blob object %s of blob %s; its storage (%s, until epoch %d) returned to the wallet.\n",
					d.ObjectID, d.BlobID, humanBytes(d.Storage.Size), d.Storage.EndEpoch)
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&blobID, "blob-id", "", "delete every deletable object of this blob ID the wallet owns")
	cmd.Flags().StringVar(&objectID, "object-id", "", "delete this blob object")
	return cmd
}
