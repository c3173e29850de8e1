#!/usr/bin/env bash
# bench/run.sh: run the plugin host and masking benchmarks with -count and
# print a summary (benchstat's if it is installed, else medians).
#
#   bench/run.sh                 # every group, COUNT=5
#   COUNT=10 bench/run.sh call mask
#   TAGS= bench/run.sh           # wazero only, even if wasmtime builds
#
# Groups: call mask compile reload stall guard bundled store (default: all). Raw results go to
# $OUT (default bench/results/<date>.txt, not committed). Each benchmark
# runs every engine compiled in, so with the wasmtime tag both engines are
# measured in the same process and their ratios are comparable.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-5}
OUT=${OUT:-bench/results/$(date -u +%Y%m%dT%H%M%SZ).txt}
GROUPS_=${*:-call mask compile reload stall guard bundled store}

# Use the wasmtime engine too when it builds (it is behind a build tag).
if [[ -z ${TAGS+x} ]]; then
  if go vet -tags wasmtime ./gateway/pluginhost/ >/dev/null 2>&1; then TAGS=wasmtime; else TAGS=; fi
fi
tagflag=()
[[ -n $TAGS ]] && tagflag=(-tags "$TAGS")

make --no-print-directory plugins >/dev/null
mkdir -p "$(dirname "$OUT")"
{
  echo "# sluice benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# $(go version); tags: ${TAGS:-none}; count $COUNT"
  echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "# git: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo '+dirty')"
  echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
} >"$OUT"

# bench PKG REGEXP BENCHTIME [COUNT]
bench() {
  echo ">> go test -bench '$2' -benchtime $3 -count ${4:-$COUNT} $1" >&2
  go test "${tagflag[@]}" -run '^$' -bench "$2" -benchmem -benchtime "$3" -count "${4:-$COUNT}" "$1" | tee -a "$OUT" >&2
}

for g in $GROUPS_; do
  case $g in
  call)
    bench ./gateway/pluginhost/ '^BenchmarkCall$' 300ms
    bench ./gateway/pluginhost/ '^BenchmarkCallParts$' 300ms ;;
  mask)
    bench ./gateway/policy/ '^BenchmarkMaskPath$' 500ms
    bench ./gateway/policy/ '^BenchmarkMaskStream$' 500ms ;;
  compile)
    # Cold compiles of the 3.5 MB example take seconds: few iterations.
    bench ./gateway/pluginhost/ '^BenchmarkCompile$/.*/cold' 1x 3
    bench ./gateway/pluginhost/ '^BenchmarkCompile$/.*/(disk|mem)-cache' 20x
    bench ./gateway/pluginhost/ '^BenchmarkInstantiate$' 50x ;;
  reload)
    bench ./gateway/pluginhost/ '^BenchmarkReload$/.*/fixture' 20x
    bench ./gateway/pluginhost/ '^BenchmarkReload$/.*/example' 2x 3 ;;
  stall)
    # One op is one 100ms budget: 20x is 2s per case.
    bench ./gateway/pluginhost/ '^BenchmarkStall$' 20x 3 ;;
  guard)
    bench ./gateway/policy/ '^BenchmarkGuard$' 2000x ;;
  bundled)
    bench ./gateway/policy/ '^BenchmarkBundledMask$' 20x ;;
  store)
    # Real fsyncs on the temp dir's filesystem; replay builds 100k events.
    bench ./gateway/store/ '^BenchmarkDurable$' 2000x
    bench ./gateway/store/ '^BenchmarkReplay$' 5x 3 ;;
  *) echo "unknown group $g (call mask compile reload stall guard bundled store)" >&2; exit 2 ;;
  esac
done

echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" >>"$OUT"
echo
echo "raw results: $OUT ($(grep '^# load' "$OUT" | tr '\n' ' '))"
echo
if command -v benchstat >/dev/null 2>&1; then
  benchstat "$OUT"
  exit 0
fi
# No benchstat: the median of every metric per benchmark, with the spread
# (min..max) so noisy lines stand out.
awk '
/^Benchmark/ {
  name = $1; sub(/-[0-9]+$/, "", name)
  if (!(name in seen)) { seen[name] = 1; order[++n] = name }
  for (i = 3; i < NF; i += 2) {
    unit = $(i + 1); key = name SUBSEP unit
    if (!(key in cnt)) units[name] = units[name] " " unit
    vals[key, ++cnt[key]] = $i
  }
}
function median(key, c,   i, j, t, a) {
  for (i = 1; i <= c; i++) a[i] = vals[key, i] + 0
  for (i = 2; i <= c; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  lo = a[1]; hi = a[c]
  return (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
}
END {
  for (k = 1; k <= n; k++) {
    name = order[k]; line = sprintf("%-58s", name); split(substr(units[name], 2), us, " ")
    for (u = 1; u in us; u++) {
      key = name SUBSEP us[u]; m = median(key, cnt[key])
      spread = (hi > lo && m != 0) ? sprintf(" ±%.0f%%", 100 * (hi - lo) / 2 / m) : ""
      line = line sprintf("  %s %s%s", fmt(m), us[u], spread)
    }
    print line
  }
}
function fmt(v) { return (v >= 100 || v == int(v)) ? sprintf("%.0f", v) : sprintf("%.3g", v) }
' "$OUT"
