"""Fixtures of the mod_sharedsession integration tests.

Run:  /usr/bin/python3 -m pytest -q tests/integration      (after `make`)

- SHS_MODULE overrides the DSO path (default: .libs/mod_sharedsession.so of this tree).
- A missing component (apache2, memcached, php-cgi, htpasswd) skips the tests that need it,
  naming the Debian package; with CI=true it fails instead (see require()).
- After every test the error logs of the httpd instances it started are checked: a line at
  warn level or worse, or a crash ("exit signal"), fails the test unless the test declared it
  with @pytest.mark.expect_log("SHS00302", ...) or the expect_log("...") fixture.
"""

import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/
import pyshs as H  # noqa: E402

# A component the tests need: its path; missing, a skip naming the Debian package to install,
# a failure under CI=true (tests/faults/conftest.py re-exports it).
require = H.require


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "expect_log(*patterns): error-log lines (tag or regex) this test expects")
    config.addinivalue_line(
        "markers", "slow: a test that waits several seconds on purpose (deselect: -m 'not slow')")
    config.addinivalue_line(
        "markers", "memcached_only: looks into memcached itself (skipped with SHS_STORE=shm)")


def pytest_runtest_setup(item):
    if H.STORE == "shm" and item.get_closest_marker("memcached_only"):
        pytest.skip("looks into memcached itself: not with SHS_STORE=shm")


# ------------------------------------------------------------------ paths and components

@pytest.fixture(scope="session")
def module_path():
    path = H.module_path()
    if not os.path.isfile(path):
        pytest.fail(f"mod_sharedsession DSO not found at {path}: run make first "
                    f"(cd {H.REPO} && make), or set SHS_MODULE", pytrace=False)
    return path


@pytest.fixture(scope="session")
def apache_bin():
    require(H.APACHE2, "apache2", "apache2 binary")
    for _, f in H.MODULES:
        if _[:-len("_module")] not in H.builtin_modules():
            require(os.path.join(H.APACHE_MODULES, f), "apache2", f"httpd module {f}")
    return H.APACHE2


@pytest.fixture(scope="session")
def memcached_bin():
    return require(H.MEMCACHED, "memcached", "memcached binary")


@pytest.fixture(scope="session")
def php_cgi():
    return require(H.PHP_CGI, "php-cgi", "php-cgi (/usr/lib/cgi-bin/php)")


@pytest.fixture(scope="session")
def htpasswd_bin():
    return require(H.HTPASSWD, "apache2-utils", "htpasswd")


@pytest.fixture(scope="session")
def base_dir():
    # Not pytest's tmp_path: its parent is mode 0700 and httpd's User (www-data) must read
    # the document roots.
    d = tempfile.mkdtemp(prefix="shs-it-")
    os.chmod(d, 0o755)
    yield d
    if not os.environ.get("SHS_KEEP_TMP"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def workdir(base_dir, request):
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)[:80]
    d = tempfile.mkdtemp(prefix=name + "-", dir=base_dir)
    os.chmod(d, 0o755)
    return d


# ------------------------------------------------------------------ log expectations

@pytest.fixture
def expect_log(request):
    """expect_log("SHS00302", r"regex") declares error-log lines this test expects."""
    allowed = request.node.__dict__.setdefault("_shs_allowed", [])

    def add(*patterns):
        allowed.extend(patterns)
    return add


def _allowed(item):
    pats = list(item.__dict__.get("_shs_allowed", []))
    for m in item.iter_markers("expect_log"):
        pats.extend(m.args)
    return pats


def _instances(item):
    return item.__dict__.get("_shs_httpds", [])


# The event MPM may fail to poll a connection it is closing while the server stops (AH03092,
# "process_lingering_close: apr_pollset_add failure"): httpd's own shutdown race, not ours.
SHUTDOWN_NOISE = [r"AH03092: process_lingering_close"]


def _check_logs(item, after_stop=False):
    allowed = _allowed(item) + (SHUTDOWN_NOISE if after_stop else [])
    problems = []
    for h in _instances(item):
        seen = h.__dict__.setdefault("_guard_reported", set())
        bad = [l for l in h.bad_log_lines(allowed) if l not in seen]
        seen.update(bad)
        if bad:
            problems.append((h, bad))
    if problems:
        msg = ["error-log guard: unexpected lines at warn level or worse"
               + (" (at shutdown)" if after_stop else "")
               + (f"; declared: {allowed}" if allowed else "")]
        for h, bad in problems:
            msg.append(f"--- {h.error_log}: unexpected:")
            msg.extend("    " + l for l in bad)
            msg.append(f"--- whole log:")
            msg.append(h.log_text())
            msg.extend(h.crash_reports())
        return "\n".join(msg)
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    outcome = yield
    if outcome.excinfo is None:
        problem = _check_logs(item)
        if problem:
            raise AssertionError(problem)        # pluggy 1.0: propagates as the test's failure


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # On a failure, show the error logs of the servers of this test (unless the guard's
    # message already holds them).
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.excinfo is not None \
            and "error-log guard" not in str(call.excinfo.value):
        for h in _instances(item):
            report.sections.append((f"error log {h.error_log}", h.log_text()))


# ------------------------------------------------------------------ memcached and httpd

@pytest.fixture
def memcached(memcached_bin, workdir):
    mc = H.Memcached(workdir).start()
    yield mc
    mc.kill()


@pytest.fixture
def mc(memcached):
    """The text-protocol client of the test's memcached."""
    return memcached.client


@pytest.fixture
def make_memcached(memcached_bin, workdir):
    """make_memcached(**opts) -> one more started Memcached (opts: see pyshs.Memcached),
    killed after the test."""
    made = []

    def make(**opts):
        d = os.path.join(workdir, f"memcached{len(made) + 2}")
        os.makedirs(d)
        made.append(H.Memcached(d, **opts).start())
        return made[-1]
    yield make
    for m in made:
        m.kill()


@pytest.fixture
def keyfile(workdir):
    """A SharedSessionKeyFile with one random key (pyshs.KeyFile: path, keys, codec)."""
    return H.KeyFile(os.path.join(workdir, "keys.txt"))


@pytest.fixture
def make_httpd(request, apache_bin, module_path, php_cgi, htpasswd_bin, memcached, base_dir):
    """make_httpd(**opts) -> a started Httpd (see pyshs.HttpdConf for the options);
    start=False only writes the config."""
    made = request.node.__dict__.setdefault("_shs_httpds", [])

    def make(start=True, **opts):
        d = tempfile.mkdtemp(prefix=f"httpd{len(made)}-", dir=base_dir)
        os.chmod(d, 0o755)
        opts.setdefault("memcached", memcached)
        h = H.Httpd(d, module_path, **opts)
        made.append(h)
        if start:
            h.start()
        return h
    yield make
    stop_problems = []
    for h in made:
        if h.running:
            try:
                h.stop()
            except AssertionError as e:     # stopped anyway; reported below
                stop_problems.append(f"{h.dir}: {e}")
    problem = _check_logs(request.node, after_stop=True)
    if problem or stop_problems:
        pytest.fail("\n".join(stop_problems + ([problem] if problem else [])), pytrace=False)


@pytest.fixture
def httpd(make_httpd):
    return make_httpd()


@pytest.fixture
def configtest(request, apache_bin, module_path, base_dir):
    """configtest(**opts) -> (exit status, output, Httpd) of `apache2 -t -f CONF` (no
    memcached); Httpd.assert_refused() checks the error apache2 gave."""

    def run(**opts):
        d = tempfile.mkdtemp(prefix="conftest-", dir=base_dir)
        os.chmod(d, 0o755)
        opts.setdefault("memcache_servers", ["127.0.0.1:11211"])
        h = H.Httpd(d, module_path, **opts)
        rc, out = h.configtest()
        print(f"apache2 -t -f {h.conf} -> {rc}\n{out}")
        return rc, out, h
    return run
