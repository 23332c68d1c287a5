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
				return fmt.Errorf("--amount must be at least 1 FROST")
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, true, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			if _, err := c.Chain().RequestWAL(ctx, c.Signer(), amount); err != nil {
				return err
			}
			bal, err := c.Chain().Balance(ctx, c.Address())
			if err != nil {
				return err
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), struct {
					Address chain.Address `json:"address"`
					Amount  uint64        `json:"amount"`
					Balance uint64        `json:"balance"`
				}{c.Address(), amount, bal})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Success: Received %s WAL.\nAddress: %s\nBalance: %s WAL\n", formatWAL(amount), c.Address(), formatWAL(bal))
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().Uint64Var(&amount, "amount", defaultGetWALAmount, "FROST to request (1 WAL = 10^9 FROST)")
	return cmd
}
