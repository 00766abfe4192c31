"""Configuration checks at `apache2 -t -f CONF`."""

import base64
import os
import secrets

import pytest


def keyfile(dirpath, nbytes=32, mode=0o600, kid=1, name="keys.txt"):
    p = os.path.join(dirpath, name)
    with open(p, "w") as f:
        f.write(f"{kid} {base64.b64encode(secrets.token_bytes(nbytes)).decode()}\n")
    os.chmod(p, mode)
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
    rc, out, _ = configtest(memcache_servers=None, server_conf="SharedSessionStore memcache")
    assert rc != 0 and "SharedSessionMemcache" in out, out


@pytest.mark.parametrize("arg", ["localhost:99999", "nohostport", "127.0.0.1:0",
                                 "127.0.0.1:", ":11211"])
def test_bad_memcache_address(configtest, arg):
    rc, out, _ = configtest(memcache_servers=[arg])
    assert rc != 0, out
    assert "SharedSessionMemcache" in out, out


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
    rc, out, _ = configtest(vhost_conf={"b.test": snippet})
    assert rc != 0, out
    assert "cannot occur within <VirtualHost> section" in out, out
    assert directive.split()[0] in out


def test_keyfile_missing(configtest, base_dir):
    rc, out, _ = configtest(global_conf=f"SharedSessionKeyFile {base_dir}/no-such-keyfile")
    assert rc != 0, out
    assert "SharedSessionKeyFile" in out


def test_keyfile_world_readable(configtest, base_dir):
    kf = keyfile(base_dir, mode=0o644, name="world-keys.txt")
    rc, out, _ = configtest(global_conf=f"SharedSessionKeyFile {kf}")
    assert rc != 0, out
    assert "SharedSessionKeyFile" in out


def test_keyfile_short_key(configtest, base_dir):
    kf = keyfile(base_dir, nbytes=16, name="short-keys.txt")
    rc, out, _ = configtest(global_conf=f"SharedSessionKeyFile {kf}")
    assert rc != 0, out
    assert "SharedSessionKeyFile" in out


def test_keyfile_valid(configtest, base_dir):
    kf = keyfile(base_dir, name="ok-keys.txt")
    rc, out, _ = configtest(global_conf=f"SharedSessionKeyFile {kf}")
    assert rc == 0, out


def test_shared_session_without_session_on_warns(configtest):
    rc, out, _ = configtest(session_on=False)
    assert rc == 0, out
    assert "Session On" in out, out


@pytest.mark.parametrize("snippet,word", [
    ("SharedSessionMemcacheTimeout soon", "SharedSessionMemcacheTimeout"),
    ("SharedSessionMemcacheRetry -1", "SharedSessionMemcacheRetry"),
    ("SharedSessionMemcacheConnections 0", "SharedSessionMemcacheConnections"),
    ("SharedSessionKeyPrefix \"a b\"", "SharedSessionKeyPrefix"),
])
def test_bad_server_values(configtest, snippet, word):
    rc, out, _ = configtest(global_conf=snippet)
    assert rc != 0, out
    assert word in out


@pytest.mark.parametrize("snippet,word", [
    ("SharedSessionStoreDown maybe", "SharedSessionStoreDown"),
    ("SharedSessionTTL 0", "SharedSessionTTL"),
    ("SharedSessionCookieName \"bad name\"", "SharedSessionCookieName"),
])
def test_bad_dir_values(configtest, snippet, word):
    rc, out, _ = configtest(vhost_conf=snippet)
    assert rc != 0, out
    assert word in out


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
    rc, out, _ = configtest(global_conf="SharedSessionGroup shop a.test b.test c.test")
    assert rc != 0, out
    assert "SHS00205" in out and "SharedSessionKeyFile" in out, out
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
    rc, out, _ = configtest(global_conf="SharedSessionStoreEncrypt On")
    assert rc != 0, out
    assert "SHS00206" in out and "SharedSessionKeyFile" in out, out


def test_store_encrypt_with_keyfile(configtest, base_dir):
    rc, out, _ = configtest(global_conf=f"SharedSessionStoreEncrypt On\n"
                                        f"SharedSessionKeyFile {keyfile(base_dir)}")
    assert rc == 0 and "Syntax OK" in out, out


@pytest.mark.parametrize("snippet,word", [
    ("SharedSessionEndpoint _shs/", "SharedSessionEndpoint"),
    ("SharedSessionEndpoint /_shs", "SharedSessionEndpoint"),
    ("SharedSessionEndpoint /", "SharedSessionEndpoint"),
    ("SharedSessionEndpoint /a/../b/", "SharedSessionEndpoint"),
    ("SharedSessionEndpoint \"/a b/\"", "SharedSessionEndpoint"),
    ("SharedSessionGroup \"bad name\" a.test b.test", "not a valid group name"),
    ("SharedSessionGroup sh*p a.test b.test", "not a valid group name"),
    ("SharedSessionGroup shop a.test", "SharedSessionGroup"),
    ("SharedSessionGroup g1 a.test b.test\nSharedSessionGroup g2 c.test a.test",
     "already in group"),
    ("SharedSessionGroup g1 a.test b.test\nSharedSessionGroup g1 c.test x.test",
     "defined twice"),
    ("SharedSessionGroup shop ftp://a.test b.test", "SharedSessionGroup"),
    ("SharedSessionGroup shop a.test/path b.test", "SharedSessionGroup"),
    ("SharedSessionGroup shop a.test:0 b.test", "SharedSessionGroup"),
    ("SharedSessionTokenLifetime 1", "SharedSessionTokenLifetime"),
    ("SharedSessionTokenLifetime 3601", "SharedSessionTokenLifetime"),
    ("SharedSessionPushRetry 86401", "SharedSessionPushRetry"),
    ("SharedSessionPushRetry -1", "SharedSessionPushRetry"),
])
def test_push_bad_server_values(configtest, base_dir, snippet, word):
    kf = keyfile(base_dir, name="push-bad-keys.txt")
    rc, out, _ = configtest(global_conf=f"SharedSessionKeyFile {kf}\n{snippet}")
    assert rc != 0, out
    assert word in out, out


@pytest.mark.parametrize("directive", [
    "SharedSessionEndpoint /_shs/",
    "SharedSessionTokenLifetime 30",
    "SharedSessionPushRetry 300",
])
def test_push_server_directive_refused_in_virtualhost(configtest, directive):
    rc, out, _ = configtest(vhost_conf={"b.test": directive})
    assert rc != 0, out
    assert "cannot occur within <VirtualHost> section" in out, out


@pytest.mark.parametrize("snippet,word", [
    ("SharedSessionTransport iframe", "SharedSessionTransport"),
    ("SharedSessionInject maybe", "SharedSessionInject"),
])
def test_push_bad_dir_values(configtest, snippet, word):
    rc, out, _ = configtest(vhost_conf=snippet)
    assert rc != 0, out
    assert word in out, out
