"""Helpers of the faults-under-load tests: the httpd configuration, the sessions, the request
mixes, the analysis of the records, the summary table and tests/faults/last-run.json."""

import concurrent.futures
import json
import os
import re
import secrets
import time
from collections import Counter

import pyshs as H
import loadgen as L

pct, ms = L.pct, L.ms

HERE = os.path.dirname(os.path.abspath(__file__))
LAST_RUN = os.path.join(HERE, "last-run.json")

# ------------------------------------------------------------------ parameters

TIMEOUT_MS = 250                 # SharedSessionMemcacheTimeout
RETRY_S = 1.0                    # SharedSessionMemcacheRetry
TIMEOUT = TIMEOUT_MS / 1000.0
TIGHT = TIMEOUT + 0.100          # the target: measured and printed, never asserted
RECOVERY_BOUND = 10.0            # recovery polls are bounded by this (and asserted <= it)
RECOVERY_TARGET = 2.0            # the target: printed only
CONNECTIONS = 64                 # concurrent keep-alive connections (one per client thread)
CGI_THREADS = 4                  # of them: shell-CGI whoami reads (env.cgi) and writes (set.cgi);
                                 # the others read the light whoami (no fork: 2 CPUs)
NSESSIONS = 50
PROCESSES, THREADS = 4, 25       # 100 httpd workers for 64 connections
MAX_PER_THREAD = 5000            # count bound of every client thread (time bound: the deadline)
CLIENT_TIMEOUT = 15.0            # a request not answered in 15 s is a client timeout

LIGHT_PAGE = "who.txt"           # static page; mod_headers echoes HTTP_SESSION (no fork)
DIR_503 = '<Directory "{docroot}/sub">\n    SharedSessionStoreDown 503\n</Directory>\n'
VHOST_COMMON = (
    '# the light whoami: the session as mod_session hands it to the application (SessionEnv),\n'
    f'# echoed in a header so that no process is forked\n'
    f'Header always set {L.SESSION_HEADER} "%{{HTTP_SESSION}}e"\n'
    '<Location /shs-status>\n    SetHandler sharedsession-status\n</Location>\n')
TIMING_LOG = "logs/timing.log"    # per request: start (us since the epoch), time taken (us),
                                 # status, path, pid, tid, the session the page was given
# SHS_FAULTS_LOGLEVEL=debug (or trace8) raises the module's log level, to diagnose a run
LOGLEVEL = os.environ.get("SHS_FAULTS_LOGLEVEL", "info")
GLOBAL_COMMON = ("KeepAlive On\nMaxKeepAliveRequests 0\nKeepAliveTimeout 30\n"
                 f"LogLevel warn sharedsession:{LOGLEVEL}\n"
                 f'LogFormat "%{{usec}}t %D %>s %U %P %{{tid}}P %{{{L.SESSION_HEADER}}}o" '
                 'shstiming\n'
                 f"CustomLog {TIMING_LOG} shstiming\n")


def httpd_opts(policy_dir=False, timeout_ms=TIMEOUT_MS, extra_global=""):
    return dict(timeout=f"{timeout_ms}ms", retry=f"{int(RETRY_S)}s", processes=PROCESSES,
                threads=THREADS, global_conf=GLOBAL_COMMON + extra_global,
                vhost_conf=VHOST_COMMON + (DIR_503 if policy_dir else ""),
                files={LIGHT_PAGE: "light whoami\n", "sub/" + LIGHT_PAGE: "light whoami\n"})


# ------------------------------------------------------------------ sessions

class Sessions:
    """NSESSIONS sessions made through the app (set.cgi), each k=<n>&d=<random>.  `mc` reads
    a session as the store holds it: anything with get(key) (a memcached client, a
    ReplicaReader), or None for the embedded store, whose sessions are read through the
    module (ThroughModule)."""

    def __init__(self, httpd, mc, n=NSESSIONS):
        self.httpd = httpd
        self.mc = mc if mc is not None else ThroughModule(self)
        self.ids = [None] * n
        self.data = [None] * n        # {k:.., d:..}
        self.raw = [None] * n         # the encoded value as memcached holds it
        self.setup_retries = 0
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            list(ex.map(self._make, range(n)))
        if self.setup_retries:
            print(f"--- setup: {self.setup_retries} session creation(s) retried (store timeout "
                  f"of a fresh process; see the error log)")
        for i in range(n):
            self.raw[i] = self.mc.get(H.store_key(self.ids[i]))
            assert H.decode_session(self.raw[i]) == self.data[i], (i, self.raw[i], self.data[i])

    def _make(self, i):
        """Setup, not under test: on this loaded machine a store operation of a fresh process
        can miss the 250 ms timeout (no cookie then, SHS00113 at info); that process's breaker
        is open for the retry interval, so try again after it (at most 5 times)."""
        tok = secrets.token_hex(6)
        self.data[i] = {"k": str(i), "d": tok}
        for attempt in range(5):
            r = self.httpd.request("GET", f"/set.cgi?k={i}&d={tok}", headers={"Host": "a.test"},
                                   timeout=30)
            assert r.status == 200, r
            sc = r.set_cookies(H.COOKIE)
            if sc:
                self.ids[i] = H.parse_set_cookie(sc[0])[1]
                return
            self.setup_retries += 1
            time.sleep(RETRY_S + 0.1)
        raise AssertionError(f"session {i}: no session cookie after 5 attempts: {r}")

    def __len__(self):
        return len(self.ids)

    def read_light(self, i, timeout=10):
        """(status, session string or None) of the light whoami, fresh connection."""
        r = self.httpd.request("GET", "/" + LIGHT_PAGE,
                               headers={"Host": "a.test", "Cookie": f"{H.COOKIE}={self.ids[i]}"},
                               timeout=timeout)
        v = r.header(L.SESSION_HEADER)
        return r.status, ("" if v in (None, "(null)") else v)

    def snapshot(self):
        return [self.mc.get(H.store_key(sid)) for sid in self.ids]


class ThroughModule:
    """get(key) of a session of `sessions` as the module reads it (the light whoami on a fresh
    connection): for the embedded store, which only the server's processes can read.  The
    value is the encoded session, what memcached would hold without a key file; None when the
    module finds no session."""

    def __init__(self, sessions):
        self.sessions = sessions

    def get(self, key):
        i = next(i for i, sid in enumerate(self.sessions.ids) if H.store_key(sid) == key)
        status, val = self.sessions.read_light(i, timeout=30)
        assert status == 200, f"session {i}: light whoami answered {status}"
        return val or None


# ------------------------------------------------------------------ request mixes

def kind(cls, area, cookie, op):
    return f"{cls}/{area}/{'cookie' if cookie else 'nocookie'}/{op}"


def parse_kind(k):
    cls, area, cookie, op = k.split("/")
    return cls, area, cookie == "cookie", op


CONTROL_THREADS = 2              # light threads without a cookie: the machine's own latency


def plain_mix(nsess):
    """CGI threads: env.cgi read / set.cgi write (same value again) alternately, every 4th
    request without a cookie (a CGI control); the others: the light whoami with a cookie, but
    the last CONTROL_THREADS without one (light controls).  Controls never touch the store:
    they measure the machine."""
    def plan(ti, i):
        s = (ti * 7 + i) % nsess
        if ti < CGI_THREADS:
            if i % 4 == 3:
                return L.Target("/env.cgi", "a.test", None, kind("cgi", "root", False, "read"))
            if i % 2:
                return L.Target(f"/set.cgi?k={s}", "a.test", s, kind("cgi", "root", True, "write"))
            return L.Target("/env.cgi", "a.test", s, kind("cgi", "root", True, "read"))
        if ti >= CONNECTIONS - CONTROL_THREADS:
            return L.Target("/" + LIGHT_PAGE, "a.test", None, kind("light", "root", False, "read"))
        return L.Target("/" + LIGHT_PAGE, "a.test", s, kind("light", "root", True, "read"))
    return plan


def read_mix(nsess):
    """Reads only: the light whoami with a cookie, CONTROL_THREADS without.  For a change of
    servers, where a write of a session the new placement does not find would make a new one."""
    def plan(ti, i):
        s = (ti * 7 + i) % nsess
        if ti >= CONNECTIONS - CONTROL_THREADS:
            return L.Target("/" + LIGHT_PAGE, "a.test", None, kind("light", "root", False, "read"))
        return L.Target("/" + LIGHT_PAGE, "a.test", s, kind("light", "root", True, "read"))
    return plan


def policy_mix(nsess):
    """Like plain_mix, plus /sub (SharedSessionStoreDown 503) with and without a cookie."""
    def plan(ti, i):
        s = (ti * 7 + i) % nsess
        if ti < CGI_THREADS:
            m = i % 4
            if m == 0:
                return L.Target("/sub/env.cgi", "a.test", s, kind("cgi", "sub", True, "read"))
            if m == 1:
                return L.Target("/env.cgi", "a.test", s, kind("cgi", "root", True, "read"))
            if m == 2:
                return L.Target(f"/set.cgi?k={s}", "a.test", s, kind("cgi", "root", True, "write"))
            return L.Target("/sub/env.cgi", "a.test", None, kind("cgi", "sub", False, "read"))
        m = i % 3
        if m == 0:
            return L.Target("/sub/" + LIGHT_PAGE, "a.test", s, kind("light", "sub", True, "read"))
        if m == 1:
            return L.Target("/" + LIGHT_PAGE, "a.test", s, kind("light", "root", True, "read"))
        return L.Target("/sub/" + LIGHT_PAGE, "a.test", None, kind("light", "sub", False, "read"))
    return plan


def loadgen(httpd, sessions, plan, duration):
    return L.LoadGen(httpd.port, plan, sessions.ids, H.COOKIE, threads=CONNECTIONS,
                     client_timeout=CLIENT_TIMEOUT, max_requests_per_thread=MAX_PER_THREAD
                     ).start(duration)


# ------------------------------------------------------------------ analysis

def outcome(r, sessions):
    """ok | anon | wrong | other (non-200) for one record."""
    if r[L.STATUS] != 200:
        return "other"
    seen = r[L.SESSION]
    if seen is None:
        return "wrong"                   # a page that did not show a session at all
    if r[L.SESS] is None:
        return "anon" if seen == "" else "wrong"
    if seen == "":
        return "anon"
    return "ok" if seen == sessions.raw[r[L.SESS]] else "wrong"


def ended_before(recs, t):
    return [r for r in recs if r[L.END] < t]


def between(recs, t0=None, t1=None):
    """Records that STARTED in [t0, t1)."""
    return [r for r in recs if (t0 is None or r[L.START] >= t0) and (t1 is None or r[L.START] < t1)]


def dur(r):
    return r[L.END] - r[L.START]


def row(label, recs, sessions):
    """ok / anon: requests WITH a cookie that got their session / none; wrong: any request
    shown a session not its own; nocookie: requests without a cookie (controls, and the
    /sub anonymous visitors of the policy mix)."""
    oc = Counter(outcome(r, sessions) for r in recs if r[L.SESS] is not None)
    wrong = sum(1 for r in recs if outcome(r, sessions) == "wrong")
    lat = L.latency_summary(recs)
    return {"phase": label, "requests": len(recs), "status": L.status_counts(recs),
            "ok": oc.get("ok", 0), "anon": oc.get("anon", 0), "wrong": wrong,
            "nocookie": sum(1 for r in recs if r[L.SESS] is None),
            "retried": sum(1 for r in recs if r[L.RETRIED]),
            "p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"], "max_ms": lat["max_ms"]}


def print_table(title, rows):
    print(f"\n=== {title}")
    print("(ok/anon: requests with a cookie that got their session / none; nocook: without a "
          "cookie; retr: keep-alive GETs retried once)")
    hdr = f"{'phase':<30} {'reqs':>6} {'ok':>6} {'anon':>6} {'wrong':>5} {'nocook':>6} " \
          f"{'retr':>4} {'p50ms':>7} {'p99ms':>7} {'maxms':>7}  status"
    print(hdr)
    for x in rows:
        st = " ".join(f"{k}:{v}" for k, v in x["status"].items())

        def f(v):
            return "-" if v is None else f"{v:.0f}"
        print(f"{x['phase']:<30} {x['requests']:>6} {x['ok']:>6} {x['anon']:>6} {x['wrong']:>5} "
              f"{x['nocookie']:>6} {x['retried']:>4} {f(x['p50_ms']):>7} {f(x['p99_ms']):>7} "
              f"{f(x['max_ms']):>7}  {st}")


def stall_figures(recs, t0, t1):
    """Latency of the requests that started in [t0, t1), against TIGHT, by class."""
    out = {}
    for cls in ("light", "cgi", "all"):
        rs = [r for r in between(recs, t0, t1)
              if cls == "all" or r[L.KIND].startswith(cls + "/")]
        d = [dur(r) for r in rs]
        out[cls] = {"requests": len(rs), "max_ms": L.ms(max(d)) if d else None,
                    "p99_ms": L.ms(L.pct(d, 99)), "p50_ms": L.ms(L.pct(d, 50)),
                    f"over_{int(TIGHT * 1000)}ms": sum(1 for x in d if x > TIGHT)}
    return out


def print_kv(title, d):
    print(f"--- {title}")
    for k, v in d.items():
        print(f"    {k:<34} {v}")


def last_anon_after(recs, sessions, t, kinds=None):
    """Start (relative to t) of the last request with a cookie, started after t, that did
    not get its session (anonymous or 503); None when all did."""
    last = None
    for r in recs:
        if r[L.START] < t or r[L.SESS] is None:
            continue
        if kinds and not any(r[L.KIND].startswith(k) for k in kinds):
            continue
        if outcome(r, sessions) != "ok":
            last = r[L.START] - t
    return last


def cookie_changes(recs, sessions):
    """Records with a cookie whose answer set the id cookie to another value or removed it."""
    return [r for r in recs if r[L.SESS] is not None and r[L.COOKIE]
            and r[L.COOKIE] != sessions.ids[r[L.SESS]]]


# ------------------------------------------------------------------ recovery polls

def poll_sessions_back(sessions, t_from, bound=RECOVERY_BOUND):
    """Poll the light whoami, cycling through the sessions on fresh connections, until every
    session has read back its own data once; bounded.  -> (first_ok, all_ok) in seconds after
    t_from (end of the request that showed it), None when not reached."""
    seen = set()
    first = None
    i = 0
    deadline = t_from + bound
    while time.monotonic() < deadline and len(seen) < len(sessions):
        if i % len(sessions) in seen:
            i += 1
            continue
        try:
            st, val = sessions.read_light(i % len(sessions),
                                          timeout=max(0.5, deadline - time.monotonic()))
        except OSError:
            st, val = None, None
        if st == 200 and val == sessions.raw[i % len(sessions)]:
            seen.add(i % len(sessions))
            if first is None:
                first = time.monotonic() - t_from
        else:
            time.sleep(0.02)
        i += 1
    all_ok = time.monotonic() - t_from if len(seen) == len(sessions) else None
    return first, all_ok


# ------------------------------------------------------------------ status page and logs

STATUS_KEYS = ("store_operations", "store_timeouts", "store_skipped", "store_errors",
               "sessions_loaded", "sessions_found", "sessions_unknown", "sessions_saved",
               "sessions_created")


def status_page(httpd):
    r = httpd.request("GET", "/shs-status", headers={"Host": "a.test"}, timeout=10)
    assert r.status == 200, r
    counters, server = {}, None
    for line in r.text.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line)
        if m:
            counters[m.group(1)] = int(m.group(2))
        elif httpd.memcached and httpd.memcached.addr in line:
            server = line.strip()
    out = {k: counters.get(k) for k in STATUS_KEYS}
    out["memcached"] = server
    return out


def print_status(httpd, label="status page"):
    st = status_page(httpd)
    print(f"--- {label}: " + ", ".join(f"{k}={st[k]}" for k in STATUS_KEYS))
    print(f"    memcached server line: {st['memcached']}")
    return st


CRASH_RE = re.compile(r"exit signal|child pid \d+ exit")


def crash_lines(httpd):
    return httpd.log_lines(CRASH_RE.pattern)


def shs_lines_by_pid(httpd, pattern, w0=0, w1=float("inf")):
    """Error-log lines matching pattern stamped within [w0, w1], and their count per pid."""
    lines = lines_in(httpd, pattern, w0, w1)
    pids = Counter()
    for l in lines:
        m = re.search(r"\[pid (\d+)", l)
        pids[m.group(1) if m else "?"] += 1
    return lines, pids


# ------------------------------------------------------------------ last-run.json

def record_run(name, figures):
    try:
        with open(LAST_RUN) as f:
            data = json.load(f)
    except (OSError, ValueError):
        data = {}
    data.setdefault("scenarios", {})
    data["config"] = {"connections": CONNECTIONS, "cgi_threads": CGI_THREADS,
                      "sessions": NSESSIONS, "processes": PROCESSES, "threads": THREADS,
                      "timeout_ms": TIMEOUT_MS, "retry_s": RETRY_S,
                      "tight_bound_ms": int(TIGHT * 1000)}
    figures = dict(figures)
    figures["recorded_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    data["scenarios"][name] = figures
    tmp = LAST_RUN + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, LAST_RUN)


# ------------------------------------------------------------------ error-log timeline

def lines_in(httpd, pattern, w0, w1):
    """Error-log lines matching pattern, stamped within [w0, w1] (wall clock)."""
    out = []
    for l in httpd.log_lines(pattern):
        t = H.log_time(l)
        if t is not None and w0 <= t <= w1:
            out.append(l)
    return out


def hms(t):
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int((t % 1) * 1000):03d}"


# ------------------------------------------------------------------ direct memcached probe

_PROBE_SRC = r'''
import json, socket, sys, time
port, duration, interval = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
out = []
end = time.monotonic() + duration
s = None
for _ in range(int(duration / interval) + 10):          # bounded in count and time
    if time.monotonic() >= end:
        break
    w, t0 = time.time(), time.monotonic()
    try:
        if s is None:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"get shs:latency-probe\r\n")
        buf = b""
        while not buf.endswith(b"END\r\n"):
            c = s.recv(4096)
            if not c:
                raise OSError("closed")
            buf += c
        ok = True
    except OSError:
        ok = False
        if s is not None:
            s.close()
        s = None
    out.append((w, time.monotonic() - t0, ok))
    time.sleep(interval)
json.dump(out, sys.stdout)
'''


class McProbe:
    """A separate process (no GIL shared with the load threads) that times a memcached `get`
    every 20 ms on one persistent connection: how fast memcached itself answered, to tell a
    slow store (or machine) from a slow module.  Bounded in count and time."""

    def __init__(self, port, duration, interval=0.02):
        import subprocess
        import sys
        self.proc = subprocess.Popen([sys.executable, "-c", _PROBE_SRC, str(port), str(duration),
                                      str(interval)], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.duration = duration
        self.samples = []

    def collect(self):
        import subprocess
        try:
            out, _ = self.proc.communicate(timeout=self.duration + 30)
            self.samples = json.loads(out or b"[]")
        except (subprocess.TimeoutExpired, ValueError):
            self.proc.kill()                  # ours, by its Popen handle
            self.proc.wait(5)
        return self

    def summary(self, w0, w1):
        d = [x[1] for x in self.samples if w0 <= x[0] and x[0] + x[1] < w1 and x[2]]
        return {"gets": len(d), "p99_ms": ms(pct(d, 99)), "max_ms": ms(max(d)) if d else None,
                f"over_{TIMEOUT_MS}ms": sum(1 for x in d if x > TIMEOUT)}


def per_pid_recovery(httpd, w_fault, w_from):
    """For every process that logged SHS00302 after w_fault: seconds from w_from to its first
    SHS00301 ('answers again') after w_from, or None when it has not recovered."""
    down = set()
    for l in lines_in(httpd, "SHS00302", w_fault, w_fault + 3600):
        m = re.search(r"\[pid (\d+)", l)
        if m:
            down.add(m.group(1))
    out = {pid: None for pid in sorted(down)}
    for l in lines_in(httpd, "SHS00301", w_from, w_from + 3600):
        m = re.search(r"\[pid (\d+)", l)
        if m and m.group(1) in out and out[m.group(1)] is None:
            out[m.group(1)] = round(H.log_time(l) - w_from, 3)
    return out


# ------------------------------------------------------------------ server-side latency

def server_figures(httpd, w0, w1):
    """Server-side time taken (%D of the timing log: no client, no network) of the requests
    httpd started within [w0, w1) (wall clock), by class, against TIGHT."""
    rows = []
    try:
        with open(os.path.join(httpd.dir, TIMING_LOG)) as f:
            for line in f:
                p = line.split()
                if len(p) >= 4 and p[0].isdigit() and p[1].isdigit():
                    rows.append((int(p[0]) / 1e6, int(p[1]) / 1e6, p[3]))
    except OSError:
        return {}
    out = {}
    for cls in ("light", "cgi", "all"):
        d = [x[1] for x in rows if w0 <= x[0] < w1 and
             (cls == "all" or (cls == "light" and x[2].endswith(LIGHT_PAGE))
              or (cls == "cgi" and x[2].endswith(".cgi")))]
        out[cls] = {"requests": len(d), "max_ms": ms(max(d)) if d else None,
                    "p99_ms": ms(pct(d, 99)), "p50_ms": ms(pct(d, 50)),
                    f"over_{int(TIGHT * 1000)}ms": sum(1 for x in d if x > TIGHT)}
    return out


def timing_lines(httpd, w0, w1):
    """Lines of the timing log of requests httpd started AND finished within [w0, w1)."""
    out = []
    try:
        with open(os.path.join(httpd.dir, TIMING_LOG)) as f:
            for line in f:
                p = line.split()
                if len(p) >= 4 and p[0].isdigit() and p[1].isdigit():
                    t = int(p[0]) / 1e6
                    if w0 <= t and t + int(p[1]) / 1e6 < w1:
                        out.append(line)
    except OSError:
        pass
    return out


def longest_gap(recs, t0, t1):
    """The longest time within [t0, t1] during which no response arrived (seconds)."""
    ends = sorted(r[L.END] for r in recs if t0 <= r[L.END] <= t1)
    points = [t0] + ends + [t1]
    return max((b - a for a, b in zip(points, points[1:])), default=t1 - t0)


def expected_outcome(r):
    return "ok" if r[L.SESS] is not None else "anon"


def excuse_by_controls(recs, slow, budget):
    """Split requests over the liveness bound into (module, machine): a request is put down to
    the machine when a control request (no cookie: no store operation at all) of the same
    class (light / cgi), overlapping it in time, took at least as long minus `budget` (what
    the module may legitimately add: its store operations, each bounded by the timeout)."""
    controls = [r for r in recs if r[L.SESS] is None]
    module, machine = [], []
    for r in slow:
        cls = r[L.KIND].split("/", 1)[0]
        ctl = [dur(c) for c in controls if c[L.KIND].startswith(cls + "/")
               and c[L.START] < r[L.END] and c[L.END] > r[L.START]]
        if ctl and max(ctl) >= dur(r) - budget:
            machine.append(r)
        else:
            module.append(r)
    return module, machine


# ------------------------------------------------------------------ replicas (scenario 6)

REPLICA_ITEM_RE = re.compile(r"^shsr1:([vd]):([0-9a-f]{16}):([0-9a-f]{12}):")


class ReplicaReader:
    """What several memcached servers hold for a key with replicas, read as the module reads
    it: the copy with the highest version wins, a tombstone over any value.  get() is shaped
    like McClient.get (the value as mod_session encoded it, or None), so Sessions and
    verify_sessions_intact work unchanged."""

    def __init__(self, mcs):
        self.mcs = mcs

    def copies(self, key):
        """{server address: (kind, version, value)} of the servers that answer and hold it."""
        out = {}
        for m in self.mcs:
            try:
                raw = m.client.get_raw(key)
            except OSError:
                continue                    # a dead server holds nothing
            if raw is None:
                continue
            mt = REPLICA_ITEM_RE.match(raw)
            out[m.addr] = (mt.group(1), int(mt.group(2), 16), raw[mt.end():]) if mt \
                else ("v", 0, raw)
        return out

    def get(self, key):
        best = None
        for kind, version, value in self.copies(key).values():
            rank = (kind == "d", version)
            if best is None or rank > best[0]:
                best = (rank, kind, value)
        if best is None or best[1] == "d":
            return None
        m = SEALED_MAC_RE.match(best[2])
        return best[2][m.end():] if m else best[2]


SEALED_MAC_RE = H.SEALED_MAC_RE


def server_lines(httpd, addrs):
    """The status page's line of each memcached server (state, since, failures, recoveries)."""
    r = httpd.request("GET", "/shs-status", headers={"Host": "a.test"}, timeout=10)
    assert r.status == 200, r
    return {a: next((l.strip() for l in r.text.splitlines() if l.strip().startswith(a + " ")),
                    None) for a in addrs}
