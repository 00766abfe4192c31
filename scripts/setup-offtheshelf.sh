#!/bin/sh
# One-time set-up of the off-the-shelf application of the integration tests: Debian's
# MediaWiki package, unmodified, on SQLite, configured without any question asked.
#
#   scripts/setup-offtheshelf.sh [--install] DEST
#
# DEST gets a ready wiki that any directory can hold (the tests copy it into each test's own
# server root and point the web server at it with `SetEnv MW_CONFIG_FILE DEST/LocalSettings.php`
# and `Alias /w /usr/share/mediawiki`):
#
#   DEST/LocalSettings.php   the installer's settings and the test settings below
#   DEST/data/               the SQLite databases (pages, users, and the sessions)
#   DEST/.ready              written last: the stamp of a finished set-up (package version)
#
# Idempotent: a DEST whose stamp matches the installed package is left as it is (exit 0);
# anything else in DEST is made again.  Nothing outside DEST is written, except:
#
# - with --install (as root): the missing Debian packages are installed with apt-get;
# - the mediawiki package's postinst enables /etc/apache2/conf-enabled/mediawiki.conf
#   (`Alias /mediawiki /var/lib/mediawiki` in the MACHINE's Apache: an uninstalled wiki whose
#   web installer anybody could run).  The tests never use the machine's Apache; this script
#   restores the configuration as it was before the package (the symlink removed, as
#   `a2disconf mediawiki` does) when it is root.  SHS_KEEP_SYSTEM_MEDIAWIKI_CONF=1 keeps it.
#
# Exit status: 0 ready; 3 a Debian package is missing (the message names it); other: failure.
#
# The wiki: name TestWiki, database name wikidb (so the cookies are wikidb_session,
# wikidbUserID, wikidbUserName, and wikidbToken / wikidbLoggedOut), one account:
#   user Admin, password in DEST/admin-password (also printed by this script).
#
# Settings the tests need, added after the installer's (every one is written to
# LocalSettings.php with a comment):
#   $wgSQLiteDataDir  = __DIR__ . '/data'       relocatable: the copy finds its own databases
#   $wgServer         = WebRequest::detectServer()  each site (a.test:PORT, b.test:PORT...) makes
#                                                URLs for itself, not for the installer's host
#   $wgCookiePrefix   = 'wikidb'                 the cookie names above, whatever the DB name
#   $wgSessionCacheType = CACHE_DB               sessions in the SQLite object cache, the same
#                                                for every site that runs this copy
#   $wgMainCacheType  = CACHE_NONE               (the installer's choice, kept)
#   $wgPasswordAttemptThrottle = false           tests log in many times from 127.0.0.1
#   $wgJobRunRate     = 0                        no job runs at the end of a web request
#   $wgEnableEmail    = false                    no mail
#   $wgUseImageMagick = false                    the installer pointed at /usr/local/bin/convert
#   $wgShowExceptionDetails = true               a failure shows its reason in the test output
#   $wgEnableUploads  = false                    (the installer's choice, kept)
set -eu

install=0
if [ "${1-}" = "--install" ]; then
    install=1
    shift
fi
dest=${1:?usage: $0 [--install] DEST}

PKGS="mediawiki php-cgi php-cli php-sqlite3 php-intl php-mbstring php-xml"
MW=/usr/share/mediawiki
ADMIN_PW='Sh4red-Session-Admin!'

# Restore the machine's Apache configuration as it was before the package.
restore_system_apache() {
    link=/etc/apache2/conf-enabled/mediawiki.conf
    [ -L "$link" ] || return 0
    [ "${SHS_KEEP_SYSTEM_MEDIAWIKI_CONF:-0}" != 1 ] || return 0
    [ "$(readlink "$link")" = "../conf-available/mediawiki.conf" ] || return 0
    [ -w /etc/apache2/conf-enabled ] || return 0
    rm -f "$link"
    echo "setup-offtheshelf: removed $link (enabled by the mediawiki package's postinst;" \
         "the tests never use the machine's Apache)" >&2
}
restore_system_apache

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    if [ "$install" = 1 ] && [ "$(id -u)" -eq 0 ]; then
        echo "setup-offtheshelf: installing:$missing" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
        restore_system_apache
    else
        echo "setup-offtheshelf: missing Debian package(s):$missing" \
             "(apt-get install$missing, or run this script with --install as root)" >&2
        exit 3
    fi
fi

version=$(dpkg-query -W -f='${Version}' mediawiki)
stamp="mediawiki $version"
if [ -f "$dest/.ready" ] && [ "$(cat "$dest/.ready")" = "$stamp" ] \
        && [ -f "$dest/LocalSettings.php" ] && [ -f "$dest/data/wikidb.sqlite" ]; then
    exit 0
fi

mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
tmp="$dest/.build.$$"
rm -rf "$tmp" "$dest/LocalSettings.php" "$dest/data" "$dest/.ready" "$dest/admin-password"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

# The installer writes LocalSettings.php into --confpath, never into /etc/mediawiki.  The
# address given here is only the installer's; $wgServer is detected per request below.
MW_CONFIG_FILE="$tmp/LocalSettings.php" php "$MW/maintenance/install.php" --quiet \
    --dbtype sqlite --dbpath "$tmp/data" --dbname wikidb \
    --server http://a.test --scriptpath /w --lang en \
    --pass "$ADMIN_PW" --confpath "$tmp" \
    TestWiki Admin >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2
    echo "setup-offtheshelf: maintenance/install.php failed" >&2
    exit 1
}

# The data directory the installer wrote in, as a PHP string literal in LocalSettings.php.
sed -i -e "s|^\$wgSQLiteDataDir = .*|\$wgSQLiteDataDir = __DIR__ . '/data';  # relocatable (setup-offtheshelf.sh)|" \
    "$tmp/LocalSettings.php"
grep -q "^\$wgSQLiteDataDir = __DIR__" "$tmp/LocalSettings.php" || {
    echo "setup-offtheshelf: \$wgSQLiteDataDir not found in the installer's LocalSettings.php" >&2
    exit 1
}
cat >>"$tmp/LocalSettings.php" <<'EOF'

# ---- added by scripts/setup-offtheshelf.sh (mod_sharedsession integration tests) ----
# Every site (a.test:PORT, b.test:PORT, c.test:PORT) makes URLs for itself.
$wgServer = WebRequest::detectServer();
# Cookie names: wikidb_session, wikidbUserID, wikidbUserName, wikidbToken, wikidbLoggedOut.
$wgCookiePrefix = 'wikidb';
# Sessions in the SQLite object cache of $wgSQLiteDataDir: one store for all the sites.
$wgSessionCacheType = CACHE_DB;
# The tests log in many times from 127.0.0.1.
$wgPasswordAttemptThrottle = false;
# No job runs at the end of a web request, no mail, no ImageMagick.
$wgJobRunRate = 0;
$wgEnableEmail = false;
$wgEnableUserEmail = false;
$wgUseImageMagick = false;
# A failure shows its reason in the test output.
$wgShowExceptionDetails = true;
EOF

php -l "$tmp/LocalSettings.php" >/dev/null
# Warm the localisation cache so that the first web request of a test is not the slow one.
MW_CONFIG_FILE="$tmp/LocalSettings.php" php "$MW/maintenance/rebuildLocalisationCache.php" \
    --lang en --quiet >/dev/null 2>&1 || true

printf '%s\n' "$ADMIN_PW" >"$tmp/admin-password"
mv "$tmp/LocalSettings.php" "$tmp/admin-password" "$dest/"
mv "$tmp/data" "$dest/data"
printf '%s\n' "$stamp" >"$dest/.ready"
echo "setup-offtheshelf: MediaWiki $version ready in $dest (user Admin, password $ADMIN_PW)" >&2
