"""Per-directory directives in .htaccess (AllowOverride AuthConfig).

Design note for SharedSession Off: with no other session provider, mod_session would log
AH01815/AH01821 ("no session modules have been configured") on every request there.  The
realistic setup is a directory that keeps its own, different session store, so the test loads
mod_session_cookie and gives that directory a plain cookie session (SessionCookieName in the
same .htaccess).  The shell CGIs are used because the PHP action is an internal redirect to
/cgi-bin/php, to which the .htaccess of the document directory does not apply.
"""

import pyshs as H
from pyshs import COOKIE, parse_set_cookie, store_key

COOKIE_MOD = f"LoadModule session_cookie_module {H.APACHE_MODULES}/mod_session_cookie.so"


def test_htaccess_shared_session_off(make_httpd, mc):
    httpd = make_httpd(global_conf=COOKIE_MOD)
    httpd.write_file("sub/.htaccess",
                     "SharedSession Off\nSessionCookieName plainsess path=/sub/\n")
    before = mc.stats()
    b = httpd.browser()
    r = b.get("/sub/set.cgi?k=v")
    print(r)
    assert r.status == 200, r
    assert not r.set_cookies(COOKIE), "SharedSession Off: no shared session cookie"
    plain = r.set_cookies("plainsess")
    assert len(plain) == 1, r
    assert "k=v" in parse_set_cookie(plain[0])[1]
    after = mc.stats()
    assert int(after["cmd_set"]) == int(before["cmd_set"]), "nothing stored in memcached"
    assert int(after["curr_items"]) == int(before["curr_items"])
    r = b.get("/sub/env.cgi")
    assert "HTTP_SESSION=k=v" in r.text, r

    # the rest of the site still uses the shared session
    r = b.get("/set.cgi?a=1")
    assert len(r.set_cookies(COOKIE)) == 1, r
    assert int(mc.stats()["curr_items"]) == int(before["curr_items"]) + 1


def test_htaccess_per_dir_directives_allowed(make_httpd, mc):
    httpd = make_httpd()
    httpd.write_file("sub/.htaccess",
                     'SharedSession On\nSharedSessionCookieName subsid "Path=/sub/; HttpOnly"\n'
                     "SharedSessionTTL 600\n"
                     "SharedSessionStoreDown anonymous\n")
    b = httpd.browser()
    r = b.get("/sub/set.cgi?k=v")
    assert r.status == 200, r
    scs = r.set_cookies("subsid")
    assert len(scs) == 1, r
    assert scs[0].endswith("Path=/sub/; HttpOnly"), scs
    sid = parse_set_cookie(scs[0])[1]
    assert mc.get(store_key(sid)) == "k=v"
    ttl = mc.ttl(store_key(sid))
    assert 590 <= ttl <= 600, ttl
    r = b.get("/sub/env.cgi")
    assert "HTTP_SESSION=k=v" in r.text
    assert f"subsid={sid}" not in r.text, "the app never sees the id cookie"


def test_htaccess_server_directive_refused(make_httpd, expect_log):
    expect_log("not allowed here")
    httpd = make_httpd()
    print("\n".join(httpd.assert_htaccess_refused("sub", "SharedSessionMemcache 127.0.0.1:1",
                                                 "env.cgi")))
    # other directories are unaffected
    r = httpd.request("GET", "/env.cgi", headers={"Host": "a.test"})
    assert r.status == 200
