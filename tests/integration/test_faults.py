"""Store faults: a stalled (SIGSTOP), killed and restarted memcached.

Bounds: SharedSessionMemcacheTimeout 300ms, SharedSessionMemcacheRetry 1s.  A request during
an outage must come back well before the stall ends (< 3 s: a liveness bound, not a
performance one); recovery is polled for at most 10 s.
"""

import re
import time
from collections import Counter

import pytest

from pyshs import COOKIE, decode_session, parse_set_cookie, store_key, wait_until

STALL = 6.0          # seconds memcached stays stopped
LIVENESS = 3.0       # a request during the outage must answer within this
RECOVERY = 10.0      # bound of the recovery polls
DIR_503 = '<Directory "{docroot}/sub">\n    SharedSessionStoreDown 503\n</Directory>'


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


def timed(label, fn):
    t0 = time.monotonic()
    r = fn()
    dt = time.monotonic() - t0
    print(f"{label}: {dt * 1000:.0f} ms -> {r.status}")
    return r, dt


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
    pids = Counter(re.search(r"\[pid (\d+)", l).group(1) for l in lines)
    return lines, pids


@pytest.mark.expect_log("SHS00302")
def test_sigstop_stall_is_bounded_and_recovers(make_httpd, memcached, mc):
    httpd = make_httpd(timeout="300ms", retry="1s", vhost_conf=DIR_503)
    b, sid = make_session(httpd, k="v")
    key = store_key(sid)
    assert mc.get(key) == "k=v"

    memcached.stop()
    t_stop = time.monotonic()
    try:
        r, dt = timed("first request during the stall", lambda: b.get("/whoami.php"))
        assert r.status == 200, r
        assert dt < LIVENESS, f"request took {dt:.2f}s during the stall (timeout 300ms)"
        assert r.json()["session"] == {}, "served anonymously"
        no_new_id(r, sid)

        times = []
        for i in range(6):
            r, dt = timed(f"request {i + 2} during the stall", lambda: b.get("/whoami.php"))
            assert r.status == 200, r
            assert r.json()["session"] == {}
            no_new_id(r, sid)
            times.append(dt)
        assert max(times) < LIVENESS, times

        # a write during the stall: served, not saved, cookie kept
        r, dt = timed("write during the stall", lambda: b.get("/set.php?k=k&v=changed"))
        assert r.status == 200, r
        assert dt < LIVENESS
        no_new_id(r, sid)
        assert b.cookies.get(COOKIE) == sid

        # SharedSessionStoreDown 503 in /sub
        r, dt = timed("503 directory during the stall", lambda: b.get("/sub/env.cgi"))
        assert r.status == 503, r
        assert dt < LIVENESS

        assert time.monotonic() - t_stop < STALL, "the requests above outlasted the stall"
        time.sleep(max(0.0, STALL - (time.monotonic() - t_stop)))
    finally:
        memcached.cont()

    took = poll_session(b, {"k": "v"})
    print(f"session readable again {took}s after SIGCONT")
    assert took is not None, f"the old session did not come back within {RECOVERY}s"
    assert mc.get(key) == "k=v", "the stored session must not be overwritten during the stall"
    assert b.cookies.get(COOKIE) == sid
    r = b.get("/sub/env.cgi")
    assert r.status == 200 and "HTTP_SESSION=k=v" in r.text, r

    lines, pids = shs302_per_pid(httpd)
    print("\n".join(lines))
    assert lines, "SHS00302 ([sharedsession:error]) must be logged when memcached fails"
    assert max(pids.values()) == 1, f"SHS00302 more than once in a process: {pids}"
    # Each process that saw the failure says so when it uses memcached again; the requests
    # after SIGCONT may all have gone to the other process (seen once in CI), so keep asking
    # (bounded) until every process that logged SHS00302 has logged SHS00301.
    def recovered_everywhere():
        back = {m.group(1) for l in httpd.log_lines(r"\[sharedsession:notice\].*SHS00301")
                for m in [re.search(r"\[pid (\d+)", l)] if m}
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
    httpd = make_httpd(timeout="300ms", retry="1s")
    b, sid = make_session(httpd, k="v")
    memcached.kill()

    for i in range(3):
        r, dt = timed(f"request {i + 1} with memcached killed", lambda: b.get("/whoami.php"))
        assert r.status == 200, r
        assert dt < LIVENESS
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
    httpd = make_httpd(timeout="300ms", retry="1s", vhost_conf=DIR_503)
    b, sid = make_session(httpd, k="v")
    memcached.kill()

    t0 = time.monotonic()
    for i in range(20):
        r, dt = timed(f"request {i + 1}", lambda: b.get("/whoami.php"))
        assert r.status == 200, r
        assert dt < LIVENESS
        assert r.json()["session"] == {}
        no_new_id(r, sid)
        time.sleep(0.1)        # ~3 s in all: several retry intervals (probes) pass
    print(f"20 requests in {time.monotonic() - t0:.1f}s")

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
    httpd = make_httpd(timeout="300ms", retry="1s")
    b = httpd.browser()
    r, dt = timed("write with memcached absent", lambda: b.get("/set.php?k=k&v=v"))
    assert r.status == 200, r
    assert dt < LIVENESS
    assert not r.set_cookies(COOKIE), "no id is issued when the session cannot be stored"

    memcached.restart()
    ok = wait_until(lambda: b.get("/set.php?k=k&v=v").status == 200 and COOKIE in b.cookies,
                    RECOVERY, 0.2)
    assert ok, f"no session id issued within {RECOVERY}s of memcached starting"
    # the read may land in the other process, whose breaker waits for its retry interval
    took = poll_session(b, {"k": "v"})
    print(f"session readable {took}s after it was created")
    assert took is not None, f"the new session was not readable within {RECOVERY}s"
