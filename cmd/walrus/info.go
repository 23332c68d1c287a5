package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/backend"
)

func init() { register(newInfoCmd) }

// infoExampleSizes are the unencoded blob sizes `walrus info` prices, as
// far as the network stores them.
var infoExampleSizes = []uint64{1 << 20, 16 << 20, 512 << 20}

// systemInfo is what `walrus info` shows; its JSON form is the --json
// output.
type systemInfo struct {
	System        chain.SystemState `json:"system"`
	EpochEnd      time.Time         `json:"epochEnd"`
	MaxBlobSize   uint64            `json:"maxBlobSize"`
	Committee     *chain.Committee  `json:"committee"`
	NextCommittee *chain.Committee  `json:"nextCommittee,omitempty"`
	Node          *chain.NodeInfo   `json:"node,omitempty"`
	Examples      []priceExample    `json:"examplePrices"`
}

// priceExample is the cost of storing a blob for one epoch.
type priceExample struct {
	UnencodedSize uint64 `json:"unencodedSize"`
	EncodedSize   uint64 `json:"encodedSize"`
	// Cost is for one epoch, the write fee included, in FROST.
	Cost uint64 `json:"cost"`
}

func newInfoCmd() *cobra.Command {
	var (
		flags  clientFlags
		nodeID string
	)
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show the system: epoch, committee, shards, prices and stake",
		Long: `Prints the current epoch and its timing, the committee (each node's shards and
stake), the shard count, storage prices with examples, and with --node a
node's stake and commission, as Walrus's 'walrus info' does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// --chain, else $WALRUS_CHAIN_URL, else the client config's
			// context, else the default address.
			if flags.chain == "" {
				flags.chain = os.Getenv(chainURLEnv)
			}
			chainCfg, _, err := flags.resolve()
			if err != nil {
				return err
			}
			c, err := backend.Open(cmd.Context(), chainCfg)
			if err != nil {
				return err
			}
			defer c.Close()
			info, err := gatherInfo(cmd, c, nodeID)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if flags.json {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			printInfo(out, info)
			return nil
		},
	}
	flags.register(cmd)
	f := cmd.Flags()
	f.Lookup("chain").Usage = "the chain's HTTP API (default $" + chainURLEnv + ", else the client config's chain_url, else " + defaultChainURL() + ")"
	f.StringVar(&nodeID, "node", "", "also show this node's stake and commission (node ID)")
	return cmd
}

// gatherInfo reads what `walrus info` shows.
func gatherInfo(cmd *cobra.Command, c chain.Chain, nodeID string) (*systemInfo, error) {
	ctx := cmd.Context()
	s, err := c.SystemState(ctx)
	if err != nil {
		return nil, err
	}
	info := &systemInfo{System: s, EpochEnd: s.EpochStart.Add(s.EpochDuration)}
	if info.Committee, err = c.Committee(ctx, s.Epoch); err != nil {
		return nil, err
	}
	if s.Phase == chain.PhaseNextSelected {
		if info.NextCommittee, err = c.Committee(ctx, s.Epoch+1); err != nil && !errors.Is(err, chain.ErrNoCommittee) {
			return nil, err
		}
	}
	if nodeID != "" {
		id, err := chain.ParseObjectID(nodeID)
		if err != nil {
			return nil, fmt.Errorf("--node: %w", err)
		}
		n, err := c.Node(ctx, id)
		if err != nil {
			return nil, err
		}
		info.Node = &n
	}
	p, err := s.Params()
	if err != nil {
		return nil, err
	}
	info.MaxBlobSize = p.MaxBlobSize()
	var sizes []uint64
	for _, size := range infoExampleSizes {
		if size < info.MaxBlobSize {
			sizes = append(sizes, size)
		}
	}
	for _, size := range append(sizes, info.MaxBlobSize) {
		enc, err := p.EncodedLength(size)
		if err != nil {
			continue
		}
		cost, err := s.RegisterCost(size, 1)
		if err != nil {
			continue
		}
		info.Examples = append(info.Examples, priceExample{UnencodedSize: size, EncodedSize: enc, Cost: cost})
	}
	return info, nil
}

func printInfo(w io.Writer, in *systemInfo) {
	s := in.System
	fmt.Fprintf(w, "Walrus system information\n\nChain ID: %s\n\n", s.ChainID)
	fmt.Fprintf(w, "Epochs and storage duration\n")
	fmt.Fprintf(w, "Current epoch: %d (%s)\n", s.Epoch, s.Phase)
	fmt.Fprintf(w, "Start time: %s\n", s.EpochStart.Local().Format(time.RFC3339))
	fmt.Fprintf(w, "End time: %s\n", in.EpochEnd.Local().Format(time.RFC3339))
	fmt.Fprintf(w, "Epoch duration: %v\n", s.EpochDuration)
	fmt.Fprintf(w, "Blobs can be stored for at most %d epochs in the future.\n\n", s.MaxEpochsAhead)

	fmt.Fprintf(w, "Storage nodes\n")
	fmt.Fprintf(w, "Number of storage nodes: %d\n", len(in.Committee.Members))
	fmt.Fprintf(w, "Number of shards: %d (tolerates %d faulty; quorum %d)\n", s.NShards, in.Committee.F(), in.Committee.QuorumShards())
	fmt.Fprintf(w, "Total stake: %s WAL\n\n", formatWAL(s.TotalStake))

	fmt.Fprintf(w, "Storage prices per epoch\n")
	fmt.Fprintf(w, "Price per encoded storage unit (%s): %s WAL (%d FROST)\n", formatSize(s.UnitSize), formatWAL(s.StoragePrice), s.StoragePrice)
	fmt.Fprintf(w, "Additional price for each write: %s WAL (%d FROST) per unit\n", formatWAL(s.WritePrice), s.WritePrice)
	fmt.Fprintf(w, "Maximum blob size: %s\n", formatSize(in.MaxBlobSize))
	if s.FaucetLimit > 0 {
		fmt.Fprintf(w, "Faucet: up to %s WAL per account, %s WAL left\n", formatWAL(s.FaucetLimit), formatWAL(s.FaucetLeft))
	}
	fmt.Fprintf(w, "\nPrice to store a blob for one epoch, write included\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  Unencoded size\tEncoded size\tPrice (WAL)\n")
	for _, e := range in.Examples {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", formatSize(e.UnencodedSize), formatSize(e.EncodedSize), formatWAL(e.Cost))
	}
	tw.Flush()

	printCommittee(w, fmt.Sprintf("Committee of epoch %d", in.Committee.Epoch), in.Committee)
	if in.NextCommittee != nil {
		printCommittee(w, fmt.Sprintf("Committee of epoch %d (selected)", in.NextCommittee.Epoch), in.NextCommittee)
	}
	if n := in.Node; n != nil {
		fmt.Fprintf(w, "\nNode %s (%s)\n", n.Name, n.ID)
		fmt.Fprintf(w, "Operator: %s\n", n.Operator)
		fmt.Fprintf(w, "Stake: %s WAL active, %s WAL pending\n", formatWAL(n.Stake), formatWAL(n.PendingStake))
		fmt.Fprintf(w, "Commission: %s%% (next epoch %s%%)\n", formatBPS(n.Commission), formatBPS(n.NextCommission))
		fmt.Fprintf(w, "Price votes: storage %d, write %d FROST per unit; capacity %s\n", n.StoragePriceVote, n.WritePriceVote, formatSize(n.Capacity))
		fmt.Fprintf(w, "Peer ID: %s\nAddresses: %s\n", n.PeerID, strings.Join(n.Addresses, ", "))
	}
}

func printCommittee(w io.Writer, title string, c *chain.Committee) {
	fmt.Fprintf(w, "\n%s\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  #\tName\tNode ID\tShards\tStake (WAL)\n")
	for i, m := range c.Members {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%d\t%s\n", i, m.Name, m.NodeID, len(m.Shards), formatWAL(m.Stake))
	}
	tw.Flush()
}

// formatWAL shows FROST as WAL with up to nine decimals.
func formatWAL(frost uint64) string {
	s := fmt.Sprintf("%d.%09d", frost/chain.FrostPerWAL, frost%chain.FrostPerWAL)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// formatBPS shows basis points as a percentage.
func formatBPS(bps uint16) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%d.%02d", bps/100, bps%100), "0"), ".")
}

// formatSize shows a byte count with a binary unit.
func formatSize(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.2f %s", v, units[u])
}
