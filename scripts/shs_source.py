"""Reading the module's C sources for the drift checks of `make check`.

Not a C parser: enough of C's lexical rules (comments, string and character literals,
balanced brackets) to find the module's directive table and its log calls however they are
written (a call over several lines, adjacent string literals, macros between them).  Whatever
cannot be read with certainty is reported as an error, never guessed.
"""

import glob
import os
import re
import sys

LEVELS = ("emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
          "trace1", "trace2", "trace3", "trace4", "trace5", "trace6", "trace7", "trace8")
# httpd's APLOG_* constant -> the word LogLevel and the error log use
APLOG_WORD = {
    "APLOG_EMERG": "emerg", "APLOG_ALERT": "alert", "APLOG_CRIT": "crit",
    "APLOG_ERR": "error", "APLOG_WARNING": "warn", "APLOG_NOTICE": "notice",
    "APLOG_INFO": "info", "APLOG_DEBUG": "debug",
}
APLOG_WORD.update({f"APLOG_TRACE{i}": f"trace{i}" for i in range(1, 9)})
APLOG_RE = re.compile(r"\b(" + "|".join(sorted(APLOG_WORD, key=len, reverse=True)) + r")\b")

# ap_log_* functions: index of the format argument (APLOG_MARK counts as one argument)
LOG_FUNCS = {"ap_log_error": 4, "ap_log_rerror": 4, "ap_log_perror": 4, "ap_log_cerror": 4,
             "ap_log_cserror": 5}
LOG_CALL_RE = re.compile(r"\b(" + "|".join(LOG_FUNCS) + r")\s*\(")
TAG_RE = re.compile(r"^(SHS\d{5})\b")
APLOGNO_RE = re.compile(r"\bAPLOGNO\s*\(\s*(\w+)\s*\)")


class SourceError(Exception):
    """Something the checks cannot read with certainty."""


def top(argv0):
    """The source tree: $top_srcdir (make check), else the script's parent directory."""
    return os.environ.get("top_srcdir") or os.path.join(os.path.dirname(os.path.abspath(argv0)),
                                                        "..")


def module_sources(root):
    """The C files of the module: the entry file and src/*.c."""
    files = [os.path.join(root, "mod_sharedsession.c")]
    files += sorted(glob.glob(os.path.join(root, "src", "*.c")))
    return [f for f in files if os.path.exists(f)]


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def strip_comments(text):
    """The text with every comment replaced by spaces (newlines kept, so offsets and line
    numbers stay right); string and character literals are left as they are."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:end]))
            i = end
        elif c == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif c in "\"'":
            end = skip_literal(text, i)
            out.append(text[i:end])
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out)


def blank_literals(text):
    """The text with the contents of string and character literals replaced by spaces (same
    length): what is searched for code, so that code quoted in a string is not taken for code."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text[i] in "\"'":
            end = skip_literal(text, i)
            out.append(text[i] + " " * max(0, end - i - 2) + (text[end - 1] if end - i > 1 else ""))
            i = end
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def skip_literal(text, i):
    """Offset just after the string or character literal that starts at text[i]."""
    quote, j, n = text[i], i + 1, len(text)
    while j < n:
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == quote or text[j] == "\n":
            return j + 1
        j += 1
    return n


def split_args(text, open_paren):
    """The top-level arguments of the call whose '(' is at text[open_paren], as stripped
    strings, and the offset after its ')'."""
    depth, i, n, start, args = 0, open_paren, len(text), open_paren + 1, []
    while i < n:
        c = text[i]
        if c in "\"'":
            i = skip_literal(text, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append(text[start:i].strip())
                return args, i + 1
        elif c == "," and depth == 1:
            args.append(text[start:i].strip())
            start = i + 1
        i += 1
    raise SourceError("unbalanced parentheses")


def in_directive(text, offset):
    """Is text[offset] part of a preprocessor line (continuations included)?"""
    start = text.rfind("\n", 0, offset) + 1
    while start > 1 and text[start - 2] == "\\":
        start = text.rfind("\n", 0, start - 1) + 1
    return text[start:offset].lstrip().startswith("#")


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def literals(expr):
    """The contents of the string literals of an expression, concatenated (what C does with
    adjacent literals; macros between them, such as APR_SIZE_T_FMT, are left out)."""
    parts, i = [], 0
    while i < len(expr):
        if expr[i] == '"':
            end = skip_literal(expr, i)
            parts.append(expr[i + 1:end - 1])
            i = end
        elif expr[i] == "'":
            i = skip_literal(expr, i)
        else:
            i += 1
    return "".join(parts)


def defines(text):
    """Object-like #define NAME value lines of a file (comments already stripped)."""
    out = {}
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+(.*(?:\\\n.*)*)$", text, re.M):
        out[m.group(1)] = m.group(2).replace("\\\n", " ").strip()
    return out


def functions(text):
    """Function definitions of a file: name -> (offset of the body's '{', offset after '}').
    A definition is a name and a parameter list at file level followed by a '{'."""
    out = {}
    depth, i, n, m, start = 0, 0, len(text), None, 0
    while i < n:
        c = text[i]
        if c in "\"'":
            i = skip_literal(text, i)
            continue
        if c == "{":
            if depth == 0:
                head = text[max(0, text.rfind(";", 0, i), text.rfind("}", 0, i)):i]
                m = re.search(r"(\w+)\s*\([^;{}]*\)\s*$", head)
                start = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0 and m:
                out[m.group(1)] = (start, i + 1)
                m = None
        i += 1
    return out


def enclosing_function(funcs, offset):
    for name, (start, end) in funcs.items():
        if start <= offset < end:
            return name, start, end
    return None, 0, 0


# ------------------------------------------------------------------ directives

def directive_table(root):
    """The directives of every command_rec array of the module, in table order:
    a list of dicts with name, macro (AP_INIT_*), handler, override (expanded), file, line."""
    out = []
    for path in module_sources(root):
        text = strip_comments(read(path))
        code = blank_literals(text)
        defs = defines(text)
        for m in re.finditer(r"\bcommand_rec\s+\w+\s*\[\s*\w*\s*\]\s*=\s*\{", code):
            _, body_end = split_args(text, m.end() - 1)
            for call in re.finditer(r"\b(AP_INIT_\w+)\s*\(", code[m.end():body_end]):
                at = m.end() + call.end() - 1
                args, _ = split_args(text, at)
                if len(args) < 4:
                    raise SourceError(f"{path}:{line_of(text, at)}: {call.group(1)} with "
                                      f"{len(args)} arguments")
                name = literals(args[0])
                if not name or not re.fullmatch(r"[A-Za-z][\w]*", name):
                    raise SourceError(f"{path}:{line_of(text, at)}: cannot read the directive "
                                      f"name in {args[0]!r}")
                override = args[3]
                for _ in range(5):  # expand macros such as PER_DIR
                    expanded = re.sub(r"\b\w+\b", lambda t: defs.get(t.group(0), t.group(0)),
                                      override)
                    if expanded == override:
                        break
                    override = expanded
                out.append({"name": name, "macro": call.group(1), "handler": args[1],
                            "override": override, "file": path, "line": line_of(text, at)})
    return out


def global_only_handlers(root, table):
    """The handlers of the table that refuse a <VirtualHost> (ap_check_cmd_context with
    GLOBAL_ONLY, directly or through a function of the same file they call)."""
    bodies = {}
    for path in module_sources(root):
        text = strip_comments(read(path))
        for name, (start, end) in functions(text).items():
            bodies.setdefault(name, text[start:end])
    helpers = {n for n, b in bodies.items() if re.search(r"\bGLOBAL_ONLY\b", b)}
    out = set()
    for d in table:
        body = bodies.get(d["handler"])
        if body is None:
            raise SourceError(f"{d['file']}:{d['line']}: the handler {d['handler']} of "
                              f"{d['name']} is not defined in the module's sources")
        if re.search(r"\bGLOBAL_ONLY\b", body) or any(
                re.search(r"\b" + re.escape(h) + r"\s*\(", body) for h in helpers):
            out.add(d["handler"])
    return out


# ------------------------------------------------------------------ log calls

def _levels_of(expr, text, funcs, call_offset, path, line):
    """The log levels an ap_log_* level argument can have."""
    found = {APLOG_WORD[w] for w in APLOG_RE.findall(expr)}
    if found:
        return found
    m = re.fullmatch(r"(\w+)\s*\((.*)\)", expr, re.S)
    if m and m.group(1) in funcs:
        # a function of the same file that returns the level: every APLOG_* it names
        start, end = funcs[m.group(1)]
        found = {APLOG_WORD[w] for w in APLOG_RE.findall(text[start:end])}
    elif re.fullmatch(r"\w+", expr):
        # a variable: every APLOG_* assigned to it in the enclosing function
        _, start, end = enclosing_function(funcs, call_offset)
        for a in re.finditer(r"\b" + re.escape(expr) + r"\s*=(?!=)([^;]*);", text[start:end]):
            found |= {APLOG_WORD[w] for w in APLOG_RE.findall(a.group(1))}
    if not found:
        raise SourceError(f"{path}:{line}: cannot tell the log level of {expr!r}: write it as "
                          f"APLOG_*, a ?: of them, a variable assigned from them or a function "
                          f"of the same file that returns them")
    return found


def log_calls(root):
    """Every ap_log_* call of the module: a list of dicts with tag (or None), levels (set of
    LogLevel words), message (the format's literals), file, line."""
    out = []
    for path in module_sources(root):
        text = strip_comments(read(path))
        funcs = functions(text)
        for m in LOG_CALL_RE.finditer(blank_literals(text)):
            line = line_of(text, m.start())
            if in_directive(text, m.start()):
                raise SourceError(f"{path}:{line}: {m.group(1)} inside a preprocessor "
                                  f"directive: the checks cannot follow a logging macro; "
                                  f"call ap_log_* directly")
            args, _ = split_args(text, m.end() - 1)
            fmt_at = LOG_FUNCS[m.group(1)]
            if len(args) <= fmt_at:
                raise SourceError(f"{path}:{line}: {m.group(1)} with {len(args)} arguments")
            flags = re.sub(r"\bAPLOG_(STARTUP|NOERRNO|TOCLIENT)\b", "", args[1])
            flags = re.sub(r"^\s*\|\s*|\s*\|\s*$", "", flags.strip())
            levels = _levels_of(flags, text, funcs, m.start(), path, line)
            fmt = args[fmt_at]
            message = literals(fmt)
            tag = None
            t = TAG_RE.match(message)
            if t:
                tag = t.group(1)
            else:
                n = APLOGNO_RE.search(fmt)
                if n:
                    tag = "AH" + n.group(1)
            out.append({"tag": tag, "levels": levels, "message": message, "file": path,
                        "line": line})
    return out


def at_least(levels, threshold="notice"):
    """Is one of the levels the threshold or more severe?"""
    limit = LEVELS.index(threshold)
    return any(LEVELS.index(lv) <= limit for lv in levels)


# ------------------------------------------------------------------ the checks' verdict

def report(tool, problems, ok_message):
    """Print each problem as `tool: problem` on stderr and return 1, or print the one line
    of a pass and return 0: the exit status of a check."""
    for p in problems:
        print(f"{tool}: {p}", file=sys.stderr)
    if problems:
        return 1
    print(ok_message)
    return 0
