"""memcached on a unix socket (`SharedSessionMemcache /path/to/socket`): sessions written and
read through it by both of the module's clients (apr_memcache on the store's workers, the
request thread's own reader), the server named by its path on the status page and in the
log, and a memcached that goes away and comes back on the same path."""

import re
import time

import pytest

import pyshs as H
from pyshs import COOKIE, decode_session, parse_set_cookie, store_key, wait_until

pytestmark = pytest.mark.memcached_only


@pytest.fixture
def sock_memcached(make_memcached):
    return make_memcached(unix_socket=True)


STATUS = '<Location /shs-status>\n    SetHandler sharedsession-status\n</Location>\n'


def socket_httpd(make_httpd, mc, **opts):
    return make_httpd(memcached=mc, timeout="500ms", retry="1s", vhost_conf=STATUS, **opts)


def test_sessions_over_a_unix_socket(make_httpd, sock_memcached):
    mc = sock_memcached.client
    httpd = socket_httpd(make_httpd, sock_memcached)
    assert f"SharedSessionMemcache {sock_memcached.addr}" in open(httpd.conf).read()
    before = mc.stats()

    b = httpd.browser()
    r = b.set("user", "alice")                       # a write: add on the request thread
    sids = [parse_set_cookie(sc)[1] for sc in r.set_cookies(COOKIE)]
    assert len(sids) == 1, r
    for _ in range(20):                               # reads, in both processes
        _, who = b.whoami()
        assert who["session"] == {"user": "alice"}, who
    b.set("cart", "3")                                # an update: set
    assert decode_session(mc.get(store_key(sids[0]))) == {"user": "alice", "cart": "3"}

    r = b.get("/logout.php")                          # a delete: on a store worker
    assert r.status == 200, r
    assert mc.get(store_key(sids[0])) is None, "logout deletes the key over the socket too"

    after = mc.stats()
    hits = int(after["get_hits"]) - int(before["get_hits"])
    sets = int(after["cmd_set"]) - int(before["cmd_set"])
    print(f"over the socket: {hits} get hits, {sets} storage commands")
    assert hits >= 20 and sets >= 2, (hits, sets)


def test_status_page_names_the_socket(make_httpd, sock_memcached):
    httpd = socket_httpd(make_httpd, sock_memcached)
    httpd.browser().set("k", "v")
    path = sock_memcached.addr
    r = httpd.request("GET", "/shs-status", headers={"Host": "a.test"})
    assert r.status == 200, r
    assert any(l.strip().startswith(path) for l in r.text.splitlines()), r.text
    r = httpd.request("GET", "/shs-status?format=prometheus", headers={"Host": "a.test"})
    assert f'shs_memcached_up{{server="{path}"}} 1' in r.text, r.text


def test_socket_gone_then_back(make_httpd, sock_memcached, expect_log):
    path = sock_memcached.addr
    expect_log(rf"SHS00302: memcached {re.escape(path)} failed",
               rf"SHS00303: memcached {re.escape(path)} is still")
    httpd = socket_httpd(make_httpd, sock_memcached)
    b = httpd.browser()
    b.set("k", "v")

    sock_memcached.kill()                             # the socket file is gone with it
    t0 = time.monotonic()
    r = b.get("/whoami.php")
    took = time.monotonic() - t0
    assert r.status == 200 and r.json()["session"] == {}, r
    print(f"answered without the session in {took:.3f}s")
    httpd.wait_log(rf"SHS00302: memcached {re.escape(path)} failed")

    sock_memcached.start()                            # empty, on the same path
    b2 = httpd.browser()
    ok = wait_until(lambda: b2.set("k", "again").status == 200 and COOKIE in b2.cookies, 10, 0.2)
    assert ok, "no session stored within 10 s of memcached listening again"
    assert wait_until(lambda: b2.whoami()[1]["session"] == {"k": "again"}, 10, 0.2)
