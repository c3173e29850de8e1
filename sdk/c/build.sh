#!/bin/sh
# build.sh: build a sluice plugin written in C with sluice.h.
#
#   sdk/c/build.sh                                  # the example
#   sdk/c/build.sh SRC.c MANIFEST.json OUT.wasm     # your plugin
#
# Compiles SRC.c as a WASI reactor (clang --target=wasm32-wasi
# -mexec-model=reactor, wasi-libc linked but nothing of it imported), then
# writes MANIFEST.json into OUT.wasm's sluice.manifest section with
# `sluice plugin manifest set`, which validates it. The output is
# deterministic: the same sources and toolchain give the same bytes from
# any directory (no debug info, no names, no producers section, no paths).
#
# Environment:
#   CC            the compiler (default clang; clang 14 or newer)
#   WASI_SYSROOT  a wasi-libc sysroot when the compiler has no default one
#                 (Debian's clang + wasi-libc packages do; wasi-sdk ships
#                 its own; /usr/share/wasi-sysroot on some distributions)
#   SLUICE        the sluice binary (default: sluice on PATH, else
#                 bin/sluice of the repository this script is in)
#   CFLAGS        extra compiler flags, appended
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -eq 0 ]; then
	set -- "$here/example/customer_id_mask.c" "$here/example/manifest.json" "$here/example/customer-id-mask.wasm"
fi
if [ $# -ne 3 ]; then
	echo "usage: $0 [SRC.c MANIFEST.json OUT.wasm]" >&2
	exit 2
fi
src=$1 manifest=$2 out=$3

CC=${CC:-clang}
if [ -z "${SLUICE:-}" ]; then
	if command -v sluice >/dev/null 2>&1; then
		SLUICE=sluice
	elif [ -x "$here/../../bin/sluice" ]; then
		SLUICE=$here/../../bin/sluice
	else
		echo "$0: no sluice binary: set SLUICE=/path/to/sluice (go build -o bin/sluice ./gateway/cmd/sluice)" >&2
		exit 2
	fi
fi
sysroot=
if [ -n "${WASI_SYSROOT:-}" ]; then
	sysroot="--sysroot=$WASI_SYSROOT"
fi

# -mexec-model=reactor  a WASI reactor: exports _initialize, never _start
# -mbulk-memory         memcpy/memset become memory.copy/memory.fill (core
#                       2.0) instead of pulling libc's versions in
# -I "$here"            #include "sluice.h" from anywhere
# -ffile-prefix-map     no build path can leak into the module
# --strip-all           no debug info, name or producers section: small and
#                       the same bytes wherever it is built
# shellcheck disable=SC2086
"$CC" --target=wasm32-wasi $sysroot -mexec-model=reactor -mbulk-memory \
	-O2 -std=c11 -Wall -Wextra -Werror \
	-I "$here" -ffile-prefix-map="$here"=sdk/c \
	-Wl,--strip-all -Wl,-z,stack-size=65536 \
	${CFLAGS:-} -o "$out" "$src"
"$SLUICE" plugin manifest set "$out" "$manifest"
chmod 0644 "$out" # the linker marks it executable; it is not, and git records the mode
