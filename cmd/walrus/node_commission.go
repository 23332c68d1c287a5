package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/backend"
	"github.com/walrus-go/walrus/node"
)

// errInvalidCommission marks a commission rate that does not parse.
var errInvalidCommission = errors.New("invalid commission rate")

// parseCommission reads a commission rate: basis points ("1000" is 10%)
// or a percentage with a "%" ("10%", "12.5%", at most two decimals), at
// most 100%.
func parseCommission(s string) (uint16, error) {
	bad := func(reason string) (uint16, error) {
		return 0, fmt.Errorf("%w %q: %s (give basis points, 1000 = 10%%, or a percentage, 10%%)", errInvalidCommission, s, reason)
	}
	t := strings.TrimSpace(s)
	var bps uint64
	if pct, ok := strings.CutSuffix(t, "%"); ok {
		whole, frac, hasPoint := strings.Cut(strings.TrimSpace(pct), ".")
		if !allDigits(whole) || (hasPoint && !allDigits(frac)) {
			return bad("not a number")
		}
		if len(frac) > 2 {
			return bad("more than two decimals (1 basis point is 0.01%)")
		}
		w, err := strconv.ParseUint(whole, 10, 32)
		if err != nil {
			return bad("too large")
		}
		f, _ := strconv.ParseUint(frac+strings.Repeat("0", 2-len(frac)), 10, 32)
		bps = w*100 + f
	} else {
		if !allDigits(t) {
			return bad("not a whole number of basis points")
		}
		v, err := strconv.ParseUint(t, 10, 32)
		if err != nil {
			return bad("too large")
		}
		bps = v
	}
	if bps > chain.MaxCommission {
		return bad("more than 100%")
	}
	return uint16(bps), nil
}

// operator is a node's operator account and the node, resolved from the
// node's config: its node_id, else --node-id, else the one node the account
// operates.
type operator struct {
	chain   chain.Chain
	account *chain.AccountKey
	node    chain.NodeInfo
}

// operatorFlags are the flags of the commands an operator signs.
type operatorFlags struct {
	config, nodeID, chainURL string
	json                     bool
}

func (f *operatorFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "the node's config file (its account key signs)")
	fl.StringVar(&f.nodeID, "node-id", "", "the node (default: the config's node_id, else the one node its account operates)")
	fl.StringVar(&f.chainURL, "chain", "", "the chain's HTTP API, overriding the config's chain_url")
	fl.BoolVar(&f.json, "json", false, "print JSON")
}

func (f *operatorFlags) open(ctx context.Context) (*operator, func(), error) {
	configPath, nodeID := f.config, f.nodeID
	if configPath == "" {
		return nil, nil, errors.New("--config is required (the node's config: its account key signs)")
	}
	cfg, err := node.LoadConfig(configPath)
	if err != nil {
		return nil, nil, err
	}
	// Load, never create: a missing key means a wrong config.
	acct, err := chain.LoadAccountKey(cfg.AccountKeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("the node's account key: %w", err)
	}
	if nodeID == "" {
		nodeID = cfg.NodeID
	}
	if f.chainURL != "" {
		cfg.Chain = backend.Config{ChainURL: f.chainURL}
	}
	c, err := backend.Open(ctx, cfg.Chain)
	if err != nil {
		return nil, nil, err
	}
	op := &operator{chain: c, account: acct}
	closeFn := func() { c.Close() }
	if err := op.resolve(ctx, nodeID); err != nil {
		closeFn()
		return nil, nil, err
	}
	return op, closeFn, nil
}

func (o *operator) resolve(ctx context.Context, nodeID string) error {
	if nodeID != "" {
		id, err := chain.ParseObjectID(nodeID)
		if err != nil {
			return fmt.Errorf("--node-id: %w", err)
		}
		if o.node, err = o.chain.Node(ctx, id); err != nil {
			return err
		}
		if o.node.Operator != o.account.Address() {
			return fmt.Errorf("%w: node %s is operated by %s, not by this node's account %s", chain.ErrNotOwner, id, o.node.Operator, o.account.Address())
		}
		return nil
	}
	nodes, err := o.chain.Nodes(ctx)
	if err != nil {
		return err
	}
	var mine []chain.NodeInfo
	for _, n := range nodes {
		if n.Operator == o.account.Address() {
			mine = append(mine, n)
		}
	}
	switch len(mine) {
	case 0:
		return fmt.Errorf("%w: account %s operates no node; register it first (walrus node register)", chain.ErrUnknownNode, o.account.Address())
	case 1:
		o.node = mine[0]
		return nil
	}
	return fmt.Errorf("account %s operates %d nodes: pick one with --node-id", o.account.Address(), len(mine))
}

func newNodeSetCommissionCmd() *cobra.Command {
	var (
		of   operatorFlags
		rate string
	)
	cmd := &cobra.Command{
		Use:   "set-commission --config FILE --commission-rate RATE",
		Short: "Set the node's commission rate, from the next epoch",
		Long: `Sets the operator's share of the node's rewards, signed by the node's
account key. RATE is basis points (1000 is 10%) or a percentage (10%); it
takes effect at the next epoch.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rate == "" {
				return errors.New("--commission-rate is required")
			}
			bps, err := parseCommission(rate)
			if err != nil {
				return fmt.Errorf("--commission-rate: %w", err)
			}
			ctx := cmd.Context()
			op, closeFn, err := of.open(ctx)
			if err != nil {
				return err
			}
			defer closeFn()
			info, err := op.chain.UpdateNode(ctx, op.account, op.node.ID, chain.UpdateNodeArgs{Commission: &bps})
			if err != nil {
				return err
			}
			s, err := op.chain.SystemState(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if of.json {
				return printJSON(out, struct {
					NodeID             chain.NodeID `json:"nodeId"`
					CommissionRate     uint16       `json:"commissionRate"`
					NextCommissionRate uint16       `json:"nextCommissionRate"`
					FromEpoch          uint32       `json:"fromEpoch"`
				}{info.ID, info.Commission, info.NextCommission, s.Epoch + 1})
			}
			fmt.Fprintf(out, "Success: Commission of node %s set to %s%% from epoch %d (now %s%%).\n",
				info.ID, formatBPS(info.NextCommission), s.Epoch+1, formatBPS(info.Commission))
			return nil
		},
	}
	of.register(cmd)
	cmd.Flags().StringVar(&rate, "commission-rate", "", "basis points (1000 = 10%) or a percentage (10%)")
	return cmd
}

func newNodeCollectCommissionCmd() *cobra.Command {
	var of operatorFlags
	cmd := &cobra.Command{
		Use:   "collect-commission --config FILE",
		Short: "Pay the node's accrued commission to its operator",
		Long: `Pays the commission the node has earned and not yet collected to its
operator account (the node's account key signs), as Walrus's 'node-admin
collect-commission'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			op, closeFn, err := of.open(ctx)
			if err != nil {
				return err
			}
			defer closeFn()
			amount, err := op.chain.CollectCommission(ctx, op.account, op.node.ID)
			if err != nil {
				return err
			}
			bal, err := op.chain.Balance(ctx, op.account.Address())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if of.json {
				return printJSON(out, struct {
					NodeID   chain.NodeID  `json:"nodeId"`
					Operator chain.Address `json:"operator"`
					Amount   uint64        `json:"amount"`
					Balance  uint64        `json:"balance"`
				}{op.node.ID, op.account.Address(), amount, bal})
			}
			if amount == 0 {
				fmt.Fprintf(out, "No commission accrued for node %s.\n", op.node.ID)
				return nil
			}
			fmt.Fprintf(out, "Success: Collected %s of commission from node %s.\nOperator %s balance: %s\n",
				formatAmount(amount), op.node.ID, op.account.Address(), formatAmount(bal))
			return nil
		},
	}
	of.register(cmd)
	return cmd
}
