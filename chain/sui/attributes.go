package sui

import (
	"context"
	"fmt"
	"strings"

	"github.com/walrus-go/walrus/chain"
)

// Blob attributes are Walrus's blob metadata: the dynamic field b"metadata"
// of a Blob object, a Metadata { metadata: VecMap<String, String> }
// (contracts/walrus/sources/system/blob.move, metadata.move). The calls
// mirror testdata/vectors/vectors.mjs, made with @mysten/walrus's bindings.

// MetadataFieldName is the name of the Blob's metadata dynamic field.
const MetadataFieldName = "metadata"

// setBlobAttribute: blob::insert_or_update_metadata_pair(&mut blob, key,
// value) for each pair, in order.
func (c calls) setBlobAttribute(blob ObjectRef, pairs []chain.AttributePair) *builder {
	b := newBuilder()
	o := b.owned(blob)
	for _, p := range pairs {
		b.call(c.pkg, "blob", "insert_or_update_metadata_pair", nil, o, b.string(p.Key), b.string(p.Value))
	}
	return b
}

// removeBlobAttributePairs: blob::remove_metadata_pair(&mut blob, &key)
// for each key, in order (the removed pairs are dropped).
func (c calls) removeBlobAttributePairs(blob ObjectRef, keys []string) *builder {
	b := newBuilder()
	o := b.owned(blob)
	for _, k := range keys {
		b.call(c.pkg, "blob", "remove_metadata_pair", nil, o, b.string(k))
	}
	return b
}

// removeBlobAttribute: blob::take_metadata(&mut blob), the Metadata
// dropped.
func (c calls) removeBlobAttribute(blob ObjectRef) *builder {
	b := newBuilder()
	b.call(c.pkg, "blob", "take_metadata", nil, b.owned(blob))
	return b
}

// MetadataField is the Blob's metadata dynamic field,
// Field<vector<u8>, Metadata>: its UID and the VecMap's pairs in order.
type MetadataField struct {
	ID    chain.ObjectID
	Pairs []chain.AttributePair
}

// DecodeMetadataField decodes the BCS of a Blob's metadata dynamic field.
func DecodeMetadataField(b []byte) (MetadataField, error) {
	var f MetadataField
	r := newReader(b)
	f.ID = r.addr()
	if name := string(r.bytes()); r.err == nil && name != MetadataFieldName {
		r.fail("dynamic field %q, want %q", name, MetadataFieldName)
	}
	n := r.length(2)
	f.Pairs = []chain.AttributePair{}
	for range n {
		if r.err != nil {
			break
		}
		f.Pairs = append(f.Pairs, chain.AttributePair{Key: r.string(), Value: r.string()})
	}
	return f, r.done("Field<vector<u8>, Metadata>")
}

// Encode returns the BCS of f.
func (f MetadataField) Encode() []byte {
	var w writer
	w.addr(f.ID)
	w.string(MetadataFieldName)
	w.uleb(uint64(len(f.Pairs)))
	for _, p := range f.Pairs {
		w.string(p.Key)
		w.string(p.Value)
	}
	return w.b
}

// metadataFieldName is the name argument that finds the field: a
// vector<u8>, given as its bytes.
func metadataFieldName() dynamicFieldName {
	v := make([]int, len(MetadataFieldName))
	for i, c := range []byte(MetadataFieldName) {
		v[i] = int(c)
	}
	return dynamicFieldName{Type: "vector<u8>", Value: v}
}

// BlobAttribute reads the Blob's metadata dynamic field: nil when it has
// none, chain.ErrNotFound when there is no such Blob.
func (c *Chain) BlobAttribute(ctx context.Context, blob chain.ObjectID) (*chain.BlobAttribute, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	o, ok, err := c.rpc.getObject(ctx, blob)
	if err != nil {
		return nil, err
	}
	if !ok || !strings.HasSuffix(o.Type, "::blob::Blob") {
		return nil, fmt.Errorf("sui: blob object %s: %w", blob, chain.ErrNotFound)
	}
	f, ok, err := c.rpc.dynamicField(ctx, blob, metadataFieldName())
	if err != nil || !ok {
		return nil, err
	}
	mf, err := DecodeMetadataField(f.BCS)
	if err != nil {
		return nil, err
	}
	return &chain.BlobAttribute{Pairs: mf.Pairs}, nil
}

// SetBlobAttribute calls blob::insert_or_update_metadata_pair for each
// pair. The pairs are checked against chain's limits first (Walrus's
// package has none but Sui's object size).
func (c *Chain) SetBlobAttribute(ctx context.Context, s chain.Signer, blob chain.ObjectID, pairs []chain.AttributePair) (chain.TxReceipt, error) {
	if _, err := chain.SetAttributePairs(nil, pairs); err != nil {
		return chain.TxReceipt{}, err
	}
	return c.attributeTx(ctx, s, blob, func(o ObjectRef) *builder { return c.calls.setBlobAttribute(o, pairs) })
}

// RemoveBlobAttributePairs calls blob::remove_metadata_pair for each key.
func (c *Chain) RemoveBlobAttributePairs(ctx context.Context, s chain.Signer, blob chain.ObjectID, keys []string) (chain.TxReceipt, error) {
	if len(keys) == 0 {
		return chain.TxReceipt{}, fmt.Errorf("%w: no keys to remove", chain.ErrInvalidAttribute)
	}
	if len(keys) > chain.MaxAttributePairs {
		return chain.TxReceipt{}, fmt.Errorf("%w: %d keys in one transaction, at most %d", chain.ErrTooLarge, len(keys), chain.MaxAttributePairs)
	}
	for _, k := range keys {
		if err := chain.ValidateAttributeKey(k); err != nil {
			return chain.TxReceipt{}, err
		}
	}
	return c.attributeTx(ctx, s, blob, func(o ObjectRef) *builder { return c.calls.removeBlobAttributePairs(o, keys) })
}

// RemoveBlobAttribute calls blob::take_metadata.
func (c *Chain) RemoveBlobAttribute(ctx context.Context, s chain.Signer, blob chain.ObjectID) (chain.TxReceipt, error) {
	return c.attributeTx(ctx, s, blob, c.calls.removeBlobAttribute)
}

// attributeTx runs a transaction on a Blob the signer owns.
func (c *Chain) attributeTx(ctx context.Context, s chain.Signer, blob chain.ObjectID, build func(ObjectRef) *builder) (chain.TxReceipt, error) {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	o, err := c.ownedRef(ctx, blob, s.Address(), "::blob::Blob")
	if err != nil {
		return chain.TxReceipt{}, err
	}
	x, err := c.execute(ctx, s, build(o.Ref))
	if err != nil {
		return chain.TxReceipt{}, err
	}
	c.receiptEpoch(ctx, &x.receipt)
	return x.receipt, nil
}
