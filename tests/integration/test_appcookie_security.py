"""Regression tests of the attack pass on SharedSessionAppCookie (the jar); each test failed on
13b2aab, the jar as the attack pass found it.  Set-up as in test_appcookie.py."""

import os
import re

import pytest

import pyshs as H
from pyshs import COOKIE, Visitor, parse_set_cookie
from test_appcookie import (PHPSESSID, push_group, scope, start_native,  # noqa: F401
                            who, no_php_problems)

SET_STRICT = r"""#!/bin/bash
printf 'Content-Type: text/plain\r\nSet-Cookie: app_strict=s1; Path=/; SameSite=Strict\r\n'
printf 'Set-Cookie: app_lax=l1; Path=/\r\nSet-Cookie: app_none=n1; Path=/; SameSite=None; Secure\r\n'
printf '\r\nset\n'
"""
SET_MANY = r"""#!/bin/bash
printf 'Content-Type: text/plain\r\n'
for i in $(seq 1 25); do printf 'Set-Cookie: app_%02d=%0200d; Path=/\r\n' "$i" 0; done
printf '\r\nset\n'
"""
SET_BIG = r"""#!/bin/bash
printf 'Content-Type: text/plain\r\n'
if [ "$QUERY_STRING" = big ]; then
    printf 'Set-Cookie: app_x=%05000d; Path=/\r\n' 0
else
    printf 'Set-Cookie: app_x=small1; Path=/\r\n'
fi
printf '\r\nset\n'
"""


def cookie_env(r):
    """HTTP_COOKIE as env.cgi printed it."""
    m = re.search(r"^HTTP_COOKIE=(.*)$", r.text, re.M)
    return m.group(1) if m else ""


def test_scope_cannot_capture_the_module_id(make_httpd, push_group):
    """A scope (an .htaccess) that names the site's id cookie must not get it into the jar, where
    SessionEnv shows it to every application: the id cookie goes to the browser, and never
    into HTTP_SESSION."""
    httpd = make_httpd(global_conf=push_group,
                       vhost_conf='SharedSessionCookieName sid2 "Path=/; HttpOnly"\n'
                                  '<Location />\n    SharedSessionAppCookie sid2\n</Location>\n')
    b = Visitor(httpd).at("a.test")
    r = b.get("/set.cgi?k=v")
    assert r.status == 200 and r.set_cookies("sid2"), f"the browser must get its id: {r!r}"
    sid = b.cookies["sid2"]
    # as after a push: the flag makes the site write the id cookie again (in header_parser,
    # before the application's answer is captured)
    b.cookies["sid2_pushed"] = "1"
    r = b.get("/env.cgi")
    assert r.status == 200 and r.set_cookies("sid2"), f"the id cookie rewritten: {r!r}"
    r = b.get("/env.cgi")
    assert "shs-cookie" not in r.text and sid not in r.text, r.text


def test_module_cookie_name_refused_at_configtest(configtest):
    for arg in ("shs_session", "shs_*", "shs_session_sync"):
        rc, out, h = configtest(
            vhost_conf=f"<Location />\n    SharedSessionAppCookie {arg}\n</Location>\n")
        h.assert_refused(rc, out, f"SharedSessionAppCookie {arg}",
                         f"SharedSessionAppCookie: '{arg}' names the module's own cookies "
                         "(shs_session, shs_session_sync, ...): they never go to an application",
                         host="a.test")


def test_first_app_cookie_at_a_login_rotates(make_httpd, push_group):
    """A session that exists without any application cookie (planted: a hub's empty session, or
    one with other data) gets a new id when a login form makes the application's first cookie:
    whoever knew the old id is not logged in."""
    httpd, app = start_native(make_httpd, global_conf=push_group)
    atk = Visitor(httpd).at("a.test")
    r = atk.get("/set.cgi?k=v")
    planted = atk.cookies[COOKIE]
    vic = Visitor(httpd).at("a.test")
    vic.cookies[COOKIE] = planted
    r = vic.post("/native/login.php", {"user": "victim"})
    assert r.status == 302, r
    assert vic.cookies[COOKIE] != planted, "the planted id survived the login"
    assert who(vic)["user"] == "victim"
    assert who(atk)["user"] is None


@pytest.mark.parametrize("name", ["PHPSESSID[x]", "PHPSESSID[]", " PHPSESSID"])
def test_browser_name_variants_dropped(make_httpd, push_group, name):
    """Names PHP reads as PHPSESSID (an array PHPSESSID[...], a leading space) are dropped like
    PHPSESSID itself ('.' and ' ' read as '_' count for names with '_'); the shared value comes
    first."""
    httpd, app = start_native(make_httpd, global_conf=push_group)
    b = Visitor(httpd).at("a.test")
    r = b.post("/native/login.php", {"user": "alice"})
    shared = who(b)
    assert shared["user"] == "alice"
    b.cookies[name] = "evil"
    w = who(b)
    assert (w["user"], w["sid"]) == ("alice", shared["sid"]), w
    assert [n for n in w["cookie_names"] if n.strip().startswith("PHPSESSID")] == ["PHPSESSID"], w


def test_samesite_of_app_cookies_kept(make_httpd, push_group):
    """The application's SameSite is honoured on replay: a Strict cookie is not given to a
    cross-site request, a Lax one only to a cross-site top-level GET navigation."""
    httpd = make_httpd(global_conf=push_group, files={"setss.cgi": SET_STRICT},
                       vhost_conf="<Location />\n    SharedSessionAppCookie app_*\n</Location>\n")
    b = Visitor(httpd).at("a.test")
    r = b.get("/setss.cgi")
    assert r.status == 200 and not [c for c in r.set_cookies() if c.startswith("app_")], r
    same = cookie_env(b.get("/env.cgi", headers={"Sec-Fetch-Site": "same-origin"}))
    assert all(f"app_{k}=" in same for k in ("strict", "lax", "none")), same
    nav = cookie_env(b.get("/env.cgi", headers={"Sec-Fetch-Site": "cross-site",
                                                "Sec-Fetch-Mode": "navigate",
                                                "Sec-Fetch-Dest": "document"}))
    assert "app_strict=" not in nav and "app_lax=" in nav and "app_none=" in nav, nav
    sub = cookie_env(b.get("/env.cgi", headers={"Sec-Fetch-Site": "cross-site",
                                                "Sec-Fetch-Mode": "no-cors",
                                                "Sec-Fetch-Dest": "image"}))
    assert "app_strict=" not in sub and "app_lax=" not in sub and "app_none=" in sub, sub


@pytest.mark.expect_log("SHS00805")
def test_jar_is_bounded(make_httpd, push_group):
    """At most 20 application cookies per session; the others go to the browser (logged)."""
    httpd = make_httpd(global_conf=push_group, files={"many.cgi": SET_MANY},
                       vhost_conf="<Location />\n    SharedSessionAppCookie app_*\n</Location>\n")
    b = Visitor(httpd).at("a.test")
    r = b.get("/many.cgi")
    passed = [c for c in r.set_cookies() if c.startswith("app_")]
    assert len(passed) == 5, r
    given = cookie_env(b.get("/env.cgi"))
    assert given.count("app_") == 20, given
    assert httpd.wait_log(r"SHS00805: application cookie app_2[1-5] not shared")


@pytest.mark.expect_log("SHS00805")
def test_oversize_replacement_drops_the_old_value(make_httpd, push_group):
    """A new value too large for the jar goes to the browser; the jar's older value must not be
    given instead of it any more."""
    httpd = make_httpd(global_conf=push_group, files={"big.cgi": SET_BIG},
                       vhost_conf="<Location />\n    SharedSessionAppCookie app_*\n</Location>\n")
    b = Visitor(httpd).at("a.test")
    b.get("/big.cgi")
    assert "app_x=small1" in cookie_env(b.get("/env.cgi"))
    r = b.get("/big.cgi?big")
    assert r.set_cookies("app_x"), r
    assert "app_x=small1" not in cookie_env(b.get("/env.cgi"))


# ------------------------------------------------------------------ verification pass (8d2d75e)
# Each test below failed on 8d2d75e.

SET_LAX = r"""#!/bin/bash
# a new value at every answer, as an application starting a new session does
printf 'Content-Type: text/plain\r\nSet-Cookie: app_s=%s; Path=/\r\n\r\nset\n' "$(date +%s%N)"
"""


def test_cross_site_subresource_cannot_replace_a_lax_cookie(make_httpd, push_group):
    """An image on another site's page (the pushed id is SameSite=None) makes the application
    answer without its Lax cookie and set a new one: a browser would ignore that Set-Cookie,
    so the jar does too (before: it was taken as a replacement and logged the visitor out)."""
    httpd = make_httpd(global_conf=push_group, files={"setlax.cgi": SET_LAX},
                       vhost_conf="<Location />\n    SharedSessionAppCookie app_*\n</Location>\n")
    b = Visitor(httpd).at("a.test")
    assert b.get("/setlax.cgi").status == 200
    sid = b.cookies[COOKIE]
    r = b.get("/setlax.cgi", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors",
                                      "Sec-Fetch-Dest": "image"})
    assert r.status == 200, r
    assert b.cookies.get(COOKIE) == sid, "the session was rotated by a cross-site image"


def test_two_cookie_lines_keep_the_session(make_httpd, push_group):
    """Two Cookie header lines, the id first (httpd joins them with ', '): the id still reads."""
    httpd = make_httpd(global_conf=push_group)
    b = httpd.browser()
    assert b.set("k", "v").status == 200
    sid = b.cookies[COOKIE]
    raw = (f"GET /whoami.php HTTP/1.1\r\nHost: a.test\r\nCookie: {COOKIE}={sid}\r\n"
           f"Cookie: PHPSESSID=x\r\nConnection: close\r\n\r\n").encode()
    status, body = httpd.raw_request(raw)
    assert status == 200 and b'"k": "v"' in body.replace(b'":"', b'": "'), body


def test_php_in_a_subpath_gets_its_path_cookie(make_httpd, push_group):
    """A cookie with Path=/sub reaches PHP in /sub, although php-cgi runs in an internal
    redirect to /cgi-bin/php/sub/... (before: the redirect filtered it by its own path)."""
    ck = "<?php if (isset($_GET['set'])) setcookie('app_p', 'v1', 0, '/sub');\n" \
         "header('Content-Type: text/plain'); echo json_encode($_COOKIE);\n"
    httpd = make_httpd(global_conf=push_group, files={"sub/ck.php": ck},
                       vhost_conf="<Location />\n    SharedSessionAppCookie app_*\n</Location>\n")
    b = httpd.browser()
    assert b.set("k", "v").status == 200
    r = b.get("/sub/ck.php?set=1")
    assert r.status == 200 and not r.set_cookies("app_p"), r
    r = b.get("/sub/ck.php")
    assert '"app_p":"v1"' in r.text, r.text
