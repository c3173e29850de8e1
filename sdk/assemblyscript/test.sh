#!/bin/sh
# test.sh: the SDK's tests. Rebuilds the example and checks that the
# committed example/customer-id-mask.wasm is byte-identical to the build,
# builds test/sdk-check.ts (a plugin that uses every part of the SDK), and
# runs both against their conformance vectors in the real host.
# SLUICE as for build.sh.
set -eu

if [ -n "${SLUICE:-}" ]; then
	case "$SLUICE" in
	/*) ;;
	*/*) SLUICE="$PWD/$SLUICE" ;;
	*) SLUICE=$(command -v "$SLUICE" || echo "$SLUICE") ;;
	esac
fi
cd "$(dirname "$0")"
SLUICE=${SLUICE:-$PWD/../../bin/sluice}
export SLUICE

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

./build.sh example/customer-id-mask.ts "$tmp/customer-id-mask.wasm" example/manifest.json
if ! cmp -s "$tmp/customer-id-mask.wasm" example/customer-id-mask.wasm; then
	echo "test.sh: example/customer-id-mask.wasm differs from a fresh build: run npm run build" >&2
	exit 1
fi
./build.sh test/sdk-check.ts "$tmp/sdk-check.wasm" test/manifest.json

"$SLUICE" plugin test "$tmp/customer-id-mask.wasm" --vectors example/vectors
"$SLUICE" plugin test "$tmp/sdk-check.wasm" --vectors test/vectors
