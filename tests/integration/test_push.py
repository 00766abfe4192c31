"""Cross-domain push: the loader tags of the output filter, the callback /_shs/cb, the tokens,
the threats, logout, id rotation and the filter's choice of responses.

Set-up: one key file (key id 1), `SharedSessionGroup shop http://a.test:PORT http://b.test:PORT
http://c.test:PORT` on the httpd's port; x.test stays outside any group.  The module logs at
`sharedsession:trace1` so that the reason a response got no tags (SHS00504) can be asserted.

Cookies and plain http: the callback sets the id cookie with `Secure; SameSite=None`.  A real
browser would not send a Secure cookie back over http; the simulated one (pyshs.Visitor,
one jar per host) keeps and sends every cookie whatever its attributes, as a browser would over
https.  That is the only liberty taken.

Tokens are read (and, for a few refusal reasons the module never produces itself, forged) with
pyshs.TokenCodec, a Python twin of shs_token.c that knows the test key file.
"""

import gzip
import os
import re
import time

import pytest

import pyshs as H
from pyshs import (COOKIE, ID_RE, SYNC_COOKIE, Visitor, confirm_key, find_tags, loose_tags,
                   parse_set_cookie, store_key)
from pyshs import LogWatch as Log

GIF = bytes([
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b])

PAGE = ("<!doctype html>\n<html><head><title>push</title></head>\n<body>\n<p>hello</p>\n"
        "</body>\n</html>\n")
NO_BODY_END = "<!doctype html><title>no body end</title><p>the page just stops"
TRICKY = ("<!doctype html><html><body>\n<!-- a comment with </body> in it -->\n"
          "<script>var s = \"</body>\"; document.title = s;</script>\n"
          "<p>after</p>\n</body></html>\n")
CHUNK_HEAD = "<!doctype html><html><body><p>chunked</p>"
CHUNK_CGI = r"""#!/bin/bash
# The page in pieces: the closing body tag one byte at a time, 50 ms apart.
export PATH=/usr/bin:/bin
printf 'Content-Type: text/html\r\n\r\n'
printf '%s' '""" + CHUNK_HEAD + r"""'
s='</body>'
for ((i = 0; i < ${#s}; i++)); do
    printf '%s' "${s:i:1}"
    sleep 0.05
done
printf '</html>\n'
"""
CACHED_CGI = r"""#!/bin/bash
# An HTML page that asks to be cached by shared caches.
printf 'Content-Type: text/html\r\n'
printf 'Cache-Control: public, max-age=600\r\n'
printf 'ETag: "v1"\r\n'
printf 'Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n'
printf 'Expires: Thu, 01 Jan 2037 00:00:00 GMT\r\n'
printf '\r\n'
printf '<!doctype html><html><body><p>cache me</p></body></html>\n'
"""
FORM_CGI = r"""#!/bin/bash
# HTML for GET and POST alike.
[ "${REQUEST_METHOD-}" = POST ] && cat >/dev/null
printf 'Content-Type: text/html\r\n\r\n'
printf '<!doctype html><html><body><p>%s</p></body></html>\n' "${REQUEST_METHOD-}"
"""
PAGE_PHP = """<?php
header('Content-Type: text/html; charset=utf-8');
echo "<!doctype html><html><body><p>php</p></body></html>\\n";
"""

FILES = {
    "page.html": PAGE,
    "nobody.html": NO_BODY_END,
    "tricky.html": TRICKY,
    "chunk.cgi": CHUNK_CGI,
    "cached.cgi": CACHED_CGI,
    "form.cgi": FORM_CGI,
    "page.php": PAGE_PHP,
    "data.json": '{"html": "</body>"}\n',
    "sub/page.html": PAGE,
}

TRACE = "LogLevel warn sharedsession:trace1\n"


def refused_rx(reason):
    return r"\[sharedsession:(?:info|warn)\].*SHS00401: cross-domain token refused \(" + re.escape(reason) \
        + r"\)"


# ------------------------------------------------------------------ fixtures and helpers

@pytest.fixture
def push_httpd(make_httpd, keyfile):
    """push_httpd(extra="global directives", start=True, **opts): an httpd whose a.test,
    b.test and c.test form the group 'shop' (http, the httpd's port)."""
    def make(extra="", start=True, **opts):
        opts.setdefault("files", FILES)
        return make_httpd(start=start,
                          global_conf=H.group_conf(keyfile.path, extra=TRACE + extra), **opts)
    return make


def site(httpd, host):
    return H.site_name(host, httpd.port)


def visitor_with_session(httpd, host="a.test", **data):
    """A visitor whose session on `host` holds data (written one key at a time)."""
    v = Visitor(httpd)
    b = v.at(host)
    for k, val in data.items():
        b.set(k, val)
    sid = v.sid(host)
    assert sid and ID_RE.match(sid), f"no session id cookie on {host}: {b.cookies}"
    return v


def page(v, host="a.test", path="/page.html", resolve=True, **kw):
    """GET a page; its loader tags, each through its go step (as the browser would right
    away) unless resolve=False."""
    r = v.at(host).get(path, **kw)
    tags = find_tags(r.text)
    for t in tags if resolve else ():
        v.resolve(t)
    return r, tags


def tag_for(tags, host):
    found = [t for t in tags if t.host == host]
    assert len(found) == 1, f"expected one tag for {host}: {tags}"
    return found[0]


def whoami(v, host):
    return v.at(host).whoami()[1]["session"]


def assert_pixel(r, script=False):
    assert r.status == 200, r
    if script:
        assert (r.header("Content-Type") or "").split(";")[0] == "text/javascript", r
        assert r.body == b"", r
    else:
        assert r.header("Content-Type") == "image/gif", r
        assert r.body == GIF and len(r.body) == 43, r
    assert r.header("Cache-Control") == "no-store", r
    assert r.header("Referrer-Policy") == "no-referrer", r


def assert_accepted(r, sid, script=False):
    assert_pixel(r, script)
    scs = r.set_cookies(COOKIE)
    assert len(scs) == 1, f"accepted token: one Set-Cookie {COOKIE} expected: {r}"
    name, val, attrs = parse_set_cookie(scs[0])
    assert val == sid, f"pushed id {sid!r}, cookie set to {val!r}"
    assert attrs.get("path") == ("Path", "/"), scs
    assert "httponly" in attrs and "secure" in attrs, scs
    assert attrs.get("samesite", (None, ""))[1] == "None", scs


def assert_refused(r, script=False):
    assert_pixel(r, script)
    assert not r.set_cookies(COOKIE), f"refused token must set no cookie: {r}"
    assert not r.set_cookies(), f"refused token: no Set-Cookie at all: {r}"


def assert_injected_headers(r):
    assert r.header("Cache-Control") == "private, no-store", r
    assert len([1 for k, _ in r.headers if k.lower() == "cache-control"]) == 1, r
    for h in ("ETag", "Last-Modified"):
        assert r.header(h) is None, f"{h} must go from a page with tokens: {r}"
    # The module drops the handler's Content-Length.  httpd's own content-length filter adds
    # a fresh one when the whole (rewritten) body comes in one brigade: that one is correct,
    # a stale one (the original file's size) would cut the page.
    cl = r.header("Content-Length")
    assert cl is None or int(cl) == len(r.body), f"stale Content-Length {cl}: {r}"


def strip_tags(text, tags):
    for t in tags:
        text = text.replace(t.raw, "", 1)
    return text


def propagate(v, httpd, src="a.test", hosts=("b.test", "c.test")):
    """Load the page on src and every tag it carries; returns the tags."""
    sid = v.sid(src)
    r, tags = page(v, src)
    assert sorted(t.host for t in tags) == sorted(hosts), r
    for t in tags:
        assert_accepted(v.load_tag(t), sid)
    return tags


# ------------------------------------------------------------------ 1. happy path

@pytest.mark.memcached_only
def test_push_happy_path(push_httpd, mc, keyfile):
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v", user="alice")
    sid = v.sid("a.test")
    log = Log(httpd)

    t0 = int(time.time())
    r, tags = page(v)
    print(r)
    assert r.status == 200, r
    assert len(tags) == 2 and len(loose_tags(r.text)) == 2, r.text
    assert sorted(t.host for t in tags) == ["b.test", "c.test"], tags
    assert_injected_headers(r)
    # right before </body>, the page otherwise unchanged
    assert strip_tags(r.text, tags) == PAGE, r.text
    assert r.text.index("</body>") == tags[-1].end and tags[0].end == tags[1].start, r.text
    for t in tags:
        assert t.kind == "img" and t.scheme == "http" and t.port == httpd.port, t
        assert t.path == "/_shs/cb" and t.k is None and t.token, t
        assert "&#61;" in t.src_attr and "=" not in t.src_attr, f"'=' not escaped: {t.raw}"
        tok = keyfile.codec.open(t.token)
        assert tok["sid"] == sid and tok["src"] == site(httpd, "a.test"), tok
        assert tok["dst"] == site(httpd, t.host) and tok["lifetime"] == 30, tok
        assert abs(tok["issued"] - t0) <= 2, tok
    sync = r.set_cookies(SYNC_COOKIE)
    assert len(sync) == 1, r
    fp, _, when = parse_set_cookie(sync[0])[1].partition(".")
    assert fp == H.fingerprint(sid) and abs(int(when) - t0) <= 2, sync
    log.wait(rf"SHS00502: pushing session {H.fingerprint(sid)} to 2 site\(s\)$")

    for t in tags:
        log = Log(httpd)
        cb = v.load_tag(t)
        print(cb)
        assert_accepted(cb, sid)
        log.wait(rf"\[sharedsession:debug\].*SHS00402: session {H.fingerprint(sid)} received "
                 rf"from {re.escape(site(httpd, 'a.test'))}")
        log.absent("SHS00401")
        assert whoami(v, t.host) == {"k": "v", "user": "alice"}
        assert mc.get(confirm_key(sid, site(httpd, t.host))) is not None, \
            f"no confirmation key for {t.host}"

    # the sync cookie: no more tags on later pages
    log = Log(httpd)
    r, tags = page(v)
    assert r.status == 200 and tags == [] and loose_tags(r.text) == [], r
    assert r.text == PAGE
    assert r.header("Cache-Control") != "private, no-store" and r.header("ETag"), r
    log.absent("SHS00502")
    log.wait(r"SHS00504: no loader tags: nothing to push")


def landed(mc, sid, httpd, host):
    """The callback's confirmation is sent without awaiting memcached's answer: it is in
    memcached a moment after the callback answered (bounded wait)."""
    if H.STORE == "shm":
        return  # the embedded store writes it before the callback answers
    key = confirm_key(sid, H.site_name(host, httpd.port))
    assert H.wait_until(lambda: mc.get(key) is not None, 5), f"no confirmation for {host}"


def test_push_retry_reads_confirmations(push_httpd, mc):
    """SharedSessionPushRetry 0: every page re-checks, but only unconfirmed sites get tags."""
    httpd = push_httpd(extra="SharedSessionPushRetry 0\n")
    v = visitor_with_session(httpd, k="v", user="alice")
    sid = v.sid("a.test")
    fp = H.fingerprint(sid)
    r, tags = page(v)
    assert len(tags) == 2, r
    assert_accepted(v.load_tag(tag_for(tags, "b.test")), sid)
    landed(mc, sid, httpd, "b.test")

    log = Log(httpd)
    r, tags = page(v)
    assert [t.host for t in tags] == ["c.test"], f"only the unconfirmed site: {r}"
    log.wait(rf"SHS00502: pushing session {fp} to 1 site\(s\) \(retry\)")
    assert_accepted(v.load_tag(tags[0]), sid)
    landed(mc, sid, httpd, "c.test")

    log = Log(httpd)
    r, tags = page(v)
    assert tags == [] and r.text == PAGE, r
    sync = r.set_cookies(SYNC_COOKIE)
    assert len(sync) == 1 and parse_set_cookie(sync[0])[1] == f"{fp}.done", r
    log.absent("SHS00502")
    r, tags = page(v)
    assert tags == [] and not r.set_cookies(SYNC_COOKIE), r


def test_sync_and_id_cookies_hidden_from_app(push_httpd):
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v")
    page(v)
    assert SYNC_COOKIE in v.at("a.test").cookies
    v.at("a.test").cookies["other"] = "1"
    r, who = v.at("a.test").whoami()
    assert who["cookies"] == {"other": "1"}, who
    assert "shs_session" not in (who["http_cookie"] or ""), who


def test_callback_protocol(push_httpd, expect_log):
    """POST -> 405, an unknown path under the prefix -> 404, HEAD answers like GET; x.test
    (in no group) has no endpoint."""
    expect_log(refused_rx("no-token"))
    httpd = push_httpd()
    b = Visitor(httpd).at("b.test")
    r = b.post("/_shs/cb?t=x", {"a": "1"})
    assert r.status == 405 and not r.set_cookies(), r
    r = b.get("/_shs/nope")
    assert r.status == 404, r
    r = b.get("/_shs/cbx?t=x")
    assert r.status == 404, r
    log = Log(httpd)
    r = b.get("/_shs/cb")
    assert_refused(r)
    log.wait(refused_rx("no-token"))
    r = Visitor(httpd).at("x.test").get("/_shs/cb?t=x")
    assert r.status == 404 and not r.set_cookies(), r


# ------------------------------------------------------------------ 2. threats

@pytest.mark.expect_log(refused_rx("replayed"))
def test_threat_replayed_token_by_another_client(push_httpd, mc):
    """A tag URL that leaked (logs, history) is worth nothing once used."""
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v", user="alice")
    sid = v.sid("a.test")
    r, tags = page(v)
    tb = tag_for(tags, "b.test")
    assert_accepted(v.load_tag(tb), sid)

    attacker = Visitor(httpd)
    log = Log(httpd)
    r = attacker.load_tag(tb)
    print(r)
    assert_refused(r)
    log.wait(refused_rx("replayed") + rf"; from {re.escape(site(httpd, 'a.test'))}, "
             rf"session {H.fingerprint(sid)}")
    assert whoami(attacker, "b.test") == {}


@pytest.mark.expect_log(refused_rx("replayed"))
def test_threat_replayed_token_same_browser(push_httpd):
    """Spec: the confirmation key exists after the first use, so ANY second use of a token
    for the same session and site is refused -- also from the browser that used it."""
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v", user="alice")
    sid = v.sid("a.test")
    r, tags = page(v)
    tb = tag_for(tags, "b.test")
    assert_accepted(v.load_tag(tb), sid)
    log = Log(httpd)
    r = v.load_tag(tb)
    print(r)
    print("\n".join(log.lines()))
    assert_refused(r)
    log.wait(refused_rx("replayed"))
    assert whoami(v, "b.test") == {"k": "v", "user": "alice"}, "the first push still holds"


@pytest.mark.expect_log(refused_rx("replayed"))
def test_threat_second_token_same_session_and_site(push_httpd):
    """A fresh token (a new page after dropping the sync cookie) for a (session, site) already
    confirmed is a new hand-over: the browser that holds the session takes it again; the same
    token presented a second time, by anybody, is refused."""
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v", user="alice")
    sid = v.sid("a.test")
    propagate(v, httpd)
    del v.at("a.test").cookies[SYNC_COOKIE]
    r, tags = page(v)
    assert len(tags) == 2, "no sync cookie: the id is pushed again"
    tc = tag_for(tags, "c.test")
    assert_accepted(v.load_tag(tc), sid)
    other = Visitor(httpd)
    log = Log(httpd)
    r = other.load_tag(tc)
    assert_refused(r)
    log.wait(refused_rx("replayed"))
    assert other.sid("c.test") is None


TAMPER = {
    # name: (function of the token, reason)
    "bit-flip": (lambda t: t[:len(t) // 2] + ("B" if t[len(t) // 2] == "A" else "A")
                 + t[len(t) // 2 + 1:], "bad-auth"),
    "truncated": (lambda t: t[:len(t) // 2], "malformed"),
    "oversized-2000": (lambda t: (t * 20)[:2000], "malformed"),
    "not-base64url": (lambda t: t[:20] + "*" + t[21:], "malformed"),
    "padded": (lambda t: t + "=", "malformed"),
    "empty": (lambda t: "", "no-token"),
    "version-byte": (lambda t: H.TokenCodec._b64e(bytes([2]) + H.TokenCodec._b64d(t)[1:]),
                     "bad-version"),
    "key-id-byte": (lambda t: H.TokenCodec._b64e(H.TokenCodec._b64d(t)[:1] + bytes([9])
                                                  + H.TokenCodec._b64d(t)[2:]), "unknown-key"),
}


@pytest.mark.parametrize("kind", list(TAMPER))
def test_threat_tampered_token(push_httpd, expect_log, kind):
    fn, reason = TAMPER[kind]
    expect_log(refused_rx(reason))
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v", user="alice")
    sid = v.sid("a.test")
    r, tags = page(v)
    tb = tag_for(tags, "b.test")
    bad = fn(tb.token)
    assert bad != tb.token
    log = Log(httpd)
    r = v.at("b.test").get(f"/_shs/cb?t={bad}", headers={"Host": tb.netloc})
    print(kind, len(bad), r)
    assert_refused(r)
    log.wait(refused_rx(reason))
    assert whoami(v, "b.test") == {}
    # a refused forgery does not burn the genuine token
    assert_accepted(v.load_tag(tb), sid)


@pytest.mark.slow
@pytest.mark.expect_log(refused_rx("expired"))
def test_threat_expired_token(push_httpd, keyfile):
    """SharedSessionTokenLifetime 5.  The module tolerates SHS_TOKEN_SKEW = 5 s of clock
    difference, so a token is refused only once more than lifetime + 5 s have passed since it
    was issued: the test waits until issued + 11 s (about 11 s)."""
    httpd = push_httpd(extra="SharedSessionTokenLifetime 5\n")
    v = visitor_with_session(httpd, k="v", user="alice")
    r, tags = page(v)
    tb = tag_for(tags, "b.test")
    tok = keyfile.codec.open(tb.token)
    assert tok["lifetime"] == 5, tok
    deadline = tok["issued"] + 5 + 5 + 1
    while time.time() < deadline + 0.2:
        time.sleep(0.25)
    log = Log(httpd)
    r = v.load_tag(tb)
    print(r)
    assert_refused(r)
    log.wait(refused_rx("expired"))
    assert whoami(v, "b.test") == {}


FORGED = {
    # name: (function(codec, httpd, sid) -> token for b.test, reason)
    "expired-long-ago": (lambda c, h, s: c.seal(s, site(h, "a.test"), site(h, "b.test"),
                                                 issued=int(time.time()) - 100, lifetime=5),
                         "expired"),
    "not-yet-valid": (lambda c, h, s: c.seal(s, site(h, "a.test"), site(h, "b.test"),
                                              issued=int(time.time()) + 60), "not-yet-valid"),
    "source-is-destination": (lambda c, h, s: c.seal(s, site(h, "b.test"), site(h, "b.test")),
                              "source-is-destination"),
    "source-not-in-group": (lambda c, h, s: c.seal(s, "evil.test:1", site(h, "b.test")),
                            "source-not-in-group"),
    "destination-without-port": (lambda c, h, s: c.seal(s, site(h, "a.test"), "b.test"),
                                 "wrong-destination: for b.test, this site is b.test:{port}"),
    "unknown-session": (lambda c, h, s: c.seal(H.new_id(), site(h, "a.test"),
                                                site(h, "b.test")), "unknown-session"),
}


@pytest.mark.parametrize("kind", list(FORGED))
def test_threat_forged_token_with_the_key(push_httpd, keyfile, expect_log, kind):
    """Tokens sealed with the real key but fields the module never writes itself."""
    fn, reason = FORGED[kind]
    httpd = push_httpd()
    reason = reason.replace("{port}", str(httpd.port))
    expect_log(refused_rx(reason))
    v = visitor_with_session(httpd, k="v", user="alice")
    token = fn(keyfile.codec, httpd, v.sid("a.test"))
    log = Log(httpd)
    r = v.at("b.test").get(f"/_shs/cb?t={token}", headers={"Host": f"b.test:{httpd.port}"})
    print(r)
    assert_refused(r)
    log.wait(refused_rx(reason))
    assert whoami(v, "b.test") == {}


def test_forged_token_twin_is_accepted(push_httpd, keyfile):
    """Control for the forged tokens above: the Python twin of the token format, with valid
    fields, is accepted (so the refusals above are about the field, not the codec)."""
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v")
    sid = v.sid("a.test")
    token = keyfile.codec.seal(sid, site(httpd, "a.test"), site(httpd, "b.test"))
    r = v.at("b.test").get(f"/_shs/cb?t={token}", headers={"Host": f"b.test:{httpd.port}"})
    assert_accepted(r, sid)


def _wrong_destination(httpd, token_host, used_at):
    return (f"wrong-destination: for {site(httpd, token_host)}, this site is "
            f"{site(httpd, used_at)}")


def test_threat_token_for_another_destination(push_httpd, expect_log):
    """b.test's token used on c.test (an attacker's page on c.test, or a mix-up)."""
    httpd = push_httpd()
    reason = _wrong_destination(httpd, "b.test", "c.test")
    expect_log(refused_rx(reason))
    v = visitor_with_session(httpd, k="v", user="alice")
    sid = v.sid("a.test")
    r, tags = page(v)
    tb = tag_for(tags, "b.test")
    log = Log(httpd)
    r = v.at("c.test").get(tb.target, headers={"Host": f"c.test:{httpd.port}"})
    print(r)
    assert_refused(r)
    log.wait(refused_rx(reason))
    assert whoami(v, "c.test") == {}
    # still good where it belongs
    assert_accepted(v.load_tag(tb), sid)


def test_threat_host_header_spoofing(push_httpd, expect_log):
    """The Host header only picks the virtual host; the destination is checked against that
    virtual host's configured site.  b.test's token with Host: c.test, or with an unknown
    name (default vhost a.test), is refused; with Host: b.test:1 (a port nobody configured)
    it still reaches b.test's vhost and is accepted there."""
    httpd = push_httpd()
    r_c = _wrong_destination(httpd, "b.test", "c.test")
    r_a = _wrong_destination(httpd, "b.test", "a.test")
    expect_log(refused_rx(r_c), refused_rx(r_a))
    v = visitor_with_session(httpd, k="v", user="alice")
    sid = v.sid("a.test")
    r, tags = page(v)
    tb = tag_for(tags, "b.test")

    log = Log(httpd)
    r = httpd.request("GET", tb.target, headers={"Host": "c.test"})
    assert_refused(r)
    log.wait(refused_rx(r_c))

    log = Log(httpd)
    r = httpd.request("GET", tb.target, headers={"Host": "unknown.example"})
    assert_refused(r)
    log.wait(refused_rx(r_a))

    log = Log(httpd)
    r = httpd.request("GET", tb.target, headers={"Host": "b.test:1", **v.push_headers(tb.target)})
    assert_accepted(r, sid)
    log.wait(r"SHS00402")


def _two_servers(make_httpd, h1_extra, h2_keyfile, h2_group):
    """Two httpds on the same memcached.  h1: group shop (a, b, c on h1's port) + h1_extra
    (with {p2} for h2's port); h2: key file h2_keyfile and h2_group (with {p1}, {p2})."""
    h2 = make_httpd(start=False, files=FILES)
    h1 = make_httpd(start=False, files=FILES)
    p1, p2 = h1.port, h2.port
    h1.global_conf = TRACE + h1_extra.replace("{p2}", str(p2))
    h2.global_conf = TRACE + f"SharedSessionKeyFile {h2_keyfile}\n" + \
        h2_group.replace("{p1}", str(p1)).replace("{p2}", str(p2))
    h1.start()
    h2.start()
    return h1, h2


def _token_from_x(h1, h2):
    """A session on h2's x.test and the tag its page carries for h1's b.test."""
    v2 = visitor_with_session(h2, "x.test", k="from-x", user="mallory")
    r, tags = page(v2, "x.test")
    print(r)
    tb = tag_for(tags, "b.test")
    assert tb.port == h1.port, tb
    return v2, tb


def test_threat_token_from_other_group(make_httpd, keyfile, expect_log):
    """x.test is in group 'other' (x.test, y.test).  (1) A token x.test really makes is for its
    own peer y.test: at b.test it is refused as wrong-destination.  (2) A token made for b.test
    by a server that puts x.test and b.test together (same key file) is refused as
    source-in-other-group.  Tokens of another group open at all only because both groups
    share the key file."""
    h1, h2 = _two_servers(
        make_httpd,
        H.group_conf(keyfile.path) + "SharedSessionGroup other http://x.test:{p2} "
        "http://y.test:{p2}\n",
        keyfile.path, "SharedSessionGroup evil http://x.test:{p2} http://b.test:{p1}\n")
    reason1 = f"wrong-destination: for y.test:{h2.port}, this site is b.test:{h1.port}"
    expect_log(refused_rx(reason1), refused_rx("source-in-other-group"))

    # (1) h1's own x.test, member of 'other', pushes to y.test only
    vx = visitor_with_session(h1, "x.test", k="x", user="xavier")
    r, tags = page(vx, "x.test")
    assert [t.host for t in tags] == ["y.test"], r
    victim = Visitor(h1)
    log = Log(h1)
    r = victim.at("b.test").get(tags[0].target, headers={"Host": f"b.test:{h1.port}"})
    assert_refused(r)
    log.wait(refused_rx(reason1))

    # (2) a token for b.test from x.test
    v2, tb = _token_from_x(h1, h2)
    log = Log(h1)
    r = victim.load_tag(tb)
    print(r)
    assert_refused(r)
    log.wait(refused_rx("source-in-other-group") + rf"; from x\.test:{h2.port}")
    assert whoami(victim, "b.test") == {}


def test_threat_token_from_host_outside_any_group(make_httpd, keyfile, expect_log):
    """Same key file, but h1 does not know x.test at all: source-not-in-group."""
    expect_log(refused_rx("source-not-in-group"))
    h1, h2 = _two_servers(make_httpd, H.group_conf(keyfile.path), keyfile.path,
                          "SharedSessionGroup evil http://x.test:{p2} http://b.test:{p1}\n")
    v2, tb = _token_from_x(h1, h2)
    victim = Visitor(h1)
    log = Log(h1)
    r = victim.load_tag(tb)
    assert_refused(r)
    log.wait(refused_rx("source-not-in-group"))
    assert whoami(victim, "b.test") == {}


def test_threat_token_signed_with_other_key_file(make_httpd, keyfile, workdir, expect_log):
    """A server with a different key file (same key id 1): bad-auth."""
    expect_log(refused_rx("bad-auth"))
    other = os.path.join(workdir, "other-keys.txt")
    H.write_keyfile(other)
    h1, h2 = _two_servers(make_httpd, H.group_conf(keyfile.path), other,
                          "SharedSessionGroup evil http://x.test:{p2} http://b.test:{p1}\n")
    v2, tb = _token_from_x(h1, h2)
    victim = Visitor(h1)
    log = Log(h1)
    r = victim.load_tag(tb)
    assert_refused(r)
    log.wait(refused_rx("bad-auth"))


def test_threat_unknown_key_id(make_httpd, keyfile, workdir, expect_log):
    """Tokens sealed with key id 7 (first key of the other file) at a server that has only
    key 1: unknown-key."""
    expect_log(refused_rx("unknown-key"))
    other = os.path.join(workdir, "key7.txt")
    H.write_keyfile(other, [(7, os.urandom(32)), (1, keyfile.keys[1])])
    h1, h2 = _two_servers(make_httpd, H.group_conf(keyfile.path), other,
                          "SharedSessionGroup evil http://x.test:{p2} http://b.test:{p1}\n")
    v2, tb = _token_from_x(h1, h2)
    assert H.TokenCodec._b64d(tb.token)[1] == 7, "the first key of the file signs"
    victim = Visitor(h1)
    log = Log(h1)
    r = victim.load_tag(tb)
    assert_refused(r)
    log.wait(refused_rx("unknown-key"))


@pytest.mark.memcached_only
def test_key_rotation_old_key_still_verifies(make_httpd, keyfile):
    """The other way round: a token signed with key 7 at a server whose file has 1 first and 7
    second is accepted (all keys verify) -- but from x.test it is still out of the group, so
    use a group-mate: h2 puts a.test (h2's port) and b.test (h1's port) together and h1 lists
    a.test:h2port in its group."""
    k7 = os.urandom(32)
    h1_keys = os.path.join(os.path.dirname(keyfile.path), "h1-keys.txt")
    H.write_keyfile(h1_keys, [(1, keyfile.keys[1]), (7, k7)])
    h2_keys = os.path.join(os.path.dirname(keyfile.path), "h2-keys.txt")
    H.write_keyfile(h2_keys, [(7, k7)])
    h2 = make_httpd(start=False, files=FILES)
    h1 = make_httpd(start=False, files=FILES)
    h1.global_conf = TRACE + f"SharedSessionKeyFile {h1_keys}\nSharedSessionGroup shop " \
        f"http://b.test:{h1.port} http://c.test:{h1.port} http://a.test:{h2.port}\n"
    h2.global_conf = TRACE + f"SharedSessionKeyFile {h2_keys}\nSharedSessionGroup shop " \
        f"http://a.test:{h2.port} http://b.test:{h1.port} http://c.test:{h1.port}\n"
    h1.start()
    h2.start()
    v = visitor_with_session(h2, "a.test", k="rotated")
    sid = v.sid("a.test")
    r, tags = page(v, "a.test")
    tb = tag_for(tags, "b.test")
    assert H.TokenCodec._b64d(tb.token)[1] == 7
    victim = Visitor(h1)
    assert_accepted(victim.load_tag(tb), sid)
    assert whoami(victim, "b.test") == {"k": "rotated"}


def test_threat_forced_session_fixation(push_httpd, mc, expect_log):
    """The attacker's own valid token delivered to a victim.  A victim with a live session on
    b.test keeps it (local-session-kept).  A victim without one accepts it: that is login CSRF
    territory (the victim browses as the attacker); it is mitigated by the id rotation at
    login: once the victim logs in, the session moves to a new id the attacker does not know,
    and the attacker's id does not see the victim's data."""
    expect_log(refused_rx("local-session-kept"))
    httpd = push_httpd()
    attacker = visitor_with_session(httpd, "a.test", k="attacker", user="mallory")
    asid = attacker.sid("a.test")
    r, tags = page(attacker)
    tb = tag_for(tags, "b.test")

    victim = visitor_with_session(httpd, "b.test", k="victim")
    vsid = victim.sid("b.test")
    log = Log(httpd)
    r = victim.load_tag(tb)
    print(r)
    assert_refused(r)
    log.wait(refused_rx("local-session-kept"))
    assert victim.sid("b.test") == vsid
    assert whoami(victim, "b.test") == {"k": "victim"}

    # a victim with no session on b.test: a token of the attacker's (the first one was used
    # up by the refusal) is accepted when it reaches the victim's browser from a page of a.test
    # (a push is single-use per session and site: a second session of the attacker's)
    attacker = visitor_with_session(httpd, "a.test", k="attacker", user="mallory")
    asid = attacker.sid("a.test")
    r, tags = page(attacker)
    tb = tag_for(tags, "b.test")
    victim2 = Visitor(httpd)
    log = Log(httpd)
    r = victim2.load_tag(tb)
    assert_accepted(r, asid)
    log.wait(r"SHS00402")
    assert whoami(victim2, "b.test") == {"k": "attacker", "user": "mallory"}

    # the victim logs in: the id rotates, the attacker's id is dead and sees nothing
    log = Log(httpd)
    r = victim2.at("b.test").set("user", "victim")
    new = r.set_cookies(COOKIE)
    assert len(new) == 1, r
    nsid = parse_set_cookie(new[0])[1]
    assert ID_RE.match(nsid) and nsid != asid, new
    log.wait(rf"SHS00117: identity changed: session {H.fingerprint(asid)} moved to "
             rf"{H.fingerprint(nsid)}")
    assert whoami(victim2, "b.test") == {"k": "attacker", "user": "victim"}
    assert mc.get(store_key(asid)) is None
    seen = whoami(attacker, "a.test")
    assert "victim" not in seen.values(), f"the attacker's id sees the victim's login: {seen}"
    planted = {"Cookie": f"{COOKIE}={asid}"}
    r = httpd.request("GET", "/whoami.php", headers={"Host": "b.test", **planted})
    assert r.json()["session"] == {}, r


def test_threat_shared_cache(push_httpd):
    """A page with tokens must not be stored by a shared cache, even when the application asks
    for public caching."""
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v")
    r, tags = page(v, path="/cached.cgi")
    print(r)
    assert len(tags) == 2, r
    assert_injected_headers(r)
    # the same CGI without a session: the application's headers are untouched
    r = Visitor(httpd).at("a.test").get("/cached.cgi")
    assert find_tags(r.text) == [] and r.header("Cache-Control") == "public, max-age=600", r
    assert r.header("ETag") == '"v1"', r


def test_threat_html_injection_through_hostname(configtest, keyfile):
    rc, out, h = configtest(global_conf=f"SharedSessionKeyFile {keyfile.path}\n"
                                        "SharedSessionGroup g 'a.test\"><script>' b.test\n")
    h.assert_refused(rc, out, "SharedSessionGroup g",
                     "SharedSessionGroup: 'a.test\"><script>': 'a.test\"><script>' is not a "
                     "valid host name")
    rc, out, h = configtest(global_conf=f"SharedSessionKeyFile {keyfile.path}\n"
                                        "SharedSessionGroup g http://a.test/\"x b.test\n")
    h.assert_refused(rc, out, "SharedSessionGroup g",
                     "SharedSessionGroup: 'http://a.test/\"x': give a site as "
                     "[scheme://]host[:port], without a path")


@pytest.mark.expect_log(refused_rx("unknown-session"))
def test_threat_unknown_session(push_httpd, mc):
    """A token minted, then the session logged out on a.test (deleted from memcached): strict
    mode refuses to plant the id."""
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v", user="alice")
    sid = v.sid("a.test")
    r, tags = page(v)
    tb = tag_for(tags, "b.test")
    r = v.at("a.test").get("/logout.php")
    assert r.status == 200 and mc.get(store_key(sid)) is None, r
    log = Log(httpd)
    r = v.load_tag(tb)
    print(r)
    assert_refused(r)
    log.wait(refused_rx("unknown-session") + rf".*session {H.fingerprint(sid)}")
    # the token was used up before the check that refused it: loading it again is a replay;
    # a refused push confirms nothing (the site stays due for another push)
    assert mc.get(confirm_key(sid, site(httpd, "b.test"))) is None
    assert_refused(v.load_tag(tb))
    log.wait(refused_rx("replayed") + rf".*session {H.fingerprint(sid)}")
    assert whoami(v, "b.test") == {}


# ------------------------------------------------------------------ 3. logout everywhere

def test_logout_everywhere(push_httpd, mc):
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v", user="alice")
    sid = v.sid("a.test")
    propagate(v, httpd)
    for h in H.GROUP_HOSTS:
        assert whoami(v, h) == {"k": "v", "user": "alice"}, h
    log = Log(httpd)
    r = v.at("b.test").get("/logout.php")
    assert r.status == 200, r
    log.wait(rf"SHS00106: session {H.fingerprint(sid)} emptied and deleted")
    assert mc.get(store_key(sid)) is None
    for h in ("a.test", "c.test"):
        assert v.sid(h) == sid, "the other sites still hold the id..."
        assert whoami(v, h) == {}, f"...but it is logged out on {h} at once"


# ------------------------------------------------------------------ 4. rotation

def test_rotation_pushes_new_id(push_httpd, mc):
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v", user="alice")
    old = v.sid("a.test")
    propagate(v, httpd)
    assert whoami(v, "b.test")["user"] == "alice"

    r = v.at("a.test").set("user", "bob")
    scs = r.set_cookies(COOKIE)
    assert len(scs) == 1, f"user changed: a new id cookie expected: {r}"
    new = parse_set_cookie(scs[0])[1]
    assert ID_RE.match(new) and new != old
    assert mc.get(store_key(old)) is None
    assert v.sid("b.test") == old and whoami(v, "b.test") == {}, "old id: anonymous on b.test"

    log = Log(httpd)
    r, tags = page(v)
    assert sorted(t.host for t in tags) == ["b.test", "c.test"], f"the new id is pushed: {r}"
    log.wait(rf"SHS00502: pushing session {H.fingerprint(new)} to 2 site\(s\)$")
    log = Log(httpd)
    assert_accepted(v.load_tag(tag_for(tags, "b.test")), new)
    log.wait(rf"SHS00402: session {H.fingerprint(new)} received")
    assert whoami(v, "b.test") == {"k": "v", "user": "bob"}
    assert whoami(v, "c.test") == {}, "c.test has not loaded its tag yet"


# ------------------------------------------------------------------ 5. filter behaviour

def test_filter_chunked_cgi(push_httpd):
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v")
    r, tags = page(v, path="/chunk.cgi")
    print(r)
    assert r.status == 200 and len(tags) == 2, r
    assert r.text == CHUNK_HEAD + "".join(t.raw for t in tags) + "</body></html>\n", r.text
    assert_injected_headers(r)


def test_filter_no_body_end_tag(push_httpd):
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v")
    r, tags = page(v, path="/nobody.html")
    assert len(tags) == 2, r
    assert r.text == NO_BODY_END + "".join(t.raw for t in tags), r.text


def test_filter_skips_comment_and_script(push_httpd):
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v")
    r, tags = page(v, path="/tricky.html")
    assert len(tags) == 2, r
    at = TRICKY.rindex("</body>")
    assert r.text == TRICKY[:at] + "".join(t.raw for t in tags) + TRICKY[at:], r.text


def test_filter_static_file_insertion_point_remembered(push_httpd):
    """A static file is scanned once per version: later responses are split at the remembered
    offset (SHS00505), byte for byte the same, with an exact Content-Length; a new version of
    the file (same inode and size, other mtime) is scanned again."""
    httpd = push_httpd(extra="LogLevel warn sharedsession:trace2\n")
    views = []
    for host in ("a.test", "a.test", "a.test", "b.test"):
        log = Log(httpd)
        r, tags = page(visitor_with_session(httpd, host, k="v"), host=host, path="/tricky.html")
        assert len(tags) == 2, r
        at = TRICKY.rindex("</body>")
        assert r.text == TRICKY[:at] + "".join(t.raw for t in tags) + TRICKY[at:], r.text
        assert r.header("Content-Length") == str(len(r.body)), r
        assert_injected_headers(r)
        views.append(bool(log.lines(r"SHS00505: loader tags at byte %d of .*tricky.html "
                                    r"\(remembered" % at)))
    # each process scans the file once (2 processes; b.test is another file)
    assert views.count(True) >= 1 and views[0] is False and views[3] is False, views

    # the same inode and size, another modification time: the old offset must not be used
    moved = TRICKY.replace("<p>after</p>\n</body></html>\n", "</body></html>\n<p>after</p>\n")
    assert len(moved) == len(TRICKY)
    for docroot in (httpd.docroot("a.test"),):
        path = os.path.join(docroot, "tricky.html")
        ino = os.stat(path).st_ino
        with open(path, "r+") as f:
            f.write(moved)
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
        assert os.stat(path).st_ino == ino
    for _ in range(3):
        r, tags = page(visitor_with_session(httpd, k="v"), path="/tricky.html")
        at = moved.rindex("</body>")
        assert r.text == moved[:at] + "".join(t.raw for t in tags) + moved[at:], r.text
        assert r.header("Content-Length") == str(len(r.body)), r


def test_filter_static_file_without_body_end_remembered(push_httpd):
    httpd = push_httpd(processes=1)   # one process: one memory of the insertion point
    for i in range(4):
        r, tags = page(visitor_with_session(httpd, k="v"), path="/nobody.html")
        assert len(tags) == 2, r
        assert r.text == NO_BODY_END + "".join(t.raw for t in tags), r.text
        # the first view is scanned (its length is known only at the end: chunked); later
        # views splice at the remembered point with the exact length
        assert r.header("Content-Length") == (str(len(r.body)) if i else None), r


def test_filter_php_page(push_httpd):
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v")
    r, tags = page(v, path="/page.php")
    assert len(tags) == 2, r
    assert r.text.endswith("".join(t.raw for t in tags) + "</body></html>\n"), r.text


def _tag_len(httpd):
    """The length of one loader tag of this group (every token has the same length)."""
    v = visitor_with_session(httpd, k="w")
    return len(page(v)[1][0].raw)


def test_filter_head(push_httpd):
    """HEAD gets the headers the tagged GET gets (no validator, no length of the untagged
    file, uncacheable), without using up the push."""
    httpd = push_httpd()
    tag_len = _tag_len(httpd)
    v = visitor_with_session(httpd, k="v")
    log = Log(httpd)
    r = v.at("a.test").request("HEAD", "/page.html")
    assert r.status == 200 and r.body == b"", r
    assert not r.set_cookies(SYNC_COOKIE), r
    assert r.header("Cache-Control") == "private, no-store", r
    assert r.header("ETag") is None and r.header("Last-Modified") is None, r
    assert r.header("Content-Length") == str(len(PAGE) + 2 * tag_len), r
    log.absent("SHS00502")
    r, tags = page(v)
    assert len(tags) == 2, "HEAD did not use up the push"


def test_filter_post(push_httpd):
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v")
    log = Log(httpd)
    r = v.at("a.test").post("/form.cgi", {"x": "1"})
    assert r.status == 200 and "<p>POST</p>" in r.text, r
    assert find_tags(r.text) == [] and loose_tags(r.text) == [], r
    assert not r.set_cookies(SYNC_COOKIE), r
    log.absent("SHS00502")
    r, tags = page(v, path="/form.cgi")
    assert "<p>GET</p>" in r.text and len(tags) == 2, r


@pytest.mark.parametrize("path,status,why", [
    ("/data.json", 200, "not HTML"),
    ("/whoami.php", 200, "not HTML"),
    ("/no-such-page.html", 404, None),       # the error page may bypass the filter
])
def test_filter_not_an_html_200(push_httpd, path, status, why):
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v")
    log = Log(httpd)
    r = v.at("a.test").get(path)
    assert r.status == status, r
    assert loose_tags(r.text) == [] and "_shs" not in r.text, r
    assert not r.set_cookies(SYNC_COOKIE), r
    if why:
        log.wait(rf"SHS00504: no loader tags: {why}")
    log.absent("SHS00502")


def test_filter_gzip_encoded(push_httpd):
    httpd = push_httpd(extra="AddEncoding gzip .gz\n")
    gz = gzip.compress(PAGE.encode())
    for h in H.VHOSTS:
        with open(os.path.join(httpd.docroot(h), "zipped.html.gz"), "wb") as f:
            f.write(gz)
    httpd.fix_perms()
    v = visitor_with_session(httpd, k="v")
    log = Log(httpd)
    r = v.at("a.test").get("/zipped.html.gz")
    print(r)
    assert r.status == 200 and r.header("Content-Encoding") == "gzip", r
    assert r.body == gz, ("the compressed body must pass untouched; it ends with "
                          f"{r.body[len(gz) - 8:]!r}; new log lines:\n" + "\n".join(log.lines()))
    assert not r.set_cookies(SYNC_COOKIE), r
    log.wait(r"SHS00504: no loader tags: encoded")


def test_filter_visitor_without_session(push_httpd):
    httpd = push_httpd()
    log = Log(httpd)
    r = Visitor(httpd).at("a.test").get("/page.html")
    assert r.status == 200 and r.text == PAGE, r
    assert not r.set_cookies(), r
    log.wait(r"SHS00504: no loader tags: no session")


def test_filter_dead_session_cookie(push_httpd):
    """An id cookie memcached does not know is no session: nothing is pushed."""
    httpd = push_httpd()
    b = Visitor(httpd).at("a.test")
    b.cookies[COOKIE] = H.new_id()
    log = Log(httpd)
    r = b.get("/page.html")
    assert r.text == PAGE and not r.set_cookies(SYNC_COOKIE), r
    log.wait(r"SHS00504: no loader tags: no session")


def test_filter_inject_off_in_htaccess(push_httpd):
    httpd = push_httpd()
    httpd.write_file("sub/.htaccess", "SharedSessionInject Off\n")
    v = visitor_with_session(httpd, k="v")
    log = Log(httpd)
    r = v.at("a.test").get("/sub/page.html")
    assert r.status == 200 and r.text == PAGE, r
    assert not r.set_cookies(SYNC_COOKIE) and r.header("ETag"), r
    log.absent("SHS00502")
    r, tags = page(v)                 # the rest of the site still pushes
    assert len(tags) == 2, r


def test_filter_transport_none_in_htaccess(push_httpd):
    httpd = push_httpd()
    httpd.write_file("sub/.htaccess", "SharedSessionTransport none\n")
    v = visitor_with_session(httpd, k="v")
    r = v.at("a.test").get("/sub/page.html")
    assert r.status == 200 and r.text == PAGE and not r.set_cookies(SYNC_COOKIE), r


def test_filter_host_outside_group(push_httpd):
    httpd = push_httpd()
    v = visitor_with_session(httpd, "x.test", k="v")
    log = Log(httpd)
    r, tags = page(v, "x.test")
    assert r.status == 200 and r.text == PAGE and not r.set_cookies(SYNC_COOKIE), r
    log.absent("SHS00502")


def test_transport_script(push_httpd):
    httpd = push_httpd()
    httpd.write_file("sub/.htaccess", "SharedSessionTransport script\n")
    v = visitor_with_session(httpd, k="v", user="alice")
    sid = v.sid("a.test")
    r, tags = page(v, path="/sub/page.html")
    print(r)
    assert len(tags) == 2 and all(t.kind == "script" for t in tags), r
    assert "<img" not in r.text
    for t in tags:
        assert t.k == "js" and "&amp;k&#61;js" in t.src_attr, t.raw
    assert strip_tags(r.text, tags) == PAGE
    log = Log(httpd)
    cb = v.load_tag(tag_for(tags, "b.test"))
    print(cb)
    assert_accepted(cb, sid, script=True)
    log.wait(r"SHS00402")
    assert whoami(v, "b.test") == {"k": "v", "user": "alice"}


@pytest.mark.expect_log(*{refused_rx(reason) for _, reason in TAMPER.values()})
def test_transport_script_refused_answers_script(push_httpd):
    """Every tampered token of TAMPER, loaded as a script (k=js): the empty script answer, no
    cookie, and each refused for its own reason -- one refusal per case, none for anything
    else; the genuine token still works afterwards."""
    httpd = push_httpd()
    v = visitor_with_session(httpd, k="v")
    sid = v.sid("a.test")
    r, tags = page(v)
    tb = tag_for(tags, "b.test")
    log = Log(httpd)
    for kind, (fn, reason) in TAMPER.items():
        bad = fn(tb.token)
        assert bad != tb.token, kind
        case = Log(httpd)
        r = v.at("b.test").get(f"/_shs/cb?t={bad}&k=js", headers={"Host": tb.netloc})
        print(kind, len(bad), r)
        assert_refused(r, script=True)
        case.wait(refused_rx(reason))
        assert len(case.lines("SHS00401")) == 1, f"{kind}:\n" + "\n".join(case.lines())
    refusals = log.lines("SHS00401")
    assert len(refusals) == len(TAMPER), "\n".join(refusals)
    assert whoami(v, "b.test") == {}
    assert_accepted(v.at("b.test").get(tb.target + "&k=js", headers={"Host": tb.netloc}), sid,
                    script=True)


# ------------------------------------------------------------------ 6. replace

@pytest.mark.memcached_only
def test_replace_on_replaces_live_local_session(push_httpd, mc):
    httpd = push_httpd(extra="SharedSessionReplace On\n")
    v = visitor_with_session(httpd, "a.test", k="from-a", user="alice")
    sid = v.sid("a.test")
    v.at("b.test").set("k", "local")
    local = v.sid("b.test")
    assert local != sid and mc.get(store_key(local)) == "k=local"
    r, tags = page(v)
    log = Log(httpd)
    r = v.load_tag(tag_for(tags, "b.test"))
    print(r)
    assert_accepted(r, sid)
    log.wait(rf"SHS00402: session {H.fingerprint(sid)} received")
    log.absent("SHS00401")
    assert v.sid("b.test") == sid
    assert whoami(v, "b.test") == {"k": "from-a", "user": "alice"}
