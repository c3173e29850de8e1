#!/usr/bin/env bash
# bench/pg.sh: pgbench select-only through the alternatives, in one run:
# direct to PostgreSQL, pgbouncer (session pooling), sluice with no
# plugins, and sluice with sql-guard and pii-mask. Prints TPS and the
# ratio to pgbouncer. Needs PostgreSQL 15 and pgbouncer (Debian packages
# postgresql-15, pgbouncer) and `make plugins`.
#
#   bench/pg.sh                 # 8 clients, 10 s per case
#   CLIENTS=4 SECONDS_=5 bench/pg.sh
#   PROFILE=/tmp/sluice.prof bench/pg.sh   # and go tool pprof bin/sluice /tmp/sluice.prof
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-8}
SECONDS_=${SECONDS_:-10}
PGBIN=${SLUICE_PG_BIN:-/usr/lib/postgresql/15/bin}
for b in "$PGBIN/initdb" "$PGBIN/pgbench" /usr/sbin/pgbouncer; do
  [[ -x $b ]] || { echo "bench/pg.sh: $b not found (apt-get install postgresql-15 pgbouncer)" >&2; exit 2; }
done
make --no-print-directory build plugins >/dev/null

tmp=$(mktemp -d)
chown postgres "$tmp" 2>/dev/null || true
pids=()
cleanup() {
  # postgres and pgbouncer run under runuser, which does not pass signals
  # on: stop everything whose command line names this run's directory.
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pkill -f "$tmp" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

PW=bench-owner-secret
echo "$PW" > "$tmp/pw"; chmod 644 "$tmp/pw"
as_pg "$PGBIN/initdb" -D "$tmp/data" -U owner --pwfile "$tmp/pw" -A scram-sha-256 -E UTF8 --locale C --no-sync >/dev/null
PGPORT=$(free_port)
as_pg "$PGBIN/postgres" -D "$tmp/data" -p "$PGPORT" -k "$tmp" -c listen_addresses=127.0.0.1 -c max_connections=100 \
  -c fsync=off -c synchronous_commit=off >"$tmp/pg.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do PGPASSWORD=$PW "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U owner -d postgres -c 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
PGPASSWORD=$PW "$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -U owner -d postgres -c 'CREATE DATABASE bench' >/dev/null
PGPASSWORD=$PW "$PGBIN/pgbench" -q -i -s 1 -h 127.0.0.1 -p "$PGPORT" -U owner bench >/dev/null 2>&1

# pgbouncer, session pooling, scram towards the server.
BPORT=$(free_port)
cat >"$tmp/pgbouncer.ini" <<INI
[databases]
bench = host=127.0.0.1 port=$PGPORT dbname=bench user=owner password=$PW
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BPORT
unix_socket_dir =
auth_type = plain
auth_file = $tmp/userlist.txt
pool_mode = session
max_client_conn = 200
default_pool_size = 50
logfile = $tmp/pgbouncer.log
pidfile = $tmp/pgbouncer.pid
INI
echo "\"owner\" \"$PW\"" >"$tmp/userlist.txt"
chown postgres "$tmp"/pgbouncer.ini "$tmp"/userlist.txt 2>/dev/null || true
as_pg /usr/sbin/pgbouncer -q "$tmp/pgbouncer.ini" &
pids+=($!)

# sluice: two targets, the same backend.
TOKEN=bench-token-$$
HASH=$(printf %s "$TOKEN" | bin/sluice token hash)
P1=$(free_port); P2=$(free_port); ADMIN=$(free_port)
cat >"$tmp/sluice.yaml" <<YAML
data_dir: $tmp/sluice-data
admin: {listen: 127.0.0.1:$ADMIN}
identities:
  - {name: bench, kind: service, token_hashes: ["$HASH"]}
plugins:
  - {name: sql-guard, path: $PWD/plugins/sql-guard/sql-guard.wasm}
  - {name: pii-mask, path: $PWD/plugins/pii-mask/pii-mask.wasm}
targets:
  - {name: plain, protocol: postgres, listen: "127.0.0.1:$P1", allow: [bench], allow_cleartext: true,
     upstream: {address: "127.0.0.1:$PGPORT", database: bench, user: owner, password: "$PW", sslmode: disable}}
  - {name: guarded, protocol: postgres, listen: "127.0.0.1:$P2", allow: [bench], allow_cleartext: true, plugins: [sql-guard, pii-mask],
     upstream: {address: "127.0.0.1:$PGPORT", database: bench, user: owner, password: "$PW", sslmode: disable}}
YAML
# PROFILE=FILE writes sluice's CPU profile of the whole run there.
bin/sluice serve --config "$tmp/sluice.yaml" ${PROFILE:+--cpuprofile "$PROFILE"} >"$tmp/sluice.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do grep -q "sluice serving" "$tmp/sluice.log" && break; sleep 0.1; done
grep -q "sluice serving" "$tmp/sluice.log" || { cat "$tmp/sluice.log"; exit 1; }

run() { # name port user password db
  local out
  out=$(PGPASSWORD=$4 PGCLIENTENCODING=UTF8 "$PGBIN/pgbench" -n -S -c "$CLIENTS" -j 2 -T "$SECONDS_" \
    "host=127.0.0.1 port=$2 user=$3 dbname=$5 sslmode=disable" 2>&1)
  echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1
}
echo "# pgbench select-only, $CLIENTS clients, ${SECONDS_}s each, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
d=$(run direct "$PGPORT" owner "$PW" bench)
b=$(run pgbouncer "$BPORT" owner "$PW" bench)
s=$(run sluice "$P1" bench "$TOKEN" plain)
g=$(run sluice-guarded "$P2" bench "$TOKEN" guarded)
printf '%-34s %10s %12s\n' case tps x-pgbouncer
for row in "direct $d" "pgbouncer $b" "sluice-no-plugins $s" "sluice-sql-guard+pii-mask $g"; do
  set -- $row
  printf '%-34s %10.0f %12.2f\n' "$1" "$2" "$(echo "$2 / $b" | bc -l)"
done
