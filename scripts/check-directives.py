#!/usr/bin/python3
"""The directive table of the code against the README and the reference configuration: run
by `make check`.

Fails, naming each problem, when a directive of a command_rec table (src/shs_cmd.c)
  - has no `### Name` description in the README's "Directive reference" section, or that
    description has no `Syntax:` line for it, or its `Context:` line disagrees with the code
    (directory and .htaccess: named exactly when the table allows an override; virtual host:
    named unless the handler refuses it with GLOBAL_ONLY);
  - has no link in the index at the top of that section, or the link's anchor is not its
    heading's;
  - is not in conf/sharedsession.conf as a commented-out line (`#Name ...`, or `#    Name ...`
    inside a commented-out block), or is there uncommented.
And, the other way, when the README or conf/sharedsession.conf names a directive of this
module that the table does not have.  The module's directives are recognised by the prefix
all of its directive names share (read from the table).
"""

import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shs_source as src  # noqa: E402

README = "README"
CONF = os.path.join("conf", "sharedsession.conf")
SECTION = "Directive reference"


def slug(heading):
    """The anchor GitHub and most markdown renderers give a heading."""
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


def reference_section(path):
    """(first line number, lines) of the README's directive reference section: from its
    heading to the next heading of the same rank (setext `---`/`===` or `#`/`##`)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    start = None
    for i, line in enumerate(lines):
        top_heading = (i + 1 < len(lines) and re.fullmatch(r"-{3,}|={3,}", lines[i + 1])
                       and line.strip()) or re.match(r"^#{1,2} ", line)
        if not top_heading:
            continue
        title = line.lstrip("#").strip()
        if start is None and title == SECTION:
            start = i
        elif start is not None and i > start + 1:
            return start + 1, lines[start:i]
    if start is None:
        return None, []
    return start + 1, lines[start:]


def common_prefix(names):
    p = os.path.commonprefix(names)
    return p if len(p) >= 3 else None


def check_readme(root, table, prefix, global_only, problems):
    first, lines = reference_section(os.path.join(root, README))
    if not lines:
        problems.append(f"{README}: no '{SECTION}' section")
        return
    headings = {}        # name -> (line number, body lines)
    current = None
    index_links = {}     # link text name -> (anchor, line number)
    for k, line in enumerate(lines):
        n = first + k
        m = re.match(r"^###\s+(.+?)\s*$", line)
        if m:
            current = m.group(1)
            if current in headings:
                problems.append(f"{README}:{n}: '### {current}' twice")
            headings[current] = (n, [])
            continue
        if current is None:
            for name, anchor in re.findall(r"\[`?([\w]+)`?\]\(#([\w-]+)\)", line):
                index_links[name] = (anchor, n)
        else:
            headings[current][1].append(line)
    names = {d["name"] for d in table}
    for d in table:
        name = d["name"]
        if name not in index_links:
            problems.append(f"{name} has no link in the index at the top of the {README} "
                            f"section '{SECTION}'")
        elif index_links[name][0] != slug(name):
            problems.append(f"{README}:{index_links[name][1]}: the index links {name} to "
                            f"#{index_links[name][0]}, its heading's anchor is #{slug(name)}")
        if name not in headings:
            problems.append(f"{name} ({os.path.relpath(d['file'], root)}:{d['line']}) has no "
                            f"'### {name}' description in the {README} section '{SECTION}'")
            continue
        n, body = headings[name]
        syntax = [b for b in body if re.match(r"^\s+Syntax:\s", b)]
        if not syntax or not any(re.match(r"^\s+Syntax:\s+" + re.escape(name) + r"(\s|$)", b)
                                 for b in syntax):
            problems.append(f"{README}:{n}: the description of {name} has no "
                            f"'Syntax:  {name} ...' line")
        context = next((b for b in body if re.match(r"^\s+Context:\s", b)), None)
        if context is None:
            problems.append(f"{README}:{n}: the description of {name} has no 'Context:' line")
        else:
            in_dir = re.search(r"\bOR_\w+", d["override"]) is not None
            in_vhost = d["handler"] not in global_only
            for word, allowed, why in ((".htaccess", in_dir, d["override"]),
                                       ("directory", in_dir, d["override"]),
                                       ("virtual host", in_vhost, f"{d['handler']}")):
                says = word in context
                if allowed != says:
                    problems.append(f"{README}:{n}: {name}: 'Context:' "
                                    f"{'names' if says else 'does not name'} {word}, the code "
                                    f"({why}) {'allows' if allowed else 'refuses'} it")
    for name, (n, _) in sorted(headings.items()):
        if prefix and name.startswith(prefix) and name not in names:
            problems.append(f"{README}:{n}: '### {name}' describes a directive the command "
                            f"table does not have")
    for name, (anchor, n) in sorted(index_links.items()):
        if prefix and name.startswith(prefix) and name not in names:
            problems.append(f"{README}:{n}: the index lists {name}, which the command table "
                            f"does not have")


def check_conf(root, table, prefix, problems):
    path = os.path.join(root, CONF)
    commented, active = {}, {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            # "#Name args", or "#    Name args" in a commented-out <Location> block
            m = re.match(r"^\s*#[#\s]*?(\w+)(\s|$)", line)
            if m:
                commented.setdefault(m.group(1), n)
                continue
            m = re.match(r"^\s*(\w+)(\s|$)", line)
            if m:
                active.setdefault(m.group(1), n)
    names = {d["name"] for d in table}
    for d in table:
        name = d["name"]
        if name in active:
            problems.append(f"{CONF}:{active[name]}: {name} is active; the reference "
                            f"configuration keeps every directive commented out")
        elif name not in commented:
            problems.append(f"{name} ({os.path.relpath(d['file'], root)}:{d['line']}) is "
                            f"missing from {CONF} (a commented '#{name} ...' line)")
    for name, n in sorted({**commented, **active}.items()):
        if prefix and name.startswith(prefix) and name not in names:
            problems.append(f"{CONF}:{n}: {name} is not a directive of the command table")


def main():
    root = src.top(sys.argv[0])
    try:
        table = src.directive_table(root)
        global_only = src.global_only_handlers(root, table)
    except src.SourceError as e:
        print(f"check-directives: {e}", file=sys.stderr)
        return 1
    problems = []
    if not table:
        problems.append("no directive found in a command_rec table: the parser is broken")
    seen = set()
    for d in table:
        if d["name"] in seen:
            problems.append(f"{d['name']} is twice in the command table")
        seen.add(d["name"])
    prefix = common_prefix([d["name"] for d in table])
    check_readme(root, table, prefix, global_only, problems)
    check_conf(root, table, prefix, problems)
    return src.report("check-directives", problems,
                      f"directives: {len(table)}, all described in {README} (indexed) and in "
                      f"{CONF}")


if __name__ == "__main__":
    sys.exit(main())
