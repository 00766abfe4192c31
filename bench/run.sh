#!/bin/bash
# mod_sharedsession benchmarks: one command runs them and writes bench/RESULTS.md.
#
#   bench/run.sh              all of them (about 12 minutes)
#   bench/run.sh 1 3          only benchmarks 1 and 3
#   bench/run.sh --quick      short runs, to check the suite itself (bench/RESULTS-quick.md)
#   bench/run.sh --out F      write the results elsewhere
#
# Needs: apache2, memcached, wrk, curl, libapache2-mod-php, php-memcached (Debian packages).
# Everything runs on 127.0.0.1 in a temporary ServerRoot; processes are started and stopped
# by pid.  BENCH_DURATION, BENCH_ROUNDS, BENCH_CONNS, BENCH_THREADS, BENCH_STREAM_BYTES
# and BENCH_KEEP=1 (keep the temp dir) tune a run; see bench/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
if [ -z "${BENCH_NO_BUILD:-}" ]; then
    make -C "$repo" -s >/dev/null || { echo "bench: make failed" >&2; exit 1; }
fi
exec /usr/bin/python3 "$here/bench.py" "$@"
