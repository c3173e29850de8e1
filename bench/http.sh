#!/usr/bin/env bash
# bench/http.sh: the same HTTP upstream reached four ways, in one run:
# direct, nginx as a reverse proxy (upstream keep-alive), sluice with no
# plugins, and sluice with the bundled pii-mask plugin. Two workloads:
# 1 KB JSON responses over keep-alive connections (requests/s, p50 and
# p99 latency), and one 100 MB NDJSON response streamed (MB/s). Prints
# absolute figures and the ratio to nginx. Needs nginx (Debian package
# nginx, or nginx-light), Go, python3 (free ports), curl and bc; it builds
# sluice and the plugins (make build plugins) and bench/cmd/httpbench,
# the upstream and the load generator. See bench/README.md, section 9.
#
#   bench/http.sh                       # 32 connections, 5 s per case, 100 MB
#   CONNS=16 SECONDS_=3 MB=20 bench/http.sh
#   ENGINE=wasmtime bench/http.sh       # rebuilds bin/sluice with -tags wasmtime
#   PROFILE=/tmp/sluice.prof bench/http.sh   # and go tool pprof bin/sluice /tmp/sluice.prof
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-32}
SECONDS_=${SECONDS_:-5}
WARMUP=${WARMUP:-1s}
MB=${MB:-100}
STREAMS=${STREAMS:-2} # ndjson runs per case; the fastest counts (the machine may be shared)
ENGINE=${ENGINE:-wazero}
NGINX=${SLUICE_NGINX:-/usr/sbin/nginx}
[[ -x $NGINX ]] || { echo "bench/http.sh: $NGINX not found (apt-get install nginx)" >&2; exit 2; }
case $ENGINE in
  wazero) make --no-print-directory build plugins >/dev/null ;;
  wasmtime) make --no-print-directory build plugins TAGS=wasmtime >/dev/null ;;
  *) echo "bench/http.sh: ENGINE is wazero or wasmtime" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
pids=()
cleanup() {
  # Every process this script starts is its own child and takes SIGTERM:
  # nginx's master stops its workers, sluice and the upstream shut down.
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # file pattern what
  for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "bench/http.sh: $3 did not start:" >&2; cat "$1" >&2; exit 1
}

go build -o "$tmp/httpbench" ./bench/cmd/httpbench

# The upstream.
UP=$(free_port)
"$tmp/httpbench" upstream -listen "127.0.0.1:$UP" >"$tmp/upstream.log" 2>&1 </dev/null &
pids+=($!)
wait_for "$tmp/upstream.log" listening upstream

# nginx: two workers, HTTP/1.1 with keep-alive towards the upstream, all
# its files in $tmp; responses are buffered in memory only (no temp file).
NG=$(free_port)
mkdir -p "$tmp/nginx/logs"
user=
[[ $(id -u) == 0 ]] && user="user root;"
cat >"$tmp/nginx/nginx.conf" <<CONF
$user
worker_processes 2;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log $tmp/nginx/logs/access.log;
  client_body_temp_path $tmp/nginx/client_body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  upstream backend {
    server 127.0.0.1:$UP;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$NG;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_max_temp_file_size 0;
    }
  }
}
CONF
"$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log" -g 'daemon off;' \
  >"$tmp/nginx.out" 2>&1 </dev/null &
pids+=($!); NGPID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$NG/json" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$NG/json" >/dev/null || { echo "bench/http.sh: nginx did not start:" >&2; cat "$tmp/nginx.out" "$tmp/nginx/logs/error.log" >&2; exit 1; }

# sluice: two http targets on the same upstream, one without plugins, one
# with pii-mask (its config in the embedded demo defaults: names partly
# masked, every detector on).
TOKEN=bench-token-$$
HASH=$(printf %s "$TOKEN" | bin/sluice token hash)
P1=$(free_port); P2=$(free_port); ADMIN=$(free_port)
cat >"$tmp/sluice.yaml" <<YAML
data_dir: $tmp/sluice-data
admin: {listen: 127.0.0.1:$ADMIN}
runtime: {engine: $ENGINE}
demo: {enabled: false}
identities:
  - {name: bench, kind: service, token_hashes: ["$HASH"]}
plugins:
  - {name: pii-mask, path: $PWD/plugins/pii-mask/pii-mask.wasm, config: {fields: [{match: name, strategy: partial}]}}
targets:
  - {name: plain, protocol: http, listen: "127.0.0.1:$P1", allow: [bench], plugins: [],
     upstream: {address: "http://127.0.0.1:$UP", credential: {kind: none}}}
  - {name: masked, protocol: http, listen: "127.0.0.1:$P2", allow: [bench], plugins: [pii-mask],
     upstream: {address: "http://127.0.0.1:$UP", credential: {kind: none}}}
YAML
# PROFILE=FILE writes sluice's CPU profile of the whole run there (the
# direct and nginx cases add nothing to it).
bin/sluice serve --config "$tmp/sluice.yaml" ${PROFILE:+--cpuprofile "$PROFILE"} >"$tmp/sluice.log" 2>&1 </dev/null &
pids+=($!); SPID=$!
wait_for "$tmp/sluice.log" "sluice serving" sluice

AUTH="Authorization: Bearer $TOKEN"
# pii-mask is working: the e-mails of a masked response are labels.
body=$(curl -fsS -H "$AUTH" "http://127.0.0.1:$P2/json") || { echo "bench/http.sh: sluice refused the request:" >&2; tail -5 "$tmp/sluice.log" >&2; exit 1; }
if [[ $body == *@example.com* || $body != *'[EMAIL]'* ]]; then
  echo "bench/http.sh: the pii-mask target did not mask: $body" >&2; exit 1
fi

field() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" <<<"$2"; }
# CPU time (clock ticks, user + system) of the proxy of a case: nginx's
# master and workers, or sluice; none for direct.
HZ=$(getconf CLK_TCK)
ticks() {
  local t=0 p
  case $1 in
    nginx) set -- "$NGPID" $(pgrep -P "$NGPID") ;;
    sluice*) set -- "$SPID" ;;
    *) echo 0; return ;;
  esac
  for p in "$@"; do [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$t"
}
names=(direct nginx sluice-no-plugins sluice-pii-mask)
ports=("$UP" "$NG" "$P1" "$P2")
declare -A rps p50 p99 mbps at cpureq cpumb
echo "# $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), $ENGINE; json: $CONNS connections, ${SECONDS_}s after ${WARMUP} warm-up; ndjson: ${MB} MB, best of $STREAMS"
for i in "${!names[@]}"; do
  n=${names[$i]}; url=http://127.0.0.1:${ports[$i]}
  t0=$(ticks "$n")
  out=$("$tmp/httpbench" load -url "$url/json" -H "$AUTH" -c "$CONNS" -d "${SECONDS_}s" -warmup "$WARMUP" </dev/null)
  rps[$n]=$(field rps "$out"); p50[$n]=$(field p50_us "$out"); p99[$n]=$(field p99_us "$out")
  cpureq[$n]=$(bc -l <<<"($(ticks "$n") - $t0) * 1000000 / $HZ / $(field all_requests "$out")")
  t0=$(ticks "$n")
  # MB/s of the upstream's body (a masked body is shorter), best of STREAMS.
  mbps[$n]=0
  for _ in $(seq "$STREAMS"); do
    out=$("$tmp/httpbench" stream -url "$url/ndjson?mb=$MB" -H "$AUTH" </dev/null)
    m=$(bc -l <<<"$MB / $(field secs "$out")"); at[$n]=$(field at "$out")
    (( $(bc <<<"$m > ${mbps[$n]}") )) && mbps[$n]=$m
  done
  cpumb[$n]=$(bc -l <<<"($(ticks "$n") - $t0) * 1000 / $HZ / ($MB * $STREAMS)")
done
# cpu-us/req and cpu-ms/MB: the proxy's CPU (user + system, warm-up
# included) per request and per MB of the stream.
printf '%-18s %10s %7s %7s %7s %10s %11s %7s %10s %10s\n' case json-req/s x-nginx p50-us p99-us cpu-us/req ndjson-MB/s x-nginx cpu-ms/MB raw-emails
for n in "${names[@]}"; do
  printf '%-18s %10.0f %7.2f %7d %7d %10.0f %11.1f %7.2f %10.2f %10d\n' "$n" "${rps[$n]}" "$(bc -l <<<"${rps[$n]} / ${rps[nginx]}")" \
    "${p50[$n]}" "${p99[$n]}" "${cpureq[$n]}" "${mbps[$n]}" "$(bc -l <<<"${mbps[$n]} / ${mbps[nginx]}")" "${cpumb[$n]}" "${at[$n]}"
done
