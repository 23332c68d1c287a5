package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/sui"
)

func init() {
	register(newStakeCmd)
	register(newRequestWithdrawStakeCmd)
	register(newWithdrawStakeCmd)
	register(newListStakedWALCmd)
}

// The staking commands follow Walrus's (crates/walrus-service/src/client/
// cli/args.rs): stake --node-ids … --amounts …, request-withdraw-stake
// NODE_ID [STAKED_WAL_ID…], withdraw-stake STAKED_WAL_ID…, list-staked-wal,
// and print Walrus's JSON: {"stakedWal": […]}, {"stakedWals": […]} and
// {"stakedWalIds": […]}, each staked WAL object in Walrus's StakedWal form
// (id, state, node_id, principal, activation_epoch) and what we add to it
// (stakedWALOutput). Amounts are WAL as parseAmount reads them (units.go);
// JSON amounts are FROST.

// Stake statuses, as list-staked-wal shows them.
const (
	// statusPending: staked, counted from its activation epoch on. It can
	// be withdrawn at once with withdraw-stake, unless the committee of its
	// activation epoch is selected and counts it (then request-withdraw-
	// stake).
	statusPending = "pending"
	// statusActive: staked and earning; request-withdraw-stake starts its
	// withdrawal.
	statusActive = "active"
	// statusWithdrawing: withdrawal requested, withdrawable from its
	// withdraw epoch.
	statusWithdrawing = "withdrawing"
	// statusWithdrawable: its withdraw epoch has come: withdraw-stake pays
	// it out.
	statusWithdrawable = "withdrawable"
)

// stakeState is Walrus's StakedWalState in JSON: "Staked" or
// {"Withdrawing": epoch}.
type stakeState struct {
	Withdrawing *uint32
}

func (s stakeState) MarshalJSON() ([]byte, error) {
	if s.Withdrawing == nil {
		return []byte(`"Staked"`), nil
	}
	return fmt.Appendf(nil, `{"Withdrawing":%d}`, *s.Withdrawing), nil
}

func (s *stakeState) UnmarshalJSON(b []byte) error {
	if string(b) == `"Staked"` {
		s.Withdrawing = nil
		return nil
	}
	var w struct{ Withdrawing *uint32 }
	if err := json.Unmarshal(b, &w); err != nil || w.Withdrawing == nil {
		return fmt.Errorf("%w: stake state %s: want \"Staked\" or {\"Withdrawing\": epoch}", chain.ErrInvalidArgument, b)
	}
	s.Withdrawing = w.Withdrawing
	return nil
}

// stakedWALOutput is a staked WAL object as the staking commands print it:
// Walrus's StakedWal fields (snake_case, as Walrus writes them), then ours.
// Amounts in FROST.
type stakedWALOutput struct {
	ID              chain.ObjectID `json:"id"`
	State           stakeState     `json:"state"`
	NodeID          chain.NodeID   `json:"node_id"`
	Principal       uint64         `json:"principal"`
	ActivationEpoch uint32         `json:"activation_epoch"`

	// Status is statusPending, statusActive, statusWithdrawing or
	// statusWithdrawable.
	Status string `json:"status"`
	// Epoch is when the status next changes: the activation epoch of
	// pending stake, the withdraw epoch of stake being withdrawn; 0
	// otherwise.
	Epoch uint32 `json:"epoch,omitempty"`
	// WithdrawAtOnce is set on pending stake that withdraw-stake takes back
	// at once: no selected committee counts it yet. Pending stake that the
	// next committee counts needs request-withdraw-stake.
	WithdrawAtOnce bool `json:"withdraw_at_once,omitempty"`
	// Value is what the stake is worth, rewards included; Rewards is
	// Value − Principal: what it has earned.
	Value   uint64 `json:"value"`
	Rewards uint64 `json:"rewards"`
	// Epochs are the node's epochs the stake was active in, of those the
	// chain keeps (chain.NodeHistory), oldest first.
	Epochs []stakeEpoch `json:"epochs"`
}

// stakeEpoch is what a stake earned in one of its node's epochs.
type stakeEpoch struct {
	Epoch    uint32                 `json:"epoch"`
	Attested bool                   `json:"attested"`
	Verdict  chain.ChallengeVerdict `json:"verdict"`
	// PoolReward is what the node's stakers shared: its reward less the
	// commission. Reward is this stake's part of it, at its current share
	// of the pool's active stake (exact while nobody else joins or leaves
	// the pool).
	PoolReward uint64 `json:"pool_reward"`
	Reward     uint64 `json:"reward"`
}

// stakeView is what describing staked WAL needs of the chain: the current
// epoch, and each node's pool and history, read once per node.
type stakeView struct {
	ctx   context.Context
	c     chain.Chain
	epoch uint32
	phase chain.EpochPhase
	nodes map[chain.NodeID]chain.NodeInfo
	hist  map[chain.NodeID][]chain.NodeEpoch
	// next is the selected committee of epoch+1, read once when needed.
	next     *chain.Committee
	nextRead bool
}

func newStakeView(ctx context.Context, c chain.Chain) (*stakeView, error) {
	s, err := c.SystemState(ctx)
	if err != nil {
		return nil, err
	}
	return &stakeView{ctx: ctx, c: c, epoch: s.Epoch, phase: s.Phase, nodes: map[chain.NodeID]chain.NodeInfo{}, hist: map[chain.NodeID][]chain.NodeEpoch{}}, nil
}

// describe returns a staked WAL object as the commands print it.
func (v *stakeView) describe(s chain.StakedWAL) (stakedWALOutput, error) {
	out := stakedWALOutput{ID: s.ID, NodeID: s.NodeID, Principal: s.Principal, ActivationEpoch: s.ActivationEpoch,
		Value: s.Value, Epochs: []stakeEpoch{}}
	if s.Value > s.Principal {
		out.Rewards = s.Value - s.Principal
	}
	switch {
	case s.State == chain.StakeWithdrawing:
		we := s.WithdrawEpoch
		out.State.Withdrawing = &we
		out.Status, out.Epoch = statusWithdrawing, we
		if we <= v.epoch {
			out.Status = statusWithdrawable
		}
	case s.ActivationEpoch > v.epoch:
		out.Status, out.Epoch = statusPending, s.ActivationEpoch
	default:
		out.Status = statusActive
	}
	if out.Status == statusPending {
		counted, err := v.counted(s)
		out.WithdrawAtOnce = !counted
		return out, err
	}
	n, ok := v.nodes[s.NodeID]
	if !ok {
		var err error
		if n, err = v.c.Node(v.ctx, s.NodeID); err != nil {
			return out, err
		}
		h, err := v.c.NodeHistory(v.ctx, s.NodeID)
		if err != nil && !errors.Is(err, sui.ErrNotAvailable) { // Sui keeps none
			return out, err
		}
		v.nodes[s.NodeID], v.hist[s.NodeID] = n, h
	}
	for _, e := range v.hist[s.NodeID] {
		if e.Epoch < s.ActivationEpoch || (s.State == chain.StakeWithdrawing && e.Epoch >= s.WithdrawEpoch) {
			continue
		}
		se := stakeEpoch{Epoch: e.Epoch, Attested: e.Attested, Verdict: e.Verdict, PoolReward: e.Reward - e.Commission}
		// The stake's part of the pool: its value over the pool's active
		// stake, while its shares are in the pool.
		if out.Status != statusWithdrawable && n.Stake > 0 {
			se.Reward = mulDivFloor(se.PoolReward, min(s.Value, n.Stake), n.Stake)
		}
		out.Epochs = append(out.Epochs, se)
	}
	return out, nil
}

// counted reports whether a selected committee counts pending stake: that
// of its activation epoch, with its node a member.
func (v *stakeView) counted(s chain.StakedWAL) (bool, error) {
	if s.ActivationEpoch != v.epoch+1 || v.phase != chain.PhaseNextSelected {
		return false, nil
	}
	if !v.nextRead {
		com, err := v.c.Committee(v.ctx, v.epoch+1)
		if err != nil && !errors.Is(err, chain.ErrNoCommittee) {
			return false, err
		}
		v.next, v.nextRead = com, true
	}
	if v.next == nil {
		return false, nil
	}
	_, in := v.next.Index(s.NodeID)
	return in, nil
}

// mulDivFloor is ⌊a × b / c⌋ without overflow for b ≤ c.
func mulDivFloor(a, b, c uint64) uint64 {
	if c == 0 {
		return 0
	}
	q, r := a/c, a%c
	return q*b + r*b/c
}

// printStaked prints staked WAL objects as a table, then the epochs each
// earned in.
func printStaked(w io.Writer, list []stakedWALOutput) error {
	if len(list) == 0 {
		fmt.Fprintln(w, "No staked WAL.")
		return nil
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAKED WAL ID\tNODE ID\tPRINCIPAL (WAL)\tREWARDS (WAL)\tSTATUS\tEPOCH")
	for _, s := range list {
		epoch := "-"
		switch s.Status {
		case statusPending:
			epoch = fmt.Sprintf("activates in %d", s.Epoch)
		case statusWithdrawing:
			epoch = fmt.Sprintf("withdrawable from %d", s.Epoch)
		case statusWithdrawable:
			epoch = fmt.Sprintf("withdrawable since %d", s.Epoch)
		case statusActive:
			epoch = fmt.Sprintf("active since %d", s.ActivationEpoch)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.NodeID, formatWAL(s.Principal), formatWAL(s.Rewards), s.Status, epoch)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range list {
		if len(s.Epochs) == 0 {
			continue
		}
		fmt.Fprintf(w, "\nStaked WAL %s: %s principal, %s rewards\n", s.ID, formatAmount(s.Principal), formatAmount(s.Rewards))
		for _, e := range s.Epochs {
			fmt.Fprintf(w, "  epoch %d: challenges %s (attested: %v), pool earned %s WAL, this stake %s WAL\n",
				e.Epoch, e.Verdict, e.Attested, formatWAL(e.PoolReward), formatWAL(e.Reward))
		}
	}
	return nil
}

// walrusFlagNames maps the flag names Walrus accepts as aliases to ours.
func walrusFlagNames(aliases map[string]string) func(*pflag.FlagSet, string) pflag.NormalizedName {
	return func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if to, ok := aliases[name]; ok {
			return pflag.NormalizedName(to)
		}
		return pflag.NormalizedName(name)
	}
}

func newStakeCmd() *cobra.Command {
	var (
		cf      clientFlags
		nodeIDs []string
		amounts = []uint64{chain.FrostPerWAL}
	)
	cmd := &cobra.Command{
		Use:   "stake --node-ids ID… [--amounts WAL…]",
		Short: "Stake WAL with storage nodes' pools",
		Long: `Stakes WAL of the wallet with the pool of each --node-ids (alias --node-id).
--amounts (alias --amount) is one amount for every node or one per node, in
WAL (1.5) or FROST with a suffix (1500000000frost); default 1 WAL. The stake
becomes active next epoch, or the one after past the epoch's midpoint; until
then withdraw-stake takes it back at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(nodeIDs) == 0 {
				return errors.New("--node-ids: give at least one node")
			}
			if len(amounts) != 1 && len(amounts) != len(nodeIDs) {
				return fmt.Errorf("--amounts: give one amount or one per node (%d nodes, %d amounts)", len(nodeIDs), len(amounts))
			}
			nodes := make([]chain.NodeID, len(nodeIDs))
			for i, s := range nodeIDs {
				id, err := chain.ParseObjectID(s)
				if err != nil {
					return fmt.Errorf("--node-ids %q: %w", s, err)
				}
				nodes[i] = id
			}
			for _, a := range amounts {
				if a == 0 {
					return fmt.Errorf("--amounts: %w", &AmountError{Input: "0", Reason: "must be at least 1 FROST"})
				}
			}
			ctx := cmd.Context()
			w, closeFn, err := cf.openWallet(ctx, true)
			if err != nil {
				return err
			}
			defer closeFn()
			v, err := newStakeView(ctx, w.chain)
			if err != nil {
				return err
			}
			var staked []stakedWALOutput
			for i, node := range nodes {
				amount := amounts[min(i, len(amounts)-1)]
				sw, err := w.chain.Stake(ctx, w.signer, node, amount)
				if err != nil {
					return fmt.Errorf("staking %s WAL with node %s: %w%s", formatWAL(amount), node, err, doneSoFar(staked, outputID))
				}
				out, err := v.describe(sw)
				if err != nil {
					return err
				}
				staked = append(staked, out)
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), struct {
					StakedWal []stakedWALOutput `json:"stakedWal"`
				}{staked})
			}
			for _, s := range staked {
				fmt.Fprintf(cmd.OutOrStdout(), "Success: Staked %s with node %s.\nStaked WAL object ID: %s\nActivation epoch: %d\n",
					formatAmount(s.Principal), s.NodeID, s.ID, s.ActivationEpoch)
			}
			return nil
		},
	}
	cf.register(cmd)
	f := cmd.Flags()
	f.StringSliceVar(&nodeIDs, "node-ids", nil, "the nodes (staking pools) to stake with")
	f.Var(&amountsValue{frost: &amounts}, "amounts", "WAL to stake: one amount for all nodes or one per node (1.5, or 1500000000frost)")
	f.SetNormalizeFunc(walrusFlagNames(map[string]string{"node-id": "node-ids", "amount": "amounts"}))
	return cmd
}

// doneSoFar names the staked WAL objects a multi-object command had acted
// on before it failed, for its error: those changes stand.
func doneSoFar[T any](done []T, id func(T) chain.ObjectID) string {
	if len(done) == 0 {
		return ""
	}
	ids := make([]string, len(done))
	for i, d := range done {
		ids[i] = id(d).String()
	}
	return " (done before it: " + strings.Join(ids, ", ") + ")"
}

func outputID(s stakedWALOutput) chain.ObjectID { return s.ID }

func newRequestWithdrawStakeCmd() *cobra.Command {
	var (
		cf     clientFlags
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "request-withdraw-stake NODE_ID [STAKED_WAL_ID…]",
		Short: "Start withdrawing staked WAL from a storage node",
		Long: `Requests the withdrawal of the wallet's staked WAL objects with NODE_ID: the
ones named, or the only one there is. With several and none named, it lists
them. The WAL can be withdrawn (withdraw-stake) from the epoch printed. Stake
still pending is not requested: withdraw-stake takes it back at once.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			node, err := chain.ParseObjectID(args[0])
			if err != nil {
				return fmt.Errorf("NODE_ID %q: %w", args[0], err)
			}
			ids, err := parseObjectIDs("STAKED_WAL_ID", args[1:])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			w, closeFn, candidates, err := openStaked(ctx, &cf, func(s chain.StakedWAL) bool {
				return s.NodeID == node && s.State == chain.StakeStaked
			})
			if err != nil {
				return err
			}
			defer closeFn()
			if len(candidates) == 0 {
				return fmt.Errorf("%w: no staked WAL of this wallet is staked with node %s", chain.ErrNotFound, node)
			}
			v, err := newStakeView(ctx, w.chain)
			if err != nil {
				return err
			}
			targets := candidates
			if len(ids) > 0 {
				targets = nil
				for _, id := range ids {
					i := indexStaked(candidates, id)
					if i < 0 {
						return fmt.Errorf("%w: staked WAL %s is not staked with node %s in this wallet", chain.ErrNotFound, id, node)
					}
					targets = append(targets, candidates[i])
				}
			}
			out := cmd.OutOrStdout()
			if len(ids) == 0 && len(candidates) > 1 {
				list, err := describeAll(v, candidates)
				if err != nil {
					return err
				}
				if cf.json {
					return printJSON(out, struct {
						StakedWals []stakedWALOutput `json:"stakedWals"`
					}{list})
				}
				fmt.Fprintf(out, "The wallet has %d staked WAL objects with node %s; name the ones to withdraw:\n", len(list), node)
				return printStaked(out, list)
			}
			var done []stakedWALOutput
			for _, t := range targets {
				s := t
				if !dryRun {
					if s, err = w.chain.RequestWithdrawal(ctx, w.signer, t.ID); err != nil {
						if errors.Is(err, chain.ErrStakeNotActive) {
							err = fmt.Errorf("%w: it is pending (activates in epoch %d); withdraw it at once with 'walrus withdraw-stake %s'", err, t.ActivationEpoch, t.ID)
						}
						return fmt.Errorf("requesting the withdrawal of staked WAL %s: %w%s", t.ID, err, doneSoFar(done, outputID))
					}
				}
				d, err := v.describe(s)
				if err != nil {
					return err
				}
				done = append(done, d)
			}
			if cf.json {
				return printJSON(out, struct {
					StakedWals []stakedWALOutput `json:"stakedWals"`
				}{done})
			}
			for _, d := range done {
				if dryRun {
					fmt.Fprintf(out, "Dry run: would request the withdrawal of staked WAL %s (%s).\n", d.ID, formatAmount(d.Value))
					continue
				}
				fmt.Fprintf(out, "Success: Withdrawal of staked WAL %s requested.\nWithdrawable from epoch: %d\n", d.ID, d.Epoch)
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be requested without doing it")
	return cmd
}

func newWithdrawStakeCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "withdraw-stake STAKED_WAL_ID…",
		Short: "Withdraw staked WAL: pending stake at once, requested stake once its epoch has come",
		Long: `Pays out each staked WAL object to the wallet: stake whose requested
withdrawal epoch has come, with its rewards, or, at once, pending stake that
no selected committee counts yet (its principal).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := parseObjectIDs("STAKED_WAL_ID", args)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			w, closeFn, err := cf.openWallet(ctx, true)
			if err != nil {
				return err
			}
			defer closeFn()
			type withdrawn struct {
				ID     chain.ObjectID `json:"stakedWalId"`
				Amount uint64         `json:"amount"`
			}
			var done []withdrawn
			var total uint64
			for _, id := range ids {
				amount, err := w.chain.Withdraw(ctx, w.signer, id)
				if err != nil {
					return fmt.Errorf("withdrawing staked WAL %s: %w%s", id, err, doneSoFar(done, func(w withdrawn) chain.ObjectID { return w.ID }))
				}
				done = append(done, withdrawn{id, amount})
				total += amount
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), struct {
					StakedWalIDs []chain.ObjectID `json:"stakedWalIds"`
					Withdrawn    []withdrawn      `json:"withdrawn"`
					Total        uint64           `json:"total"`
				}{ids, done, total})
			}
			for _, d := range done {
				fmt.Fprintf(cmd.OutOrStdout(), "Success: Withdrew %s from staked WAL %s.\n", formatAmount(d.Amount), d.ID)
			}
			return nil
		},
	}
	cf.register(cmd)
	return cmd
}

func newListStakedWALCmd() *cobra.Command {
	var (
		cf                          clientFlags
		stakedOnly, withdrawingOnly bool
	)
	cmd := &cobra.Command{
		Use:   "list-staked-wal",
		Short: "List the wallet's staked WAL, with rewards and when each activates or becomes withdrawable",
		Long: `Lists the wallet's staked WAL objects: node, principal, rewards, status
(pending, active, withdrawing, withdrawable) and the epoch it activates in or
becomes withdrawable from, then what each earned in its node's last epochs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if stakedOnly && withdrawingOnly {
				return errors.New("--staked-only and --withdrawing-only are mutually exclusive")
			}
			ctx := cmd.Context()
			w, closeFn, list, err := openStaked(ctx, &cf, func(s chain.StakedWAL) bool {
				return !(stakedOnly && s.State != chain.StakeStaked) && !(withdrawingOnly && s.State != chain.StakeWithdrawing)
			})
			if err != nil {
				return err
			}
			defer closeFn()
			v, err := newStakeView(ctx, w.chain)
			if err != nil {
				return err
			}
			out, err := describeAll(v, list)
			if err != nil {
				return err
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), struct {
					StakedWals []stakedWALOutput `json:"stakedWals"`
				}{out})
			}
			return printStaked(cmd.OutOrStdout(), out)
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&stakedOnly, "staked-only", false, "only staked WAL that is staked (pending or active)")
	cmd.Flags().BoolVar(&withdrawingOnly, "withdrawing-only", false, "only staked WAL being withdrawn")
	return cmd
}

// openStaked opens the wallet and returns its staked WAL objects that keep
// accepts, and the function that closes the wallet's chain.
func openStaked(ctx context.Context, cf *clientFlags, keep func(chain.StakedWAL) bool) (*wallet, func(), []chain.StakedWAL, error) {
	w, closeFn, err := cf.openWallet(ctx, true)
	if err != nil {
		return nil, nil, nil, err
	}
	all, err := w.chain.StakedWAL(ctx, w.address())
	if err != nil {
		closeFn()
		return nil, nil, nil, err
	}
	var list []chain.StakedWAL
	for _, s := range all {
		if keep(s) {
			list = append(list, s)
		}
	}
	return w, closeFn, list, nil
}

// describeAll describes every staked WAL object of a list.
func describeAll(v *stakeView, list []chain.StakedWAL) ([]stakedWALOutput, error) {
	out := []stakedWALOutput{}
	for _, s := range list {
		d, err := v.describe(s)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func indexStaked(list []chain.StakedWAL, id chain.ObjectID) int {
	for i, s := range list {
		if s.ID == id {
			return i
		}
	}
	return -1
}

// parseObjectIDs parses positional object IDs, naming the argument.
func parseObjectIDs(what string, args []string) ([]chain.ObjectID, error) {
	ids := make([]chain.ObjectID, len(args))
	for i, a := range args {
		id, err := chain.ParseObjectID(a)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", what, a, err)
		}
		ids[i] = id
	}
	return ids, nil
}
