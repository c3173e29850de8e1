#!/bin/sh
# build.sh: build a sluice plugin written in Rust into a .wasm with its
# manifest, with plain rustc (no cargo, no crates), deterministically.
#
#   sdk/rust/build.sh SRC OUT [MANIFEST]
#
# SRC is a plugin directory (its src/lib.rs is built, its manifest.json is
# used) or a single .rs file (manifest.json next to it, or in its parent
# directory). MANIFEST overrides the manifest. OUT is the .wasm written.
#
# Environment:
#   RUSTC   the rustc to use; default /usr/bin/rustc (Debian's, with the
#           libstd-rust-dev-wasm32 target) when present, else rustc.
#   SLUICE  the sluice binary for `plugin manifest set`; default bin/sluice
#           of the repository when built, else sluice on PATH.
#
# Determinism: the same source gives byte-identical output whatever
# directory the repository is in: source paths are remapped (sluice/...,
# plugin/...), no debug info, no symbol names, one codegen unit, fat LTO,
# a fixed crate metadata. The only custom section is sluice.manifest.
set -eu

usage() { echo "usage: $0 SRC_DIR_OR_FILE OUT.wasm [MANIFEST.json]" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage

abspath() { # abspath PATH: the absolute, symlink-free path of an existing file or dir
  if [ -d "$1" ]; then (cd -P "$1" && pwd); else echo "$(cd -P "$(dirname "$1")" && pwd)/$(basename "$1")"; fi
}

SDK=$(abspath "$(dirname "$0")")
REPO=$(abspath "$SDK/../..")
SRC=$1
OUT=$2
[ -e "$SRC" ] || { echo "$0: $SRC: not found" >&2; exit 2; }
SRC=$(abspath "$SRC")
if [ -d "$SRC" ]; then
  DIR=$SRC
  MAIN=$SRC/src/lib.rs
  [ -f "$MAIN" ] || MAIN=$SRC/lib.rs
  MANIFEST=${3:-$DIR/manifest.json}
else
  MAIN=$SRC
  DIR=$(dirname "$SRC")
  if [ $# -eq 3 ]; then MANIFEST=$3
  elif [ -f "$DIR/manifest.json" ]; then MANIFEST=$DIR/manifest.json
  else MANIFEST=$(dirname "$DIR")/manifest.json; fi
  # src/lib.rs: the plugin root is the parent, so paths stay relative to it
  [ "$(basename "$DIR")" = src ] && DIR=$(dirname "$DIR")
fi
[ -f "$MAIN" ] || { echo "$0: $MAIN: no such file" >&2; exit 2; }
[ -f "$MANIFEST" ] || { echo "$0: $MANIFEST: no manifest (give it as the third argument)" >&2; exit 2; }

if [ -z "${RUSTC:-}" ]; then
  if [ -x /usr/bin/rustc ]; then RUSTC=/usr/bin/rustc; else RUSTC=rustc; fi
fi
if [ -z "${SLUICE:-}" ]; then
  if [ -x "$REPO/bin/sluice" ]; then SLUICE=$REPO/bin/sluice; else SLUICE=sluice; fi
fi
command -v "$SLUICE" >/dev/null 2>&1 || { echo "$0: $SLUICE not found: run make build, or set SLUICE=/path/to/sluice" >&2; exit 2; }

# A fixed crate name (it seeds symbol hashes, so it must not depend on OUT).
NAME=sluice_plugin

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

FLAGS="--edition 2021 --target wasm32-unknown-unknown -C opt-level=s -C panic=abort -C codegen-units=1 -C debuginfo=0"

# 1. the SDK, as an rlib
"$RUSTC" $FLAGS --crate-type rlib --crate-name sluice -C metadata=sluice-sdk-v1 \
  --remap-path-prefix "$SDK=sluice" \
  -o "$TMP/libsluice.rlib" "$SDK/src/lib.rs"

# 2. the plugin, as a cdylib linked against it
"$RUSTC" $FLAGS --crate-type cdylib --crate-name "$NAME" -C metadata=sluice-plugin \
  -C lto=fat -C strip=symbols \
  --remap-path-prefix "$SDK=sluice" --remap-path-prefix "$DIR=plugin" \
  --extern sluice="$TMP/libsluice.rlib" \
  -o "$TMP/plugin.wasm" "$MAIN"

# 3. the manifest, validated, as the sluice.manifest custom section
"$SLUICE" plugin manifest set "$TMP/plugin.wasm" "$MANIFEST" >/dev/null
mkdir -p "$(dirname "$OUT")"
cp "$TMP/plugin.wasm" "$OUT"
echo "$OUT: $(wc -c < "$OUT") bytes"
