//go:build ignore

// gen_peerids writes peerids.json: libp2p's own peer IDs of Ed25519 keys
// from fixed seeds, the vectors TestPeerIDVectors checks package chain's
// parser against (package chain does not import go-libp2p).
//
//	go run ./chain/testdata/gen_peerids.go > chain/testdata/peerids.json
package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

type vector struct {
	Seed      string `json:"seed"`
	PublicKey string `json:"publicKey"`
	PeerID    string `json:"peerId"`
	// Multihash is the peer ID's binary form.
	Multihash string `json:"multihash"`
	// Message and Signature: libp2p's Sign of a fixed message.
	Message   string `json:"message"`
	Signature string `json:"signature"`
}

func main() {
	var out []vector
	msg := []byte("walrus-go network key vector")
	for i := range 4 {
		seed := make([]byte, ed25519.SeedSize)
		for j := range seed {
			seed[j] = byte(i*37 + j)
		}
		priv := ed25519.NewKeyFromSeed(seed)
		k, err := crypto.UnmarshalEd25519PrivateKey(priv)
		if err != nil {
			panic(err)
		}
		id, err := peer.IDFromPrivateKey(k)
		if err != nil {
			panic(err)
		}
		sig, err := k.Sign(msg)
		if err != nil {
			panic(err)
		}
		out = append(out, vector{
			Seed: hex.EncodeToString(seed), PublicKey: hex.EncodeToString(priv.Public().(ed25519.PublicKey)),
			PeerID: id.String(), Multihash: hex.EncodeToString([]byte(id)),
			Message: hex.EncodeToString(msg), Signature: hex.EncodeToString(sig),
		})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}
