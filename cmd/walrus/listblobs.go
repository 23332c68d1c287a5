package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/client"
)

func init() { register(newListBlobsCmd) }

func newListBlobsCmd() *cobra.Command {
	var (
		cf  clientFlags
		all bool
	)
	cmd := &cobra.Command{
		Use:   "list-blobs",
		Short: "List the blob objects the wallet owns",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, true, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			objs, err := c.ListBlobs(ctx, all)
			if err != nil {
				return err
			}
			out := make([]client.BlobObject, len(objs))
			for i, o := range objs {
				out[i] = client.NewBlobObject(o)
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			if len(out) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No blobs found.")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "BLOB ID\tSIZE\tCERTIFIED?\tDELETABLE?\tEXPIRY EPOCH\tOBJECT ID")
			for _, o := range out {
				fmt.Fprintf(tw, "%s\t%s\t%v\t%v\t%d\t%s\n", o.BlobID, humanBytes(o.Size), o.CertifiedEpoch != nil, o.Deletable, o.Storage.EndEpoch, o.ID)
			}
			return tw.Flush()
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&all, "include-expired", false, "also list expired blob objects")
	return cmd
}
