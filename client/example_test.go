package client_test

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/network"
)

// Example stores a blob on a network of real parts in this process (the
// embedded chain and four storage nodes on loopback) and reads it back.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "walrus-example-")
	defer os.RemoveAll(dir)
	nw, err := network.Start(ctx, network.Config{Dir: dir, ChainInMemory: true, NoSync: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nw.Close()

	// A client paying with the network's funded wallet.
	c, err := client.New(ctx, client.Config{Chain: nw.Chain, Signer: nw.Wallet})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	blob := []byte("hello, walrus")
	res, err := c.Store(ctx, blob, client.StoreOptions{Epochs: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("certified:", res.NewlyCreated.BlobObject.CertifiedEpoch != nil)
	fmt.Println("blob ID:", res.BlobID())

	got, err := c.ReadBlob(ctx, res.BlobID(), client.ReadOptions{})
	fmt.Println("read back:", string(got), err == nil && bytes.Equal(got, blob))
	// Output:
	// certified: true
	// blob ID: HbC9xahf0jO45dqzHsyTkLwrjs1W77JiYKW4ZU2X7P4
	// read back: hello, walrus true
}
