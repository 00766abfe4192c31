"""A test httpd: started, controlled and stopped by pid; its error log read and checked; its
configuration errors (`apache2 -t`) parsed; requests to it."""

import datetime
import os
import pwd
import re
import resource
import shutil
import signal
import ssl
import subprocess
import time

from . import client
from .conf import HttpdConf
from .env import APACHE2, WaitTimeout, pid_alive, port_open, wait_for, wait_until

# error-log levels the guard refuses unless declared
BAD_LEVEL_RE = re.compile(r"\[(?:[\w.-]+:)?(error|warn|crit|alert|emerg)\]")
SHS_TAG_RE = re.compile(r"SHS\d{5}")
_LOG_TIME_RE = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d\.\d+ \d{4})\]")
_LOG_PID_RE = re.compile(r"\[pid (\d+)")
# what apache2 says about a directive it refuses while reading the configuration
SYNTAX_ERROR_RE = re.compile(r"Syntax error on line (\d+) of (.+?):\n(.*)")


def log_time(line):
    """The wall-clock time (epoch seconds, to the microsecond) of an error-log line, or None."""
    m = _LOG_TIME_RE.match(line)
    if not m:
        return None
    try:
        return datetime.datetime.strptime(m.group(1), "%a %b %d %H:%M:%S.%f %Y").timestamp()
    except ValueError:
        return None


def log_pid(line):
    """The pid of the process that wrote an error-log line, or None."""
    m = _LOG_PID_RE.search(line)
    return int(m.group(1)) if m else None


def _allow_cores():
    """preexec_fn of apache2: no limit on core size, so that CoreDumpDirectory gets one."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass


class LogWatch:
    """The error-log lines of one httpd written after a mark (the moment it was made)."""

    def __init__(self, httpd):
        self.httpd = httpd
        self.mark = len(httpd.log_lines())

    def lines(self, pattern=None):
        new = self.httpd.log_lines()[self.mark:]
        if pattern is None:
            return new
        rx = re.compile(pattern)
        return [l for l in new if rx.search(l)]

    def wait(self, pattern, timeout=3):
        """The lines matching pattern, once there is one (fails after timeout seconds)."""
        return wait_for(f"an error-log line matching {pattern!r} after the mark",
                        lambda: self.lines(pattern), timeout,
                        detail=lambda: "new lines:\n" + "\n".join(self.lines()))

    def absent(self, pattern):
        found = self.lines(pattern)
        assert not found, f"unexpected error-log line(s) matching {pattern!r}:\n" + "\n".join(found)


class Httpd(HttpdConf):
    """One httpd with its own ServerRoot in a tmp dir (HttpdConf), started and stopped by pid."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.parent_pid = None
        self.running = False

    def env(self):
        e = dict(os.environ)
        for k in ("APACHE_RUN_DIR", "APACHE_PID_FILE", "APACHE_LOCK_DIR", "APACHE_LOG_DIR"):
            e.pop(k, None)
        e["APACHE_RUN_DIR"] = os.path.join(self.dir, "run")
        e["APACHE_LOCK_DIR"] = os.path.join(self.dir, "run")
        e["APACHE_LOG_DIR"] = os.path.join(self.dir, "logs")
        e["APACHE_PID_FILE"] = self.pidfile
        e["APACHE_RUN_USER"] = "www-data"
        e["APACHE_RUN_GROUP"] = "www-data"
        # scripts/asan-integration.sh: a module built with ASan needs the runtime preloaded
        # into httpd (and only httpd: CGIs get httpd's own environment, not this one)
        if os.environ.get("SHS_HTTPD_PRELOAD"):
            e["LD_PRELOAD"] = os.environ["SHS_HTTPD_PRELOAD"]
        return e

    # --- configuration check
    def configtest(self):
        """`apache2 -t -f CONF` -> (exit status, stdout + stderr)."""
        self.write_config()
        p = subprocess.run([APACHE2, "-t", "-f", self.conf], capture_output=True, text=True,
                           timeout=60, env=self.env(), stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout + p.stderr

    def config_lines(self, text, host=None):
        """The line numbers (from 1) of the written config whose content starts with text:
        at server level (host None), or inside the <VirtualHost> of `host`."""
        out, vhost = [], None
        with open(self.conf) as f:
            for i, line in enumerate(f, 1):
                line = line.strip()
                if line.startswith("<VirtualHost "):
                    vhost = ""
                elif line == "</VirtualHost>":
                    vhost = None
                elif vhost == "" and line.startswith("ServerName "):
                    vhost = line.split()[1]
                elif line.startswith(text) and vhost == host:
                    out.append(i)
        return out

    def syntax_error(self, rc, out):
        """The error of a configuration apache2 refused while reading it: (line, message),
        where the file must be this httpd's config; fails when apache2 accepted it or said
        something else."""
        assert rc != 0, f"apache2 -t accepted the configuration:\n{out}"
        m = SYNTAX_ERROR_RE.search(out)
        assert m, f"apache2 -t failed without a syntax error:\n{out}"
        assert m.group(2) == self.conf, f"the error is in another file:\n{out}"
        return int(m.group(1)), m.group(3).strip()

    def assert_refused(self, rc, out, directive, message, host=None):
        """apache2 -t refused, with exactly `message`, the one line of the config that starts
        with `directive` (at server level, or in the <VirtualHost> of `host`)."""
        lines = self.config_lines(directive, host)
        assert len(lines) == 1, f"{directive!r} is on lines {lines} of {self.conf} ({host})"
        assert self.syntax_error(rc, out) == (lines[0], message), \
            f"expected line {lines[0]}: {message!r}; apache2 -t said:\n{out}"

    def assert_check_failed(self, rc, out, message):
        """apache2 -t read the configuration, then the module's check refused it: `message`
        is one whole line of the output, followed by httpd's AH00014."""
        assert rc != 0, f"apache2 -t accepted the configuration:\n{out}"
        lines = [l.strip() for l in out.splitlines()]
        assert message in lines, f"expected the line {message!r}; apache2 -t said:\n{out}"
        assert "AH00014: Configuration check failed" in lines, out

    # --- process control
    def start(self, timeout=15):
        self.write_config()
        p = subprocess.run([APACHE2, "-f", self.conf, "-k", "start"], capture_output=True,
                           text=True, timeout=60, env=self.env(), stdin=subprocess.DEVNULL,
                           preexec_fn=_allow_cores)
        if p.returncode != 0:
            raise RuntimeError(f"apache2 -k start failed ({p.returncode}):\n{p.stdout}{p.stderr}"
                               f"\n--- error log ---\n{self.log_text()}")
        self.running = True     # from here on stop() ends it, whatever fails below

        def up():
            pid = self.read_pid()
            return pid and pid_alive(pid) and port_open(self.port)
        if not wait_until(up, timeout):
            raise RuntimeError(f"httpd did not come up on port {self.port} within {timeout}s\n"
                               f"{p.stdout}{p.stderr}\n--- error log ---\n{self.log_text()}")
        self.parent_pid = self.read_pid()
        wait_for(f"a child process of httpd (parent pid {self.parent_pid})",
                 lambda: len(self.child_pids()) >= 1, 5,
                 detail=lambda: f"--- error log ---\n{self.log_text()}")
        # mod_cgid's daemon binds its socket as root and only then hands it to User: a CGI
        # request in between fails with EACCES (AH01257 "unable to connect to cgi daemon",
        # a 503), seen once in a full run.  Wait for the hand-over.
        wait_for(f"mod_cgid's socket {self.cgid_sock()} to belong to www-data",
                 self.cgid_ready, 5, detail=lambda: f"--- error log ---\n{self.log_text()}")
        return self

    def ctl(self, action, timeout=60):
        """`apache2 -k ACTION` (graceful, restart, ...) on this server's config; fails with
        apache2's output when it does."""
        p = subprocess.run([APACHE2, "-f", self.conf, "-k", action], capture_output=True,
                           text=True, timeout=timeout, env=self.env(), stdin=subprocess.DEVNULL)
        assert p.returncode == 0, \
            f"apache2 -k {action} failed ({p.returncode}): {p.stdout}{p.stderr}"
        return p

    def cgid_sock(self):
        return os.path.join(self.dir, "run", f"cgid.sock.{self.parent_pid}")

    def cgid_ready(self):
        """mod_cgid's socket (ScriptSock + "." + the parent's pid) belongs to User."""
        if os.geteuid() != 0:
            return True
        try:
            return os.stat(self.cgid_sock()).st_uid == pwd.getpwnam("www-data").pw_uid
        except (OSError, KeyError):
            return False

    def held_connections(self):
        """Connections to this httpd's port that a process still holds open: /proc/net/tcp
        rows with our local port, not listening, whose socket has an inode (0: closed by the
        process, only the kernel's TIME_WAIT/FIN_WAIT2 remains)."""
        held = 0
        port = f"{self.port:04X}"
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table) as f:
                    rows = f.read().splitlines()[1:]
            except OSError:
                continue
            for row in rows:
                fields = row.split()
                if len(fields) < 10 or fields[3] == "0A":       # 0A: LISTEN
                    continue
                if fields[1].rsplit(":", 1)[1] == port and fields[9] != "0":
                    held += 1
        return held

    def read_pid(self):
        try:
            with open(self.pidfile) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def child_pids(self):
        """pids of the processes whose parent is httpd's parent (workers and cgid)."""
        out = []
        if not self.parent_pid:
            return out
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.parent_pid:
                    out.append(int(d))
            except (OSError, IndexError, ValueError):
                continue
        return out

    def stop(self, timeout=15):
        """Stop (SIGTERM) once httpd holds no client connection; fails, after stopping it
        anyway, when a connection stayed open or httpd needed SIGKILL.

        At an ungraceful stop the event MPM's main thread closes the sockets its workers hold
        (close_worker_sockets()) and can read one a worker has just released: a child
        segfaulted there (apr_os_sock_get in the child's main thread, no module frame) about
        once per full run of this suite, right after a test's last response.  That is httpd's
        race, not the module's, so wait until every connection is closed on httpd's side first
        (a graceful stop would do too, but costs a second or more per server)."""
        pid = self.parent_pid or self.read_pid()
        if not pid:
            self.running = False
            return
        problems = []
        if not wait_until(lambda: not self.held_connections(), 5, 0.01):
            problems.append(f"httpd still held {self.held_connections()} client connection(s) "
                            f"on port {self.port} 5 s after the last request")
        time.sleep(0.02)      # the worker's last steps after closing the socket
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not wait_until(lambda: not pid_alive(pid), timeout, 0.1):
            problems.append(f"httpd (pid {pid}) did not stop within {timeout} s of SIGTERM: "
                            f"killed")
            try:
                os.kill(pid, signal.SIGKILL)   # ours, by pid
            except ProcessLookupError:
                pass
            if not wait_until(lambda: not pid_alive(pid), 5, 0.1):
                problems.append(f"httpd (pid {pid}) still running 5 s after SIGKILL")
        self.running = False
        if problems:
            raise WaitTimeout("; ".join(problems))

    # --- logs
    def log_text(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_lines(self, pattern=None):
        lines = self.log_text().splitlines()
        if pattern is None:
            return lines
        rx = re.compile(pattern)
        return [l for l in lines if rx.search(l)]

    def wait_log(self, pattern, timeout=5, count=1):
        """The lines matching pattern once there are `count` of them (fails after timeout)."""
        return wait_for(f"{count} error-log line(s) matching {pattern!r}",
                        lambda: len(self.log_lines(pattern)) >= count and self.log_lines(pattern),
                        timeout, detail=lambda: f"--- error log ---\n{self.log_text()[-3000:]}")

    def assert_htaccess_refused(self, directory, line, page, host="a.test", timeout=3):
        """An .htaccess in `directory` (of every docroot) holding `line`, a directive not
        allowed there: a request for directory/page on `host` is answered 500, and httpd's
        error-log line names that .htaccess and that directive (waited for; returned)."""
        self.write_file(f"{directory}/.htaccess", line + "\n")
        r = self.request("GET", f"/{directory}/{page}", headers={"Host": host})
        assert r.status == 500, r
        path = os.path.join(self.docroot(host), directory, ".htaccess")
        return self.wait_log(re.escape(f"{path}: {line.split()[0]} not allowed here"), timeout)

    def log_watch(self):
        """A LogWatch from now on."""
        return LogWatch(self)

    def crash_reports(self):
        """A gdb backtrace of every thread of each core a crashed child left (where the
        kernel writes cores into the process's directory: core_pattern "core")."""
        out = []
        try:
            cores = sorted(os.listdir(self.core_dir))
        except OSError:
            return out
        for c in cores:
            path = os.path.join(self.core_dir, c)
            if not shutil.which("gdb"):
                out.append(f"{path}: install gdb for a backtrace")
                continue
            p = subprocess.run(["gdb", "-batch", "-nx", "-ex", "thread apply all bt 25",
                                APACHE2, path], capture_output=True, text=True, timeout=120,
                               stdin=subprocess.DEVNULL)
            bt = [l for l in p.stdout.splitlines() if l.startswith(("#", "Thread"))]
            out.append(f"--- {path}:\n" + "\n".join(bt))
        return out

    def bad_log_lines(self, allowed=()):
        """Error-log lines at warn level or worse (or with a crash) not matching `allowed`."""
        bad = []
        for line in self.log_lines():
            if not (BAD_LEVEL_RE.search(line) or "exit signal" in line):
                continue
            if "exit signal" not in line and any(a in line or re.search(a, line)
                                                 for a in allowed):
                continue
            bad.append(line)
        return bad

    # --- requests
    def tls_context(self):
        """An ssl context that trusts this server's throwaway CA (None without TLS)."""
        if not self.tls:
            return None
        if getattr(self, "_tls_context", None) is None:
            self._tls_context = ssl.create_default_context(cafile=self.certs["ca"])
        return self._tls_context

    def request(self, method, path, body=None, headers=None, timeout=30):
        return client.request(self.port, method, path, body=body, headers=headers,
                              timeout=timeout, tls=self.tls_context())

    def raw_request(self, raw, timeout=10):
        """Send raw bytes, return (status or None, whole answer bytes)."""
        return client.raw_request(self.port, raw, timeout)

    def browser(self, host="a.test"):
        return client.Browser(self, host)
