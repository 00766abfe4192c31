"""SharedSessionAppCookie: an unmodified application's own session cookie shared across the
sites of a group through a server-side cookie jar.

    SharedSessionAppCookie NAME [NAME ...]      (directory, location, .htaccess: AuthConfig;
                                                 a trailing * matches a name prefix)

What the module promises (these tests are written against exactly this):
- capture: a Set-Cookie of one of those names in the application's answer (php-cgi through
  Action, a CGI, a backend behind mod_proxy; several per answer; any status, 302 included) is
  stored in the shared session and never reaches the browser; a deletion (Max-Age<=0, Expires
  in the past) removes it; a future Max-Age/Expires is honoured;
- replay: on every request in that scope the application's Cookie header carries the shared
  values, a cookie of the same name sent by the browser dropped first;
- the values never appear in a URL, a token, a header or cookie the browser sees, or an
  error-log line above trace;
- a new value (the application's own id rotation at login) rotates the module's id, which
  reaches the other sites by push or pull; the application's logout is a logout everywhere;
- memcached down: the Set-Cookie passes through (the site works alone), a warn line (tagged)
  at most once per interval, nothing stored is overwritten;
- a value too large for the store: refused with a tagged log line, the Set-Cookie passes;
- an unchanged application cookie costs 1 memcached get and no set per request.

The applications:
- app/native/ (in every document root): PHP with native sessions only (PHPSESSID), with
  session.save_handler files (a directory in the server root, the same for the three sites)
  or memcached (php-memcached, the test's memcached).  php-cgi reads the test's additions
  from `SetEnv PHP_INI_SCAN_DIR ":<server root>/php.d"` (Debian's php.ini and conf.d stay);
  `SetEnv SHS_APPTEST_IDLOG` makes it write every session id it uses to a file, so that the
  tests know the values to look for;
- appcookie_backend.py: a Python application behind mod_proxy (ProxyPass /app/) with its own
  cookie session (appsid, app_*), started and stopped by pid;
- MediaWiki, Debian's package, unmodified, on SQLite (scripts/setup-offtheshelf.sh makes a
  ready wiki once per run; each test copies it into its own server root).

Every application is first checked alone, on a server without mod_sharedsession
(test_fixture_*): those tests pass whatever the state of the module.

The log tags of the store-down warning and of the too-large refusal are not known yet: the
patterns STORE_DOWN_WARN and TOO_LARGE_LOG below are placeholders (any SHS00nnn tag at that
level) to be narrowed to the real tags.
"""

import hashlib
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter

import pytest

import pyshs as H
from pyshs import COOKIE, ID_RE, Navigator, Visitor, find_tags, parse_set_cookie
from test_pull import pull_conf

HERE = os.path.dirname(os.path.abspath(__file__))
BACKEND = os.path.join(HERE, "appcookie_backend.py")
SETUP_OFFTHESHELF = os.path.join(H.REPO, "scripts", "setup-offtheshelf.sh")
PYTHON = "/usr/bin/python3"
MEDIAWIKI = "/usr/share/mediawiki"

PHPSESSID = "PHPSESSID"
HOSTS = H.GROUP_HOSTS                   # a.test, b.test, c.test

# Placeholders for the tags the module will use (narrow them to the real tags): the warn
# line of a Set-Cookie passed through because the store is down, and the line of a value
# refused for its size.  SHS00301-303 are the circuit breaker's own lines.
STORE_DOWN_WARN = r"\[sharedsession:warn\](?!.*SHS0030[123]:).*SHS00\d{3}"
TOO_LARGE_LOG = r"\[sharedsession:(?:info|notice|warn|error)\](?!.*SHS0030[123]:).*SHS00\d{3}"


# ------------------------------------------------------------------ components

_PHP_MODULES = None


def need_php_ext(ext, package):
    """A PHP extension php-cgi loads (php-cgi -m)."""
    global _PHP_MODULES
    if _PHP_MODULES is None:
        try:
            out = subprocess.run([H.PHP_CGI, "-m"], capture_output=True,
                                 text=True, timeout=60, stdin=subprocess.DEVNULL).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        _PHP_MODULES = {l.strip().lower() for l in out.splitlines()}
    if ext.lower() not in _PHP_MODULES:
        H.missing(f"PHP extension '{ext}' not loaded by php-cgi: {H.package_hint(package)}")


def proxy_modules():
    """LoadModule lines of mod_proxy and mod_proxy_http (part of Debian's apache2)."""
    lines = []
    for name, f in (("proxy_module", "mod_proxy.so"), ("proxy_http_module", "mod_proxy_http.so")):
        if name[:-len("_module")] in H.builtin_modules():
            continue
        path = H.require(os.path.join(H.APACHE_MODULES, f), "apache2", f"httpd module {f}")
        lines.append(f"LoadModule {name} {path}")
    return "\n".join(lines) + "\n"


def www_data(path):
    """httpd's User (www-data when the tests run as root) must own what the applications
    write: PHP's session files, the id log, MediaWiki's SQLite databases."""
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam("www-data")
    if not os.path.isdir(path):
        os.chown(path, pw.pw_uid, pw.pw_gid)
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for f in files:
            os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)


PHP_PROBLEM = re.compile(r"PHP (?:Warning|Fatal error|Parse error|Notice|Deprecated)")


@pytest.fixture(autouse=True)
def no_php_problems(request):
    """After each test: php-cgi writes its warnings to httpd's error log without a level, so
    the suite's guard does not see them; here they fail the test."""
    yield
    for h in request.node.__dict__.get("_shs_httpds", []):
        bad = [l for l in h.log_lines() if PHP_PROBLEM.search(l)]
        assert not bad, f"PHP problems in {h.error_log}:\n" + "\n".join(bad[:20])


def fingerprint(value):
    """What the applications show of a session id: 16 hex digits of its SHA-256."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def scope(names, where="/"):
    """The directive in a <Location>.  `<Location />` for PHP: php-cgi runs in the internal
    redirect of Action (/cgi-bin/php/...), which a narrower <Location> does not cover."""
    return f"<Location {where}>\n    SharedSessionAppCookie {names}\n</Location>\n"


# ------------------------------------------------------------------ servers

class PlainHttpd(H.Httpd):
    """The same server without mod_sharedsession (no LoadModule, no SharedSession* line) and
    without `Session On`: the applications exactly as they run today, alone."""

    DROP = ("LoadModule sharedsession_module", "SharedSession", "Session On", "SessionEnv",
            "SessionHeader")

    def config_text(self):
        out = []
        for line in super().config_text().splitlines():
            if line.strip().startswith(self.DROP):
                continue
            out.append("LogLevel warn" if line.startswith("LogLevel ") else line)
        return "\n".join(out) + "\n"


@pytest.fixture
def plain_httpd(request, make_httpd, base_dir):
    """plain_httpd(start=True, **opts) -> a PlainHttpd, stopped and log-checked like the
    others (it joins make_httpd's list)."""
    made = request.node.__dict__.setdefault("_shs_httpds", [])

    def make(start=True, **opts):
        d = tempfile.mkdtemp(prefix=f"plain{len(made)}-", dir=base_dir)
        os.chmod(d, 0o755)
        h = PlainHttpd(d, "(no module)", memcached=None, memcache_servers=None, **opts)
        made.append(h)
        if start:
            h.start()
        return h
    return make


@pytest.fixture
def push_group(keyfile):
    """Global config: group `shop` (a, b, c), push only."""
    return H.group_conf(keyfile.path)


@pytest.fixture
def pull_group(keyfile):
    """Global config: group `g` (a, b, c) with a.test as its hub."""
    return pull_conf(keyfile.path)


# ------------------------------------------------------------------ the native PHP app

class NativeApp:
    """app/native/ as one server runs it: php.ini additions, the session directory and the
    id log, all in the server's root."""

    def __init__(self, httpd, handler="files", memcached=None):
        self.httpd = httpd
        self.handler = handler
        root = httpd.dir
        self.ini_dir = os.path.join(root, "php.d")
        self.save_path = os.path.join(root, "php-sessions")
        self.idlog = os.path.join(root, "native-ids.log")
        os.makedirs(self.ini_dir, exist_ok=True)
        os.makedirs(self.save_path, exist_ok=True)
        if handler == "files":
            ini = f'session.save_handler = files\nsession.save_path = "{self.save_path}"\n'
        elif handler == "memcached":
            ini = (f'session.save_handler = memcached\nsession.save_path = "{memcached.addr}"\n'
                   "memcached.sess_prefix = \"phpsess.\"\n")
        else:
            raise ValueError(handler)
        ini += ("session.name = PHPSESSID\nsession.use_cookies = 1\nsession.use_only_cookies = 1\n"
                "session.use_trans_sid = 0\nsession.use_strict_mode = 0\n"
                "session.gc_probability = 0\nsession.cookie_path = /\n")
        with open(os.path.join(self.ini_dir, "zz-shs-native.ini"), "w") as f:
            f.write(ini)
        open(self.idlog, "a").close()
        www_data(self.save_path)
        www_data(self.idlog)

    def vhost_conf(self):
        return (f'SetEnv PHP_INI_SCAN_DIR ":{self.ini_dir}"\n'
                f'SetEnv SHS_APPTEST_IDLOG "{self.idlog}"\n')

    def ids(self):
        """Every PHP session id the application used so far."""
        with open(self.idlog) as f:
            return sorted({l.strip() for l in f if l.strip()})


def start_native(make, handler="files", memcached=None, directive=scope(PHPSESSID),
                 extra_vhost="", start=True, **opts):
    h = make(start=False, **opts)
    app = NativeApp(h, handler, memcached)
    h.vhost_conf = app.vhost_conf() + directive + extra_vhost
    if start:
        h.start()
    return h, app


def who(b, path="/native/whoami.php"):
    """The application's state as it sees it (JSON), through one browser jar."""
    r = b.get(path)
    assert r.status == 200, r
    return r.json()


# ------------------------------------------------------------------ the proxied backend

class Backend:
    """appcookie_backend.py on 127.0.0.1, started and stopped by pid."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.port = H.free_port()
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.workdir, "backend.log"), "ab")
        self.proc = subprocess.Popen([PYTHON, BACKEND, str(self.port)], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if not H.wait_until(lambda: H.port_open(self.port) or self.proc.poll() is not None, 10) \
                or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError(f"the backend did not listen on 127.0.0.1:{self.port}; see "
                               f"{self.workdir}/backend.log")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
            return json.loads(r.read())

    def issued(self):
        """Every cookie value the backend ever issued."""
        return self.get("/_debug/issued")


@pytest.fixture
def backend(workdir):
    b = Backend(workdir).start()
    yield b
    b.stop()


def proxy_vhost(backend, names="appsid app_*"):
    target = f"http://127.0.0.1:{backend.port}/app/"
    return (f"ProxyPass /app/ {target} responsefieldsize=262144\n"
            f"ProxyPassReverse /app/ {target}\n" + scope(names, "/app/"))


def me(b):
    return who(b, "/app/me")


# ------------------------------------------------------------------ MediaWiki

WIKI_USER = "Admin"
WIKI_API_WHOAMI = "/w/api.php?action=query&meta=userinfo&format=json"
WIKI_LOGIN = "/w/index.php?title=Special:UserLogin"
WIKI_COOKIES = "wikidb*"        # wikidb_session, wikidbUserID, wikidbUserName (wikidbToken...)


@pytest.fixture(scope="session")
def mediawiki_template(base_dir):
    """A ready wiki made once per run by scripts/setup-offtheshelf.sh (exit 3: a package is
    missing)."""
    H.require(MEDIAWIKI, "mediawiki", "MediaWiki")
    dest = os.path.join(base_dir, "mediawiki-template")
    p = subprocess.run(["/bin/sh", SETUP_OFFTHESHELF, dest], capture_output=True, text=True,
                       timeout=300, stdin=subprocess.DEVNULL)
    print(p.stdout, p.stderr)
    if p.returncode == 3:
        H.missing(p.stderr.strip().splitlines()[-1])
    assert p.returncode == 0, f"{SETUP_OFFTHESHELF} failed ({p.returncode}):\n{p.stderr}"
    with open(os.path.join(dest, "admin-password")) as f:
        password = f.read().strip()
    return dest, password


class Wiki:
    """One copy of the ready wiki in a server's root, served at /w on every site."""

    def __init__(self, httpd, template):
        src, self.password = template
        self.dir = os.path.join(httpd.dir, "wiki")
        shutil.copytree(src, self.dir)
        www_data(self.dir)

    def vhost_conf(self):
        return (f'SetEnv MW_CONFIG_FILE "{self.dir}/LocalSettings.php"\n'
                f'Alias /w "{MEDIAWIKI}"\n'
                f'<Directory "{MEDIAWIKI}">\n'
                "    Options +FollowSymLinks\n"
                "    AllowOverride None\n"
                "    Require all granted\n"
                "</Directory>\n")

    def session_ids(self):
        """The session ids MediaWiki holds now (its SQLite object cache): the values of
        wikidb_session that must never leak."""
        import sqlite3
        ids = set()
        for db in ("wikicache.sqlite", "wikidb.sqlite"):
            path = os.path.join(self.dir, "data", db)
            if not os.path.exists(path):
                continue
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            try:
                rows = con.execute("SELECT keyname FROM objectcache "
                                   "WHERE keyname LIKE '%:MWSession:%'").fetchall()
            except sqlite3.Error:
                rows = []
            finally:
                con.close()
            ids.update(r[0].rsplit(":", 1)[1] for r in rows)
        return ids

    def login(self, b, user=WIKI_USER, password=None):
        """Special:UserLogin as a browser does it: the form (its token lives in the session),
        then the POST; MediaWiki answers 302 with its cookies."""
        r = b.get(WIKI_LOGIN)
        assert r.status == 200, r
        m = re.search(r'<input[^>]*name="wpLoginToken"[^>]*>', r.text)
        assert m, f"no login token in the form: {r.text[:3000]}"
        token = re.search(r'value="([^"]*)"', m.group(0)).group(1)
        import html as _html
        token = _html.unescape(token)
        r = b.post(WIKI_LOGIN, {"title": "Special:UserLogin", "wpName": user,
                                "wpPassword": password or self.password, "wpEditToken": "+\\",
                                "authAction": "login", "force": "", "wpLoginToken": token,
                                "wpLoginAttempt": "Log in"})
        return r

    @staticmethod
    def whoami(b):
        """(user id, name) by the API: id 0 is anonymous."""
        r = b.get(WIKI_API_WHOAMI)
        assert r.status == 200, r
        info = r.json()["query"]["userinfo"]
        return info["id"], info["name"]

    @staticmethod
    def logout(b):
        r = b.get("/w/api.php?action=query&meta=tokens&format=json")
        assert r.status == 200, r
        token = r.json()["query"]["tokens"]["csrftoken"]
        r = b.post("/w/api.php", {"action": "logout", "token": token, "format": "json"})
        assert r.status == 200 and r.json() == {}, r
        return r


def start_wiki(make, template, directive=scope(WIKI_COOKIES), **opts):
    h = make(start=False, **opts)
    wiki = Wiki(h, template)
    h.vhost_conf = wiki.vhost_conf() + directive
    h.start()
    return h, wiki


# ------------------------------------------------------------------ where values must not be

class Watch:
    """Every request the browsers of a test made and every answer they got, to look for the
    applications' cookies where they must never be."""

    def __init__(self, *httpds):
        self.exchanges = []
        self.httpds = []
        for h in httpds:
            self.add(h)

    def add(self, h):
        orig = h.request

        def request(method, path, body=None, headers=None, timeout=30):
            r = orig(method, path, body=body, headers=headers, timeout=timeout)
            self.exchanges.append((method, path, dict(headers or {}), r))
            return r
        h.request = request
        self.httpds.append(h)

    @staticmethod
    def matches(name, patterns):
        return any(name.startswith(p[:-1]) if p.endswith("*") else name == p
                   for p in patterns)

    def assert_no_app_set_cookie(self, patterns):
        """No Set-Cookie of an application cookie ever reached the browser."""
        for method, path, _, r in self.exchanges:
            for sc in r.set_cookies():
                name = parse_set_cookie(sc)[0]
                assert not self.matches(name, patterns), \
                    f"{method} {path}: application cookie sent to the browser: {sc[:200]}\n{r!r}"

    def assert_never_seen(self, values, codec_keys=None):
        """No value in a URL the browser requested or was sent to (Location, loader tags), a
        response header, a push or pull token (decrypted), an error-log line above trace, or
        the access log."""
        values = [v for v in set(values) if v and len(v) >= 8]
        assert values, "no application cookie value known: the check would be vacuous"

        def check(where, text):
            for v in values:
                assert v not in text, f"application cookie value {v[:12]}... found in {where}"

        for method, path, hdrs, r in self.exchanges:
            check(f"the URL {method} {path[:200]}", urllib.parse.unquote(path) + path)
            for k, v in r.headers:
                check(f"the response header {k} of {method} {path[:100]}",
                      urllib.parse.unquote(v) + v)
            for t in find_tags(r.text):
                check(f"a loader tag of {path[:100]}", t.raw + (t.url or ""))
            for token in self._tokens(path, r):
                for plain in self._open(token, codec_keys):
                    for v in values:
                        assert v.encode() not in plain, f"application cookie value in a token"
        for h in self.httpds:
            for line in h.log_lines():
                if re.search(r"\[[\w.-]*:trace\d\]", line):
                    continue
                check(f"the error log {h.error_log}: {line[:300]}", line)
            try:
                with open(h.access_log, errors="replace") as f:
                    for line in f:
                        check(f"the access log {h.access_log}: {line[:300]}", line)
            except OSError:
                pass

    @staticmethod
    def _tokens(path, r):
        out = []
        for url in [path, r.header("Location") or ""] + [t.url for t in find_tags(r.text)]:
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
            out.extend(q.get("t", []))
        return out

    @staticmethod
    def _open(token, keys):
        """The plaintext of a token (AES-256-GCM, the key derived from the key file), or
        nothing when it does not open (another format: then only its text was checked)."""
        if not keys:
            return []
        try:
            codec = H.TokenCodec(keys)
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            raw = codec._b64d(token)
            return [AESGCM(codec.keys[raw[1]]).decrypt(raw[2:14], raw[14:], raw[:2])]
        except Exception:
            return []


# ------------------------------------------------------------------ push helpers

def load_tags(v, r):
    """Load every loader tag of a page, as the browser would."""
    for t in find_tags(r.text):
        cb = v.load_tag(t)
        assert cb.status == 200, cb


def push(v, src, page="/native/index.php", hosts=None):
    """A page on src and its tags: afterwards every other site of the group holds src's id."""
    hosts = [h for h in (hosts or HOSTS) if h != src]
    sid = v.sid(src)
    assert sid and ID_RE.match(sid), f"{src} holds no id: {v.at(src).cookies}"
    r = v.at(src).get(page)
    assert r.status == 200, r
    load_tags(v, r)
    for h in hosts:
        assert v.sid(h) == sid, f"{h} did not get {src}'s id from the page's tags:\n{r!r}"
    return r


# ================================================================== 1. the fixtures alone

def test_fixture_native_app_alone(plain_httpd):
    """app/native/ on a server without the module: login, cart, logout work with the browser
    holding PHPSESSID, and the session files are shared by the three sites (same save_path)."""
    httpd, app = start_native(plain_httpd, directive="")
    b = httpd.browser("a.test")
    r = b.get("/native/index.php")
    assert r.status == 200 and "</body>" in r.text and "Hello, guest" in r.text, r
    assert len(r.set_cookies(PHPSESSID)) == 1, r
    first = b.cookies[PHPSESSID]
    r = b.post("/native/cart.php", {"item": "apple"})
    assert r.json() == {"cart": ["apple"]}, r
    r = b.post("/native/login.php", {"user": "alice"})
    assert r.status == 302 and r.header("Location").endswith("index.php"), r
    assert len(r.set_cookies(PHPSESSID)) == 1, f"session_regenerate_id: a new cookie: {r!r}"
    sid = b.cookies[PHPSESSID]
    assert sid != first
    w = who(b)
    assert (w["user"], w["cart"], w["sid"]) == ("alice", ["apple"], fingerprint(sid)), w
    assert w["cookie_names"] == [PHPSESSID] and w["save_handler"] == "files", w
    assert os.path.exists(os.path.join(app.save_path, "sess_" + sid)), os.listdir(app.save_path)
    assert app.ids() == sorted({first, sid})
    # the same cookie on another site: the same session (one save_path for the three)
    other = httpd.browser("c.test")
    other.cookies[PHPSESSID] = sid
    assert who(other)["user"] == "alice"
    r = b.post("/native/logout.php", {})
    assert r.status == 200 and r.json() == {"logged_out": True}, r
    assert any(H.cookie_expires_now(sc) for sc in r.set_cookies(PHPSESSID)), r
    assert PHPSESSID not in b.cookies
    assert who(b)["user"] is None and who(other)["user"] is None


def test_fixture_native_app_memcached_alone(plain_httpd, memcached, mc):
    """The same app with session.save_handler=memcached (php-memcached) in the test's
    memcached."""
    need_php_ext("memcached", "php-memcached")
    httpd, app = start_native(plain_httpd, handler="memcached", memcached=memcached,
                              directive="")
    b = httpd.browser("b.test")
    r = b.post("/native/login.php", {"user": "bob"})
    assert r.status == 302 and len(r.set_cookies(PHPSESSID)) == 1, r
    sid = b.cookies[PHPSESSID]
    w = who(b)
    assert (w["user"], w["save_handler"], w["sid"]) == ("bob", "memcached", fingerprint(sid)), w
    assert mc.get("phpsess." + sid) is not None, "the PHP session is in the test's memcached"
    assert os.listdir(app.save_path) == []
    r = b.post("/native/logout.php", {})
    assert r.status == 200 and PHPSESSID not in b.cookies, r
    assert mc.get("phpsess." + sid) is None


def test_fixture_proxy_backend_alone(plain_httpd, backend, monkeypatch):
    """The backend behind mod_proxy on a server without the module: its cookies reach the
    browser, login (302, four cookies), cart, logout (deletions)."""
    httpd = plain_httpd(global_conf=proxy_modules(), vhost_conf=proxy_vhost(backend))
    b = httpd.browser("a.test")
    r = b.post("/app/login", {"user": "alice", "ttl": "60"})
    assert r.status == 302 and r.header("Location").endswith("/app/page"), r
    names = sorted(parse_set_cookie(sc)[0] for sc in r.set_cookies())
    assert names == ["app_dated", "app_short", "app_theme", "appsid"], r
    m = me(b)
    assert m["user"] == "alice" and m["sid"] == fingerprint(b.cookies["appsid"]), m
    assert m["app_cookies"] == ["app_dated", "app_short", "app_theme"], m
    r = b.post("/app/cart", {"item": "apple"})
    assert r.json() == {"cart": ["apple"]}, r
    r = b.get("/app/page")
    assert r.status == 200 and "Hello, alice" in r.text and "</body>" in r.text, r
    r = b.post("/app/logout", {})
    assert r.status == 200 and all(H.cookie_expires_now(sc) for sc in r.set_cookies()), r
    assert not [n for n in b.cookies if n.startswith("app")], b.cookies
    assert me(b)["user"] is None
    assert len(backend.issued()) == 4
    # a 200 KB cookie (the too-large test) goes through mod_proxy (responsefieldsize)
    monkeypatch.setattr(http.client, "_MAXLINE", 1 << 20)
    r = b.get("/app/blob?size=204800")
    assert r.status == 200, r
    assert parse_set_cookie(r.set_cookies("app_blob")[0])[1] == backend.issued()[-1]
    assert len(backend.issued()[-1]) == 204800


def test_fixture_mediawiki_alone(plain_httpd, mediawiki_template):
    """MediaWiki (Debian's package, unmodified) on a server without the module: log in on one
    site (302 with its cookies), the same cookies on another site are logged in (one session
    store for the three), log out."""
    httpd, wiki = start_wiki(plain_httpd, mediawiki_template, directive="")
    b = httpd.browser("a.test")
    assert Wiki.whoami(b) == (0, "127.0.0.1")
    r = wiki.login(b)
    assert r.status == 302, r
    names = sorted(parse_set_cookie(sc)[0] for sc in r.set_cookies())
    assert names == ["wikidbUserID", "wikidbUserName", "wikidb_session"], r
    assert Wiki.whoami(b) == (1, WIKI_USER)
    assert b.cookies["wikidb_session"] in wiki.session_ids(), wiki.session_ids()
    other = httpd.browser("c.test")
    other.cookies = dict(b.cookies)
    assert Wiki.whoami(other) == (1, WIKI_USER)
    r = Wiki.logout(b)
    assert any(H.cookie_expires_now(sc) for sc in r.set_cookies("wikidb_session")), r
    assert Wiki.whoami(b)[0] == 0 and Wiki.whoami(other)[0] == 0


# ================================================================== 2. native PHP sessions

HANDLERS = ["files", "memcached"]


def native_for(make, handler, memcached, group, **kw):
    if handler == "memcached":
        need_php_ext("memcached", "php-memcached")
    return start_native(make, handler=handler, memcached=memcached, global_conf=group, **kw)


@pytest.mark.parametrize("handler", HANDLERS)
def test_native_push_login_cart_logout(make_httpd, memcached, push_group, keyfile, handler):
    httpd, app = native_for(make_httpd, handler, memcached, push_group)
    watch = Watch(httpd)
    v = Visitor(httpd)
    a, b, c = (v.at(h) for h in HOSTS)

    # an anonymous visit: the app's new session cookie is kept on the server, the module's
    # id is what the browser gets
    r = a.get("/native/index.php")
    assert r.status == 200 and "Hello, guest" in r.text, r
    assert not r.set_cookies(PHPSESSID) and PHPSESSID not in a.cookies, r
    load_tags(v, r)
    anon = v.sid("a.test")
    assert anon and ID_RE.match(anon), f"no id cookie for the captured session: {r!r}"
    w = who(a)
    assert w["sid"] and w["user"] is None, w
    assert w["cookie_names"].count(PHPSESSID) == 1, w
    anon_php = w["sid"]

    # pushed to b and c: the same PHP session there
    push(v, "a.test")
    for h in (b, c):
        w = who(h)
        assert (w["user"], w["sid"]) == (None, anon_php), (h.host, w)

    # an anonymous cart filled on b is seen on c
    r = b.post("/native/cart.php", {"item": "apple"})
    assert r.status == 200 and r.json() == {"cart": ["apple"]}, r
    assert not r.set_cookies(PHPSESSID), r
    assert who(c)["cart"] == ["apple"]

    # login on a: the app's session_regenerate_id changes its cookie on a 302: the module
    # moves to a new id; the old one is dead on the sites that still hold it
    r = a.post("/native/login.php", {"user": "alice"})
    assert r.status == 302, r
    assert not r.set_cookies(PHPSESSID), r
    assert len(r.set_cookies(COOKIE)) == 1, f"the app's id changed: a new module id: {r!r}"
    alice = v.sid("a.test")
    assert alice != anon and ID_RE.match(alice)
    w = who(a)
    assert (w["user"], w["cart"]) == ("alice", ["apple"]), w
    assert w["sid"] != anon_php, "the app's new id is replayed, not the old one"
    alice_php = w["sid"]
    assert v.sid("b.test") == anon and who(b)["user"] is None, "b still holds the old, dead id"

    # the next page of a pushes the new id
    push(v, "a.test")
    for h in (b, c):
        w = who(h)
        assert (w["user"], w["cart"], w["sid"]) == ("alice", ["apple"], alice_php), (h.host, w)

    r = c.post("/native/cart.php", {"item": "pear"})
    assert r.json() == {"cart": ["apple", "pear"]}, r
    assert who(a)["cart"] == ["apple", "pear"]

    # logout on b: logged out on every site at its next request
    r = b.post("/native/logout.php", {})
    assert r.status == 200 and r.json() == {"logged_out": True}, r
    for h in (a, b, c):
        w = who(h)
        assert (w["user"], w["cart"]) == (None, []), (h.host, w)
        assert w["sid"] != alice_php, (h.host, w)

    watch.assert_no_app_set_cookie([PHPSESSID])
    watch.assert_never_seen(app.ids(), keyfile.keys)


@pytest.mark.parametrize("handler", HANDLERS)
def test_native_pull_login_cart_logout(make_httpd, memcached, pull_group, keyfile, handler):
    httpd, app = native_for(make_httpd, handler, memcached, pull_group)
    watch = Watch(httpd)
    nav = Navigator(httpd)
    url = {h: nav.url(h, "/native/index.php") for h in HOSTS}

    def final(hops, expect_url=None):
        assert hops[-1].status == 200, H.format_hops(hops)
        if expect_url:
            assert hops[-1].url == expect_url, H.format_hops(hops)
        for hop in hops:
            assert not hop.response.set_cookies(PHPSESSID), hop
        return hops[-1]

    def state(host):
        return nav.fetch_json(nav.url(host, "/native/whoami.php"))[1]

    # anonymous: the hub, then b (bounced through the hub, lands on its page)
    final(nav.navigate(url["a.test"]))
    anon = nav.sid("a.test")
    assert anon and ID_RE.match(anon)
    hops = nav.navigate(url["b.test"])
    final(hops, url["b.test"])
    assert len(hops) > 1, "b had no id: a pull expected\n" + H.format_hops(hops)
    assert nav.sid("b.test") == anon
    anon_php = state("a.test")["sid"]
    assert anon_php and state("b.test")["sid"] == anon_php

    hops = nav.navigate(nav.url("b.test", "/native/cart.php"), method="POST",
                        body={"item": "apple"})
    assert final(hops).response.json() == {"cart": ["apple"]}

    # login on the hub (302, then the home page)
    hops = nav.navigate(nav.url("a.test", "/native/login.php"), method="POST",
                        body={"user": "alice"})
    assert hops[0].status == 302, H.format_hops(hops)
    final(hops)
    alice = nav.sid("a.test")
    assert alice != anon and ID_RE.match(alice), H.format_hops(hops)
    alice_state = state("a.test")
    assert (alice_state["user"], alice_state["cart"]) == ("alice", ["apple"]), alice_state

    # b holds the dead id: its next navigation pulls the new one; c pulls it the first time
    for h in ("b.test", "c.test"):
        final(nav.navigate(url[h]), url[h])
        assert nav.sid(h) == alice, h
        w = state(h)
        assert (w["user"], w["cart"], w["sid"]) == ("alice", ["apple"], alice_state["sid"]), w

    hops = nav.navigate(nav.url("c.test", "/native/cart.php"), method="POST",
                        body={"item": "pear"})
    assert final(hops).response.json() == {"cart": ["apple", "pear"]}
    assert state("b.test")["cart"] == ["apple", "pear"]

    # logout on c: logged out everywhere
    hops = nav.navigate(nav.url("c.test", "/native/logout.php"), method="POST", body={})
    assert final(hops).response.json() == {"logged_out": True}
    for h in HOSTS:
        w = state(h)
        assert (w["user"], w["cart"]) == (None, []), (h, w)
    for h in HOSTS:
        final(nav.navigate(url[h]))
        w = state(h)
        assert w["user"] is None, (h, w)

    watch.assert_no_app_set_cookie([PHPSESSID])
    watch.assert_never_seen(app.ids(), keyfile.keys)


def test_native_browser_cookie_dropped(make_httpd, push_group, keyfile):
    """A PHPSESSID the browser sends itself never reaches the application next to the shared
    one: the application sees exactly one, the shared value."""
    httpd, app = start_native(make_httpd, global_conf=push_group)
    v = Visitor(httpd)
    a = v.at("a.test")
    r = a.post("/native/login.php", {"user": "alice"})
    assert r.status == 302 and not r.set_cookies(PHPSESSID), r
    shared = who(a)
    assert shared["user"] == "alice"

    a.cookies[PHPSESSID] = "forgedbybrowser0123456789"
    w = who(a)
    assert w["cookie_names"].count(PHPSESSID) == 1, w
    assert (w["user"], w["sid"]) == ("alice", shared["sid"]), w
    # another cookie of the browser is left alone
    a.cookies["theme"] = "dark"
    w = who(a)
    assert "theme" in w["cookie_names"] and w["cookie_names"].count(PHPSESSID) == 1, w


@pytest.mark.parametrize("forced", ["module-id", "app-cookie"])
def test_native_rotation_defeats_fixation(make_httpd, push_group, keyfile, forced):
    """An attacker plants, before the victim logs in, either its own module id (a forced
    hand-over, a shared computer) or a PHPSESSID of its choice.  After the victim's login the
    victim holds a new id, and the attacker's browser is not logged in."""
    httpd, app = start_native(make_httpd, global_conf=push_group)
    watch = Watch(httpd)
    attacker = Visitor(httpd)
    atk = attacker.at("a.test")
    r = atk.post("/native/cart.php", {"item": "bait"})
    assert r.status == 200 and not r.set_cookies(PHPSESSID), r
    atk_id = attacker.sid("a.test")
    assert atk_id and ID_RE.match(atk_id)
    atk_php = who(atk)["sid"]
    chosen = "attackerchosen0123456789abcdef"

    victim = Visitor(httpd)
    vic = victim.at("a.test")
    if forced == "module-id":
        vic.cookies[COOKIE] = atk_id
        assert who(vic)["cart"] == ["bait"], "the planted id gives the attacker's session"
    else:
        vic.cookies[PHPSESSID] = chosen
        atk.cookies[PHPSESSID] = chosen
        w = who(vic)
        assert w["user"] is None and w["sid"] != fingerprint(chosen), w

    r = vic.post("/native/login.php", {"user": "victim"})
    assert r.status == 302 and not r.set_cookies(PHPSESSID), r
    vic_id = victim.sid("a.test")
    assert vic_id and ID_RE.match(vic_id) and vic_id != atk_id, r
    w = who(vic)
    assert w["user"] == "victim", w
    assert w["sid"] not in (atk_php, fingerprint(chosen)), w

    # the attacker's browser, whatever it holds, is not the victim's login
    for attempt in range(2):
        w = who(atk)
        assert w["user"] is None, f"the attacker is logged in as the victim: {w}"
        r = atk.get("/native/index.php")
        assert r.status == 200 and "victim" not in r.text, r
    if forced == "module-id":
        assert attacker.sid("a.test") != vic_id

    watch.assert_no_app_set_cookie([PHPSESSID])
    watch.assert_never_seen([i for i in app.ids() if i != chosen], keyfile.keys)


def test_native_unchanged_cookie_costs_one_get(make_httpd, mc, push_group):
    """Steady state: a page whose application cookie did not change costs one memcached get
    and no write, on the site that logged in and on one that got the id pushed."""
    httpd, app = start_native(make_httpd, global_conf=push_group)
    v = Visitor(httpd)
    a = v.at("a.test")
    r = a.post("/native/login.php", {"user": "alice"})
    assert r.status == 302, r
    push(v, "a.test")
    for host in ("a.test", "b.test"):
        b = v.at(host)
        for path in ("/native/index.php", "/native/whoami.php", "/native/index.php"):
            before = mc.stats()
            r = b.get(path)
            after = mc.stats()
            assert r.status == 200, r
            assert "Hello, alice" in r.text or '"alice"' in r.text, r
            ops = {k: int(after[k]) - int(before[k]) for k in ("cmd_get", "cmd_set", "cmd_touch")}
            print(host, path, ops)
            assert ops == {"cmd_get": 1, "cmd_set": 0, "cmd_touch": 0}, (host, path, ops)
            assert not r.set_cookies(PHPSESSID), r
            for sc in r.set_cookies(COOKIE):       # the pushed cookie rewritten: same id
                assert parse_set_cookie(sc)[1] == v.sid(host), r


@pytest.mark.expect_log("SHS00302", STORE_DOWN_WARN)
def test_native_store_down(make_httpd, memcached, push_group):
    """memcached stalled: the application's Set-Cookie reaches the browser unchanged, the site
    works alone, one warn line now and then (not per request); when memcached is back, the
    shared session is as it was (nothing stored was overwritten)."""
    httpd, app = start_native(make_httpd, global_conf=push_group, timeout="300ms", retry="1s")
    v = Visitor(httpd)
    alice = v.at("a.test")
    r = alice.post("/native/login.php", {"user": "alice"})
    assert r.status == 302 and not r.set_cookies(PHPSESSID), r
    alice_id = v.sid("a.test")
    before = who(alice)
    assert before["user"] == "alice"

    mark = len(httpd.log_lines())
    memcached.stall()
    passed = 0
    try:
        t0 = time.monotonic()
        bob = Visitor(httpd).at("a.test")
        r = bob.post("/native/login.php", {"user": "bob"})
        assert r.status == 302, r
        assert len(r.set_cookies(PHPSESSID)) == 1, f"store down: Set-Cookie passes: {r!r}"
        passed += 1
        assert PHPSESSID in bob.cookies
        w = who(bob)
        assert (w["user"], w["sid"]) == ("bob", fingerprint(bob.cookies[PHPSESSID])), \
            f"the site works alone with the browser's own cookie: {w}"
        r = bob.post("/native/cart.php", {"item": "tea"})
        assert r.status == 200 and r.json() == {"cart": ["tea"]}, r
        # more visitors, each with a new PHP session passed through
        for i in range(6):
            r = Visitor(httpd).at(HOSTS[i % 3]).get("/native/index.php")
            assert r.status == 200 and len(r.set_cookies(PHPSESSID)) == 1, r
            passed += 1
        # alice's browser meanwhile: served (anonymously); whatever the app sets passes
        r = alice.get("/native/index.php")
        assert r.status == 200, r
        for sc in r.set_cookies(COOKIE):
            assert parse_set_cookie(sc)[1] == alice_id, f"the id cookie kept: {sc}"
        print(f"requests during the outage: {time.monotonic() - t0:.1f}s")
        # all answered before the stalled memcached could answer anything
        assert H.all_threads_stopped(memcached.pid), "memcached ran again during the outage"
    finally:
        memcached.cont()

    def back():
        w = who(alice)
        return w if w["user"] == "alice" else None
    w = H.wait_until(back, 10, 0.2)
    assert w, "alice's shared session did not come back after the outage"
    assert w["sid"] == before["sid"], "the stored application cookie was overwritten"
    assert v.sid("a.test") == alice_id

    warns = [l for l in httpd.log_lines()[mark:] if re.search(STORE_DOWN_WARN, l)]
    print("\n".join(warns))
    assert warns, "a warn line (tagged) for the Set-Cookie passed through"
    assert len(warns) < passed, f"{len(warns)} warn lines for {passed} responses: not per request"
    per_pid = Counter(re.search(r"\[pid (\d+)", l).group(1) for l in warns)
    assert max(per_pid.values()) <= 2, per_pid


# ================================================================== 3. behind mod_proxy

def test_proxy_backend_push(make_httpd, push_group, keyfile, backend):
    httpd = make_httpd(global_conf=proxy_modules() + push_group, vhost_conf=proxy_vhost(backend))
    watch = Watch(httpd)
    v = Visitor(httpd)
    a, b, c = (v.at(h) for h in HOSTS)

    # login: a 302 with four cookies, none of them for the browser
    t0 = time.monotonic()
    r = a.post("/app/login", {"user": "alice", "ttl": "2"})
    assert r.status == 302 and r.header("Location").endswith("/app/page"), r
    assert len(r.set_cookies(COOKIE)) == 1, r
    m = me(a)
    assert m["user"] == "alice" and m["known"], m
    if time.monotonic() - t0 < 1.0:
        assert m["app_cookies"] == ["app_dated", "app_short", "app_theme"], m
    assert m["cookie_names"].count("appsid") == 1, m

    # the browser's own appsid is dropped, the shared one replayed
    a.cookies["appsid"] = "0123456789abcdef0123456789abcdef"
    assert me(a)["sid"] == m["sid"] and me(a)["cookie_names"].count("appsid") == 1
    del a.cookies["appsid"]

    # outside the scope (<Location /app/>): nothing replayed into the Cookie header
    r = a.get("/env.cgi")
    assert r.status == 200, r
    http_cookie = [l for l in r.text.splitlines() if l.startswith("HTTP_COOKIE=")]
    assert http_cookie and "app" not in http_cookie[0], r

    push(v, "a.test", page="/app/page")
    for h in (b, c):
        w = me(h)
        assert (w["user"], w["sid"]) == ("alice", m["sid"]), (h.host, w)

    # Max-Age=2 and Expires=now+2 are honoured; the cookie without a lifetime stays
    gone = H.wait_until(lambda: me(b)["app_cookies"] == ["app_theme"], 8, 0.3)
    assert gone, me(b)
    assert me(c)["app_cookies"] == ["app_theme"] and me(c)["user"] == "alice"

    r = c.post("/app/cart", {"item": "apple"})
    assert r.json() == {"cart": ["apple"]}, r
    assert me(a)["cart"] == ["apple"]

    # logout on b: appsid deleted with Max-Age=0, the others with an Expires in the past,
    # "Thu, 01 Jan 1970 00:00:00 GMT": apr_date_parse_rfc() answers 0 for it, which is also
    # its APR_DATE_BAD; a deletion all the same
    r = b.post("/app/logout", {})
    assert r.status == 200 and r.json() == {"logged_out": True}, r
    for h in (a, b, c):
        w = me(h)
        assert w["user"] is None and not w["known"], (h.host, w)
        assert "appsid" not in w["cookie_names"] and w["app_cookies"] == [], (h.host, w)

    watch.assert_no_app_set_cookie(["appsid", "app_*"])
    watch.assert_never_seen(backend.issued(), keyfile.keys)


@pytest.mark.expect_log(TOO_LARGE_LOG)
def test_proxy_cookie_too_large(make_httpd, push_group, backend, workdir, monkeypatch):
    """A 200 KB cookie value, over what the store (memcached with a 128 KB item limit) takes:
    refused with a tagged log line; the answer works and its Set-Cookie passes; the shared
    session is unchanged."""
    small = H.Memcached(workdir, args=["-I", "128k", "-o", "slab_chunk_max=65536"]).start()
    try:
        httpd = make_httpd(memcached=small, global_conf=proxy_modules() + push_group,
                           vhost_conf=proxy_vhost(backend))
        monkeypatch.setattr(http.client, "_MAXLINE", 1 << 20)   # the test client's limit
        v = Visitor(httpd)
        a = v.at("a.test")
        r = a.post("/app/login", {"user": "alice", "ttl": "600"})
        assert r.status == 302 and not r.set_cookies("appsid"), r
        before = me(a)
        assert before["user"] == "alice"

        mark = len(httpd.log_lines())
        r = a.get("/app/blob?size=204800")
        assert r.status == 200 and r.json() == {"size": 204800}, r
        blob = backend.issued()[-1]
        scs = r.set_cookies("app_blob")
        assert len(scs) == 1 and parse_set_cookie(scs[0])[1] == blob, \
            "the refused cookie passes to the browser unchanged"
        a.cookies.pop("app_blob")      # as a browser does with a cookie over 4096 bytes
        found = H.wait_until(lambda: [l for l in httpd.log_lines()[mark:]
                                      if re.search(TOO_LARGE_LOG, l)], 3)
        assert found, "no tagged log line for the refused value:\n" + \
            "\n".join(httpd.log_lines()[mark:])
        print("\n".join(found))
        for line in httpd.log_lines():
            assert blob[:64] not in line, "the value in the error log"

        after = me(a)
        assert (after["user"], after["sid"]) == ("alice", before["sid"]), after
        assert "app_blob" not in after["app_cookies"], after
        assert v.sid("a.test") and H.ID_RE.match(v.sid("a.test"))
    finally:
        small.kill()


# ================================================================== 4. .htaccess

LEGACY_CGI = r"""#!/usr/bin/python3
# A legacy CGI with its own cookie: legacysid, issued when the request has none.
import hashlib, json, os, secrets
names, value = [], None
for pair in os.environ.get("HTTP_COOKIE", "").split(";"):
    n, sep, v = pair.strip().partition("=")
    if n and sep:
        names.append(n)
        if n == "legacysid":
            value = v
print("Content-Type: application/json")
print("Cache-Control: no-store")
new = value is None
if new:
    value = secrets.token_hex(16)
    log = os.environ.get("SHS_APPTEST_IDLOG")
    if log:
        with open(log, "a") as f:
            f.write(value + "\n")
    print(f"Set-Cookie: legacysid={value}; Path=/")
print()
print(json.dumps({"new": new, "names": names,
                  "sid": hashlib.sha256(value.encode()).hexdigest()[:16]}))
"""


@pytest.mark.parametrize("case", ["authconfig-cgi", "authconfig-php", "override-none",
                                  "override-fileinfo"])
def test_htaccess(make_httpd, push_group, keyfile, expect_log, case):
    """The directive in .htaccess: works under AllowOverride AuthConfig (a CGI, and the PHP app
    through Action, whose internal redirect runs outside the directory: the directory of the
    request the browser made decides); never read under AllowOverride None; refused (500,
    'not allowed here') where .htaccess may not hold AuthConfig directives."""
    override = {"override-none": "None", "override-fileinfo": "FileInfo"}.get(case)
    extra = ""
    if override:
        extra = (f'<Directory "{{docroot}}/legacy">\n    AllowOverride {override}\n'
                 "</Directory>\n")
    httpd, app = start_native(make_httpd, global_conf=push_group, directive="",
                              extra_vhost=extra, start=False)
    httpd.write_file("legacy/app.cgi", LEGACY_CGI)
    httpd.write_file("legacy/page.html", "<!doctype html><html><body><p>legacy</p></body></html>\n")
    httpd.write_file("legacy/.htaccess", "SharedSessionAppCookie legacysid\n")
    if case == "authconfig-php":
        httpd.write_file("native/.htaccess", "SharedSessionAppCookie PHPSESSID\n")
    httpd.start()
    v = Visitor(httpd)
    a = v.at("a.test")

    if case == "authconfig-php":
        r = a.post("/native/login.php", {"user": "alice"})
        assert r.status == 302 and not r.set_cookies(PHPSESSID), r
        assert v.sid("a.test"), r
        w = who(a)
        assert w["user"] == "alice" and w["cookie_names"].count(PHPSESSID) == 1, w
        push(v, "a.test")
        assert who(v.at("c.test"))["user"] == "alice"
        return

    if case == "override-fileinfo":
        expect_log("not allowed here")
        httpd.assert_htaccess_refused("legacy", "SharedSessionAppCookie legacysid", "app.cgi")
        return

    r1 = a.get("/legacy/app.cgi")
    assert r1.status == 200 and r1.json()["new"], r1
    r2 = a.get("/legacy/app.cgi")
    assert r2.status == 200, r2
    if case == "override-none":
        # .htaccess not read: the CGI's cookie goes to the browser as always
        assert len(r1.set_cookies("legacysid")) == 1, r1
        assert r2.json()["new"] is False and r2.json()["sid"] == r1.json()["sid"], r2
        assert COOKIE not in a.cookies, "nothing shared: no module id"
        return
    assert not r1.set_cookies("legacysid") and "legacysid" not in a.cookies, r1
    assert v.sid("a.test"), f"the captured cookie makes a shared session: {r1!r}"
    w = r2.json()
    assert w["new"] is False and w["sid"] == r1.json()["sid"], w
    assert w["names"].count("legacysid") == 1, w
    push(v, "a.test", page="/legacy/page.html")
    w = v.at("b.test").get("/legacy/app.cgi").json()
    assert w["new"] is False and w["sid"] == r1.json()["sid"], w


# ================================================================== 5. configuration

@pytest.mark.parametrize("where", ["location", "directory", "several", "patterns"])
def test_config_valid(configtest, where):
    snippet = {
        "location": scope("PHPSESSID"),
        "directory": '<Directory "{docroot}">\n    SharedSessionAppCookie PHPSESSID\n</Directory>',
        "several": scope("PHPSESSID appsid legacysid"),
        "patterns": scope("PHPSESSID wikidb_* wikidb* app_*"),
    }[where]
    rc, out, _ = configtest(vhost_conf=snippet)
    assert rc == 0 and "Syntax OK" in out, out


NOT_A_NAME = "not a cookie name (RFC 6265 token characters only)"
STAR = "'*' is only allowed at the end (a name prefix)"
NO_NAME = "at least one cookie name (e.g. PHPSESSID), or None"


@pytest.mark.parametrize("arg,message", [
    ("PHP=SESSID", "'PHP=SESSID': " + NOT_A_NAME),             # '='
    ("PHPSESSID=x", "'PHPSESSID=x': " + NOT_A_NAME),
    ("PHP;SESSID", "'PHP;SESSID': " + NOT_A_NAME),             # ';'
    ('"PHP SESSID"', "'PHP SESSID': " + NOT_A_NAME),           # space
    ('"PHPSESSID "', "'PHPSESSID ': " + NOT_A_NAME),
    ("PHP*SESSID", "'PHP*SESSID': " + STAR),                   # '*' not at the end
    ("*SESSID", "'*SESSID': " + STAR),
    ("wikidb**", "'wikidb**': " + STAR),
    ('""', NO_NAME),                                           # empty
    ("PHPSESSID \"\"", "an empty cookie name"),   # a valid name, then an empty one
                                     # (AP_INIT_ITERATE would stop at it and never see it)
    ("PHPSESSID bad=name", "'bad=name': " + NOT_A_NAME),       # a valid name, then a bad one
])
def test_config_bad_names(configtest, arg, message):
    rc, out, h = configtest(vhost_conf=scope(arg))
    h.assert_refused(rc, out, f"SharedSessionAppCookie {arg}",
                     f"SharedSessionAppCookie: {message}", host="a.test")


def test_config_no_name(configtest):
    rc, out, h = configtest(vhost_conf="<Location />\n    SharedSessionAppCookie\n</Location>")
    h.assert_refused(rc, out, "SharedSessionAppCookie", f"SharedSessionAppCookie: {NO_NAME}",
                     host="a.test")


# ================================================================== 6. MediaWiki, unmodified

def test_mediawiki_login_everywhere_logout_everywhere(make_httpd, push_group, keyfile,
                                                      mediawiki_template):
    """Debian's MediaWiki, unmodified: log in on a.test (Special:UserLogin, a 302 with three
    cookies), logged in on b.test and c.test after the push (the API's userinfo), log out on
    c.test (the API's logout) -> logged out on a.test and b.test."""
    httpd, wiki = start_wiki(make_httpd, mediawiki_template, global_conf=push_group)
    watch = Watch(httpd)
    v = Visitor(httpd)
    a, b, c = (v.at(h) for h in HOSTS)

    for h in (a, b, c):
        assert Wiki.whoami(h) == (0, "127.0.0.1"), h.host
    r = a.get(WIKI_LOGIN)           # the form: MediaWiki starts an anonymous session
    assert r.status == 200 and not [sc for sc in r.set_cookies() if sc.startswith("wikidb")], r
    anon = v.sid("a.test")
    assert anon and ID_RE.match(anon), f"the captured session cookie makes a shared session: {r!r}"
    session_ids = wiki.session_ids()
    r = wiki.login(a)
    assert r.status == 302, r
    assert not [sc for sc in r.set_cookies() if sc.startswith("wikidb")], r
    assert v.sid("a.test") != anon and ID_RE.match(v.sid("a.test")), \
        f"MediaWiki changed its session id at login: the module's id changes too: {r!r}"
    assert Wiki.whoami(a) == (1, WIKI_USER)
    session_ids |= wiki.session_ids()
    assert session_ids, "MediaWiki holds a session after the login"

    push(v, "a.test", page="/w/index.php?title=Main_Page")
    for h in (b, c):
        assert Wiki.whoami(h) == (1, WIKI_USER), h.host
        r = h.get("/w/index.php?title=Main_Page")
        assert r.status == 200 and 'id="pt-logout"' in r.text, \
            f"{h.host}: the page shows the logged-in user's menu"

    r = Wiki.logout(c)
    assert not [sc for sc in r.set_cookies() if sc.startswith("wikidb")], r
    for h in (a, b, c):
        assert Wiki.whoami(h)[0] == 0, f"{h.host}: still logged in after the logout on c.test"
    r = a.get("/w/index.php?title=Main_Page")
    assert r.status == 200 and 'id="pt-login"' in r.text, "a.test shows the login link again"

    watch.assert_no_app_set_cookie([WIKI_COOKIES])
    watch.assert_never_seen(session_ids | wiki.session_ids(), keyfile.keys)
