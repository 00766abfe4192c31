#!/usr/bin/python3
"""The latency figures of the fault tests, as a benchmark: reads tests/faults/last-run.json
(written by every run of tests/faults) and writes bench/FAULTS.md.  The tests assert order
and behaviour only; how long requests took while memcached was stalled, dead or gone is
measured there and reported here.

    load=$(cut -d' ' -f1-3 /proc/loadavg)
    /usr/bin/python3 -m pytest -q tests/faults && bench/faults-report.py "$load"

Run it alone on the machine, like the other benchmarks: the figures of a loaded machine are
the machine's."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(os.path.dirname(HERE), "tests", "faults", "last-run.json")
OUT = os.path.join(HERE, "FAULTS.md")

LATENCY_KEYS = ("stall_latency", "stall_latency_server_side", "baseline_latency",
                "dead_latency", "gone_latency", "killed_latency", "killed_latency_server_side")


def cell(v):
    return "-" if v is None else (f"{v:,.0f}" if isinstance(v, (int, float)) else str(v))


def main():
    with open(RUN) as f:
        data = json.load(f)
    cfg = data.get("config", {})
    tight = cfg.get("tight_bound_ms")
    out = ["# Fault scenarios: latency figures", "",
           f"From `tests/faults/last-run.json` ({len(data.get('scenarios', {}))} scenarios; "
           f"store timeout {cfg.get('timeout_ms')} ms, retry {cfg.get('retry_s')} s, "
           f"{cfg.get('connections')} connections, {cfg.get('processes')} processes x "
           f"{cfg.get('threads')} threads). Written by `bench/faults-report.py`; each "
           "scenario's own run time is given. See tests/faults/README.md for the scenarios; "
           f"'over {tight} ms' counts requests longer than the store timeout + 100 ms.", ""]
    if len(sys.argv) > 1:
        out += [f"Load average when the fault tests started: {sys.argv[1]}.", ""]
    for name, sc in sorted(data.get("scenarios", {}).items()):
        out += [f"## {name}", "", f"Recorded {sc.get('recorded_at', '?')}.", ""]
        rows = sc.get("rows") or []
        if rows:
            out += ["| phase | requests | ok | anon | wrong | p50 ms | p99 ms | max ms |",
                    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
            for r in rows:
                out.append(f"| {r['phase']} | {cell(r['requests'])} | {cell(r['ok'])} | "
                           f"{cell(r['anon'])} | {cell(r['wrong'])} | {cell(r['p50_ms'])} | "
                           f"{cell(r['p99_ms'])} | {cell(r['max_ms'])} |")
            out.append("")
        for key in LATENCY_KEYS:
            lat = sc.get(key)
            if not isinstance(lat, dict) or not lat:
                continue
            out += [f"{key.replace('_', ' ')}:", "",
                    "| class | requests | p50 ms | p99 ms | max ms | over the bound |",
                    "| --- | ---: | ---: | ---: | ---: | ---: |"]
            for cls, v in lat.items():
                if not isinstance(v, dict):
                    continue
                over = next((x for k, x in v.items() if k.startswith("over_")), None)
                out.append(f"| {cls} | {cell(v.get('requests'))} | {cell(v.get('p50_ms'))} | "
                           f"{cell(v.get('p99_ms'))} | {cell(v.get('max_ms'))} | {cell(over)} |")
            out.append("")
        for key in ("recovery", "growth", "graceful"):
            v = sc.get(key)
            if isinstance(v, dict):
                out.append(f"{key}: " + "; ".join(f"{k} = {x}" for k, x in v.items()
                                                  if not isinstance(x, (dict, list))))
                out.append("")
        if sc.get("problems"):
            out += ["Problems reported by the test: " + "; ".join(sc["problems"]), ""]
    with open(OUT, "w") as f:
        f.write("\n".join(out))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
