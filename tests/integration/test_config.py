"""Configuration checks at `apache2 -t -f CONF`.

A refused configuration is asserted by its message and its line: `Httpd.assert_refused()`
(apache2 names the line of the config it refused and gives the directive's message, which
must be exactly the one expected), `Httpd.assert_check_failed()` for the module's checks
after reading (SHS002nn)."""

import os
import secrets
import socket

import pytest

import pyshs as H


def keyfile(dirpath, nbytes=32, mode=0o600, kid=1, name="keys.txt"):
    p = os.path.join(dirpath, name)
    H.write_keyfile(p, [(kid, secrets.token_bytes(nbytes))], mode)
    return p


def test_valid_config_passes(configtest):
    rc, out, _ = configtest()
    assert rc == 0, out
    assert "Syntax OK" in out
    assert "SHS" not in out, f"no warning expected for a valid config: {out}"


def test_valid_config_with_all_server_directives(configtest, base_dir):
    kf = keyfile(base_dir, name="valid-keys.txt")
    rc, out, _ = configtest(global_conf=f"""
SharedSessionMemcacheConnections 4
SharedSessionKeyPrefix app1:
SharedSessionKeyFile {kf}
SharedSessionGroup shop a.test b.test c.test
""", vhost_conf="SharedSessionCookieName sid \"Path=/; HttpOnly; SameSite=Strict\"\n"
                 "SharedSessionCookieRemove Off\nSharedSessionStoreDown 503\nSharedSessionTTL 600")
    assert rc == 0, out
    assert "Syntax OK" in out


def test_shared_session_without_memcache(configtest):
    """Without SharedSessionMemcache the sessions go to the embedded store: a valid
    configuration.  Asking for memcached without servers is not."""
    rc, out, _ = configtest(memcache_servers=None)
    assert rc == 0, out
    rc, out, h = configtest(memcache_servers=None, server_conf="SharedSessionStore memcache")
    line, = h.config_lines("SharedSessionStore memcache")
    h.assert_check_failed(rc, out, f"SHS00202: SharedSessionStore memcache ({h.conf}:{line}) "
                          "needs a memcached server: add 'SharedSessionMemcache host:port' to "
                          "the server configuration")


@pytest.mark.parametrize("arg,message", [
    ("localhost:99999", "'localhost:99999': the port must be 1..65535"),
    ("nohostport", "'nohostport' is not host:port or the absolute path of a unix socket"),
    ("run/memcached.sock",
     "'run/memcached.sock' is not host:port or the absolute path of a unix socket"),
    ("/" + "s" * 107, f"'/{'s' * 39}...': a socket path is at most 107 bytes"),
    ("127.0.0.1:0", "'127.0.0.1:0': the port must be 1..65535"),
    ("127.0.0.1:", "'127.0.0.1:': the port is not a number"),
    (":11211", "':11211' is not host:port or the absolute path of a unix socket"),
])
def test_bad_memcache_address(configtest, arg, message):
    rc, out, h = configtest(memcache_servers=[arg])
    h.assert_refused(rc, out, f"SharedSessionMemcache {arg}", f"SharedSessionMemcache: {message}")


@pytest.mark.parametrize("servers,twice", [
    (["127.0.0.1:11211", "127.0.0.1:11211"], "127.0.0.1:11211"),
    (["Cache.example:11211", "cache.example:11211"], "cache.example:11211"),
    (["/run/memcached.sock", "/run/memcached.sock"], "/run/memcached.sock"),
])
def test_memcache_server_listed_twice(configtest, servers, twice):
    """The same server twice would hold both copies of a replicated session."""
    rc, out, h = configtest(memcache_servers=servers)
    line = "SharedSessionMemcache " + " ".join(servers)
    h.assert_refused(rc, out, line, f"SharedSessionMemcache: '{twice}' is listed twice")


@pytest.mark.parametrize("servers", [
    ["localhost:11211", "127.0.0.1:11211"],          # a name and its address
    ["127.0.0.1:11211", "LOCALHOST:11211"],
    ["/run/shs-none//memcached.sock", "/run/shs-none/memcached.sock"],
    ["/run/shs-none/memcached.sock", "/run/./shs-none/memcached.sock"],
])
def test_memcache_server_spelled_twice(configtest, servers):
    """Two spellings of one server are refused like the same spelling twice."""
    rc, out, h = configtest(memcache_servers=servers)
    line = "SharedSessionMemcache " + " ".join(servers)
    h.assert_refused(rc, out, line, f"SharedSessionMemcache: '{servers[0]}' and '{servers[1]}' "
                     "are the same server")


def test_memcache_socket_and_its_link_are_one_server(configtest, tmp_path):
    sock = tmp_path / "mc.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(str(sock))
        os.symlink(sock, tmp_path / "link.sock")
        servers = [str(sock), str(tmp_path / "link.sock")]
        rc, out, h = configtest(memcache_servers=servers)
        h.assert_refused(rc, out, "SharedSessionMemcache " + " ".join(servers),
                         f"SharedSessionMemcache: '{servers[0]}' and '{servers[1]}' are the same "
                         "server")
    finally:
        s.close()


def test_memcache_distinct_servers_accepted(configtest):
    rc, out, _ = configtest(memcache_servers=["127.0.0.1:11211", "127.0.0.1:11212",
                                              "localhost:11213", "/run/shs-none/a.sock"])
    assert rc == 0, out


@pytest.mark.parametrize("directive", [
    "SharedSessionMemcache 127.0.0.1:11211",
    "SharedSessionMemcacheTimeout 250ms",
    "SharedSessionMemcacheRetry 1s",
    "SharedSessionMemcacheConnections 4",
    "SharedSessionKeyPrefix shs:",
    "SharedSessionKeyFile {keyfile}",
    "SharedSessionGroup g1 a.test b.test",
])
def test_server_directive_refused_in_virtualhost(configtest, base_dir, directive):
    kf = keyfile(base_dir, name="vh-keys.txt")
    snippet = directive.replace("{keyfile}", kf)
    rc, out, h = configtest(vhost_conf={"b.test": snippet})
    name = directive.split()[0]
    h.assert_refused(rc, out, snippet, f"{name} cannot occur within <VirtualHost> section",
                     host="b.test")


def test_keyfile_missing(configtest, base_dir):
    path = f"{base_dir}/no-such-keyfile"
    rc, out, h = configtest(global_conf=f"SharedSessionKeyFile {path}")
    h.assert_refused(rc, out, "SharedSessionKeyFile",
                     f"SharedSessionKeyFile: key file {path} does not exist")


def test_keyfile_world_readable(configtest, base_dir):
    kf = keyfile(base_dir, mode=0o644, name="world-keys.txt")
    rc, out, h = configtest(global_conf=f"SharedSessionKeyFile {kf}")
    h.assert_refused(rc, out, "SharedSessionKeyFile",
                     f"SharedSessionKeyFile: key file {kf} is readable or writable by other "
                     "users (mode 0644): run chmod 600 on it, or chmod 640 with the server's "
                     "group")


def test_keyfile_short_key(configtest, base_dir):
    kf = keyfile(base_dir, nbytes=16, name="short-keys.txt")
    rc, out, h = configtest(global_conf=f"SharedSessionKeyFile {kf}")
    # line 2: write_keyfile() puts a comment first
    h.assert_refused(rc, out, "SharedSessionKeyFile",
                     f"SharedSessionKeyFile: key file {kf}: line 2: the secret of key 1 is too "
                     "short (16 bytes, at least 32 are needed; e.g. openssl rand -base64 32)")


def test_keyfile_valid(configtest, base_dir):
    kf = keyfile(base_dir, name="ok-keys.txt")
    rc, out, _ = configtest(global_conf=f"SharedSessionKeyFile {kf}")
    assert rc == 0, out


def test_shared_session_without_session_on_warns(configtest):
    rc, out, h = configtest(session_on=False)
    assert rc == 0, out
    lines = [l.strip() for l in out.splitlines()]
    for host in H.VHOSTS:
        line, = h.config_lines("SharedSession On", host)
        msg = (f"SHS00203: SharedSession On ({h.conf}:{line}) but 'Session On' is not set for "
               f"the server {host}")
        assert msg in lines, f"expected {msg!r}:\n{out}"


# httpd's duration parser reads only a unit's first letters ("soon" would be 0 s, "5sec" 5 s):
# the module accepts digits and a whole unit only
@pytest.mark.parametrize("snippet,message", [
    ("SharedSessionMemcacheTimeout fast", "'fast' is not a duration (e.g. 250ms, 1s)"),
    ("SharedSessionMemcacheTimeout soon", "'soon' is not a duration (e.g. 250ms, 1s)"),
    ("SharedSessionMemcacheRetry 5sec", "'5sec' is not a duration (e.g. 250ms, 1s)"),
    ("SharedSessionMemcacheRetry -1", "'-1' is not a duration (e.g. 250ms, 1s)"),
    ("SharedSessionMemcacheConnections 0", "'0': give a number from 1 to 1024"),
    ("SharedSessionKeyPrefix \"a b\"", "'a b': use 1 to 64 printable characters without spaces"),
])
def test_bad_server_values(configtest, snippet, message):
    rc, out, h = configtest(global_conf=snippet)
    h.assert_refused(rc, out, snippet, f"{snippet.split()[0]}: {message}")


@pytest.mark.parametrize("snippet,message", [
    ("SharedSessionStoreDown maybe", "'maybe': use 'anonymous' or '503'"),
    ("SharedSessionTTL 0", "'0': out of range (seconds, at least 1)"),
    ("SharedSessionCookieName \"bad name\"", "'bad name' is not a valid cookie name"),
])
def test_bad_dir_values(configtest, snippet, message):
    rc, out, h = configtest(vhost_conf=snippet)
    # the first vhost's line is the one refused
    h.assert_refused(rc, out, snippet, f"{snippet.split()[0]}: {message}", host="a.test")


# ------------------------------------------------------------------ cross-domain push

def test_push_config_valid(configtest, base_dir):
    kf = keyfile(base_dir, name="push-ok-keys.txt")
    rc, out, _ = configtest(global_conf=f"""
SharedSessionKeyFile {kf}
SharedSessionGroup shop http://a.test:8080 https://b.test c.test:8443
SharedSessionEndpoint /_xfer/
SharedSessionTokenLifetime 60
SharedSessionPushRetry 0
SharedSessionReplace Off
""", vhost_conf="SharedSessionReplace On\nSharedSessionInject On\nSharedSessionTransport script")
    assert rc == 0, out
    assert "Syntax OK" in out


def test_push_group_without_keyfile(configtest):
    rc, out, h = configtest(global_conf="SharedSessionGroup shop a.test b.test c.test")
    line, = h.config_lines("SharedSessionGroup shop")
    h.assert_check_failed(rc, out, f"SHS00205: SharedSessionGroup shop ({h.conf}:{line}) needs "
                          "SharedSessionKeyFile: the tokens that carry a session between its "
                          "sites are encrypted")
    assert "SHS00207: 1 error in the mod_sharedsession configuration" in out, out


def test_every_startup_error_logged_and_counted(configtest):
    """Several start-up errors: each is logged with its own cause (not only the first), then
    one line counts them and the server does not start."""
    rc, out, _ = configtest(memcache_servers=None, server_conf="SharedSessionStore memcache",
                            global_conf="SharedSessionGroup shop a.test b.test c.test\n"
                                        "SharedSessionStoreEncrypt On")
    assert rc != 0, out
    for tag in ("SHS00205", "SHS00206", "SHS00202"):
        assert tag in out, f"{tag} missing: {out}"
    assert "SHS00207: 3 errors in the mod_sharedsession configuration, logged above" in out, out
    assert out.index("SHS00207") > max(out.index(t) for t in ("SHS00205", "SHS00206", "SHS00202"))
    assert "Syntax OK" not in out, out


def test_store_encrypt_without_keyfile(configtest):
    """Encryption asked for with nothing to derive its key from: refused at start-up, rather
    than sessions stored in clear."""
    rc, out, h = configtest(global_conf="SharedSessionStoreEncrypt On")
    h.assert_check_failed(rc, out, "SHS00206: SharedSessionStoreEncrypt On needs "
                          "SharedSessionKeyFile: the sessions are encrypted with a key derived "
                          "from it")


def test_store_encrypt_with_keyfile(configtest, base_dir):
    rc, out, _ = configtest(global_conf=f"SharedSessionStoreEncrypt On\n"
                                        f"SharedSessionKeyFile {keyfile(base_dir)}")
    assert rc == 0 and "Syntax OK" in out, out


ENDPOINT = "give a path like /_shs/ (letters, digits, '_', '.', '-', starting and ending with '/')"
GROUP_NAME = "is not a valid group name (letters, digits, '_', '.', '-')"


# the last line of a snippet is the one refused
@pytest.mark.parametrize("snippet,message", [
    ("SharedSessionEndpoint _shs/", "'_shs/': " + ENDPOINT),
    ("SharedSessionEndpoint /_shs", "'/_shs': " + ENDPOINT),
    ("SharedSessionEndpoint /", "'/': " + ENDPOINT),
    ("SharedSessionEndpoint /a/../b/", "'/a/../b/': " + ENDPOINT),
    ("SharedSessionEndpoint \"/a b/\"", "'/a b/': " + ENDPOINT),
    ("SharedSessionGroup \"bad name\" a.test b.test", "'bad name' " + GROUP_NAME),
    ("SharedSessionGroup sh*p a.test b.test", "'sh*p' " + GROUP_NAME),
    ("SharedSessionGroup shop a.test",
     "give a group name and at least two sites: NAME host host ..."),
    ("SharedSessionGroup g1 a.test b.test\nSharedSessionGroup g2 c.test a.test",
     "site 'a.test' is already in group 'g1'"),
    ("SharedSessionGroup g1 a.test b.test\nSharedSessionGroup g1 c.test x.test",
     "group 'g1' is defined twice"),
    ("SharedSessionGroup shop ftp://a.test b.test",
     "'ftp://a.test': only http:// and https:// are allowed"),
    ("SharedSessionGroup shop a.test/path b.test",
     "'a.test/path': give a site as [scheme://]host[:port], without a path"),
    ("SharedSessionGroup shop a.test:0 b.test", "'a.test:0': the port must be 1..65535"),
    ("SharedSessionTokenLifetime 1", "'1': give seconds from 5 to 3600"),
    ("SharedSessionTokenLifetime 3601", "'3601': give seconds from 5 to 3600"),
    ("SharedSessionPushRetry 86401", "'86401': give seconds from 0 to 86400"),
    ("SharedSessionPushRetry -1", "'-1': give seconds from 0 to 86400"),
])
def test_push_bad_server_values(configtest, base_dir, snippet, message):
    kf = keyfile(base_dir, name="push-bad-keys.txt")
    rc, out, h = configtest(global_conf=f"SharedSessionKeyFile {kf}\n{snippet}")
    line = snippet.splitlines()[-1]
    h.assert_refused(rc, out, line, f"{line.split()[0]}: {message}")


@pytest.mark.parametrize("directive", [
    "SharedSessionEndpoint /_shs/",
    "SharedSessionTokenLifetime 30",
    "SharedSessionPushRetry 300",
])
def test_push_server_directive_refused_in_virtualhost(configtest, directive):
    rc, out, h = configtest(vhost_conf={"b.test": directive})
    h.assert_refused(rc, out, directive,
                     f"{directive.split()[0]} cannot occur within <VirtualHost> section",
                     host="b.test")


@pytest.mark.parametrize("snippet,message", [
    ("SharedSessionTransport iframe", "SharedSessionTransport: 'iframe': use image or script "
     "(push), pull, both (e.g. 'image pull'), or none"),
    ("SharedSessionInject maybe", "SharedSessionInject must be On or Off"),     # httpd's
])
def test_push_bad_dir_values(configtest, snippet, message):
    rc, out, h = configtest(vhost_conf=snippet)
    h.assert_refused(rc, out, snippet, message, host="a.test")
