package client

import (
	"errors"
	"testing"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/p2p"
)

// TestVerifyConfirmation: a confirmation is aggregated only if it signs the
// expected message with the member's own key.
func TestVerifyConfirmation(t *testing.T) {
	key, err := chain.GenerateBLSKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := chain.GenerateBLSKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("certify blob 1 in epoch 2")
	sig := key.Sign(msg)
	forged := other.Sign(msg)
	elsewhere := key.Sign([]byte("certify blob 2 in epoch 2"))
	for _, tc := range []struct {
		name string
		conf p2p.Confirmation
		ok   bool
	}{
		{"the member's signature of the message", p2p.Confirmation{Message: msg, Signature: sig[:]}, true},
		{"another key's signature", p2p.Confirmation{Message: msg, Signature: forged[:]}, false},
		{"the member's signature of another message", p2p.Confirmation{Message: msg, Signature: elsewhere[:]}, false},
		{"another message", p2p.Confirmation{Message: []byte("certify blob 3"), Signature: sig[:]}, false},
		{"a short signature", p2p.Confirmation{Message: msg, Signature: sig[:10]}, false},
		{"no signature", p2p.Confirmation{Message: msg}, false},
	} {
		got, err := verifyConfirmation(key.PublicKey(), tc.conf, msg)
		if tc.ok {
			if err != nil || got != sig {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, errBadConfirmation) {
			t.Errorf("%s: err = %v, want errBadConfirmation", tc.name, err)
		}
	}
}
