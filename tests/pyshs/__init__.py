"""pyshs: the test harness of mod_sharedsession (integration, faults and browser suites).

- env.py       paths, binaries, the CI rule (missing component: skip, or fail under CI=true),
               free ports, processes, bounded waits (wait_until polls, wait_for fails by itself)
- conf.py      a test server's root and httpd.conf (HttpdConf), sites, TLS, key files, groups
- httpd.py     Httpd: process control, error-log checks (LogWatch), `apache2 -t` errors
- memcached.py Memcached (start, stall, kill, restart by pid) and McClient
- fakemc.py    FakeMemcached: a scripted memcached that misbehaves on purpose (pyshs.fakemc)
- client.py    one HTTP(S) request; Browser, Visitor (push) and Navigator (pull) with their jars
- tokens.py    ids, cookie names, store keys, sealed values, TokenCodec (twin of shs_token.c)
- tags.py      the push's loader tags in a page
- serve.py     `python3 -m pyshs.serve --config e2e`: a ready server for the browser suite

The names the suites use are importable from the package itself (`import pyshs as H`).
"""

from .client import (NAV_HEADERS, REDIRECT_STATUSES, Browser, Hop, Navigator, Response,
                     Visitor, cookie_expires_now, format_hops, parse_set_cookie, raw_request,
                     request)
from .conf import (ACCESS_LOG_FORMAT, AUTH_PW, AUTH_USER, GROUP_HOSTS, MODULES, VHOSTS,
                   HttpdConf, KeyFile, group_conf, make_certs, module_files, write_keyfile)
from .env import (APACHE2, APACHE_MODULES, APP_DIR, DEFAULT_MODULE, DEMO_APP_DIR, HTPASSWD,
                  MEMCACHED, OPENSSL, PHP_CGI, REPO, STORE, TESTS, WaitTimeout,
                  all_threads_stopped, builtin_modules, chmod_tree, ci, free_port, missing,
                  module_path, package_hint, parallel, pid_alive, port_open, require,
                  wait_for, wait_until)
from .httpd import BAD_LEVEL_RE, SHS_TAG_RE, Httpd, LogWatch, log_pid, log_time
from .memcached import McClient, Memcached
from .tags import Tag, find_tags, loose_tags
from .tokens import (COOKIE, ID_RE, PULL_COOKIE, SEALED_MAC_RE, STATE_COOKIE, SYNC_COOKIE,
                     TokenCodec, confirm_key, decode_session, fingerprint, new_id, site_name,
                     store_key, unseal)
