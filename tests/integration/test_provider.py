"""The storage provider against a real memcached: ids, keys, cookies, strict mode, logout,
malformed cookies and TTLs."""

import os
import re
import socket

import pytest

import pyshs as H
from pyshs import COOKIE, ID_RE, decode_session, new_id, parse_set_cookie, store_key


def shs_cookie(resp, name=COOKIE):
    """The single Set-Cookie for `name` in resp (asserting there is exactly one)."""
    scs = resp.set_cookies(name)
    assert len(scs) == 1, f"expected one Set-Cookie for {name}: {resp}"
    return scs[0]


def new_session(httpd, host="a.test", **data):
    """A browser whose session holds `data` (written one key at a time), and its id."""
    b = httpd.browser(host)
    first = True
    for k, v in data.items():
        r = b.set(k, v)
        if first:
            sc = shs_cookie(r)
            name, sid, _ = parse_set_cookie(sc)
            assert name == COOKIE and ID_RE.match(sid), f"bad id cookie {sc!r}"
            first = False
    return b, b.cookies[COOKIE]


# ------------------------------------------------------------------ 1. basic round trip

@pytest.mark.memcached_only
def test_write_read_merge_and_store(httpd, mc):
    b = httpd.browser()
    r, who = b.whoami()
    assert who["session"] == {} and not r.set_cookies(), "a fresh visitor has no session"
    assert not r.set_cookies(COOKIE), "a session with no data gets no cookie"

    r = b.set("k", "v")
    sc = shs_cookie(r)
    name, sid, _ = parse_set_cookie(sc)
    assert name == COOKIE
    assert ID_RE.match(sid), f"id must be 43 chars of base64url: {sid!r}"

    r, who = b.whoami()
    assert who["session"] == {"k": "v"}, who
    assert who["raw"] == "k=v"
    assert not r.set_cookies(COOKIE), f"no cookie change on a read: {r}"

    key = store_key(sid)
    assert re.fullmatch(r"shs:[A-Za-z0-9_-]{43}", key)
    assert mc.get(key) == "k=v", "memcached holds mod_session's encoding under the derived key"

    r = b.set("k2", "v 2&x=y")          # urlencoding survives the round trip
    for sc in r.set_cookies(COOKIE):
        assert parse_set_cookie(sc)[1] == sid, f"the id must not change on an update: {sc!r}"
    r, who = b.whoami()
    assert who["session"] == {"k": "v", "k2": "v 2&x=y"}, who
    assert decode_session(mc.get(key)) == {"k": "v", "k2": "v 2&x=y"}
    assert b.cookies[COOKIE] == sid


def test_cookie_hidden_from_app_but_other_cookies_pass(httpd):
    b, sid = new_session(httpd, k="v")
    b.cookies["other"] = "1"
    r, who = b.whoami()
    assert who["session"] == {"k": "v"}
    assert who["cookies"] == {"other": "1"}, who
    assert not who["shs_cookie_seen"], f"{COOKIE} reached PHP: {who}"
    assert "other=1" in (who["http_cookie"] or "")


def test_cookie_reaches_app_with_cookie_remove_off(make_httpd):
    httpd = make_httpd(vhost_conf="SharedSessionCookieRemove Off")
    b, sid = new_session(httpd, k="v")
    b.cookies["other"] = "1"
    r, who = b.whoami()
    assert who["session"] == {"k": "v"}
    assert who["cookies"].get(COOKIE) == sid, who
    assert who["cookies"].get("other") == "1", who


# ------------------------------------------------------------------ 2. cookie attributes

def test_default_cookie_attributes(httpd):
    b = httpd.browser()
    sc = shs_cookie(b.set("k", "v"))
    name, sid, attrs = parse_set_cookie(sc)
    print("Set-Cookie:", sc)
    assert attrs.get("path") == ("Path", "/"), sc
    assert "httponly" in attrs, sc
    assert attrs.get("samesite", (None, ""))[1].lower() == "lax", sc
    assert "secure" not in attrs, f"no Secure on plain http: {sc!r}"
    assert "domain" not in attrs, sc


def test_custom_cookie_name_and_attributes_verbatim(make_httpd):
    httpd = make_httpd(vhost_conf='SharedSessionCookieName sid "Path=/; HttpOnly; SameSite=Strict"')
    b = httpd.browser()
    r = b.set("k", "v")
    assert not r.set_cookies(COOKIE), r
    sc = shs_cookie(r, "sid")
    print("Set-Cookie:", sc)
    name, sid, attrs = parse_set_cookie(sc)
    assert ID_RE.match(sid)
    assert sc.endswith("Path=/; HttpOnly; SameSite=Strict"), f"attributes not verbatim: {sc!r}"
    assert sc.startswith(f"sid={sid};"), sc
    r, who = b.whoami()
    assert who["session"] == {"k": "v"}
    assert "sid" not in who["cookies"], "the renamed cookie is hidden from PHP too"


# ------------------------------------------------------------------ 3. CGI and PHP agree

def test_shell_cgi_sees_same_session_as_php(httpd):
    b, sid = new_session(httpd, a="1", b="two words")
    b.cookies["other"] = "1"
    r, who = b.whoami()
    r2 = b.get("/env.cgi")
    assert r2.status == 200, r2
    env = dict(line.split("=", 1) for line in r2.text.splitlines() if "=" in line)
    assert decode_session(env["HTTP_SESSION"]) == who["session"] == {"a": "1", "b": "two words"}
    assert env["HTTP_SESSION"] == who["raw"]
    assert COOKIE not in env["HTTP_COOKIE"], r2.text
    assert "other=1" in env["HTTP_COOKIE"], r2.text


# ------------------------------------------------------------------ 4. logout

@pytest.mark.memcached_only
def test_logout_deletes_key_and_expires_cookie(httpd, mc):
    b, sid = new_session(httpd, a="1", b="2")
    key = store_key(sid)
    assert decode_session(mc.get(key)) == {"a": "1", "b": "2"}

    r = b.get("/logout.php")
    assert r.status == 200, r
    assert sorted(r.json()["cleared"]) == ["a", "b"]
    sc = shs_cookie(r)
    name, val, attrs = parse_set_cookie(sc)
    print("logout Set-Cookie:", sc)
    assert val == "", sc
    assert attrs.get("max-age", (None, None))[1] == "0", f"cookie not expired: {sc!r}"
    assert mc.get(key) is None, "the memcached key must be deleted at logout"
    assert COOKIE not in b.cookies

    # a browser that kept the old cookie is anonymous now
    old = httpd.browser()
    old.cookies[COOKIE] = sid
    r, who = old.whoami()
    assert who["session"] == {}, who
    assert mc.get(key) is None


# ------------------------------------------------------------------ 5. strict mode / key derivation

@pytest.mark.memcached_only
def test_invented_id_is_not_adopted(httpd, mc):
    invented = new_id()
    b = httpd.browser()
    b.cookies[COOKIE] = invented
    r, who = b.whoami()
    assert who["session"] == {}, who

    r = b.set("k", "v")
    sc = shs_cookie(r)
    _, issued, _ = parse_set_cookie(sc)
    assert ID_RE.match(issued)
    assert issued != invented, "an unknown id must never be adopted"
    assert mc.get(store_key(invented)) is None, "nothing stored under the invented id"
    assert mc.get(store_key(issued)) == "k=v"
    r, who = b.whoami()
    assert who["session"] == {"k": "v"}


@pytest.mark.memcached_only
def test_issued_id_loaded_from_derived_key(httpd, mc):
    sid = new_id()                     # models an id the server issued (maybe elsewhere)
    mc.set(store_key(sid), "user=bob&role=admin%20x")
    b = httpd.browser()
    b.cookies[COOKIE] = sid
    r, who = b.whoami()
    assert who["session"] == {"user": "bob", "role": "admin x"}, who
    # an update keeps the id and writes to the same key
    r = b.set("k", "v")
    for sc in r.set_cookies(COOKIE):
        assert parse_set_cookie(sc)[1] == sid, sc
    assert decode_session(mc.get(store_key(sid))) == {"user": "bob", "role": "admin x", "k": "v"}


@pytest.mark.memcached_only
def test_key_prefix_directive(make_httpd, mc):
    httpd = make_httpd(global_conf="SharedSessionKeyPrefix tst/")
    b, sid = new_session(httpd, k="v")
    assert mc.get(store_key(sid, "tst/")) == "k=v"
    assert mc.get(store_key(sid)) is None


# ------------------------------------------------------------------ 6. malformed cookies

VALID = new_id()
MALFORMED = {
    "len42": VALID[:42],
    "len44": VALID + "A",
    "dotdot": VALID[:20] + ".." + VALID[22:],
    "space": VALID[:20] + " " + VALID[21:],
    "quote_inside": VALID[:20] + '"' + VALID[21:],
    "pct_crlf": VALID[:20] + "%0d%0a" + VALID[26:],
    "std_base64": VALID[:20] + "+/" + VALID[22:],
    "empty": "",
    "nul_like": VALID[:20] + "%00" + VALID[23:],
    "semicolon_inside": VALID[:20] + "," + VALID[21:],
}


@pytest.mark.parametrize("variant", sorted(MALFORMED))
def test_malformed_cookie_never_reaches_memcached(httpd, mc, variant):
    value = MALFORMED[variant]
    before = mc.stat("cmd_get")
    r = httpd.request("GET", "/whoami.php",
                      headers={"Host": "a.test", "Cookie": f"{COOKIE}={value}; other=1"})
    after = mc.stat("cmd_get")
    print(f"{variant}: cookie {value!r} -> {r.status}, cmd_get {before}->{after}")
    assert r.status == 200, r
    who = r.json()
    assert who["session"] == {}, who
    assert after - before == 0, f"memcached was asked for a malformed id ({variant})"
    assert not r.set_cookies(COOKIE), r
    assert "exit signal" not in httpd.log_text()


@pytest.mark.memcached_only
@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "dquoted"])
def test_wellformed_unknown_cookie_does_reach_memcached(httpd, mc, quoted):
    """Control for the test above: the cmd_get measurement does see a lookup.  A DQUOTE-wrapped
    value is the same id (RFC 6265 cookie-value), so it is looked up too, unquoted."""
    value = f'"{new_id()}"' if quoted else new_id()
    before = mc.stat("cmd_get")
    r = httpd.request("GET", "/whoami.php",
                      headers={"Host": "a.test", "Cookie": f"{COOKIE}={value}"})
    assert r.status == 200, r
    assert mc.stat("cmd_get") - before >= 1


@pytest.mark.parametrize("raw_value", [
    b"AAAAAAAAAAAAAAAAAAAA\r\nX-Injected: 1\r\n",           # CRLF ends the header early
    b"AAAAAAAAAAAAAAAAAAAA\rBBBBBBBBBBBBBBBBBBBBBB",         # bare CR
    b"AAAAAAAAAAAAAAAAAAAA\r\n BBBBBBBBBBBBBBBBBBBBBB",      # obs-fold continuation
    b"\"" + VALID.encode(),                                   # unbalanced quote
    b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00",     # 42 chars + NUL
    b"\xff" * 43,
], ids=["crlf", "bare_cr", "obs_fold", "open_quote", "nul", "high_bytes"])
def test_malformed_cookie_raw_socket(httpd, mc, raw_value):
    before = mc.stat("cmd_get")
    req = (b"GET /whoami.php HTTP/1.1\r\nHost: a.test\r\nCookie: " + COOKIE.encode() + b"="
           + raw_value + b"\r\nConnection: close\r\n\r\n")
    status, answer = httpd.raw_request(req)
    after = mc.stat("cmd_get")
    print(f"raw {raw_value!r} -> {status}, cmd_get delta {after - before}")
    assert status in (200, 400), answer[:500]
    if status == 200:
        body = answer.split(b"\r\n\r\n", 1)[1]
        assert b'"session":{}' in body, answer
    assert after - before == 0, "memcached was asked for a malformed id"
    # the server still answers and nothing crashed
    r = httpd.request("GET", "/index.html", headers={"Host": "a.test"})
    assert r.status == 200
    assert "exit signal" not in httpd.log_text()


def test_duplicate_cookie_uses_a_wellformed_one(httpd, mc):
    b, sid = new_session(httpd, k="v")
    r = httpd.request("GET", "/whoami.php", headers={
        "Host": "a.test", "Cookie": f"{COOKIE}=garbage; {COOKIE}={sid}"})
    assert r.status == 200
    assert r.json()["session"] == {"k": "v"}


# ------------------------------------------------------------------ 7. TTLs

@pytest.mark.memcached_only
def test_session_max_age_sets_memcached_ttl(make_httpd, mc):
    httpd = make_httpd(vhost_conf="SessionMaxAge 120")
    b = httpd.browser()
    r = b.set("k", "v")
    sc = shs_cookie(r)
    print("Set-Cookie:", sc)
    sid = b.cookies[COOKIE]
    key = store_key(sid)
    ttl = mc.ttl(key)
    print("memcached TTL with SessionMaxAge 120:", ttl)
    assert ttl is not None and 110 <= ttl <= 120, ttl
    value = decode_session(mc.get(key))
    assert value.get("k") == "v" and "expiry" in value, value
    r, who = b.whoami()
    assert who["session"].get("k") == "v"


@pytest.mark.memcached_only
def test_shared_session_ttl_without_max_age(make_httpd, mc):
    httpd = make_httpd(vhost_conf="SharedSessionTTL 300")
    b, sid = new_session(httpd, k="v")
    ttl = mc.ttl(store_key(sid))
    print("memcached TTL with SharedSessionTTL 300:", ttl)
    assert ttl is not None and 290 <= ttl <= 300, ttl
    assert mc.get(store_key(sid)) == "k=v"


@pytest.mark.memcached_only
def test_default_ttl_is_one_day(httpd, mc):
    b, sid = new_session(httpd, k="v")
    ttl = mc.ttl(store_key(sid))
    print("memcached TTL by default:", ttl)
    assert ttl is not None and 86400 - 10 <= ttl <= 86400, ttl


# ------------------------------------------------------------------ vhosts share the store

def test_same_id_on_another_vhost(httpd, mc):
    a, sid = new_session(httpd, "a.test", k="v")
    b = httpd.browser("b.test")
    b.cookies[COOKIE] = sid
    r, who = b.whoami()
    assert who["session"] == {"k": "v"}
    b.set("from_b", "1")
    r, who = a.whoami()
    assert who["session"] == {"k": "v", "from_b": "1"}


# ------------------------------------------------------------------ the store's threads

def signals_blocked(pid, tid):
    """The signal numbers blocked in thread tid of process pid (/proc SigBlk)."""
    with open(f"/proc/{pid}/task/{tid}/status") as f:
        for line in f:
            if line.startswith("SigBlk:"):
                mask = int(line.split()[1], 16)
                return {n for n in range(1, 65) if mask & (1 << (n - 1))}
    return set()


@pytest.mark.memcached_only
def test_store_threads_leave_signals_to_httpd(httpd):
    """The store's worker threads ("shs-store") block the signals httpd's MPMs use to stop,
    restart and reopen: a SIGTERM run in one of them would make the child wait for itself."""
    import signal
    b, sid = new_session(httpd, k="v")          # the store has run an operation
    found = 0
    for pid in httpd.child_pids():
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    name = f.read().strip()
            except OSError:
                continue
            if name != "shs-store":
                continue
            found += 1
            blocked = signals_blocked(pid, tid)
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGWINCH,
                        signal.SIGINT, signal.SIGPIPE):
                assert sig in blocked, f"pid {pid} thread {tid} does not block {sig!r}"
            assert signal.SIGSEGV not in blocked
    assert found >= 10, f"{found} store threads found"  # 10 per child in the harness
