package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/backend"
	"github.com/walrus-go/walrus/chain/sui"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/node"
)

func init() { register(newInfoCmd) }

// infoOutput is what `walrus info` shows; its JSON form is the --json
// output, with Walrus's InfoOutput field names (epochInfo, storageInfo,
// sizeInfo, priceInfo, committeeInfo, bftInfo). A subcommand shows one
// section; its JSON is that section alone, as Walrus's.
type infoOutput struct {
	EpochInfo     *infoEpoch     `json:"epochInfo,omitempty"`
	StorageInfo   *infoStorage   `json:"storageInfo,omitempty"`
	SizeInfo      *infoSize      `json:"sizeInfo,omitempty"`
	PriceInfo     *infoPrice     `json:"priceInfo,omitempty"`
	CommitteeInfo *infoCommittee `json:"committeeInfo,omitempty"`
	BftInfo       *infoBft       `json:"bftInfo,omitempty"`
}

// walrusDuration is a duration as Rust's serde writes std::time::Duration.
type walrusDuration struct {
	Secs  uint64 `json:"secs"`
	Nanos uint32 `json:"nanos"`
}

func toWalrusDuration(d time.Duration) walrusDuration {
	return walrusDuration{Secs: uint64(d / time.Second), Nanos: uint32(d % time.Second)}
}

// epochTime is Walrus's EpochTimeOrMessage: {"DateTime": "…"}.
type epochTime struct {
	DateTime time.Time `json:"DateTime"`
}

// infoEpoch is Walrus's InfoEpochOutput, with the phase and end time.
type infoEpoch struct {
	CurrentEpoch        uint32           `json:"currentEpoch"`
	StartOfCurrentEpoch epochTime        `json:"startOfCurrentEpoch"`
	EpochDuration       walrusDuration   `json:"epochDuration"`
	MaxEpochsAhead      uint32           `json:"maxEpochsAhead"`
	Phase               chain.EpochPhase `json:"phase"`
	EndOfCurrentEpoch   time.Time        `json:"endOfCurrentEpoch"`
	ChainID             chain.Digest     `json:"chainId"`
}

// infoStorage is Walrus's InfoStorageOutput, with the total stake.
type infoStorage struct {
	NShards int `json:"nShards"`
	NNodes  int `json:"nNodes"`
	// TotalStake is all WAL staked, pending included, in FROST.
	TotalStake uint64 `json:"totalStake"`
}

// infoSize is Walrus's InfoSizeOutput (no quilts here).
type infoSize struct {
	StorageUnitSize uint64 `json:"storageUnitSize"`
	MaxBlobSize     uint64 `json:"maxBlobSize"`
}

// infoPrice is Walrus's InfoPriceOutput; prices in FROST.
type infoPrice struct {
	StoragePricePerUnitSize    uint64              `json:"storagePricePerUnitSize"`
	WritePricePerUnitSize      uint64              `json:"writePricePerUnitSize"`
	EncodingDependentPriceInfo []infoEncodingPrice `json:"encodingDependentPriceInfo"`
	// FaucetLimit and FaucetLeft are the local chain's faucet (0: none).
	FaucetLimit uint64 `json:"faucetLimit,omitempty"`
	FaucetLeft  uint64 `json:"faucetLeft,omitempty"`
}

// infoEncodingPrice is Walrus's EncodingDependentPriceInfo.
type infoEncodingPrice struct {
	MarginalSize  uint64        `json:"marginalSize"`
	MetadataPrice uint64        `json:"metadataPrice"`
	MarginalPrice uint64        `json:"marginalPrice"`
	ExampleBlobs  []exampleBlob `json:"exampleBlobs"`
	EncodingType  string        `json:"encodingType"`
}

// exampleBlob is Walrus's ExampleBlobInfo: Price is storage for one epoch;
// PriceWithWrite adds the one-time write fee.
type exampleBlob struct {
	UnencodedSize  uint64 `json:"unencodedSize"`
	EncodedSize    uint64 `json:"encodedSize"`
	Price          uint64 `json:"price"`
	PriceWithWrite uint64 `json:"priceWithWrite"`
	EncodingType   string `json:"encodingType"`
}

// infoBft is Walrus's InfoBftOutput. QuorumThreshold is the shards a
// certificate needs here, n − f (Walrus writes 2f + 1: the same for
// n = 3f + 1).
type infoBft struct {
	MaxFaultyShards  int `json:"maxFaultyShards"`
	MinCorrectShards int `json:"minCorrectShards"`
	QuorumThreshold  int `json:"quorumThreshold"`
	MinNodesAbove    int `json:"minNodesAbove"`
	ShardsAbove      int `json:"shardsAbove"`
}

// infoCommittee is Walrus's InfoCommitteeOutput.
type infoCommittee struct {
	NShards                 int               `json:"nShards"`
	NPrimarySourceSymbols   int               `json:"nPrimarySourceSymbols"`
	NSecondarySourceSymbols int               `json:"nSecondarySourceSymbols"`
	MaxSliverSize           uint64            `json:"maxSliverSize"`
	MetadataStorageSize     uint64            `json:"metadataStorageSize"`
	MaxEncodedBlobSize      uint64            `json:"maxEncodedBlobSize"`
	CurrentStorageNodes     []storageNodeInfo `json:"currentStorageNodes"`
	NextStorageNodes        []storageNodeInfo `json:"nextStorageNodes"`
	// NextEpoch is the epoch of NextStorageNodes, 0 before the next
	// committee is selected.
	NextEpoch uint32 `json:"nextEpoch,omitempty"`
}

// votingParams is Walrus's VotingParams (snake_case, as Walrus writes it).
type votingParams struct {
	StoragePrice uint64 `json:"storage_price"`
	WritePrice   uint64 `json:"write_price"`
	NodeCapacity uint64 `json:"node_capacity"`
}

// storageNodeInfo is Walrus's StorageNodeInfo, with what a staker wants to
// know of the pool: its active and pending stake, commission, what it
// earned and how its storage challenges went in the epochs the chain keeps
// (chain.NodeHistory). All amounts in FROST.
type storageNodeInfo struct {
	Name               string              `json:"name"`
	NetworkAddress     string              `json:"networkAddress"`
	Addresses          []string            `json:"addresses"`
	PublicKey          chain.BLSPublicKey  `json:"publicKey"`
	NextEpochPublicKey *chain.BLSPublicKey `json:"nextEpochPublicKey,omitempty"`
	// NetworkPublicKey is the libp2p peer ID of the node's network key.
	NetworkPublicKey string       `json:"networkPublicKey"`
	NShards          int          `json:"nShards"`
	ShardIDs         []uint16     `json:"shardIds"`
	NodeID           chain.NodeID `json:"nodeId"`
	// Stake is what the committee was selected with.
	Stake        uint64       `json:"stake"`
	VotingParams votingParams `json:"votingParams"`

	ActiveStake        uint64              `json:"activeStake"`
	PendingStake       uint64              `json:"pendingStake"`
	PendingByEpoch     []chain.EpochAmount `json:"pendingByEpoch,omitempty"`
	CommissionRate     uint16              `json:"commissionRate"`
	NextCommissionRate uint16              `json:"nextCommissionRate"`
	CommissionAccrued  uint64              `json:"commissionAccrued"`
	// ChallengesPassed, ChallengesFailed and ChallengesUnproven count the
	// epochs of Epochs by verdict; RewardsEarned sums their rewards
	// (commission included) and Burned what the node forfeited.
	// Epochs is null where the chain keeps no such records (Sui).
	ChallengesPassed   int               `json:"challengesPassed"`
	ChallengesFailed   int               `json:"challengesFailed"`
	ChallengesUnproven int               `json:"challengesUnproven"`
	RewardsEarned      uint64            `json:"rewardsEarned"`
	Burned             uint64            `json:"burned"`
	Epochs             []chain.NodeEpoch `json:"epochs"`
}

// infoSections are the subcommands of info, each a section of infoOutput.
var infoSections = []struct{ name, short string }{
	{"all", "Print all information listed below"},
	{"epoch", "Print epoch information"},
	{"storage", "Print storage information"},
	{"size", "Print size information"},
	{"price", "Print price information"},
	{"bft", "Print byzantine fault tolerance (BFT) information"},
	{"committee", "Print committee information: each node's shards, stake, commission, rewards and challenges"},
}

func newInfoCmd() *cobra.Command {
	cmd := newInfoSectionCmd("info", "Show the system: epoch, storage, sizes, prices, BFT and the committee", "all")
	cmd.Long = `Prints the current epoch and its timing, the storage nodes and shards,
sizes, storage prices with examples, the BFT thresholds, and the committee:
each node's shards, stake (active and pending), commission (rate and
accrued), rewards and storage challenges (passed, failed) in the last epochs,
as Walrus's 'walrus info all' does. A subcommand prints one section; --json
prints Walrus's field names. Amounts in JSON are in FROST.`
	for _, s := range infoSections {
		sub := newInfoSectionCmd(s.name, s.short, s.name)
		cmd.AddCommand(sub)
	}
	return cmd
}

func newInfoSectionCmd(use, short, section string) *cobra.Command {
	var (
		flags  clientFlags
		nodeID string
	)
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
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
			var only *chain.NodeID
			if nodeID != "" {
				id, err := chain.ParseObjectID(nodeID)
				if err != nil {
					return fmt.Errorf("--node: %w", err)
				}
				only = &id
			}
			c, err := backend.Open(cmd.Context(), chainCfg)
			if err != nil {
				return err
			}
			defer c.Close()
			info, err := gatherInfo(cmd.Context(), c, section, only)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if flags.json {
				return printJSON(out, info.section(section))
			}
			printInfo(out, info)
			return nil
		},
	}
	flags.register(cmd)
	f := cmd.Flags()
	f.Lookup("chain").Usage = "the chain's HTTP API (default $" + chainURLEnv + ", else the client config's chain_url, else " + defaultChainURL() + ")"
	if section == "all" || section == "committee" {
		f.StringVar(&nodeID, "node", "", "show only this node of the committee (node ID), also when it is in no committee")
	}
	return cmd
}

// section returns what --json prints for a section: the whole output for
// "all", else the section alone.
func (o *infoOutput) section(name string) any {
	switch name {
	case "epoch":
		return o.EpochInfo
	case "storage":
		return o.StorageInfo
	case "size":
		return o.SizeInfo
	case "price":
		return o.PriceInfo
	case "bft":
		return o.BftInfo
	case "committee":
		return o.CommitteeInfo
	}
	return o
}

// gatherInfo reads what a section of `walrus info` shows ("all": every
// section). With only set, the committee lists that node alone.
func gatherInfo(ctx context.Context, c chain.Chain, section string, only *chain.NodeID) (*infoOutput, error) {
	s, err := c.SystemState(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.Params()
	if err != nil {
		return nil, err
	}
	want := func(name string) bool { return section == "all" || section == name }
	out := &infoOutput{}
	var com *chain.Committee
	if want("storage") || want("bft") || want("committee") {
		if com, err = c.Committee(ctx, s.Epoch); err != nil {
			return nil, err
		}
	}
	if want("epoch") {
		out.EpochInfo = &infoEpoch{
			CurrentEpoch: s.Epoch, StartOfCurrentEpoch: epochTime{s.EpochStart.UTC()},
			EpochDuration: toWalrusDuration(s.EpochDuration), MaxEpochsAhead: s.MaxEpochsAhead,
			Phase: s.Phase, EndOfCurrentEpoch: s.EpochStart.Add(s.EpochDuration).UTC(), ChainID: s.ChainID,
		}
	}
	if want("storage") {
		out.StorageInfo = &infoStorage{NShards: s.NShards, NNodes: len(com.Members), TotalStake: s.TotalStake}
	}
	if want("size") {
		out.SizeInfo = &infoSize{StorageUnitSize: chain.StorageUnitSize, MaxBlobSize: p.MaxBlobSize()}
	}
	if want("price") {
		out.PriceInfo = priceInfo(s, p)
	}
	if want("bft") {
		out.BftInfo = bftInfo(com)
	}
	if want("committee") {
		if out.CommitteeInfo, err = committeeInfo(ctx, c, s, p, com, only); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rs2Name is how Walrus's JSON names the RS2 encoding.
const rs2Name = "RS2"

// metadataLength is what a blob's metadata takes on one shard: a hash per
// sliver pair (two of 32 bytes) and the blob's root hash.
func metadataLength(p encoding.Params) uint64 { return uint64(p.N)*64 + 32 }

func priceInfo(s chain.SystemState, p encoding.Params) *infoPrice {
	out := &infoPrice{StoragePricePerUnitSize: s.StoragePrice, WritePricePerUnitSize: s.WritePrice,
		FaucetLimit: s.FaucetLimit, FaucetLeft: s.FaucetLeft}
	maxSize := p.MaxBlobSize()
	marginal := uint64(1 << 20)
	for marginal > maxSize {
		marginal /= 4
	}
	metadataStorage := uint64(p.N) * metadataLength(p)
	ep := infoEncodingPrice{MarginalSize: marginal, EncodingType: rs2Name,
		MetadataPrice: chain.StorageUnits(metadataStorage) * s.StoragePrice}
	if enc, err := p.EncodedLength(marginal); err == nil {
		ep.MarginalPrice = chain.StorageUnits(enc-metadataStorage) * s.StoragePrice
	}
	// Walrus's examples: the largest blob's next power of two over 1024,
	// 32 times that, and the largest blob.
	small := nextPow2(maxSize) / 1024
	for _, size := range []uint64{small, small * 32, maxSize} {
		enc, err := p.EncodedLength(size)
		if err != nil || size > maxSize {
			continue
		}
		price, _ := s.StorageCost(enc, 1)
		withWrite, _ := s.RegisterCost(size, 1)
		ep.ExampleBlobs = append(ep.ExampleBlobs, exampleBlob{UnencodedSize: size, EncodedSize: enc, Price: price,
			PriceWithWrite: withWrite, EncodingType: rs2Name})
	}
	out.EncodingDependentPriceInfo = []infoEncodingPrice{ep}
	return out
}

func nextPow2(x uint64) uint64 {
	p := uint64(1)
	for p < x && p < 1<<63 {
		p <<= 1
	}
	return p
}

// bftInfo is Walrus's BFT section: f, n − f, the quorum, and how few nodes
// (the largest first) hold more than f shards.
func bftInfo(com *chain.Committee) *infoBft {
	f := com.F()
	out := &infoBft{MaxFaultyShards: f, MinCorrectShards: com.NShards - f, QuorumThreshold: com.QuorumShards()}
	counts := make([]int, len(com.Members))
	for i, m := range com.Members {
		counts[i] = len(m.Shards)
	}
	slices.SortFunc(counts, func(a, b int) int { return b - a }) // largest first
	for i, n := range counts {
		out.ShardsAbove += n
		if out.ShardsAbove > f {
			out.MinNodesAbove = i + 1
			break
		}
	}
	return out
}

func committeeInfo(ctx context.Context, c chain.Chain, s chain.SystemState, p encoding.Params, com *chain.Committee, only *chain.NodeID) (*infoCommittee, error) {
	out := &infoCommittee{
		NShards: s.NShards, NPrimarySourceSymbols: p.Rows, NSecondarySourceSymbols: p.Cols,
		MaxSliverSize:       uint64(p.Cols) * encoding.MaxSymbolSize,
		MetadataStorageSize: uint64(p.N) * metadataLength(p),
		CurrentStorageNodes: []storageNodeInfo{}, NextStorageNodes: []storageNodeInfo{},
	}
	out.MaxEncodedBlobSize, _ = p.EncodedLength(p.MaxBlobSize())
	var next *chain.Committee
	if s.Phase == chain.PhaseNextSelected {
		n, err := c.Committee(ctx, s.Epoch+1)
		if err != nil && !errors.Is(err, chain.ErrNoCommittee) {
			return nil, err
		}
		next = n
	}
	found := false
	add := func(list *[]storageNodeInfo, com *chain.Committee) error {
		for _, m := range com.Members {
			if only != nil && m.NodeID != *only {
				continue
			}
			found = true
			ni, err := nodeInfo(ctx, c, m.NodeID, &m)
			if err != nil {
				return err
			}
			*list = append(*list, ni)
		}
		return nil
	}
	if err := add(&out.CurrentStorageNodes, com); err != nil {
		return nil, err
	}
	if next != nil {
		out.NextEpoch = next.Epoch
		if err := add(&out.NextStorageNodes, next); err != nil {
			return nil, err
		}
	}
	if only != nil && !found {
		// A registered node in no committee: shown with its pool alone.
		ni, err := nodeInfo(ctx, c, *only, nil)
		if err != nil {
			return nil, err
		}
		out.CurrentStorageNodes = append(out.CurrentStorageNodes, ni)
	}
	return out, nil
}

// nodeInfo is a node's entry in the committee section: its member record
// (nil for a node in no committee), its pool and its history.
func nodeInfo(ctx context.Context, c chain.Chain, id chain.NodeID, m *chain.Member) (storageNodeInfo, error) {
	n, err := c.Node(ctx, id)
	if err != nil {
		return storageNodeInfo{}, err
	}
	hist, err := c.NodeHistory(ctx, id)
	switch {
	case errors.Is(err, sui.ErrNotAvailable):
		// Sui keeps no per-epoch records of a node: Epochs stays null.
		hist = nil
	case err != nil:
		return storageNodeInfo{}, err
	case hist == nil:
		hist = []chain.NodeEpoch{}
	}
	out := storageNodeInfo{
		Name: n.Name, Addresses: n.Addresses, PublicKey: n.PublicKey, NextEpochPublicKey: n.NextPublicKey,
		NetworkPublicKey: n.PeerID, ShardIDs: []uint16{}, NodeID: n.ID,
		VotingParams: votingParams{StoragePrice: n.StoragePriceVote, WritePrice: n.WritePriceVote, NodeCapacity: n.Capacity},
		ActiveStake:  n.Stake, PendingStake: n.PendingStake, PendingByEpoch: n.PendingByEpoch,
		CommissionRate: n.Commission, NextCommissionRate: n.NextCommission, CommissionAccrued: n.CommissionAccrued,
		Epochs: hist,
	}
	if len(n.Addresses) > 0 {
		out.NetworkAddress = n.Addresses[0]
	}
	if m != nil {
		out.ShardIDs, out.NShards, out.Stake = m.Shards, len(m.Shards), m.Stake
		out.PublicKey = m.PublicKey
	}
	for _, e := range hist {
		switch e.Verdict {
		case chain.VerdictPassed:
			out.ChallengesPassed++
		case chain.VerdictFailed:
			out.ChallengesFailed++
		default:
			out.ChallengesUnproven++
		}
		out.RewardsEarned += e.Reward
		out.Burned += e.Burned
	}
	return out, nil
}

func printInfo(w io.Writer, in *infoOutput) {
	if e := in.EpochInfo; e != nil {
		fmt.Fprintf(w, "\nEpoch information\n")
		fmt.Fprintf(w, "Current epoch: %d (%s)\n", e.CurrentEpoch, e.Phase)
		fmt.Fprintf(w, "Start time: %s\n", e.StartOfCurrentEpoch.DateTime.Local().Format(time.RFC3339))
		fmt.Fprintf(w, "End time: %s\n", e.EndOfCurrentEpoch.Local().Format(time.RFC3339))
		fmt.Fprintf(w, "Epoch duration: %v\n", time.Duration(e.EpochDuration.Secs)*time.Second+time.Duration(e.EpochDuration.Nanos))
		fmt.Fprintf(w, "Blobs can be stored for at most %d epochs in the future.\n", e.MaxEpochsAhead)
		fmt.Fprintf(w, "Chain ID: %s\n", e.ChainID)
	}
	if s := in.StorageInfo; s != nil {
		fmt.Fprintf(w, "\nStorage nodes\n")
		fmt.Fprintf(w, "Number of storage nodes: %d\n", s.NNodes)
		fmt.Fprintf(w, "Number of shards: %d\n", s.NShards)
		fmt.Fprintf(w, "Total stake: %s\n", formatAmount(s.TotalStake))
	}
	if s := in.SizeInfo; s != nil {
		fmt.Fprintf(w, "\nBlob size\n")
		fmt.Fprintf(w, "Maximum blob size: %s\n", humanBytes(s.MaxBlobSize))
		fmt.Fprintf(w, "Storage unit: %s\n", humanBytes(s.StorageUnitSize))
	}
	if p := in.PriceInfo; p != nil {
		fmt.Fprintf(w, "\nStorage prices per epoch\n")
		fmt.Fprintf(w, "Price per encoded storage unit: %s\n", formatAmount(p.StoragePricePerUnitSize))
		fmt.Fprintf(w, "Additional price for each write: %s per unit\n", formatAmount(p.WritePricePerUnitSize))
		if p.FaucetLimit > 0 {
			fmt.Fprintf(w, "Faucet: up to %s WAL per account, %s WAL left\n", formatWAL(p.FaucetLimit), formatWAL(p.FaucetLeft))
		}
		for _, ep := range p.EncodingDependentPriceInfo {
			fmt.Fprintf(w, "Marginal price per additional %s (w/o metadata): %s WAL\n", humanBytes(ep.MarginalSize), formatWAL(ep.MarginalPrice))
			fmt.Fprintf(w, "Metadata price: %s WAL\n", formatWAL(ep.MetadataPrice))
			fmt.Fprintf(w, "Total price for example blob sizes (one epoch):\n")
			for _, e := range ep.ExampleBlobs {
				fmt.Fprintf(w, "  - %s unencoded (%s encoded): %s WAL per epoch, %s WAL with the write\n",
					humanBytes(e.UnencodedSize), humanBytes(e.EncodedSize), formatWAL(e.Price), formatWAL(e.PriceWithWrite))
			}
		}
	}
	if b := in.BftInfo; b != nil {
		fmt.Fprintf(w, "\nBFT system information\n")
		fmt.Fprintf(w, "Tolerated faulty shards f: %d\n", b.MaxFaultyShards)
		fmt.Fprintf(w, "Minimum correct shards (n − f): %d\n", b.MinCorrectShards)
		fmt.Fprintf(w, "Quorum threshold: %d shards\n", b.QuorumThreshold)
		fmt.Fprintf(w, "Minimum number of nodes holding more than f shards: %d (%d shards)\n", b.MinNodesAbove, b.ShardsAbove)
	}
	if c := in.CommitteeInfo; c != nil {
		fmt.Fprintf(w, "\nCommittee\n")
		fmt.Fprintf(w, "Source symbols: %d primary, %d secondary; max sliver %s; metadata %s per blob; max encoded blob %s\n",
			c.NPrimarySourceSymbols, c.NSecondarySourceSymbols, humanBytes(c.MaxSliverSize), humanBytes(c.MetadataStorageSize), humanBytes(c.MaxEncodedBlobSize))
		printNodes(w, "Current storage nodes", c.CurrentStorageNodes)
		if c.NextEpoch != 0 {
			printNodes(w, fmt.Sprintf("Storage nodes of epoch %d (selected)", c.NextEpoch), c.NextStorageNodes)
		}
	}
}

// printNodes prints a table of nodes, then each node's pool and its last
// epochs.
func printNodes(w io.Writer, title string, nodes []storageNodeInfo) {
	fmt.Fprintf(w, "\n%s\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  #\tName\tNode ID\tShards\tStake (WAL)\tPending (WAL)\tCommission\tChallenges passed/failed\tRewards (WAL)\n")
	for i, n := range nodes {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%d\t%s\t%s\t%s%%\t%d/%d\t%s\n", i, n.Name, n.NodeID, n.NShards, formatWAL(n.ActiveStake),
			formatWAL(n.PendingStake), formatBPS(n.CommissionRate), n.ChallengesPassed, n.ChallengesFailed, formatWAL(n.RewardsEarned))
	}
	tw.Flush()
	for _, n := range nodes {
		fmt.Fprintf(w, "\nNode %s (%s)\n", n.Name, n.NodeID)
		fmt.Fprintf(w, "  Shards: %s\n", node.FormatShards(n.ShardIDs))
		fmt.Fprintf(w, "  Stake: %s active, %s pending", formatAmount(n.ActiveStake), formatAmount(n.PendingStake))
		for _, p := range n.PendingByEpoch {
			fmt.Fprintf(w, "; %s WAL from epoch %d", formatWAL(p.Amount), p.Epoch)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  Commission: %s%% (next epoch %s%%), accrued %s\n", formatBPS(n.CommissionRate), formatBPS(n.NextCommissionRate), formatAmount(n.CommissionAccrued))
		fmt.Fprintf(w, "  Votes: storage %d, write %d FROST per unit; capacity %s\n", n.VotingParams.StoragePrice, n.VotingParams.WritePrice, humanBytes(n.VotingParams.NodeCapacity))
		fmt.Fprintf(w, "  Peer ID: %s\n  Addresses: %s\n", n.NetworkPublicKey, strings.Join(n.Addresses, ", "))
		fmt.Fprintf(w, "  Last %d epochs: %d passed, %d failed, %d unproven; earned %s, burned %s\n",
			len(n.Epochs), n.ChallengesPassed, n.ChallengesFailed, n.ChallengesUnproven, formatAmount(n.RewardsEarned), formatAmount(n.Burned))
		for _, e := range n.Epochs {
			fmt.Fprintf(w, "    epoch %d: %d shards, %s (attested: %v, passed by %d, failed by %d shards), reward %s WAL, commission %s WAL, burned %s WAL\n",
				e.Epoch, e.Shards, e.Verdict, e.Attested, e.PassedBy, e.FailedBy, formatWAL(e.Reward), formatWAL(e.Commission), formatWAL(e.Burned))
		}
	}
}
