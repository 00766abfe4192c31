#!/bin/bash
# Instructions per call of a core function, by callgrind (not affected by the machine's load):
# the driver bench/core-cost.c runs it N and 3N times; (count(3N) - count(N)) / 2N is printed.
#
#   bench/core-cost.sh store-key      shs_id_store_key
#   bench/core-cost.sh aead           shs_aead_seal + shs_aead_open
#   bench/core-cost.sh value-open     shs_value_open of a MAC-sealed 200-byte session
#   CORE_LIB=../before/.libs/libshs_core.a bench/core-cost.sh aead    another build
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
lib=${CORE_LIB:-$repo/.libs/libshs_core.a}
what=${1:?store-key, aead or value-open}
n=${2:-1000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -I "$repo/src" -I "$repo" $(pkg-config --cflags apr-1) "$here/core-cost.c" "$lib" \
    $(pkg-config --libs apr-1) -lcrypto -lpthread -o "$work/core-cost"
count() {
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.$1" "$work/core-cost" "$what" "$1" \
        2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
a=$(count "$n")
b=$(count $((3 * n)))
echo "$what: $(( (b - a) / (2 * n) )) instructions per call ($lib)"
