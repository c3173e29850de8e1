// Package telemetry is the room where sluice's logs and metrics are defined,
// so that every metric name, label and help text lives in one place and the
// admin API, the plugin host and the config watcher cannot drift apart.
//
// Entry points:
//
//   - [NewLogger] builds the process logger from the log.level and
//     log.format config keys.
//   - [NewMetrics] builds a private [prometheus.Registry] with the Go and
//     process collectors and every sluice_ metric; [Metrics.Handler] serves
//     it in the Prometheus exposition format.
//   - [NewConfigReloads] builds the sluice_config_reloads_total counter on
//     its own, for the config watcher, which registers it on whatever
//     registry it is given and reuses an identical one already there.
//
// There is deliberately no nil-safe *Metrics: NewMetrics is cheap (one
// registry and a handful of vectors), so callers always build one, tests
// included, instead of every increment site checking for nil.
//
// Concurrency: a *slog.Logger and every metric vector are safe for
// concurrent use. The fields of [Metrics] are set once by NewMetrics and
// must not be reassigned.
package telemetry
