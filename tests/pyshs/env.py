"""The test environment: where things are, the binaries, the CI rule, ports, processes, waits.

Everything here talks to 127.0.0.1 only; every wait has a time bound.
"""

import os
import re
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

PKG = os.path.dirname(os.path.abspath(__file__))         # tests/pyshs
TESTS = os.path.dirname(PKG)
REPO = os.path.dirname(TESTS)
APP_DIR = os.path.join(TESTS, "integration", "app")       # the integration tests' application
DEMO_APP_DIR = os.path.join(REPO, "demo", "app")          # the demo's legacy PHP shop (e2e)

APACHE2 = os.environ.get("SHS_APACHE2", "/usr/sbin/apache2")
APACHE_MODULES = os.environ.get("SHS_APACHE_MODULES", "/usr/lib/apache2/modules")
MEMCACHED = os.environ.get("SHS_MEMCACHED", "/usr/bin/memcached")
PHP_CGI = "/usr/lib/cgi-bin/php"
HTPASSWD = "/usr/bin/htpasswd"
OPENSSL = "/usr/bin/openssl"
DEFAULT_MODULE = os.path.join(REPO, ".libs", "mod_sharedsession.so")

STORE = os.environ.get("SHS_STORE", "memcache")  # the store the default servers use


def module_path():
    """The DSO under test: SHS_MODULE, or the build tree's."""
    return os.environ.get("SHS_MODULE", DEFAULT_MODULE)


def ci():
    """CI=true: a test whose component is missing fails instead of being skipped."""
    return os.environ.get("CI", "").lower() == "true"


def missing(msg):
    """A component is missing: skip, naming what to install; a failure under CI=true."""
    import pytest
    if ci():
        pytest.fail(msg + " [CI=true: a missing component is a failure]", pytrace=False)
    pytest.skip(msg)


def package_hint(package):
    return f"install the Debian package '{package}' (apt-get install {package})"


def require(path, package, what=None):
    """A file the tests need (a binary, an httpd module): its path, else missing()."""
    if not os.path.exists(path):
        missing(f"{what or path} not found: {package_hint(package)}")
    return path


_BUILTIN = None


def builtin_modules():
    """Modules compiled into the httpd binary (`apache2 -l`): they must not be loaded."""
    global _BUILTIN
    if _BUILTIN is None:
        try:
            out = subprocess.run([APACHE2, "-l"], capture_output=True, text=True,
                                 timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        _BUILTIN = set(re.findall(r"mod_(\w+)\.c", out))
    return _BUILTIN


# ------------------------------------------------------------------ ports and processes

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def port_open(port, timeout=0.2):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def all_threads_stopped(pid):
    """Every thread of pid in state T (SIGSTOP takes effect when a thread is scheduled)."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] not in ("T", "t"):
                    return False
        except (OSError, IndexError):
            return False
    return True


def chmod_tree(path, dirmode=0o755, filemode=0o644):
    """Make a tree readable by www-data (httpd's User when the tests run as root)."""
    for root, dirs, files in os.walk(path):
        os.chmod(root, dirmode)
        for f in files:
            p = os.path.join(root, f)
            if os.path.islink(p):
                continue
            os.chmod(p, 0o755 if os.access(p, os.X_OK) or f.endswith(".cgi") else filemode)


def parallel(fn, items, workers=16):
    """fn over items on `workers` threads; the results in order."""
    with ThreadPoolExecutor(workers) as ex:
        return list(ex.map(fn, items))


# ------------------------------------------------------------------ waits

class WaitTimeout(AssertionError):
    """A bounded wait ran out: names what was awaited."""


def wait_until(pred, timeout, interval=0.05):
    """Poll pred() until it returns a true value or timeout seconds pass; returns the last
    value.  The caller decides what a false result means (assert it, with a message);
    wait_for() is the form that fails by itself."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def wait_for(what, pred, timeout, interval=0.05, detail=None):
    """Poll pred() like wait_until(); returns its true value, or raises WaitTimeout naming
    `what` (and detail(), a callable giving what was seen, when given)."""
    v = wait_until(pred, timeout, interval)
    if not v:
        msg = f"timed out after {timeout:g} s waiting for {what}"
        if detail is not None:
            msg += f"\n{detail()}"
        raise WaitTimeout(msg)
    return v
