package main

import (
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/encoding"
)

func init() { register(newConvertBlobIDCmd) }

// blobIDFromDecimal parses a blob ID written as a decimal number, as Sui
// explorers show the u256: the ID's bytes are the number's little-endian
// bytes (Walrus's BlobIdDecimal).
func blobIDFromDecimal(s string) (encoding.BlobID, bool) {
	var id encoding.BlobID
	if s == "" || s[0] == '+' || s[0] == '-' {
		return id, false
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.BitLen() > 8*len(id) {
		return id, false
	}
	be := n.Bytes()
	slices.Reverse(be)
	copy(id[:], be)
	return id, true
}

// blobIDDecimal is the decimal form of a blob ID.
func blobIDDecimal(id encoding.BlobID) string {
	be := slices.Clone(id[:])
	slices.Reverse(be)
	return new(big.Int).SetBytes(be).String()
}

// parseBlobIDArg parses a blob ID argument; a decimal one is refused with
// its base64 form, as Walrus's CLI does.
func parseBlobIDArg(s string) (encoding.BlobID, error) {
	id, err := encoding.ParseBlobID(s)
	if err == nil {
		return id, nil
	}
	if d, ok := blobIDFromDecimal(s); ok {
		return id, fmt.Errorf("blob ID %q is a decimal number (maybe copied from a Sui explorer), whereas Walrus uses URL-safe base64; the blob ID of that number is %s (walrus convert-blob-id)", s, d)
	}
	return id, fmt.Errorf("blob ID %q: %w", s, err)
}

func newConvertBlobIDCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "convert-blob-id DECIMAL",
		Short: "Convert a blob ID in decimal (as Sui explorers show it) to Walrus's base64",
		Long: `Prints the Walrus blob ID (URL-safe base64) of a blob ID written as a decimal
number, the u256 a Sui explorer shows. Given a base64 blob ID it fails, naming
the decimal form, as Walrus's CLI does.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, ok := blobIDFromDecimal(args[0])
			if !ok {
				if b, err := encoding.ParseBlobID(args[0]); err == nil {
					return fmt.Errorf("the provided value is already a valid Walrus blob ID;\nthe value represented as a decimal number is %s", blobIDDecimal(b))
				}
				return errors.New("the provided value cannot be converted to a Walrus blob ID")
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), id)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Walrus blob ID: %s\n", id)
			return nil
		},
	}
	cf.register(cmd)
	return cmd
}
