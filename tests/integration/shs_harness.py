"""Helpers for the mod_sharedsession integration tests.

Everything here talks to 127.0.0.1 only.  Processes started here are remembered by pid and
stopped by pid, every wait loop has a time bound.
"""

import base64
import hashlib
import http.client
import os
import pwd
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
APP_DIR = os.path.join(HERE, "app")
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

APACHE2 = os.environ.get("SHS_APACHE2", "/usr/sbin/apache2")
APACHE_MODULES = os.environ.get("SHS_APACHE_MODULES", "/usr/lib/apache2/modules")
MEMCACHED = os.environ.get("SHS_MEMCACHED", "/usr/bin/memcached")
PHP_CGI = "/usr/lib/cgi-bin/php"
HTPASSWD = "/usr/bin/htpasswd"
DEFAULT_MODULE = os.path.join(REPO, ".libs", "mod_sharedsession.so")

# LoadModule order matters: mod_session before mod_sharedsession (added last).
MODULES = [
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("authn_core_module", "mod_authn_core.so"),
    ("authn_file_module", "mod_authn_file.so"),
    ("authz_user_module", "mod_authz_user.so"),
    ("auth_form_module", "mod_auth_form.so"),
    ("request_module", "mod_request.so"),
    ("session_module", "mod_session.so"),
    ("mime_module", "mod_mime.so"),
    ("dir_module", "mod_dir.so"),
    ("alias_module", "mod_alias.so"),
    ("cgid_module", "mod_cgid.so"),
    ("actions_module", "mod_actions.so"),
    ("env_module", "mod_env.so"),
    ("headers_module", "mod_headers.so"),
    ("log_config_module", "mod_log_config.so"),
    ("setenvif_module", "mod_setenvif.so"),
    ("unixd_module", "mod_unixd.so"),
]

VHOSTS = ("a.test", "b.test", "c.test", "x.test")
COOKIE = "shs_session"
STORE = os.environ.get("SHS_STORE", "memcache")  # the store the default servers use
ID_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
AUTH_USER, AUTH_PW = "alice", "s3cret-pw"

# error-log levels the guard refuses unless declared
BAD_LEVEL_RE = re.compile(r"\[(?:[\w.-]+:)?(error|warn|crit|alert|emerg)\]")
SHS_TAG_RE = re.compile(r"SHS\d{5}")


# ------------------------------------------------------------------ small utilities

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


def wait_until(pred, timeout, interval=0.05):
    """Poll pred() until it returns a true value or timeout seconds pass; returns the value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


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


def new_id():
    """An id shaped like the module's: 43 chars of base64url (32 random bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def store_key(sid, prefix="shs:"):
    """memcached key = prefix + base64url-without-padding(SHA-256(id as ASCII))."""
    digest = hashlib.sha256(sid.encode("ascii")).digest()
    return prefix + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def decode_session(encoded):
    """mod_session's encoding 'k=v&k2=v2' -> dict (urldecoded)."""
    if encoded is None:
        return None
    out = {}
    for pair in encoded.split("&"):
        if not pair:
            continue
        k, _, v = pair.partition("=")
        out[urllib.parse.unquote_plus(k)] = urllib.parse.unquote_plus(v)
    return out


def chmod_tree(path, dirmode=0o755, filemode=0o644):
    """Make a tree readable by www-data (httpd's User when the tests run as root)."""
    for root, dirs, files in os.walk(path):
        os.chmod(root, dirmode)
        for f in files:
            p = os.path.join(root, f)
            if os.path.islink(p):
                continue
            os.chmod(p, 0o755 if os.access(p, os.X_OK) or f.endswith(".cgi") else filemode)


# ------------------------------------------------------------------ memcached

# a value sealed by shs_value.c in MAC mode: header, base64url HMAC, ':' (then the value)
SEALED_MAC_RE = re.compile(r"^shs1:m:\d{3}:[A-Za-z0-9_-]{43}:")


class McClient:
    """A tiny memcached text-protocol client (one connection per command)."""

    def __init__(self, port, timeout=2.0):
        self.port = port
        self.timeout = timeout

    def _cmd(self, data, terminators):
        with socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout) as s:
            s.sendall(data)
            buf = b""
            deadline = time.monotonic() + self.timeout
            while not any(buf.endswith(t) for t in terminators):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"memcached: no complete answer to {data[:40]!r}: {buf!r}")
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            return buf

    def get(self, key):
        """The value as str, or None when memcached has no such key.  A session value the
        module sealed in MAC mode (a key file is configured) is given without its seal: the
        session as mod_session encoded it.  get_raw() gives what memcached holds."""
        raw = self.get_raw(key)
        m = SEALED_MAC_RE.match(raw) if raw is not None else None
        return raw[m.end():] if m else raw

    def get_raw(self, key):
        """The value as str, exactly as memcached holds it, or None."""
        buf = self._cmd(f"get {key}\r\n".encode(), [b"END\r\n"])
        if buf == b"END\r\n":
            return None
        m = re.match(rb"VALUE \S+ \d+ (\d+)\r\n", buf)
        assert m, f"unexpected memcached answer {buf!r}"
        n = int(m.group(1))
        start = m.end()
        return buf[start:start + n].decode("utf-8", "replace")

    def set(self, key, value, ttl=300):
        data = value.encode()
        buf = self._cmd(f"set {key} 0 {ttl} {len(data)}\r\n".encode() + data + b"\r\n",
                        [b"STORED\r\n", b"ERROR\r\n"])
        assert buf == b"STORED\r\n", buf

    def delete(self, key):
        self._cmd(f"delete {key}\r\n".encode(), [b"DELETED\r\n", b"NOT_FOUND\r\n"])

    def ttl(self, key):
        """Remaining TTL in seconds by meta get ('mg KEY t', memcached >= 1.6); None on a miss,
        -1 for an item that never expires."""
        buf = self._cmd(f"mg {key} t\r\n".encode(), [b"\r\n"])
        if buf.startswith(b"EN"):
            return None
        m = re.match(rb"HD t(-?\d+)", buf)
        assert m, f"unexpected meta-get answer {buf!r}"
        return int(m.group(1))

    def stats(self):
        buf = self._cmd(b"stats\r\n", [b"END\r\n"])
        out = {}
        for line in buf.decode().splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[0] == "STAT":
                out[parts[1]] = parts[2]
        return out

    def stat(self, name):
        return int(self.stats()[name])

    def flush_all(self):
        self._cmd(b"flush_all\r\n", [b"OK\r\n"])


class Memcached:
    """One memcached on 127.0.0.1:port, started and stopped by pid."""

    def __init__(self, workdir, port=None, args=()):
        self.workdir = workdir
        self.port = port or free_port()
        self.args = list(args)            # more memcached options (e.g. -I, the item size)
        self.proc = None
        self.pidfile = os.path.join(workdir, "memcached.pid")
        self.client = McClient(self.port)
        self.stopped = False

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        argv = [MEMCACHED, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-m", "64"]
        argv += self.args
        if os.geteuid() == 0:
            argv += ["-u", "root"]
        self.log = open(os.path.join(self.workdir, "memcached.log"), "ab")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        with open(self.pidfile, "w") as f:
            f.write(f"{self.proc.pid}\n")
        self.stopped = False
        if not wait_until(lambda: port_open(self.port) or self.proc.poll() is not None, 10):
            self.kill()
            raise RuntimeError(f"memcached did not listen on {self.addr} within 10 s")
        if self.proc.poll() is not None:
            raise RuntimeError(f"memcached exited at start (status {self.proc.returncode}); "
                               f"see {self.workdir}/memcached.log")
        return self

    def stop(self):
        """SIGSTOP: the process keeps its socket, connections hang."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.stopped = True

    def cont(self):
        os.kill(self.proc.pid, signal.SIGCONT)
        self.stopped = False

    def kill(self):
        """SIGKILL and reap (bounded)."""
        if self.proc and self.proc.poll() is None:
            if self.stopped:
                try:
                    os.kill(self.proc.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.stopped = False
        if getattr(self, "log", None):
            self.log.close()
            self.log = None
        # the port must be free again before a restart
        wait_until(lambda: not port_open(self.port), 5)

    def restart(self):
        self.kill()
        deadline = time.monotonic() + 10
        while True:
            try:
                return self.start()
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


# ------------------------------------------------------------------ httpd

class Response:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers          # list of (name, value)
        self.body = body
        self.elapsed = elapsed

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def set_cookies(self, name=None):
        """Set-Cookie headers (raw strings), optionally only those for cookie `name`."""
        out = [v for k, v in self.headers if k.lower() == "set-cookie"]
        if name is not None:
            out = [v for v in out if v.split("=", 1)[0].strip() == name]
        return out

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        import json
        try:
            return json.loads(self.text)
        except ValueError as e:
            raise AssertionError(f"not JSON (status {self.status}): {self.text[:2000]!r}") from e

    def __repr__(self):
        hdrs = "".join(f"\n  {k}: {v}" for k, v in self.headers)
        return f"<Response {self.status} in {self.elapsed:.3f}s{hdrs}\n  body={self.text[:600]!r}>"


def parse_set_cookie(value):
    """'n=v;A=b; C' -> (name, value, {attr_lower: (attr, val)})"""
    parts = value.split(";")
    name, _, val = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        p = p.strip()
        if not p:
            continue
        k, _, v = p.partition("=")
        attrs[k.strip().lower()] = (k.strip(), v.strip())
    return name.strip(), val.strip(), attrs


def cookie_expires_now(value):
    _, _, attrs = parse_set_cookie(value)
    if "max-age" in attrs:
        try:
            return int(attrs["max-age"][1]) <= 0
        except ValueError:
            return False
    if "expires" in attrs:
        from email.utils import parsedate_to_datetime
        try:
            return parsedate_to_datetime(attrs["expires"][1]).timestamp() <= time.time()
        except (TypeError, ValueError):
            return False
    return False


class Browser:
    """A simulated browser for one host: a cookie jar fed by Set-Cookie."""

    def __init__(self, httpd, host="a.test", visitor=None):
        self.httpd = httpd
        self.host = host
        self.cookies = {}
        self.visitor = visitor

    def request(self, method, path, body=None, headers=None, cookies=True, timeout=30):
        hdrs = {"Host": self.host}
        if cookies and self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None and isinstance(body, dict):
            body = urllib.parse.urlencode(body)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        if self.visitor is not None and path.startswith("/_shs/cb?") and "r=" not in path:
            hdrs.update(self.visitor.push_headers(path))
        if self.visitor is not None and path.startswith("/_shs/go?"):
            hdrs.update(self.visitor.go_headers(path))
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v is not None}  # None: leave that header out
        r = self.httpd.request(method, path, body=body, headers=hdrs, timeout=timeout)
        if self.visitor is not None and b"/_shs/go?" in (r.body or b""):
            # the page whose loader tags this visitor loads next (their Origin and Referer)
            self.visitor.page_host = hdrs["Host"].split(":")[0]
            self.visitor.page_origin = f"http://{self.visitor.page_host}:{self.httpd.port}"
        for sc in r.set_cookies():
            name, val, _ = parse_set_cookie(sc)
            if cookie_expires_now(sc):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = val
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body=body, **kw)

    # the test app
    def whoami(self, **kw):
        r = self.get("/whoami.php", **kw)
        assert r.status == 200, r
        return r, r.json()

    def set(self, k, v, **kw):
        q = urllib.parse.urlencode({"k": k, "v": v})
        r = self.get(f"/set.php?{q}", **kw)
        assert r.status == 200, r
        return r


def _allow_cores():
    """preexec_fn of apache2: no limit on core size, so that CoreDumpDirectory gets one."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass


class Httpd:
    """One httpd with its own ServerRoot in a tmp dir, started and stopped by pid."""

    def __init__(self, workdir, module, memcached=None, memcache_servers="default",
                 global_conf="", vhost_conf="", server_conf=None, files=None,
                 timeout="2s", retry="1s", processes=2, threads=10, session_on=True):
        # 2 s: tests that are not about timeouts must not trip over a loaded machine; the
        # fault tests give their own (short) timeout
        self.dir = workdir
        self.module = module
        self.memcached = memcached
        if memcache_servers == "default":
            memcache_servers = [memcached.addr] if memcached else None
        self.memcache_servers = memcache_servers
        self.global_conf = global_conf        # "{port}" is replaced by this httpd's port
        self.vhost_conf = vhost_conf          # str for all vhosts, or {host: str}; "{docroot}"
                                              # and "{port}" are replaced
        self.server_conf = server_conf        # None: the default shared-session server config
        self.files = files or {}
        self.timeout = timeout
        self.retry = retry
        self.processes = processes
        self.threads = threads
        self.session_on = session_on          # False: no 'Session On' in the vhosts
        self.port = free_port()
        self.conf = os.path.join(workdir, "httpd.conf")
        self.pidfile = os.path.join(workdir, "httpd.pid")
        self.error_log = os.path.join(workdir, "logs", "error.log")
        self.access_log = os.path.join(workdir, "logs", "access.log")
        self.core_dir = os.path.join(workdir, "cores")   # a crashed child leaves its core here
        self.parent_pid = None
        self.running = False
        self._setup_dirs()

    # --- files
    def docroot(self, host):
        return os.path.join(self.dir, "sites", host)

    def _setup_dirs(self):
        for d in ("logs", "run", "sites", "cores"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        for h in VHOSTS:
            dst = self.docroot(h)
            if not os.path.exists(dst):
                shutil.copytree(APP_DIR, dst, symlinks=False)
        self.htpasswd = os.path.join(self.dir, "htpasswd")
        if not os.path.exists(self.htpasswd) and os.path.exists(HTPASSWD):
            subprocess.run([HTPASSWD, "-b", "-c", "-B", "-C", "4", self.htpasswd, AUTH_USER,
                            AUTH_PW], check=True, capture_output=True, timeout=30)
        for rel, content in self.files.items():
            self.write_file(rel, content)

    def write_file(self, rel, content, hosts=VHOSTS):
        """Write a file into the docroot of each vhost (rel is relative to the docroot)."""
        for h in hosts:
            p = os.path.join(self.docroot(h), rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(content)
        self.fix_perms()

    def fix_perms(self):
        chmod_tree(self.dir)
        os.chmod(self.core_dir, 0o1777)    # the children write cores as www-data
        d = self.dir
        while d not in ("/", ""):           # parents must be traversable by www-data
            try:
                st = os.stat(d)
                if not st.st_mode & 0o001:
                    os.chmod(d, st.st_mode | 0o011)
            except OSError:
                pass
            d = os.path.dirname(d)

    def _vhost_extra(self, host):
        if isinstance(self.vhost_conf, dict):
            snippet = self.vhost_conf.get(host, "")
        else:
            snippet = self.vhost_conf
        return snippet.replace("{docroot}", self.docroot(host)).replace("{port}", str(self.port))

    def default_server_conf(self):
        lines = []
        if STORE == "shm":
            # the embedded store instead of memcached (SHS_STORE=shm runs the suite on it)
            lines.append(f'SharedSessionStore "shm:{self.dir}/run/store.shm(8M)"')
        elif self.memcache_servers:
            lines.append("SharedSessionMemcache " + " ".join(self.memcache_servers))
        if self.timeout:
            lines.append(f"SharedSessionMemcacheTimeout {self.timeout}")
        if self.retry:
            lines.append(f"SharedSessionMemcacheRetry {self.retry}")
        return "\n".join(lines)

    def config_text(self):
        builtin = builtin_modules()
        mods = "\n".join(f"LoadModule {n} {APACHE_MODULES}/{f}" for n, f in MODULES
                         if n[:-len("_module")] not in builtin)
        root = os.geteuid() == 0
        user = "User www-data\nGroup www-data" if root else ""
        server_conf = self.default_server_conf() if self.server_conf is None else self.server_conf
        vhosts = []
        for h in VHOSTS:
            doc = self.docroot(h)
            vhosts.append(f"""
<VirtualHost 127.0.0.1:{self.port}>
    ServerName {h}
    DocumentRoot "{doc}"
{"    Session On" if self.session_on else "    # no Session On"}
    SessionEnv On
    SessionHeader X-Replace-Session
    SharedSession On
    <Directory "{doc}">
        Options +ExecCGI
        AllowOverride AuthConfig
        Require all granted
        DirectoryIndex index.html
    </Directory>
    <Directory "{doc}/protected">
        AuthType form
        AuthName shared
        AuthFormProvider file
        AuthUserFile "{self.htpasswd}"
        Require valid-user
        ErrorDocument 401 /login.html
    </Directory>
    <Location /dologin.html>
        SetHandler form-login-handler
        AuthType form
        AuthName shared
        AuthFormProvider file
        AuthUserFile "{self.htpasswd}"
        AuthFormLoginSuccessLocation /protected/index.html
        Require all granted
    </Location>
{self._vhost_extra(h)}
</VirtualHost>""")
        return f"""# generated by tests/integration/shs_harness.py
ServerRoot "{self.dir}"
DefaultRuntimeDir "{self.dir}/run"
PidFile "{self.pidfile}"
Mutex file:{self.dir}/run default
ServerName localhost
Listen 127.0.0.1:{self.port}
{mods}
LoadModule sharedsession_module {self.module}
{user}
ErrorLog "{self.error_log}"
LogLevel warn sharedsession:debug
LogFormat "%h %l %u %t \\"%r\\" %>s %b %D \\"%{{Host}}i\\"" shs
CustomLog "{self.access_log}" shs
ScriptSock "{self.dir}/run/cgid.sock"
TypesConfig /dev/null
AddType text/html .html
AddType application/json .json
AddHandler cgi-script .cgi
ScriptAlias /cgi-bin/ /usr/lib/cgi-bin/
Action application/x-httpd-php /cgi-bin/php
AddType application/x-httpd-php .php
<Directory /usr/lib/cgi-bin>
    Options +ExecCGI
    Require all granted
</Directory>
<Directory />
    AllowOverride None
    Require all denied
</Directory>
StartServers {self.processes}
ServerLimit {self.processes}
ThreadsPerChild {self.threads}
ThreadLimit {self.threads}
MaxRequestWorkers {self.processes * self.threads}
MinSpareThreads 1
MaxSpareThreads {self.processes * self.threads}
MaxConnectionsPerChild 0
KeepAlive Off
Timeout 30
GracefulShutdownTimeout 5
CoreDumpDirectory "{self.core_dir}"
{server_conf}
{self.global_conf.replace("{port}", str(self.port))}
{"".join(vhosts)}
"""

    def write_config(self):
        with open(self.conf, "w") as f:
            f.write(self.config_text())
        self.fix_perms()
        return self.conf

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

    def configtest(self):
        """`apache2 -t -f CONF` -> (exit status, stdout + stderr)."""
        self.write_config()
        p = subprocess.run([APACHE2, "-t", "-f", self.conf], capture_output=True, text=True,
                           timeout=60, env=self.env(), stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout + p.stderr

    def start(self, timeout=15):
        self.write_config()
        p = subprocess.run([APACHE2, "-f", self.conf, "-k", "start"], capture_output=True,
                           text=True, timeout=60, env=self.env(), stdin=subprocess.DEVNULL,
                           preexec_fn=_allow_cores)
        if p.returncode != 0:
            raise RuntimeError(f"apache2 -k start failed ({p.returncode}):\n{p.stdout}{p.stderr}"
                               f"\n--- error log ---\n{self.log_text()}")

        def up():
            pid = self.read_pid()
            return pid and pid_alive(pid) and port_open(self.port)
        if not wait_until(up, timeout):
            raise RuntimeError(f"httpd did not come up on port {self.port} within {timeout}s\n"
                               f"{p.stdout}{p.stderr}\n--- error log ---\n{self.log_text()}")
        self.parent_pid = self.read_pid()
        self.running = True
        # both children ready (their child_init done): a few requests answered
        wait_until(lambda: len(self.child_pids()) >= 1, 5)
        # mod_cgid's daemon binds its socket as root and only then hands it to User: a CGI
        # request in between fails with EACCES (AH01257 "unable to connect to cgi daemon",
        # a 503), seen once in a full run.  Wait for the hand-over.
        wait_until(self.cgid_ready, 5)
        return self

    def cgid_ready(self):
        """mod_cgid's socket (ScriptSock + "." + the parent's pid) belongs to User."""
        if os.geteuid() != 0:
            return True
        sock = os.path.join(self.dir, "run", f"cgid.sock.{self.parent_pid}")
        try:
            return os.stat(sock).st_uid == pwd.getpwnam("www-data").pw_uid
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
        """Stop (SIGTERM, then SIGKILL) once httpd holds no client connection.

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
        wait_until(lambda: not self.held_connections(), 5, 0.01)
        time.sleep(0.02)      # the worker's last steps after closing the socket
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not wait_until(lambda: not pid_alive(pid), timeout, 0.1):
            try:
                os.kill(pid, signal.SIGKILL)   # ours, by pid
            except ProcessLookupError:
                pass
            wait_until(lambda: not pid_alive(pid), 5, 0.1)
        self.running = False

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
        return wait_until(lambda: len(self.log_lines(pattern)) >= count, timeout)

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
    def request(self, method, path, body=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        t0 = time.monotonic()
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            hdrs = dict(headers or {})
            if body is not None:
                body = body.encode() if isinstance(body, str) else body
                hdrs.setdefault("Content-Length", str(len(body)))
            for k, v in hdrs.items():
                conn.putheader(k, v)
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            return Response(resp.status, resp.getheaders(), data, time.monotonic() - t0)
        finally:
            conn.close()

    def raw_request(self, raw, timeout=10):
        """Send raw bytes, return (status or None, whole answer bytes)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(raw)
            buf = b""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                buf += chunk
        m = re.match(rb"HTTP/1\.[01] (\d{3})", buf)
        return (int(m.group(1)) if m else None), buf

    def browser(self, host="a.test"):
        return Browser(self, host)


# ------------------------------------------------------------------ cross-domain push

SYNC_COOKIE = COOKIE + "_sync"
GROUP_HOSTS = ("a.test", "b.test", "c.test")


def write_keyfile(path, keys=None, mode=0o600):
    """A SharedSessionKeyFile: keys is a list of (id, secret bytes), the first one signs.
    Default: one random 32-byte key with id 1.  Returns {id: secret}."""
    keys = keys or [(1, secrets.token_bytes(32))]
    with open(path, "w") as f:
        f.write("# generated by tests/integration/shs_harness.py\n")
        for kid, secret in keys:
            f.write(f"{kid} {base64.b64encode(secret).decode()}\n")
    os.chmod(path, mode)
    try:
        TokenCodec(dict(keys))  # so that Visitor.push_headers can read the tokens' source
    except ImportError:
        pass
    return dict(keys)


def group_conf(keyfile, name="shop", hosts=GROUP_HOSTS, port="{port}", extra=""):
    """Global config of a push group: the key file and `SharedSessionGroup NAME
    http://HOST:PORT ...` ("{port}" is this httpd's port, filled in by Httpd)."""
    sites = " ".join(f"http://{h}:{port}" for h in hosts)
    return f"SharedSessionKeyFile {keyfile}\nSharedSessionGroup {name} {sites}\n{extra}"


def site_name(host, port):
    """A site as it is named in tokens and confirmation keys: host:port."""
    return f"{host}:{port}"


def fingerprint(s):
    """The module's fingerprint of an id or a site name: 8 hex chars of SHA-256."""
    return hashlib.sha256(s.encode()).hexdigest()[:8]


def confirm_key(sid, site, prefix="shs:"):
    """memcached key recording that `site` (host:port) accepted session `sid`."""
    return store_key(sid, prefix) + ".c." + fingerprint(site)


_TAG_RE = re.compile(
    r'<img src="(?P<img>[^"]*)" alt="" width="1" height="1" style="display:none" '
    r'crossorigin="use-credentials" referrerpolicy="origin">'
    r'|<script async src="(?P<js>[^"]*)" crossorigin="use-credentials" '
    r'referrerpolicy="origin"></script>')
_ANY_CB_RE = re.compile(r"<(?:img|script)\b[^>]*/_shs/[^>]*>")


class Tag:
    """One loader tag found in a page.  Its src is the page's own go endpoint
    (/_shs/go?to=SITE[&k=js]), which answers a redirect to SITE's callback with a fresh token:
    Visitor.resolve() follows that step, after which url/host/target/token are the callback's.
    Until then host/port/netloc name the destination site, and token is None."""

    def __init__(self, m):
        import html as _html
        self.raw = m.group(0)
        self.kind = "img" if m.group("img") is not None else "script"
        self.src_attr = m.group("img") if self.kind == "img" else m.group("js")
        self.go = _html.unescape(self.src_attr)
        u = urllib.parse.urlsplit(self.go)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        self.to = q.get("to", [None])[0]
        self.k = q.get("k", [None])[0]
        self.url = None
        self.scheme = None
        self.netloc = self.to
        d = urllib.parse.urlsplit("//" + (self.to or ""))
        self.host, self.port = d.hostname, d.port
        self.path, self.target, self.token = None, None, None
        self.start, self.end = m.start(), m.end()

    def set_callback(self, url):
        """The callback URL the go step redirected to."""
        self.url = url
        u = urllib.parse.urlsplit(url)
        self.scheme, self.netloc, self.host = u.scheme, u.netloc, u.hostname
        self.port = u.port
        self.path = u.path
        self.target = u.path + ("?" + u.query if u.query else "")
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        self.token = q.get("t", [None])[0]
        self.k = q.get("k", [None])[0]

    def __repr__(self):
        return f"<Tag {self.kind} {self.go} -> {(self.url or '?')[:90]}>"


def find_tags(html_text):
    """The loader tags of a page, in order (exact markup of the module)."""
    return [Tag(m) for m in _TAG_RE.finditer(html_text)]


def loose_tags(html_text):
    """Anything that looks like a tag pointing at /_shs/, whatever its exact markup."""
    return _ANY_CB_RE.findall(html_text)


class Visitor:
    """One person's browser across hosts: one cookie jar per host (host-only cookies).

    The jars keep every cookie whatever its attributes.  In particular the id cookie the
    callback sets is `Secure; SameSite=None` and this suite runs over plain http: a real
    browser would not send it back over http, the simulated one does (as it would over
    https), so that the push can be followed end to end on 127.0.0.1."""

    def __init__(self, httpd):
        self.httpd = httpd
        self.jars = {}
        self.page_origin = None  # the site of the last page with loader tags
        self.page_host = None  # ... its host name

    def at(self, host):
        if host not in self.jars:
            self.jars[host] = Browser(self.httpd, host, visitor=self)
        return self.jars[host]

    def sid(self, host):
        return self.at(host).cookies.get(COOKIE)

    def push_headers(self, path):
        """The headers a browser sends with a loader tag's request once go redirected it to
        the callback (path: /_shs/cb?t=...): a credentialed CORS image (or script) request of
        the page that had the tag: Origin and Referer (referrerpolicy="origin") are that page's
        origin (the token's source site where a codec of this test can read it, else the last
        page with tags), Sec-Fetch-* those of a cross-site CORS image or script."""
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        src = TokenCodec.source_of(q.get("t", [""])[0])
        origin = f"http://{src}" if src else self.page_origin
        return {"Origin": origin, "Referer": origin + "/" if origin else None,
                "Sec-Fetch-Dest": "script" if q.get("k") == ["js"] else "image",
                "Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "cross-site"}

    def go_headers(self, path):
        """The headers of a loader tag's first request, to the page's own go endpoint: a
        same-origin CORS GET (a browser sends no Origin with a same-origin GET)."""
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        return {"Referer": self.page_origin + "/" if self.page_origin else None,
                "Sec-Fetch-Dest": "script" if q.get("k") == ["js"] else "image",
                "Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin"}

    def resolve(self, tag, headers=None):
        """The browser's first step of a loader tag of the last page with tags: GET its go URL
        on that page's host; the 302's Location (the peer's callback, with a token) becomes the
        tag's url/target/token.  Returns the go response (None when already resolved)."""
        if tag.token is not None:
            return None
        assert self.page_host, "resolve(): no page with loader tags fetched yet"
        r = self.at(self.page_host).get(tag.go, headers=headers)
        if r.status == 302 and r.header("Location"):
            tag.set_callback(r.header("Location"))
        return r

    def load_tag(self, tag, referer=None, headers=None, **kw):
        """What the browser does with a loader tag of the last page it fetched: the go step on
        the page's host, then GET the callback on its host, with that host's cookies (Host
        header with the port, as a browser sends it); Browser.request adds the Origin, Referer
        and Sec-Fetch-* headers of a CORS image or script load."""
        if tag.token is None:
            r = self.resolve(tag)
            assert tag.token, f"go step gave no callback: {r}"
        hdrs = {"Host": tag.netloc}
        if referer is not None:
            hdrs["Referer"] = referer or None
        hdrs.update(headers or {})
        return self.at(tag.host).get(tag.target, headers=hdrs, **kw)


class TokenCodec:
    """Python twin of shs_token.c (version 1), for reading the tokens of a page and forging
    ones the module never makes.  keys: {id: secret bytes}; the first one seals."""

    VERSION = 1
    _known = {}  # key ring -> codec: push_headers() reads a token's source site with them

    @classmethod
    def source_of(cls, token):
        """The source site (host:port) of a token any codec made so far can open, or None."""
        for c in cls._known.values():
            try:
                return c.open(token)["src"]
            except Exception:
                continue
        return None

    def __init__(self, keys):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF
        self.keys = {}
        self.first = None
        for kid, secret in keys.items():
            k = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"mod_sharedsession",
                     info=b"token-aead-v1").derive(secret)
            self.keys[kid] = k
            if self.first is None:
                self.first = kid
        TokenCodec._known.setdefault(tuple(sorted(keys.items())), self)

    @staticmethod
    def _b64d(s):
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

    @staticmethod
    def _b64e(b):
        return base64.urlsafe_b64encode(b).decode().rstrip("=")

    def _body(self, token):
        """The decrypted body of a token (issued, lifetime, token id, sid, names)."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        raw = self._b64d(token)
        return AESGCM(self.keys[raw[1]]).decrypt(raw[2:14], raw[14:], raw[:2])

    def open(self, token):
        """-> dict(version, key_id, issued, lifetime, sid, src, dst, nonce); raises on error."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        raw = self._b64d(token)
        ver, kid, iv, ct = raw[0], raw[1], raw[2:14], raw[14:]
        body = AESGCM(self.keys[kid]).decrypt(iv, ct, raw[:2])
        issued = int.from_bytes(body[0:8], "big")
        lifetime = int.from_bytes(body[8:10], "big")
        sid = self._b64e(body[26:58])
        off = 58
        out = []
        for _ in range(3):
            n = body[off]
            out.append(body[off + 1:off + 1 + n].decode())
            off += 1 + n
        assert off == len(body), "trailing bytes in token body"
        return {"version": ver, "key_id": kid, "issued": issued, "lifetime": lifetime,
                "sid": sid, "src": out[0], "dst": out[1], "nonce": out[2]}

    def seal(self, sid, src, dst, issued=None, lifetime=30, key_id=None, version=None,
             nonce=""):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        kid = self.first if key_id is None else key_id
        issued = int(time.time()) if issued is None else issued
        body = (issued.to_bytes(8, "big") + lifetime.to_bytes(2, "big") + secrets.token_bytes(16)
                + self._b64d(sid))
        for s in (src, dst, nonce):
            body += bytes([len(s)]) + s.encode()
        hdr = bytes([self.VERSION if version is None else version, kid])
        iv = secrets.token_bytes(12)
        return self._b64e(hdr + iv + AESGCM(self.keys[kid]).encrypt(iv, body, hdr))


# ------------------------------------------------------------------ cross-domain pull

# What a browser sends for a top-level navigation (typed URL, link): Sec-Fetch-* and an HTML
# Accept.  The redirect pull bounces only such requests.
NAV_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-Site": "none",
    "Sec-Fetch-User": "?1",
    "Upgrade-Insecure-Requests": "1",
}
STATE_COOKIE = COOKIE + "_state"
PULL_COOKIE = COOKIE + "_pull"
REDIRECT_STATUSES = (301, 302, 303, 307, 308)


def _path_matches(req_path, cookie_path):
    """RFC 6265 5.1.4 path-match."""
    if req_path == cookie_path:
        return True
    if req_path.startswith(cookie_path):
        return cookie_path.endswith("/") or req_path[len(cookie_path)] == "/"
    return False


def _default_path(req_path):
    if not req_path.startswith("/") or req_path.count("/") <= 1:
        return "/"
    return req_path[:req_path.rindex("/")]


class Hop:
    """One request of a navigation and its answer."""

    def __init__(self, method, url, sent_cookies, response):
        self.method = method
        self.url = url
        self.sent_cookies = sent_cookies      # the Cookie header sent, or None
        self.response = response
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.path, self.query = u.hostname, u.port, u.path, u.query

    @property
    def status(self):
        return self.response.status

    @property
    def location(self):
        return self.response.header("Location")

    def __repr__(self):
        r = self.response
        hdrs = "".join(f"\n      {k}: {v}" for k, v in r.headers
                       if k.lower() in ("location", "set-cookie", "cache-control", "content-type"))
        return (f"{self.method} {self.url}\n      [Cookie: {self.sent_cookies}]\n"
                f"   -> {r.status}{hdrs}\n      body={r.text[:200]!r}")


def format_hops(hops):
    return "\n".join(f"  #{i} {h!r}" for i, h in enumerate(hops))


class Navigator:
    """A browser across hosts and servers, as the redirect pull needs it: one path-aware,
    host-only cookie jar per host (RFC 6265 Path, Max-Age / Expires; Domain, Secure and
    SameSite are not enforced: every hop of a pull is a top-level navigation), URLs
    `http://HOST:PORT/path` sent to 127.0.0.1:PORT with `Host: HOST:PORT` (as a browser sends
    it), and redirects followed by hand, hop by hop.

    servers: the Httpd instances by port (one httpd: {httpd.port: httpd}).
    keep_cookies=False: a client with no cookie jar (curl, a bot): nothing is ever sent."""

    def __init__(self, httpd, servers=None, keep_cookies=True, nav_headers=None):
        self.httpd = httpd
        self.servers = dict(servers or {httpd.port: httpd})
        self.keep_cookies = keep_cookies
        self.nav_headers = dict(NAV_HEADERS if nav_headers is None else nav_headers)
        self.jars = {}                        # host -> {(name, path): value}

    # --- URLs and cookies
    def url(self, host, path="/", httpd=None):
        return f"http://{host}:{(httpd or self.httpd).port}{path}"

    def jar(self, host):
        return self.jars.setdefault(host.lower(), {})

    def cookie(self, host, name, path=None):
        """The value of cookie `name` on `host` (any path unless given), or None."""
        for (n, p), v in self.jar(host).items():
            if n == name and (path is None or p == path):
                return v
        return None

    def set_cookie(self, host, name, value, path="/"):
        self.jar(host)[(name, path)] = value

    def drop_cookie(self, host, name):
        for key in [k for k in self.jar(host) if k[0] == name]:
            del self.jar(host)[key]

    def sid(self, host):
        return self.cookie(host, COOKIE)

    def cookie_header(self, host, path):
        if not self.keep_cookies:
            return None
        found = [(len(p), n, v) for (n, p), v in self.jar(host).items() if _path_matches(path, p)]
        found.sort(key=lambda t: -t[0])
        return "; ".join(f"{n}={v}" for _, n, v in found) or None

    def _store(self, host, req_path, response):
        if not self.keep_cookies:
            return
        for sc in response.set_cookies():
            name, val, attrs = parse_set_cookie(sc)
            path = attrs.get("path", (None, ""))[1]
            if not path.startswith("/"):
                path = _default_path(req_path)
            if cookie_expires_now(sc):
                self.jar(host).pop((name, path), None)
            else:
                self.jar(host)[(name, path)] = val

    # --- requests
    def server_for(self, url):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "http" or u.hostname not in VHOSTS:
            return None
        return self.servers.get(u.port)

    def request(self, method, url, headers=None, body=None, nav=False, timeout=30):
        """One request, no redirect followed -> Hop.  nav=True adds the navigation headers."""
        httpd = self.server_for(url)
        assert httpd is not None, f"not one of the test servers: {url}"
        u = urllib.parse.urlsplit(url)
        target = (u.path or "/") + ("?" + u.query if u.query else "")
        hdrs = {"Host": u.netloc}
        cookie = self.cookie_header(u.hostname, u.path or "/")
        if cookie:
            hdrs["Cookie"] = cookie
        if nav:
            hdrs.update(self.nav_headers)
        if isinstance(body, dict):
            body = urllib.parse.urlencode(body)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v is not None}   # None: header left out
        r = httpd.request(method, target, body=body, headers=hdrs, timeout=timeout)
        self._store(u.hostname, u.path or "/", r)
        return Hop(method, url, hdrs.get("Cookie"), r)

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def navigate(self, url, method="GET", body=None, headers=None, max_redirects=10):
        """A top-level navigation: the request and every redirect, followed by hand while the
        Location points at one of the test servers (a foreign Location ends the walk: the
        last hop is then that redirect).  More than max_redirects redirects fail (a loop).
        Returns the list of hops."""
        hops = []
        while True:
            hop = self.request(method, url, headers=headers, body=body, nav=True)
            hops.append(hop)
            if hop.status not in REDIRECT_STATUSES or not hop.location:
                return hops
            nxt = urllib.parse.urljoin(url, hop.location)
            if self.server_for(nxt) is None:
                return hops
            if len(hops) > max_redirects:
                raise AssertionError(f"more than {max_redirects} redirects (a loop?):\n"
                                     + format_hops(hops))
            if hop.status in (301, 302, 303) and method != "GET":
                method, body = "GET", None
            url = nxt

    def fetch_json(self, url, **kw):
        """A script's fetch() of a JSON URL (never a navigation) -> (Hop, parsed JSON)."""
        hop = self.request("GET", url, headers={"Accept": "application/json",
                                                "Sec-Fetch-Mode": "cors",
                                                "Sec-Fetch-Dest": "empty"}, **kw)
        assert hop.status == 200, hop
        return hop, hop.response.json()

    def session(self, host):
        """The session as the application on `host` sees it (whoami.php, fetched)."""
        return self.fetch_json(self.url(host, "/whoami.php"))[1]["session"]
