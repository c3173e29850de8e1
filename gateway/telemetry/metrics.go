package telemetry

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metric names. They are part of the user-facing contract (dashboards and
// alerts are written against them), so they change only with a release note.
const (
	MetricPluginCalls        = "sluice_plugin_calls_total"
	MetricPluginErrors       = "sluice_plugin_errors_total"
	MetricPluginTimeouts     = "sluice_plugin_timeouts_total"
	MetricPluginCallDuration = "sluice_plugin_call_duration_seconds"
	MetricPluginReloads      = "sluice_plugin_reloads_total"
	MetricBreakerOpen        = "sluice_plugin_breaker_open"
	MetricConfigReloads      = "sluice_config_reloads_total"
)

// Values of the kind label of sluice_plugin_errors_total: why a plugin call
// or instance failed. Each one discards the instance and applies the
// plugin's fail mode.
const (
	KindTrap    = "trap"    // the guest trapped (unreachable, out-of-bounds access, ...)
	KindTimeout = "timeout" // the call ran past the plugin's timeout
	KindMemory  = "memory"  // the guest tried to grow past memory_limit
	KindABI     = "abi"     // the guest broke the ABI (bad result layout, bad edit)
	KindInit    = "init"    // instantiation or the guest's init export failed
)

// Values of the result label of the reload counters.
const (
	ResultOK    = "ok"
	ResultError = "error"
)

// callDurationBuckets spans a wazero call on a small batch (~1µs) to the
// largest allowed plugin timeout (10s) in 1-5-10 steps, 15 buckets: enough to
// tell "fast", "slow" and "about to time out" apart without a series
// explosion per plugin and hook. Scrapers that understand native histograms
// get finer resolution from NativeHistogramBucketFactor.
var callDurationBuckets = []float64{
	1e-6, 5e-6,
	1e-5, 5e-5,
	1e-4, 5e-4,
	1e-3, 5e-3,
	1e-2, 5e-2,
	0.1, 0.5,
	1, 5,
	10,
}

// Metrics holds the process's metric registry and the metrics other rooms
// increment. Build it with [NewMetrics]; the fields are set once and must not
// be reassigned. All of them are safe for concurrent use.
type Metrics struct {
	// Registry holds the Go and process collectors and every metric below.
	// It is private to this Metrics (not prometheus.DefaultRegisterer), so
	// tests can build as many as they like.
	Registry *prometheus.Registry

	// PluginCalls counts guest calls by plugin name and hook.
	PluginCalls *prometheus.CounterVec
	// PluginErrors counts failed guest calls and instantiations by plugin,
	// hook and kind (one of the Kind constants).
	PluginErrors *prometheus.CounterVec
	// PluginTimeouts counts calls that exceeded the plugin's timeout, by
	// plugin. They are also counted in PluginErrors with kind "timeout";
	// this series exists because timeouts are the usual alert.
	PluginTimeouts *prometheus.CounterVec
	// PluginCallDuration observes the wall time of one guest call, in
	// seconds, by plugin and hook.
	PluginCallDuration *prometheus.HistogramVec
	// PluginReloads counts hot reloads of a plugin's module by plugin and
	// result (ok or error).
	PluginReloads *prometheus.CounterVec
	// BreakerOpen is 1 while a plugin's circuit breaker is open, else 0.
	BreakerOpen *prometheus.GaugeVec
	// ConfigReloads counts config file reloads by result (ok or error).
	ConfigReloads *prometheus.CounterVec
}

// NewMetrics returns a Metrics with a fresh registry. It is cheap; callers
// always pass one around rather than a nil that every increment site would
// have to check.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		PluginCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricPluginCalls,
			Help: "Plugin guest calls, by plugin and hook.",
		}, []string{"plugin", "hook"}),
		PluginErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricPluginErrors,
			Help: "Failed plugin calls and instantiations, by plugin, hook and kind (trap, timeout, memory, abi, init).",
		}, []string{"plugin", "hook", "kind"}),
		PluginTimeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricPluginTimeouts,
			Help: "Plugin calls that exceeded the plugin's timeout, by plugin.",
		}, []string{"plugin"}),
		PluginCallDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            MetricPluginCallDuration,
			Help:                            "Wall time of one plugin guest call in seconds, by plugin and hook.",
			Buckets:                         callDurationBuckets,
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  100,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"plugin", "hook"}),
		PluginReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricPluginReloads,
			Help: "Plugin module hot reloads, by plugin and result (ok, error).",
		}, []string{"plugin", "result"}),
		BreakerOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricBreakerOpen,
			Help: "1 while the plugin's circuit breaker is open, else 0.",
		}, []string{"plugin"}),
		ConfigReloads: NewConfigReloads(),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.PluginCalls,
		m.PluginErrors,
		m.PluginTimeouts,
		m.PluginCallDuration,
		m.PluginReloads,
		m.BreakerOpen,
		m.ConfigReloads,
	)
	return m
}

// NewConfigReloads returns an unregistered sluice_config_reloads_total
// counter with its result label. Both [NewMetrics] and the config watcher
// build it here so their descriptors are identical: registering the second
// one then fails with a prometheus.AlreadyRegisteredError whose
// ExistingCollector the watcher reuses, instead of a conflicting-descriptor
// error.
func NewConfigReloads() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricConfigReloads,
		Help: "Config file reloads, by result (ok, error).",
	}, []string{"result"})
}

// Handler serves the registry in the Prometheus exposition format (with
// OpenMetrics negotiation). Errors while gathering are reported in the
// response rather than aborting the scrape, so one broken collector does not
// hide the others.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{
		Registry:          m.Registry,
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}
