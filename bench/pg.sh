#!/usr/bin/env bash
# bench/pg.sh: the PostgreSQL alternatives in one run: direct to
# PostgreSQL, pgbouncer (session pooling), sluice with no plugins, and
# sluice with sql-guard and pii-mask. Prints pgbench select-only TPS, rows/s
# of a query returning 10,000 customer-like rows (names, e-mails, phones),
# each as a ratio to pgbouncer, p50/p99 latency per select-only query and
# what sluice adds to the p50, and sluice's memory per idle connection.
# Needs PostgreSQL 15 and pgbouncer (Debian packages postgresql-15,
# pgbouncer) and `make plugins`.
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
# 10,000 customer-like rows for the rows/s figure.
PGPASSWORD=$PW "$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -U owner -d bench -c "CREATE TABLE customers AS
  SELECT i AS id, 'Customer ' || i AS name, 'user' || i || '@example.com' AS email,
         '+1 415 555 ' || lpad((i % 10000)::text, 4, '0') AS phone, 'active' AS status
  FROM generate_series(1, 10000) i" >/dev/null
echo 'SELECT id, name, email, phone, status FROM customers;' >"$tmp/rows.sql"
go build -o "$tmp/pgidle" ./bench/cmd/pgidle

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

dsn() { echo "host=127.0.0.1 port=$1 user=$2 dbname=$3 sslmode=disable"; }
tps_of() { sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1; }
run() { # name port user password db: select-only TPS; per-transaction latencies in $tmp/lat-NAME*
  PGPASSWORD=$4 PGCLIENTENCODING=UTF8 "$PGBIN/pgbench" -n -S -c "$CLIENTS" -j 2 -T "$SECONDS_" \
    -l --log-prefix="$tmp/lat-$1" "$(dsn "$2" "$3" "$5")" 2>&1 | tps_of
}
rows() { # name port user password db: rows/s of the 10,000-row query, 2 clients
  local t
  t=$(PGPASSWORD=$4 PGCLIENTENCODING=UTF8 "$PGBIN/pgbench" -n -f "$tmp/rows.sql" -c 2 -j 2 -T "$SECONDS_" \
    "$(dsn "$2" "$3" "$5")" 2>&1 | tps_of)
  echo "${t:-0} * 10000" | bc -l
}
pct() { # name percentile: latency in ms from pgbench's per-transaction log (3rd field, µs)
  cat "$tmp"/lat-"$1".* | awk '{print $3}' | sort -n | awk -v p="$2" '{a[NR]=$1} END {i=int(NR*p/100); if (i<1) i=1; printf "%.3f", a[i]/1000}'
}
echo "# pgbench select-only, $CLIENTS clients, ${SECONDS_}s each, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
d=$(run direct "$PGPORT" owner "$PW" bench)
b=$(run pgbouncer "$BPORT" owner "$PW" bench)
s=$(run sluice "$P1" bench "$TOKEN" plain)
g=$(run sluice-guarded "$P2" bench "$TOKEN" guarded)
dr=$(rows direct "$PGPORT" owner "$PW" bench)
br=$(rows pgbouncer "$BPORT" owner "$PW" bench)
sr=$(rows sluice "$P1" bench "$TOKEN" plain)
gr=$(rows sluice-guarded "$P2" bench "$TOKEN" guarded)
dp50=$(pct direct 50); dp99=$(pct direct 99)
printf '%-28s %9s %8s %12s %8s %9s %9s %9s\n' case tps x-bouncer rows/s x-bouncer p50-ms p99-ms added-p50
for row in "direct $d $dr direct" "pgbouncer $b $br pgbouncer" "sluice-no-plugins $s $sr sluice" "sluice-sql-guard+pii-mask $g $gr sluice-guarded"; do
  set -- $row
  p50=$(pct "$4" 50); p99=$(pct "$4" 99)
  printf '%-28s %9.0f %8.2f %12.0f %8.2f %9s %9s %9.3f\n' "$1" "$2" "$(echo "$2 / $b" | bc -l)" "$3" "$(echo "$3 / $br" | bc -l)" \
    "$p50" "$p99" "$(echo "$p50 - $dp50" | bc -l)"
done

# Memory per idle connection: sluice's RSS before and after 100 idle
# clients (TLS off, as above), both engines' buffers and goroutines.
spid=${pids[-1]}
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
before=$(rss "$spid")
PGPASSWORD=$TOKEN "$tmp/pgidle" -n 100 -dsn "$(dsn "$P1" bench plain)" >"$tmp/idle.out" 2>&1 &
idle=$!; pids+=("$idle")
for _ in $(seq 300); do grep -q ready "$tmp/idle.out" && break; sleep 0.1; done
sleep 1
after=$(rss "$spid")
kill "$idle" 2>/dev/null || true
echo "# sluice memory per idle connection: $(( (after - before) / 100 )) KiB (RSS $before -> $after KiB for 100 clients)"
