#!/bin/sh
# build.sh: compile an AssemblyScript sluice plugin and add its manifest.
#
#   ./build.sh                              the example: example/customer-id-mask.wasm
#   ./build.sh ENTRY.ts OUT.wasm MANIFEST.json
#
# ENTRY, OUT and MANIFEST are relative to this folder (or absolute). The
# compiler options are in asconfig.json. SLUICE is the sluice binary
# (default: ../../bin/sluice from this folder; a relative SLUICE is taken
# from the directory you run this in). Needs `npm ci` first.
#
# The output is deterministic: asc runs from this folder, so the only paths
# that reach the module (file names in abort messages) are relative ones,
# and building twice, or from a copy of this folder elsewhere, gives the
# same bytes.
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

entry=${1:-example/customer-id-mask.ts}
out=${2:-example/customer-id-mask.wasm}
manifest=${3:-example/manifest.json}

if [ ! -x node_modules/.bin/asc ]; then
	echo "build.sh: node_modules/.bin/asc missing: run npm ci in $PWD" >&2
	exit 2
fi
if [ ! -x "$SLUICE" ]; then
	echo "build.sh: no sluice binary at $SLUICE: build it (make build) or set SLUICE" >&2
	exit 2
fi

node_modules/.bin/asc "$entry" --config asconfig.json --outFile "$out"
"$SLUICE" plugin manifest set "$out" "$manifest"
echo "built $out ($(wc -c <"$out" | tr -d ' ') bytes)"
