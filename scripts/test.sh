#!/bin/sh
# Set up and run the whole test suite: packages, build, unit tests (cmocka), integration
# tests (real httpd + memcached + php-cgi), memcached faults under load, end-to-end tests
# (real browsers), the Debian package.  Every suite runs; the exit code is non-zero when any
# of them failed.
# Under CI=true a test whose component is missing fails instead of being skipped.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure --enable-werror
make -j"$(nproc)"

failed=""
echo "== unit tests (make check)"
make check || { cat tests/unit/*.log 2>/dev/null | tail -50; failed="$failed unit"; }

echo "== unit tests under ASan + UBSan, and under valgrind"
make check-asan || failed="$failed asan"
make check-valgrind || failed="$failed valgrind"

echo "== fuzzing, a short run of each target"
make fuzz-smoke || failed="$failed fuzz"

echo "== integration tests"
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@" || failed="$failed integration"

echo "== the provider, push and pull tests again, on the embedded store (SharedSessionStore shm)"
SHS_STORE=shm /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration/test_provider.py \
    tests/integration/test_push.py tests/integration/test_pull.py "$@" || failed="$failed integration-shm"

echo "== faults under load"
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/faults || failed="$failed faults"

echo "== end-to-end tests"
if [ ! -d tests/e2e/node_modules ] || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules ]; then
    npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error
    touch tests/e2e/node_modules
fi
# time limits doubled: a CI machine may be slower than a developer's
SHS_E2E_SLOW=${SHS_E2E_SLOW:-2} node tests/e2e/run.mjs || failed="$failed e2e"

echo "== Debian package"
# built with scripts/build-deb.sh, installed into this machine's Apache, used by two sites,
# purged; /etc/apache2 restored as found (tests/package/test_package.sh says what it checks)
tests/package/test_package.sh || failed="$failed package"

if [ -n "$failed" ]; then
    echo "FAILED suites:$failed" >&2
    exit 1
fi
