package client_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/walrus-go/walrus/chain/backend"
	"github.com/walrus-go/walrus/client"
)

func TestConfigFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "client.yaml")
	want := &client.ConfigFile{DefaultContext: "devnet", Contexts: map[string]client.ClientContext{
		"devnet": {Config: backend.Config{ChainURL: "http://127.0.0.1:9180"}, Wallet: "/abs/wallet.key", DaemonURL: "http://127.0.0.1:31415"},
		"other":  {Config: backend.Config{ChainURL: "http://10.0.0.1:9180"}, Wallet: "rel.key"},
	}}
	if err := client.WriteConfig(path, want); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config file mode: %v, %v", st.Mode(), err)
	}
	raw, _ := os.ReadFile(path)
	for _, key := range []string{"default_context: devnet", "chain_url: http://127.0.0.1:9180", "wallet: /abs/wallet.key", "daemon_url: http://127.0.0.1:31415"} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("file lacks %q:\n%s", key, raw)
		}
	}
	got, err := client.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Contexts["devnet"] != want.Contexts["devnet"] {
		t.Errorf("devnet context %+v", got.Contexts["devnet"])
	}
	if w := got.Contexts["other"].Wallet; w != filepath.Join(dir, "sub", "rel.key") {
		t.Errorf("relative wallet resolved to %q", w)
	}
	ctx, name, err := got.Context("")
	if err != nil || name != "devnet" || ctx.ChainURL != "http://127.0.0.1:9180" {
		t.Errorf("default context: %q %+v %v", name, ctx, err)
	}
	if _, name, err := got.Context("other"); err != nil || name != "other" {
		t.Errorf("named context: %q %v", name, err)
	}
}

func TestConfigFileErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"empty", "", "no contexts"},
		{"unknown field", "contexts:\n  a:\n    chain_url: http://x:1\n    colour: blue\n", "colour"},
		{"no chain", "contexts:\n  a:\n    wallet: w\n", `context "a" has no chain_url`},
		{"bad default", "default_context: b\ncontexts:\n  a:\n    chain_url: http://x:1\n", `default_context "b"`},
		{"not yaml", "contexts: [", "invalid config file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.ParseConfig([]byte(tc.yaml))
			if !errors.Is(err, client.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrConfig mentioning %q", err, tc.want)
			}
		})
	}
	two, err := client.ParseConfig([]byte("contexts:\n  a:\n    chain_url: http://x:1\n  b:\n    chain_url: http://y:1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := two.Context(""); !errors.Is(err, client.ErrConfig) || !strings.Contains(err.Error(), "--context") {
		t.Fatalf("two contexts, no default: %v", err)
	}
	if _, _, err := two.Context("c"); !errors.Is(err, client.ErrConfig) {
		t.Fatalf("unknown context: %v", err)
	}
	one, _ := client.ParseConfig([]byte("contexts:\n  only:\n    chain_url: http://x:1\n"))
	if _, name, err := one.Context(""); err != nil || name != "only" {
		t.Fatalf("single context: %q, %v", name, err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	os.WriteFile(big, make([]byte, client.MaxConfigFileSize+1), 0o600)
	if _, err := client.LoadConfig(big); !errors.Is(err, client.ErrConfig) {
		t.Fatalf("oversized file: %v", err)
	}
	t.Setenv(client.ConfigEnv, "/some/where.yaml")
	if p, err := client.DefaultConfigPath(); err != nil || p != "/some/where.yaml" {
		t.Fatalf("DefaultConfigPath with $%s: %q, %v", client.ConfigEnv, p, err)
	}
}

// FuzzParseConfig checks that a config that parses survives a round trip.
func FuzzParseConfig(f *testing.F) {
	f.Add("default_context: a\ncontexts:\n  a:\n    chain_url: http://x:1\n    wallet: w\n")
	f.Add("contexts: {a: {chain_url: u}}")
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := client.ParseConfig([]byte(s))
		if err != nil {
			return
		}
		b, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		again, err := client.ParseConfig(b)
		if err != nil || again.DefaultContext != cfg.DefaultContext || len(again.Contexts) != len(cfg.Contexts) {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
		for k, v := range cfg.Contexts {
			if again.Contexts[k] != v {
				t.Fatalf("context %q: %+v, want %+v", k, again.Contexts[k], v)
			}
		}
	})
}
