package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain"
)

func init() {
	register(newStakeCmd)
	register(newRequestWithdrawStakeCmd)
	register(newWithdrawStakeCmd)
	register(newListStakedWALCmd)
}

func newStakeCmd() *cobra.Command {
	var (
		cf     clientFlags
		nodeID string
		amount uint64
	)
	cmd := &cobra.Command{
		Use:   "stake --node-id ID --amount FROST",
		Short: "Stake WAL with a storage node's pool",
		Long: `Stakes --amount FROST of the wallet with the pool of --node-id. The stake
becomes active next epoch (or the one after, past the epoch's midpoint).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			node, err := chain.ParseObjectID(nodeID)
			if err != nil {
				return fmt.Errorf("--node-id: %w", err)
			}
			if amount == 0 {
				return errors.New("--amount must be at least 1 FROST")
			}
			ctx := cmd.Context()
			w, closeFn, err := cf.openWallet(ctx, true)
			if err != nil {
				return err
			}
			defer closeFn()
			sw, err := w.chain.Stake(ctx, w.signer, node, amount)
			if err != nil {
				return err
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), sw)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Success: Staked %s WAL with node %s.\nStaked WAL object ID: %s\nActivation epoch: %d\n",
				formatWAL(sw.Principal), sw.NodeID, sw.ID, sw.ActivationEpoch)
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&nodeID, "node-id", "", "the node (staking pool) to stake with")
	cmd.Flags().Uint64Var(&amount, "amount", 0, "FROST to stake (1 WAL = 10^9 FROST)")
	return cmd
}

// stakedCmd builds request-withdraw-stake and withdraw-stake, which act on
// one staked WAL object.
func stakedCmd(use, short string, run func(cmd *cobra.Command, cf *clientFlags, id chain.ObjectID) error) *cobra.Command {
	var (
		cf       clientFlags
		stakedID string
	)
	cmd := &cobra.Command{
		Use:   use + " --staked-wal-id ID",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := chain.ParseObjectID(stakedID)
			if err != nil {
				return fmt.Errorf("--staked-wal-id: %w", err)
			}
			return run(cmd, &cf, id)
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&stakedID, "staked-wal-id", "", "the staked WAL object")
	return cmd
}

func newRequestWithdrawStakeCmd() *cobra.Command {
	return stakedCmd("request-withdraw-stake", "Start withdrawing staked WAL", func(cmd *cobra.Command, cf *clientFlags, id chain.ObjectID) error {
		ctx := cmd.Context()
		w, closeFn, err := cf.openWallet(ctx, true)
		if err != nil {
			return err
		}
		defer closeFn()
		sw, err := w.chain.RequestWithdrawal(ctx, w.signer, id)
		if err != nil {
			return err
		}
		if cf.json {
			return printJSON(cmd.OutOrStdout(), sw)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Success: Withdrawal of staked WAL %s requested.\nWithdrawable from epoch: %d\n", sw.ID, sw.WithdrawEpoch)
		return nil
	})
}

func newWithdrawStakeCmd() *cobra.Command {
	return stakedCmd("withdraw-stake", "Withdraw staked WAL whose withdrawal epoch has come", func(cmd *cobra.Command, cf *clientFlags, id chain.ObjectID) error {
		ctx := cmd.Context()
		w, closeFn, err := cf.openWallet(ctx, true)
		if err != nil {
			return err
		}
		defer closeFn()
		amount, err := w.chain.Withdraw(ctx, w.signer, id)
		if err != nil {
			return err
		}
		if cf.json {
			return printJSON(cmd.OutOrStdout(), struct {
				StakedWALID chain.ObjectID `json:"stakedWalId"`
				Amount      uint64         `json:"amount"`
			}{id, amount})
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Success: Withdrew %s WAL from staked WAL %s.\n", formatWAL(amount), id)
		return nil
	})
}

func newListStakedWALCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "list-staked-wal",
		Short: "List the wallet's staked WAL",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			w, closeFn, err := cf.openWallet(ctx, true)
			if err != nil {
				return err
			}
			defer closeFn()
			list, err := w.chain.StakedWAL(ctx, w.address())
			if err != nil {
				return err
			}
			if cf.json {
				if list == nil {
					list = []chain.StakedWAL{}
				}
				return printJSON(cmd.OutOrStdout(), list)
			}
			if len(list) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No staked WAL.")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STAKED WAL ID\tNODE ID\tPRINCIPAL\tVALUE\tSTATE\tACTIVATION\tWITHDRAW FROM")
			for _, s := range list {
				w := "-"
				if s.State == chain.StakeWithdrawing {
					w = fmt.Sprint(s.WithdrawEpoch)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s WAL\t%s WAL\t%s\t%d\t%s\n", s.ID, s.NodeID, formatWAL(s.Principal), formatWAL(s.Value), s.State, s.ActivationEpoch, w)
			}
			return tw.Flush()
		},
	}
	cf.register(cmd)
	return cmd
}
