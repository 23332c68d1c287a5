package daemon

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// cors answers CORS: reads (GET, HEAD) are open to every origin, as
// Walrus's daemon; a PUT only to the same origin and Config.AllowedOrigins
// ("*": all). A preflight from another origin for a PUT is answered
// without Access-Control-Allow-Origin (the browser does not send the PUT),
// and a PUT that says it comes from another origin is refused with 403
// FORBIDDEN_ORIGIN before its body is read.
func (d *Daemon) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		origin := r.Header.Get("Origin")
		h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, Content-Type, ETag, Accept-Ranges")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			method := strings.ToUpper(strings.TrimSpace(r.Header.Get("Access-Control-Request-Method")))
			h.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
			if method == http.MethodGet || method == http.MethodHead {
				h.Set("Access-Control-Allow-Origin", "*")
				h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
			} else if d.mayWrite(r, origin) {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Methods", "GET, HEAD, PUT, OPTIONS")
			}
			if req := r.Header.Get("Access-Control-Request-Headers"); req != "" && validHeaderList(req) {
				h.Set("Access-Control-Allow-Headers", req)
			}
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Origin", "*")
			next.ServeHTTP(w, r)
			return
		}
		if origin != "" {
			if !d.mayWrite(r, origin) {
				h.Set("Connection", "close")
				writeError(w, newError(http.StatusForbidden, ReasonForbiddenOrigin,
					fmt.Sprintf("origin %q may not %s here; the operator allows other origins with --allowed-origins", truncate(origin, 80), r.Method)))
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
		}
		next.ServeHTTP(w, r)
	})
}

// mayWrite reports whether a page of origin may send r's writes: its own
// origin (the daemon's host), or one the operator allows.
func (d *Daemon) mayWrite(r *http.Request, origin string) bool {
	if origin == "" {
		return true
	}
	if slices.Contains(d.cfg.AllowedOrigins, "*") || slices.Contains(d.cfg.AllowedOrigins, origin) {
		return true
	}
	return origin == "http://"+r.Host || origin == "https://"+r.Host
}

// validHeaderList accepts a comma-separated list of header names, so that
// nothing odd is echoed.
func validHeaderList(s string) bool {
	if len(s) > 1024 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == ',' || c == ' ' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
