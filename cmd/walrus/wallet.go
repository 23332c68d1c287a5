package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain"
)

func init() { register(newGenerateWalletCmd) }

// defaultWalletPath is where generate-sui-wallet writes without --path.
func defaultWalletPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "wallet.key"
	}
	return filepath.Join(dir, "walrus", "wallet.key")
}

func newGenerateWalletCmd() *cobra.Command {
	var (
		cf        clientFlags
		path      string
		useFaucet bool
	)
	cmd := &cobra.Command{
		Use:   "generate-sui-wallet [--path FILE]",
		Short: "Create a new wallet: an Ed25519 account key file",
		Long: `Generates an Ed25519 account key and writes it to --path (mode 0600; default
` + defaultWalletPath() + `), refusing to overwrite a file. The address is a Sui address:
the same key works on Sui. Name the file as a context's wallet in the client
config, or pass it with --wallet; on a devnet, fund it with --use-faucet, or
later with
  walrus get-wal --wallet FILE`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				path = defaultWalletPath()
			}
			if _, err := os.Stat(path); err == nil {
				return fmt.Errorf("%s exists: not overwriting a wallet", path)
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
			k, err := chain.GenerateAccountKey(rand.Reader)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return err
			}
			if err := chain.SaveAccountKey(path, k); err != nil {
				return err
			}
			var received uint64
			if useFaucet {
				cf.wallet = path
				w, closeFn, err := cf.openWallet(cmd.Context(), true)
				if err != nil {
					return fmt.Errorf("wallet %s created, but: %w", path, err)
				}
				defer closeFn()
				if _, err := w.chain.RequestWAL(cmd.Context(), w.signer, defaultGetWALAmount); err != nil {
					return fmt.Errorf("wallet %s created, but the faucet refused: %w", path, err)
				}
				received = defaultGetWALAmount
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), struct {
					WalletAddress chain.Address `json:"walletAddress"`
					Path          string        `json:"path"`
					WALReceived   uint64        `json:"walReceived,omitempty"`
				}{k.Address(), path, received})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Success: Generated a new Sui wallet with address %s\nKey file: %s\n", k.Address(), path)
			if received > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "Received %s WAL from the faucet.\n", formatWAL(received))
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&path, "path", "", "the key file to create")
	cmd.Flags().BoolVar(&useFaucet, "use-faucet", false, "get WAL for the new wallet from the configured local chain's faucet")
	return cmd
}
