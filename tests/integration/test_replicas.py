"""Replicas: `SharedSessionMemcacheReplicas 2` over three real memcached servers.

Every session is kept on the first two servers of its key in rendezvous order (the Python twin
of the placement in test_placement.py predicts which), each copy behind the store's header
`shsr1:<v|d>:<version>:<expires>:` (src/shs_store.h).  The tests kill, restart empty and stall
one server, and check through the module (a static page that echoes the session mod_session
hands the application, and the shell CGI that writes it) and in memcached itself:

- killed: every session written before still reads back with its latest data, writes go on
  with the other copy; restarted empty: the sessions still read back, and the empty server
  gets its copies back (repair on read);
- stalled (SIGSTOP): every session read back while that server is still stopped, writes go
  on; after SIGCONT the stalled server's older copies never win, and are brought up to date;
- logout while a server is stalled (cut off with its memory): the session never comes back
  from that server; it gets the tombstone instead, which lives as long as the session would.

Everything runs on 127.0.0.1; every process started here is stopped by its pid.
"""

import re
import time

import pytest

import pyshs as H
from pyshs import COOKIE, store_key, wait_until
from test_placement import order

REPLICAS = 2
TTL = 86400                      # SharedSessionTTL's default: the sessions' lifetime here
LIGHT = "who.txt"                # static: mod_headers echoes HTTP_SESSION (no fork)
SESSION_HEADER = "X-Session"
VHOST = (f'Header always set {SESSION_HEADER} "%{{HTTP_SESSION}}e"\n'
         '<Location /shs-status>\n    SetHandler sharedsession-status\n</Location>\n')
ITEM_RE = re.compile(r"^shsr1:([vd]):([0-9a-f]{16}):([0-9a-f]{12}):")
CLIENTS = 16


# ------------------------------------------------------------------ fixtures and helpers

@pytest.fixture
def three_memcached(memcached, make_memcached):
    """The test's memcached and two more, on 127.0.0.1."""
    return [memcached, make_memcached(), make_memcached()]


def replicated_httpd(make_httpd, mcs, **kw):
    kw.setdefault("processes", 2)
    kw.setdefault("threads", 10)
    return make_httpd(memcache_servers=[m.addr for m in mcs],
                      global_conf=f"SharedSessionMemcacheReplicas {REPLICAS}\n",
                      vhost_conf=VHOST, files={LIGHT: "light whoami\n"}, **kw)


def parallel(fn, items):
    return H.parallel(fn, items, CLIENTS)


def item(raw):
    """A raw copy as memcached holds it -> (kind 'v'|'d', version, expires, value), or None
    for a copy without the header."""
    m = ITEM_RE.match(raw)
    if not m:
        return None
    return m.group(1), int(m.group(2), 16), int(m.group(3), 16), raw[m.end():]


def raw_copy(mc, key):
    return mc.client.get_raw(key)


class Sess:
    """One visitor whose session holds n=<i>&v=<version of the data>."""

    def __init__(self, httpd, i):
        self.httpd, self.i = httpd, i
        r = httpd.request("GET", f"/set.cgi?n={i}&v=1", headers={"Host": "a.test"})
        assert r.status == 200, r
        sc = r.set_cookies(COOKIE)
        assert sc, f"session {i}: no id issued: {r}"
        self.sid = H.parse_set_cookie(sc[0])[1]
        self.key = store_key(self.sid)
        self.data = {"n": str(i), "v": "1"}

    def headers(self):
        return {"Host": "a.test", "Cookie": f"{COOKIE}={self.sid}"}

    def write(self, v):
        """Update the data; the id stays."""
        r = self.httpd.request("GET", f"/set.cgi?n={self.i}&v={v}", headers=self.headers())
        assert r.status == 200, r
        sc = r.set_cookies(COOKIE)
        assert not sc or H.parse_set_cookie(sc[0])[1] == self.sid, \
            f"session {self.i}: id replaced on a write: {sc}"
        self.data = {"n": str(self.i), "v": str(v)}
        return r

    def logout(self):
        """Every key emptied: the module deletes the session and expires the cookie."""
        r = self.httpd.request("GET", "/set.cgi?n=&v=", headers=self.headers())
        assert r.status == 200, r
        sc = r.set_cookies(COOKIE)
        assert sc and H.parse_set_cookie(sc[0])[1] == "", f"session {self.i}: not logged out: {r}"
        self.data = {}
        return r

    def read(self):
        """(the session the page was given as a dict, seconds the request took)"""
        r = self.httpd.request("GET", "/" + LIGHT, headers=self.headers())
        assert r.status == 200, r
        v = r.header(SESSION_HEADER)
        return ({} if v in (None, "", "(null)") else H.decode_session(v)), r.elapsed


def check_reads(sessions, label):
    """Every session reads back its latest data; -> the time each read took."""
    got = parallel(lambda s: (s, s.read()), sessions)
    wrong = [(s.i, s.data, seen) for s, (seen, _) in got if seen != s.data]
    assert not wrong, f"{label}: {len(wrong)} of {len(sessions)} sessions did not read back " \
                      f"their latest data (index, expected, seen): {wrong[:5]}"
    return [t for _, (_, t) in got]


def pair(s, addrs):
    return order(s.key, addrs)[:REPLICAS]


def status_lines(httpd, addrs):
    r = httpd.request("GET", "/shs-status", headers={"Host": "a.test"})
    assert r.status == 200, r
    return {a: next((l.strip() for l in r.text.splitlines() if l.strip().startswith(a)), None)
            for a in addrs}


def replica_events(httpd):
    """{(server, event): count} from the Prometheus output of the status page."""
    r = httpd.request("GET", "/shs-status?format=prometheus", headers={"Host": "a.test"})
    assert r.status == 200, r
    out = {}
    for m in re.finditer(r'^shs_memcached_replica_events_total\{server="([^"]+)",'
                         r'event="(\w+)"\} (\d+)$', r.text, re.M):
        out[(m.group(1), m.group(2))] = int(m.group(3))
    assert out, r.text[-1500:]
    return out


# ------------------------------------------------------------------ the tests

def test_each_session_on_its_two_servers(make_httpd, three_memcached):
    """Each session is on exactly its first two servers in rendezvous order, both copies the
    same bytes with the header; the third server has none of it."""
    mcs = three_memcached
    addrs = [m.addr for m in mcs]
    httpd = replicated_httpd(make_httpd, mcs)
    sessions = parallel(lambda i: Sess(httpd, i), range(60))
    held = {m.addr: m.client.present([s.key for s in sessions]) for m in mcs}
    per_server = {a: len(k) for a, k in held.items()}
    print(f"60 sessions, 2 copies each, per server: {per_server}")
    for s in sessions:
        where = sorted(a for a in addrs if s.key in held[a])
        assert where == sorted(pair(s, addrs)), (s.i, where, pair(s, addrs))
        raws = [raw_copy(m, s.key) for m in mcs if m.addr in where]
        assert raws[0] == raws[1], (s.i, raws)
        kind, version, expires, value = item(raws[0])
        assert kind == "v" and H.decode_session(value) == s.data, (s.i, raws[0])
        assert abs(expires - (time.time() + TTL)) < 60, (s.i, expires)
    assert sum(per_server.values()) == 2 * len(sessions)
    assert min(per_server.values()) > 0
    check_reads(sessions, "healthy")


@pytest.mark.expect_log("SHS00302", "SHS00303")
def test_kill_one_then_restart_it_empty(make_httpd, three_memcached):
    """One server of three killed: every session reads back with its latest data, and writes
    go on.  Restarted empty on the same port: still every session reads back, and reading
    them gives the new server its copies back."""
    mcs = three_memcached
    addrs = [m.addr for m in mcs]
    httpd = replicated_httpd(make_httpd, mcs)
    sessions = parallel(lambda i: Sess(httpd, i), range(90))
    parallel(lambda s: s.write(2), sessions)
    victim = mcs[1]
    on_victim = [s for s in sessions if victim.addr in pair(s, addrs)]
    print(f"{len(on_victim)} of {len(sessions)} sessions have a copy on {victim.addr}")
    assert on_victim

    victim.kill()
    t_kill = time.monotonic()
    check_reads(sessions, "after the kill")
    parallel(lambda s: s.write(3), sessions[:45])          # written while it is dead
    check_reads(sessions, "writes while one server is dead")
    lines = status_lines(httpd, addrs)
    print("status page while dead:", lines)
    assert "down" in (lines[victim.addr] or ""), lines
    print(f"dead for {time.monotonic() - t_kill:.1f}s, nothing lost")

    victim.restart()
    assert not victim.client.present([s.key for s in sessions]), "a restarted memcached is empty"
    t_back = time.monotonic()
    rounds = 0

    def repaired():
        nonlocal rounds
        rounds += 1
        check_reads(sessions, f"after the restart, round {rounds}")
        return victim.client.present([s.key for s in on_victim]) == {s.key for s in on_victim}
    assert wait_until(repaired, 15, 0.3), \
        f"{len(on_victim) - len(victim.client.present([s.key for s in on_victim]))} " \
        "copies still missing on the restarted server after 15 s of reads"
    print(f"restarted server repaired after {time.monotonic() - t_back:.1f}s ({rounds} rounds "
          f"of reads)")
    for s in on_victim:
        other = next(m for m in mcs if m.addr in pair(s, addrs) and m is not victim)
        assert raw_copy(victim, s.key) == raw_copy(other, s.key), s.i
    # only where it belongs
    assert victim.client.present([s.key for s in sessions]) == {s.key for s in on_victim}
    assert wait_until(lambda: "up" in (status_lines(httpd, addrs)[victim.addr] or ""), 10)

    # the status page says what the copies did, per server: the restarted one was found
    # missing its copies and repaired, the others answered for it while it was dead
    line = status_lines(httpd, addrs)[victim.addr]
    print("status page after the repair:", line)
    events = replica_events(httpd)
    assert events[(victim.addr, "repair")] >= len(on_victim), events
    assert events[(victim.addr, "stale")] >= len(on_victim), events
    assert sum(events[(a, "fallback")] for a in addrs if a != victim.addr) > 0, events
    assert events[(victim.addr, "fallback")] == 0, events
    m = re.search(r"found missing or older (\d+)", line or "")
    assert m and int(m.group(1)) == events[(victim.addr, "stale")], line


@pytest.mark.expect_log("SHS00302", "SHS00303")
def test_stall_one_answered_and_its_old_copies_never_win(make_httpd, three_memcached):
    """One server stalled (SIGSTOP): reads and writes go on with the other copy, every one
    answered while that server is still stopped (the time each took is printed).  After
    SIGCONT that server still holds the copies from before the stall: they never win over
    the newer ones, and reading brings them up to date."""
    mcs = three_memcached
    addrs = [m.addr for m in mcs]
    timeout_s = 0.25
    httpd = replicated_httpd(make_httpd, mcs, timeout="250ms", retry="1s")
    sessions = parallel(lambda i: Sess(httpd, i), range(60))
    victim = mcs[0]
    on_victim = [s for s in sessions if victim.addr in pair(s, addrs)]
    old = {s.key: raw_copy(victim, s.key) for s in on_victim}

    victim.stall()
    try:
        times = check_reads(sessions, "during the stall")
        for s in on_victim:
            s.write("stalled")
        times += check_reads(sessions, "during the stall, after writes")
        times += check_reads(sessions, "during the stall, again")
        # all answered (with the latest data) before the stalled server could answer anything
        assert H.all_threads_stopped(victim.pid), "the stalled memcached ran again meanwhile"
    finally:
        victim.cont()
    over = [t for t in times if t > timeout_s + 0.1]
    print(f"{len(times)} reads during the stall: max {max(times) * 1000:.0f} ms, "
          f"{len(over)} over timeout + 100 ms")
    # the stalled server answers again with its copies from before
    assert all(raw_copy(victim, s.key) == old[s.key] for s in on_victim)

    def up_to_date():
        check_reads(sessions, "after SIGCONT")          # never the old copy
        return all(raw_copy(victim, s.key) == raw_copy(
            next(m for m in mcs if m.addr in pair(s, addrs) and m is not victim), s.key)
            for s in on_victim)
    assert wait_until(up_to_date, 15, 0.3), "the stalled server's copies were not brought up " \
                                            "to date within 15 s of reads"
    for s in on_victim:
        assert H.decode_session(item(raw_copy(victim, s.key))[3]) == s.data


@pytest.mark.expect_log("SHS00302", "SHS00303")
def test_logout_stays_global(make_httpd, three_memcached):
    """Sessions logged out while one of their servers is stalled (cut off, its memory kept):
    when it answers again with the old copies, the sessions stay logged out, through the
    module and the application, and that server gets the tombstone.  The tombstones live at
    least as long as the sessions would have."""
    mcs = three_memcached
    addrs = [m.addr for m in mcs]
    httpd = replicated_httpd(make_httpd, mcs, timeout="250ms", retry="1s")
    sessions = parallel(lambda i: Sess(httpd, i), range(45))
    victim = mcs[2]
    affected = [s for s in sessions if victim.addr in pair(s, addrs)]
    others = [s for s in sessions if s not in affected]
    assert affected and others

    victim.stall()
    try:
        for s in affected:
            s.logout()
    finally:
        victim.cont()
    for s in affected:
        kind, _, _, value = item(raw_copy(victim, s.key))
        assert kind == "v" and H.decode_session(value)["n"] == str(s.i), \
            "the stalled server was expected to keep the old copy"
        other = next(m for m in mcs if m.addr in pair(s, addrs) and m is not victim)
        kind, _, expires, _ = item(raw_copy(other, s.key))
        assert kind == "d", (s.i, raw_copy(other, s.key))
        ttl = other.client.ttl(s.key)
        assert ttl is not None and ttl >= TTL - 60, f"tombstone TTL {ttl} < the session's {TTL}"
        assert expires >= time.time() + TTL - 60

    def tombstoned():
        check_reads(affected + others, "after the logout")      # anonymous, never back
        return all(item(raw_copy(victim, s.key))[0] == "d" for s in affected)
    assert wait_until(tombstoned, 15, 0.3), "the stalled server did not get the tombstones"
    for s in affected[:10]:
        r = httpd.request("GET", "/whoami.php", headers=s.headers())
        assert r.status == 200 and r.json()["session"] == {}, (s.i, r)
        assert not r.set_cookies(COOKIE) or H.parse_set_cookie(r.set_cookies(COOKIE)[0])[1] \
            != s.sid, "an old id was adopted again"
    ttl = victim.client.ttl(affected[0].key)
    assert ttl is not None and ttl >= TTL - 60


def test_grow_and_shrink_lose_nothing(make_httpd, three_memcached, make_memcached):
    """With two copies a key keeps its first server when a server is added (the new one can
    only take the first or second place), and keeps one of its two when one is removed: every
    session is still found after 3 -> 4 servers and after 4 -> 3 (another one removed), both by
    a graceful restart, and the copies move to the new pairs as the sessions are read."""
    from test_placement import graceful
    mcs = list(three_memcached)
    fourth = make_memcached()
    three = [m.addr for m in mcs]
    httpd = replicated_httpd(make_httpd, mcs, processes=2)
    sessions = parallel(lambda i: Sess(httpd, i), range(300))
    four = three + [fourth.addr]
    moved = [s for s in sessions if pair(s, four) != pair(s, three)]
    print(f"3 -> 4 servers: {len(moved)} of {len(sessions)} sessions get a new pair")
    graceful(httpd, four)
    everywhere = mcs + [fourth]

    def placed(addrs, label):
        """Every session reads back, and has its copies on its pair of addrs."""
        check_reads(sessions, label)
        held = {a: next(m for m in everywhere if m.addr == a).client.present(
            [s.key for s in sessions]) for a in addrs}
        return not [s for s in sessions if any(s.key not in held[a] for a in pair(s, addrs))]
    assert wait_until(lambda: placed(four, "after growing to 4 servers"), 10, 0.2), \
        "copies not on the new pairs after 10 s of reads"

    # remove one of the first three: every key keeps at least one of its copies
    gone = mcs[0]
    rest = [m.addr for m in everywhere if m is not gone]
    graceful(httpd, rest)
    gone.kill()
    assert wait_until(lambda: placed(rest, "after removing a server"), 10, 0.2), \
        "copies not on the new pairs after 10 s of reads"


@pytest.mark.expect_log(r"SHS00401: cross-domain token refused \(replayed\)", "SHS00302",
                        "SHS00303")
def test_token_single_use_survives_a_restart_of_any_server(make_httpd, three_memcached,
                                                           keyfile):
    """A pull callback used once, then replayed after each server in turn restarted empty:
    the mark of the used token is on two servers, so the other copy still says "used", and
    the replay is refused every time (the refused add puts the mark back on the restarted
    server).  The session pulled stays.  (With one copy the replay after restarting the
    mark's server is accepted: checked by hand.)"""
    from test_pull import FILES, assert_cb_refused, logged_in, pull_conf, pull_until_cb
    from test_push import refused_rx
    mcs = three_memcached
    httpd = make_httpd(memcache_servers=[m.addr for m in mcs], files=FILES,
                       global_conf=pull_conf(keyfile.path)
                       + f"SharedSessionMemcacheReplicas {REPLICAS}\n")
    nav = logged_in(httpd)
    alice = nav.sid("a.test")
    cb, state = pull_until_cb(nav, httpd)
    first = nav.get(cb, nav=True)
    assert first.status == 302 and nav.sid("b.test") == alice, first
    raced = first.sent_cookies      # the state cookie, no id cookie yet: a second tab
    for m in mcs:
        m.restart()
        log = H.LogWatch(httpd)
        hop = nav.get(cb, nav=True, headers={"Cookie": raced})
        assert_cb_refused(hop, httpd, "b.test", "/whoami.php")
        log.wait(refused_rx("replayed"))
        assert nav.session("b.test") == {"user": "alice"}, f"after restarting {m.addr}"
