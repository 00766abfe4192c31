"""The push's loader tags in a page: the exact markup the module injects, parsed, and a loose
finder for anything that points at /_shs/ whatever its markup."""

import html
import re
import urllib.parse

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
        self.raw = m.group(0)
        self.kind = "img" if m.group("img") is not None else "script"
        self.src_attr = m.group("img") if self.kind == "img" else m.group("js")
        self.go = html.unescape(self.src_attr)
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
