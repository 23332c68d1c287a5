package chain

import (
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Blob attributes are Walrus's blob metadata (the "metadata" dynamic field
// of a Blob object, a VecMap<String, String>): key/value strings the owner of
// a blob object sets on it, kept in insertion order. Setting a key already
// present moves it to the end with its new value, as Walrus's
// insert_or_update. Aggregators answer some of them as HTTP headers
// (content-type, content-disposition, ...). A deleted blob object loses its
// attribute.

// Limits of a blob object's attribute. Walrus bounds it only by Sui's
// object size; ours are tight so that an owner cannot make the chain hold
// much per blob object.
const (
	// MaxAttributeKeyLen is the longest key, in bytes.
	MaxAttributeKeyLen = 256
	// MaxAttributeValueLen is the longest value, in bytes.
	MaxAttributeValueLen = 4096
	// MaxAttributePairs is the most pairs an attribute holds, and the most
	// keys one transaction sets or removes.
	MaxAttributePairs = 32
	// MaxAttributeSize bounds the sum of the lengths of an attribute's
	// keys and values.
	MaxAttributeSize = 16 << 10
)

// AttributePair is one key/value pair of a blob object's attribute.
type AttributePair struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// BlobAttribute is a blob object's attribute: its pairs in order.
type BlobAttribute struct {
	Pairs []AttributePair
}

// Get returns the value of key.
func (a *BlobAttribute) Get(key string) (string, bool) {
	for _, p := range a.Pairs {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Size is the sum of the lengths of the attribute's keys and values.
func (a *BlobAttribute) Size() int {
	n := 0
	for _, p := range a.Pairs {
		n += len(p.Key) + len(p.Value)
	}
	return n
}

// walrusAttribute is the JSON form of Walrus's BlobAttribute (a Move
// VecMap): {"metadata":{"contents":[{"key":…,"value":…}]}}.
type walrusAttribute struct {
	Metadata struct {
		Contents []AttributePair `json:"contents"`
	} `json:"metadata"`
}

// MarshalJSON gives Walrus's JSON form of the attribute.
func (a BlobAttribute) MarshalJSON() ([]byte, error) {
	var w walrusAttribute
	w.Metadata.Contents = a.Pairs
	if w.Metadata.Contents == nil {
		w.Metadata.Contents = []AttributePair{}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads Walrus's JSON form of the attribute.
func (a *BlobAttribute) UnmarshalJSON(b []byte) error {
	var w walrusAttribute
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	a.Pairs = w.Metadata.Contents
	return nil
}

// ValidateAttributeKey reports whether key may be an attribute key: not
// empty, at most MaxAttributeKeyLen bytes of UTF-8.
func ValidateAttributeKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidAttribute)
	case len(key) > MaxAttributeKeyLen:
		return fmt.Errorf("%w: key of %d bytes, at most %d", ErrInvalidAttribute, len(key), MaxAttributeKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: key is not UTF-8", ErrInvalidAttribute)
	}
	return nil
}

// ValidateAttributePair reports whether p may be set: a valid key and a
// value of at most MaxAttributeValueLen bytes of UTF-8.
func ValidateAttributePair(p AttributePair) error {
	if err := ValidateAttributeKey(p.Key); err != nil {
		return err
	}
	switch {
	case len(p.Value) > MaxAttributeValueLen:
		return fmt.Errorf("%w: value of key %q is %d bytes, at most %d", ErrInvalidAttribute, p.Key, len(p.Value), MaxAttributeValueLen)
	case !utf8.ValidString(p.Value):
		return fmt.Errorf("%w: value of key %q is not UTF-8", ErrInvalidAttribute, p.Key)
	}
	return nil
}

// SetAttributePairs returns pairs with set inserted or updated in order,
// as Walrus's insert_or_update_metadata_pair one pair after the other. It
// checks every pair and the limits of the result (ErrInvalidAttribute,
// ErrTooLarge) and does not modify pairs.
func SetAttributePairs(pairs, set []AttributePair) ([]AttributePair, error) {
	if len(set) == 0 {
		return nil, fmt.Errorf("%w: no pairs to set", ErrInvalidAttribute)
	}
	if len(set) > MaxAttributePairs {
		return nil, fmt.Errorf("%w: %d pairs in one transaction, at most %d", ErrTooLarge, len(set), MaxAttributePairs)
	}
	out := slices.Clone(pairs)
	for _, p := range set {
		if err := ValidateAttributePair(p); err != nil {
			return nil, err
		}
		out = slices.DeleteFunc(out, func(q AttributePair) bool { return q.Key == p.Key })
		out = append(out, p)
	}
	a := BlobAttribute{Pairs: out}
	switch {
	case len(out) > MaxAttributePairs:
		return nil, fmt.Errorf("%w: the attribute would hold %d pairs, at most %d", ErrTooLarge, len(out), MaxAttributePairs)
	case a.Size() > MaxAttributeSize:
		return nil, fmt.Errorf("%w: the attribute would be %d bytes, at most %d", ErrTooLarge, a.Size(), MaxAttributeSize)
	}
	return out, nil
}

// RemoveAttributePairs returns pairs without keys, as Walrus's
// remove_metadata_pair one key after the other: a key that is not there
// (or given twice) fails with ErrNoAttribute. It does not modify pairs.
func RemoveAttributePairs(pairs []AttributePair, keys []string) ([]AttributePair, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no keys to remove", ErrInvalidAttribute)
	}
	if len(keys) > MaxAttributePairs {
		return nil, fmt.Errorf("%w: %d keys in one transaction, at most %d", ErrTooLarge, len(keys), MaxAttributePairs)
	}
	out := slices.Clone(pairs)
	for _, k := range keys {
		if err := ValidateAttributeKey(k); err != nil {
			return nil, err
		}
		i := slices.IndexFunc(out, func(q AttributePair) bool { return q.Key == k })
		if i < 0 {
			return nil, fmt.Errorf("%w: key %q", ErrNoAttribute, truncateKey(k))
		}
		out = slices.Delete(out, i, i+1)
	}
	return out, nil
}

func truncateKey(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
