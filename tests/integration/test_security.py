"""Regression tests of the attack review: one test (or more) per finding, each of which failed
on the code before the fix (d894557).  The findings and the defences are in docs/security.md.

Set-up as in test_pull.py: a, b, c form group g with a.test as the hub; x.test is in no group.
"""

import os
import re
import time
import urllib.parse

import pytest

import pyshs as H
from pyshs import (COOKIE, STATE_COOKIE, Navigator, Visitor, find_tags, loose_tags,
                   parse_set_cookie, store_key)
from pyshs import LogWatch as Log
from test_push import refused_rx, tag_for, visitor_with_session, page, whoami
from test_pull import (FILES, PAGE, logged_in, origin, pull_conf, pull_httpd,  # noqa
                       pull_until_cb, split)

PHP_IN_IMAGE = "GIF89a<?php echo 'PHP-RAN-' . (6 * 7); ?>\n"
SECRET = "the secret text\n"
ROTATE_CGI = r"""#!/bin/bash
printf 'Content-Type: text/plain\r\nX-SharedSession-Rotate: 1\r\n\r\nrotated\n'
"""
SEC_FILES = dict(FILES, **{
    "avatar.gif": PHP_IN_IMAGE,
    "_secret.txt": SECRET,
    "rotate.cgi": ROTATE_CGI,
    "textarea.html": "<!doctype html><html><body><form><textarea>unfinished",
    "xmp.html": "<!doctype html><html><body><xmp>a </body> in text</xmp><p>x</p></body></html>\n",
    "plain.html": "<!doctype html><html><body><plaintext>all text </body></html>\n",
    "page.xhtml": ('<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
                   "<p>x</p></body></html>\n"),
    "utf16.html": ("\ufeff<!doctype html><html><body><p>x</p></body></html>\n"),
})
DENY_SECRET = '<Files "_secret.txt">\n    Require all denied\n</Files>\nAddType application/xhtml+xml .xhtml\n'
ATTACH_REFUSED = r"SHS00604: attach request refused \((?P<why>[^)]*)\)"


@pytest.fixture
def sec_httpd(make_httpd, keyfile):
    def make(extra="", vhost="", **opts):
        opts.setdefault("files", SEC_FILES)
        return make_httpd(global_conf=pull_conf(keyfile.path) + extra,
                          vhost_conf=DENY_SECRET + vhost, **opts)
    return make


def write_utf16(httpd):
    for h in H.VHOSTS:
        with open(os.path.join(httpd.docroot(h), "utf16.html"), "wb") as f:
            f.write(SEC_FILES["utf16.html"].encode("utf-16"))
    httpd.fix_perms()


# ------------------------------------------------------------------ the pull's internal redirect

# php-cgi refusing a direct call; the denied file denied
@pytest.mark.expect_log(r"malformed header from script 'php'", "AH01630")
@pytest.mark.parametrize("ret", ["/cgi-bin/php/avatar.gif", "/cgi-bin/php/_secret.txt",
                                 "/_secret.txt"])
def test_pull_never_serves_a_path_the_client_chose(sec_httpd, ret):
    """/_shs/pull?r=PATH without a state cookie used to internally redirect to PATH: php-cgi ran
    an uploaded image as PHP (REDIRECT_STATUS) and a denied file was printed.  Now: a 302 to
    the site's own page, marked, and that page gets its ordinary access checks."""
    httpd = sec_httpd()
    r = httpd.request("GET", "/_shs/pull?r=" + urllib.parse.quote(ret),
                      headers={"Host": "b.test"})
    print(r)
    assert r.status == 302, r
    assert r.header("Location") == f"http://b.test:{httpd.port}{ret}?shs_nopull=1", r
    assert b"PHP-RAN" not in r.body and SECRET.encode() not in r.body, r
    # the page itself, as the client would follow it: php-cgi refuses a direct call, the
    # denied file stays denied
    r = httpd.request("GET", ret + "?shs_nopull=1", headers={"Host": "b.test"})
    assert b"PHP-RAN-42" not in r.body and SECRET.encode() not in r.body, r


def test_no_internal_redirect_or_subrequest_from_request_input():
    """Nothing in the module redirects internally or makes a sub-request (grep of the tree)."""
    src = os.path.join(H.REPO, "src")
    for name in os.listdir(src):
        if name.endswith(".c"):
            text = open(os.path.join(src, name)).read()
            assert not re.search(r"ap_internal_(fast_)?redirect|ap_sub_req_", text), name


# ------------------------------------------------------------------ login CSRF through the push

def _attacker_tag(httpd, host="b.test"):
    attacker = visitor_with_session(httpd, "a.test", k="attacker", user="mallory")
    r, tags = page(attacker)
    return attacker.sid("a.test"), tag_for(tags, host)


NO_SEC_FETCH = {"Sec-Fetch-Dest": None, "Sec-Fetch-Mode": None, "Sec-Fetch-Site": None}


@pytest.mark.parametrize("headers,reason", [
    # a plain <img src=TOKEN URL> anywhere (a forum post, a mail): no CORS, no Origin
    ({"Origin": None, "Sec-Fetch-Mode": "no-cors"}, "wrong-context"),
    # ... seen by a browser without Sec-Fetch-*
    ({"Origin": None, **NO_SEC_FETCH}, "no-origin"),
    # an image URL of the attacker's on a group page that redirects to the token URL: after a
    # hop through another origin the browser sends Origin: null
    ({"Origin": "null"}, "wrong-origin"),
    ({"Origin": "null", **NO_SEC_FETCH}, "wrong-origin"),
    ({"Origin": "https://evil.example", "Referer": "https://evil.example/"}, "wrong-origin"),
    ({"Referer": "https://evil.example/"}, "wrong-referer"),
    ({"Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate"}, "wrong-context"),
    ({"Sec-Fetch-Site": "none"}, "wrong-context"),
])
def test_push_token_only_from_its_own_page(sec_httpd, headers, reason):
    """An attacker's valid push token loaded by a victim's browser from another page (an image
    on evil.example, a link) is refused, and spent."""
    httpd = sec_httpd()
    asid, tb = _attacker_tag(httpd)
    victim = Visitor(httpd)
    log = Log(httpd)
    r = victim.load_tag(tb, headers=headers)
    assert r.status == 200 and not r.set_cookies(COOKIE), r
    log.wait(refused_rx(reason))
    assert victim.sid("b.test") is None
    # spent: not even the right context takes it now
    log = Log(httpd)
    assert not victim.load_tag(tb).set_cookies(COOKIE)
    log.wait(refused_rx("replayed"))


def test_planted_session_gives_way_to_the_victims_login(sec_httpd, mc):
    """The attacker's session planted on b.test (by a push from a page of a.test the attacker
    controls); the victim then logs in on a.test: b.test follows the victim's new id instead of
    keeping the attacker's (local-session-kept before)."""
    httpd = sec_httpd()
    asid, tb = _attacker_tag(httpd)
    victim = Visitor(httpd)
    r = victim.load_tag(tb)
    assert parse_set_cookie(r.set_cookies(COOKIE)[0])[1] == asid, r
    time.sleep(1.1)   # the victim's login happens later than the plant
    victim.at("a.test").set("user", "victim")
    vsid = victim.sid("a.test")
    assert vsid and vsid != asid
    log = Log(httpd)
    r, tags = page(victim)
    r = victim.load_tag(tag_for(tags, "b.test"))
    assert parse_set_cookie(r.set_cookies(COOKIE)[0])[1] == vsid, r
    log.wait(r"SHS00402")
    assert whoami(victim, "b.test") == {"user": "victim"}


def test_local_login_is_not_replaced(sec_httpd):
    """A session the visitor made on b.test itself is kept (SharedSessionReplace Off)."""
    httpd = sec_httpd()
    asid, tb = _attacker_tag(httpd)
    victim = visitor_with_session(httpd, "b.test", k="mine")
    log = Log(httpd)
    r = victim.load_tag(tb)
    assert not r.set_cookies(COOKIE), r
    log.wait(refused_rx("local-session-kept"))


# ------------------------------------------------------------------ fixation: identity keys

def test_identity_keys_directive_rotates(sec_httpd):
    httpd = sec_httpd(extra="SharedSessionIdentityKeys uid login_*\n")
    v = visitor_with_session(httpd, "a.test", k="v")
    old = v.sid("a.test")
    log = Log(httpd)
    v.at("a.test").set("login_name", "alice")
    assert v.sid("a.test") != old
    log.wait(r"SHS00117: identity changed")
    # "user" is no identity key here any more
    old = v.sid("a.test")
    v.at("a.test").set("user", "bob")
    assert v.sid("a.test") == old


def test_identity_keys_bad_pattern_refused(sec_httpd):
    httpd = sec_httpd(extra="SharedSessionIdentityKeys *user*\n", start=False)
    rc, out = httpd.configtest()
    httpd.assert_refused(rc, out, "SharedSessionIdentityKeys *user*",
                         "SharedSessionIdentityKeys: '*user*': an identity key pattern has its "
                         "'*' at the start or at the end, not both")


def test_rotate_header(sec_httpd):
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    old = v.sid("a.test")
    log = Log(httpd)
    r = v.at("a.test").get("/rotate.cgi")
    assert r.status == 200 and r.header("X-SharedSession-Rotate") is None, r
    new = v.sid("a.test")
    assert new != old and whoami(v, "a.test") == {"k": "v"}
    log.wait(r"SHS00117: the application asked for a new id: session")


# ------------------------------------------------------------------ tokens burnt, attach once

def test_refused_pull_token_is_spent(sec_httpd):
    """The hub's cb token refused for the state (an attacker's attach URL followed by the
    victim) can no longer be redeemed by whoever reads its URL."""
    httpd = sec_httpd()
    victim = logged_in(httpd)
    cb, state = pull_until_cb(victim, httpd)
    attacker = Navigator(httpd)
    attacker.set_cookie("b.test", STATE_COOKIE, "A" * 22, "/_shs/")
    log = Log(httpd)
    hop = attacker.get(cb, nav=True)
    assert not hop.response.set_cookies(COOKIE), hop
    log.wait(refused_rx("state-mismatch"))
    # the thief now also has the right nonce: too late
    attacker.set_cookie("b.test", STATE_COOKIE, state, "/_shs/")
    log = Log(httpd)
    hop = attacker.get(cb, nav=True)
    assert not hop.response.set_cookies(COOKIE), hop
    log.wait(refused_rx("replayed"))


def test_attach_token_single_use_and_empty_sessions_short(sec_httpd, mc):
    httpd = sec_httpd()
    nav = Navigator(httpd)
    url = origin(httpd, "b.test") + "/whoami.php"
    for _ in range(2):
        hop = nav.get(url, nav=True)
        url = urllib.parse.urljoin(url, hop.location)
    assert split(url)[1] == "/_shs/attach", url
    items = int(mc.stats()["curr_items"])
    first = httpd.request("GET", url[len(origin(httpd, "a.test")):], headers={"Host": "a.test"})
    assert first.status == 302, first
    sid = parse_set_cookie(first.set_cookies(COOKIE)[0])[1]
    ttl = mc.ttl(store_key(sid))
    assert 0 < ttl <= 2 * (30 + 5), f"an empty hub session lives {ttl} s"
    log = Log(httpd)
    for _ in range(5):
        again = httpd.request("GET", url[len(origin(httpd, "a.test")):],
                              headers={"Host": "a.test"})
        assert again.status == 400 and not again.set_cookies(COOKIE), again
    log.wait(r"SHS00604: attach request refused \(replayed\)")
    # one session and the attach token's single-use key, nothing per replay
    assert int(mc.stats()["curr_items"]) == items + 2


def test_taken_empty_session_lives_on(sec_httpd, mc):
    httpd = sec_httpd()
    nav = Navigator(httpd)
    hops = nav.navigate(origin(httpd, "b.test") + "/whoami.php")
    assert hops[-1].status == 200
    sid = nav.sid("b.test")
    assert sid and sid == nav.sid("a.test")
    assert mc.ttl(store_key(sid)) > 3600


def test_tokens_not_in_access_log(sec_httpd):
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    r, tags = page(v)
    v.load_tag(tag_for(tags, "b.test"))
    nav = logged_in(httpd)
    nav.navigate(origin(httpd, "c.test") + "/whoami.php")
    time.sleep(0.3)
    log = open(httpd.access_log).read()
    assert "/_shs/cb?t=-" in log and "/_shs/attach?t=-" in log, log
    for t in tags:
        assert t.token not in log
    assert not re.search(r"[?&]t=[A-Za-z0-9_-]{40,}", log), log


# ------------------------------------------------------------------ tagged pages and caches

CACHE_CONF = """LoadModule cache_module {mods}/mod_cache.so
LoadModule cache_disk_module {mods}/mod_cache_disk.so
LoadModule expires_module {mods}/mod_expires.so
CacheRoot "{root}"
CacheEnable disk /
CacheIgnoreNoLastMod On
CacheIgnoreHeaders Set-Cookie
"""


def test_tagged_page_never_cached(sec_httpd, workdir):
    root = os.path.join(workdir, "cache")
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o777)
    httpd = sec_httpd(extra=CACHE_CONF.format(mods=H.APACHE_MODULES, root=root),
                      vhost="Header set Cache-Control public\nHeader always set Expires "
                            '"Thu, 01 Jan 2037 00:00:00 GMT"\nExpiresActive On\n'
                            "ExpiresDefault \"access plus 1 day\"\n")
    v = visitor_with_session(httpd, "a.test", k="v")
    r, tags = page(v, path="/page.html")
    assert len(tags) == 2, r
    assert r.header("Cache-Control") == "private, no-store", r
    # httpd itself dates a no_cache response's Expires at once
    assert r.header("Expires") in (None, r.header("Date")) and r.header("ETag") is None, r
    for _ in range(3):
        anon = httpd.request("GET", "/page.html", headers={"Host": "a.test"})
        assert anon.status == 200 and not loose_tags(anon.text), anon


# ------------------------------------------------------------------ tokens as readable text

@pytest.mark.parametrize("path", ["/textarea.html", "/plain.html"])
def test_no_tags_inside_text(sec_httpd, path):
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    for _ in range(3):   # the scanned view and the remembered ones
        r = v.at("a.test").get(path)
        assert r.status == 200 and not loose_tags(r.text) and "_shs" not in r.text, r
        assert r.body.decode() == SEC_FILES[path[1:]], r


def test_tags_after_xmp(sec_httpd):
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    r, tags = page(v, path="/xmp.html")
    assert len(tags) == 2
    assert r.text.index("</xmp>") < r.text.index(tags[0].raw), r.text


@pytest.mark.parametrize("path", ["/page.xhtml", "/utf16.html"])
def test_no_tags_where_they_cannot_be_right(sec_httpd, path):
    httpd = sec_httpd()
    write_utf16(httpd)
    v = visitor_with_session(httpd, "a.test", k="v")
    r = v.at("a.test").get(path)
    assert r.status == 200 and b"_shs" not in r.body, r


def test_range_request_gets_the_file(sec_httpd):
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    r = v.at("a.test").get("/page.html", headers={"Range": "bytes=0-9"})
    assert r.status == 206, r
    assert r.header("Content-Range") == f"bytes 0-9/{len(PAGE)}", r
    assert r.body == PAGE.encode()[:10], r


def test_file_rewritten_in_place_same_mtime(sec_httpd):
    httpd = sec_httpd(processes=1)
    before = "<!doctype html><html><body><p>one</p></body></html>\n"
    after = "<!doctype html><html><body></body><p>two</p></html>\n"
    assert len(before) == len(after)
    path = os.path.join(httpd.docroot("a.test"), "moving.html")
    for text in (before, after):
        st = os.stat(path) if os.path.exists(path) else None
        with open(path, "r+" if st else "w") as f:
            f.write(text)
        if st:
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.chmod(path, 0o644)
        for _ in range(2):
            r, tags = page(visitor_with_session(httpd, k="v"), path="/moving.html")
            assert len(tags) == 2, r
            at = text.index("</body>")
            assert r.text == text[:at] + "".join(t.raw for t in tags) + text[at:], r.text


# ------------------------------------------------------------------ cookies

def test_pushed_cookie_gets_the_sites_attributes(sec_httpd):
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    sid = v.sid("a.test")
    r, tags = page(v)
    cb = v.load_tag(tag_for(tags, "b.test"))
    _, _, attrs = parse_set_cookie(cb.set_cookies(COOKIE)[0])
    assert attrs["samesite"][1] == "None"
    r = v.at("b.test").get("/whoami.php", headers={"Sec-Fetch-Site": "none",
                                                   "Sec-Fetch-Mode": "navigate"})
    scs = r.set_cookies(COOKIE)
    assert len(scs) == 1, r
    name, val, attrs = parse_set_cookie(scs[0])
    assert val == sid and attrs["samesite"][1] == "Lax", scs
    assert r.set_cookies(COOKIE + "_pushed") and H.cookie_expires_now(
        r.set_cookies(COOKIE + "_pushed")[0]), r
    r = v.at("b.test").get("/whoami.php")
    assert not r.set_cookies(COOKIE), "rewritten once"


def test_htaccess_cannot_expose_the_id(sec_httpd):
    httpd = sec_httpd()
    httpd.write_file("off/.htaccess", "Session Off\nSharedSession Off\n")
    httpd.write_file("off/env.cgi", open(os.path.join(H.APP_DIR, "env.cgi")).read())
    httpd.write_file("ren/.htaccess", "SharedSessionCookieName other\n")
    httpd.write_file("ren/env.cgi", open(os.path.join(H.APP_DIR, "env.cgi")).read())
    for d in ("off", "ren"):
        os.chmod(os.path.join(httpd.docroot("a.test"), d, "env.cgi"), 0o755)
    v = visitor_with_session(httpd, "a.test", k="v")
    sid = v.sid("a.test")
    for d in ("off", "ren"):
        r = v.at("a.test").get(f"/{d}/env.cgi")
        assert r.status == 200, r
        assert sid not in r.text and COOKIE not in r.text, r.text


def test_htaccess_cookie_remove_refused(sec_httpd, expect_log):
    expect_log("not allowed here")
    httpd = sec_httpd()
    httpd.assert_htaccess_refused("sub", "SharedSessionCookieRemove Off", "page.html")


# ------------------------------------------------------------------ memcached as a boundary

@pytest.mark.expect_log(r"SHS00122: a stored session was refused \(bad-mac\)")
def test_forged_or_altered_store_value_not_adopted(sec_httpd, mc):
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    sid = v.sid("a.test")
    raw = mc.get_raw(store_key(sid))
    assert raw.startswith("shs1:m:") and raw.endswith("k=v"), raw
    # a forged, unsealed value
    mc.set(store_key(sid), "user=admin")
    log = Log(httpd)
    assert whoami(v, "a.test") == {}
    log.wait(r"SHS00122: a stored session was refused \(unsealed\)")
    # the real value altered
    mc.set(store_key(sid), raw[:-3] + "k=w")
    log = Log(httpd)
    assert whoami(v, "a.test") == {}
    log.wait(r"SHS00122: a stored session was refused \(bad-mac\)")
    # and moved under another session's key
    w = visitor_with_session(httpd, "a.test", k="w")
    mc.set(store_key(w.sid("a.test")), raw)
    assert whoami(w, "a.test") == {}


def test_store_encryption(sec_httpd, mc):
    httpd = sec_httpd(extra="SharedSessionStoreEncrypt On\n")
    v = visitor_with_session(httpd, "a.test", k="very-secret-value")
    raw = mc.get_raw(store_key(v.sid("a.test")))
    assert raw.startswith("shs1:e:") and "very-secret-value" not in raw, raw
    assert whoami(v, "a.test") == {"k": "very-secret-value"}


# ------------------------------------------------------------------ client noise

def test_client_garbage_logged_at_info(sec_httpd):
    """A malformed state cookie and bad tokens are the client's mistakes: info, counted; the
    log guard of the suite fails this test on any warn/error line."""
    httpd = sec_httpd()
    log = Log(httpd)
    r = httpd.request("GET", "/_shs/pull?r=/whoami.php",
                      headers={"Host": "b.test", "Cookie": STATE_COOKIE + "=" + "%" * 60})
    assert r.status == 302, r
    log.wait(r"\[sharedsession:info\].*SHS00403: ignoring a malformed")
    for q in ("t=garbage", "t=" + "A" * 200, ""):
        r = httpd.request("GET", "/_shs/cb?" + q, headers={"Host": "b.test"})
        assert r.status == 200, r
    r = httpd.request("GET", "/_shs/attach?t=garbage&r=/", headers={"Host": "a.test"})
    assert r.status == 400, r
    status = httpd.request("GET", "/_shs/cb", headers={"Host": "b.test"})
    assert status.status == 200


def test_push_callback_costs_three_operations(sec_httpd, mc):
    """The callback: one `add` uses the token up, one `get` finds the session, one `set`
    confirms (session, site) with the token's issue time, only once it was accepted.  The go
    step before it costs nothing: it reads the id cookie only."""
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    r, tags = page(v, resolve=False)
    tb = tag_for(tags, "b.test")
    counted = ("cmd_get", "cmd_set", "cmd_touch")
    before = mc.stats()
    go = v.resolve(tb)
    after = mc.stats()
    assert go.status == 302 and tb.token, go
    assert {k: int(after[k]) - int(before[k]) for k in counted} == dict.fromkeys(counted, 0)
    before = mc.stats()
    r = v.load_tag(tb)
    assert r.set_cookies(COOKIE), r
    want = {"cmd_get": 1, "cmd_set": 2, "cmd_touch": 0}

    def ops():
        after = mc.stats()
        return {k: int(after[k]) - int(before[k]) for k in counted}
    # the confirmation is not awaited (set ... noreply): memcached counts it a moment later;
    # then nothing more comes
    assert H.wait_until(lambda: ops() == want, 5), ops()
    time.sleep(0.2)
    assert ops() == want


# ------------------------------------------------------------------ second attack pass (ba5076a)
# Each test below failed on ba5076a.

TOKEN_RX = re.compile(r"[?&]t=[A-Za-z0-9_-]{40,}")


def test_page_carries_no_token(sec_httpd):
    """The loader tags name the page's own go endpoint, never a token: a script of the page (or
    an XSS) cannot read a token and redeem it elsewhere."""
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    r, tags = page(v, resolve=False)
    assert len(tags) == 2, r
    assert not TOKEN_RX.search(r.text) and "/_shs/cb" not in r.text, r.text
    for t in tags:
        assert t.go.startswith("/_shs/go?to=") and t.token is None, t
        assert 'crossorigin="use-credentials"' in t.raw, t.raw


def test_go_mints_and_redirects(sec_httpd, keyfile):
    """go: a 302 to the peer's callback with a fresh token for this browser's id, uncached,
    asking the next hop to keep sending the page's origin as Referer."""
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    sid = v.sid("a.test")
    r, tags = page(v, resolve=False)
    tb = tag_for(tags, "b.test")
    go = v.resolve(tb)
    assert go.status == 302 and go.header("Cache-Control") == "no-store", go
    assert go.header("Referrer-Policy") == "origin", go
    assert tb.url.startswith(f"http://b.test:{httpd.port}/_shs/cb?t="), tb
    tok = keyfile.codec.open(tb.token)
    assert tok["sid"] == sid and tok["dst"] == H.site_name("b.test", httpd.port), tok
    # every go is a new token
    tb2 = tag_for(find_tags(r.text), "b.test")
    v.resolve(tb2)
    assert tb2.token != tb.token


@pytest.mark.parametrize("path,headers,why", [
    ("/_shs/go?to=b.test:{port}", {"Sec-Fetch-Site": "cross-site"}, "wrong-context"),
    ("/_shs/go?to=b.test:{port}", {"Sec-Fetch-Site": "same-site"}, "wrong-context"),
    ("/_shs/go?to=b.test:{port}", {"Sec-Fetch-Dest": "document"}, "wrong-context"),
    ("/_shs/go?to=evil.example", {}, "unknown-site"),
    ("/_shs/go?to=x.test:{port}", {}, "unknown-site"),
    ("/_shs/go?to=a.test:{port}", {}, "unknown-site"),
    ("/_shs/go", {}, "unknown-site"),
    ("/_shs/go?to=b.test:{port}", {"Cookie": None}, "no-session"),
])
def test_go_refuses(sec_httpd, path, headers, why):
    """go answers the push's empty GIF, without Location or cookie, when the request is not a
    tag of this site's own page, names no peer, or comes without a session."""
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    page(v, resolve=False)
    log = Log(httpd)
    r = v.at("a.test").get(path.format(port=httpd.port), headers=headers)
    assert r.status == 200 and r.header("Content-Type") == "image/gif", r
    assert r.header("Location") is None and not r.set_cookies(), r
    log.wait(rf"SHS00507: push step refused \({why}\)")


def test_go_is_get_only(sec_httpd):
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    r = v.at("a.test").post(f"/_shs/go?to=b.test:{httpd.port}", "x=1")
    assert r.status == 405 and r.header("Location") is None, r


def test_callback_answers_cors_only_when_accepted(sec_httpd):
    """The tag's request is credentialed CORS: an accepted push allows the page's origin
    (exactly the Origin sent), a refused one allows nobody."""
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    r, tags = page(v)
    tb, tc = tag_for(tags, "b.test"), tag_for(tags, "c.test")
    r = v.load_tag(tb)
    assert r.set_cookies(COOKIE), r
    assert r.header("Access-Control-Allow-Origin") == f"http://a.test:{httpd.port}", r
    assert r.header("Access-Control-Allow-Credentials") == "true", r
    assert "Origin" in (r.header("Vary") or ""), r
    r = v.load_tag(tc, headers={"Origin": "null"})
    assert not r.set_cookies(COOKIE) and r.header("Access-Control-Allow-Origin") is None, r


def test_refused_push_leaves_the_site_due(sec_httpd, mc):
    """A push refused after its token was spent (here: no Origin) confirms nothing: the next
    page pushes to that site again, and that push lands.  Before, the spend itself was the
    confirmation, and the site was never tried again."""
    httpd = sec_httpd(extra="SharedSessionPushRetry 0\n")
    v = visitor_with_session(httpd, "a.test", k="v")
    sid = v.sid("a.test")
    r, tags = page(v)
    log = Log(httpd)
    r = v.load_tag(tag_for(tags, "b.test"), headers={"Origin": None})
    assert not r.set_cookies(COOKIE), r
    log.wait(refused_rx("no-origin"))
    assert mc.get(H.confirm_key(sid, H.site_name("b.test", httpd.port))) is None
    r, tags = page(v)
    assert "b.test" in [t.host for t in tags], "b.test must be pushed to again"
    r = v.load_tag(tag_for(tags, "b.test"))
    assert parse_set_cookie(r.set_cookies(COOKIE)[0])[1] == sid, r
    # the confirmation is sent without waiting for memcached's answer: it lands right after
    assert H.wait_until(
        lambda: mc.get(H.confirm_key(sid, H.site_name("b.test", httpd.port))) is not None, 5)


@pytest.mark.parametrize("headers,tagged", [
    ({"Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate"}, True),
    ({"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Mode": "navigate"}, True),
    ({}, True),  # a browser without Sec-Fetch-*
    ({"Sec-Fetch-Dest": "empty", "Sec-Fetch-Mode": "cors"}, False),  # fetch() / XHR
    ({"X-Requested-With": "XMLHttpRequest"}, False),
    ({"Sec-Fetch-Dest": "document", "Sec-Purpose": "prefetch"}, False),
    ({"Purpose": "prefetch"}, False),
    ({"Sec-Fetch-Dest": "script"}, False),
])
def test_tags_only_in_pages_a_browser_shows(sec_httpd, headers, tagged):
    """HTML fetched by a script, prefetched, or loaded as a subresource gets no tags."""
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    r, tags = page(v, resolve=False, headers=headers)
    assert r.status == 200, r
    assert bool(tags) == tagged, r.text
    if not tagged:
        assert loose_tags(r.text) == [], r.text


# ------------------------------------------------------------------ attack pass of the go step
# Each test below failed on 89cbd8b (the go step as first landed).

def test_go_hands_over_the_pages_id_not_a_narrow_path_cookie(sec_httpd, keyfile):
    """A cookie shs_session=<attacker id>; Path=/_shs/go (tossed by a related domain, or over
    http) comes first in the Cookie header of go requests only: go must mint for the id the
    page was made for (f=), not for the first cookie of the name."""
    httpd = sec_httpd()
    attacker = visitor_with_session(httpd, "a.test", user="mallory")
    asid = attacker.sid("a.test")
    v = visitor_with_session(httpd, "a.test", user="alice")
    vsid = v.sid("a.test")
    r, tags = page(v, resolve=False)
    tb = tag_for(tags, "b.test")
    assert f"f={H.fingerprint(vsid)}" in tb.go, tb
    go = v.resolve(tb, headers={"Cookie": f"{COOKIE}={asid}; {COOKIE}={vsid}"})
    assert go.status == 302, go
    assert keyfile.codec.open(tb.token)["sid"] == vsid
    # without the page's id among the cookies, nothing is minted
    log = Log(httpd)
    r = v.at("a.test").get(tb.go, headers={"Cookie": f"{COOKIE}={asid}"})
    assert r.status == 200 and r.header("Location") is None, r
    log.wait(r"SHS00507: push step refused \(no-session\)")


def test_push_token_spent_for_its_own_lifetime(sec_httpd, keyfile, mc):
    """A token made by a server of the group with a longer SharedSessionTokenLifetime than this
    one's stays spent as long as it could be accepted, not only this server's lifetime."""
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    sid = v.sid("a.test")
    tok = keyfile.codec.seal(sid, H.site_name("a.test", httpd.port),
                             H.site_name("b.test", httpd.port), lifetime=300)
    tid = H.TokenCodec._b64e(keyfile.codec._body(tok)[10:26])
    other = Visitor(httpd)
    r = other.at("b.test").get(f"/_shs/cb?t={tok}",
                               headers={"Host": f"b.test:{httpd.port}",
                                        **other.push_headers(f"/_shs/cb?t={tok}")})
    assert parse_set_cookie(r.set_cookies(COOKIE)[0])[1] == sid, r
    ttl = mc.ttl(f"shs:p.{tid}")
    assert ttl is not None and ttl > 250, ttl


def test_callback_allows_the_configured_origin_only(sec_httpd):
    """Access-Control-Allow-Origin names the source site as configured, never an echo of a
    non-canonical Origin header."""
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "a.test", k="v")
    r, tags = page(v)
    r = v.load_tag(tag_for(tags, "b.test"),
                   headers={"Origin": f"HTTP://A.TEST:{httpd.port}"})
    assert r.set_cookies(COOKIE), r
    assert r.header("Access-Control-Allow-Origin") == f"http://a.test:{httpd.port}", r


def test_second_cookie_header_line_hides_nothing(sec_httpd):
    """httpd joins two Cookie header lines with ", ": the module's cookies in the second line
    are still read, and stripped before the application sees the header (they hid behind the
    ',' before: the id was not read, and reached the application)."""
    httpd = sec_httpd()
    v = visitor_with_session(httpd, "b.test", k="v")
    sid = v.sid("b.test")
    raw = (f"GET /env.cgi HTTP/1.1\r\nHost: b.test\r\nCookie: theme=dark\r\n"
           f"Cookie: {COOKIE}={sid}; {COOKIE}_sync=00000000.1; other=x\r\n"
           f"Connection: close\r\n\r\n").encode()
    status, body = httpd.raw_request(raw)
    assert status == 200, body
    env = dict(l.split("=", 1) for l in body.split(b"\r\n\r\n", 1)[1].decode().splitlines()
               if "=" in l)
    assert env["HTTP_SESSION"].startswith("k=v"), env
    assert COOKIE not in env["HTTP_COOKIE"] and sid not in env["HTTP_COOKIE"], env
    assert "theme=dark" in env["HTTP_COOKIE"] and "other=x" in env["HTTP_COOKIE"], env


# ------------------------------------------------------------------ verification pass (8d2d75e)
# Each test below failed on 8d2d75e.

def test_attach_hands_over_nothing_when_two_ids_are_sent(sec_httpd):
    """A cookie shs_session=<attacker id>; Path=/_shs/attach (tossed by a related domain) beside
    the visitor's own on the hub: attach cannot tell which is the visitor's, so it hands over
    none (before: the first, the attacker's, reached every peer)."""
    httpd = sec_httpd()
    attacker = logged_in(httpd, "mallory")
    asid = attacker.sid("a.test")
    victim = logged_in(httpd, "alice")
    victim.set_cookie("a.test", COOKIE, asid, path="/_shs/attach")
    log = Log(httpd)
    hops = victim.navigate(origin(httpd, "b.test") + "/whoami.php")
    assert hops[-1].status == 200, hops
    log.wait(r"SHS00608: attach for .* refused: the browser sends several different session ids")
    assert hops[-1].response.json()["session"] != {"user": "mallory"}, hops[-1].response
    assert victim.sid("b.test") != asid


def test_id_cookie_named_in_a_location_is_stripped_everywhere(sec_httpd):
    """SharedSessionCookieName in a <Location>: that id cookie, sent to every path of the site,
    reaches no application in another scope."""
    httpd = sec_httpd(vhost='<Location /sub/>\n    SharedSessionCookieName sid9\n</Location>\n')
    v = Visitor(httpd)
    b = v.at("b.test")
    r = b.get("/sub/set.cgi?k=v")
    assert r.status == 200 and r.set_cookies("sid9"), r
    r = b.get("/env.cgi")
    assert "sid9=" not in r.text and b.cookies["sid9"] not in r.text, r.text
