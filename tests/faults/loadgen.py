"""A small closed-loop HTTP load generator for the faults-under-load tests.

N threads, each with one keep-alive http.client connection to 127.0.0.1:PORT, loop until a
deadline (and a per-thread request cap: bounded in time AND count).  Every request is recorded:
(thread, start, end, status, kind, session index, HTTP_SESSION seen, Set-Cookie of the id,
error, retried).  Times are time.monotonic() seconds.

Retry rule (documented in README.md): a GET that fails with a connection-level error
(reset, broken pipe, remote closed without answering) on a connection that had already
carried a request -- the keep-alive race, where the server closed an idle connection while
the client was sending -- is retried ONCE on a fresh connection and counted as `retried`.
A failure on a fresh connection, a second failure, or a client timeout is recorded as an
error (status -1) and is never retried.  All requests of this suite are idempotent GETs
(reads, and writes that write the same value again).
"""

import http.client
import socket
import threading
import time

STATUS_ERROR = -1
# the light read page echoes the session in this header (mod_headers, "%{HTTP_SESSION}e";
# "(null)" when mod_session set no HTTP_SESSION: no session)
SESSION_HEADER = "X-Shs-Session"

# field indexes of a record
THREAD, START, END, STATUS, KIND, SESS, SESSION, COOKIE, ERR, RETRIED = range(10)


class Target:
    """What one request is: path, Host, session index (None: no cookie), kind label."""
    __slots__ = ("path", "host", "sess", "kind")

    def __init__(self, path, host, sess, kind):
        self.path, self.host, self.sess, self.kind = path, host, sess, kind


def _parse_session(body):
    """The HTTP_SESSION line the shell CGIs print, or None."""
    for line in body.split(b"\n"):
        if line.startswith(b"HTTP_SESSION="):
            return line[len(b"HTTP_SESSION="):].decode("utf-8", "replace").rstrip("\r")
    return None


def _id_cookie(resp, name):
    """'' when no Set-Cookie for `name`; the value otherwise ('' values -> '<removed>')."""
    vals = resp.msg.get_all("Set-Cookie") or []
    for v in vals:
        n, _, rest = v.partition("=")
        if n.strip() == name:
            val = rest.split(";", 1)[0].strip()
            low = v.lower()
            if not val or "max-age=0" in low or "expires=thu, 01 jan 1970" in low:
                return "<removed>"
            return val
    return ""


_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
          ConnectionAbortedError, http.client.BadStatusLine)


class LoadGen:
    def __init__(self, port, plan, cookies, cookie_name, threads=64, client_timeout=15.0,
                 max_requests_per_thread=20000):
        """plan(thread_index, i) -> Target.  cookies[sess] is the id of session `sess`."""
        self.port = port
        self.plan = plan
        self.cookies = cookies
        self.cookie_name = cookie_name
        self.nthreads = threads
        self.client_timeout = client_timeout
        self.max_per_thread = max_requests_per_thread
        self.records = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self.deadline = None
        self.t_begin = None

    # -------------------------------------------------------------- one request
    def _once(self, conn, t):
        headers = {"Host": t.host}
        if t.sess is not None:
            headers["Cookie"] = f"{self.cookie_name}={self.cookies[t.sess]}"
        conn.request("GET", t.path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        session = _parse_session(body)          # the CGIs print it in the body
        if session is None:
            hdr = resp.getheader(SESSION_HEADER)
            if hdr is not None:
                session = "" if hdr == "(null)" else hdr
        return resp.status, session, _id_cookie(resp, self.cookie_name)

    def _new_conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.client_timeout)

    def _run(self, idx):
        conn = self._new_conn()
        used = 0                    # requests carried by the current connection
        out = []
        try:
            for i in range(self.max_per_thread):
                if self._stop.is_set() or time.monotonic() >= self.deadline:
                    break
                t = self.plan(idx, i)
                start = time.monotonic()
                retried = False
                err = ""
                status, session, cookie = STATUS_ERROR, None, ""
                for attempt in (0, 1):
                    stale = False
                    try:
                        status, session, cookie = self._once(conn, t)
                        used += 1
                        err = f"retried-after:{err}" if retried else ""
                        break
                    except socket.timeout:
                        err = "client-timeout"
                    except _STALE as e:
                        err = type(e).__name__
                        stale = True
                    except (OSError, http.client.HTTPException) as e:
                        err = type(e).__name__
                    conn.close()
                    conn = self._new_conn()
                    reused = used > 0
                    used = 0
                    if attempt == 0 and stale and reused:
                        retried = True
                        continue
                    status = STATUS_ERROR
                    break
                end = time.monotonic()
                out.append((idx, start, end, status, t.kind, t.sess, session, cookie, err,
                            retried))
        finally:
            conn.close()
            with self._lock:
                self.records.extend(out)

    # -------------------------------------------------------------- control
    def start(self, duration):
        """Start the threads; they stop at now + duration at the latest."""
        self.t_begin = time.monotonic()
        self.deadline = self.t_begin + duration
        for i in range(self.nthreads):
            th = threading.Thread(target=self._run, args=(i,), daemon=True,
                                  name=f"load-{i}")
            th.start()
            self._threads.append(th)
        return self

    def stop(self):
        """Stop and join (bounded: a thread is at most one client timeout away from its
        check; join waits that long, then reports the stragglers)."""
        self._stop.set()
        limit = time.monotonic() + 2 * self.client_timeout + 5
        for th in self._threads:
            th.join(max(0.0, limit - time.monotonic()))
        stuck = [th.name for th in self._threads if th.is_alive()]
        self.records.sort(key=lambda r: r[START])
        return stuck


# ------------------------------------------------------------------ statistics

def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def ms(x):
    return None if x is None else round(x * 1000.0, 1)


def latency_summary(recs):
    d = [r[END] - r[START] for r in recs]
    return {"n": len(d), "p50_ms": ms(pct(d, 50)), "p99_ms": ms(pct(d, 99)),
            "max_ms": ms(max(d) if d else None)}


def status_counts(recs):
    out = {}
    for r in recs:
        key = str(r[STATUS]) if r[STATUS] != STATUS_ERROR else f"error:{r[ERR]}"
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))
