#!/usr/bin/python3
"""Where the context switches come from: read `perf script -F comm,ip,sym` of a profile taken
by bench/profile.sh and print, for the samples whose stack passes through a futex (sleeping
on or waking a lock or a condition variable), the first frames of httpd, APR or the module
that led there, as shares of all samples.  Also the shares of the samples inside the store
(shs_store_*, shs_mcget_*, apr_memcache_*, the store's worker threads)."""

import re
import sys
from collections import Counter

OURS = re.compile(r"(shs_|ap_|apr_|worker_main|listener|process_|event_|mc_)")


def main(path):
    total = futex = 0
    by_caller, store = Counter(), Counter()
    with open(path, errors="replace") as f:
        blocks = f.read().split("\n\n")
    for block in blocks:
        lines = [l.strip() for l in block.strip().splitlines() if l.strip()]
        if len(lines) < 2:
            continue
        total += 1
        syms = [(l.split(None, 1) + [""])[1] for l in lines[1:]]
        if any("futex" in s for s in syms[:14]):
            futex += 1
            chain = [s for s in syms if OURS.match(s)][:3]
            by_caller[" < ".join(chain) or "(no httpd frame)"] += 1
        for s in syms:
            m = re.match(r"(shs_store_get|shs_mcget_get|apr_memcache_getp|worker_main|"
                         r"shs_provider_load|shs_provider_save)\b", s)
            if m:
                store[m.group(1)] += 1
    print(f"samples: {total}; through a futex: {futex} ({futex / max(1, total) * 100:.1f} %)")
    print("futex samples by the first httpd/APR/module frames (share of all samples):")
    for k, v in by_caller.most_common(10):
        print(f"  {v / total * 100:5.1f} %  {k}")
    print("samples inside (inclusive, share of all samples):")
    for k, v in store.most_common():
        print(f"  {v / total * 100:5.1f} %  {k}")


if __name__ == "__main__":
    main(sys.argv[1])
