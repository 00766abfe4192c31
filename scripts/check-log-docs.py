#!/usr/bin/python3
"""docs/log-messages.md against the code: run by `make check`.

Fails, naming each problem, when
  - a tag the code logs at notice or above has no row in the tables of docs/log-messages.md;
  - a row names a tag that no call of the code logs at notice or above (gone, or now quieter);
  - a row's Level column does not list exactly the levels the code can log its tag at;
  - a call that can log at notice or above has no SHSnnnnn tag, or a tag has two rows.
The levels are read from each ap_log_* call however it is written (see shs_source.py).
"""

import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shs_source as src  # noqa: E402

DOC = os.path.join("docs", "log-messages.md")
ROW_RE = re.compile(r"^\|\s*`?(SHS\d{5})`?\s*\|([^|]*)\|")


def doc_rows(path):
    rows, problems = {}, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = ROW_RE.match(line)
            if not m:
                continue
            tag = m.group(1)
            levels = set(re.findall(r"\b(" + "|".join(src.LEVELS) + r")\b", m.group(2)))
            if tag in rows:
                problems.append(f"{DOC}:{n}: {tag} has a second row")
            if not levels:
                problems.append(f"{DOC}:{n}: {tag}: no level in the Level column")
            rows[tag] = (levels, n)
    return rows, problems


def main():
    root = src.top(sys.argv[0])
    try:
        calls = src.log_calls(root)
    except src.SourceError as e:
        print(f"check-log-docs: {e}", file=sys.stderr)
        return 1
    code = {}
    problems = []
    for c in calls:
        if not src.at_least(c["levels"]):
            continue
        where = f"{os.path.relpath(c['file'], root)}:{c['line']}"
        if not c["tag"]:
            problems.append(f"{where}: a call at {'/'.join(sorted(c['levels']))} without an "
                            f"SHSnnnnn tag")
            continue
        code.setdefault(c["tag"], [set(), where])[0].update(c["levels"])
    if not code:
        problems.append("no log call at notice or above found: the parser is broken")
    rows, doc_problems = doc_rows(os.path.join(root, DOC))
    problems += doc_problems
    for tag, (levels, where) in sorted(code.items()):
        if tag not in rows:
            problems.append(f"{tag} ({where}, {', '.join(sorted(levels, key=src.LEVELS.index))})"
                            f" is missing from {DOC}")
        elif rows[tag][0] != levels:
            problems.append(f"{DOC}:{rows[tag][1]}: {tag} says "
                            f"{', '.join(sorted(rows[tag][0], key=src.LEVELS.index))}, the code "
                            f"({where}) logs it at "
                            f"{', '.join(sorted(levels, key=src.LEVELS.index))}")
    for tag, (_, n) in sorted(rows.items()):
        if tag not in code:
            quieter = [c for c in calls if c["tag"] == tag]
            why = ("is logged below notice now" if quieter else "is not logged by the code")
            problems.append(f"{DOC}:{n}: {tag} {why}")
    return src.report("check-log-docs", problems,
                      f"log tags at notice or above: {len(code)}, all in {DOC} with their levels")


if __name__ == "__main__":
    sys.exit(main())
