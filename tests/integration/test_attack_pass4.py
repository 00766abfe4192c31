"""Regression tests of the fourth attack pass: what it tried that the module withstood.

1. The callback's spent mark and session read in one memcached round trip (0ae0302), on every
   store: one memcached (the pipelined add and get), two (the spent mark and the session on the
   same server, or on two: one after the other), replicas, the embedded store, a memcached on a
   unix socket.  Replays, twenty parallel replays of one token, unknown and deleted sessions,
   wrong push context, pull tokens without or with another state nonce, the replace policy:
   each refused with its reason and without a cookie, and a refused token spent.
2. memcached stalled during a callback; a memcached that answers the pipelined pair wrongly:
   no session ever adopted that must not be, never another visitor's, an answer within the
   timeout (plus slack), no crash.
3. `SharedSessionMemcache /path/to/socket` (d11cb37): a path with `"` and `\\` on the status page
   and in the Prometheus labels, a path that is a directory, or missing and then appearing,
   the length limit.

Set-up: a, b, c form group g with a.test as the hub (test_pull.pull_conf)."""

import concurrent.futures
import os
import re
import subprocess
import threading
import time

import pytest

import pyshs as H
from pyshs import COOKIE, STATE_COOKIE, Browser, Navigator, new_id
from pyshs.fakemc import FakeMemcached, answer_other, value_answer
from pyshs.tokens import b64d, b64e
from test_placement import owner
from test_pull import FILES, pull_conf

STATUS = "<Location /shs-status>\n    SetHandler sharedsession-status\n</Location>\n"
LOG_INFO = "LogLevel warn sharedsession:info\n"
REFUSED = re.compile(r"SHS00401: cross-domain token refused \(([^)]*)\)")
TIMEOUT = 0.3
SLACK = 1.0          # a loaded machine; an unbounded wait would be the client's 10 s


class Group:
    """Forged tokens for group g of an httpd, and callback requests to b.test."""

    NAV = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document",
           "Sec-Fetch-Site": "cross-site"}

    def __init__(self, httpd, codec):
        self.httpd = httpd
        self.codec = codec
        self.pos = len(httpd.log_text())

    def site(self, host):
        return f"{host}:{self.httpd.port}"

    def origin(self, host):
        return f"http://{host}:{self.httpd.port}"

    def session(self, host="a.test", user="alice"):
        b = Browser(self.httpd, host)
        b.set("user", user)
        return b, b.cookies[COOKIE]

    def push(self, sid, src="a.test", dst="b.test", **kw):
        return self.codec.seal(sid, self.site(src), self.site(dst), **kw)

    def spent_key(self, token, kind="p."):
        """The store key of a token's spent mark (prefix, kind, its token id)."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        raw = b64d(token)
        body = AESGCM(self.codec.keys[raw[1]]).decrypt(raw[2:14], raw[14:], raw[:2])
        return "shs:" + kind + b64e(body[10:26])

    def cors(self, src="a.test"):
        o = self.origin(src)
        return {"Origin": o, "Referer": o + "/", "Sec-Fetch-Dest": "image",
                "Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "cross-site"}

    def reasons(self):
        """The SHS00401 reasons logged since the last call."""
        log = self.httpd.log_text()
        got = REFUSED.findall(log[self.pos:])
        self.pos = len(log)
        return got

    def cb(self, token, headers=None, cookie=None, ret=None):
        """One callback on b.test -> (response, the id its cookie sets or None)."""
        path = "/_shs/cb?t=" + token + (f"&r={ret}" if ret else "")
        hdrs = dict(self.cors() if headers is None else headers, Host=self.site("b.test"))
        if cookie:
            hdrs["Cookie"] = cookie
        r = self.httpd.request("GET", path, timeout=10,
                               headers={k: v for k, v in hdrs.items() if v is not None})
        ids = [sc.split(";")[0].split("=", 1)[1] for sc in r.set_cookies(COOKIE)]
        return r, next((i for i in ids if i), None)

    def check(self, name, token, want, sid=None, **kw):
        """One callback: `want` is None (accepted, the cookie holds sid) or the reason; the
        problems found, as strings."""
        self.reasons()
        r, got = self.cb(token, **kw)
        time.sleep(0.02)                  # the log line follows the answer
        why = self.reasons()
        out = []
        if r.status != (302 if kw.get("ret") else 200):
            out.append(f"{name}: status {r.status}")
        if want is None and (got != sid or why):
            out.append(f"{name}: not accepted as {sid}: cookie {got}, refused {why}")
        if want is not None and (got or why != [want]):
            out.append(f"{name}: expected refused ({want}): cookie {got}, refused {why}")
        if want is not None and r.header("Access-Control-Allow-Origin"):
            out.append(f"{name}: refused, but CORS allowed")
        if r.elapsed > TIMEOUT + SLACK:
            out.append(f"{name}: answered in {r.elapsed:.2f} s")
        return out

    def parallel(self, token, n=20, cookie_every=0):
        """n callbacks with one token at once -> ([id set or None], reasons)."""
        self.reasons()
        barrier = threading.Barrier(n)

        def one(i):
            barrier.wait(timeout=10)
            c = f"{COOKIE}={cookie_every[1]}" if cookie_every and i % cookie_every[0] else None
            return self.cb(token, cookie=c)[1]
        with concurrent.futures.ThreadPoolExecutor(n) as ex:
            got = list(ex.map(one, range(n)))
        time.sleep(0.05)
        return got, self.reasons()


def status_lines(httpd, prometheus=False):
    r = httpd.request("GET", "/shs-status" + ("?format=prometheus" if prometheus else ""),
                      headers={"Host": "b.test"})
    assert r.status == 200, r
    return r.text.splitlines()


# ------------------------------------------------------------------ 1. the callback on each store

def callback_attacks(g, token_for=None):
    """Every case of part 1; token_for(sid) makes the push tokens (default g.push)."""
    push = token_for or (lambda sid, **kw: g.push(sid, **kw))
    problems = []
    _, alice = g.session("a.test", "alice")
    t = push(alice)
    problems += g.check("fresh", t, None, alice)
    problems += g.check("replayed", t, "replayed")
    problems += g.check("replayed with the cookie", t, "replayed", cookie=f"{COOKIE}={alice}")
    problems += g.check("same session here", push(alice), None, alice,
                        cookie=f"{COOKIE}={alice}")
    u = push(new_id())
    problems += g.check("unknown session", u, "unknown-session")
    problems += g.check("unknown session replayed", u, "replayed")
    bb, bob = g.session("a.test", "bob")
    assert bb.get("/logout.php").status == 200
    problems += g.check("deleted session", push(bob), "unknown-session")
    cors = g.cors()
    for name, hdrs, why in (
            ("no Origin", dict(cors, Origin=None), "no-origin"),
            ("Origin null", dict(cors, Origin="null"), "wrong-origin"),
            ("another Origin", dict(cors, Origin=g.origin("c.test")), "wrong-origin"),
            ("another Referer", dict(cors, Referer="http://evil.example/"), "wrong-referer"),
            ("a document", dict(cors, **{"Sec-Fetch-Dest": "document"}), "wrong-context"),
            ("a navigation", dict(cors, **{"Sec-Fetch-Mode": "navigate"}), "wrong-context"),
            ("typed", dict(cors, **{"Sec-Fetch-Site": "none"}), "wrong-context")):
        tok = push(alice)
        problems += g.check(name, tok, why, headers=hdrs)
        problems += g.check(name + ", then in the right context", tok, "replayed")
    problems += g.check("Origin null, unknown session", push(new_id()), "wrong-origin",
                        headers=dict(cors, Origin="null"))
    nonce = "n" * 22
    state = f"{STATE_COOKIE}={nonce}"
    pull = {"headers": g.NAV, "ret": "/x"}
    problems += g.check("pull without state", push(alice, nonce=nonce), "state-mismatch", **pull)
    problems += g.check("pull, another state", push(alice, nonce=nonce), "state-mismatch",
                        cookie=f"{STATE_COOKIE}={'m' * 22}", **pull)
    tok = push(alice, nonce=nonce)
    problems += g.check("pull, no state, spent", tok, "state-mismatch", **pull)
    problems += g.check("pull, then the right state", tok, "replayed", cookie=state, **pull)
    problems += g.check("pull not from the hub", push(alice, src="c.test", nonce=nonce),
                        "not-from-hub", cookie=state, **pull)
    problems += g.check("pull not a navigation", push(alice, nonce=nonce), "wrong-context",
                        cookie=state, ret="/x", headers=dict(g.NAV, **{"Sec-Fetch-Mode": "cors"}))
    tok = push(alice, nonce=nonce)
    problems += g.check("pull", tok, None, alice, cookie=state, **pull)
    problems += g.check("pull replayed", tok, "replayed", cookie=state, **pull)
    problems += g.check("pull, unknown session", push(new_id(), nonce=nonce), "unknown-session",
                        cookie=state, **pull)
    _, carol = g.session("b.test", "carol")           # a session of b's own
    problems += g.check("a local session", push(alice), "local-session-kept",
                        cookie=f"{COOKIE}={carol}")
    problems += g.check("a local session, pull", push(alice, nonce=nonce), "local-session-kept",
                        cookie=f"{state}; {COOKIE}={carol}", **pull)
    _, dave = g.session("a.test", "dave")
    problems += g.check("planted", push(dave, issued=int(time.time()) - 2), None, dave)
    _, erin = g.session("a.test", "erin")
    problems += g.check("planted, replaced", push(erin), None, erin, cookie=f"{COOKIE}={dave}")
    problems += g.check("a dead id here", push(alice), None, alice,
                        cookie=f"{COOKIE}={new_id()}")
    for i, every in enumerate((0, (2, alice))):
        got, why = g.parallel(push(alice), 20, cookie_every=every)
        ok = [c for c in got if c]
        if ok != [alice] or why != ["replayed"] * 19:
            problems.append(f"20 at once ({i}): accepted {ok}, refused {why}")
    return problems


def group_httpd(make_httpd, keyfile, extra="", **opts):
    opts.setdefault("files", FILES)
    return make_httpd(global_conf=pull_conf(keyfile.path) + LOG_INFO + extra,
                      vhost_conf=STATUS, **opts)


@pytest.mark.memcached_only
def test_callback_one_memcached(make_httpd, keyfile):
    httpd = group_httpd(make_httpd, keyfile)
    problems = callback_attacks(Group(httpd, keyfile.codec))
    assert "AH00052" not in httpd.log_text()
    assert not problems, "\n".join(problems)


@pytest.mark.memcached_only
@pytest.mark.parametrize("where", ["same", "other"])
def test_callback_two_memcached(make_httpd, keyfile, memcached, make_memcached, where):
    """The spent mark on the session's server (one round trip) or on the other one (the add,
    then the get)."""
    m2 = make_memcached()
    idents = [memcached.addr, m2.addr]
    httpd = group_httpd(make_httpd, keyfile, memcache_servers=idents)
    g = Group(httpd, keyfile.codec)

    def token_for(sid, **kw):
        home = owner(H.store_key(sid), idents)
        for _ in range(200):
            t = g.push(sid, **kw)
            if (owner(g.spent_key(t, "t." if kw.get("nonce") else "p."), idents) == home) \
                    == (where == "same"):
                return t
        raise AssertionError("no token with its spent mark where asked")
    problems = callback_attacks(g, token_for)
    assert "AH00052" not in httpd.log_text()
    assert not problems, "\n".join(problems)


@pytest.mark.memcached_only
def test_callback_replicas(make_httpd, keyfile, memcached, make_memcached):
    m2, m3 = make_memcached(), make_memcached()
    httpd = group_httpd(make_httpd, keyfile, "SharedSessionMemcacheReplicas 2\n",
                        memcache_servers=[memcached.addr, m2.addr, m3.addr])
    problems = callback_attacks(Group(httpd, keyfile.codec))
    assert "AH00052" not in httpd.log_text()
    assert not problems, "\n".join(problems)


def test_callback_embedded_store(make_httpd, keyfile, workdir):
    httpd = group_httpd(make_httpd, keyfile, memcache_servers=None,
                        server_conf=f'SharedSessionStore "shm:{workdir}/store.shm(8M)"')
    problems = callback_attacks(Group(httpd, keyfile.codec))
    assert "AH00052" not in httpd.log_text()
    assert not problems, "\n".join(problems)


@pytest.mark.memcached_only
def test_callback_unix_socket(make_httpd, keyfile, make_memcached):
    m = make_memcached(unix_socket=True)
    httpd = group_httpd(make_httpd, keyfile, memcached=m)
    problems = callback_attacks(Group(httpd, keyfile.codec))
    assert "AH00052" not in httpd.log_text()
    assert not problems, "\n".join(problems)


def test_pull_through_the_hub_for_a_new_browser(make_httpd, keyfile):
    """The hub's new empty session reaches the peer whose browser has no id yet (the read in
    the spent mark's round trip, an empty value)."""
    httpd = group_httpd(make_httpd, keyfile)
    nav = Navigator(httpd)
    hops = nav.navigate(nav.url("b.test", "/page.html"))
    assert [h.status for h in hops] == [302, 302, 302, 302, 200], H.format_hops(hops)
    assert nav.sid("b.test") and nav.sid("b.test") == nav.sid("a.test"), H.format_hops(hops)


# ------------------------------------------------------------------ 2. memcached failing

@pytest.mark.memcached_only
@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
def test_callback_while_memcached_is_stalled(make_httpd, keyfile, memcached, make_memcached,
                                             expect_log, unix):
    m = make_memcached(unix_socket=True) if unix else memcached
    expect_log("SHS00302", "SHS00303", r"SHS00401: .*\(store-unavailable\)")
    httpd = group_httpd(make_httpd, keyfile, memcached=m, timeout="300ms", retry="1s",
                        processes=1)
    g = Group(httpd, keyfile.codec)
    _, alice = g.session()
    problems = []
    m.stall()
    try:
        for i in range(3):          # the first waits for the timeout, the others skip
            problems += g.check(f"stalled {i}", g.push(alice), "store-unavailable")
        problems += g.check("stalled, Origin null", g.push(alice), "store-unavailable",
                            headers=dict(g.cors(), Origin="null"))
        up = [l for l in status_lines(httpd, True) if l.startswith("shs_memcached_up{")]
        if up != [f'shs_memcached_up{{server="{m.addr}"}} 0']:
            problems.append(f"status page: {up}")
    finally:
        m.cont()
    ok = H.wait_until(lambda: g.cb(g.push(alice))[1] == alice, 5, 0.2)
    assert ok, "no callback accepted within 5 s of memcached answering again"
    assert "AH00052" not in httpd.log_text()
    assert not problems, "\n".join(problems)


class HostileMemcached:
    """memcached's text protocol on 127.0.0.1, answering a used-token mark's `add` and the
    `get` that follows it as `mode` says; everything else as memcached does."""

    def __init__(self):
        self.data = {}
        self.mode = "ok"
        self.lock = threading.Lock()
        self.server = FakeMemcached(self._serve)
        self.addr = self.server.addr

    def close(self):
        self.server.close()

    def _value(self, key, other=False):
        with self.lock:
            if other:
                items = [(k, v) for k, v in self.data.items() if k != key and "." not in k]
                key, v = items[-1] if items else (key, None)
            else:
                v = self.data.get(key)
        return value_answer(key, v)

    def _serve(self, c):
        held = None
        while True:
            parts, val = c.command()
            if val is not None:
                with self.lock:
                    ok = parts[0] == "set" or parts[1] not in self.data
                    if ok:
                        self.data[parts[1]] = val
                answer = b"STORED\r\n" if ok else b"NOT_STORED\r\n"
                mode = self.mode if parts[0] == "add" and parts[1][4:6] in ("p.", "t.") \
                    else "ok"
                answer = {"notstored": b"NOT_STORED\r\n",
                          "add-server-error": b"SERVER_ERROR out of memory\r\n",
                          "stored-twice": b"STORED\r\nSTORED\r\n"}.get(mode, answer)
                if mode == "reversed" and c.buf.startswith(b"get "):
                    held = answer
                    continue
                c.send(answer)
                if mode == "close-after-first":
                    return
                held = mode if mode in ("other-value", "first-then-silence", "extra") \
                    else None
            elif parts[0] == "get":
                how, held = held, None
                if how == "first-then-silence":
                    continue
                out = self._value(parts[1], other=how == "other-value")
                c.send(out + (b"STORED\r\n" if how == "extra" else
                              how if isinstance(how, bytes) else b""))
            else:
                answer_other(c, parts, self.data, self.lock)


@pytest.mark.memcached_only
@pytest.mark.expect_log("SHS00302", "SHS00303", r"SHS00401: .*\(store-unavailable\)")
def test_hostile_answers_to_the_pipelined_pair(make_httpd, keyfile):
    """STORED then another session's VALUE, NOT_STORED then the VALUE, the first answer then
    silence, the answers reversed, one answer too many, SERVER_ERROR to the add, the
    connection closed after the first answer, STORED twice: never a session adopted, never
    another visitor's, an answer within the timeout."""
    fake = HostileMemcached()
    try:
        httpd = group_httpd(make_httpd, keyfile, memcache_servers=[fake.addr],
                            timeout="300ms", retry="200ms", processes=1)
        g = Group(httpd, keyfile.codec)
        _, alice = g.session("a.test", "alice")
        g.session("a.test", "bob")
        problems = []
        for mode, why in (("notstored", "replayed"), ("other-value", "store-unavailable"),
                          ("first-then-silence", "store-unavailable"),
                          ("reversed", "store-unavailable"), ("extra", "store-unavailable"),
                          ("add-server-error", "store-unavailable"),
                          ("close-after-first", "store-unavailable"),
                          ("stored-twice", "store-unavailable")):
            fake.mode = "ok"
            healthy = H.wait_until(lambda: g.cb(g.push(alice))[1] == alice, 3, 0.1)
            assert healthy, f"before {mode}: memcached answering properly, no callback accepted"
            fake.mode = mode
            problems += g.check(mode, g.push(alice), why)
            problems += g.check(mode + ", pull", g.push(alice, nonce="n" * 22),
                                "replayed" if mode == "notstored" else "store-unavailable",
                                cookie=f"{STATE_COOKIE}={'n' * 22}", headers=g.NAV, ret="/x")
        assert "AH00052" not in httpd.log_text()
        assert not problems, "\n".join(problems)
    finally:
        fake.close()


# ------------------------------------------------------------------ 3. memcached on a unix socket

def start_socket_memcached(path, procs):
    p = subprocess.Popen([H.MEMCACHED, "-s", path, "-a", "0666", "-m", "16"]
                         + (["-u", "root"] if os.geteuid() == 0 else []),
                         stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    procs.append(p)
    H.wait_for(f"memcached to answer on {path}", lambda: _answers(path), 5)
    return p


def _answers(path):
    try:
        return bool(H.McClient(path).stats())
    except OSError:
        return False


@pytest.fixture
def socket_procs():
    procs = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(10)


LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
PROM_SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[a-zA-Z_]\w*=' + LABEL_VALUE
                         + r'(?:,[a-zA-Z_]\w*=' + LABEL_VALUE + r')*\})? \d+$')


@pytest.mark.memcached_only
def test_socket_path_with_quote_and_backslash(make_httpd, keyfile, workdir, socket_procs):
    d = os.path.join(workdir, 'q"b\\s')
    os.makedirs(d)
    os.chmod(d, 0o755)
    path = os.path.join(d, "mc.sock")
    start_socket_memcached(path, socket_procs)
    quoted = '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'
    httpd = group_httpd(make_httpd, keyfile, memcache_servers=[quoted])
    g = Group(httpd, keyfile.codec)
    _, alice = g.session()
    assert g.cb(g.push(alice))[1] == alice
    assert any(l.strip().startswith(path + " up since") for l in status_lines(httpd))
    prom = status_lines(httpd, True)
    bad = [l for l in prom if l and not l.startswith("#") and not PROM_SAMPLE.match(l)]
    assert not bad, bad
    label = path.replace("\\", "\\\\").replace('"', '\\"')
    assert f'shs_memcached_up{{server="{label}"}} 1' in prom, prom


@pytest.mark.memcached_only
@pytest.mark.parametrize("kind", ["directory", "missing"])
def test_socket_path_not_a_socket_then_one(make_httpd, keyfile, workdir, socket_procs,
                                           expect_log, kind):
    path = os.path.join(workdir, "mc.sock")
    if kind == "directory":
        os.makedirs(path)
    expect_log(rf"SHS00302: memcached {re.escape(path)} failed",
               rf"SHS00303: memcached {re.escape(path)} is still", "SHS00113",
               r"SHS00401: .*\(store-unavailable\)")
    httpd = group_httpd(make_httpd, keyfile, memcache_servers=[path], timeout="300ms",
                        retry="300ms")
    g = Group(httpd, keyfile.codec)
    b = Browser(httpd, "a.test")
    assert b.set("user", "alice").status == 200 and COOKIE not in b.cookies
    assert g.check("no memcached", g.push(new_id()), "store-unavailable") == []
    httpd.wait_log(rf"SHS00302: memcached {re.escape(path)} failed \(")
    if kind == "directory":
        os.rmdir(path)
    start_socket_memcached(path, socket_procs)

    def stored():
        b = Browser(httpd, "a.test")
        b.set("user", "x")
        return COOKIE in b.cookies
    assert H.wait_until(stored, 10, 0.2), "no session stored within 10 s of the socket appearing"
    def handed_over():
        # either process's breaker may still wait for its retry time: a fresh session and
        # token each try
        b = Browser(httpd, "a.test")
        b.set("user", "alice")
        sid = b.cookies.get(COOKIE)
        return sid is not None and g.cb(g.push(sid))[1] == sid
    assert H.wait_until(handed_over, 10, 0.2), "no hand-over within 10 s of the socket appearing"
    assert "AH00052" not in httpd.log_text()


@pytest.mark.parametrize("length,ok", [(107, True), (108, False), (200, False)])
def test_socket_path_length(configtest, length, ok):
    path = "/" + "s" * (length - 1)
    rc, out, h = configtest(server_conf=f"SharedSessionMemcache {path}")
    if ok:
        assert rc == 0, out
    else:
        h.assert_refused(rc, out, f"SharedSessionMemcache {path}",
                         f"SharedSessionMemcache: '{path[:40]}...': a socket path is at most "
                         "107 bytes")
