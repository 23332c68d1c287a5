package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Status is what /health returns as JSON and the status page shows.
type Status struct {
	NodeID    string   `json:"nodeId"`
	Name      string   `json:"name"`
	PeerID    string   `json:"peerId"`
	Addresses []string `json:"addresses"`
	Epoch     uint32   `json:"epoch"`
	Phase     string   `json:"phase"`
	Member    bool     `json:"committeeMember"`
	Shards    []uint16 `json:"shards"`
	// SyncingShards are the shards being synced after an epoch change.
	SyncingShards []uint16 `json:"syncingShards"`
	// BufferedB is what the intake holds in memory (Config.MaxBufferedBytes):
	// the slivers of requests in progress and the pending buffer.
	BufferedB   int64  `json:"bufferedBytes"`
	DiskUsageB  uint64 `json:"diskUsageBytes"`
	NShards     int    `json:"nShards"`
	StartedAt   string `json:"startedAt"`
	EventCursor string `json:"eventCursor"`
	// Scrub is the scrubber's progress and the damage it found and
	// repaired (scrub.go).
	Scrub *ScrubStatus `json:"scrub,omitempty"`
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>walrus node {{.Name}}</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:2px 12px}</style></head>
<body><h1>Storage node {{.Name}}</h1><table>
<tr><td>node ID</td><td><code>{{.NodeID}}</code></td></tr>
<tr><td>peer ID</td><td><code>{{.PeerID}}</code></td></tr>
<tr><td>addresses</td><td>{{range .Addresses}}<code>{{.}}</code><br>{{end}}</td></tr>
<tr><td>epoch</td><td>{{.Epoch}} ({{.Phase}})</td></tr>
<tr><td>committee member</td><td>{{.Member}}</td></tr>
<tr><td>shards</td><td>{{len .Shards}} of {{.NShards}}{{if .SyncingShards}} ({{len .SyncingShards}} syncing){{end}}</td></tr>
<tr><td>buffered</td><td>{{.BufferedB}} B</td></tr>
<tr><td>disk usage</td><td>{{.DiskUsageB}} B</td></tr>
<tr><td>event cursor</td><td>{{.EventCursor}}</td></tr>
</table><p><a href="/metrics">metrics</a> · <a href="/health">health (JSON)</a></p></body></html>
`))

// admin is the node's admin HTTP server: /health (Status as JSON),
// /metrics (Prometheus) and a status page.
type admin struct {
	addr    string
	status  func(context.Context) Status
	metrics *metrics
	log     *slog.Logger
}

// start listens and serves until the returned stop function is called; it
// returns the address it listens on.
func (a *admin) start() (addr string, stop func() error, err error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(a.status(r.Context()))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		statusPage.Execute(w, a.status(r.Context()))
	})
	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		return "", nil, fmt.Errorf("node: admin address: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin server failed", "err", err)
		}
	}()
	return ln.Addr().String(), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	}, nil
}
