package backend_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/backend"
	"github.com/walrus-go/walrus/chain/chaintest"
	"github.com/walrus-go/walrus/chain/local"
	"github.com/walrus-go/walrus/chain/sui"
	"github.com/walrus-go/walrus/chain/sui/suitest"
)

func TestValidate(t *testing.T) {
	good := &sui.Config{RPCURL: "http://127.0.0.1:1", Package: "0x1", System: "0x2", Staking: "0x3", WALType: "0x4::wal::WAL"}
	for _, tc := range []struct {
		name string
		cfg  backend.Config
		want string // "" = valid
	}{
		{"local", backend.Config{ChainURL: "http://127.0.0.1:9180"}, ""},
		{"local named", backend.Config{Chain: "local", ChainURL: "http://x:1"}, ""},
		{"local without a URL", backend.Config{}, "chain_url is required"},
		{"local with a sui block", backend.Config{ChainURL: "http://x:1", Sui: good}, "set chain: sui"},
		{"sui", backend.Config{Chain: "sui", Sui: good}, ""},
		{"sui without its block", backend.Config{Chain: "sui"}, "needs a sui block"},
		{"sui without a package", backend.Config{Chain: "sui", Sui: &sui.Config{RPCURL: "http://x:1", System: "0x2", Staking: "0x3", WALType: "0x4::wal::WAL"}}, "ackage"},
		{"unknown", backend.Config{Chain: "ethereum"}, `chain "ethereum"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, backend.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrConfig mentioning %q", err, tc.want)
			}
		})
	}
}

// TestOpen opens both backends and reads the same system from each: the
// local chain over its HTTP API, and the same chain behind the Sui test
// server.
func TestOpen(t *testing.T) {
	net := chaintest.NewNetwork(7, 10, 10, 10, 10)
	srv := suitest.New(t, net)
	lc := srv.Local()
	hs := httptest.NewServer(local.NewHandler(lc, nil))
	t.Cleanup(hs.Close)
	ctx := context.Background()
	var states []chain.SystemState
	for _, cfg := range []backend.Config{
		{ChainURL: hs.URL},
		{Chain: backend.Sui, Sui: ptr(srv.Config())},
	} {
		c, err := backend.Open(ctx, cfg)
		if err != nil {
			t.Fatalf("%s: %v", cfg.Describe(), err)
		}
		st, err := c.SystemState(ctx)
		c.Close()
		if err != nil {
			t.Fatalf("%s: %v", cfg.Describe(), err)
		}
		states = append(states, st)
	}
	if states[0].Epoch != states[1].Epoch || states[0].NShards != states[1].NShards || states[0].NShards != net.NShards {
		t.Fatalf("local says %+v, sui %+v", states[0], states[1])
	}
	if _, err := backend.Open(ctx, backend.Config{Chain: "nope"}); !errors.Is(err, backend.ErrConfig) {
		t.Fatalf("unknown backend: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
