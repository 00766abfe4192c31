#!/usr/bin/python3
"""conf/grafana-sharedsession.json against the metrics the module emits: run by `make check`.

The metrics the module emits are read from the code:
  - the status page's counters as src/shs_stats.c renders them, printed by the helper
    tests/unit/dump_metrics (built by `make check`), metric and label names;
  - the other `# TYPE` lines and samples written as string literals in the module's sources
    (the embedded store's lines in src/shs_backend.c).
Fails, naming the panel and the name, when a PromQL expression of the dashboard (panels and
template variables) uses a metric the module does not emit, or a label that none of the
expression's metrics has (Prometheus' own `job` and `instance` are always there); and when the
dashboard has no Prometheus datasource variable or a panel or query does not use it.
"""

import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shs_source as src  # noqa: E402

DASHBOARD = os.path.join("conf", "grafana-sharedsession.json")
SCRAPE_LABELS = {"job", "instance", "__name__"}
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                   "and", "or", "unless", "offset", "inf", "nan", "atan2"}
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"


def exposition_lines(text, types, samples):
    """Read Prometheus text: '# TYPE name type' lines into types, 'name{labels} value' lines
    into samples (name -> label names)."""
    for line in text.split("\n"):
        line = line.strip()
        while line.startswith("%s"):       # apr_psprintf(p, "%s...", out, ...) accumulates
            line = line[2:]
        m = re.search(r"# TYPE (\S+) (\w+)", line)
        if m:
            types.add(m.group(1))
            continue
        m = re.match(r"^(" + NAME + r")(?:\{(.*)\})?\s+\S", line)
        if m and not line.startswith("#"):
            samples.setdefault(m.group(1), set()).update(
                re.findall(r"(" + NAME + r")\s*=", m.group(2) or ""))


def literal_groups(text):
    """Adjacent string literals of a C text joined (macros between them skipped), unescaped."""
    groups, cur, i, last_end = [], [], 0, None
    while i < len(text):
        c = text[i]
        if c == '"':
            if cur and not re.fullmatch(r"[\s\w]*", text[last_end:i]):
                groups.append("".join(cur))
                cur = []
            end = src.skip_literal(text, i)
            cur.append(text[i + 1:end - 1])
            last_end = i = end
        elif c == "'":
            i = src.skip_literal(text, i)
        else:
            i += 1
    if cur:
        groups.append("".join(cur))
    return [g.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\") for g in groups]


def emitted(root, builddir):
    """Metric name -> its label names, for every metric the module declares with # TYPE."""
    types, samples = set(), {}
    helper = os.path.join(builddir, "tests", "unit", "dump_metrics")
    try:
        out = subprocess.run([helper], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as e:
        raise src.SourceError(f"cannot run {helper} (built by `make check`): {e}")
    exposition_lines(out.stdout, types, samples)
    if not types:
        raise src.SourceError(f"{helper} printed no metric")
    rendered = set(types)
    for path in src.module_sources(root):
        for group in literal_groups(src.strip_comments(src.read(path))):
            exposition_lines(group, types, samples)
    for t in sorted(n for n in types if "%" in n):
        pattern = re.escape(t).replace("%s", ".+").replace("%d", "[0-9]+").replace("%u", "[0-9]+")
        if not any(re.fullmatch(pattern, m) for m in rendered):
            raise src.SourceError(f"the sources declare the metric name {t!r}, which matches "
                                  f"none that {helper} prints: extend it to render that part")
    return {n: samples.get(n, set()) for n in types if "%" not in n}


def promql_names(expr):
    """(metric names, label names) an expression uses."""
    labels = set()
    e = re.sub(r"\$\{?\w+(?::\w+)?\}?|\[\[\w+\]\]", " ", expr)        # Grafana variables
    for body in re.findall(r"\{([^}]*)\}", e):                       # label matchers
        labels |= set(re.findall(r"(" + NAME + r")\s*(?:=~|!~|!=|=)", body))
    e = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', " ", e)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)                                # ranges, subqueries
    for kw in ("by", "without", "on", "ignoring", "group_left", "group_right"):
        for body in re.findall(r"\b" + kw + r"\s*\(([^)]*)\)", e):
            labels |= set(re.findall(NAME, body))
        e = re.sub(r"\b" + kw + r"\s*\([^)]*\)", " ", e)
    e = re.sub(r"\boffset\s+\S+", " ", e)
    metrics = set()
    for m in re.finditer(r"(?<![\w.])(" + NAME + r")(\s*\()?", e):
        if m.group(2) or m.group(1).lower() in PROMQL_KEYWORDS:
            continue
        metrics.add(m.group(1))
    return metrics, labels


def queries(dash):
    """(where, PromQL, datasource) of every panel target and template variable query."""
    out = []

    def panels(items):
        for p in items:
            title = p.get("title") or f"panel {p.get('id')}"
            for t in p.get("targets", []):
                if "expr" in t:
                    out.append((f"panel '{title}'", t["expr"], t.get("datasource",
                                                                       p.get("datasource"))))
            panels(p.get("panels", []))         # a collapsed row holds its panels
    panels(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"\s*label_values\(\s*(?:(.*),)?\s*(" + NAME + r")\s*\)\s*", q or "")
        if m:
            sel = m.group(1) or ""
            out.append((f"variable '{v.get('name')}'", f"{sel} by ({m.group(2)})" if sel
                        else f"by ({m.group(2)})", v.get("datasource")))
        elif q:
            out.append((f"variable '{v.get('name')}'", q, v.get("datasource")))
    return out


def datasource_uid(ds):
    return ds.get("uid") if isinstance(ds, dict) else ds


def main():
    root = src.top(sys.argv[0])
    builddir = os.environ.get("top_builddir") or root
    problems = []
    try:
        metrics = emitted(root, builddir)
    except src.SourceError as e:
        print(f"check-dashboard: {e}", file=sys.stderr)
        return 1
    path = os.path.join(root, DASHBOARD)
    try:
        with open(path, encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        print(f"check-dashboard: {DASHBOARD}: {e}", file=sys.stderr)
        return 1
    dsvars = [v["name"] for v in dash.get("templating", {}).get("list", [])
              if v.get("type") == "datasource" and v.get("query") == "prometheus"]
    if not dsvars:
        problems.append(f"{DASHBOARD}: no datasource variable (type datasource, query "
                        f"prometheus)")
    allowed_ds = {f"${{{n}}}" for n in dsvars} | {f"${n}" for n in dsvars}
    found = queries(dash)
    if not found:
        problems.append(f"{DASHBOARD}: no PromQL expression found")
    used = set()
    for where, expr, ds in found:
        if datasource_uid(ds) not in allowed_ds:
            problems.append(f"{DASHBOARD}: {where}: datasource {datasource_uid(ds)!r} is not the "
                            f"datasource variable ({', '.join(sorted(allowed_ds)) or 'none'})")
        names, labels = promql_names(expr)
        if not names and not where.startswith("variable"):
            problems.append(f"{DASHBOARD}: {where}: no metric in {expr!r}")
        have = set(SCRAPE_LABELS)
        for n in sorted(names):
            if n not in metrics:
                problems.append(f"{DASHBOARD}: {where}: {n} is not a metric the module emits "
                                f"({expr})")
            else:
                have |= metrics[n]
                used.add(n)
        for lb in sorted(labels - have):
            problems.append(f"{DASHBOARD}: {where}: label '{lb}' is on none of "
                            f"{', '.join(sorted(names)) or 'its metrics'} ({expr})")
    for p in problems:
        print(f"check-dashboard: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"dashboard: {len(found)} queries, {len(used)} of the {len(metrics)} metrics the "
          f"module emits, all known")
    return 0


if __name__ == "__main__":
    sys.exit(main())
