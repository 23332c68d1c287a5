package daemon

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:embed openapi.yaml
var openAPI []byte

// pageCSP is the Content-Security-Policy of the daemon's own pages: they
// are self-contained (inline style, no script, nothing fetched).
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// apiPage is the HTML page of the OpenAPI document, rendered once, when
// first asked for, not at every start of the walrus binary (it took 4 ms
// of each CLI command). TestOpenAPIInStep renders it.
var apiPage = sync.OnceValue(func() []byte { return mustRenderAPIPage(openAPI) })

// handleAPI serves GET /v1/api: the API as a page for a browser (a
// request that accepts text/html, as Walrus's Redoc page), else the
// OpenAPI YAML document.
func (d *Daemon) handleAPI(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		writePage(w, apiPage())
		return
	}
	d.handleAPIYAML(w, r)
}

// handleAPIYAML serves the OpenAPI YAML document (GET
// /v1/api/openapi.yaml, and GET /v1/api to non-browsers).
func (d *Daemon) handleAPIYAML(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Add("Vary", "Accept")
	w.Write(openAPI)
}

// handleHome serves GET /: a page that names the daemon and links to the
// API page, the status and, when Run serves them, the metrics.
func (d *Daemon) handleHome(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	page := struct{ Title, Metrics string }{Title: modeTitle(d.cfg.Mode)}
	if a := d.metricsAddr.Load(); a != nil {
		page.Metrics = metricsURL(*a, r.Host)
	}
	if err := homeTmpl.Execute(&b, page); err != nil {
		d.log.Warn("home page", "err", err)
	}
	writePage(w, b.Bytes())
}

// modeTitle names what a daemon of mode m serves.
func modeTitle(m Mode) string {
	if m == ModeDaemon {
		return "publisher and aggregator"
	}
	return m.String()
}

// metricsURL is the URL of the metrics served on addr, as a page reached
// at host links to it: a listener on every interface is reached at the
// page's host name.
func metricsURL(addr, host string) string {
	ip, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if a, err := netip.ParseAddr(ip); err == nil && a.IsUnspecified() {
		if h, _, err := net.SplitHostPort(host); err == nil {
			ip = h
		} else {
			ip = host
		}
	}
	return "http://" + net.JoinHostPort(strings.Trim(ip, "[]"), port) + "/metrics"
}

// sizeText shows a byte count in binary units: "10 MiB", "1.5 GiB".
func sizeText(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for ; v >= 1024 && i < len(units)-1; i++ {
		v /= 1024
	}
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0") + " " + units[i]
}

// codeSpans shows text with its `code spans` as code, escaped.
func codeSpans(s string) template.HTML {
	return template.HTML(codeSpanRE.ReplaceAllString(template.HTMLEscapeString(s), "<code>$1</code>"))
}

var codeSpanRE = regexp.MustCompile("`([^`]+)`")

func writePage(w http.ResponseWriter, page []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept")
	w.Write(page)
}

const pageStyle = `body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#222}
code,pre{font-family:ui-monospace,monospace;background:#f4f4f4;padding:0 .2em}
.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
.m{display:inline-block;min-width:4em;font-weight:bold;text-transform:uppercase}
table{border-collapse:collapse}.ix code{white-space:nowrap}td,th{border-bottom:1px solid #eee;padding:.2rem .6rem;text-align:left;vertical-align:top}`

var homeTmpl = template.Must(template.New("home").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Walrus {{.Title}}</title><style>` + pageStyle + `</style></head>
<body><h1>Walrus {{.Title}}</h1>
<p>This is a Walrus {{.Title}}: it serves the HTTP API of Walrus's publisher and aggregator.</p>
<ul><li><a href="/v1/api">API</a> (<a href="/v1/api/openapi.yaml">OpenAPI YAML</a>)</li>
<li><a href="/status">Status</a>: the network's epoch and size</li>
{{with .Metrics}}<li><a href="{{.}}">Metrics</a> (Prometheus)</li>{{end}}</ul></body></html>
`))

var statusTmpl = template.Must(template.New("status").Funcs(template.FuncMap{"size": sizeText}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Walrus status</title><style>` + pageStyle + `</style></head>
<body><h1>Status</h1>
<table>
<tr><td>serves</td><td>{{.Mode}} ({{if eq .Mode "daemon"}}publisher and aggregator{{else}}{{.Mode}} only{{end}})</td></tr>
<tr><td>epoch</td><td>{{.Epoch}}</td></tr>
<tr><td>shards</td><td>{{.NShards}}</td></tr>
<tr><td>storage nodes</td><td>{{.Nodes}} in the committee</td></tr>
{{if .MaxBodySize}}<tr><td>largest blob</td><td>{{size .MaxBodySize}} per store</td></tr>{{end}}
</table>
<p><a href="/">Home</a> · <a href="/v1/api">API</a> · <code>GET /status</code> without <code>Accept: text/html</code> answers JSON.</p></body></html>
`))

// apiDoc is what the page shows of an OpenAPI document.
type apiDoc struct {
	Info struct {
		Title, Description, Version string
	}
	Paths map[string]map[string]apiOp
}

type apiOp struct {
	Summary, Description string
	Parameters           []struct {
		Name, In, Description string
		Required              bool
		Schema                map[string]any
	}
	Responses map[string]struct {
		Ref         string `yaml:"$ref"`
		Description string
	}
}

// pageOp is one operation as the page lists it.
type pageOp struct {
	Method, Path string
	apiOp
	Codes []pageCode
}

type pageCode struct{ Code, Description string }

var apiTmpl = template.Must(template.New("api").Funcs(template.FuncMap{
	"code": codeSpans,
	"schema": func(m map[string]any) string {
		var parts []string
		for _, k := range []string{"type", "format", "pattern", "minimum", "default", "enum"} {
			if v, ok := m[k]; ok {
				parts = append(parts, fmt.Sprintf("%s: %v", k, v))
			}
		}
		return strings.Join(parts, ", ")
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Doc.Info.Title}}</title><style>` + pageStyle + `</style></head>
<body><h1>{{.Doc.Info.Title}} <small>{{.Doc.Info.Version}}</small></h1>
<p>{{code .Doc.Info.Description}}</p>
<p>The OpenAPI document: <a href="/v1/api/openapi.yaml">openapi.yaml</a>. <a href="/">Home</a>, <a href="/status">status</a>.</p>
<table class="ix">{{range .Ops}}<tr><td><span class="m">{{.Method}}</span></td><td><a href="#{{.Method}}{{.Path}}"><code>{{.Path}}</code></a></td><td>{{code .Summary}}</td></tr>
{{end}}</table>
{{range .Ops}}<div class="op" id="{{.Method}}{{.Path}}"><h2><span class="m">{{.Method}}</span> <code>{{.Path}}</code></h2>
<p><b>{{code .Summary}}</b></p>{{if .Description}}<p>{{code .Description}}</p>{{end}}
{{if .Parameters}}<table><tr><th>Parameter</th><th>In</th><th>Schema</th><th>Description</th></tr>
{{range .Parameters}}<tr><td><code>{{.Name}}</code>{{if .Required}} (required){{end}}</td><td>{{.In}}</td><td>{{schema .Schema}}</td><td>{{code .Description}}</td></tr>
{{end}}</table>{{end}}
<p>Answers: {{range .Codes}}<code title="{{.Description}}">{{.Code}}</code> {{end}}</p></div>
{{end}}</body></html>
`))

// mustRenderAPIPage renders the page of an OpenAPI document.
func mustRenderAPIPage(doc []byte) []byte {
	var d apiDoc
	if err := yaml.Unmarshal(doc, &d); err != nil {
		panic(fmt.Sprintf("daemon: openapi.yaml: %v", err))
	}
	var ops []pageOp
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		for _, m := range []string{"get", "put", "post", "delete"} {
			op, ok := d.Paths[p][m]
			if !ok {
				continue
			}
			po := pageOp{Method: strings.ToUpper(m), Path: p, apiOp: op}
			for code, r := range op.Responses {
				desc := r.Description
				if desc == "" {
					desc = strings.TrimPrefix(r.Ref, "#/components/responses/")
				}
				po.Codes = append(po.Codes, pageCode{code, desc})
			}
			slices.SortFunc(po.Codes, func(a, b pageCode) int { return strings.Compare(a.Code, b.Code) })
			ops = append(ops, po)
		}
	}
	var b bytes.Buffer
	if err := apiTmpl.Execute(&b, struct {
		Doc apiDoc
		Ops []pageOp
	}{d, ops}); err != nil {
		panic(fmt.Sprintf("daemon: rendering openapi.yaml: %v", err))
	}
	return b.Bytes()
}
