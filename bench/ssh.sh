#!/usr/bin/env bash
# bench/ssh.sh: OpenSSH through the alternatives, in one run: direct to a
# real sshd, through sluice with no plugins, and through sluice with
# pii-mask. Measures `ssh HOST 'cat FILE' > /dev/null` of a customer-like
# NDJSON file with e-mails (MB/s) and the latency of `ssh HOST true`
# (median of N runs; a new connection each, and on a multiplexed one).
# Prints ratios to direct. Needs openssh-server and openssh-client, and
# builds bin/sluice and the plugins. Each throughput is the best of TRIES
# runs (a shared machine's other load only ever slows a run down).
#
#   bench/ssh.sh                       # 200 MB file, best of 3, 21 runs of true
#   SIZE_MB=50 TRIES=1 RUNS=11 bench/ssh.sh
#   CIPHER=aes128-gcm@openssh.com bench/ssh.sh   # the client's cipher (default: OpenSSH's choice)
#   ENGINE=wasmtime bench/ssh.sh       # plugins on wasmtime (builds bin/sluice with TAGS=wasmtime)
#   PROFILE=/tmp/sluice.prof bench/ssh.sh   # go tool pprof bin/sluice /tmp/sluice.prof
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB=${SIZE_MB:-200}
RUNS=${RUNS:-21}
TRIES=${TRIES:-3}
CIPHER=${CIPHER:-}
ENGINE=${ENGINE:-wazero}
for b in /usr/sbin/sshd /usr/bin/ssh /usr/bin/ssh-keygen; do
  [[ -x $b ]] || { echo "bench/ssh.sh: $b not found (apt-get install openssh-server openssh-client)" >&2; exit 2; }
done
tags=()
if [[ $ENGINE == wasmtime ]]; then tags=(TAGS=wasmtime); fi
make --no-print-directory build plugins "${tags[@]}" >/dev/null

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# sshd's privilege separation directory, which containers may lack.
[[ $(id -u) == 0 ]] && mkdir -p /run/sshd

for k in host held job; do ssh-keygen -q -t ed25519 -N '' -C "$k" -f "$tmp/$k" >/dev/null; done
cp "$tmp/held.pub" "$tmp/authorized_keys"
SSHD_PORT=$(free_port)
cat >"$tmp/sshd_config" <<CFG
ListenAddress 127.0.0.1:$SSHD_PORT
HostKey $tmp/host
PidFile $tmp/sshd.pid
AuthorizedKeysFile $tmp/authorized_keys
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxStartups 100
LogLevel ERROR
CFG
/usr/sbin/sshd -D -e -f "$tmp/sshd_config" >"$tmp/sshd.log" 2>&1 </dev/null &
pids+=($!)

# The file: NDJSON customers, ~130 bytes a line, an e-mail in each.
awk -v n=$((SIZE_MB * 1000000 / 130)) 'BEGIN { for (i = 0; i < n; i++)
  printf "{\"id\":%d,\"name\":\"Customer %d\",\"email\":\"user%d@example.com\",\"plan\":\"pro\",\"balance\":%d.%02d,\"created\":\"2026-01-02T15:04:05Z\"}\n", i, i, i, i % 10000, i % 100 }' >"$tmp/customers.ndjson"
BYTES=$(stat -c %s "$tmp/customers.ndjson")

FP=$(ssh-keygen -lf "$tmp/host.pub" | awk '{print $2}')
P1=$(free_port); P2=$(free_port); ADMIN=$(free_port)
cat >"$tmp/sluice.yaml" <<YAML
data_dir: $tmp/sluice-data
admin: {listen: 127.0.0.1:$ADMIN}
runtime: {engine: $ENGINE}
identities:
  - {name: bench, kind: service, ssh_keys: ["$(cat "$tmp/job.pub")"]}
plugins:
  - {name: pii-mask, path: $PWD/plugins/pii-mask/pii-mask.wasm}
targets:
  - {name: plain, protocol: ssh, listen: "127.0.0.1:$P1", allow: [bench],
     upstream: {address: "127.0.0.1:$SSHD_PORT", user: $(id -un), key_file: $tmp/held, host_key_fingerprint: "$FP"}}
  - {name: masked, protocol: ssh, listen: "127.0.0.1:$P2", allow: [bench], plugins: [pii-mask],
     upstream: {address: "127.0.0.1:$SSHD_PORT", user: $(id -un), key_file: $tmp/held, host_key_fingerprint: "$FP"}}
YAML
bin/sluice serve --config "$tmp/sluice.yaml" ${PROFILE:+--cpuprofile "$PROFILE"} >"$tmp/sluice.log" 2>&1 </dev/null &
pids+=($!)
for _ in $(seq 300); do grep -q "sluice serving" "$tmp/sluice.log" && break; sleep 0.1; done
grep -q "sluice serving" "$tmp/sluice.log" || { cat "$tmp/sluice.log"; exit 1; }

sshc() { # port key user command...
  local port=$1 key=$2 user=$3; shift 3
  ssh -F /dev/null -p "$port" -i "$key" -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR ${CIPHER:+-c "$CIPHER"} "${MUX[@]}" \
    "$user@127.0.0.1" "$@" </dev/null
}
MUX=()
now() { echo "${EPOCHREALTIME/,/.}"; }
throughput() { # port key user -> MB/s, the best of TRIES
  local i t0 t1 best=0 r
  for ((i = 0; i < TRIES; i++)); do
    t0=$(now)
    sshc "$@" "cat $tmp/customers.ndjson" >/dev/null
    t1=$(now)
    r=$(echo "$BYTES / ($t1 - $t0) / 1000000" | bc -l)
    best=$(echo "if ($r > $best) $r else $best" | bc -l)
  done
  echo "$best"
}
median_ms() { # port key user -> median ms of `true`
  local i t0 t1 times=()
  sshc "$@" true # warm: host key, first dial, plugin caches
  for ((i = 0; i < RUNS; i++)); do
    t0=$(now); sshc "$@" true; t1=$(now)
    times+=("$(echo "($t1 - $t0) * 1000" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
ME=$(id -un)
echo "# bench/ssh.sh: $((BYTES / 1000000)) MB NDJSON best of $TRIES, $RUNS runs of true, cipher ${CIPHER:-default}, $ENGINE, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), $(ssh -V 2>&1)"
d=$(throughput "$SSHD_PORT" "$tmp/held" "$ME")
s=$(throughput "$P1" "$tmp/job" bench)
m=$(throughput "$P2" "$tmp/job" bench)
printf '%-34s %10s %10s\n' "cat FILE > /dev/null" MB/s x-direct
for row in "direct $d" "sluice-no-plugins $s" "sluice-pii-mask $m"; do
  set -- $row
  printf '%-34s %10.1f %10.2f\n' "$1" "$2" "$(echo "$2 / $d" | bc -l)"
done

ld=$(median_ms "$SSHD_PORT" "$tmp/held" "$ME")
ls_=$(median_ms "$P1" "$tmp/job" bench)
lm=$(median_ms "$P2" "$tmp/job" bench)
# The same on one multiplexed connection (ControlMaster): the cost of a
# command alone, without the handshakes.
MUX=(-o ControlMaster=auto -o "ControlPath=$tmp/cm-%p" -o ControlPersist=120)
md=$(median_ms "$SSHD_PORT" "$tmp/held" "$ME")
ms=$(median_ms "$P1" "$tmp/job" bench)
mm=$(median_ms "$P2" "$tmp/job" bench)
for p in "$SSHD_PORT" "$P1" "$P2"; do ssh -o "ControlPath=$tmp/cm-$p" -O exit -p "$p" 127.0.0.1 2>/dev/null || true; done
printf '%-34s %10s %10s\n' "ssh HOST true (median)" ms added-ms
for row in "direct $ld $ld" "sluice-no-plugins $ls_ $ld" "sluice-pii-mask $lm $ld" \
  "direct-multiplexed $md $md" "sluice-no-plugins-multiplexed $ms $md" "sluice-pii-mask-multiplexed $mm $md"; do
  set -- $row
  printf '%-34s %10.2f %10.2f\n' "$1" "$2" "$(echo "$2 - $3" | bc -l)"
done
