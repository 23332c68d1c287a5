package chaintest

import (
	"errors"
	"slices"
	"strings"

	"github.com/walrus-go/walrus/chain"
)

// testBlobAttributes checks Walrus's blob metadata semantics: set creates
// the attribute and updates keys in place of moving them to the end,
// removing a missing key fails and changes nothing, only the owner writes,
// limits hold, removing the whole attribute leaves none, and a deleted
// object loses it.
func testBlobAttributes(e *env) {
	owner := e.net.Client
	r := e.register(owner, blob(1, 1000, 3, true))
	id := r.Blob.ID
	a, err := e.c.BlobAttribute(e.ctx, id)
	if errors.Is(err, chain.ErrAttributesUnsupported) {
		e.t.Skip("the backend has no blob attributes: " + err.Error())
	}
	e.must(err)
	if a != nil {
		e.t.Fatalf("new blob object has attribute %+v", a)
	}
	pairs := func(kv ...string) []chain.AttributePair {
		var out []chain.AttributePair
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, chain.AttributePair{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	want := func(what string, kv ...string) {
		e.t.Helper()
		a, err := e.c.BlobAttribute(e.ctx, id)
		e.must(err)
		if a == nil || !slices.Equal(a.Pairs, pairs(kv...)) {
			e.t.Fatalf("%s: attribute %+v, want %v", what, a, kv)
		}
	}
	_, err = e.c.SetBlobAttribute(e.ctx, owner, id, pairs("content-type", "text/plain", "a", "1", "b", "2"))
	e.must(err)
	want("after set", "content-type", "text/plain", "a", "1", "b", "2")
	_, err = e.c.SetBlobAttribute(e.ctx, owner, id, pairs("a", "3"))
	e.must(err)
	want("after update", "content-type", "text/plain", "b", "2", "a", "3")

	_, err = e.c.SetBlobAttribute(e.ctx, NewAccount(120), id, pairs("x", "y"))
	e.wantErr(err, chain.ErrNotOwner, "set by another account")
	_, err = e.c.RemoveBlobAttribute(e.ctx, NewAccount(120), id)
	e.wantErr(err, chain.ErrNotOwner, "removal by another account")
	_, err = e.c.SetBlobAttribute(e.ctx, owner, chain.ObjectID{0xEE}, pairs("x", "y"))
	e.wantErr(err, chain.ErrNotFound, "set on an unknown object")
	_, err = e.c.BlobAttribute(e.ctx, chain.ObjectID{0xEE})
	e.wantErr(err, chain.ErrNotFound, "attribute of an unknown object")

	for _, tc := range []struct {
		what  string
		pairs []chain.AttributePair
		err   error
	}{
		{"no pairs", nil, chain.ErrInvalidAttribute},
		{"empty key", pairs("", "v"), chain.ErrInvalidAttribute},
		{"key too long", pairs(strings.Repeat("k", chain.MaxAttributeKeyLen+1), "v"), chain.ErrInvalidAttribute},
		{"value too long", pairs("k", strings.Repeat("v", chain.MaxAttributeValueLen+1)), chain.ErrInvalidAttribute},
		{"value not UTF-8", pairs("k", "\xff"), chain.ErrInvalidAttribute},
		{"too many pairs", manyPairs(chain.MaxAttributePairs + 1), chain.ErrTooLarge},
		{"too many in all", manyPairs(chain.MaxAttributePairs - 2), chain.ErrTooLarge},
		{"too large in all", []chain.AttributePair{{Key: "v1", Value: strings.Repeat("v", chain.MaxAttributeValueLen)},
			{Key: "v2", Value: strings.Repeat("v", chain.MaxAttributeValueLen)}, {Key: "v3", Value: strings.Repeat("v", chain.MaxAttributeValueLen)},
			{Key: "v4", Value: strings.Repeat("v", chain.MaxAttributeValueLen)}}, chain.ErrTooLarge},
	} {
		_, err := e.c.SetBlobAttribute(e.ctx, owner, id, tc.pairs)
		e.wantErr(err, tc.err, tc.what)
	}
	want("after refused sets", "content-type", "text/plain", "b", "2", "a", "3")

	_, err = e.c.RemoveBlobAttributePairs(e.ctx, owner, id, []string{"b", "missing"})
	e.wantErr(err, chain.ErrNoAttribute, "removing a missing key")
	want("after a refused removal", "content-type", "text/plain", "b", "2", "a", "3")
	_, err = e.c.RemoveBlobAttributePairs(e.ctx, owner, id, []string{"b", "content-type"})
	e.must(err)
	want("after removing pairs", "a", "3")
	_, err = e.c.RemoveBlobAttributePairs(e.ctx, owner, id, []string{"a"})
	e.must(err)
	want("after removing the last pair")

	_, err = e.c.RemoveBlobAttribute(e.ctx, owner, id)
	e.must(err)
	if a, err := e.c.BlobAttribute(e.ctx, id); err != nil || a != nil {
		e.t.Fatalf("after removal: attribute %+v, %v", a, err)
	}
	_, err = e.c.RemoveBlobAttribute(e.ctx, owner, id)
	e.wantErr(err, chain.ErrNoAttribute, "removing a missing attribute")
	_, err = e.c.RemoveBlobAttributePairs(e.ctx, owner, id, []string{"a"})
	e.wantErr(err, chain.ErrNoAttribute, "removing a key without an attribute")

	_, err = e.c.SetBlobAttribute(e.ctx, owner, id, pairs("k", "v"))
	e.must(err)
	_, err = e.c.DeleteBlob(e.ctx, owner, id)
	e.must(err)
	_, err = e.c.BlobAttribute(e.ctx, id)
	e.wantErr(err, chain.ErrNotFound, "attribute of a deleted object")
}

func manyPairs(n int) []chain.AttributePair {
	out := make([]chain.AttributePair, n)
	for i := range out {
		out[i] = chain.AttributePair{Key: "key" + strings.Repeat("x", i), Value: "v"}
	}
	return out
}
