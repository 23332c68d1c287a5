package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
)

func init() { register(newHealthCmd) }

// Node states of `walrus health`, in Walrus's words where they exist.
const (
	healthActive  = "Active"
	healthLagging = "Lagging"
	healthError   = "Error"
)

// nodeHealthOutput is one node's entry of `walrus health --json`, as
// Walrus's NodeHealthOutput: healthInfo is {"Ok": …} or {"Err": "…"}.
type nodeHealthOutput struct {
	NodeID           chain.NodeID `json:"nodeId"`
	NodeURL          string       `json:"nodeUrl"`
	NodeName         string       `json:"nodeName"`
	NetworkPublicKey string       `json:"networkPublicKey"`
	HealthInfo       healthResult `json:"healthInfo"`
}

type healthResult struct {
	Ok  *serviceHealthInfo `json:"Ok,omitempty"`
	Err *string            `json:"Err,omitempty"`
}

// serviceHealthInfo is the part of Walrus's ServiceHealthInfo our nodes
// answer over libp2p (no uptime or event progress: those are on the node's
// admin /health).
type serviceHealthInfo struct {
	Epoch        uint32             `json:"epoch"`
	PublicKey    chain.BLSPublicKey `json:"publicKey"`
	NodeStatus   string             `json:"nodeStatus"`
	ShardSummary shardStatusSummary `json:"shardSummary"`
}

type shardStatusSummary struct {
	Owned            int              `json:"owned"`
	OwnedShardStatus ownedShardStatus `json:"ownedShardStatus"`
	ReadOnly         int              `json:"readOnly"`
}

type ownedShardStatus struct {
	Unknown    int `json:"unknown"`
	Ready      int `json:"ready"`
	InTransfer int `json:"inTransfer"`
	InRecovery int `json:"inRecovery"`
}

// healthOutput is `walrus health --json`: Walrus's ServiceHealthInfoOutput
// (latestSeq is Sui's checkpoint; null here).
type healthOutput struct {
	HealthInfo []nodeHealthOutput `json:"healthInfo"`
	LatestSeq  *uint64            `json:"latestSeq"`
}

func newHealthCmd() *cobra.Command {
	var (
		cf        clientFlags
		committee bool
		nodeIDs   []string
	)
	cmd := &cobra.Command{
		Use:   "health [--committee | --node-ids ID...]",
		Short: "Print the health of the committee's storage nodes",
		Long: `Asks every storage node of the current committee (--committee, the default)
or the nodes --node-ids over libp2p how it is (listed by name): its epoch and the shards it
holds, against the chain's. A node is Active when it answers in the chain's
epoch with its committee shards, Lagging when it answers for another epoch
or shard count, Error when it does not answer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if committee && len(nodeIDs) > 0 {
				return errors.New("give one of --committee and --node-ids")
			}
			var want []chain.NodeID
			for _, s := range nodeIDs {
				id, err := chain.ParseObjectID(s)
				if err != nil {
					return fmt.Errorf("--node-ids: %w", err)
				}
				want = append(want, id)
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, false, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			state, err := c.SystemState(ctx)
			if err != nil {
				return err
			}
			com, err := c.Committee(ctx)
			if err != nil {
				return err
			}
			// The status of a blob no one stores: every node answers it
			// with its epoch and shard count.
			st, err := c.Status(ctx, encoding.BlobID{}, client.StatusOptions{Nodes: true})
			if err != nil {
				return err
			}
			var out healthOutput
			for i, m := range com.Members {
				if len(want) > 0 && !slices.Contains(want, m.NodeID) {
					continue
				}
				out.HealthInfo = append(out.HealthInfo, nodeHealth(&m, &st.Nodes[i], state.Epoch))
			}
			for _, id := range want {
				if _, ok := com.Index(id); !ok {
					msg := "not a member of the current committee"
					out.HealthInfo = append(out.HealthInfo, nodeHealthOutput{NodeID: id, HealthInfo: healthResult{Err: &msg}})
				}
			}
			// By name, so that a devnet's devnet-0, devnet-1 … come in order.
			slices.SortStableFunc(out.HealthInfo, func(a, b nodeHealthOutput) int { return strings.Compare(a.NodeName, b.NodeName) })
			if cf.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			printHealth(cmd.OutOrStdout(), &out, state.Epoch)
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&committee, "committee", false, "every node of the current committee (the default)")
	cmd.Flags().StringSliceVar(&nodeIDs, "node-ids", nil, "only these nodes (their IDs)")
	cmd.Flags().StringSliceVar(&nodeIDs, "node-id", nil, "same as --node-ids")
	cmd.Flags().MarkHidden("node-id")
	return cmd
}

// nodeHealth judges one member from its answer.
func nodeHealth(m *chain.Member, ns *client.NodeStatus, epoch uint32) nodeHealthOutput {
	o := nodeHealthOutput{NodeID: m.NodeID, NodeName: m.Name, NetworkPublicKey: m.PeerID}
	if len(m.Addresses) > 0 {
		o.NodeURL = m.Addresses[0]
	}
	if ns.Status == nil {
		msg := ns.Error
		o.HealthInfo.Err = &msg
		return o
	}
	h := &serviceHealthInfo{Epoch: ns.Status.Epoch, PublicKey: m.PublicKey, NodeStatus: healthActive}
	owned := int(ns.Status.Shards)
	h.ShardSummary.Owned = owned
	if ns.Status.Epoch != epoch || owned != len(m.Shards) {
		h.NodeStatus = healthLagging
		h.ShardSummary.OwnedShardStatus.Unknown = owned
	} else {
		h.ShardSummary.OwnedShardStatus.Ready = owned
	}
	o.HealthInfo.Ok = h
	return o
}

func printHealth(w io.Writer, out *healthOutput, epoch uint32) {
	fmt.Fprintf(w, "Walrus Service Health Information (chain epoch %d)\n\n", epoch)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tNODE ID\tSTATUS\tEPOCH\tSHARDS\tADDRESS\tERROR")
	counts := map[string]int{}
	owned := 0
	for _, n := range out.HealthInfo {
		if h := n.HealthInfo.Ok; h != nil {
			counts[h.NodeStatus]++
			owned += h.ShardSummary.Owned
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t\n", n.NodeName, n.NodeID, h.NodeStatus, h.Epoch, h.ShardSummary.Owned, n.NodeURL)
			continue
		}
		counts[healthError]++
		fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t%s\t%s\n", n.NodeName, n.NodeID, healthError, n.NodeURL, *n.HealthInfo.Err)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nTotal nodes: %d\nOwned shards: %d\n", len(out.HealthInfo), owned)
	for _, s := range []string{healthActive, healthLagging, healthError} {
		if counts[s] > 0 {
			fmt.Fprintf(w, "%s: %d\n", s, counts[s])
		}
	}
}
