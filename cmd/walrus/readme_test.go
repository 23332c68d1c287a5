package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/walrus-go/walrus/chain"
	"github.com/walrus-go/walrus/network"
	"github.com/walrus-go/walrus/network/devnet"
	"github.com/walrus-go/walrus/network/nettest"
)

// readmeLines returns the command lines of the first README block (indented
// by four spaces, or fenced with ```) after the line starting with after,
// comments dropped.
func readmeLines(t *testing.T, readme, after string) []string {
	t.Helper()
	lines := strings.Split(readme, "\n")
	i := 0
	for i < len(lines) && !strings.HasPrefix(lines[i], after) {
		i++
	}
	if i == len(lines) {
		t.Fatalf("README has no line starting with %q", after)
	}
	for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```") && !strings.HasPrefix(lines[i], "    "); i++ {
	}
	var out []string
	fenced := i < len(lines) && strings.HasPrefix(lines[i], "```")
	if fenced {
		i++
	}
	for ; i < len(lines); i++ {
		l := lines[i]
		if fenced && strings.HasPrefix(l, "```") || !fenced && !strings.HasPrefix(l, "    ") {
			break
		}
		if c := strings.Index(l, " #"); c >= 0 {
			l = l[:c]
		}
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		t.Fatalf("README block after %q is empty", after)
	}
	return out
}

// readmeCommand turns a README line into walrus arguments, applying an
// export to the environment; curl lines give nil. The lines are simple
// enough to split on spaces: a line with shell syntax fails the test.
func readmeCommand(t *testing.T, line, pwd string, subst map[string]string) []string {
	t.Helper()
	if strings.HasPrefix(line, "curl ") {
		return nil // the HTTP API has its own tests
	}
	if strings.ContainsAny(line, `'"|;&<>`+"`") {
		t.Fatalf("README line %q has shell syntax this test does not run", line)
	}
	expand := func(s string) string {
		s = os.Expand(s, func(k string) string {
			if k == "PWD" {
				return pwd
			}
			return os.Getenv(k)
		})
		for k, v := range subst {
			s = strings.ReplaceAll(s, k, v)
		}
		return s
	}
	f := strings.Fields(line)
	switch {
	case f[0] == "export" && len(f) == 2:
		k, v, ok := strings.Cut(f[1], "=")
		if !ok {
			t.Fatalf("README line %q", line)
		}
		t.Setenv(k, expand(v))
		return nil
	case f[0] == "./bin/walrus":
		args := make([]string, len(f)-1)
		for i, a := range f[1:] {
			args[i] = expand(a)
		}
		return args
	}
	t.Fatalf("README line %q is not a walrus command", line)
	return nil
}

var blobIDLine = regexp.MustCompile(`Blob ID: (\S+)`)

// TestREADMEFirstHour runs the README's first screen and its operator
// section verbatim against a devnet as `make run` makes it (but on a
// manual clock): the blob stored on the first screen still reads after a
// day, and after six; the node the operator section adds joins the
// committee at the next epoch; the blob is gone when its seven epochs end.
func TestREADMEFirstHour(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet")
	}
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	noClientConfig(t)
	work := t.TempDir()
	t.Chdir(work)
	os.WriteFile("README.md", raw, 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	clock := network.NewManualClock(time.Time{})
	d, err := devnet.Start(ctx, devnet.Config{Dir: filepath.Join(work, ".devnet"), ChainAddr: "127.0.0.1:0", DaemonAddr: "off",
		Clock: clock, Logger: nettest.Logger(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	run := func(args []string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := executeCtx(ctx, args, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out.String(), errb.String())
		}
		return out.String()
	}

	// The first screen.
	subst := map[string]string{}
	for _, l := range readmeLines(t, readme, "`make run` prints what runs where.") {
		args := readmeCommand(t, l, work, subst)
		if args == nil {
			continue
		}
		out := run(args)
		if m := blobIDLine.FindStringSubmatch(out); m != nil && args[0] == "store" {
			subst["BLOB_ID"] = m[1]
		}
	}
	if got, _ := os.ReadFile("copy.md"); !bytes.Equal(got, raw) || subst["BLOB_ID"] == "" {
		t.Fatalf("the first screen did not store and read README.md back (blob %q)", subst["BLOB_ID"])
	}

	// The operator section; `node run` runs until the end of the test.
	var nodeOut syncBuffer
	runCtx, stopNode := context.WithCancel(ctx)
	nodeDone := make(chan int, 1)
	for _, l := range readmeLines(t, readme, "### Run a storage node of your own") {
		args := readmeCommand(t, l, work, subst)
		if args == nil {
			continue
		}
		if len(args) > 1 && args[0] == "node" && args[1] == "run" {
			go func() { nodeDone <- executeCtx(runCtx, args, strings.NewReader(""), &nodeOut, &nodeOut) }()
			continue
		}
		run(args)
	}
	defer func() {
		stopNode()
		if code := <-nodeDone; code != 0 {
			t.Errorf("node run: exit %d\n%s", code, nodeOut.String())
		}
	}()
	waitText(t, &nodeOut, "waiting to join a committee: not in the committee of epoch 1; the committee of epoch 2")
	nodes, _ := d.Chain.Nodes(ctx)
	if len(nodes) != len(d.Nodes)+1 {
		t.Fatalf("%d nodes registered, want %d", len(nodes), len(d.Nodes)+1)
	}

	// A day later: the node is in the committee, the blob reads.
	if err := d.AdvanceToMidpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AdvanceEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	com, err := d.Chain.Committee(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	joined := false
	for _, m := range com.Members {
		joined = joined || !isDevnetNode(d, m)
	}
	if !joined {
		t.Fatalf("the README's node is not in the committee of epoch 2: %+v", com.Members)
	}
	read := func() error {
		var out, errb bytes.Buffer
		if code := executeCtx(ctx, []string{"read", subst["BLOB_ID"], "--out", "again.md"}, nil, &out, &errb); code != 0 {
			return &exitError{code: code, err: errorString(errb.String())}
		}
		if got, _ := os.ReadFile("again.md"); !bytes.Equal(got, raw) {
			return errorString("read other bytes")
		}
		return nil
	}
	if err := read(); err != nil {
		t.Fatalf("reading the first screen's blob a day later: %v", err)
	}
	// Six days later it still reads; on the eighth day (epoch 8) it has
	// expired, as the first screen said.
	for e := 3; e <= 8; e++ {
		if _, err := d.AdvanceEpoch(ctx); err != nil {
			t.Fatal(err)
		}
		err := read()
		if e < 8 && err != nil {
			t.Fatalf("reading the first screen's blob in epoch %d: %v", e, err)
		}
		if e == 8 && (err == nil || !strings.Contains(err.Error(), "blob not found")) {
			t.Fatalf("the first screen's blob in epoch 8: %v; want it expired", err)
		}
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// isDevnetNode reports whether m is one of the devnet's own nodes.
func isDevnetNode(d *devnet.Devnet, m chain.Member) bool {
	for _, n := range d.Nodes {
		if n.ID() == m.NodeID {
			return true
		}
	}
	return false
}

// waitText waits until b holds s.
func waitText(t *testing.T, b *syncBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", s, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
