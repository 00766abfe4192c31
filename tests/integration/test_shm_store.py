"""The embedded store (SharedSessionStore shm): sessions in a file mapped by every process of
one httpd, the default when no memcached is configured, kept across `apachectl graceful` and
`apachectl restart`, the oldest sessions evicted when it is full.

The suite's provider, push and pull tests also run on it: SHS_STORE=shm (scripts/test.sh
does), skipping the tests that look into memcached itself (marker memcached_only)."""

import os
import stat

import pytest

import pyshs as H


def ctl(httpd, action, ready_tag, timeout=20):
    """apache2 -k ACTION, then wait for the store's start-up line and a working request."""
    before = len(httpd.log_lines(ready_tag))
    httpd.ctl(action)
    httpd.wait_log(ready_tag, timeout, count=before + 1)
    H.wait_for(f"httpd to listen on port {httpd.port} after {action}",
               lambda: H.port_open(httpd.port), timeout)


def shm_httpd(make_httpd, spec="shm:{dir}/run/store.shm(8M)", **kw):
    h = make_httpd(start=False, **kw)
    h.server_conf = f'SharedSessionStore "{spec.format(dir=h.dir)}"' if spec else ""
    h.start()
    return h


def test_default_store_is_embedded(make_httpd):
    """No SharedSessionMemcache, no SharedSessionStore: sessions live in the embedded store,
    a file in the run-time directory that only the server's user can read."""
    httpd = shm_httpd(make_httpd, spec=None)
    b = httpd.browser()
    assert b.set("k", "v").status == 200
    assert b.whoami()[1]["session"] == {"k": "v"}
    path = os.path.join(httpd.dir, "run", "sharedsession-store")
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert httpd.log_lines(r"SHS00307: session store .*sharedsession-store created")


@pytest.mark.parametrize("action", ["graceful", "restart"])
def test_sessions_survive_restarts(make_httpd, action):
    """Sessions written before a graceful restart or a full restart read back afterwards (a
    nightly logrotate restarts httpd gracefully: nobody is logged out)."""
    httpd = shm_httpd(make_httpd)
    browsers = []
    for i in range(20):
        b = httpd.browser(H.VHOSTS[i % 3])
        assert b.set("user", f"u{i}").status == 200
        browsers.append(b)
    ctl(httpd, action, r"SHS003(?:08|10):")
    for i, b in enumerate(browsers):
        assert b.whoami()[1]["session"] == {"user": f"u{i}"}, (i, action)
    # and a logout before the restart stays a logout
    r = browsers[0].get("/logout.php")
    assert r.status == 200
    ctl(httpd, action, r"SHS003(?:08|10):")
    assert browsers[0].whoami()[1]["session"] == {}
    assert browsers[1].whoami()[1]["session"] == {"user": "u1"}


@pytest.mark.expect_log("SHS00311")
def test_full_store_evicts_the_oldest(make_httpd):
    """A store too small for every session: the oldest go, the newest stay, it is logged, and
    no session reads back another one's data."""
    httpd = shm_httpd(make_httpd, spec="shm:{dir}/run/store.shm(256K)")
    big = "x" * 1500
    browsers = []
    for i in range(300):
        b = httpd.browser("a.test")
        r = b.get(f"/set.cgi?user=u{i}&pad={big}")
        assert r.status == 200, r
        browsers.append(b)
    kept = [i for i, b in enumerate(browsers)
            if b.whoami()[1]["session"].get("user") == f"u{i}"]
    for i, b in enumerate(browsers):
        s = b.whoami()[1]["session"]
        assert s == {} or s.get("user") == f"u{i}", (i, s)
    assert 20 < len(kept) < 300, len(kept)
    assert browsers[-1] in [browsers[i] for i in kept], "the newest session was evicted"
    assert 0 not in kept, "the oldest session was kept while newer ones went"
    assert httpd.wait_log(r"SHS00311: the session store is full")


@pytest.mark.parametrize("spec,msg", [
    ("shm(12)", "shm(bytes): from 256K to 64G"),
    ("shm:", "shm: an empty path"),
    ("redis", "expected memcache, or shm[:/path][(bytes)]"),
])
def test_bad_store_refused_at_configtest(configtest, spec, msg):
    rc, out, h = configtest(server_conf=f"SharedSessionStore {spec}")
    h.assert_refused(rc, out, f"SharedSessionStore {spec}", f"SharedSessionStore {spec}: {msg}")


def test_memcache_store_needs_servers(configtest):
    rc, out, h = configtest(server_conf="SharedSessionStore memcache",
                            vhost_conf="Session On\nSharedSession On\n")
    line, = h.config_lines("SharedSessionStore memcache")
    h.assert_check_failed(rc, out, f"SHS00202: SharedSessionStore memcache ({h.conf}:{line}) "
                          "needs a memcached server: add 'SharedSessionMemcache host:port' to "
                          "the server configuration")


def test_status_page_shows_the_store(make_httpd):
    h = make_httpd(start=False)
    h.server_conf = f'SharedSessionStore "shm:{h.dir}/run/store.shm(1M)"'
    h.vhost_conf = "<Location /shs-status>\n    SetHandler sharedsession-status\n</Location>\n"
    h.start()
    b = h.browser()
    assert b.set("k", "v").status == 200
    r = h.request("GET", "/shs-status", headers={"Host": "a.test"})
    assert r.status == 200 and "store: shm," in r.text and "store_evictions: 0" in r.text, r
    r = h.request("GET", "/shs-status?format=prometheus", headers={"Host": "a.test"})
    assert 'sharedsession_store_bytes{kind="used"}' in r.text, r
    assert "sharedsession_store_entries 1" in r.text, r
