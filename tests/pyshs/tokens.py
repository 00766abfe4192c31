"""The module's formats as a client sees them: ids and cookie names, store keys, sealed store
values, mod_session's encoding, and the cross-domain tokens (a Python twin of shs_token.c)."""

import base64
import hashlib
import re
import secrets
import time
import urllib.parse

COOKIE = "shs_session"
STATE_COOKIE = COOKIE + "_state"
PULL_COOKIE = COOKIE + "_pull"
SYNC_COOKIE = COOKIE + "_sync"
ID_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")

# a value sealed by shs_value.c in MAC mode: header, base64url HMAC, ':' (then the value)
SEALED_MAC_RE = re.compile(r"^shs1:m:\d{3}:[A-Za-z0-9_-]{43}:")


def b64e(b):
    """base64url without padding."""
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def new_id():
    """An id shaped like the module's: 43 chars of base64url (32 random bytes)."""
    return b64e(secrets.token_bytes(32))


def store_key(sid, prefix="shs:"):
    """memcached key = prefix + base64url-without-padding(SHA-256(id as ASCII))."""
    return prefix + b64e(hashlib.sha256(sid.encode("ascii")).digest())


def fingerprint(s):
    """The module's fingerprint of an id or a site name: 8 hex chars of SHA-256."""
    return hashlib.sha256(s.encode()).hexdigest()[:8]


def site_name(host, port):
    """A site as it is named in tokens and confirmation keys: host:port."""
    return f"{host}:{port}"


def confirm_key(sid, site, prefix="shs:"):
    """memcached key recording that `site` (host:port) accepted session `sid`."""
    return store_key(sid, prefix) + ".c." + fingerprint(site)


def unseal(raw):
    """A stored value without its MAC seal (a key file is configured): the session as
    mod_session encoded it; a value without a seal as it is."""
    m = SEALED_MAC_RE.match(raw) if raw is not None else None
    return raw[m.end():] if m else raw


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


class TokenCodec:
    """Python twin of shs_token.c (version 1), for reading the tokens of a page and forging
    ones the module never makes.  keys: {id: secret bytes}; the first one seals.  Needs
    python3-cryptography (ImportError without it)."""

    VERSION = 1
    _known = {}  # key ring -> codec: Visitor.push_headers() reads a token's source site

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

    _b64d = staticmethod(b64d)
    _b64e = staticmethod(b64e)

    def _body(self, token):
        """The decrypted body of a token (issued, lifetime, token id, sid, names)."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        raw = b64d(token)
        return AESGCM(self.keys[raw[1]]).decrypt(raw[2:14], raw[14:], raw[:2])

    def open(self, token):
        """-> dict(version, key_id, issued, lifetime, sid, src, dst, nonce); raises on error."""
        raw = b64d(token)
        ver, kid = raw[0], raw[1]
        body = self._body(token)
        issued = int.from_bytes(body[0:8], "big")
        lifetime = int.from_bytes(body[8:10], "big")
        sid = b64e(body[26:58])
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
                + b64d(sid))
        for s in (src, dst, nonce):
            body += bytes([len(s)]) + s.encode()
        hdr = bytes([self.VERSION if version is None else version, kid])
        iv = secrets.token_bytes(12)
        return b64e(hdr + iv + AESGCM(self.keys[kid]).encrypt(iv, body, hdr))
