// Package admin serves the admin API on the admin listener (admin.listen):
// Prometheus metrics, health, and the plugin status the CLI and operators
// read. It is the only way the CLI talks to a running gateway; it never
// opens the gateway's data directory itself.
//
// Endpoints:
//
//	GET  /healthz                   200 "ok" while the gateway serves
//	GET  /metrics                   Prometheus text format
//	GET  /v1/plugins                JSON array of plugin statuses
//	POST /v1/plugins/{name}/reload  reload one plugin from its file now
//
// Handler is safe for concurrent use.
package admin

import (
	"encoding/json"
	"net/http"

	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/telemetry"
)

// Handler returns the admin API.
func Handler(host *pluginhost.Host, metrics *telemetry.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", metrics.Handler())
	mux.HandleFunc("GET /v1/plugins", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, host.Statuses())
	})
	mux.HandleFunc("POST /v1/plugins/{name}/reload", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		p, ok := host.Plugin(name)
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "plugin " + name + " is not loaded"})
			return
		}
		if err := host.Reload(r.Context(), name); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": err.Error(), "serving": p.Status()})
			return
		}
		writeJSON(w, http.StatusOK, p.Status())
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
