#!/bin/sh
# Set up and run the whole test suite: packages, build, unit tests (cmocka), integration
# tests (real httpd + memcached + php-cgi).  Under CI=true a test whose component is missing
# fails instead of being skipped.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure --enable-werror
make -j"$(nproc)"
make check || { cat tests/unit/*.log 2>/dev/null | tail -50; exit 1; }
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@"
