// Package bench is sluice's benchmark suite: README.md says what each
// benchmark measures and holds the latest results, and run.sh runs them.
//
// The plugin host and masking benchmarks live next to the code they
// measure, in gateway/pluginhost (bench_*_test.go) and gateway/policy
// (bench_mask_test.go), because they reach unexported internals (the raw
// engine call, the instance pool, the masking table). This package holds
// the suite's own checks; end-to-end benchmarks against direct access and
// peers (pgbouncer, nginx, OpenSSH) belong here as they are written.
package bench
