"""mod_auth_form keeps its login in the shared session (AuthName shared: keys shared-user and
shared-pw)."""

import pytest

import pyshs as H
from pyshs import COOKIE, ID_RE, decode_session, parse_set_cookie, store_key


def login(b):
    r = b.get("/protected/index.html")
    assert r.status == 401, r
    assert "httpd_username" in r.text, "the 401 answer is the login form (ErrorDocument)"
    assert not r.set_cookies(COOKIE)

    r = b.post("/dologin.html", {"httpd_username": H.AUTH_USER, "httpd_password": H.AUTH_PW})
    print(r)
    assert r.status in (302, 303), r
    assert (r.header("Location") or "").endswith("/protected/index.html"), r
    scs = r.set_cookies(COOKIE)
    assert len(scs) == 1, f"the login must create the shared session: {r}"
    name, sid, _ = parse_set_cookie(scs[0])
    assert ID_RE.match(sid)
    return sid


def test_form_login_stored_in_memcached(httpd, mc):
    b = httpd.browser("a.test")
    sid = login(b)
    r = b.get("/protected/index.html")
    assert r.status == 200, r
    assert "PROTECTED CONTENT" in r.text

    value = mc.get(store_key(sid))
    print("memcached value:", value)
    assert value is not None and "shared-user=" in value, value
    sess = decode_session(value)
    assert sess.get("shared-user") == H.AUTH_USER
    assert sess.get("shared-pw") == H.AUTH_PW

    # the application sees the same session
    r, who = b.whoami()
    assert who["session"].get("shared-user") == H.AUTH_USER


def test_form_login_shared_with_second_vhost(httpd):
    a = httpd.browser("a.test")
    sid = login(a)
    b = httpd.browser("b.test")
    r = b.get("/protected/index.html")
    assert r.status == 401, "b.test without the cookie is not logged in"
    b.cookies[COOKIE] = sid               # the shared id, as a cross-domain hand-over would set it
    r = b.get("/protected/index.html")
    assert r.status == 200, r
    assert "PROTECTED CONTENT" in r.text


@pytest.mark.expect_log("AH01807")
def test_wrong_password_creates_no_session(httpd, mc):
    b = httpd.browser("a.test")
    before = int(mc.stats()["curr_items"])
    r = b.post("/dologin.html", {"httpd_username": H.AUTH_USER, "httpd_password": "nope"})
    assert r.status in (401, 403), r
    assert not r.set_cookies(COOKIE), r
    assert int(mc.stats()["curr_items"]) == before
