// Package bench is sluice's benchmark suite: README.md says what each
// benchmark measures and holds the latest results.
//
// One command per comparison, each measuring every alternative in one run
// and printing ratios:
//
//   - run.sh: the plugin host and masking benchmarks on both engines.
//   - pg.sh: pgbench and a 10,000-row query direct, through pgbouncer and
//     through sluice (with and without plugins), latency percentiles and
//     memory per idle connection (bench/cmd/pgidle holds the clients).
//   - http.sh: 1 KB JSON and a 100 MB NDJSON stream direct, through nginx
//     and through sluice (bench/cmd/httpbench is upstream and load).
//   - ssh.sh: cat of a 200 MB file and `ssh true` direct to sshd and
//     through sluice.
//
// The engine and masking benchmarks live next to the code they measure
// (gateway/pluginhost, gateway/policy, gateway/pgwire, gateway/httpgw,
// gateway/sshgw), because they reach unexported internals. This package
// holds the suite's own checks (the scripts parse).
package bench
