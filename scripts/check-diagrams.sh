#!/bin/sh
# The sequence diagrams: every docs/*.msc has its docs/*.svg, committed, the same as mscgen
# makes it now (regenerated into a temporary directory and compared), and shown by the README.
# `make docs` regenerates them.  Run by `make check`; without mscgen it is skipped (exit 77),
# and fails under CI=true.
set -eu
top=${top_srcdir:-$(dirname "$0")/..}
MSCGEN=${MSCGEN:-mscgen}

if ! command -v "$MSCGEN" > /dev/null 2>&1; then
    echo "check-diagrams: $MSCGEN not found: install the Debian package mscgen" >&2
    [ "${CI:-}" = "true" ] && exit 1
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
n=0
for msc in "$top"/docs/*.msc; do
    [ -e "$msc" ] || { echo "check-diagrams: no docs/*.msc" >&2; exit 1; }
    name=$(basename "$msc" .msc)
    n=$((n + 1))
    if ! "$MSCGEN" -T svg -o "$tmp/$name.svg" "$msc" > "$tmp/$name.log" 2>&1; then
        cat "$tmp/$name.log" >&2
        echo "check-diagrams: docs/$name.msc does not render" >&2
        failed=1
    elif [ ! -f "$top/docs/$name.svg" ]; then
        echo "check-diagrams: docs/$name.svg is missing: run make docs and commit it" >&2
        failed=1
    elif ! cmp -s "$tmp/$name.svg" "$top/docs/$name.svg"; then
        echo "check-diagrams: docs/$name.svg is not what docs/$name.msc renders now: run make docs" >&2
        failed=1
    fi
    if ! grep -q "](docs/$name.svg)" "$top/README"; then
        echo "check-diagrams: the README does not show docs/$name.svg" >&2
        failed=1
    fi
done
for svg in "$top"/docs/*.svg; do
    [ -e "$svg" ] || continue
    if [ ! -f "${svg%.svg}.msc" ]; then
        echo "check-diagrams: docs/$(basename "$svg") has no .msc source" >&2
        failed=1
    fi
done
[ "$failed" -eq 0 ] || exit 1
echo "diagrams: $n, each up to date with its source and shown in the README"
