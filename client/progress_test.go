package client_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/network/nettest"
)

// TestStoreProgress checks the stages a store reports, in order, and that
// the send stage moves with the bytes written (many small steps, not one
// per node), never backwards, and ends at its total.
func TestStoreProgress(t *testing.T) {
	nw := nettest.New(t, nettest.Options{})
	// Every node's bytes are counted: the store waits for all of them
	// (nettest's grace period of 20 ms may end before the last node's
	// slivers are all written on a loaded machine).
	c := nettest.Client(t, nw, func(c *client.Config) { c.GracePeriod = time.Minute })
	var mu sync.Mutex
	var stages []string
	var sends []client.Progress
	_, err := c.Store(context.Background(), nettest.Blob(1<<20, 5), client.StoreOptions{Epochs: 1, Progress: func(p client.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
			stages = append(stages, p.Stage)
		}
		if p.Stage == "send" {
			sends = append(sends, p)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"encode", "register", "send", "certify"}
	if len(stages) != len(want) {
		t.Fatalf("stages %v, want %v", stages, want)
	}
	for i := range want {
		if stages[i] != want[i] {
			t.Fatalf("stages %v, want %v", stages, want)
		}
	}
	total := sends[0].Total
	if total <= 0 || sends[0].Done != 0 {
		t.Fatalf("first send report %+v", sends[0])
	}
	for i := 1; i < len(sends); i++ {
		if sends[i].Done < sends[i-1].Done || sends[i].Total != total {
			t.Fatalf("send report %d: %+v after %+v", i, sends[i], sends[i-1])
		}
	}
	if last := sends[len(sends)-1]; last.Done != total {
		t.Fatalf("last send report %+v, want all %d bytes", last, total)
	}
	// 1 MiB of blob is about 5 MiB of slivers to 4 nodes: in 64 KiB
	// pieces that is about 80 reports; per node it would be 4.
	if nodes := len(nw.Nodes); len(sends) < 10*nodes {
		t.Fatalf("%d send reports for %d nodes: the bar would jump", len(sends), nodes)
	}
}
