package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain"
)

func init() { register(newGetWALCmd) }

// defaultGetWALAmount is what get-wal asks the faucet for: 100 WAL.
const defaultGetWALAmount = 100 * chain.FrostPerWAL

func newGetWALCmd() *cobra.Command {
	var (
		cf     clientFlags
		amount uint64
	)
	cmd := &cobra.Command{
		Use:   "get-wal",
		Short: "Get WAL for the wallet from the local chain's faucet",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if amount == 0 {
				return fmt.Errorf("--amount: %w", &AmountError{Input: "0", Reason: "must be at least 1 FROST"})
			}
			ctx := cmd.Context()
			w, closeFn, err := cf.openWallet(ctx, true)
			if err != nil {
				return err
			}
			defer closeFn()
			if _, err := w.chain.RequestWAL(ctx, w.signer, amount); err != nil {
				return err
			}
			bal, err := w.chain.Balance(ctx, w.address())
			if err != nil {
				return err
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), struct {
					Address chain.Address `json:"address"`
					Amount  uint64        `json:"amount"`
					Balance uint64        `json:"balance"`
				}{w.address(), amount, bal})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Success: Received %s WAL.\nAddress: %s\nBalance: %s WAL\n", formatWAL(amount), w.address(), formatWAL(bal))
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().Var(newAmountValue(&amount, defaultGetWALAmount), "amount", "WAL to request (1.5, or 1500000000frost)")
	return cmd
}
