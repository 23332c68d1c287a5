package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
)

func init() { register(newDeleteCmd) }

// blobIdentity is Walrus's BlobIdentity: what a delete was asked for.
type blobIdentity struct {
	BlobID   *encoding.BlobID `json:"blobId"`
	File     *string          `json:"file"`
	ObjectID *chain.ObjectID  `json:"objectId"`
}

func (b blobIdentity) String() string {
	var parts []string
	if b.BlobID != nil {
		parts = append(parts, "blob ID: "+b.BlobID.String())
	}
	if b.File != nil {
		parts = append(parts, "file: "+*b.File)
	}
	if b.ObjectID != nil {
		parts = append(parts, "object ID: "+b.ObjectID.String())
	}
	return strings.Join(parts, " ")
}

// deleteOutput is one target's entry of `walrus delete --json`, as
// Walrus's DeleteOutput.
type deleteOutput struct {
	BlobIdentity       blobIdentity        `json:"blobIdentity"`
	DeletedBlobs       []client.BlobObject `json:"deletedBlobs"`
	PostDeletionStatus any                 `json:"postDeletionStatus,omitempty"`
	NoBlobFound        bool                `json:"noBlobFound"`
	Error              string              `json:"error,omitempty"`
	Aborted            bool                `json:"aborted"`
}

func newDeleteCmd() *cobra.Command {
	var (
		cf                       clientFlags
		files, blobIDs, objIDs   []string
		files2, blobIDs2, objID2 []string
		yes, noStatusCheck       bool
	)
	cmd := &cobra.Command{
		Use:   "delete (--file FILE | --blob-id ID | --object-id ID)... [--yes]",
		Short: "Delete deletable blobs the wallet owns",
		Long: `Deletes the wallet's deletable blob objects and returns their storage to the
wallet: --object-id deletes that object; --blob-id (or --file, whose blob ID is
computed for the network's shard count) deletes every deletable object of the
blob the wallet owns, after asking for confirmation unless --yes (or --json).
Permanent blobs cannot be deleted. Copies others hold (caches, other objects of
the same blob) are not affected. Each flag may be repeated.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			files, blobIDs, objIDs = append(files, files2...), append(blobIDs, blobIDs2...), append(objIDs, objID2...)
			if len(files)+len(blobIDs)+len(objIDs) == 0 {
				return errors.New("give at least one of --file, --blob-id and --object-id")
			}
			var targets []blobIdentity
			for _, s := range blobIDs {
				id, err := parseBlobIDArg(s)
				if err != nil {
					return fmt.Errorf("--blob-id: %w", err)
				}
				targets = append(targets, blobIdentity{BlobID: &id})
			}
			for _, s := range objIDs {
				oid, err := chain.ParseObjectID(s)
				if err != nil {
					return fmt.Errorf("--object-id: %w", err)
				}
				targets = append(targets, blobIdentity{ObjectID: &oid})
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, true, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			for _, f := range files {
				id, err := fileBlobID(cmd, c, f)
				if err != nil {
					return fmt.Errorf("--file %s: %w", f, err)
				}
				targets = append([]blobIdentity{{BlobID: &id, File: &f}}, targets...)
			}
			d := deleter{cmd: cmd, c: c, yes: yes || cf.json, statusCheck: !noStatusCheck, in: bufio.NewReader(cmd.InOrStdin())}
			var outs []deleteOutput
			failed := 0
			for _, t := range targets {
				o := d.delete(ctx, t)
				if o.Error != "" {
					failed++
				}
				outs = append(outs, o)
				if !cf.json {
					printDeleteOutput(cmd.OutOrStdout(), &o)
				}
			}
			if cf.json {
				if err := printJSON(cmd.OutOrStdout(), outs); err != nil {
					return err
				}
			}
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d deletions failed", failed, len(targets))}
			}
			return nil
		},
	}
	cf.register(cmd)
	f := cmd.Flags()
	f.StringArrayVar(&files, "file", nil, "delete the blob of this file (its blob ID for the network's shard count)")
	f.StringSliceVar(&blobIDs, "blob-id", nil, "delete every deletable object of this blob ID the wallet owns")
	f.StringSliceVar(&objIDs, "object-id", nil, "delete this blob object")
	// Walrus's plural spellings.
	f.StringArrayVar(&files2, "files", nil, "same as --file")
	f.StringSliceVar(&blobIDs2, "blob-ids", nil, "same as --blob-id")
	f.StringSliceVar(&objID2, "object-ids", nil, "same as --object-id")
	for _, n := range []string{"files", "blob-ids", "object-ids"} {
		f.MarkHidden(n)
	}
	f.BoolVar(&yes, "yes", false, "delete without asking for confirmation")
	f.BoolVar(&noStatusCheck, "no-status-check", false, "do not read the blob's status after deleting")
	return cmd
}

// deleter deletes one target at a time, asking for confirmation of blob ID
// targets unless yes.
type deleter struct {
	cmd         *cobra.Command
	c           *client.Client
	yes         bool
	statusCheck bool
	in          *bufio.Reader
}

func (d *deleter) delete(ctx context.Context, t blobIdentity) deleteOutput {
	out := deleteOutput{BlobIdentity: t, DeletedBlobs: []client.BlobObject{}}
	owned, err := d.c.ListBlobs(ctx, false)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	var todo []chain.BlobObject
	for _, o := range owned {
		if !o.Deletable {
			continue
		}
		if (t.ObjectID != nil && o.ID == *t.ObjectID) || (t.BlobID != nil && o.BlobID == *t.BlobID) {
			todo = append(todo, o)
		}
	}
	if len(todo) == 0 {
		out.NoBlobFound = true
		return out
	}
	if t.ObjectID == nil && !d.yes {
		w := d.cmd.OutOrStdout()
		fmt.Fprintf(w, "The following blobs with blob ID %s are deletable:\n", t.BlobID)
		for _, o := range todo {
			fmt.Fprintln(w, o.ID)
		}
		fmt.Fprintln(w, "Do you want to proceed? [y/N]")
		line, err := d.in.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			out.Error = err.Error()
			return out
		}
		if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(line)), "y") {
			out.Aborted = true
			return out
		}
	}
	for _, o := range todo {
		if _, err := d.c.Delete(ctx, o.ID); err != nil {
			out.Error = err.Error()
			return out
		}
		out.DeletedBlobs = append(out.DeletedBlobs, client.NewBlobObject(o))
	}
	id := todo[0].BlobID
	if d.statusCheck {
		st, err := d.c.Status(ctx, id, client.StatusOptions{})
		if err != nil {
			out.Error = "failed to get post-deletion status: " + err.Error()
			return out
		}
		out.PostDeletionStatus = walrusBlobStatus(st.Status)
	}
	return out
}

// printDeleteOutput prints a delete's outcome in Walrus's CLI wording.
func printDeleteOutput(w io.Writer, o *deleteOutput) {
	fmt.Fprintf(w, "\nDelete result for: %s\n", o.BlobIdentity)
	switch {
	case o.Error != "":
		fmt.Fprintf(w, "Error: %s\n", o.Error)
	case o.Aborted:
		fmt.Fprintln(w, "Operation aborted. No blobs were deleted.")
	case o.NoBlobFound:
		fmt.Fprintln(w, "No owned deletable blobs found.")
		return
	}
	if len(o.DeletedBlobs) == 0 {
		return
	}
	fmt.Fprintln(w, "Success: The following objects were deleted:")
	for _, b := range o.DeletedBlobs {
		fmt.Fprintf(w, "  %s (blob %s, %s, storage until epoch %d returned to the wallet)\n", b.ID, b.BlobID, humanBytes(b.Size), b.Storage.EndEpoch)
	}
	switch o.PostDeletionStatus.(type) {
	case string:
		fmt.Fprintln(w, "Note: The blob was removed from Walrus (note that the data may still be publicly available, i.e., if someone has downloaded it before deletion).")
	case nil:
	default:
		fmt.Fprintln(w, "Note: The above blob objects were removed, but the blob still exists on Walrus.")
	}
}
