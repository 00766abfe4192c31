"""Store faults: a stalled (SIGSTOP), killed and restarted memcached.

SharedSessionMemcacheTimeout 300ms, SharedSessionMemcacheRetry 1s.  What is asserted is order
and behaviour, not speed (this machine is shared; latency figures are printed, the load
tests and bench/ measure them):

- a request during a stall is answered while memcached is still stopped, i.e. before the
  stalled operation could complete (SIGCONT comes only after every answer);
- the circuit breaker: in each process the first operation that fails opens it, the next
  ones are refused at once ("server marked down"), and at most one operation is tried again
  per retry interval (read from the module's debug lines, SHS00105, by pid and time);
- the visitor's cookie is kept, the stored session is not overwritten, it is readable again
  after the outage (polled for at most 10 s), and each process reports the outage once.

A request that is not answered at all fails by the client's timeout (CLIENT_TIMEOUT).
"""

import re
import socket
import time
from collections import Counter, defaultdict

import pytest

import pyshs as H
from pyshs import COOKIE, parse_set_cookie, store_key, wait_until

TIMEOUT, RETRY = 0.3, 1.0   # SharedSessionMemcacheTimeout / Retry of these tests
CLIENT_TIMEOUT = 20         # a request never answered fails here (a hang, not a slow answer)
RECOVERY = 10.0             # bound of the recovery polls
DIR_503 = '<Directory "{docroot}/sub">\n    SharedSessionStoreDown 503\n</Directory>'
# the debug line of a load that failed, with the reason
FAILED_LOAD = r"SHS00105: session \S+ not loaded, memcached \S+: (.*)$"
SKIPPED = "server marked down (retrying after the retry interval)"
TIMED_OUT = "no answer within the timeout"


def fault_httpd(make_httpd, **opts):
    return make_httpd(timeout=f"{int(TIMEOUT * 1000)}ms", retry=f"{int(RETRY)}s", **opts)


def make_session(httpd, **data):
    b = httpd.browser()
    for k, v in data.items():
        b.set(k, v)
    assert COOKIE in b.cookies
    return b, b.cookies[COOKIE]


def no_new_id(r, sid):
    """The visitor's cookie is not replaced (no Set-Cookie with another id, no removal)."""
    for sc in r.set_cookies(COOKIE):
        name, val, _ = parse_set_cookie(sc)
        assert val == sid, f"the session cookie was replaced during the outage: {sc!r}"


def answered(label, b, path):
    """GET path: the answer (its time printed), or a failure naming the request when none
    came within CLIENT_TIMEOUT."""
    try:
        r = b.get(path, timeout=CLIENT_TIMEOUT)
    except (socket.timeout, TimeoutError, ConnectionError) as e:
        raise AssertionError(f"{label}: no answer within {CLIENT_TIMEOUT} s ({e!r})") from None
    print(f"{label}: {r.status} in {r.elapsed * 1000:.0f} ms")
    return r


def answered_while_stalled(memcached, label, b, path):
    """The request is answered, and memcached was still stopped when the answer came: the
    module answered without the stalled operation, which can complete only after SIGCONT."""
    r = answered(label, b, path)
    assert H.all_threads_stopped(memcached.pid), \
        f"{label}: memcached was running again when the answer came (the stall was lost)"
    return r


def failed_loads(lines):
    """{pid: [(time, reason)]} of the SHS00105 lines (a load that failed), in log order."""
    out = defaultdict(list)
    for line in lines:
        m = re.search(FAILED_LOAD, line)
        if m:
            out[H.log_pid(line)].append((H.log_time(line), m.group(1)))
    return out


def assert_breaker(loads, what):
    """The circuit breaker, per process: its first failed operation was tried (not refused),
    the ones refused at once say so, and two operations tried in one process lie at least
    half a retry interval apart (without a breaker every request would try: they came
    tens of ms apart).  At least one operation was refused at once."""
    assert loads, f"{what}: no failed load in the error log (SHS00105 at debug)"
    for pid, ops in loads.items():
        print(f"{what}: pid {pid}: " + ", ".join(f"{t % 100:.3f} {r[:20]}" for t, r in ops))
        assert ops[0][1] != SKIPPED, \
            f"{what}: pid {pid} refused its first operation before any had failed: {ops}"
        tried = [t for t, reason in ops if reason != SKIPPED]
        for t0, t1 in zip(tried, tried[1:]):
            assert t1 - t0 >= RETRY / 2, \
                f"{what}: pid {pid} tried memcached again {t1 - t0:.3f} s after a failure " \
                f"(retry interval {RETRY} s): the breaker did not open: {ops}"
    skipped = sum(1 for ops in loads.values() for _, reason in ops if reason == SKIPPED)
    assert skipped, f"{what}: no operation refused at once by an open breaker: {dict(loads)}"


def poll_session(b, expected, timeout=RECOVERY):
    """Poll whoami until the session equals `expected`; returns seconds taken or None."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        r = b.get("/whoami.php")
        if r.status == 200:
            last = r.json()["session"]
            if last == expected:
                return time.monotonic() - t0
        time.sleep(0.2)
    print("last session seen:", last)
    return None


def shs302_per_pid(httpd):
    lines = httpd.log_lines(r"\[sharedsession:error\].*SHS00302")
    return lines, Counter(H.log_pid(l) for l in lines)


@pytest.mark.expect_log("SHS00302")
def test_sigstop_stall_answered_while_stalled_and_recovers(make_httpd, memcached, mc):
    httpd = fault_httpd(make_httpd, vhost_conf=DIR_503)
    b, sid = make_session(httpd, k="v")
    key = store_key(sid)
    assert mc.get(key) == "k=v"

    log = H.LogWatch(httpd)
    memcached.stall()
    try:
        for i in range(7):
            r = answered_while_stalled(memcached, f"read {i + 1} during the stall", b,
                                       "/whoami.php")
            assert r.status == 200, r
            assert r.json()["session"] == {}, "served anonymously"
            no_new_id(r, sid)

        # a write during the stall: served, not saved, cookie kept
        r = answered_while_stalled(memcached, "write during the stall", b, "/set.php?k=k&v=changed")
        assert r.status == 200, r
        no_new_id(r, sid)
        assert b.cookies.get(COOKIE) == sid

        # SharedSessionStoreDown 503 in /sub
        r = answered_while_stalled(memcached, "503 directory during the stall", b, "/sub/env.cgi")
        assert r.status == 503, r
        stalled = log.lines()
    finally:
        memcached.cont()

    # every request of the stall tried to load the session and got no answer from memcached
    loads = failed_loads(stalled)
    assert sum(len(ops) for ops in loads.values()) == 9, \
        "one failed load (SHS00105) per request of the stall:\n" + "\n".join(stalled)
    for pid, ops in loads.items():
        assert ops[0][1] == TIMED_OUT, f"pid {pid}: the first load of the stall did not time " \
                                       f"out (stalled memcached): {ops}"
    assert_breaker(loads, "stall")

    took = poll_session(b, {"k": "v"})
    print(f"session readable again {took}s after SIGCONT")
    assert took is not None, f"the old session did not come back within {RECOVERY}s"
    assert mc.get(key) == "k=v", "the stored session must not be overwritten during the stall"
    assert b.cookies.get(COOKIE) == sid
    # the process that answered above has recovered; another may still be within its retry
    # interval (breakers are per process) and answer /sub with 503 until its probe: once every
    # process has probed, /sub serves the session, every time
    def sub_ok():
        r = b.get("/sub/env.cgi")
        return r.status == 200 and "HTTP_SESSION=k=v" in r.text
    assert H.wait_until(sub_ok, RETRY + RECOVERY, 0.1), \
        f"/sub (SharedSessionStoreDown 503) did not serve the session again within {RETRY + RECOVERY}s"
    time.sleep(RETRY + 0.2)          # every process past its retry interval and probe
    for i in range(8):
        r = b.get("/sub/env.cgi")
        assert r.status == 200 and "HTTP_SESSION=k=v" in r.text, (i, r)

    lines, pids = shs302_per_pid(httpd)
    print("\n".join(lines))
    assert lines, "SHS00302 ([sharedsession:error]) must be logged when memcached fails"
    assert max(pids.values()) == 1, f"SHS00302 more than once in a process: {pids}"
    assert set(pids) == set(loads), \
        f"the processes that failed a load {sorted(loads)} and those that logged SHS00302 " \
        f"{sorted(pids)} differ"
    # Each process that saw the failure says so when it uses memcached again; the requests
    # after SIGCONT may all have gone to the other process (seen once in CI), so keep asking
    # (bounded) until every process that logged SHS00302 has logged SHS00301.
    def recovered_everywhere():
        back = {H.log_pid(l) for l in httpd.log_lines(r"\[sharedsession:notice\].*SHS00301")}
        if set(pids) <= back:
            return True
        b.get("/whoami.php")
        return False
    assert wait_until(recovered_everywhere, 10, 0.05), \
        f"SHS00301 (notice) expected from every process that logged SHS00302 {sorted(pids)}"
    # per request only at info: the outage itself is reported once per process (SHS00302)
    assert httpd.log_lines(r"\[sharedsession:info\].*SHS00108"), \
        "SHS00108 (info) expected: a request tried to save while the store had failed at load"


@pytest.mark.expect_log("SHS00302")
def test_sigkill_and_restart_on_same_port(make_httpd, memcached, mc):
    # A write that lands in a process whose breaker has not retried yet is refused with an
    # info line (SHS00113): only SHS00302 may be a warning or error.
    httpd = fault_httpd(make_httpd)
    b, sid = make_session(httpd, k="v")
    memcached.kill()

    for i in range(3):
        r = answered(f"request {i + 1} with memcached killed", b, "/whoami.php")
        assert r.status == 200, r
        assert r.json()["session"] == {}
        no_new_id(r, sid)

    memcached.restart()
    t0 = time.monotonic()
    ok = None
    while time.monotonic() - t0 < RECOVERY:
        nb = httpd.browser()
        r = nb.get("/set.php?k=n&v=1")
        if r.status == 200 and COOKIE in nb.cookies:
            r2 = nb.get("/whoami.php")
            if r2.status == 200 and r2.json()["session"] == {"n": "1"}:
                ok = time.monotonic() - t0
                break
        time.sleep(0.2)
    print(f"new sessions work again {ok}s after the restart")
    assert ok is not None, f"no working session within {RECOVERY}s of the restart"
    assert mc.get(store_key(nb.cookies[COOKIE])) == "n=1"

    # the old data died with memcached: its id now reads as anonymous (strict mode)
    r = b.get("/whoami.php")
    assert r.status == 200 and r.json()["session"] == {}, r
    assert mc.get(store_key(sid)) is None
    assert httpd.log_lines("SHS00302")


@pytest.mark.expect_log("SHS00302")
def test_store_gone_anonymous_503_and_one_error_per_process(make_httpd, memcached):
    httpd = fault_httpd(make_httpd, vhost_conf=DIR_503)
    b, sid = make_session(httpd, k="v")
    log = H.LogWatch(httpd)
    memcached.kill()

    t0 = time.monotonic()
    for i in range(20):
        r = answered(f"request {i + 1}", b, "/whoami.php")
        assert r.status == 200, r
        assert r.json()["session"] == {}
        no_new_id(r, sid)
        time.sleep(0.1)        # ~3 s in all: several retry intervals (probes) pass
    print(f"20 requests in {time.monotonic() - t0:.1f}s")
    loads = failed_loads(log.lines())
    assert sum(len(ops) for ops in loads.values()) == 20, \
        "one failed load (SHS00105) per request:\n" + "\n".join(log.lines())
    assert_breaker(loads, "memcached gone")

    r = b.get("/sub/env.cgi")
    assert r.status == 503, r
    anon = httpd.browser()
    r = anon.get("/sub/env.cgi")
    assert r.status == 200, f"a visitor without a session is not refused: {r}"
    r = b.get("/env.cgi")
    assert r.status == 200, "anonymous policy outside /sub"

    lines, pids = shs302_per_pid(httpd)
    children = len(httpd.child_pids())
    print(f"SHS00302 lines: {len(lines)}, per pid {dict(pids)}, child processes {children}")
    print("\n".join(lines))
    assert lines, "SHS00302 must be logged"
    assert max(pids.values()) == 1, f"SHS00302 logged more than once by a process: {pids}"
    assert len(lines) <= min(children, httpd.processes), \
        f"SHS00302 logged {len(lines)} times for {httpd.processes} server processes"


@pytest.mark.expect_log("SHS00302")
def test_memcached_down_at_start_then_up(make_httpd, memcached):
    memcached.kill()
    httpd = fault_httpd(make_httpd)
    b = httpd.browser()
    r = answered("write with memcached absent", b, "/set.php?k=k&v=v")
    assert r.status == 200, r
    assert not r.set_cookies(COOKIE), "no id is issued when the session cannot be stored"

    memcached.restart()
    ok = wait_until(lambda: b.get("/set.php?k=k&v=v").status == 200 and COOKIE in b.cookies,
                    RECOVERY, 0.2)
    assert ok, f"no session id issued within {RECOVERY}s of memcached starting"
    # the read may land in the other process, whose breaker waits for its retry interval
    took = poll_session(b, {"k": "v"})
    print(f"session readable {took}s after it was created")
    assert took is not None, f"the new session was not readable within {RECOVERY}s"
