"""The HTTP side of the tests: one request to a test server (http or https with SNI), the
responses and their cookies, and the simulated browsers: Browser (one host, one cookie jar),
Visitor (one person across hosts, for the push) and Navigator (path-aware jars and hand-followed
redirects, for the pull)."""

import http.client
import json
import re
import socket
import time
import urllib.parse
from email.utils import parsedate_to_datetime

from .tokens import COOKIE, TokenCodec

REDIRECT_STATUSES = (301, 302, 303, 307, 308)


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
        try:
            return parsedate_to_datetime(attrs["expires"][1]).timestamp() <= time.time()
        except (TypeError, ValueError):
            return False
    return False


class _SNIConnection(http.client.HTTPSConnection):
    """https to 127.0.0.1 with the name of the Host header as SNI (and certificate check)."""

    def __init__(self, port, server_name, context, timeout):
        super().__init__("127.0.0.1", port, timeout=timeout, context=context)
        self.server_name = server_name

    def connect(self):
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.server_name)


def request(port, method, path, body=None, headers=None, timeout=30, tls=None):
    """One request to 127.0.0.1:port (a new connection), headers exactly as given (Host
    included) -> Response.  tls: an ssl.SSLContext for https, the Host header's name as SNI."""
    hdrs = dict(headers or {})
    if tls is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    else:
        name = urllib.parse.urlsplit("//" + hdrs.get("Host", "localhost")).hostname
        conn = _SNIConnection(port, name, tls, timeout)
    t0 = time.monotonic()
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
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


def raw_request(port, raw, timeout=10):
    """Send raw bytes to 127.0.0.1:port, return (status or None, whole answer bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
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
        httpd = self.servers.get(u.port)
        if u.scheme != "http" or httpd is None or u.hostname not in httpd.hosts:
            return None
        return httpd

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
