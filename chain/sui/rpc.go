package sui

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/block-vision/sui-go-sdk/models"
	"github.com/mr-tron/base58"

	"github.com/walrus-go/walrus/chain"
)

// rpcClient speaks Sui's JSON-RPC 2.0. Responses decode into sui-go-sdk's
// models types where they fit Sui's JSON shapes.
type rpcClient struct {
	url     string
	hc      *http.Client
	maxResp int64
	id      atomic.Uint64
}

type rpcRequest struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

type rpcResponse struct {
	Result json.RawMessage `json:"result"`
	Error  *RPCError       `json:"error"`
}

// RPCError is a JSON-RPC error object from the node. It matches
// chain.ErrUnavailable unless the call maps it to another sentinel.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string { return fmt.Sprintf("sui: rpc error %d: %s", e.Code, e.Message) }

// Unwrap makes an RPC error match chain.ErrUnavailable, or
// chain.ErrBadSignature when the node refused the transaction's signature
// ("Invalid user signature").
func (e *RPCError) Unwrap() error {
	if strings.Contains(strings.ToLower(e.Message), "signature") {
		return chain.ErrBadSignature
	}
	return chain.ErrUnavailable
}

// call invokes method and decodes its result into out.
func (c *rpcClient) call(ctx context.Context, out any, method string, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(rpcRequest{JSONRPC: "2.0", ID: c.id.Add(1), Method: method, Params: params})
	if err != nil {
		return fmt.Errorf("sui: %s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sui: %s: %w: %v", method, chain.ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("sui: %s: %w: %v", method, chain.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		return fmt.Errorf("sui: %s: HTTP %d: %w", method, resp.StatusCode, chain.ErrBusy)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sui: %s: HTTP %d: %w", method, resp.StatusCode, chain.ErrUnavailable)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.maxResp+1))
	if err != nil {
		return fmt.Errorf("sui: %s: %w: %v", method, chain.ErrUnavailable, err)
	}
	if int64(len(raw)) > c.maxResp {
		return fmt.Errorf("sui: %s: response over %d bytes: %w", method, c.maxResp, chain.ErrUnavailable)
	}
	var r rpcResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("sui: %s: %w: bad JSON-RPC response: %v", method, chain.ErrUnavailable, err)
	}
	if r.Error != nil {
		return fmt.Errorf("sui: %s: %w", method, r.Error)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.Result, out); err != nil {
		return fmt.Errorf("sui: %s: %w: bad result: %v", method, chain.ErrUnavailable, err)
	}
	return nil
}

var bcsOptions = models.SuiObjectDataOptions{ShowType: true, ShowBcs: true, ShowOwner: true}

// object is an object read with its BCS, type and owner.
type object struct {
	Ref     ObjectRef
	Type    string
	BCS     []byte
	Owner   chain.Address // zero unless address-owned
	Shared  uint64        // initial shared version, 0 unless shared
	Deleted bool
}

// objectOf converts an object response; ok is false for a missing or
// deleted object.
func objectOf(r models.SuiObjectResponse) (object, bool, error) {
	if r.Data == nil {
		return object{}, false, nil
	}
	d := r.Data
	var o object
	id, err := chain.ParseObjectID(normalizeHex(d.ObjectId))
	if err != nil {
		return o, false, fmt.Errorf("%w: object ID %q", ErrDecode, d.ObjectId)
	}
	o.Ref.ID = id
	if o.Ref.Version, err = strconv.ParseUint(d.Version, 10, 64); err != nil {
		return o, false, fmt.Errorf("%w: object version %q", ErrDecode, d.Version)
	}
	dg, err := base58.Decode(d.Digest)
	if err != nil || len(dg) != 32 {
		return o, false, fmt.Errorf("%w: object digest %q", ErrDecode, d.Digest)
	}
	o.Ref.Digest = dg
	o.Type = d.Type
	if d.Bcs != nil {
		if o.Type == "" {
			o.Type = d.Bcs.Type
		}
		if len(d.Bcs.BcsBytes) > base64.StdEncoding.EncodedLen(MaxObjectSize) {
			return o, false, fmt.Errorf("%w: object over %d bytes", ErrDecode, MaxObjectSize)
		}
		if o.BCS, err = base64.StdEncoding.DecodeString(d.Bcs.BcsBytes); err != nil {
			return o, false, fmt.Errorf("%w: object BCS: %v", ErrDecode, err)
		}
	}
	if d.Owner != nil {
		b, _ := json.Marshal(d.Owner)
		var ow models.ObjectOwner
		if json.Unmarshal(b, &ow) == nil {
			if ow.AddressOwner != "" {
				if o.Owner, err = chain.ParseAddress(normalizeHex(ow.AddressOwner)); err != nil {
					return o, false, fmt.Errorf("%w: owner %q", ErrDecode, ow.AddressOwner)
				}
			}
			o.Shared = ow.Shared.InitialSharedVersion
		}
	}
	return o, true, nil
}

// normalizeHex pads a 0x-prefixed hex ID to 64 digits ("0x6" → 0x00…06).
func normalizeHex(s string) string {
	h, ok := strings.CutPrefix(s, "0x")
	if !ok || len(h) >= 64 {
		return s
	}
	return "0x" + strings.Repeat("0", 64-len(h)) + h
}

func (c *rpcClient) getObject(ctx context.Context, id chain.ObjectID) (object, bool, error) {
	var r models.SuiObjectResponse
	if err := c.call(ctx, &r, "sui_getObject", id.String(), bcsOptions); err != nil {
		return object{}, false, err
	}
	return objectOf(r)
}

// MaxMultiGet is how many objects one sui_multiGetObjects asks for (Sui's
// limit is 50).
const MaxMultiGet = 50

func (c *rpcClient) multiGet(ctx context.Context, ids []chain.ObjectID) ([]object, error) {
	var out []object
	for len(ids) > 0 {
		n := min(len(ids), MaxMultiGet)
		strs := make([]string, n)
		for i, id := range ids[:n] {
			strs[i] = id.String()
		}
		var rs []models.SuiObjectResponse
		if err := c.call(ctx, &rs, "sui_multiGetObjects", strs, bcsOptions); err != nil {
			return nil, err
		}
		for _, r := range rs {
			o, ok, err := objectOf(r)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, o)
			}
		}
		ids = ids[n:]
	}
	return out, nil
}

// dynamicFieldName is the name argument of suix_getDynamicFieldObject.
type dynamicFieldName struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

func (c *rpcClient) dynamicField(ctx context.Context, parent chain.ObjectID, name dynamicFieldName) (object, bool, error) {
	var r models.SuiObjectResponse
	if err := c.call(ctx, &r, "suix_getDynamicFieldObject", parent.String(), name); err != nil {
		return object{}, false, err
	}
	return objectOf(r)
}

// pageLimit is the page size asked of paginated calls (Sui's maximum).
const pageLimit = 50

// dynamicFieldIDs lists the object IDs of a parent's dynamic fields, up to
// max.
func (c *rpcClient) dynamicFieldIDs(ctx context.Context, parent chain.ObjectID, max int) ([]chain.ObjectID, error) {
	var out []chain.ObjectID
	var cursor any
	for {
		var page models.PaginatedDynamicFieldInfoResponse
		if err := c.call(ctx, &page, "suix_getDynamicFields", parent.String(), cursor, pageLimit); err != nil {
			return nil, err
		}
		for _, f := range page.Data {
			id, err := chain.ParseObjectID(normalizeHex(f.ObjectId))
			if err != nil {
				return nil, fmt.Errorf("%w: dynamic field object %q", ErrDecode, f.ObjectId)
			}
			out = append(out, id)
		}
		if len(out) > max {
			return nil, fmt.Errorf("sui: more than %d dynamic fields under %s: %w", max, parent, chain.ErrTooLarge)
		}
		if !page.HasNextPage || page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// ownedObjects lists the objects of a Move type an address owns, up to max.
func (c *rpcClient) ownedObjects(ctx context.Context, owner chain.Address, structType string, max int) ([]object, error) {
	var out []object
	var cursor any
	query := models.SuiObjectResponseQuery{Filter: map[string]any{"StructType": structType}, Options: bcsOptions}
	for {
		var page models.PaginatedObjectsResponse
		if err := c.call(ctx, &page, "suix_getOwnedObjects", owner.String(), query, cursor, pageLimit); err != nil {
			return nil, err
		}
		for _, r := range page.Data {
			o, ok, err := objectOf(r)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, o)
			}
		}
		if len(out) > max {
			return nil, fmt.Errorf("sui: %s owns more than %d %s: %w", owner, max, structType, chain.ErrTooLarge)
		}
		if !page.HasNextPage || page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// coin is a coin object and its balance.
type coin struct {
	Ref     ObjectRef
	Balance uint64
}

// coins lists an address's coins of a type, up to max.
func (c *rpcClient) coins(ctx context.Context, owner chain.Address, coinType string, max int) ([]coin, error) {
	var out []coin
	var cursor any
	for {
		var page models.PaginatedCoinsResponse
		if err := c.call(ctx, &page, "suix_getCoins", owner.String(), coinType, cursor, pageLimit); err != nil {
			return nil, err
		}
		for _, d := range page.Data {
			id, err := chain.ParseObjectID(normalizeHex(d.CoinObjectId))
			if err != nil {
				return nil, fmt.Errorf("%w: coin %q", ErrDecode, d.CoinObjectId)
			}
			v, err1 := strconv.ParseUint(d.Version, 10, 64)
			bal, err2 := strconv.ParseUint(d.Balance, 10, 64)
			dg, err3 := base58.Decode(d.Digest)
			if err := errors.Join(err1, err2, err3); err != nil || len(dg) != 32 {
				return nil, fmt.Errorf("%w: coin %s: %v", ErrDecode, d.CoinObjectId, err)
			}
			out = append(out, coin{Ref: ObjectRef{ID: id, Version: v, Digest: dg}, Balance: bal})
		}
		if len(out) >= max || !page.HasNextPage || page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// stringOrNumber decodes a JSON number or a decimal string (Sui writes
// u64 values as strings).
type stringOrNumber uint64

func (v *stringOrNumber) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: number %s", ErrDecode, b)
	}
	*v = stringOrNumber(n)
	return nil
}

func (c *rpcClient) balance(ctx context.Context, owner chain.Address, coinType string) (uint64, error) {
	var r struct {
		TotalBalance stringOrNumber `json:"totalBalance"`
	}
	if err := c.call(ctx, &r, "suix_getBalance", owner.String(), coinType); err != nil {
		return 0, err
	}
	return uint64(r.TotalBalance), nil
}

func (c *rpcClient) gasPrice(ctx context.Context) (uint64, error) {
	var p stringOrNumber
	if err := c.call(ctx, &p, "suix_getReferenceGasPrice"); err != nil {
		return 0, err
	}
	return uint64(p), nil
}

// rpcEvent is an event as suix_queryEvents and transaction responses give
// it; bcs is base64 when bcsEncoding says so (current nodes), base58
// otherwise (older ones).
type rpcEvent struct {
	ID          models.EventId `json:"id"`
	Type        string         `json:"type"`
	BCS         string         `json:"bcs"`
	BCSEncoding string         `json:"bcsEncoding"`
	TimestampMs string         `json:"timestampMs"`
}

func (e rpcEvent) bytes() ([]byte, error) {
	if len(e.BCS) > 2*MaxObjectSize {
		return nil, fmt.Errorf("%w: event over %d bytes", ErrDecode, MaxObjectSize)
	}
	if e.BCSEncoding == "base64" {
		return base64.StdEncoding.DecodeString(e.BCS)
	}
	return base58.Decode(e.BCS)
}

type eventPage struct {
	Data        []rpcEvent      `json:"data"`
	NextCursor  *models.EventId `json:"nextCursor"`
	HasNextPage bool            `json:"hasNextPage"`
}

// executeResponse is what sui_executeTransactionBlock returns with effects,
// events and object changes.
type executeResponse struct {
	Digest  string `json:"digest"`
	Effects struct {
		Status        models.ExecutionStatus `json:"status"`
		ExecutedEpoch string                 `json:"executedEpoch"`
	} `json:"effects"`
	Events        []rpcEvent            `json:"events"`
	ObjectChanges []models.ObjectChange `json:"objectChanges"`
	Checkpoint    string                `json:"checkpoint"`
}
