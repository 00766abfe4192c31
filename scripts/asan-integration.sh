#!/bin/sh
# The integration suite once against the module built with AddressSanitizer + UBSan (out of
# tree, in build-asan/), the sanitizer runtime preloaded into httpd.  Fails on any report.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build-asan"
reports="$build/reports"
mkdir -p "$build" "$reports"
chmod 777 "$reports"   # httpd's children run as www-data
rm -f "$reports"/asan.*
# the module's own sources (src/*.c is exactly what goes into the DSO), compiled directly: a
# second autotools build would clash with the one in the source tree
cflags="-g -O1 -fPIC -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
# shellcheck disable=SC2046
gcc -std=gnu11 -shared $cflags -I"$top/src" -I"$(apxs -q INCLUDEDIR)" \
    $(apr-1-config --cppflags --includes) $(apu-1-config --includes) \
    "$top/mod_sharedsession.c" "$top"/src/*.c -o "$build/mod_sharedsession.so" \
    -fsanitize=address,undefined $(apu-1-config --link-ld) $(apr-1-config --link-ld) -lcrypto
runtime=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
export SHS_MODULE="$build/mod_sharedsession.so"
export SHS_HTTPD_PRELOAD="$runtime $ubsan"
# httpd keeps its pools until exit: leak reports would be noise
export ASAN_OPTIONS="detect_leaks=0:log_path=$reports/asan:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$reports/asan"
status=0
/usr/bin/python3 -m pytest -q -p no:cacheprovider "$top/tests/integration" "$@" || status=$?
if ls "$reports"/asan.* >/dev/null 2>&1; then
    echo "sanitizer reports:" >&2
    cat "$reports"/asan.* >&2
    exit 1
fi
echo "no sanitizer report"
exit $status
