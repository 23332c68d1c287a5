package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/encoding/quilt"
)

func init() {
	register(newStoreQuiltCmd)
	register(newReadQuiltCmd)
	register(newListPatchesCmd)
}

// quiltBlobInput is one --blobs value of store-quilt, Walrus's
// QuiltBlobInput: {"path":…,"identifier":…,"tags":{…}}; the identifier
// defaults to the file's name.
type quiltBlobInput struct {
	Path       string            `json:"path"`
	Identifier *string           `json:"identifier"`
	Tags       map[string]string `json:"tags"`
}

// multiValues gives a flag Walrus's "--flag A B C" form: cobra takes A as
// the flag's value and leaves B and C as positional arguments, which
// belong to the flag when it was given.
func multiValues(flagged []string, args []string) []string {
	if len(flagged) == 0 {
		return nil
	}
	return append(slices.Clone(flagged), args...)
}

func newStoreQuiltCmd() *cobra.Command {
	var (
		cf                   clientFlags
		paths, blobArgs      []string
		lifetime             epochArg
		permanent, deletable bool
		force, dryRun        bool
		sendTo               string
	)
	cmd := &cobra.Command{
		Use:     "store-quilt (--paths PATH... | --blobs JSON...)",
		Aliases: []string{"write-quilt"},
		Short:   "Store files as a quilt",
		Long: `Stores many files as one quilt (Walrus's QuiltV1): one blob, each file
readable alone by its quilt patch ID or by the quilt ID and its identifier.

--paths takes files and directories (read recursively); each file's name is
its identifier, and names must be unique. --blobs takes JSON objects
{"path":"…","identifier":"…","tags":{"k":"v"}} (identifier defaults to the
file's name). Store options are those of store.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ps, bs := multiValues(paths, args), multiValues(blobArgs, args)
			switch {
			case len(ps) > 0 && len(bs) > 0:
				return errors.New("--paths and --blobs are mutually exclusive")
			case len(ps) == 0 && len(bs) == 0:
				return errors.New("either --paths or --blobs must be given")
			case permanent && deletable:
				return errors.New("--permanent and --deletable are mutually exclusive")
			}
			if err := lifetime.check(); err != nil {
				return err
			}
			opts := client.StoreOptions{Deletable: !permanent, Force: force, DryRun: dryRun}
			if sendTo != "" {
				a, err := chain.ParseAddress(sendTo)
				if err != nil {
					return fmt.Errorf("--send-object-to: %w", err)
				}
				opts.Owner = a
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, !dryRun, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			st, err := c.SystemState(ctx)
			if err != nil {
				return err
			}
			if opts.Epochs, err = lifetime.epochsAhead(&st, time.Now()); err != nil {
				return err
			}
			p, err := st.Params()
			if err != nil {
				return err
			}
			maxFiles, _ := quilt.MaxBlobs(st.NShards)
			lim := loadLimits{maxFiles: maxFiles, maxBytes: p.MaxBlobSize()}
			var blobs []quilt.Blob
			if len(ps) > 0 {
				blobs, err = loadQuiltPaths(ps, lim)
			} else {
				blobs, err = loadQuiltBlobs(bs, lim)
			}
			if err != nil {
				return err
			}
			progress, done := newProgress(cmd, cf.json, progressMinBytes, "quilt")
			opts.Progress = progress
			res, err := c.StoreQuilt(ctx, blobs, opts)
			done()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if dryRun {
				return printQuiltDryRun(w, res, cf.json)
			}
			if cf.json {
				return printJSON(w, res)
			}
			printStoreResult(w, "path(s) ignored for quilt store result", res.BlobStoreResult)
			printPatchTable(w, res.StoredQuiltBlobs)
			return nil
		},
	}
	cf.register(cmd)
	f := cmd.Flags()
	f.StringArrayVar(&paths, "paths", nil, "files or directories to put into the quilt (file names are the identifiers)")
	f.StringArrayVar(&blobArgs, "blobs", nil, `files as JSON: {"path":"…","identifier":"…","tags":{"k":"v"}}`)
	lifetime.register(f)
	f.BoolVar(&permanent, "permanent", false, "store a permanent blob (cannot be deleted before it expires)")
	f.BoolVar(&deletable, "deletable", false, "store a deletable blob (the default)")
	f.BoolVar(&force, "force", false, "store even if the quilt is already certified for long enough")
	f.BoolVar(&dryRun, "dry-run", false, "only print the quilt ID, patch IDs, encoded size and cost")
	f.StringVar(&sendTo, "send-object-to", "", "address that receives the blob object (default the wallet's)")
	return cmd
}

// loadLimits bound what store-quilt reads before storing: the files a
// quilt holds and the network's maximum blob size in all.
type loadLimits struct {
	maxFiles int
	maxBytes uint64
}

// quiltFile is a file found for a quilt.
type quiltFile struct {
	path string
	size int64
}

// walkQuiltPaths returns the regular files under paths (directories
// recursively, sorted), refusing more than lim allows before reading any.
func walkQuiltPaths(paths []string, lim loadLimits) ([]quiltFile, error) {
	var files []quiltFile
	var total uint64
	seen := make(map[string]bool)
	add := func(p string, size int64) error {
		abs, err := filepath.Abs(p)
		if err == nil && seen[abs] {
			return nil
		}
		seen[abs] = true
		files = append(files, quiltFile{p, size})
		total += uint64(size)
		switch {
		case len(files) > lim.maxFiles:
			return fmt.Errorf("%w: more than %d files", quilt.ErrTooManyBlobs, lim.maxFiles)
		case total > lim.maxBytes:
			return fmt.Errorf("%w: the files hold more than %s, the network's maximum blob size", quilt.ErrTooLarge, humanBytes(lim.maxBytes))
		}
		return nil
	}
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			if !st.Mode().IsRegular() {
				return nil, fmt.Errorf("%s: not a regular file", root)
			}
			if err := add(root, st.Size()); err != nil {
				return nil, err
			}
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !d.Type().IsRegular() {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			return add(p, info.Size())
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// loadQuiltPaths reads the files of --paths, named by their file names.
func loadQuiltPaths(paths []string, lim loadLimits) ([]quilt.Blob, error) {
	files, err := walkQuiltPaths(paths, lim)
	if err != nil {
		return nil, err
	}
	blobs := make([]quilt.Blob, 0, len(files))
	for i, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			return nil, err
		}
		blobs = append(blobs, quilt.Blob{Identifier: identifierOf(f.path, i), Data: data})
	}
	return blobs, nil
}

// identifierOf is Walrus's generate_identifier_from_path: the file name.
func identifierOf(p string, i int) string {
	if name := filepath.Base(p); name != "" && name != "." && name != string(filepath.Separator) {
		return name
	}
	return fmt.Sprintf("unnamed-blob-%d", i)
}

// loadQuiltBlobs reads the files of --blobs.
func loadQuiltBlobs(args []string, lim loadLimits) ([]quilt.Blob, error) {
	inputs := make([]quiltBlobInput, len(args))
	paths := make([]string, len(args))
	for i, a := range args {
		dec := json.NewDecoder(strings.NewReader(a))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&inputs[i]); err != nil || inputs[i].Path == "" {
			return nil, fmt.Errorf("--blobs %q: want {\"path\":…,\"identifier\":…,\"tags\":{…}}: %v", a, err)
		}
		paths[i] = inputs[i].Path
	}
	files, err := walkQuiltPaths(paths, lim)
	if err != nil {
		return nil, err
	}
	if len(files) != len(inputs) {
		return nil, errors.New("--blobs: each path must name one regular file, once")
	}
	blobs := make([]quilt.Blob, len(inputs))
	for i, in := range inputs {
		data, err := os.ReadFile(in.Path)
		if err != nil {
			return nil, err
		}
		id := identifierOf(in.Path, i)
		if in.Identifier != nil {
			id = *in.Identifier
		}
		blobs[i] = quilt.Blob{Identifier: id, Tags: in.Tags, Data: data}
	}
	return blobs, nil
}

// printPatchTable prints the patches of a quilt as Walrus's table.
func printPatchTable(w io.Writer, patches []client.StoredQuiltPatch) {
	fmt.Fprintf(w, "%-4s %-40s %-52s %s\n", "#", "Identifier", "Quilt patch ID", "Sliver range")
	for i, p := range patches {
		rng := ""
		if p.Range != nil {
			rng = fmt.Sprintf("[%d, %d)", p.Range[0], p.Range[1])
		}
		fmt.Fprintf(w, "%-4d %-40s %-52s %s\n", i, p.Identifier, p.QuiltPatchID, rng)
	}
}

// quiltDryRunOutput is `walrus store-quilt --dry-run --json`, Walrus's
// StoreQuiltDryRunOutput.
type quiltDryRunOutput struct {
	QuiltBlobOutput *client.DryRunResult `json:"quiltBlobOutput"`
	QuiltIndex      quiltIndexJSON       `json:"quiltIndex"`
}

// quiltIndexJSON is Walrus's QuiltIndexV1 in JSON: the patches' end
// columns, identifiers and tags (start columns follow from the order).
type quiltIndexJSON struct {
	QuiltPatches []quiltPatchJSON `json:"quiltPatches"`
}

type quiltPatchJSON struct {
	EndIndex   int               `json:"endIndex"`
	Identifier string            `json:"identifier"`
	Tags       map[string]string `json:"tags"`
}

func indexJSON(patches []quilt.Patch) quiltIndexJSON {
	out := quiltIndexJSON{QuiltPatches: make([]quiltPatchJSON, len(patches))}
	for i, p := range patches {
		tags := p.Tags
		if tags == nil {
			tags = map[string]string{}
		}
		out.QuiltPatches[i] = quiltPatchJSON{EndIndex: p.End, Identifier: p.Identifier, Tags: tags}
	}
	return out
}

func printQuiltDryRun(w io.Writer, res *client.QuiltStoreResult, asJSON bool) error {
	d := res.BlobStoreResult.DryRun
	if asJSON {
		patches := make([]quilt.Patch, len(res.StoredQuiltBlobs))
		for i, p := range res.StoredQuiltBlobs {
			patches[i] = quilt.Patch{Identifier: p.Identifier, Start: int(p.QuiltPatchID.Patch.Start), End: int(p.QuiltPatchID.Patch.End)}
		}
		return printJSON(w, quiltDryRunOutput{QuiltBlobOutput: d, QuiltIndex: indexJSON(patches)})
	}
	printStoreResult(w, "quilt", res.BlobStoreResult)
	printPatchTable(w, res.StoredQuiltBlobs)
	return nil
}

// byteArray is a []byte that marshals as a JSON array of numbers, as
// Rust's serde does a Vec<u8> (Walrus's QuiltStoreBlob.blob).
type byteArray []byte

func (b byteArray) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, 2+4*len(b))
	out = append(out, '[')
	for i, c := range b {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendUint(out, uint64(c), 10)
	}
	return append(out, ']'), nil
}

// retrievedBlob is Walrus's QuiltStoreBlob in JSON. Its blob is empty when
// the blobs were written to --out.
type retrievedBlob struct {
	Blob       byteArray         `json:"blob"`
	Identifier string            `json:"identifier"`
	Tags       map[string]string `json:"tags"`
}

// readQuiltOutput is `walrus read-quilt --json`, Walrus's ReadQuiltOutput.
type readQuiltOutput struct {
	Out            string          `json:"out,omitempty"`
	RetrievedBlobs []retrievedBlob `json:"retrievedBlobs,omitempty"`
}

func newReadQuiltCmd() *cobra.Command {
	var (
		cf          clientFlags
		quiltID     string
		identifiers []string
		tag         []string
		patchIDs    []string
		out         string
	)
	cmd := &cobra.Command{
		Use:   "read-quilt (--quilt-id ID [--identifiers ID... | --tag KEY VALUE] | --quilt-patch-ids ID...) [--out DIR]",
		Short: "Read files (patches) from a quilt",
		Long: `Reads patches of a quilt: by --quilt-id and --identifiers, by --quilt-id and
--tag KEY VALUE, by --quilt-patch-ids, or all of them with --quilt-id alone.
With --out, each patch is written to DIR under its identifier (a second
patch of the same name gets _2, _3 … before its extension) and the
identifiers and tags are printed; an identifier that is not a local path
below DIR is refused. Without --out the patches' bytes go to stdout.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, tags, pids := multiValues(identifiers, args), multiValues(tag, args), multiValues(patchIDs, args)
			given := 0
			for _, s := range [][]string{ids, tags, pids} {
				if len(s) > 0 {
					given++
				}
			}
			switch {
			case given > 1 || (len(pids) > 0 && quiltID != ""):
				return errors.New("use one of --quilt-id with --identifiers, --quilt-id with --tag, --quilt-id alone, or --quilt-patch-ids")
			case len(pids) == 0 && quiltID == "":
				return errors.New("--quilt-id or --quilt-patch-ids is required")
			case given == 0 && len(args) > 0:
				return fmt.Errorf("unexpected arguments %q", args)
			case len(tags) > 0 && len(tags) != 2:
				return errors.New("--tag takes one KEY and one VALUE")
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, false, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			var blobs []quilt.Blob
			if len(pids) > 0 {
				parsed := make([]quilt.QuiltPatchID, len(pids))
				for i, s := range pids {
					if parsed[i], err = quilt.ParseQuiltPatchID(s); err != nil {
						return fmt.Errorf("--quilt-patch-ids %q: %w", s, err)
					}
				}
				blobs, err = c.ReadQuiltPatches(ctx, parsed, client.ReadOptions{})
			} else {
				qid, perr := encoding.ParseBlobID(quiltID)
				if perr != nil {
					return fmt.Errorf("--quilt-id %q: %w", quiltID, perr)
				}
				if len(tags) == 2 {
					var q *quilt.Quilt
					if q, err = c.ReadQuilt(ctx, qid, client.ReadOptions{}); err == nil {
						blobs, err = q.BlobsByTag(tags[0], tags[1])
					}
				} else {
					blobs, err = c.ReadQuiltBlobs(ctx, qid, ids, client.ReadOptions{})
				}
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			res := readQuiltOutput{Out: out, RetrievedBlobs: make([]retrievedBlob, len(blobs))}
			for i, b := range blobs {
				res.RetrievedBlobs[i] = retrievedBlob{Blob: b.Data, Identifier: b.Identifier, Tags: b.Tags}
				if res.RetrievedBlobs[i].Tags == nil {
					res.RetrievedBlobs[i].Tags = map[string]string{}
				}
			}
			if out != "" {
				if err := writePatches(out, blobs); err != nil {
					return err
				}
				for i := range res.RetrievedBlobs {
					res.RetrievedBlobs[i].Blob = byteArray{}
				}
			}
			switch {
			case cf.json:
				return printJSON(w, res)
			case out == "":
				for _, b := range blobs {
					if _, err := w.Write(b.Data); err != nil {
						return err
					}
				}
				return nil
			}
			s := "s"
			if len(blobs) == 1 {
				s = ""
			}
			fmt.Fprintf(w, "Retrieved %d blob%s and saved to directory: %s\n", len(blobs), s, out)
			for i, b := range blobs {
				fmt.Fprintf(w, "%d. Identifier: %s\n", i+1, b.Identifier)
				if len(b.Tags) == 0 {
					fmt.Fprintln(w, "   Tags: (none)")
				} else {
					fmt.Fprintln(w, "   Tags:")
					keys := make([]string, 0, len(b.Tags))
					for k := range b.Tags {
						keys = append(keys, k)
					}
					slices.Sort(keys)
					for _, k := range keys {
						fmt.Fprintf(w, "     %s: %s\n", k, b.Tags[k])
					}
				}
				fmt.Fprintln(w)
			}
			return nil
		},
	}
	cf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&quiltID, "quilt-id", "", "the quilt's blob ID")
	f.StringArrayVar(&identifiers, "identifiers", nil, "identifiers of the patches to read (with --quilt-id)")
	f.StringArrayVar(&tag, "tag", nil, "read the patches whose tag KEY is VALUE (with --quilt-id): --tag KEY VALUE")
	f.StringArrayVar(&patchIDs, "quilt-patch-ids", nil, "quilt patch IDs of the patches to read")
	f.StringVar(&out, "out", "", "directory to write the patches to (default stdout)")
	return cmd
}

// ErrUnsafeIdentifier is returned by read-quilt --out for a patch whose
// identifier is not a local path: absolute, with "..", or empty. Walrus
// joins it to the directory as it is.
var ErrUnsafeIdentifier = errors.New("identifier is not a local file name")

// writePatches writes each blob to dir under its identifier, through an
// os.Root so that no identifier can name a file outside dir. Identifiers
// with slashes make subdirectories; repeated ones get _2, _3 … before
// their extension, as Walrus's write_blobs_dedup.
func writePatches(dir string, blobs []quilt.Blob) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	counts := make(map[string]int)
	for _, b := range blobs {
		name := filepath.FromSlash(b.Identifier)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("%w: %q", ErrUnsafeIdentifier, b.Identifier)
		}
		counts[name]++
		if n := counts[name]; n > 1 {
			ext := path.Ext(name)
			if ext == name {
				ext = ""
			}
			name = fmt.Sprintf("%s_%d%s", strings.TrimSuffix(name, ext), n, ext)
		}
		if d := filepath.Dir(name); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		if err := root.WriteFile(name, b.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// quiltMetadataOutput is `walrus list-patches-in-quilt --json`, Walrus's
// QuiltMetadata in serde's JSON: {"V1":{"quilt_id":[32 numbers],
// "metadata":{"V1":{…}},"index":{"quiltPatches":[…]}}} (Walrus's BlobId
// and hashes have no text form there).
type quiltMetadataOutput struct {
	V1 struct {
		QuiltID  byteArray          `json:"quilt_id"`
		Metadata blobMetadataOutput `json:"metadata"`
		Index    quiltIndexJSON     `json:"index"`
	} `json:"V1"`
}

// blobMetadataOutput is Walrus's BlobMetadata in serde's JSON.
type blobMetadataOutput struct {
	V1 struct {
		EncodingType    string           `json:"encoding_type"`
		UnencodedLength uint64           `json:"unencoded_length"`
		Hashes          []pairHashesJSON `json:"hashes"`
	} `json:"V1"`
}

// pairHashesJSON is Walrus's SliverPairMetadata: two Merkle nodes, each
// {"Digest":[32 numbers]}.
type pairHashesJSON struct {
	Primary   merkleNodeJSON `json:"primary_hash"`
	Secondary merkleNodeJSON `json:"secondary_hash"`
}

type merkleNodeJSON struct {
	Digest byteArray `json:"Digest"`
}

func metadataJSON(md *encoding.Metadata) blobMetadataOutput {
	var out blobMetadataOutput
	out.V1.EncodingType = "RS2"
	if md.EncodingType != encoding.RS2 {
		out.V1.EncodingType = fmt.Sprint(md.EncodingType)
	}
	out.V1.UnencodedLength = md.UnencodedLength
	out.V1.Hashes = make([]pairHashesJSON, len(md.Hashes))
	for i, h := range md.Hashes {
		out.V1.Hashes[i] = pairHashesJSON{Primary: merkleNodeJSON{h.Primary[:]}, Secondary: merkleNodeJSON{h.Secondary[:]}}
	}
	return out
}

func newListPatchesCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:     "list-patches-in-quilt QUILT_ID",
		Aliases: []string{"resolve-quilt"},
		Short:   "List the files (patches) of a quilt",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			qid, err := encoding.ParseBlobID(args[0])
			if err != nil {
				return fmt.Errorf("quilt ID %q: %w", args[0], err)
			}
			ctx := cmd.Context()
			c, closeFn, err := cf.open(ctx, false, cliLogger(cmd))
			if err != nil {
				return err
			}
			defer closeFn()
			md, ix, err := c.QuiltMetadata(ctx, qid, client.ReadOptions{})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if cf.json {
				var res quiltMetadataOutput
				res.V1.QuiltID, res.V1.Metadata, res.V1.Index = qid[:], metadataJSON(md), indexJSON(ix.Patches)
				return printJSON(w, res)
			}
			fmt.Fprintf(w, "Quilt Metadata V1: %s\n", qid)
			printPatchTable(w, client.StoredPatches(qid, ix))
			return nil
		},
	}
	cf.register(cmd)
	return cmd
}
