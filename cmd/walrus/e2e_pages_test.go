package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/walrus-go/walrus/client"
	"github.com/walrus-go/walrus/encoding"
	"github.com/walrus-go/walrus/network"
	"github.com/walrus-go/walrus/network/devnet"
	"github.com/walrus-go/walrus/network/nettest"
	"github.com/walrus-go/walrus/node"
)

// TestE2EPages loads the pages an operator opens in a browser in headless
// Chromium, on a devnet holding two blobs and a pending stake: a storage
// node's status page (its admin address), the daemon's home page, its API
// page, its status and its metrics. It asserts on the rendered DOM (the
// figures, human units, no "NaN", "undefined" or raw JSON, links that
// resolve, nothing loaded from elsewhere) and writes a screenshot of each
// page to $WALRUS_E2E_ARTIFACTS/pages (a temporary folder if unset), which
// it logs. make e2e installs Chromium and runs it.
func TestE2EPages(t *testing.T) {
	if os.Getenv("WALRUS_E2E_LONG") == "" {
		t.Skip("WALRUS_E2E_LONG is unset: `make e2e` runs this test (it needs headless Chromium)")
	}
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not on PATH: `make e2e` installs it (apt-get install chromium)")
	}
	shots := t.TempDir()
	if a := os.Getenv("WALRUS_E2E_ARTIFACTS"); a != "" {
		shots = filepath.Join(a, "pages")
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", shots)
	noClientConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	clock := network.NewManualClock(time.Time{})
	d, err := devnet.Start(ctx, devnet.Config{Dir: t.TempDir(), ChainAddr: "127.0.0.1:0", DaemonAddr: "127.0.0.1:0",
		DaemonMetricsAddr: "127.0.0.1:0", Clock: clock, Logger: nettest.Logger(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	t.Setenv(client.ConfigEnv, d.ClientConfigPath)

	// Two blobs, through the daemon, held by every node.
	for i, size := range []int{20_000, 3 << 20} {
		resp, body := httpDo(t, http.MethodPut, d.DaemonURL+"/v1/blobs?epochs=5", bytes.NewReader(e2eBlob(size, uint64(i))))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("store: %s %s", resp.Status, body)
		}
		var res map[string]any
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		id, err := encoding.ParseBlobID(blobIDOf(t, res))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.WaitHeld(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	// A pending stake on node 0, activating next epoch.
	n0 := d.Nodes[0]
	var out, errb bytes.Buffer
	if code := executeCtx(ctx, []string{"stake", "--node-ids", n0.ID().String(), "--amounts", "250"}, nil, &out, &errb); code != 0 {
		t.Fatalf("stake: exit %d\n%s%s", code, out.String(), errb.String())
	}
	admin := "http://" + n0.Running().AdminAddr()
	// The status caches its counts and the pool: wait until it shows both.
	var st node.Status
	deadline := time.Now().Add(time.Minute)
	for {
		_, body := httpDo(t, http.MethodGet, admin+"/health", nil)
		st = node.Status{}
		json.Unmarshal(body, &st)
		if st.Stored.Blobs == 2 && st.Pool != nil && st.Pool.PendingStake > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 0's status never showed 2 blobs and the pending stake: %s", body)
		}
		time.Sleep(500 * time.Millisecond)
	}

	b := &headless{t: t, bin: browser, profile: t.TempDir(), shots: shots}
	// The node's status page.
	dom, text := b.load(admin+"/", "node-status")
	pending := st.Pool.PendingByEpoch
	if len(pending) != 1 {
		t.Fatalf("pending stake by epoch: %+v", pending)
	}
	for _, want := range []string{
		"Storage node devnet-0", n0.ID().String(),
		fmt.Sprintf("%d of %d: %s", len(st.Shards), st.NShards, node.FormatShards(st.Shards)),
		"blobs 2", fmt.Sprintf("sliver pairs %d", 2*len(st.Shards)),
		"active stake 10,000 WAL", fmt.Sprintf("pending stake 250 WAL, active from epoch %d", pending[0].Epoch),
		"commission ", "up ", "capacity ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("node status page lacks %q:\n%s", want, text)
		}
	}
	if !regexp.MustCompile(`\bup \d+ (s|min|h|d)\b`).MatchString(text) {
		t.Errorf("node status page shows no readable uptime:\n%s", text)
	}
	if !regexp.MustCompile(`disk usage \d+(\.\d)? (B|KiB|MiB|GiB)\b`).MatchString(text) {
		t.Errorf("node status page shows disk usage without a unit:\n%s", text)
	}
	b.checkLinks(admin+"/", dom, "/metrics", "/health")

	// The next epoch: the stake is active, and the chain's record of epoch
	// 1 shows in the table of last epochs.
	if err := d.AdvanceToMidpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AdvanceEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(time.Minute)
	for {
		_, body := httpDo(t, http.MethodGet, admin+"/health", nil)
		st = node.Status{}
		json.Unmarshal(body, &st)
		if st.Epoch == 2 && st.Pool != nil && st.Pool.PendingStake == 0 && len(st.Pool.Epochs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 0's status never showed epoch 2 with its stake active and epoch 1's record: %s", body)
		}
		time.Sleep(500 * time.Millisecond)
	}
	_, text = b.load(admin+"/", "node-status-epoch2")
	e1 := st.Pool.Epochs[0]
	for _, want := range []string{
		"epoch 2 (", "active stake 10,250", "Storage challenges of epoch 2 own shards proven ", "pending stake 0 WAL", fmt.Sprintf("in the last %d epoch rewards", len(st.Pool.Epochs)),
		"epoch shards attested passed by failed by verdict reward commission burned",
		fmt.Sprintf("1 %d %s %d shards %d shards %s", e1.Shards, map[bool]string{true: "yes", false: "no"}[e1.Attested], e1.PassedBy, e1.FailedBy, e1.Verdict),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("node status page in epoch 2 lacks %q:\n%s", want, text)
		}
	}

	// Node 1 loses its disk: its page shows what recovery rebuilt.
	if err := d.WipeNode(ctx, 1); err != nil {
		t.Fatal(err)
	}
	admin1 := "http://" + d.Nodes[1].Running().AdminAddr()
	deadline = time.Now().Add(2 * time.Minute)
	for {
		_, body := httpDo(t, http.MethodGet, admin1+"/health", nil)
		st = node.Status{}
		json.Unmarshal(body, &st)
		if st.Stored.Blobs == 2 && st.Recovery.BlobsInProgress == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 1 never recovered its 2 blobs: %s", body)
		}
		time.Sleep(500 * time.Millisecond)
	}
	_, text = b.load(admin1+"/", "node-status-recovered")
	for _, want := range []string{
		"Storage node devnet-1", "blobs 2", "recovering now 0 blobs", "blobs queued for recovery 2",
		fmt.Sprintf("sliver pairs recovered %d", 2*len(st.Shards)), "recoveries failed 0", "sliver pairs stored from clients 0",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("node 1's status page after recovery lacks %q:\n%s", want, text)
		}
	}

	// The daemon's pages.
	dom, text = b.load(d.DaemonURL+"/", "daemon-home")
	for _, want := range []string{"Walrus publisher and aggregator", "API", "Status", "Metrics"} {
		if !strings.Contains(text, want) {
			t.Errorf("daemon home page lacks %q:\n%s", want, text)
		}
	}
	b.checkLinks(d.DaemonURL+"/", dom, "/v1/api", "/v1/api/openapi.yaml", "/status", d.MetricsURL)

	dom, text = b.load(d.DaemonURL+"/v1/api", "daemon-api")
	for _, want := range []string{"PUT /v1/blobs", "GET /v1/blobs/{blob_id}", "epochs", "openapi.yaml"} {
		if !strings.Contains(text, want) {
			t.Errorf("API page lacks %q", want)
		}
	}
	b.checkLinks(d.DaemonURL+"/v1/api", dom, "/v1/api/openapi.yaml", "/", "/status")
	for _, m := range regexp.MustCompile(`(?i)<(script|link|img|iframe)\b[^>]*>`).FindAllString(dom, -1) {
		t.Errorf("API page loads %s", m)
	}
	for _, m := range regexp.MustCompile(`(?i)(src|href)="(https?:)?//[^"]*"|url\([^)]*\)|@import`).FindAllString(dom, -1) {
		t.Errorf("API page refers outside: %s", m)
	}

	_, text = b.load(d.DaemonURL+"/status", "daemon-status")
	for _, want := range []string{"epoch 2", "shards 100", "storage nodes 4 in the committee", "largest blob 10 MiB per store"} {
		if !strings.Contains(text, want) {
			t.Errorf("daemon status page lacks %q:\n%s", want, text)
		}
	}
	// Programs still get JSON.
	resp, body := httpDo(t, http.MethodGet, d.DaemonURL+"/status", nil)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || !json.Valid(body) {
		t.Errorf("GET /status without Accept: text/html: %s %q", ct, body)
	}

	_, text = b.load(d.MetricsURL, "daemon-metrics")
	if !strings.Contains(text, "walrus_daemon_") {
		t.Errorf("the daemon's metrics page has no walrus_daemon_ metric:\n%.2000s", text)
	}
}

// headless loads pages in headless Chromium.
type headless struct {
	t            *testing.T
	bin, profile string
	shots        string
}

// chrome runs Chromium on a page with extra arguments and returns its
// standard output.
func (h *headless) chrome(page string, args ...string) []byte {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args = append([]string{"--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-extensions", "--user-data-dir=" + h.profile}, args...)
	cmd := exec.CommandContext(ctx, h.bin, append(args, page)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		h.t.Fatalf("chromium %s: %v\n%s", page, err, tail(errb.Bytes(), 2000))
	}
	return out.Bytes()
}

var (
	tagRE   = regexp.MustCompile(`(?s)<style.*?</style>|<[^>]+>`)
	spaceRE = regexp.MustCompile(`\s+`)
)

// load renders a page, saves its screenshot as name.png and its DOM as
// name.html, and returns the DOM and its text (tags dropped, entities
// decoded, spaces collapsed). It fails the test on text a broken page
// shows, and on raw JSON outside the API page.
func (h *headless) load(page, name string) (dom, text string) {
	h.t.Helper()
	dom = string(h.chrome(page, "--dump-dom"))
	png := filepath.Join(h.shots, name+".png")
	h.chrome(page, "--screenshot="+png, "--window-size=1280,1600", "--hide-scrollbars")
	if fi, err := os.Stat(png); err != nil || fi.Size() == 0 {
		h.t.Errorf("no screenshot of %s: %v", page, err)
	}
	os.WriteFile(filepath.Join(h.shots, name+".html"), []byte(dom), 0o644)
	text = spaceRE.ReplaceAllString(html.UnescapeString(tagRE.ReplaceAllString(dom, " ")), " ")
	bad := []string{"NaN", "undefined", "<no value>", "%!", "map["}
	if !strings.Contains(name, "api") { // the API page quotes JSON bodies
		bad = append(bad, `{"`, `":`)
	}
	for _, bad := range bad {
		if strings.Contains(text, bad) {
			h.t.Errorf("%s shows %q:\n%.3000s", page, bad, text)
		}
	}
	return dom, text
}

var hrefRE = regexp.MustCompile(`href="([^"]*)"`)

// checkLinks checks that the page's DOM links to each of want and that
// every link of it answers 200.
func (h *headless) checkLinks(page, dom string, want ...string) {
	h.t.Helper()
	base, err := url.Parse(page)
	if err != nil {
		h.t.Fatal(err)
	}
	have := map[string]bool{}
	for _, m := range hrefRE.FindAllStringSubmatch(dom, -1) {
		ref := html.UnescapeString(m[1])
		have[ref] = true
		if strings.HasPrefix(ref, "#") {
			continue
		}
		u, err := base.Parse(ref)
		if err != nil {
			h.t.Errorf("%s links to %q: %v", page, ref, err)
			continue
		}
		resp, err := http.Get(u.String())
		if err != nil {
			h.t.Errorf("%s links to %s: %v", page, u, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			h.t.Errorf("%s links to %s: %s", page, u, resp.Status)
		}
	}
	for _, w := range want {
		if !have[w] {
			h.t.Errorf("%s does not link to %s (links: %v)", page, w, have)
		}
	}
}
