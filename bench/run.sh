#!/bin/bash
# mod_sharedsession benchmarks: one command runs them and writes bench/RESULTS.md.
#
#   bench/run.sh                    all of them (about 15 minutes)
#   bench/run.sh 1 3                only benchmarks 1 and 3
#   bench/run.sh --wait-quiet 600   first wait (at most 600 s) for load average <= 1
#   bench/run.sh --quick            short runs, to check the suite itself (bench/RESULTS-quick.md)
#   bench/run.sh --out F            write the results elsewhere
#
# Run it alone: it records the machine's state (load average, CPU steal, busy processes) and
# writes bench/RESULTS-draft.md instead of RESULTS.md when the machine was not quiet at the
# start.  It installs what it needs (scripts/debian-packages.txt, bench/debian-packages.txt)
# when missing, and builds the module.  Everything runs on 127.0.0.1 in a temporary
# ServerRoot; processes are started and stopped by pid.  BENCH_DURATION, BENCH_ROUNDS,
# BENCH_CONNS, BENCH_THREADS, BENCH_STREAM_BYTES and BENCH_KEEP=1 (keep the temp dir) tune a
# run; see bench/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
"$repo/scripts/install-deps.sh"
"$repo/scripts/install-deps.sh" "$here/debian-packages.txt"
if [ -z "${BENCH_NO_BUILD:-}" ]; then
    (cd "$repo" && { [ -x configure ] || autoreconf -fi; } && { [ -f Makefile ] || ./configure; } &&
        make -s >/dev/null) || { echo "bench: the build failed" >&2; exit 1; }
fi
exec /usr/bin/python3 "$here/bench.py" "$@"
