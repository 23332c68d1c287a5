package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/client/daemon"
)

func init() {
	register(newGetBlobAttributeCmd)
	register(newSetBlobAttributeCmd)
	register(newRemoveBlobAttributeFieldsCmd)
	register(newRemoveBlobAttributeCmd)
}

// blobAttributeOutput is `walrus get-blob-attribute --json`, Walrus's
// GetBlobAttributeOutput: {"attribute":{"metadata":{"contents":[{"key",
// "value"}]}}}, or {"attribute":null}.
type blobAttributeOutput struct {
	Attribute *chain.BlobAttribute `json:"attribute"`
}

// objectArg parses the blob object ID: the first positional argument, or
// the last when the first is not one (cobra leaves a multi-value flag's
// extra values positional, so "--attr K V OBJ" gives [V OBJ]). It returns
// the other arguments in order.
func objectArg(args []string) (chain.ObjectID, []string, error) {
	if len(args) == 0 {
		return chain.ObjectID{}, nil, errors.New("the blob object ID is required")
	}
	id, err := chain.ParseObjectID(args[0])
	if err == nil {
		return id, args[1:], nil
	}
	if last := len(args) - 1; last > 0 {
		if id, lerr := chain.ParseObjectID(args[last]); lerr == nil {
			return id, args[:last], nil
		}
	}
	return chain.ObjectID{}, nil, fmt.Errorf("blob object ID %q: %w", args[0], err)
}

func newGetBlobAttributeCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "get-blob-attribute BLOB_OBJ_ID",
		Short: "Print the attribute of a blob object",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, _, err := objectArg(args)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, false, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			a, err := c.BlobAttribute(ctx, id)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if cf.json {
				return printJSON(w, blobAttributeOutput{a})
			}
			if a == nil {
				fmt.Fprintln(w, "No attribute found")
				return nil
			}
			fmt.Fprintln(w, "\nAttribute")
			for _, p := range a.Pairs {
				fmt.Fprintf(w, "%s: %s\n", p.Key, p.Value)
			}
			return nil
		},
	}
	cf.register(cmd)
	return cmd
}

// attributeCmd is a command that changes a blob object's attribute with
// the wallet: run gets the object and the arguments after it.
func attributeCmd(use, short, done string, args cobra.PositionalArgs, flags func(*pflag.FlagSet),
	run func(cmd *cobra.Command, c *client.Client, id chain.ObjectID, rest []string) error) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, rest, err := objectArg(args)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, true, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			if err := run(cmd, c, id, rest); err != nil {
				return err
			}
			if !cf.json { // as Walrus, nothing is printed with --json
				fmt.Fprintf(cmd.OutOrStdout(), "Success: Successfully %s attribute for blob object %s\n", done, id)
			}
			return nil
		},
	}
	cf.register(cmd)
	if flags != nil {
		flags(cmd.Flags())
	}
	return cmd
}

func newSetBlobAttributeCmd() *cobra.Command {
	var keys []string
	return attributeCmd("set-blob-attribute BLOB_OBJ_ID --attr KEY VALUE [--attr KEY VALUE]...",
		"Insert or update key/value pairs in a blob object's attribute", "added", cobra.MinimumNArgs(1),
		func(f *pflag.FlagSet) {
			f.StringArrayVar(&keys, "attr", nil, "a KEY VALUE pair to set (repeat for more)")
		},
		func(cmd *cobra.Command, c *client.Client, id chain.ObjectID, values []string) error {
			// cobra gives --attr its KEY and leaves each VALUE positional,
			// after the object ID, in order.
			if len(keys) == 0 || len(values) != len(keys) {
				return fmt.Errorf("--attr takes a KEY and a VALUE each time (%d keys, %d values)", len(keys), len(values))
			}
			pairs := make([]chain.AttributePair, len(keys))
			for i := range keys {
				pairs[i] = chain.AttributePair{Key: keys[i], Value: values[i]}
			}
			return c.SetBlobAttribute(cmd.Context(), id, pairs)
		})
}

func newRemoveBlobAttributeFieldsCmd() *cobra.Command {
	var keys []string
	cmd := attributeCmd("remove-blob-attribute-fields BLOB_OBJ_ID --keys KEY...",
		"Remove keys from a blob object's attribute", "removed", cobra.MinimumNArgs(1),
		func(f *pflag.FlagSet) { f.StringArrayVar(&keys, "keys", nil, "keys to remove") },
		func(cmd *cobra.Command, c *client.Client, id chain.ObjectID, rest []string) error {
			all := multiValues(keys, rest)
			if len(all) == 0 {
				return errors.New("--keys is required")
			}
			return c.RemoveBlobAttributePairs(cmd.Context(), id, all)
		})
	cmd.Aliases = []string{"remove-blob-attribute-pairs"}
	return cmd
}

func newRemoveBlobAttributeCmd() *cobra.Command {
	return attributeCmd("remove-blob-attribute BLOB_OBJ_ID", "Remove the attribute of a blob object", "removed",
		cobra.ExactArgs(1), nil,
		func(cmd *cobra.Command, c *client.Client, id chain.ObjectID, _ []string) error {
			return c.RemoveBlobAttribute(cmd.Context(), id)
		})
}

// quiltDaemonFlags are the daemon's flags for quilts and attribute
// headers, Walrus's names.
type quiltDaemonFlags struct {
	maxQuiltBodyKiB int64
	maxQuiltKiB     uint64
	allowedHeaders  []string
	allowTags       bool
}

func (q *quiltDaemonFlags) register(f *pflag.FlagSet) {
	f.Int64Var(&q.maxQuiltBodyKiB, "max-quilt-body-size", daemon.DefaultMaxQuiltBodySize>>10, "largest multipart body a PUT /v1/quilts accepts, in KiB")
	f.Uint64Var(&q.maxQuiltKiB, "max-quilt-size", daemon.DefaultMaxQuiltSize>>10, "largest quilt a PUT /v1/quilts may build from its files, in KiB (ours; a quilt pads its files to equal columns)")
	f.StringSliceVar(&q.allowedHeaders, "allowed-headers", daemon.DefaultAllowedHeaders, "blob attribute keys answered as headers by GET /v1/blobs/by-object-id and for quilt patch tags")
	f.BoolVar(&q.allowTags, "allow-quilt-patch-tags-in-response", false, "answer every tag of a quilt patch as a header, not only --allowed-headers")
}

// apply sets the flags in cfg and returns it.
func (q *quiltDaemonFlags) apply(cfg daemon.Config) daemon.Config {
	cfg.Quilt.MaxBodySize = q.maxQuiltBodyKiB << 10
	cfg.Quilt.MaxSize = q.maxQuiltKiB << 10
	cfg.ResponseHeaders = daemon.ResponseHeaderConfig{AllowedHeaders: append([]string{}, q.allowedHeaders...), AllowQuiltPatchTagsInResponse: q.allowTags}
	return cfg
}
