"""A ready test server for a suite that is not written in Python (the browser suite).

    cd tests && /usr/bin/python3 -m pyshs.serve --config e2e --dir DIR [--module SO]
    cd tests && /usr/bin/python3 -m pyshs.serve --config e2e --requirements

Starts memcached and httpd below DIR (which must exist; left in place) with the same
configuration code as the integration tests (HttpdConf), waits until the server answers, and
prints one JSON line on stdout: {"ready": true, ...} with the ports, pids and paths, or
{"ready": false, "error": "..."} (exit 1).  It then runs until stdin is closed (the suite ends,
or dies) or SIGTERM/SIGINT comes, stops httpd and memcached by pid, prints {"stopped": true,
"problems": [...]} and exits (1 when a stop went wrong).  --requirements prints the files the
configuration needs as a JSON list of {"what": path, "pkg": Debian package}.

Configurations:
- e2e: the demo's PHP shop (site "demo") as a.test, b.test and c.test over https (a throwaway
  CA, its certificate in "ca"), one group "e2e" whose hub is a.test, PHP's own session cookie
  shared (SharedSessionAppCookie PHPSESSID), KeepAlive on, and an access log whose fields
  tests/e2e/lib/wd-harness.mjs reads: the Location of each redirect and the start of the id
  cookie a request carried.
"""

import argparse
import json
import os
import signal
import sys

from .conf import GROUP_HOSTS, KeyFile, group_conf, module_files
from .env import (APACHE2, MEMCACHED, OPENSSL, PHP_CGI, free_port, module_path, wait_for)
from .httpd import Httpd
from .memcached import Memcached

# the access log of the browser suite: vhost, client, request, status, the redirect's Location,
# the start of the id cookie the request carried (taken when the request arrives: the module
# then removes its cookies from the request, so %{shs_session}C would never show it)
E2E_ACCESS_LOG = '%v %h \\"%r\\" %>s \\"%{Location}o\\" %<{SHS_E2E_SENT_ID}e'
E2E_SENT_ID = r'SetEnvIf Cookie "(?:^|;\s*)shs_session=([^;]{1,16})" SHS_E2E_SENT_ID=$1'
HUB = "a.test"


class Stop(Exception):
    """SIGTERM or SIGINT: stop the servers."""


def e2e_requirements():
    return ([{"what": APACHE2, "pkg": "apache2"}]
            + [{"what": path, "pkg": "apache2"} for _, path in module_files(tls=True)]
            + [{"what": MEMCACHED, "pkg": "memcached"}, {"what": PHP_CGI, "pkg": "php-cgi"},
               {"what": OPENSSL, "pkg": "openssl"}])


def start_memcached(workdir, attempts=3):
    for attempt in range(1, attempts + 1):
        try:
            return Memcached(workdir, args=["-c", "256"], memory_mb=32).start()
        except (RuntimeError, AssertionError):
            if attempt == attempts:
                raise


def subdir(workdir, name):
    d = os.path.join(workdir, name)
    os.makedirs(d, mode=0o755)
    return d


def start_e2e(workdir, module, started):
    """memcached (workdir/memcached) and the e2e httpd (server root workdir/httpd; its key
    file beside it: the root is made readable for the server's user); each appended to
    `started` once running."""
    mc = start_memcached(subdir(workdir, "memcached"))
    started.append(mc)
    keys = KeyFile(os.path.join(workdir, "sharedsession.key"))
    httpd = Httpd(subdir(workdir, "httpd"), module, memcached=mc, hosts=GROUP_HOSTS, site="demo",
                  tls=True, keepalive=True, processes=3, threads=25,
                  access_log_format=E2E_ACCESS_LOG,
                  global_conf=group_conf(keys.path, "e2e", scheme="https", hub=HUB)
                  + E2E_SENT_ID + "\n")
    started.append(httpd)
    for attempt in range(1, 4):
        try:
            httpd.start()
            break
        except RuntimeError as e:
            if attempt < 3 and "already in use" in str(e):
                httpd.port = free_port()      # taken meanwhile: the next start uses another
                continue
            raise

    def answers():
        try:
            return httpd.request("GET", "/whoami.php", headers={"Host": f"{HUB}:{httpd.port}"},
                                 timeout=3).status == 200
        except OSError:
            return False
    # ready when the hub answers over TLS with a certificate the throwaway CA signed for it
    wait_for(f"https://{HUB}:{httpd.port}/whoami.php to answer 200 (certificate checked)",
             answers, 15, 0.2, detail=lambda: f"--- error log ---\n{httpd.log_text()[-3000:]}")
    return {
        "ready": True, "dir": workdir, "root": httpd.dir, "port": httpd.port,
        "hosts": list(httpd.hosts),
        "hub": HUB, "sites": {h: httpd.site_url(h) for h in httpd.hosts},
        "ca": httpd.certs["ca"], "conf": httpd.conf, "error_log": httpd.error_log,
        "access_log": httpd.access_log, "httpd_pid": httpd.parent_pid,
        "memcached": mc.addr, "memcached_pid": mc.pid, "pid": os.getpid(),
    }


CONFIGS = {"e2e": (e2e_requirements, start_e2e)}


def stop_all(started):
    """Stop what was started, last first; the problems as strings."""
    problems = []
    for p in reversed(started):
        try:
            if isinstance(p, Httpd):
                if p.running:
                    p.stop()
            else:
                p.kill()
        except (AssertionError, RuntimeError, OSError) as e:
            problems.append(f"{type(p).__name__}: {e}")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m pyshs.serve", description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, choices=sorted(CONFIGS))
    ap.add_argument("--dir", help="an existing directory for the servers' files")
    ap.add_argument("--module", default=None, help="the DSO (default: SHS_MODULE or the build's)")
    ap.add_argument("--requirements", action="store_true",
                    help="print what the configuration needs (JSON) and exit")
    args = ap.parse_args(argv)
    requirements, start = CONFIGS[args.config]
    out = sys.stdout
    sys.stdout = sys.stderr         # stdout carries the JSON lines only

    def say(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    if args.requirements:
        say(requirements())
        return 0
    if not args.dir or not os.path.isdir(args.dir):
        say({"ready": False, "error": f"--dir: not a directory: {args.dir}"})
        return 2

    def on_signal(signum, frame):
        raise Stop(signal.Signals(signum).name)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = []
    try:
        try:
            info = start(os.path.abspath(args.dir), args.module or module_path(), started)
        except (AssertionError, RuntimeError, OSError) as e:
            problems = stop_all(started)
            say({"ready": False, "error": str(e), "problems": problems})
            return 1
        say(info)
        try:
            while sys.stdin.read(4096):   # until EOF: the suite closed it, or is gone
                pass
        except OSError:
            pass
        why = "stdin closed"
    except Stop as e:
        why = str(e)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)   # stopping now: finish it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    problems = stop_all(started)
    say({"stopped": True, "why": why, "problems": problems})
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
