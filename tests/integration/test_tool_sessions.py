"""shs-token sessions: sessions sealed exactly as the module seals them, printed for a
memcached client or written into the embedded store file of a running server.  Load tests
and seeding use it; what it writes must read back through the module, and it must never
create, replace or damage a store file."""

import os
import subprocess

import pytest

import pyshs as H
from pyshs import COOKIE

TOOL = os.path.join(H.REPO, "shs-token")
VALUE = "user=seeded&cart=3"


@pytest.fixture
def tool():
    if not os.access(TOOL, os.X_OK):
        pytest.fail(f"{TOOL} not built (make)")
    return TOOL


def ids_file(workdir, n, name="ids.txt"):
    ids = [H.new_id() for _ in range(n)]
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write("\n".join(ids) + "\n")
    return ids, path


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def read_back(httpd, sid):
    r = httpd.request("GET", "/whoami.php", headers={"Host": "a.test", "Cookie": f"{COOKIE}={sid}"})
    assert r.status == 200, r
    return r.json()["session"]


@pytest.mark.memcached_only
def test_printed_sessions_read_back_from_memcached(make_httpd, mc, tool, keyfile, workdir):
    httpd = make_httpd(global_conf=f"SharedSessionKeyFile {keyfile.path}\n")
    ids, path = ids_file(workdir, 5)
    p = run(tool, "sessions", "--keyfile", keyfile.path, "--sids", path, "--value", VALUE)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 5
    for sid, line in zip(ids, lines):
        key, sealed = line.split(" ", 1)
        assert key == H.store_key(sid)
        assert sealed != VALUE and ":" in sealed       # sealed, not the plain value
        mc.set(key, sealed, ttl=300)
    for sid in ids:
        assert read_back(httpd, sid) == {"user": "seeded", "cart": "3"}, sid
    # the plain value, unsealed, is refused by the module: the tool's sealing is what counts
    mc.set(H.store_key(ids[0]), VALUE, ttl=300)
    assert read_back(httpd, ids[0]) == {}


def test_written_into_the_embedded_store_of_a_running_server(make_httpd, tool, keyfile,
                                                             workdir):
    httpd = make_httpd(start=False, global_conf=f"SharedSessionKeyFile {keyfile.path}\n")
    store = os.path.join(httpd.dir, "run", "store.shm")
    httpd.server_conf = f'SharedSessionStore "shm:{store}(8M)"'
    httpd.start()
    b = httpd.browser()
    assert b.set("k", "made-by-the-server").status == 200
    ids, path = ids_file(workdir, 200)
    p = run(tool, "sessions", "--keyfile", keyfile.path, "--sids", path, "--value", VALUE,
            "--store", f"shm:{store}", "--ttl", "600")
    assert p.returncode == 0, p.stderr
    assert "200 session(s) stored" in p.stderr
    for sid in ids[:: 20] + [ids[-1]]:
        assert read_back(httpd, sid) == {"user": "seeded", "cart": "3"}, sid
    # what the server had is untouched, and the server keeps working
    assert b.whoami()[1]["session"] == {"k": "made-by-the-server"}
    assert b.set("k2", "after").status == 200
    assert b.whoami()[1]["session"] == {"k": "made-by-the-server", "k2": "after"}


@pytest.mark.parametrize("case", ["missing", "not-a-store", "wrong-size"])
def test_never_creates_or_replaces_a_store_file(tool, keyfile, workdir, case):
    ids, path = ids_file(workdir, 1)
    target = os.path.join(workdir, "store.shm")
    content = None
    if case == "not-a-store":
        content = b"precious data, not a session store\n" * 4096
    elif case == "wrong-size":
        content = b"\0" * 12345
    if content is not None:
        with open(target, "wb") as f:
            f.write(content)
        os.chmod(target, 0o600)
    p = run(tool, "sessions", "--keyfile", keyfile.path, "--sids", path, "--value", VALUE,
            "--store", f"shm:{target}")
    assert p.returncode == 2, (p.stdout, p.stderr)
    want = {"missing": "No such file", "not-a-store": "not a session store",
            "wrong-size": "its size is not that of a session store"}[case]
    assert want in p.stderr, p.stderr
    if content is None:
        assert not os.path.exists(target)
    else:
        with open(target, "rb") as f:
            assert f.read() == content


@pytest.mark.parametrize("args,msg", [
    ([], "--sids FILE and --value VALUE are required"),
    (["--value", VALUE], "--sids FILE and --value VALUE are required"),
    (["--value", VALUE, "--sids", "IDS", "--ttl", "0"], "--ttl: a number of seconds"),
    (["--value", VALUE, "--sids", "IDS", "--store", "memcache:x"], "--store: shm:PATH"),
    (["--value", VALUE, "--sids", "IDS", "--bogus"], "unknown argument '--bogus'"),
])
def test_bad_arguments_are_named(tool, keyfile, workdir, args, msg):
    _, path = ids_file(workdir, 1)
    args = [path if a == "IDS" else a for a in args]
    p = run(tool, "sessions", "--keyfile", keyfile.path, *args)
    assert p.returncode == 2 and msg in p.stderr, p.stderr


def test_bad_id_line_is_named(tool, keyfile, workdir):
    path = os.path.join(workdir, "bad.txt")
    with open(path, "w") as f:
        f.write("not-an-id\n")
    p = run(tool, "sessions", "--keyfile", keyfile.path, "--sids", path, "--value", VALUE)
    assert p.returncode == 2 and "line 1: not a session id" in p.stderr, p.stderr
