"""Cross-domain redirect pull: a top-level navigation to a peer without a live session bounces
through the hub (B/page -> B/_shs/pull -> hub/_shs/attach -> B/_shs/cb -> B/page), the
marker cookie against bounce storms, the threats, the requests that never bounce, clients
without a cookie jar, logout and rotation, and the configuration checks.

Set-up: one key file, `SharedSessionGroup g http://a.test:PORT http://b.test:PORT
http://c.test:PORT`, `SharedSessionHub g http://a.test:PORT` (the hub), `SharedSessionPullRetry
300`, `SharedSessionTokenLifetime 30`; x.test is in no group.  The default transport is
`image pull`.

The browser is pyshs.Navigator: one path-aware, host-only cookie jar per host, the
navigation headers of a real browser (Sec-Fetch-Mode: navigate, Sec-Fetch-Dest: document, an
HTML Accept), redirects followed by hand so that every hop can be checked.  The application's
view of a session is read with a fetch() of whoami.php (Sec-Fetch-Mode: cors: never bounced).
Tokens are read and forged with pyshs.TokenCodec.
"""

import os
import re
import time
import urllib.parse

import pytest

import pyshs as H
from pyshs import (COOKIE, ID_RE, PULL_COOKIE, STATE_COOKIE, Navigator, format_hops,
                   parse_set_cookie, store_key)
from pyshs import LogWatch as Log
from test_push import refused_rx, site

PAGE = ("<!doctype html>\n<html><head><title>pull</title></head>\n<body>\n<p>a page</p>\n"
        "</body>\n</html>\n")
ECHO_CGI = r"""#!/bin/bash
# HTML for GET and POST alike: the method and the query string it was called with.
[ "${REQUEST_METHOD-}" = POST ] && cat >/dev/null
printf 'Content-Type: text/html\r\nCache-Control: no-store\r\n\r\n'
printf '<!doctype html><html><body><p>method=%s query=%s</p></body></html>\n' \
    "${REQUEST_METHOD-}" "${QUERY_STRING-}"
"""
FILES = {
    "page.html": PAGE,
    "echo.cgi": ECHO_CGI,
    "sub/page.html": PAGE,
    "loc/page.html": PAGE,
}

STATE_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")
BOUNCED = r"SHS00601: no live session"


def pull_conf(keyfile, port="{port}", retry=300, hub_port=None):
    """The group g (a, b, c) with a.test as its hub."""
    return H.group_conf(keyfile, "g", port=port, hub="a.test", hub_port=hub_port,
                        extra=f"SharedSessionPullRetry {retry}\nSharedSessionTokenLifetime 30\n")


@pytest.fixture
def pull_httpd(make_httpd, keyfile):
    """pull_httpd(retry=300, extra="", **opts): an httpd whose a, b, c form group g, hub a."""
    def make(retry=300, extra="", start=True, **opts):
        opts.setdefault("files", FILES)
        return make_httpd(start=start, global_conf=pull_conf(keyfile.path, retry=retry) + extra,
                          **opts)
    return make


def origin(httpd, host):
    return f"http://{host}:{httpd.port}"


def split(url):
    """-> (origin, path, {param: value}) with the query decoded (each parameter once)."""
    u = urllib.parse.urlsplit(url)
    q = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
    params = dict(q)
    assert len(params) == len(q), f"a parameter given twice: {url}"
    return f"{u.scheme}://{u.netloc}", u.path, params


def one_cookie(hop, name):
    scs = hop.response.set_cookies(name)
    assert len(scs) == 1, f"one Set-Cookie {name} expected:\n{hop!r}"
    return parse_set_cookie(scs[0])


def attr(attrs, name):
    return attrs.get(name.lower(), (None, None))[1]


def assert_lax_cookie(attrs, path, max_age=None):
    assert attr(attrs, "path") == path, attrs
    assert "httponly" in attrs, attrs
    assert (attr(attrs, "samesite") or "").lower() == "lax", attrs
    assert "secure" not in attrs, f"plain http: no Secure: {attrs}"
    if max_age is None:
        assert "max-age" not in attrs and "expires" not in attrs, attrs
    else:
        assert attr(attrs, "max-age") == str(max_age), attrs


def assert_no_bounce(hops, log=None):
    """One request, answered without a redirect and without any pull cookie."""
    assert len(hops) == 1 and hops[0].status not in H.REDIRECT_STATUSES, \
        "no bounce expected:\n" + format_hops(hops)
    r = hops[0].response
    assert not r.set_cookies(STATE_COOKIE) and not r.set_cookies(PULL_COOKIE), hops[0]
    if log is not None:
        log.absent(BOUNCED)


def assert_bounced(hop, httpd, host, ret, fp="-", t0=None, t1=None):
    """Hop 1: 302 to <host>/_shs/pull?r=<ret>, the state and the marker cookies."""
    assert hop.status == 302, hop
    org, path, q = split(hop.location)
    assert (org, path, q) == (origin(httpd, host), "/_shs/pull", {"r": ret}), hop
    assert hop.response.header("Cache-Control") == "no-store", hop
    _, state, attrs = one_cookie(hop, STATE_COOKIE)
    assert STATE_RE.match(state), f"state nonce {state!r}"
    assert_lax_cookie(attrs, "/_shs/", 90)
    _, marker, attrs = one_cookie(hop, PULL_COOKIE)
    mfp, _, when = marker.partition(".")
    assert mfp == fp, f"marker {marker!r}: fingerprint {fp!r} expected"
    assert when.isdigit(), marker
    if t0 is not None:
        assert t0 - 1 <= int(when) <= t1 + 1, f"marker time {when} not in [{t0}, {t1}]"
    assert_lax_cookie(attrs, "/", 300)
    assert not hop.response.set_cookies(COOKIE), hop
    return state


def attach_refused_rx(reason):
    """The hub's refusal of an attach request for exactly `reason` (one per test: any other
    reason, or a refusal by another check, must not pass for it)."""
    return r"\[sharedsession:info\].*SHS00604: attach request refused \(" + re.escape(reason) \
        + r"\)"


def assert_cb_refused(hop, httpd, host, ret="/"):
    """A refused pull callback: back to the page (or /), no id cookie."""
    assert hop.status == 302, hop
    assert hop.location == origin(httpd, host) + ret, hop
    assert not hop.response.set_cookies(COOKIE), hop


def check_pull(nav, httpd, codec, host, ret, hub_sid=None, held_fp="-"):
    """Navigate to <host><ret> and check the whole pull hop by hop.  hub_sid: the live
    session of the hub (None: the hub must make a new empty one).  Returns (hops, id)."""
    port = httpd.port
    hub = site(httpd, "a.test")
    t0 = int(time.time())
    hops = nav.navigate(origin(httpd, host) + ret)
    t1 = int(time.time())
    print(format_hops(hops))
    assert len(hops) == 5, "4 redirects expected:\n" + format_hops(hops)
    bounce, start, attach, cb, final = hops

    # 1. the page bounces to the pull endpoint of the same site
    state = assert_bounced(bounce, httpd, host, ret, held_fp, t0, t1)

    # 2. the pull endpoint, the state cookie sent back: to the hub's attach endpoint
    assert f"{STATE_COOKIE}={state}" in (start.sent_cookies or ""), start
    assert start.status == 302, start
    org, path, q = split(start.location)
    assert (org, path, sorted(q)) == (origin(httpd, "a.test"), "/_shs/attach", ["r", "t"]), start
    assert q["r"] == ret, start
    assert start.response.header("Cache-Control") == "no-store", start
    tok = codec.open(q["t"])
    assert (tok["src"], tok["dst"], tok["nonce"]) == (site(httpd, host), hub, state), tok
    assert tok["lifetime"] == 30 and t0 - 1 <= tok["issued"] <= t1 + 1, tok

    # 3. the hub: its live session, or a new empty shared one
    assert attach.host == "a.test" and attach.port == port, attach
    assert attach.status == 302, attach
    org, path, q = split(attach.location)
    assert (org, path, sorted(q)) == (origin(httpd, host), "/_shs/cb", ["r", "t"]), attach
    assert q["r"] == ret, attach
    tok = codec.open(q["t"])
    assert (tok["src"], tok["dst"], tok["nonce"]) == (hub, site(httpd, host), state), tok
    assert tok["lifetime"] == 30 and t0 - 1 <= tok["issued"] <= t1 + 1, tok
    sid = tok["sid"]
    assert ID_RE.match(sid), tok
    if hub_sid is not None:
        assert sid == hub_sid, f"the hub's live session {hub_sid} expected, got {sid}"
        assert not attach.response.set_cookies(COOKIE), f"the hub keeps its id: {attach!r}"
    else:
        _, val, attrs = one_cookie(attach, COOKIE)
        assert val == sid, f"hub cookie {val} != handed id {sid}"
        assert_lax_cookie(attrs, "/")
        assert nav.sid("a.test") == sid
        assert nav.httpd.memcached.client.get(store_key(sid)) == "", \
            "a new EMPTY shared session in memcached expected"

    # 4. the callback: the id cookie (Lax), the state cookie removed, back to the page
    assert f"{STATE_COOKIE}={state}" in (cb.sent_cookies or ""), cb
    assert cb.status == 302 and cb.location == origin(httpd, host) + ret, cb
    assert cb.response.header("Cache-Control") == "no-store", cb
    _, val, attrs = one_cookie(cb, COOKIE)
    assert val == sid, cb
    assert_lax_cookie(attrs, "/")
    _, val, attrs = one_cookie(cb, STATE_COOKIE)
    assert attr(attrs, "max-age") == "0" and attr(attrs, "path") == "/_shs/", cb
    assert nav.cookie(host, STATE_COOKIE) is None

    # 5. the page itself
    assert final.status == 200 and final.url == origin(httpd, host) + ret, final
    assert nav.sid(host) == sid
    return hops, sid


# ------------------------------------------------------------------ 1. the hops

@pytest.mark.parametrize("headers", ["sec-fetch", "accept-only"])
def test_pull_hop_by_hop_logged_in_on_hub(pull_httpd, keyfile, mc, headers):
    httpd = pull_httpd()
    nav = Navigator(httpd)
    if headers == "accept-only":            # a browser without Sec-Fetch-*
        nav.nav_headers = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    hop = nav.get(origin(httpd, "a.test") + "/set.php?k=user&v=alice")
    assert hop.status == 200, hop
    alice = nav.sid("a.test")
    assert alice and ID_RE.match(alice), hop

    log = Log(httpd)
    hops, sid = check_pull(nav, httpd, keyfile.codec, "b.test", "/whoami.php?x=1", hub_sid=alice)
    assert sid == alice
    assert hops[-1].response.json()["session"] == {"user": "alice"}, hops[-1]
    log.wait(BOUNCED + r" \(no id\): pulling it from the hub " + re.escape(origin(httpd, "a.test")))
    log.wait(rf"\[sharedsession:debug\].*SHS00402: session {H.fingerprint(alice)} received from "
             rf"{re.escape(site(httpd, 'a.test'))} \(pull\)")
    log.absent("SHS00401")

    # the next navigations: no redirect at all
    log = Log(httpd)
    for path in ("/whoami.php?x=1", "/whoami.php", "/page.html"):
        hops = nav.navigate(origin(httpd, "b.test") + path)
        assert_no_bounce(hops)
        assert hops[0].status == 200, hops[0]
    assert nav.session("b.test") == {"user": "alice"}
    log.absent(BOUNCED)


# ------------------------------------------------------------------ 2. the anonymous cart

@pytest.mark.memcached_only
def test_pull_anonymous_cart(pull_httpd, keyfile, mc):
    httpd = pull_httpd()
    nav = Navigator(httpd)
    hops, sid = check_pull(nav, httpd, keyfile.codec, "b.test", "/whoami.php")
    assert hops[-1].response.json()["session"] == {}, hops[-1]
    assert mc.get(store_key(sid)) == "", "the shared session is empty"

    hop = nav.get(origin(httpd, "b.test") + "/set.php?k=cart&v=1")
    assert hop.status == 200, hop
    assert nav.sid("b.test") == sid, f"writing the cart keeps the id: {hop!r}"
    assert H.decode_session(mc.get(store_key(sid))).get("cart") == "1"

    hops, sid_c = check_pull(nav, httpd, keyfile.codec, "c.test", "/whoami.php", hub_sid=sid)
    assert sid_c == sid
    assert hops[-1].response.json()["session"] == {"cart": "1"}, hops[-1]
    assert nav.session("a.test") == {"cart": "1"}, "the hub sees the cart too"
    assert nav.session("b.test") == {"cart": "1"}


# ------------------------------------------------------------------ 3. threats

def pull_until_cb(nav, httpd, host="b.test", ret="/whoami.php"):
    """The first three hops of a pull; returns (cb URL, state nonce) without loading the cb."""
    hops = []
    url = origin(httpd, host) + ret
    for _ in range(3):
        hop = nav.get(url, nav=True)
        hops.append(hop)
        assert hop.status == 302, format_hops(hops)
        url = urllib.parse.urljoin(url, hop.location)
    assert split(url)[:2] == (origin(httpd, host), "/_shs/cb"), format_hops(hops)
    return url, nav.cookie(host, STATE_COOKIE)


def logged_in(httpd, user="alice"):
    nav = Navigator(httpd)
    assert nav.get(origin(httpd, "a.test") + f"/set.php?k=user&v={user}").status == 200
    assert nav.sid("a.test")
    return nav


@pytest.mark.expect_log(refused_rx("replayed"))
def test_threat_replayed_cb_same_browser(pull_httpd):
    httpd = pull_httpd()
    nav = logged_in(httpd)
    alice = nav.sid("a.test")
    cb, state = pull_until_cb(nav, httpd)
    first = nav.get(cb, nav=True)
    assert first.status == 302 and nav.sid("b.test") == alice, first
    raced = first.sent_cookies
    assert f"{STATE_COOKIE}={state}" in raced and f"{COOKIE}=" not in raced, first

    # loaded again as is (history, reload): the state cookie is gone; the id cookie is sent,
    # so this is the confirmation key's single use
    log = Log(httpd)
    hop = nav.get(cb, nav=True)
    print(hop)
    assert_cb_refused(hop, httpd, "b.test", "/whoami.php")
    log.wait(refused_rx("replayed"))
    # two loads racing (a second tab): the second request went out with the cookies of the
    # first, the state cookie and no id cookie yet.  Nothing but the single use of the token
    # id can refuse it: the state matches, the token is the hub's, the session is live.
    log = Log(httpd)
    hop = nav.get(cb, nav=True, headers={"Cookie": raced})
    print(hop)
    assert hop.sent_cookies == raced, hop
    assert_cb_refused(hop, httpd, "b.test", "/whoami.php")
    log.wait(refused_rx("replayed"))
    assert len(log.lines("SHS00401")) == 1, "\n".join(log.lines())
    assert nav.session("b.test") == {"user": "alice"}, "the first pull still holds"


@pytest.mark.expect_log(refused_rx("replayed"), refused_rx("state-mismatch"))
def test_threat_replayed_cb_other_browser(pull_httpd):
    """A cb URL that leaked (logs, history, Referer) after use."""
    httpd = pull_httpd()
    victim = logged_in(httpd)
    cb, state = pull_until_cb(victim, httpd)
    assert victim.get(cb, nav=True).status == 302 and victim.sid("b.test")

    # the attacker's browser with its own state cookie (its own bounce on b.test)
    attacker = Navigator(httpd)
    hop = attacker.get(origin(httpd, "b.test") + "/whoami.php", nav=True)
    assert hop.status == 302 and attacker.cookie("b.test", STATE_COOKIE), hop
    log = Log(httpd)
    hop = attacker.get(cb, nav=True)
    print(hop)
    assert_cb_refused(hop, httpd, "b.test", "/whoami.php")
    # the token id is spent before any other check: a replay is refused as such, whatever
    # state cookie comes with it
    log.wait(refused_rx("replayed"))
    assert len(log.lines("SHS00401")) == 1, "\n".join(log.lines())
    # the attacker even has the victim's state nonce: the token is used up
    attacker.set_cookie("b.test", STATE_COOKIE, state, "/_shs/")
    log = Log(httpd)
    hop = attacker.get(cb, nav=True)
    print(hop)
    assert_cb_refused(hop, httpd, "b.test", "/whoami.php")
    log.wait(refused_rx("replayed"))
    assert attacker.sid("b.test") is None
    assert attacker.session("b.test") == {}


def test_threat_cb_for_another_peer(pull_httpd, expect_log):
    httpd = pull_httpd()
    reason = (f"wrong-destination: for {site(httpd, 'b.test')}, this site is "
              f"{site(httpd, 'c.test')}")
    expect_log(refused_rx(reason))
    nav = logged_in(httpd)
    cb, state = pull_until_cb(nav, httpd, "b.test")
    # the same browser, with a state cookie on c.test as well
    hop = nav.get(origin(httpd, "c.test") + "/whoami.php", nav=True)
    assert hop.status == 302 and nav.cookie("c.test", STATE_COOKIE), hop
    nav.set_cookie("c.test", STATE_COOKIE, state, "/_shs/")
    log = Log(httpd)
    _, _, q = split(cb)
    hop = nav.get(origin(httpd, "c.test") + "/_shs/cb?" + urllib.parse.urlencode(q), nav=True)
    print(hop)
    assert_cb_refused(hop, httpd, "c.test", "/whoami.php")
    log.wait(refused_rx(reason))
    assert nav.sid("c.test") is None


@pytest.mark.expect_log(refused_rx("state-mismatch"))
@pytest.mark.parametrize("victim_state", ["own", "none"])
def test_threat_state_mismatch(pull_httpd, victim_state):
    """Login CSRF / session fixation: the attacker pulls on b.test, stops before the
    callback and makes the victim load it.  The victim's state nonce (its own, or none) does
    not match the token's."""
    httpd = pull_httpd()
    attacker = logged_in(httpd, "mallory")
    cb, _ = pull_until_cb(attacker, httpd)
    victim = Navigator(httpd)
    if victim_state == "own":
        hop = victim.get(origin(httpd, "b.test") + "/page.html", nav=True)
        assert hop.status == 302 and victim.cookie("b.test", STATE_COOKIE), hop
    log = Log(httpd)
    hop = victim.get(cb, nav=True)
    print(hop)
    assert_cb_refused(hop, httpd, "b.test", "/whoami.php")
    log.wait(refused_rx("state-mismatch"))
    assert victim.sid("b.test") is None
    assert victim.session("b.test") == {}


EVIL_RETURNS = {
    "absolute": "http://evil.test/",
    "scheme-relative": "//evil.test/x",
    "backslash": "/\\evil",
    "crlf": "/x\r\nSet-Cookie: evil=1",
    "lf": "/x\nLocation: http://evil.test/",
    "empty": "",
    "relative": "evil.test/x",
    "too-long": "/" + "a" * 2048,
}


def assert_not_evil(hop):
    """No Location, no header at all, that carries the attacker's text."""
    assert all("evil" not in v and "evil" not in k for k, v in hop.response.headers), hop


@pytest.mark.parametrize("where", ["pull-link", "attach", "cb"])
@pytest.mark.parametrize("name", list(EVIL_RETURNS))
def test_threat_foreign_return_url(pull_httpd, mc, name, where):
    """An open redirect through the pull: whatever r says, the browser ends on
    http://b.test:PORT/ -- the crafted URL being the pull link itself, the attach URL, or the
    callback URL (r travels outside the token)."""
    httpd = pull_httpd()
    nav = logged_in(httpd)
    alice = nav.sid("a.test")
    evil = EVIL_RETURNS[name]
    home = origin(httpd, "b.test") + "/"
    if where == "pull-link":
        # the browser has just been bounced on b.test (its state cookie), then follows a
        # crafted pull link
        hop = nav.get(origin(httpd, "b.test") + "/page.html", nav=True)
        assert hop.status == 302, hop
        url = origin(httpd, "b.test") + "/_shs/pull?" + urllib.parse.urlencode({"r": evil})
    elif where == "cb":
        cb, _ = pull_until_cb(nav, httpd)
        url = cb.split("&r=")[0] + "&" + urllib.parse.urlencode({"r": evil})
    else:
        # the attach URL of this browser's pull, its r replaced
        bounce = nav.get(origin(httpd, "b.test") + "/page.html", nav=True)
        start = nav.get(bounce.location, nav=True)
        assert split(start.location or "")[1] == "/_shs/attach", format_hops([bounce, start])
        url = start.location.split("&r=")[0] + "&" + urllib.parse.urlencode({"r": evil})
    hops = nav.navigate(url)
    print(format_hops(hops))
    for hop in hops:
        assert_not_evil(hop)
    cbs = [h for h in hops if h.path == "/_shs/cb"]
    assert len(cbs) == 1 and cbs[0].location == home, format_hops(hops)
    assert hops[-1].url == home and hops[-1].status == 200, format_hops(hops)
    assert nav.sid("b.test") == alice, "the pull itself succeeds; only r is ignored"


@pytest.mark.parametrize("length,kept", [(2048, True), (2049, False)])
def test_return_url_length_limit(pull_httpd, length, kept):
    httpd = pull_httpd()
    nav = logged_in(httpd)
    ret = "/whoami.php?x=" + "a" * (length - len("/whoami.php?x="))
    assert len(ret) == length
    hops = nav.navigate(origin(httpd, "b.test") + ret)
    print(format_hops(hops)[:3000])
    cbs = [h for h in hops if h.path == "/_shs/cb"]
    assert len(cbs) == 1, format_hops(hops)
    assert cbs[0].location == origin(httpd, "b.test") + (ret if kept else "/"), cbs[0]
    assert hops[-1].status == 200 and nav.sid("b.test") == nav.sid("a.test")


@pytest.mark.expect_log(refused_rx("not-from-hub"))
def test_threat_pull_token_from_non_hub_peer(pull_httpd, keyfile, mc):
    """c.test is a peer, not the hub: a pull token from it (forged with the key) is refused."""
    httpd = pull_httpd()
    owner = logged_in(httpd, "mallory")
    sid = owner.sid("a.test")
    nav = Navigator(httpd)
    hop = nav.get(origin(httpd, "b.test") + "/whoami.php", nav=True)
    state = nav.cookie("b.test", STATE_COOKIE)
    assert hop.status == 302 and state, hop
    tok = keyfile.codec.seal(sid, site(httpd, "c.test"), site(httpd, "b.test"), nonce=state)
    log = Log(httpd)
    hop = nav.get(origin(httpd, "b.test") + f"/_shs/cb?t={tok}&r=%2Fwhoami.php", nav=True)
    print(hop)
    assert_cb_refused(hop, httpd, "b.test", "/whoami.php")
    log.wait(refused_rx("not-from-hub") + rf"; from {re.escape(site(httpd, 'c.test'))}")
    assert nav.sid("b.test") is None


@pytest.mark.expect_log(refused_rx("push-token-in-pull"), refused_rx("pull-token-in-push"))
def test_threat_push_and_pull_tokens_not_interchangeable(pull_httpd, keyfile):
    httpd = pull_httpd()
    nav = logged_in(httpd)
    sid = nav.sid("a.test")
    hop = nav.get(origin(httpd, "b.test") + "/whoami.php", nav=True)
    assert hop.status == 302, hop
    # a push token (no nonce) from the hub, sent as a pull callback
    push_tok = keyfile.codec.seal(sid, site(httpd, "a.test"), site(httpd, "b.test"))
    log = Log(httpd)
    hop = nav.get(origin(httpd, "b.test") + f"/_shs/cb?t={push_tok}&r=%2Fwhoami.php", nav=True)
    print(hop)
    assert_cb_refused(hop, httpd, "b.test", "/whoami.php")
    log.wait(refused_rx("push-token-in-pull"))
    # a real pull token (another browser's: this one's marker now stops its bounces), used as
    # an image (no r=)
    nav = logged_in(httpd)
    cb, _ = pull_until_cb(nav, httpd)
    log = Log(httpd)
    hop = nav.get(cb.split("&r=")[0], headers={"Accept": "image/*", "Sec-Fetch-Mode": "no-cors",
                                               "Sec-Fetch-Dest": "image"})
    print(hop)
    assert hop.status == 200 and hop.response.header("Content-Type") == "image/gif", hop
    assert not hop.response.set_cookies(COOKIE), hop
    log.wait(refused_rx("pull-token-in-push"))
    assert nav.sid("b.test") is None


ATTACH_BAD = {
    # name: the one reason the hub must give (shs_pull_attach, shs_refusal_name)
    "garbage": "malformed",
    "for-another-site": "wrong-destination",
    "from-x.test": "source-not-in-group",
    "from-the-hub": "source-not-in-group",
    "no-nonce": "no-nonce",
    "no-token": "no-token",
}


@pytest.mark.parametrize("bad", list(ATTACH_BAD))
def test_attach_refused(pull_httpd, keyfile, mc, expect_log, bad):
    reason = ATTACH_BAD[bad]
    expect_log(attach_refused_rx(reason))
    httpd = pull_httpd()
    nav = logged_in(httpd)
    codec = keyfile.codec
    a, b, c = (site(httpd, h) for h in ("a.test", "b.test", "c.test"))
    nonce = "n" * 22
    tok = {
        "garbage": "not-a-token",
        "for-another-site": codec.seal(H.new_id(), b, c, nonce=nonce),
        "from-x.test": codec.seal(H.new_id(), site(httpd, "x.test"), a, nonce=nonce),
        "from-the-hub": codec.seal(H.new_id(), a, a, nonce=nonce),
        "no-nonce": codec.seal(H.new_id(), b, a),
        "no-token": None,
    }[bad]
    items_before = mc.stat("curr_items")
    log = Log(httpd)
    q = ({"t": tok} if tok else {}) | {"r": "/whoami.php"}
    hop = nav.get(origin(httpd, "a.test") + "/_shs/attach?" + urllib.parse.urlencode(q),
                  nav=True)
    print(hop)
    assert hop.status == 400, hop
    assert hop.location is None and not hop.response.set_cookies(COOKIE), hop
    print(log.wait(attach_refused_rx(reason)))
    assert len(log.lines("SHS00604")) == 1, "\n".join(log.lines())
    assert mc.stat("curr_items") == items_before, "a refused attach stores nothing"


# ------------------------------------------------------------------ 4. never bounce

NAV = dict(H.NAV_HEADERS)
NO_NAV = {k: None for k in H.NAV_HEADERS}          # header left out

NEVER = {
    "no-headers": NO_NAV,
    "accept-image": NO_NAV | {"Accept": "image/avif,image/webp,image/*,*/*;q=0.8"},
    "img-tag": NO_NAV | {"Accept": "image/avif,image/webp,*/*;q=0.8",
                         "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"},
    "dest-image-html-accept": NAV | {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"},
    "navigate-dest-image": NAV | {"Sec-Fetch-Dest": "image"},
    "iframe": NAV | {"Sec-Fetch-Dest": "iframe"},
    "script-tag": NO_NAV | {"Accept": "*/*", "Sec-Fetch-Mode": "no-cors",
                            "Sec-Fetch-Dest": "script"},
    "fetch-cors": NO_NAV | {"Accept": "*/*", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"},
    "fetch-cors-html": NO_NAV | {"Accept": "text/html", "Sec-Fetch-Mode": "cors",
                                 "Sec-Fetch-Dest": "empty"},
    "fetch-same-origin": NAV | {"Sec-Fetch-Mode": "same-origin", "Sec-Fetch-Dest": "empty"},
    "json-accept": NO_NAV | {"Accept": "application/json"},
    "sec-purpose-prefetch": NAV | {"Sec-Purpose": "prefetch"},
    "sec-purpose-prerender": NAV | {"Sec-Purpose": "prefetch;prerender"},
    "purpose-prefetch": NO_NAV | {"Accept": "text/html,*/*", "Purpose": "prefetch"},
}
BOUNCES = {
    "navigation": NAV,
    "accept-html-only": NO_NAV | {"Accept": "text/html"},
    "navigate-no-dest": NAV | {"Sec-Fetch-Dest": None},
}


@pytest.mark.parametrize("name", list(NEVER))
def test_never_bounce_requests(pull_httpd, name):
    httpd = pull_httpd()
    nav = Navigator(httpd)
    log = Log(httpd)
    hop = nav.request("GET", origin(httpd, "b.test") + "/echo.cgi?x=1", headers=NEVER[name])
    print(hop)
    assert_no_bounce([hop], log)
    assert hop.status == 200 and "method=GET query=x=1" in hop.response.text, hop
    assert not hop.response.set_cookies(), hop


@pytest.mark.parametrize("name", list(BOUNCES))
def test_bounce_requests_control(pull_httpd, name):
    """The positive controls of the list above: these are navigations."""
    httpd = pull_httpd()
    nav = Navigator(httpd)
    hop = nav.request("GET", origin(httpd, "b.test") + "/echo.cgi?x=1", headers=BOUNCES[name])
    print(hop)
    assert_bounced(hop, httpd, "b.test", "/echo.cgi?x=1")


def test_never_bounce_post(pull_httpd):
    httpd = pull_httpd()
    nav = Navigator(httpd)
    log = Log(httpd)
    hops = nav.navigate(origin(httpd, "b.test") + "/echo.cgi?x=1", method="POST",
                        body={"a": "1"})
    print(format_hops(hops))
    assert_no_bounce(hops, log)
    assert hops[0].status == 200 and "method=POST" in hops[0].response.text, hops[0]


@pytest.mark.parametrize("host", ["x.test", "a.test"])
def test_never_bounce_outside_group_or_hub(pull_httpd, mc, host):
    httpd = pull_httpd()
    nav = Navigator(httpd)
    log = Log(httpd)
    for path in ("/page.html", "/whoami.php", "/echo.cgi"):
        hops = nav.navigate(origin(httpd, host) + path)
        print(format_hops(hops))
        assert_no_bounce(hops, log)
        assert hops[0].status == 200, hops[0]
        assert not hops[0].response.set_cookies(), hops[0]
    assert hops[0].response.text.startswith("<!doctype html><html><body><p>method=GET")


def test_never_bounce_shs_endpoints(pull_httpd):
    httpd = pull_httpd()
    nav = Navigator(httpd)
    log = Log(httpd)
    hops = nav.navigate(origin(httpd, "b.test") + "/_shs/nope")
    assert_no_bounce(hops, log)
    assert hops[0].status == 404, hops[0]


@pytest.mark.memcached_only
def test_never_bounce_live_session(pull_httpd, mc):
    httpd = pull_httpd()
    nav = Navigator(httpd)
    hop = nav.fetch_json(origin(httpd, "b.test") + "/set.php?k=local&v=1")[0]
    sid = nav.sid("b.test")
    assert sid and mc.get(store_key(sid)) is not None, hop
    log = Log(httpd)
    for path in ("/page.html", "/whoami.php", "/echo.cgi"):
        hops = nav.navigate(origin(httpd, "b.test") + path)
        assert_no_bounce(hops, log)
        assert hops[0].status == 200, hops[0]
    assert nav.session("b.test") == {"local": "1"}


@pytest.mark.parametrize("where,transport,bounces", [
    ("htaccess", "image", False),
    ("htaccess", "script", False),
    ("htaccess", "none", False),
    ("htaccess", "pull", True),
    ("htaccess", "image pull", True),
    ("location", "image", False),
    ("location", "none", False),
    ("location", "script pull", True),
])
def test_transport_per_directory(pull_httpd, where, transport, bounces):
    if where == "htaccess":
        httpd = pull_httpd(start=False)
        httpd.write_file("sub/.htaccess", f"SharedSessionTransport {transport}\n")
        directory = "sub"
    else:
        httpd = pull_httpd(start=False, vhost_conf=f"    <Location /loc/>\n"
                                                   f"        SharedSessionTransport {transport}\n"
                                                   f"    </Location>\n")
        directory = "loc"
    httpd.start()
    nav = Navigator(httpd)
    log = Log(httpd)
    hops = nav.navigate(origin(httpd, "b.test") + f"/{directory}/page.html")
    print(format_hops(hops))
    if bounces:
        assert_bounced(hops[0], httpd, "b.test", f"/{directory}/page.html")
        assert hops[-1].status == 200 and nav.sid("b.test"), format_hops(hops)
    else:
        assert_no_bounce(hops, log)
        assert hops[0].status == 200 and hops[0].response.text == PAGE, hops[0]
        # the rest of the site still pulls
        hops = Navigator(httpd).navigate(origin(httpd, "b.test") + "/page.html")
        assert len(hops) == 5 and hops[0].path == "/page.html", format_hops(hops)


# ------------------------------------------------------------------ 5. no cookie jar

def test_client_without_cookies_never_loops(pull_httpd):
    """A client that keeps no cookies (curl, a bot) is bounced once, then sent back by the
    pull endpoint to its page marked ?shs_nopull=1, which never bounces: it gets its page
    after two redirects, through the page's own URL (never served by the endpoint)."""
    httpd = pull_httpd()
    logged_in(httpd)                          # someone is logged in on the hub: irrelevant
    bot = Navigator(httpd, keep_cookies=False)
    for path, back, check in (
            ("/echo.cgi?x=1", "/echo.cgi?x=1&shs_nopull=1",
             lambda t: "method=GET query=x=1&shs_nopull=1" in t),
            ("/page.html", "/page.html?shs_nopull=1", lambda t: t == PAGE),
            ("/echo.cgi?x=1", "/echo.cgi?x=1&shs_nopull=1",
             lambda t: "method=GET query=x=1&shs_nopull=1" in t)):
        log = Log(httpd)
        hops = bot.navigate(origin(httpd, "b.test") + path, max_redirects=10)
        print(format_hops(hops))
        assert len(hops) == 3, format_hops(hops)
        assert_bounced(hops[0], httpd, "b.test", path)
        assert hops[1].path == "/_shs/pull" and hops[1].sent_cookies is None, hops[1]
        assert hops[1].status == 302 and hops[1].location == origin(httpd, "b.test") + back, \
            hops[1]
        log.wait(r"SHS00603: client keeps no cookies")
        final = hops[-1]
        assert final.status == 200 and check(final.response.text), final
        assert not final.response.set_cookies(COOKIE), final
        assert not final.response.set_cookies(STATE_COOKIE), final


# ------------------------------------------------------------------ 6. no bounce storm

@pytest.mark.parametrize("retry", [300, 0])
def test_failed_pull_no_bounce_storm(make_httpd, keyfile, workdir, retry, expect_log):
    """A realistic failed pull: the peer's server and the hub's server disagree on the key
    file (a botched key rotation).  The hub answers the attach with 400; the visitor goes back
    to b.test and browses without a session instead of bouncing on every page -- unless
    SharedSessionPullRetry is 0.  The hub refuses the peer's token as bad-auth: same key id,
    another key."""
    expect_log(attach_refused_rx("bad-auth"))
    other = os.path.join(workdir, "peer-keys.txt")
    H.write_keyfile(other)
    hub_srv = make_httpd(start=False, files=FILES)
    peer_srv = make_httpd(start=False, files=FILES)
    p1, p2 = hub_srv.port, peer_srv.port
    group = (f"SharedSessionGroup g http://a.test:{p1} http://b.test:{p2} http://c.test:{p2}\n"
             f"SharedSessionHub g http://a.test:{p1}\nSharedSessionTokenLifetime 30\n")
    hub_srv.global_conf = f"SharedSessionKeyFile {keyfile.path}\n" + group
    peer_srv.global_conf = (f"SharedSessionKeyFile {other}\n" + group
                            + f"SharedSessionPullRetry {retry}\n")
    hub_srv.start()
    peer_srv.start()
    nav = Navigator(peer_srv, servers={p1: hub_srv, p2: peer_srv})
    page = f"http://b.test:{p2}/echo.cgi?x=1"

    hub_log = Log(hub_srv)
    hops = nav.navigate(page)
    print(format_hops(hops))
    assert [h.status for h in hops] == [302, 302, 400], format_hops(hops)
    assert hops[2].host == "a.test" and hops[2].path == "/_shs/attach", hops[2]
    hub_log.wait(attach_refused_rx("bad-auth"))
    assert nav.sid("b.test") is None

    # back to b.test (typed again, a link)
    for _ in range(3):
        log = Log(peer_srv)
        hub_log = Log(hub_srv)
        hops = nav.navigate(page)
        print(format_hops(hops))
        if retry:
            assert_no_bounce(hops, log)
            assert hops[0].status == 200 and "query=x=1" in hops[0].response.text, hops[0]
            hub_log.absent("SHS00604")
        else:
            assert hops[0].status == 302 and hops[0].path == "/echo.cgi", format_hops(hops)
            assert [h.status for h in hops] == [302, 302, 400], format_hops(hops)
            log.wait(BOUNCED)
            hub_log.wait(attach_refused_rx("bad-auth"))


@pytest.mark.expect_log(refused_rx("state-mismatch"))
def test_failed_pull_two_tabs_no_bounce_storm(pull_httpd):
    """Another failed pull: two tabs restored at once, the second tab's bounce replaces the
    state cookie before the first tab's callback (the second tab is then closed).  The first
    tab lands on its page without a session; the next navigations do not bounce."""
    httpd = pull_httpd()
    nav = logged_in(httpd)
    cb, _ = pull_until_cb(nav, httpd, "b.test", "/echo.cgi?tab=1")
    # tab 2's request went out with tab 1's (no cookies yet); its answer comes in late
    hop = nav.get(origin(httpd, "b.test") + "/echo.cgi?tab=2", nav=True,
                  headers={"Cookie": None})
    assert hop.status == 302, hop
    log = Log(httpd)
    hops = nav.navigate(cb)
    print(format_hops(hops))
    assert_cb_refused(hops[0], httpd, "b.test", "/echo.cgi?tab=1")
    assert hops[-1].status == 200 and "tab=1" in hops[-1].response.text, hops[-1]
    log.wait(refused_rx("state-mismatch"))
    log = Log(httpd)
    for path in ("/echo.cgi?tab=3", "/page.html"):
        hops = nav.navigate(origin(httpd, "b.test") + path)
        assert_no_bounce(hops, log)
        assert hops[0].status == 200, hops[0]
    assert nav.sid("b.test") is None


@pytest.mark.parametrize("fp,age,bounces", [
    ("-", 10, False), ("-", 290, False), ("-", 310, True), ("-", 3600, True),
    ("deadbeef", 10, True),
])
def test_marker_cookie(pull_httpd, fp, age, bounces):
    """The marker ('<fingerprint of the held id, or ->.<time>') stops a bounce while it names
    the same situation (no id held: '-') and is younger than PullRetry (300)."""
    httpd = pull_httpd()
    nav = Navigator(httpd)
    nav.set_cookie("b.test", PULL_COOKIE, f"{fp}.{int(time.time()) - age}")
    log = Log(httpd)
    hops = nav.navigate(origin(httpd, "b.test") + "/page.html")
    print(format_hops(hops))
    if bounces:
        assert_bounced(hops[0], httpd, "b.test", "/page.html")
    else:
        assert_no_bounce(hops, log)


# ------------------------------------------------------------------ 7. dead ids

@pytest.mark.memcached_only
@pytest.mark.parametrize("logout_on", ["a.test", "c.test"])
def test_logout_then_pull_again_anonymous(pull_httpd, keyfile, mc, logout_on):
    httpd = pull_httpd()
    nav = logged_in(httpd)
    alice = nav.sid("a.test")
    check_pull(nav, httpd, keyfile.codec, "b.test", "/whoami.php", hub_sid=alice)
    check_pull(nav, httpd, keyfile.codec, "c.test", "/whoami.php", hub_sid=alice)
    assert nav.session("b.test") == {"user": "alice"}

    log = Log(httpd)
    hop = nav.get(origin(httpd, logout_on) + "/logout.php")
    assert hop.status == 200, hop
    log.wait(rf"SHS00106: session {H.fingerprint(alice)} emptied and deleted")
    assert mc.get(store_key(alice)) is None
    assert nav.sid("b.test") == alice, "b.test still holds the dead id"

    log = Log(httpd)
    hops, sid = check_pull(nav, httpd, keyfile.codec, "b.test", "/whoami.php",
                           held_fp=H.fingerprint(alice))
    log.wait(BOUNCED)
    assert sid != alice
    assert hops[-1].response.json()["session"] == {}, "logged out everywhere"
    assert mc.get(store_key(alice)) is None and mc.get(store_key(sid)) == ""
    # and no more bounce
    assert_no_bounce(nav.navigate(origin(httpd, "b.test") + "/whoami.php"))


def test_rotation_on_hub_then_pull_new_user(pull_httpd, keyfile, mc):
    httpd = pull_httpd()
    nav = logged_in(httpd)
    alice = nav.sid("a.test")
    check_pull(nav, httpd, keyfile.codec, "b.test", "/whoami.php", hub_sid=alice)

    hop = nav.get(origin(httpd, "a.test") + "/set.php?k=user&v=bob")
    bob = nav.sid("a.test")
    assert bob != alice and ID_RE.match(bob), f"user changed: a new id expected: {hop!r}"
    assert mc.get(store_key(alice)) is None
    assert nav.sid("b.test") == alice and nav.session("b.test") == {}, "old id: dead on b.test"

    hops, sid = check_pull(nav, httpd, keyfile.codec, "b.test", "/whoami.php?after=rotation",
                           hub_sid=bob, held_fp=H.fingerprint(alice))
    assert sid == bob
    assert hops[-1].response.json()["session"] == {"user": "bob"}, hops[-1]
    assert_no_bounce(nav.navigate(origin(httpd, "b.test") + "/whoami.php"))


# ------------------------------------------------------------------ 8. configuration

GROUP = "SharedSessionGroup g http://a.test:8080 http://b.test:8080 http://c.test:8080\n"


@pytest.mark.parametrize("snippet", [
    GROUP + "SharedSessionHub g http://a.test:8080",
    GROUP + "SharedSessionHub g http://b.test:8080\nSharedSessionPullRetry 0",
    GROUP + "SharedSessionHub g http://c.test:8080\nSharedSessionPullRetry 86400",
])
def test_config_hub_valid(configtest, keyfile, snippet):
    rc, out, _ = configtest(global_conf=f"SharedSessionKeyFile {keyfile.path}\n{snippet}")
    assert rc == 0 and "Syntax OK" in out, out


RETRY_RANGE = "give seconds from 0 to 86400"


# (config, the index of its line apache2 refuses, the message)
@pytest.mark.parametrize("snippet,refused,message", [
    ("SharedSessionHub nogroup http://a.test:8080", 0,
     "SharedSessionHub: no group 'nogroup' (SharedSessionGroup must come first)"),
    ("SharedSessionHub g http://a.test:8080\n" + GROUP, 0,
     "SharedSessionHub: no group 'g' (SharedSessionGroup must come first)"),
    (GROUP + "SharedSessionHub g http://x.test:8080", 1,
     "SharedSessionHub: 'http://x.test:8080' is not a site of group 'g'"),
    (GROUP + "SharedSessionHub g http://a.test:9999", 1,
     "SharedSessionHub: 'http://a.test:9999' is not a site of group 'g'"),
    (GROUP + "SharedSessionHub g http://a.test:8080\nSharedSessionHub g http://b.test:8080", 2,
     "SharedSessionHub: group 'g' has a hub already"),
    (GROUP + "SharedSessionHub g http://a.test:8080\nSharedSessionHub g http://a.test:8080", 2,
     "SharedSessionHub: group 'g' has a hub already"),
    (GROUP + "SharedSessionHub g", 1,                                        # httpd's
     "SharedSessionHub takes two arguments, GROUP site: the site of the group where users log "
     "in; enables the redirect pull"),
    ("SharedSessionPullRetry -1", 0, "SharedSessionPullRetry: '-1': " + RETRY_RANGE),
    ("SharedSessionPullRetry 86401", 0, "SharedSessionPullRetry: '86401': " + RETRY_RANGE),
    ("SharedSessionPullRetry soon", 0, "SharedSessionPullRetry: 'soon': " + RETRY_RANGE),
], ids=["unknown-group", "hub-before-group", "site-not-in-group", "same-host-other-port",
        "second-hub", "same-hub-twice", "no-site", "retry-negative", "retry-too-big",
        "retry-word"])
def test_config_hub_and_retry_errors(configtest, keyfile, snippet, refused, message):
    rc, out, h = configtest(global_conf=f"SharedSessionKeyFile {keyfile.path}\n{snippet}")
    lines = snippet.splitlines()
    text = lines[refused]
    where = h.config_lines(text)[lines[:refused].count(text)]
    assert h.syntax_error(rc, out) == (where, message), out


@pytest.mark.parametrize("directive", [
    "SharedSessionHub g http://a.test:8080",
    "SharedSessionPullRetry 300",
])
def test_config_pull_directive_refused_in_virtualhost(configtest, keyfile, directive):
    rc, out, h = configtest(global_conf=f"SharedSessionKeyFile {keyfile.path}\n{GROUP}",
                            vhost_conf={"b.test": directive})
    h.assert_refused(rc, out, directive,
                     f"{directive.split()[0]} cannot occur within <VirtualHost> section",
                     host="b.test")


TRANSPORT_WORDS = "use image or script (push), pull, both (e.g. 'image pull'), or none"
TRANSPORT_COUNT = "give one or two of: image, script, pull, none"


# the word refused (the first that does not fit), or None: the number of words
@pytest.mark.parametrize("words,refused", [
    ("image script", "script"), ("pull pull", "pull"), ("bogus", "bogus"),
    ("image image", "image"), ("none pull", "none"), ("pull none", "none"),
    ("image pull none", None), ('""', None)])
def test_config_transport_bad_words(configtest, words, refused):
    rc, out, h = configtest(vhost_conf=f"SharedSessionTransport {words}")
    message = f"'{refused}': {TRANSPORT_WORDS}" if refused else TRANSPORT_COUNT
    h.assert_refused(rc, out, f"SharedSessionTransport {words}",
                     f"SharedSessionTransport: {message}", host="a.test")


@pytest.mark.parametrize("words", ["image", "script", "pull", "none", "image pull",
                                   "pull script"])
def test_config_transport_valid(configtest, words):
    rc, out, _ = configtest(vhost_conf=f"SharedSessionTransport {words}")
    assert rc == 0 and "Syntax OK" in out, out
