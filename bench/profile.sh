#!/bin/bash
# Profile benchmark 1's session page on the event httpd: perf (cpu-clock, call graphs) on the
# worker processes while wrk loads the page, then a summary of where the samples went.
#
#   bench/profile.sh [OUT_DIR]                     this build
#   BENCH_MODULE=/path/other.so bench/profile.sh   another build (e.g. before a change)
#   PROFILE_PATH=/floor/page.html bench/profile.sh the floor (one memcached get, no session)
#   PROFILE_TRACE=1 bench/profile.sh               also count system calls (perf trace -s)
#
# Run it alone (see bench/README.md): it prints the load average first.  Writes
# OUT_DIR/perf.data, OUT_DIR/report.txt (perf report by symbol) and OUT_DIR/summary.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$(mktemp -d /tmp/shs-profile-XXXXXX)}
mkdir -p "$out"
secs=${PROFILE_SECONDS:-12}
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/summary.txt"

BENCH_NO_BUILD=1 /usr/bin/python3 "$here/bench.py" --serve $((secs + 40)) 1 > "$out/serve.txt" 2>&1 &
serve=$!
trap 'kill "$serve" 2>/dev/null; wait "$serve" 2>/dev/null || true' EXIT
for _ in $(seq 300); do grep -q '^session' "$out/serve.txt" && break; sleep 0.2; done
grep -q '^session' "$out/serve.txt" || { cat "$out/serve.txt" >&2; exit 1; }
pid=$(sed -n 's/^event httpd  pid \([0-9]*\),.*/\1/p' "$out/serve.txt")
port=$(sed -n 's/^event httpd  pid [0-9]*, 127.0.0.1:\([0-9]*\);.*/\1/p' "$out/serve.txt")
cookie=$(sed -n 's/^session      Cookie: //p' "$out/serve.txt")
workers=$(ps -o pid= --ppid "$pid" | tr -d ' ' | paste -sd,)
url="http://127.0.0.1:$port${PROFILE_PATH:-/shs/page.html}"

wrk -t2 -c32 -d2s -H "Host: a.test:$port" -H "Cookie: $cookie" "$url" > /dev/null   # warm-up
perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -o "$out/perf.data" -p "$workers" -- sleep "$secs" \
    2> "$out/perf-record.log" &
rec=$!
wrk -t2 -c32 -d"$((secs + 1))s" -H "Host: a.test:$port" -H "Cookie: $cookie" "$url" \
    | tee "$out/wrk.txt" | grep -E 'Requests/sec'
wait "$rec"
if [ -n "${PROFILE_TRACE:-}" ]; then
    # system calls per request: counts, not times, so not disturbed by the tracing itself
    perf trace -s -p "$workers" -o "$out/trace.txt" -- sleep 3 &
    rec=$!
    wrk -t2 -c32 -d4s -H "Host: a.test:$port" -H "Cookie: $cookie" "$url" > "$out/trace-wrk.txt"
    wait "$rec"
fi
perf report -i "$out/perf.data" --no-children --sort sym --stdio 2>/dev/null \
    | grep -v '^$' > "$out/report.txt"
perf report -i "$out/perf.data" --children --sort sym --stdio -g none 2>/dev/null \
    | grep -v '^$' > "$out/report-children.txt"
# (the summary's greps may find nothing, and head closes pipes early: not failures)
set +e +o pipefail
{
    echo "module: ${BENCH_MODULE:-this build}"
    grep -E 'Requests/sec' "$out/wrk.txt"
    echo "self time, top symbols:"
    grep -E '^ +[0-9]' "$out/report.txt" | head -15
    echo "inclusive time of the store and switch paths:"
    grep -E '^ +[0-9].*(finish_task_switch|futex|pthread_cond|__lll_lock|shs_store_get|shs_mcget_get|apr_memcache_getp|worker_main|shs_provider_load|schedule)' \
        "$out/report-children.txt" | head -20
    perf script -i "$out/perf.data" -F comm,ip,sym 2>/dev/null > "$out/stacks.txt"
    /usr/bin/python3 "$here/profile_stacks.py" "$out/stacks.txt"
    if [ -f "$out/trace.txt" ]; then
        # per request = per writev: each response of the 2 KB page is written by one writev
        # (perf trace attaches to the workers a little after wrk starts: wrk's count is no use)
        echo "system calls per request while traced (per writev: one per response):"
        awk '$1 ~ /^[a-z_0-9]+$/ && $2 ~ /^[0-9]+$/ { c[$1] += $2 }
            END { for (k in c) printf "  %6.2f %s\n", c[k] / c["writev"], k }' "$out/trace.txt" |
            sort -rn | head -12
    fi
} | tee -a "$out/summary.txt"
echo "written: $out"
