#!/bin/sh
# run.sh: build the SDK test plugin (sdk_test.c) into a temporary directory
# and run it against vectors/; check the committed example .wasm is what
# the sources build; run native_test.c; run the example against its
# vectors. Nothing is written into the repository.
#
#   SLUICE=/path/to/sluice sdk/c/test/run.sh [--engine NAME]
#
# Same environment as ../build.sh (CC, WASI_SYSROOT, SLUICE, CFLAGS); extra
# arguments go to `sluice plugin test`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$here/../build.sh" "$here/sdk_test.c" "$here/manifest.json" "$tmp/c-sdk-test.wasm"
"$here/../build.sh" "$here/../example/customer_id_mask.c" "$here/../example/manifest.json" "$tmp/customer-id-mask.wasm"
if ! cmp -s "$tmp/customer-id-mask.wasm" "$here/../example/customer-id-mask.wasm"; then
	echo "sdk/c/example/customer-id-mask.wasm is stale: run sdk/c/build.sh" >&2
	exit 1
fi
# the parsers and writers, natively (HOSTCC, default cc; skipped without one)
hostcc=${HOSTCC:-cc}
if command -v "$hostcc" >/dev/null 2>&1; then
	"$hostcc" -std=c11 -O2 -Wall -Wextra -Werror -I "$here/.." "$here/native_test.c" -o "$tmp/native_test"
	"$tmp/native_test"
else
	echo "run.sh: no host C compiler ($hostcc): native_test.c skipped" >&2
fi
SLUICE=${SLUICE:-$(command -v sluice || echo "$here/../../../bin/sluice")}
"$SLUICE" plugin test "$tmp/c-sdk-test.wasm" --vectors "$here/vectors" "$@"
"$SLUICE" plugin test "$tmp/customer-id-mask.wasm" --vectors "$here/../example/vectors" "$@"
