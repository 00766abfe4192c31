"""Regression tests of the third attack pass: what it tried that the module withstood.

1. The cross-domain endpoints (/_shs/cb, go, attach, pull) under malformed, tampered, expired,
   misdirected and replayed tokens, wrong request context, repeated parameters and encoding
   tricks: each refused with its reason word in the log line and its row of the status page.
   The reasons are those the module gave before the refusal reasons became one enum.
2. A memcached that lies (another key's value, a bad length, garbage, an error, a closed or a
   stalled connection): a request never sees another visitor's session, waits at most about
   SharedSessionMemcacheTimeout, and sessions come back once the server answers properly.

Set-up: a, b, c form group g with a.test as the hub (test_pull.pull_conf); x.test and z.test
form another group; y.test is in no group."""

import re
import threading
import time
import urllib.parse

import pytest

from pyshs import COOKIE, Browser, find_tags
from pyshs.fakemc import FakeMemcached, answer_other, value_answer
from pyshs.tokens import TokenCodec, new_id
from test_pull import FILES, pull_conf

STATUS = "<Location /shs-status>\n    SetHandler sharedsession-status\n</Location>\n"
OTHER_GROUP = "SharedSessionGroup other http://x.test:{port} http://z.test:{port}\n"
LOG_INFO = "LogLevel warn sharedsession:info\n"
REFUSED = re.compile(r"SHS00(?:401: cross-domain token|604: attach request|507: push step) "
                     r"refused \(([^)]*)\)")


def refusal_rows(httpd):
    """The status page's "callbacks refused, by reason" rows: {reason: count}."""
    r = httpd.request("GET", "/shs-status", headers={"Host": "b.test"})
    assert r.status == 200, r
    part = r.text.split("callbacks refused, by reason:\n", 1)[1].split("\n\n", 1)[0]
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^\s+([a-z][a-z-]+)\s+(\d+)$", part, re.M)}


# ------------------------------------------------------------------ 1. the endpoints

def test_endpoint_refusals_keep_their_reasons(make_httpd, keyfile):
    httpd = make_httpd(global_conf=pull_conf(keyfile.path) + OTHER_GROUP + LOG_INFO,
                       vhost_conf=STATUS, files=FILES)
    port = httpd.port
    codec = keyfile.codec
    stranger = TokenCodec({7: b"k" * 32})     # a key id the key file does not have
    site = lambda h: f"{h}:{port}"            # noqa: E731
    alice = Browser(httpd, "a.test")
    alice.set("user", "alice")
    sid = alice.cookies[COOKIE]
    now = int(time.time())

    def push(src="a.test", **kw):
        return codec.seal(kw.pop("sid", sid), kw.pop("src", site(src)),
                          kw.pop("dst", site("b.test")), **kw)

    def att(**kw):
        return codec.seal(sid, kw.pop("src", site("b.test")), kw.pop("dst", site("a.test")), **kw)

    o = f"http://a.test:{port}"
    cors = {"Origin": o, "Referer": o + "/", "Sec-Fetch-Dest": "image",
            "Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "cross-site"}
    nav = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document",
           "Sec-Fetch-Site": "cross-site"}
    nonce = "n" * 22
    state = f"{COOKIE}_state={nonce}"
    page = alice.get("/page.html")
    tags = find_tags(page.text)
    assert tags, page
    fp = urllib.parse.parse_qs(urllib.parse.urlsplit(tags[0].go).query)["f"][0]
    same = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Dest": "image", "Sec-Fetch-Mode": "cors"}
    idc = f"{COOKIE}={sid}"
    good = push()
    cb = "/_shs/cb?t="
    replayed = push()
    spent = att(nonce=nonce)
    # name, host, path, headers, cookie, status, reason logged (None: none), status-page row
    cases = [
        ("no t", "b.test", "/_shs/cb", cors, None, 200, "no-token", "no-token"),
        ("empty t", "b.test", cb, cors, None, 200, "no-token", "no-token"),
        ("not base64url", "b.test", cb + "!!!!", cors, None, 200, "malformed", "malformed"),
        ("truncated", "b.test", cb + good[:-5], cors, None, 200, "malformed", "malformed"),
        ("tampered", "b.test", cb + good[:40] + ("A" if good[40] != "A" else "B") + good[41:],
         cors, None, 200, "bad-auth", "bad-auth"),
        ("trailing bytes", "b.test", cb + good + "AAAA", cors, None, 200, "bad-auth", "bad-auth"),
        ("expired", "b.test", cb + push(issued=now - 3600), cors, None, 200, "expired", "expired"),
        ("not yet valid", "b.test", cb + push(issued=now + 3600), cors, None, 200,
         "not-yet-valid", "not-yet-valid"),
        ("lifetime 0", "b.test", cb + push(lifetime=0), cors, None, 200, "bad-lifetime",
         "bad-lifetime"),
        ("lifetime over an hour", "b.test", cb + push(lifetime=3601), cors, None, 200,
         "bad-lifetime", "bad-lifetime"),
        ("version 2", "b.test", cb + push(version=2), cors, None, 200, "bad-version",
         "bad-version"),
        ("unknown key", "b.test", cb + stranger.seal(sid, site("a.test"), site("b.test")), cors,
         None, 200, "unknown-key", "unknown-key"),
        ("another destination", "b.test", cb + push(dst=site("c.test")), cors, None, 200,
         f"wrong-destination: for c.test:{port}, this site is b.test:{port}", "wrong-destination"),
        ("source in no group", "b.test", cb + push("y.test"), cors, None, 200,
         "source-not-in-group", "source-not-in-group"),
        ("source in another group", "b.test", cb + push("x.test"), cors, None, 200,
         "source-in-other-group", "source-in-other-group"),
        ("source is destination", "b.test", cb + push("b.test"), cors, None, 200,
         "source-is-destination", "source-is-destination"),
        ("pull token in push", "b.test", cb + push(nonce=nonce), cors, None, 200,
         "pull-token-in-push", "wrong-transport"),
        ("no Origin", "b.test", cb + push(), dict(cors, Origin=None), None, 200, "no-origin",
         "other"),
        ("Origin null", "b.test", cb + push(), dict(cors, Origin="null"), None, 200,
         "wrong-origin", "other"),
        ("Origin on another port", "b.test", cb + push(),
         dict(cors, Origin=f"http://a.test:{port + 1}"), None, 200, "wrong-origin", "other"),
        ("Referer elsewhere", "b.test", cb + push(), dict(cors, Referer="http://evil.example/"),
         None, 200, "wrong-referer", "wrong-referer"),
        ("navigation", "b.test", cb + push(),
         dict(cors, **{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}), None, 200,
         "wrong-context", "wrong-context"),
        ("script token as image", "b.test", cb + push() + "&k=js", cors, None, 200,
         "wrong-context", "wrong-context"),
        ("unknown session", "b.test", cb + push(sid=new_id()), cors, None, 200,
         "unknown-session", "unknown-session"),
        ("percent-encoded token", "b.test", cb + push().replace("A", "%41"), cors, None, 200,
         "malformed", "malformed"),
        ("NUL after the token", "b.test", cb + push() + "%00junk", cors, None, 200, "malformed",
         "malformed"),
        ("CRLF after the token", "b.test", cb + push() + "%0d%0aSet-Cookie:%20x=1", cors, None,
         200, "malformed", "malformed"),
        ("huge token", "b.test", cb + "A" * 7000, cors, None, 200, "malformed", "malformed"),
        ("first t= counts (bad)", "b.test", cb + "junk&t=" + push(), cors, None, 200,
         "malformed", "malformed"),
        ("accepted", "b.test", cb + replayed, cors, None, 200, None, None),
        ("replayed", "b.test", cb + replayed, cors, None, 200, "replayed", "replayed"),
        ("push token in pull", "b.test", cb + push() + "&r=/x", nav, state, 302,
         "push-token-in-pull", "wrong-transport"),
        ("pull without state", "b.test", cb + push(nonce=nonce) + "&r=/x", nav, None, 302,
         "state-mismatch", "state-mismatch"),
        ("pull not from the hub", "b.test", cb + push("c.test", nonce=nonce) + "&r=/x", nav,
         state, 302, "not-from-hub", "not-from-hub"),
        ("pull not a navigation", "b.test", cb + push(nonce=nonce) + "&r=/x",
         dict(nav, **{"Sec-Fetch-Mode": "cors"}), state, 302, "wrong-context", "wrong-context"),
        ("go: no to", "a.test", f"/_shs/go?f={fp}", same, idc, 200, "unknown-site", None),
        ("go: to another group", "a.test", f"/_shs/go?to=x.test:{port}&f={fp}", same, idc, 200,
         "unknown-site", None),
        ("go: to itself", "a.test", f"/_shs/go?to=a.test:{port}&f={fp}", same, idc, 200,
         "unknown-site", None),
        ("go: NUL in to", "a.test", f"/_shs/go?to=b.test:{port}%00x&f={fp}", same, idc, 200,
         "unknown-site", None),
        ("go: cross-site", "a.test", f"/_shs/go?to=b.test:{port}&f={fp}",
         dict(same, **{"Sec-Fetch-Site": "cross-site"}), idc, 200, "wrong-context", None),
        ("go: another fingerprint", "a.test", f"/_shs/go?to=b.test:{port}&f=zzzz", same, idc,
         200, "no-session", None),
        ("attach: no t", "a.test", "/_shs/attach?r=/y", nav, None, 400, "no-token", None),
        ("attach: empty t", "a.test", "/_shs/attach?r=/y&t=", nav, None, 400, "malformed", None),
        ("attach: expired", "a.test", "/_shs/attach?r=/y&t=" + att(nonce=nonce, issued=now - 3600),
         nav, None, 400, "expired", None),
        ("attach: another destination", "a.test",
         "/_shs/attach?r=/y&t=" + att(nonce=nonce, dst=site("c.test")), nav, None, 400,
         "wrong-destination", None),
        ("attach: from the hub itself", "a.test",
         "/_shs/attach?r=/y&t=" + att(nonce=nonce, src=site("a.test")), nav, None, 400,
         "source-not-in-group", None),
        ("attach: from another group", "a.test",
         "/_shs/attach?r=/y&t=" + att(nonce=nonce, src=site("x.test")), nav, None, 400,
         "source-not-in-group", None),
        ("attach: push token", "a.test", "/_shs/attach?r=/y&t=" + att(), nav, None, 400,
         "no-nonce", None),
        ("attach: accepted", "a.test", "/_shs/attach?r=/y&t=" + spent, nav, None, 302, None, None),
        ("attach: replayed", "a.test", "/_shs/attach?r=/y&t=" + spent, nav, None, 400, "replayed",
         None),
        ("attach at a site that is not the hub", "b.test",
         "/_shs/attach?r=/y&t=" + att(nonce=nonce, dst=site("b.test")), nav, None, 404, None, None),
    ]
    problems = []
    pos = len(httpd.log_text())
    for name, host, path, headers, cookie, status, reason, row in cases:
        before = refusal_rows(httpd)
        hdrs = dict(headers, Host=site(host))
        if cookie:
            hdrs["Cookie"] = cookie
        r = httpd.request("GET", path, headers={k: v for k, v in hdrs.items() if v is not None})
        log = httpd.log_text()
        got = REFUSED.findall(log[pos:])
        pos = len(log)
        after = refusal_rows(httpd)
        rows = {k for k in after if after[k] != before.get(k, 0)}
        if r.status != status:
            problems.append(f"{name}: status {r.status}, expected {status}")
        if got != ([reason] if reason else []):
            problems.append(f"{name}: logged {got}, expected {reason}")
        if rows != ({row} if row else set()):
            problems.append(f"{name}: counted in {sorted(rows)}, expected {row}")
        if reason and [c for c in r.set_cookies() if c.startswith(COOKIE + "=")]:
            problems.append(f"{name}: refused, but set the id cookie: {r.set_cookies()}")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------ 2. a memcached that lies

class LyingMemcached:
    """memcached's text protocol on 127.0.0.1 with a store of its own, answering `get` as
    self.get_mode says and storage commands as self.store_mode says."""

    def __init__(self):
        self.data = {}
        self.get_mode = self.store_mode = "ok"
        self.lock = threading.Lock()
        self.server = FakeMemcached(self._serve)
        self.port = self.server.port

    def close(self):
        self.server.close()

    def _serve(self, c):
        while True:
            parts, val = c.command()
            if val is not None:
                if not self._store(c, parts[0], parts[1], val):
                    return
            elif parts[0] == "get":
                if not self._get(c, parts[1]):
                    return
            else:
                answer_other(c, parts, self.data, self.lock)

    def _store(self, c, cmd, key, val):
        mode = self.store_mode
        with self.lock:
            ok = cmd == "set" or key not in self.data
            if ok and mode == "ok":
                self.data[key] = val
        if mode == "server-error":
            c.send(b"SERVER_ERROR out of memory storing object\r\n")
        elif mode == "garbage":
            c.send(b"STORED EXTRA\r\n")
        else:
            c.send(b"STORED\r\n" if ok else b"NOT_STORED\r\n")
        return True

    def _get(self, c, key):
        mode = self.get_mode
        with self.lock:
            mine = self.data.get(key)
            others = [(k, v) for k, v in self.data.items() if k != key and "." not in k]
        v = mine if mine is not None else b"x"
        k = key.encode()
        whole = value_answer(key, mine)
        if mode == "ok":
            c.send(whole)
        elif mode == "another key's value":
            ok, ov = others[-1]
            c.send(value_answer(ok, ov))
        elif mode == "two answers at once":
            c.send(whole + whole)
        elif mode == "a length too short":
            c.send(b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (k, len(v) - 3, v))
        elif mode == "a huge length":
            c.send(b"VALUE %s 0 4294967295\r\n%s" % (k, v))
        elif mode == "garbage":
            c.send(bytes(range(256)) * 16)
        elif mode == "SERVER_ERROR":
            c.send(b"SERVER_ERROR out of memory\r\n")
        elif mode == "closed mid-answer":
            c.send(whole[:len(whole) // 2])
            return False
        elif mode == "a length too long (stalls)":
            c.send(b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (k, len(v) + 10, v))
        elif mode == "byte by byte past the timeout":
            for b in whole[:20]:
                c.send(bytes([b]))
                time.sleep(0.05)
            return False
        return True


TIMEOUT = 0.3
SLACK = 1.0          # a loaded machine; an unbounded wait would be the 10 s client timeout


@pytest.fixture
def liar(make_httpd):
    fake = LyingMemcached()
    httpd = make_httpd(memcache_servers=[f"127.0.0.1:{fake.port}"], timeout="300ms",
                       retry="200ms", global_conf=LOG_INFO)
    yield fake, httpd
    fake.close()


def whoami(b):
    t0 = time.monotonic()
    r = b.get("/whoami.php", timeout=10)
    assert r.status == 200, r
    return r.json()["session"].get("user"), time.monotonic() - t0


def back_to_normal(fake, people, within=5.0):
    fake.get_mode = fake.store_mode = "ok"
    end = time.monotonic() + within
    while time.monotonic() < end:
        if all(whoami(b)[0] == name for b, name in people):
            return
        time.sleep(0.05)
    pytest.fail(f"sessions not back {within} s after memcached answered properly again")


@pytest.mark.expect_log("SHS00302", "SHS00303", "SHS00111")
def test_lying_memcached_never_shows_another_session(liar):
    fake, httpd = liar
    people = []
    for name in ("alice", "bob"):
        b = Browser(httpd, "a.test")
        b.set("user", name)
        people.append((b, name))
    problems = []
    for mode in ("another key's value", "two answers at once", "a length too short",
                 "a huge length", "garbage", "SERVER_ERROR", "closed mid-answer",
                 "a length too long (stalls)", "byte by byte past the timeout"):
        back_to_normal(fake, people)
        time.sleep(0.25)                  # the breaker closed in every process
        fake.get_mode = mode
        for b, name in people + people:
            user, took = whoami(b)
            if user not in (name, None):
                problems.append(f"{mode}: {name} was shown {user}'s session")
            if took > TIMEOUT + SLACK:
                problems.append(f"{mode}: {name} waited {took:.2f} s")
            if mode != "ok" and user == name and mode != "two answers at once":
                problems.append(f"{mode}: a broken answer was taken for {name}'s session")
    back_to_normal(fake, people)
    for mode in ("server-error", "garbage"):
        fake.store_mode = mode
        b, name = people[0]
        t0 = time.monotonic()
        r = b.get("/set.php?k=color&v=" + urllib.parse.quote(mode), timeout=10)
        if r.status != 200 or time.monotonic() - t0 > TIMEOUT + SLACK:
            problems.append(f"store {mode}: {r.status} after {time.monotonic() - t0:.2f} s")
        back_to_normal(fake, people)
    assert "AH00052" not in httpd.log_text()
    assert not problems, "\n".join(problems)
