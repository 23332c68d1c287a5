package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/chain/backend"
	"github.com/walrus-go/walrus/client"
)

// clientFlags are the flags every client command shares: where the client
// config file is and which of its contexts to use, overrides of the
// context's chain and wallet, and JSON output.
type clientFlags struct {
	config  string
	context string
	chain   string
	wallet  string
	json    bool

	// Set by resolve, for messages: the config file used ("" for none)
	// and the context's name.
	usedConfig, usedContext string
}

func (f *clientFlags) register(cmd *cobra.Command) { f.registerOn(cmd.Flags()) }

func (f *clientFlags) registerOn(fl *pflag.FlagSet) {
	fl.StringVar(&f.config, "config", "", "client config file (default $"+client.ConfigEnv+" or ~/.config/walrus/client.yaml)")
	fl.StringVar(&f.context, "context", "", "context of the config file to use (default its default_context)")
	fl.StringVar(&f.chain, "chain", "", "the local chain's HTTP API, overriding the context's chain")
	fl.StringVar(&f.wallet, "wallet", "", "account key file paying for and owning blobs, overriding the context's wallet")
	fl.BoolVar(&f.json, "json", false, "print JSON")
}

// hasNetwork reports whether the flags, $WALRUS_CONFIG or a config file
// at the default path name a network.
func (f *clientFlags) hasNetwork() bool {
	if f.config != "" || f.chain != "" || f.context != "" || os.Getenv(client.ConfigEnv) != "" || os.Getenv(chainURLEnv) != "" {
		return true
	}
	path, err := client.DefaultConfigPath()
	if err != nil {
		return false
	}
	_, err = os.Stat(path)
	return err == nil
}

// resolved is the last resolve's flags and chain, for execute to explain
// an unreachable chain.
var resolved struct {
	flags *clientFlags
	chain backend.Config
}

// explain adds what to do to an error reaching the chain: without any
// config, where configs are looked for and how to start a devnet; with
// one, that the network it names may not be running.
func (f *clientFlags) explain(ch backend.Config, err error) error {
	if err == nil || !unreachable(err) {
		return err
	}
	if f.usedConfig == "" && f.chain == "" {
		def, _ := client.DefaultConfigPath()
		return fmt.Errorf("%w\nno client config found (looked for $%s and %s), and no chain answers at the default %s.\n"+
			"Start a local network with `make run` (or `walrus devnet`) and then export %s=$PWD/.devnet/client.yaml",
			err, client.ConfigEnv, def, ch.Describe(), client.ConfigEnv)
	}
	where := "--chain"
	if f.usedConfig != "" {
		where = fmt.Sprintf("context %q of %s", f.usedContext, f.usedConfig)
	}
	return fmt.Errorf("%w\nthe chain %s (%s) does not answer: is the network running? A devnet starts with `make run` (or `walrus devnet`)",
		err, ch.Describe(), where)
}

// unreachable reports whether err is a failure to connect at all.
func unreachable(err error) bool {
	var op *net.OpError
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || (errors.As(err, &op) && op.Op == "dial") {
		return true
	}
	// The local chain's client keeps the cause as text only.
	return errors.Is(err, chain.ErrUnavailable) && (strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "dial tcp"))
}

// resolve returns the chain and wallet path to use: the flags (--chain is
// the local chain's URL), else the config file's context, else the default
// chain URL (when there is no config file at all and none was named).
func (f *clientFlags) resolve() (ch backend.Config, wallet string, err error) {
	wallet = f.wallet
	path := f.config
	named := path != ""
	if !named {
		if path, err = client.DefaultConfigPath(); err != nil {
			path = ""
		}
		named = os.Getenv(client.ConfigEnv) != ""
	}
	var cctx client.ClientContext
	if path != "" {
		cf, lerr := client.LoadConfig(path)
		switch {
		case lerr == nil:
			if cctx, f.usedContext, err = cf.Context(f.context); err != nil {
				return ch, "", err
			}
			f.usedConfig = path
		case errors.Is(lerr, fs.ErrNotExist) && !named && f.context == "":
			// No config file: flags and defaults only.
		default:
			return ch, "", fmt.Errorf("client config: %w", lerr)
		}
	}
	ch = cctx.Config
	if f.chain != "" {
		ch = backend.Config{ChainURL: f.chain}
	}
	if ch.Kind() == backend.Local && ch.ChainURL == "" {
		ch.ChainURL = defaultChainURL()
	}
	if wallet == "" {
		wallet = cctx.Wallet
	}
	resolved.flags, resolved.chain = f, ch
	return ch, wallet, nil
}

// errNoWallet is returned by commands that pay, without a wallet.
var errNoWallet = errors.New("no wallet: set one in the client config's context or with --wallet")

// wallet is the resolved context's chain and account, for the commands
// that only transact or read the chain (get-wal, stake, info): they start
// no libp2p host.
type wallet struct {
	chain chain.Chain
	// signer is nil without a wallet.
	signer chain.Signer
}

// address is the wallet's address (zero without one).
func (w *wallet) address() chain.Address {
	if w.signer == nil {
		return chain.Address{}
	}
	return w.signer.Address()
}

// openWallet reaches the resolved context's chain and loads its wallet;
// needWallet refuses to go on without one. The returned function closes the
// chain client.
func (f *clientFlags) openWallet(ctx context.Context, needWallet bool) (*wallet, func(), error) {
	chainCfg, walletPath, err := f.resolve()
	if err != nil {
		return nil, nil, err
	}
	w := &wallet{}
	if walletPath != "" {
		k, err := chain.LoadAccountKey(walletPath)
		if err != nil {
			return nil, nil, fmt.Errorf("wallet %s: %w", walletPath, err)
		}
		w.signer = k
	} else if needWallet {
		if f.usedConfig == "" {
			def, _ := client.DefaultConfigPath()
			return nil, nil, fmt.Errorf("%w\nno client config found (looked for $%s and %s): with a devnet running (`make run`), export %s=$PWD/.devnet/client.yaml",
				errNoWallet, client.ConfigEnv, def, client.ConfigEnv)
		}
		return nil, nil, errNoWallet
	}
	if w.chain, err = backend.Open(ctx, chainCfg); err != nil {
		return nil, nil, err
	}
	return w, func() { w.chain.Close() }, nil
}

// open builds a client of the resolved context, for the commands that talk
// to storage nodes. needWallet refuses to start without a wallet.
func (f *clientFlags) open(ctx context.Context, needWallet bool, log *slog.Logger, mod ...func(*client.Config)) (*client.Client, func(), error) {
	w, closeChain, err := f.openWallet(ctx, needWallet)
	if err != nil {
		return nil, nil, err
	}
	cfg := client.Config{Chain: w.chain, Signer: w.signer, Logger: log}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := client.New(ctx, cfg)
	if err != nil {
		closeChain()
		return nil, nil, err
	}
	return c, func() { c.Close(); closeChain() }, nil
}

// logLevelEnv names the environment variable that sets the level of a
// client command's log on stderr (debug, info, warn or error; default
// warn): at debug the client logs the timings of a store's and a read's
// steps.
const logLevelEnv = "WALRUS_LOG_LEVEL"

// cliLogger is the logger of client commands: warnings and errors to
// stderr, or what $WALRUS_LOG_LEVEL asks for, or else the most verbose
// level RUST_LOG names, as Walrus's CLI reads it (debug shows the timings of
// a store's steps).
func cliLogger(cmd *cobra.Command) *slog.Logger {
	level := rustLogLevel(os.Getenv("RUST_LOG"))
	if v := os.Getenv(logLevelEnv); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "walrus: $%s %q: want debug, info, warn or error\n", logLevelEnv, v)
			level = slog.LevelWarn
		}
	}
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
}

// rustLogLevel is the most verbose level named in a RUST_LOG value
// ("debug", "walrus=info,libp2p=warn", …; trace counts as debug), or warn
// when it names none.
func rustLogLevel(v string) slog.Level {
	level, found := slog.LevelWarn, false
	for _, d := range strings.Split(v, ",") {
		if i := strings.LastIndexByte(d, '='); i >= 0 {
			d = d[i+1:]
		}
		var l slog.Level
		switch strings.ToLower(strings.TrimSpace(d)) {
		case "trace", "debug":
			l = slog.LevelDebug
		case "info":
			l = slog.LevelInfo
		case "error":
			l = slog.LevelError
		default:
			continue
		}
		if !found || l < level {
			level, found = l, true
		}
	}
	return level
}

// printJSON prints v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressStages name the stages of a store or read on the bar.
var progressStages = map[string]string{
	"read":     "reading the file",
	"encode":   "encoding",
	"register": "registering",
	"send":     "sending slivers",
	"certify":  "certifying",
}

// progressMinBytes was the smallest transfer that got a progress bar; bars
// are drawn for every size now (they clear when done).
const progressMinBytes = 1 << 20

// newProgress is newStageProgress in bytes, for a transfer of size bytes
// (the size is the stages' to report).
func newProgress(cmd *cobra.Command, asJSON bool, size int64, what string) (func(client.Progress), func()) {
	return newStageProgress(cmd, asJSON, what, true)
}

// newStageProgress returns a progress callback drawing one bar on stderr, from
// the start to the end of a store or read, when stderr is a terminal and
// the output is not JSON; otherwise nil. Stages with a size ("read" of a
// file, "send" in bytes, "read" of slivers) fill the bar as they go; the
// others (encoding, registering, certifying) show as a spinner with their
// name. bytes says whether sizes are bytes. done clears the bar.
func newStageProgress(cmd *cobra.Command, asJSON bool, what string, bytes bool) (func(client.Progress), func()) {
	if asJSON || !isTerminal(cmd.ErrOrStderr()) {
		return nil, func() {}
	}
	// One line, one bar per stage: a bar finishes (and clears) by itself
	// when it is full, so each stage gets its own, a spinner for the
	// stages without a size.
	var bar *progressbar.ProgressBar
	stage := ""
	newBar := func(max int64, desc string) {
		if bar != nil {
			bar.Finish()
		}
		bar = progressbar.NewOptions64(max, progressbar.OptionSetWriter(cmd.ErrOrStderr()),
			progressbar.OptionSetDescription(desc), progressbar.OptionShowBytes(bytes), progressbar.OptionUseIECUnits(true),
			progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetSpinnerChangeInterval(100*time.Millisecond), progressbar.OptionSetRenderBlankState(true))
	}
	newBar(-1, what)
	return func(p client.Progress) {
			if p.Stage != stage {
				stage = p.Stage
				name := progressStages[p.Stage]
				if name == "" {
					name = p.Stage
				}
				max := int64(-1)
				if p.Total > 1 { // encode, register, certify report 0 or 1 of 1
					max = p.Total
				}
				newBar(max, what+": "+name)
			}
			if p.Total > 1 {
				bar.Set64(p.Done)
			}
		}, func() {
			bar.Finish()
		}
}

// progressReader reports the bytes read through it as the "read" stage.
type progressReader struct {
	r           io.Reader
	done, total int64
	fn          func(client.Progress)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	p.fn(client.Progress{Stage: "read", Done: p.done, Total: max(p.total, p.done)})
	return n, err
}

// humanBytes formats a size as Walrus's CLI does: "17 B", "62.0 MiB".
func humanBytes(n uint64) string {
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	v := float64(n) / 1024
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
