#!/usr/bin/python3
"""A small web application with its own cookie session, for the tests of
SharedSessionAppCookie behind mod_proxy (test_appcookie.py).  It knows nothing about
mod_sharedsession.

    appcookie_backend.py PORT      (127.0.0.1 only; PORT 0: any free port)

It prints "listening PORT" once it accepts connections, and stops on SIGTERM.

Cookies: `appsid` (the session id: 32 random hex digits, a new one at every login) and a few
`app_*` cookies to exercise several cookies in one response and their lifetimes.  Sessions
live in this process's memory: every site proxied to it shares them.

Under /app/ (what httpd proxies):
  GET  /app/page             an HTML page (with </body>)
  GET  /app/me               JSON: user, cart, fingerprint of appsid, the names of the cookies
                             received (in order), and which app_* cookies came
  POST /app/login            user=NAME [&ttl=N]: a new session and appsid (302 to /app/page),
                             with app_theme (no lifetime), app_short (Max-Age=ttl, default 2)
                             and app_dated (Expires = now + ttl) in the same response
  POST /app/cart             item=THING: add to the cart (makes an anonymous session if none)
  POST /app/logout           the session dropped; appsid deleted with Max-Age=0 and app_dated,
                             app_short and app_theme with an Expires in the past
  GET  /app/blob?size=N      sets app_blob to a value of N bytes (too large for any store)
Not proxied (the test asks directly):
  GET  /_debug/issued        JSON list of every cookie value this backend ever issued
"""

import hashlib
import json
import secrets
import signal
import sys
import threading
import time
import urllib.parse
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SESSIONS = {}        # appsid -> {"user": str|None, "cart": [str]}
ISSUED = []          # every cookie value ever issued (the tests look for leaks of them)
LOCK = threading.Lock()
PAST = "Thu, 01 Jan 1970 00:00:00 GMT"


def fp(value):
    return hashlib.sha256(value.encode()).hexdigest()[:16]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "appcookie-backend/1"

    def log_message(self, fmt, *args):     # quiet
        pass

    # --- helpers
    def cookies(self):
        """[(name, value)] in the order received, duplicates kept."""
        out = []
        for header in self.headers.get_all("Cookie") or []:
            for pair in header.split(";"):
                name, sep, value = pair.strip().partition("=")
                if name and sep:
                    out.append((name, value))
        return out

    def cookie(self, name):
        for n, v in self.cookies():
            if n == name:
                return v
        return None

    def form(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        return {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}

    def session(self):
        sid = self.cookie("appsid")
        with LOCK:
            return sid, SESSIONS.get(sid) if sid else None

    def issue(self, value):
        with LOCK:
            ISSUED.append(value)
        return value

    def send(self, status, body, ctype="application/json", cookies=(), headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for c in cookies:
            self.send_header("Set-Cookie", c)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, obj, status=200, cookies=()):
        self.send(status, json.dumps(obj) + "\n", cookies=cookies)

    # --- routes
    def do_GET(self):
        path, _, query = self.path.partition("?")
        q = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
        if path == "/app/page":
            sid, s = self.session()
            user = (s or {}).get("user") or "guest"
            page = ("<!doctype html>\n<html><head><title>backend</title></head>\n<body>\n"
                    f"<p>Hello, {user}</p>\n</body>\n</html>\n")
            return self.send(200, page, "text/html; charset=utf-8")
        if path == "/app/me":
            sid, s = self.session()
            names = [n for n, _ in self.cookies()]
            return self.send_json({
                "user": (s or {}).get("user"),
                "cart": (s or {}).get("cart", []),
                "sid": fp(sid) if sid else None,
                "known": s is not None,
                "cookie_names": names,
                "app_cookies": sorted({n for n in names if n.startswith("app_")}),
            })
        if path == "/app/blob":
            size = int(q.get("size", "204800"))
            value = self.issue(secrets.token_hex(size // 2 + 1)[:size])
            return self.send_json({"size": size}, cookies=[f"app_blob={value}; Path=/"])
        if path == "/_debug/issued":
            with LOCK:
                return self.send_json(list(ISSUED))
        return self.send_json({"error": "not found"}, 404)

    def do_POST(self):
        path = self.path.partition("?")[0]
        f = self.form()
        if path == "/app/login":
            user = f.get("user")
            if not user:
                return self.send_json({"error": "user=NAME"}, 400)
            ttl = int(f.get("ttl", "2"))
            old, _ = self.session()
            sid = self.issue(secrets.token_hex(16))
            theme = self.issue("theme-" + secrets.token_hex(8))
            short = self.issue("short-" + secrets.token_hex(8))
            dated = self.issue("dated-" + secrets.token_hex(8))
            with LOCK:
                cart = SESSIONS.pop(old, {}).get("cart", []) if old else []
                SESSIONS[sid] = {"user": user, "cart": cart}
            expires = formatdate(time.time() + ttl, usegmt=True)
            cookies = [f"appsid={sid}; Path=/; HttpOnly",
                       f"app_theme={theme}; Path=/",
                       f"app_short={short}; Path=/; Max-Age={ttl}",
                       f"app_dated={dated}; Path=/; Expires={expires}"]
            self.send(302, "", "text/plain", cookies=cookies,
                      headers=[("Location", "/app/page")])
            return
        if path == "/app/cart":
            sid, s = self.session()
            cookies = []
            if s is None:
                sid = self.issue(secrets.token_hex(16))
                s = {"user": None, "cart": []}
                with LOCK:
                    SESSIONS[sid] = s
                cookies.append(f"appsid={sid}; Path=/; HttpOnly")
            with LOCK:
                if f.get("item"):
                    s["cart"].append(f["item"])
                cart = list(s["cart"])
            return self.send_json({"cart": cart}, cookies=cookies)
        if path == "/app/logout":
            sid, _ = self.session()
            with LOCK:
                SESSIONS.pop(sid, None)
            cookies = ["appsid=; Path=/; Max-Age=0",
                       f"app_theme=; Path=/; Expires={PAST}",
                       f"app_short=; Path=/; Expires={PAST}",
                       f"app_dated=; Path=/; Expires={PAST}"]
            return self.send_json({"logged_out": True}, cookies=cookies)
        return self.send_json({"error": "not found"}, 404)


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening {srv.server_address[1]}", flush=True)
    srv.serve_forever(poll_interval=0.1)
    srv.server_close()


if __name__ == "__main__":
    main()
