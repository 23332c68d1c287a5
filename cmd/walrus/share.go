package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain"
)

func init() {
	register(newShareCmd)
	register(newFundSharedBlobCmd)
}

// shareOutput is `walrus share --json`: Walrus's ShareBlobOutput.
type shareOutput struct {
	SharedBlobObjectID chain.ObjectID `json:"sharedBlobObjectId"`
	Amount             *uint64        `json:"amount"`
}

// fundSharedBlobOutput is `walrus fund-shared-blob --json`: Walrus's
// FundSharedBlobOutput.
type fundSharedBlobOutput struct {
	Amount uint64 `json:"amount"`
}

func newShareCmd() *cobra.Command {
	var (
		cf       clientFlags
		objectID string
		amount   uint64
	)
	cmd := &cobra.Command{
		Use:   "share --blob-obj-id ID [--amount FROST]",
		Short: "Wrap a permanent blob the wallet owns into a shared blob anyone may fund and extend",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			oid, err := objectFlag("--blob-obj-id", objectID)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, true, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			sb, err := c.ShareBlob(ctx, oid, amount)
			if err != nil {
				return err
			}
			out := shareOutput{SharedBlobObjectID: sb.ID}
			if cmd.Flags().Changed("amount") {
				out.Amount = &amount
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			funded := ""
			if out.Amount != nil {
				funded = ", funded with " + formatWAL(amount) + " WAL"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Success: The blob has been shared, object id: %s%s\n", sb.ID, funded)
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&objectID, "blob-obj-id", "", "the (owned, permanent) blob object to share")
	cmd.Flags().Uint64Var(&amount, "amount", 0, "FROST from the wallet to fund the shared blob with")
	return cmd
}

func newFundSharedBlobCmd() *cobra.Command {
	var (
		cf       clientFlags
		objectID string
		amount   uint64
	)
	cmd := &cobra.Command{
		Use:   "fund-shared-blob --shared-blob-obj-id ID --amount FROST",
		Short: "Add WAL from the wallet to a shared blob's funds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			oid, err := objectFlag("--shared-blob-obj-id", objectID)
			if err != nil {
				return err
			}
			if amount == 0 {
				return errors.New("--amount must be at least 1 FROST")
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, true, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			if _, err := c.FundSharedBlob(ctx, oid, amount); err != nil {
				return err
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), fundSharedBlobOutput{Amount: amount})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Success: The blob has been funded with %s WAL\n", formatWAL(amount))
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&objectID, "shared-blob-obj-id", "", "the shared blob to fund")
	cmd.Flags().Uint64Var(&amount, "amount", 0, "FROST to add")
	return cmd
}

// objectFlag parses a required object ID flag.
func objectFlag(name, v string) (chain.ObjectID, error) {
	if v == "" {
		return chain.ObjectID{}, fmt.Errorf("%s is required", name)
	}
	id, err := chain.ParseObjectID(v)
	if err != nil {
		return chain.ObjectID{}, fmt.Errorf("%s: %w", name, err)
	}
	return id, nil
}
