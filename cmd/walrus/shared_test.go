package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/network/nettest"
)

// TestSharedBlobCommands runs store --share, share, fund-shared-blob and
// extend --shared against a real chain over HTTP and checks Walrus's JSON
// shapes field by field, and the chain's state after each.
func TestSharedBlobCommands(t *testing.T) {
	e := newClientEnv(t)
	ctx := t.Context()
	st, _ := e.net.Chain.SystemState(ctx)
	data := nettest.Blob(3000, 31)
	file := filepath.Join(e.dir, "blob.bin")
	os.WriteFile(file, data, 0o644)
	id, _, _ := mustBlobID(t, data, st.NShards)

	// store --share --permanent: newlyCreated names the shared blob.
	out, errOut, code := e.run(t, "store", file, "--share", "--permanent", "--epochs", "2", "--json")
	var res []json.RawMessage
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res) != 1 {
		t.Fatalf("store --share: %d %q %q", code, out, errOut)
	}
	r := jsonFields(t, "store --share", res[0], "blobStoreResult", "path")
	nc := jsonFields(t, "blobStoreResult", r["blobStoreResult"], "newlyCreated")
	m := jsonFields(t, "newlyCreated", nc["newlyCreated"], "blobObject", "resourceOperation", "cost", "sharedBlobObject")
	var sharedID chain.ObjectID
	if err := json.Unmarshal(m["sharedBlobObject"], &sharedID); err != nil {
		t.Fatalf("sharedBlobObject %s: %v", m["sharedBlobObject"], err)
	}
	var obj struct {
		ID      chain.ObjectID `json:"id"`
		BlobID  string         `json:"blobId"`
		Storage struct {
			EndEpoch uint32 `json:"endEpoch"`
		} `json:"storage"`
		Deletable bool `json:"deletable"`
	}
	json.Unmarshal(m["blobObject"], &obj)
	sb, err := e.net.Chain.SharedBlob(ctx, sharedID)
	if err != nil {
		t.Fatalf("the printed shared blob %s: %v", sharedID, err)
	}
	if sb.Blob.ID != obj.ID || obj.BlobID != id.String() || sb.Blob.BlobID != id || obj.Deletable || sb.Funds != 0 ||
		sb.Blob.EndEpoch() != st.Epoch+2 || obj.Storage.EndEpoch != st.Epoch+2 {
		t.Fatalf("shared blob %+v for the printed object %+v", sb, obj)
	}
	objs, _ := e.net.Chain.BlobObjects(ctx, e.net.Wallet.Address())
	for _, o := range objs {
		if o.ID == obj.ID {
			t.Error("the shared blob object is still the wallet's")
		}
	}
	// The text form prints it too, as Walrus's.
	file2 := filepath.Join(e.dir, "blob2.bin")
	os.WriteFile(file2, nettest.Blob(1000, 32), 0o644)
	out, errOut, code = e.run(t, "store", file2, "--share", "--permanent")
	if code != 0 || !strings.Contains(out, "Shared blob object ID: 0x") {
		t.Fatalf("store --share text: %d %q %q", code, out, errOut)
	}

	// extend --shared with no funds fails and changes nothing.
	_, errOut, code = e.run(t, "extend", "--blob-obj-id", sharedID.String(), "--shared", "--epochs-extended", "1")
	if code == 0 || !strings.Contains(errOut, "insufficient balance") {
		t.Fatalf("extending an unfunded shared blob: %d %q", code, errOut)
	}

	// fund-shared-blob: Walrus's FundSharedBlobOutput.
	cost, _ := st.StorageCost(sb.Blob.Storage.Size, 3)
	amount := cost + 5
	bal, _ := e.net.Chain.Balance(ctx, e.net.Wallet.Address())
	out, errOut, code = e.run(t, "fund-shared-blob", "--shared-blob-obj-id", sharedID.String(), "--amount", jsonNumber(amount), "--json")
	if code != 0 {
		t.Fatalf("fund-shared-blob: %d %q", code, errOut)
	}
	f := jsonFields(t, "fund-shared-blob", json.RawMessage(out), "amount")
	jsonEq(t, "amount", f["amount"], amount)
	if sb, _ = e.net.Chain.SharedBlob(ctx, sharedID); sb.Funds != amount {
		t.Errorf("funds %d after funding %d", sb.Funds, amount)
	}
	if after, _ := e.net.Chain.Balance(ctx, e.net.Wallet.Address()); after != bal-amount {
		t.Errorf("wallet balance %d after funding %d from %d", after, amount, bal)
	}

	// extend --shared: paid from the funds, not the wallet.
	bal, _ = e.net.Chain.Balance(ctx, e.net.Wallet.Address())
	out, errOut, code = e.run(t, "extend", "--blob-obj-id", sharedID.String(), "--shared", "--epochs-extended", "3", "--json")
	if code != 0 {
		t.Fatalf("extend --shared: %d %q", code, errOut)
	}
	x := jsonFields(t, "extend --shared", json.RawMessage(out), "epochsExtended", "blobObject", "cost", "sharedBlobObject", "funds")
	jsonEq(t, "epochsExtended", x["epochsExtended"], 3)
	jsonEq(t, "cost", x["cost"], cost)
	jsonEq(t, "sharedBlobObject", x["sharedBlobObject"], sharedID.String())
	jsonEq(t, "funds", x["funds"], 5)
	bo := jsonFields(t, "blobObject", x["blobObject"], "id", "registeredEpoch", "blobId", "size", "encodingType", "certifiedEpoch", "storage", "deletable")
	jsonEq(t, "blobObject.id", bo["id"], obj.ID.String())
	jsonEq(t, "blobObject.storage.endEpoch", jsonFields(t, "storage", bo["storage"], "id", "startEpoch", "endEpoch", "storageSize")["endEpoch"], st.Epoch+5)
	if after, _ := e.net.Chain.Balance(ctx, e.net.Wallet.Address()); after != bal {
		t.Errorf("the wallet paid for the shared extension: %d, was %d", after, bal)
	}
	if bs, _ := e.net.Chain.BlobStatus(ctx, id); bs.EndEpoch != st.Epoch+5 {
		t.Errorf("blob status ends at %d, want %d", bs.EndEpoch, st.Epoch+5)
	}

	// share --amount of a blob the wallet owns: Walrus's ShareBlobOutput.
	file3 := filepath.Join(e.dir, "blob3.bin")
	os.WriteFile(file3, nettest.Blob(500, 33), 0o644)
	var owned []struct {
		BlobStoreResult struct {
			NewlyCreated struct {
				BlobObject struct {
					ID chain.ObjectID `json:"id"`
				} `json:"blobObject"`
			} `json:"newlyCreated"`
		} `json:"blobStoreResult"`
	}
	e.runJSON(t, &owned, "store", file3, "--permanent")
	oid := owned[0].BlobStoreResult.NewlyCreated.BlobObject.ID
	out, errOut, code = e.run(t, "share", "--blob-obj-id", oid.String(), "--amount", "9", "--json")
	if code != 0 {
		t.Fatalf("share: %d %q", code, errOut)
	}
	s := jsonFields(t, "share", json.RawMessage(out), "sharedBlobObjectId", "amount")
	jsonEq(t, "amount", s["amount"], 9)
	var sid chain.ObjectID
	json.Unmarshal(s["sharedBlobObjectId"], &sid)
	if sb, err := e.net.Chain.SharedBlob(ctx, sid); err != nil || sb.Blob.ID != oid || sb.Funds != 9 {
		t.Errorf("shared blob %s: %+v %v", sid, sb, err)
	}
	_, errOut, code = e.run(t, "share", "--blob-obj-id", oid.String())
	if code == 0 || !strings.Contains(errOut, "not the owner") {
		t.Errorf("sharing twice: %d %q", code, errOut)
	}
}

func jsonNumber(v uint64) string { b, _ := json.Marshal(v); return string(b) }
