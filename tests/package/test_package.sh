#!/bin/bash
# The Debian package, end to end, in this machine's own Apache (the /etc/apache2 layout):
#
#   tests/package/test_package.sh        (as root; scripts/test.sh runs it as "Debian package")
#
#  1. the refusals below (Safety), before anything is changed;
#  2. scripts/build-deb.sh builds build/deb/libapache2-mod-sharedsession_VERSION_ARCH.deb
#     (lintian must be installed and find no error); its contents and Depends are checked;
#  3. the state of the machine's Apache is recorded: copies of /etc/apache2 and
#     /var/lib/apache2 (a2enmod's records), whether apache2 is installed;
#  4. apt-get install ./build/deb/...deb (the module is not enabled by it), the reference
#     .conf has every directive of the command table commented out, a2enmod sharedsession
#     enables mod_session with it;
#  5. the README's quick start for two sites a.test and b.test: key file, SharedSessionGroup,
#     SharedSessionHub, two name-based virtual hosts with Session On, SharedSession On and
#     SharedSessionAppCookie PHPSESSID (conf-available/ and sites-available/, a2enconf and
#     a2ensite), on a free port of 127.0.0.1 (ports.conf says only that port while the test
#     runs); apache2ctl configtest, apache2ctl start (the Debian way: /etc/apache2/envvars);
#  6. one session on both sites, through the module's real request flow, with curl: a login
#     (a CGI answering X-Replace-Session) and an application cookie (PHPSESSID) on a.test, the
#     push (a.test's page -> its /_shs/go -> b.test's /_shs/cb) gives b.test the same session,
#     a change made on b.test is read on a.test, a logout on b.test is a logout on a.test;
#     then a second visitor gets a.test's session on b.test by the redirect pull through the
#     hub (b.test -> b.test/_shs/pull -> a.test/_shs/attach -> b.test/_shs/cb);
#  7. apache2ctl stop, the test sites disabled, apt-get purge: nothing of the package is
#     left (dpkg -L, /etc/apache2, /var/lib/apache2, the store file), and Apache still
#     passes configtest, starts and stops;
#  8. always, on success or failure (trap): the Apache this test started is stopped (by the
#     pid of its pid file), the package purged if still installed, /etc/apache2 and
#     /var/lib/apache2 put back exactly as found (checked: diff -r and owners, modes, links
#     must match the copies), the test's files removed.
#
# Safety: this test never stops, reconfigures or restarts a server someone runs.  It refuses
# to run (a skip) when the machine's Apache is running (the pid file of /etc/apache2/envvars
# names a live process) -- except under CI=true, on a CI machine, where installing apache2
# started it: there it is stopped for the test and started again at the end -- when the
# package is already installed,
# or when a module installed by hand (/usr/lib/apache2/modules/mod_sharedsession.so, a
# sharedsession.load in mods-available) would be replaced by the package and removed by the
# purge.  If apache2 is not installed, it is installed (it is in scripts/debian-packages.txt)
# and left installed.
#
# Needs root.  Without root: skipped with a message, a failure under CI=true.
# Output: a PASS line per check; the first failed check prints FAIL and its evidence.
set -u -o pipefail
cd "$(dirname "$0")/../.."
TOP=$(pwd)
PKG=libapache2-mod-sharedsession
CI_MODE=0
[ "${CI:-}" = true ] && CI_MODE=1

pass() { echo "PASS: $*"; }
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
skip() {
    if [ "$CI_MODE" = 1 ]; then
        fail "$* [CI=true: a test that cannot run is a failure]"
    fi
    echo "SKIP: $*"
    exit 0
}
note() { echo "package-test: $*"; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
known_to_dpkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -qv 'not-installed'; }

[ "$(id -u)" -eq 0 ] || skip "needs root: it installs the package into the machine's Apache" \
    "(run: sudo $0)"

# One run at a time: two would share /etc/apache2.
exec 9>/run/lock/shs-package-test.lock
flock -n 9 || fail "another run of this test holds /run/lock/shs-package-test.lock"

command -v lintian >/dev/null || skip "lintian is not installed (apt-get install lintian)"

# ------------------------------------------------------------------ 1. refusals
had_apache2=1
installed apache2 || had_apache2=0
if [ "$had_apache2" = 0 ]; then
    sed 's/#.*//' scripts/debian-packages.txt | tr -s ' \t' '\n' | grep -qx apache2 ||
        fail "apache2 is not installed and not in scripts/debian-packages.txt"
    note "apache2 is not installed: installing it (a dependency of the tests, listed in" \
        "scripts/debian-packages.txt, so it stays installed)"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y \
        --no-install-recommends apache2 || fail "apt-get install apache2 failed"
fi

envvar() { (set +u; . /etc/apache2/envvars && eval "printf '%s' \"\$$1\""); }
PIDFILE=$(envvar APACHE_PID_FILE)
LOGDIR=$(envvar APACHE_LOG_DIR)
RUNDIR=$(envvar APACHE_RUN_DIR)
[ -n "$PIDFILE" ] && [ -n "$LOGDIR" ] || fail "/etc/apache2/envvars does not set APACHE_PID_FILE/APACHE_LOG_DIR"
STORE_FILE=/run/apache2/sharedsession-store
ERROR_LOG=$LOGDIR/error.log

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
running_pid() { [ -s "$PIDFILE" ] && pid_alive "$(cat "$PIDFILE")" && cat "$PIDFILE"; }

if pid=$(running_pid); then
    if [ "$had_apache2" = 0 ]; then
        # started by the postinst of the apache2 we installed just now: ours to stop
        apache2ctl stop >/dev/null 2>&1
        for _ in $(seq 100); do pid_alive "$pid" || break; sleep 0.1; done
        pid_alive "$pid" && fail "could not stop the Apache that installing apache2 started (pid $pid)"
    elif [ "$CI_MODE" = 1 ]; then
        # a CI machine: the Apache that installing apache2 started there (its postinst starts
        # it where no policy-rc.d stops it).  Stopped now, started again at the end.
        note "CI=true: the machine's Apache runs (pid $pid): stopped for the test, started again after"
        apache2ctl stop >/dev/null 2>&1
        for _ in $(seq 100); do pid_alive "$pid" || break; sleep 0.1; done
        pid_alive "$pid" && fail "could not stop the machine's Apache (pid $pid)"
        RESTART_AFTER=1
    else
        skip "the machine's Apache is running (pid $pid, $PIDFILE): this test reconfigures," \
            "starts and stops that Apache and never stops a server someone runs; stop it" \
            "(apache2ctl stop) and run the test again"
    fi
fi
if known_to_dpkg "$PKG"; then
    skip "$PKG is already installed (or not purged): this test would purge it; remove it" \
        "(apt-get purge $PKG) and run the test again"
fi
for f in /usr/lib/apache2/modules/mod_sharedsession.so /etc/apache2/mods-available/sharedsession.load \
    /etc/apache2/mods-available/sharedsession.conf; do
    [ -e "$f" ] && skip "$f exists (a module installed by hand?): the package would replace it" \
        "and its purge remove it; move it away and run the test again"
done

# ------------------------------------------------------------------ 2. the package
note "building the package (scripts/build-deb.sh)"
scripts/build-deb.sh || fail "scripts/build-deb.sh failed"
deb=$(ls "$TOP"/build/deb/${PKG}_*.deb 2>/dev/null)
[ -n "$deb" ] && [ "$(echo "$deb" | wc -l)" -eq 1 ] || fail "expected one $PKG .deb in build/deb: '$deb'"
pass "build-deb.sh built ${deb#"$TOP"/}, lintian found no error"

# what the package must hold, and what it must depend on
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/lib/apache2/modules/mod_sharedsession.so ./etc/apache2/mods-available/sharedsession.load \
    ./etc/apache2/mods-available/sharedsession.conf ./usr/bin/shs-token \
    ./usr/share/man/man1/shs-token.1.gz ./usr/share/doc/$PKG/README.gz ./usr/share/doc/$PKG/copyright; do
    grep -qxF "$f" <<<"$contents" || fail "the package has no $f; it has:"$'\n'"$contents"
done
depends=$(dpkg-deb -f "$deb" Depends)
for d in 'apache2-api-[0-9]{8}' 'libapr1' 'libaprutil1' 'libssl3'; do
    grep -Eq "(^|, )$d( |,|$)" <<<"$depends" || fail "Depends lacks $d: $depends"
done
pass "the package holds the module, its .load/.conf, shs-token and its man page; Depends: $depends"

WORK=$(mktemp -d /tmp/shs-package-test.XXXXXX) || fail "mktemp failed"
chmod 755 "$WORK"
SAVED=$WORK/saved
STARTED_PID=""
saved_ok=0
store_moved=0

# owners, modes and link targets of a tree, to compare with its copy
tree_meta() { (cd "$1" && find . -printf '%p %M %u %g %l\n' | LC_ALL=C sort); }

restore_tree() {  # restore_tree /etc/apache2 NAME: put the copy back, then compare
    local dir=$1 copy=$SAVED/$2
    rm -rf "$dir" && cp -a "$copy" "$dir" || {
        echo "FAIL: could not restore $dir from $copy (kept there)" >&2
        return 1
    }
    if ! diff -r --no-dereference "$copy" "$dir" >&2 || [ "$(tree_meta "$copy")" != "$(tree_meta "$dir")" ]; then
        echo "FAIL: $dir differs from its copy $copy after the restore (kept there)" >&2
        return 1
    fi
    echo "PASS: $dir restored as found (diff -r and owners/modes/links identical)"
}

stop_apache() {  # apache2ctl stop, then wait for the pid of the pid file to go (bounded)
    local pid
    pid=$(running_pid) || return 0
    apache2ctl stop >/dev/null 2>&1
    for _ in $(seq 150); do pid_alive "$pid" || return 0; sleep 0.1; done
    # only the process this test started, by its pid
    [ "$pid" = "$STARTED_PID" ] && kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do pid_alive "$pid" || return 0; sleep 0.1; done
    echo "FAIL: Apache (pid $pid) did not stop" >&2
    return 1
}

cleanup() {
    local rc=$? ok=1
    trap - EXIT INT TERM
    set +e
    echo "== package test: restoring the machine's Apache"
    if [ -n "$STARTED_PID" ]; then
        stop_apache || ok=0
    fi
    if known_to_dpkg "$PKG"; then
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 purge -y "$PKG" \
            >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log" >&2; ok=0; }
    fi
    if [ "$saved_ok" = 1 ]; then
        restore_tree /etc/apache2 etc-apache2 || ok=0
        restore_tree /var/lib/apache2 var-lib-apache2 || ok=0
    fi
    if [ "$store_moved" = 1 ]; then
        mv -f "$SAVED/sharedsession-store" "$STORE_FILE" || ok=0
    else
        rm -f "$STORE_FILE"
    fi
    if [ "${RESTART_AFTER:-0}" = 1 ]; then
        apache2ctl start >/dev/null 2>&1 && echo "PASS: the machine's Apache started again, as found" \
            || { echo "FAIL: could not start the machine's Apache again (apache2ctl start)" >&2; ok=0; }
    fi
    if [ "$had_apache2" = 0 ]; then
        note "apache2 was not installed before this test; it stays installed (a dependency" \
            "of the tests in scripts/debian-packages.txt)"
    fi
    if [ "$ok" = 1 ]; then
        rm -rf "$WORK"
    else
        echo "FAIL: the restore was not complete; the copies are in $SAVED" >&2
        rc=1
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ 3. record the state
mkdir -p "$SAVED"
cp -a /etc/apache2 "$SAVED/etc-apache2" && cp -a /var/lib/apache2 "$SAVED/var-lib-apache2" ||
    fail "could not copy /etc/apache2 and /var/lib/apache2 to $SAVED"
saved_ok=1
if [ -e "$STORE_FILE" ]; then
    mv "$STORE_FILE" "$SAVED/sharedsession-store" && store_moved=1 || fail "could not move $STORE_FILE aside"
fi
pass "recorded the machine's Apache: apache2 installed before: $([ $had_apache2 = 1 ] && echo yes || echo no)," \
    "running: no; /etc/apache2 and /var/lib/apache2 copied to $SAVED"

# ------------------------------------------------------------------ 4. install, a2enmod
session_before=no
[ -e /etc/apache2/mods-enabled/session.load ] && session_before=yes
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y "$deb" \
    >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; fail "apt-get install $deb failed"; }
installed "$PKG" || fail "$PKG is not installed after apt-get install"
[ -f /usr/lib/apache2/modules/mod_sharedsession.so ] || fail "no /usr/lib/apache2/modules/mod_sharedsession.so"
[ ! -e /etc/apache2/mods-enabled/sharedsession.load ] ||
    fail "installing the package enabled the module (it should wait for a2enmod)"
pass "apt-get install ./${deb#"$TOP"/}: installed, module not enabled yet"

# every directive of the module's command table is in the reference .conf, commented out
# (read from the sources by scripts/shs_source.py, as the reference checks of make check do)
directives=$(/usr/bin/python3 -c 'import sys; sys.path.insert(0, "scripts"); import shs_source as s
print("\n".join(sorted({d["name"] for d in s.directive_table(".")})))') ||
    fail "could not read the command table (scripts/shs_source.py)"
[ "$(echo "$directives" | wc -l)" -ge 20 ] || fail "could not read the command table: '$directives'"
conf=/etc/apache2/mods-available/sharedsession.conf
for d in $directives; do
    grep -Eq "^[[:space:]]*(#[[:space:]]*)+$d([[:space:]]|\$)" "$conf" || fail "$conf has no commented-out $d"
done
active=$(grep -Ev '^[[:space:]]*(#|$)' "$conf" | grep -Ev '^[[:space:]]*</?IfModule' || true)
[ -z "$active" ] || fail "$conf has active lines: $active"
pass "$conf: all $(echo "$directives" | wc -l) directives of the command table, commented out, nothing active"

a2enmod sharedsession >"$WORK/a2enmod.log" 2>&1 || { cat "$WORK/a2enmod.log" >&2; fail "a2enmod sharedsession failed"; }
for m in session.load sharedsession.load sharedsession.conf; do
    [ -L "/etc/apache2/mods-enabled/$m" ] || fail "a2enmod sharedsession did not enable $m:"$'\n'"$(cat "$WORK/a2enmod.log")"
done
pass "a2enmod sharedsession enabled sharedsession and session (enabled before: $session_before)"

# ------------------------------------------------------------------ 5. the quick start
PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
    fail "no free port found"
A=a.test
B=b.test
KEYFILE=/etc/apache2/sharedsession.key
WWW=$WORK/www
mkdir -p "$WWW/$A" "$WWW/$B"

printf '1 %s\n' "$(openssl rand -base64 32)" >"$KEYFILE" && chmod 600 "$KEYFILE" || fail "could not write $KEYFILE"

# the only port while the test runs (ports.conf is put back afterwards)
printf '# mod_sharedsession package test: the only port while the test runs\nListen 127.0.0.1:%s\n' \
    "$PORT" >/etc/apache2/ports.conf

cat >/etc/apache2/conf-available/shs-pkgtest.conf <<EOF
# mod_sharedsession package test: the server part of the README's quick start
SharedSessionKeyFile  $KEYFILE
SharedSessionGroup    pkgtest http://$A:$PORT http://$B:$PORT
SharedSessionHub      pkgtest http://$A:$PORT
EOF
for h in $A $B; do
    cat >"/etc/apache2/sites-available/shs-pkgtest-$h.conf" <<EOF
# mod_sharedsession package test: one site of the README's quick start
<VirtualHost 127.0.0.1:$PORT>
    ServerName $h
    DocumentRoot $WWW/$h
    <Directory $WWW/$h>
        Options +ExecCGI
        AddHandler cgi-script .cgi
        Require all granted
    </Directory>
    Session On
    SessionMaxAge 3600
    SharedSession On
    SharedSessionAppCookie PHPSESSID
    SessionEnv On
    SessionHeader X-Replace-Session
</VirtualHost>
EOF
done

# the application: set.cgi?QUERY stores QUERY in the session (mod_session's SessionHeader),
# show.cgi prints the session (SessionEnv) and the cookies it got, app.cgi starts the
# application's own session (a PHPSESSID cookie, as PHP would), page.html is a page
for h in $A $B; do
    cat >"$WWW/$h/set.cgi" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\nX-Replace-Session: %s\r\n\r\nset %s\n' "$QUERY_STRING" "$QUERY_STRING"
EOF
    cat >"$WWW/$h/show.cgi" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\nsession=[%s]\ncookies=[%s]\n' "${HTTP_SESSION-}" "${HTTP_COOKIE-}"
EOF
    cat >"$WWW/$h/app.cgi" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\nSet-Cookie: PHPSESSID=%s; path=/; HttpOnly\r\n\r\napp session started\n' "$QUERY_STRING"
EOF
    printf '<!doctype html>\n<html><head><title>%s</title></head>\n<body>\n<p>a page of %s</p>\n</body>\n</html>\n' \
        "$h" "$h" >"$WWW/$h/page.html"
done
chmod -R a+rX "$WWW" && chmod 755 "$WWW"/*/*.cgi

for cmd in "a2enmod -q cgi" "a2enconf -q shs-pkgtest" "a2ensite -q shs-pkgtest-$A" "a2ensite -q shs-pkgtest-$B"; do
    $cmd >>"$WORK/a2en.log" 2>&1 || { cat "$WORK/a2en.log" >&2; fail "$cmd failed"; }
done
pass "the README's quick start for $A and $B on 127.0.0.1:$PORT: conf-available/shs-pkgtest.conf," \
    "sites-available/shs-pkgtest-{$A,$B}.conf enabled, key file $KEYFILE"

# ------------------------------------------------------------------ 5. configtest, start
configtest() {
    apache2ctl configtest >"$WORK/configtest.log" 2>&1 || {
        cat "$WORK/configtest.log" >&2
        fail "apache2ctl configtest failed ($1)"
    }
}
start_apache() {  # apache2ctl start; wait for the pid file and the port (bounded)
    : >"$WORK/start.log"
    apache2ctl start >"$WORK/start.log" 2>&1 || {
        cat "$WORK/start.log" >&2
        tail -n 20 "$ERROR_LOG" >&2
        fail "apache2ctl start failed ($1)"
    }
    local pid=""
    for _ in $(seq 100); do
        pid=$(running_pid) && break
        sleep 0.1
    done
    [ -n "$pid" ] || { tail -n 20 "$ERROR_LOG" >&2; fail "Apache did not start: no live pid in $PIDFILE ($1)"; }
    STARTED_PID=$pid
    for _ in $(seq 100); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/" && return 0
        sleep 0.1
    done
    fail "Apache (pid $pid) does not answer on 127.0.0.1:$PORT ($1)"
}

configtest "the module enabled, two sites"
pass "apache2ctl configtest: $(tail -n 1 "$WORK/configtest.log")"
log_start=$(stat -c %s "$ERROR_LOG" 2>/dev/null || echo 0)
start_apache "the module enabled, two sites"
pass "apache2ctl start: Apache runs (pid $STARTED_PID), answers on 127.0.0.1:$PORT"

# ------------------------------------------------------------------ 6. one session, two sites
# A visitor's browser, with curl: one cookie jar per host ($WORK/jar-VISITOR-HOST, lines
# name=value; attributes are not enforced: the callback's cookie is Secure and this runs over
# http, a browser would keep it over https).  req VISITOR HOST PATH [curl options]: the
# request with HOST's cookies; $STATUS, $WORK/h (headers), $WORK/b (body); Set-Cookie
# answers update the jar (Max-Age=0 or an Expires in the past deletes).
jar_file() { echo "$WORK/jar-$1-$2"; }
cookie_of() { sed -n "s/^$3=//p" "$(jar_file "$1" "$2")" 2>/dev/null; }
req() {
    local visitor=$1 host=$2 path=$3 jar cookie
    shift 3
    jar=$(jar_file "$visitor" "$host")
    touch "$jar"
    cookie=$(paste -sd';' "$jar" | sed 's/;/; /g')
    STATUS=$(curl -sS -o "$WORK/b" -D "$WORK/h" -w '%{http_code}' --max-time 10 \
        -H "Host: $host:$PORT" ${cookie:+-H "Cookie: $cookie"} "$@" "http://127.0.0.1:$PORT$path") ||
        fail "curl $host$path failed"
    tr -d '\r' <"$WORK/h" | sed -n 's/^[Ss]et-[Cc]ookie: *//p' | while IFS= read -r sc; do
        local nv=${sc%%;*} name=${sc%%=*}
        grep -v "^$name=" "$jar" >"$jar.new"
        if ! grep -Eiq ';[[:space:]]*(max-age=0|expires=[^;]*19[0-9][0-9])' <<<"$sc"; then
            echo "$nv" >>"$jar.new"
        fi
        mv "$jar.new" "$jar"
    done
}
header() { tr -d '\r' <"$WORK/h" | sed -n "s/^$1: *//Ip" | head -n 1; }
body() { cat "$WORK/b"; }
expect_status() { [ "$STATUS" = "$1" ] || fail "$2: status $STATUS, expected $1; headers:"$'\n'"$(cat "$WORK/h")"$'\n'"$(head -c 600 "$WORK/b")"; }
expect_body() { grep -q -- "$1" "$WORK/b" || fail "$2: the answer lacks '$1':"$'\n'"$(head -c 600 "$WORK/b")"; }
expect_no_body() { ! grep -q -- "$1" "$WORK/b" || fail "$2: the answer has '$1':"$'\n'"$(head -c 600 "$WORK/b")"; }

# a.test: a login (user=alice in the session) and the application's own session cookie
req v1 $A "/set.cgi?user=alice"
expect_status 200 "login on $A"
id_a=$(cookie_of v1 $A shs_session)
[ -n "$id_a" ] || fail "login on $A: no shs_session cookie; headers:"$'\n'"$(cat "$WORK/h")"
phpsessid=app$RANDOM$RANDOM
req v1 $A "/app.cgi?$phpsessid"
expect_status 200 "the application's session on $A"
[ -z "$(cookie_of v1 $A PHPSESSID)" ] ||
    fail "$A sent the application's PHPSESSID cookie to the browser (SharedSessionAppCookie keeps it)"
req v1 $A /show.cgi
expect_status 200 "$A/show.cgi"
expect_body "user=alice" "$A reads its session"
expect_body "PHPSESSID=$phpsessid" "$A's application gets its cookie from the shared session"
id_a=$(cookie_of v1 $A shs_session)
pass "$A: login and application cookie kept in the shared session (browser has only shs_session)"

# b.test knows nothing of it yet
req v1 $B /show.cgi
expect_status 200 "$B/show.cgi before the push"
expect_no_body "user=alice" "$B before the push"
pass "$B before the hand-over: no session"

# the push: the page on a.test carries a loader tag for b.test; the browser loads it
req v1 $A /page.html
expect_status 200 "$A/page.html"
# the tag's URL, HTML-escaped in the page (&#61; for =, &amp; for &)
go=$(grep -o '<img src="/_shs/go?[^"]*"' "$WORK/b" | sed 's/^<img src="//; s/"$//; s/&#61;/=/g; s/&amp;/\&/g' |
    grep -i "[?&]to=$B%3a$PORT&" | head -n 1)
[ -n "$go" ] || fail "$A/page.html has no loader tag for $B:"$'\n'"$(body)"
req v1 $A "$go" -H "Referer: http://$A:$PORT/" -H 'Sec-Fetch-Dest: image' -H 'Sec-Fetch-Mode: cors' \
    -H 'Sec-Fetch-Site: same-origin'
expect_status 302 "$A$go (the go step)"
cb=$(header Location)
case $cb in
    "http://$B:$PORT/_shs/cb?"*) ;;
    *) fail "the go step on $A redirected to '$cb', not to $B's callback" ;;
esac
req v1 $B "${cb#"http://$B:$PORT"}" -H "Origin: http://$A:$PORT" -H "Referer: http://$A:$PORT/" \
    -H 'Sec-Fetch-Dest: image' -H 'Sec-Fetch-Mode: cors' -H 'Sec-Fetch-Site: cross-site'
expect_status 200 "$B's callback"
[ "$(header Content-Type)" = image/gif ] || fail "$B's callback answered $(header Content-Type), not image/gif"
[ "$(cookie_of v1 $B shs_session)" = "$id_a" ] ||
    fail "$B's callback did not give the browser $A's id:"$'\n'"$(cat "$WORK/h")"
pass "the push: $A/page.html -> $A/_shs/go -> $B/_shs/cb set $A's session id on $B"

# the installed shs-token reads that token with the key file
token=${cb#*\?t=}
token=${token%%&*}
/usr/bin/shs-token open --keyfile "$KEYFILE" "$token" >"$WORK/token.txt" 2>&1
grep -q "^src: *$A:$PORT\$" "$WORK/token.txt" && grep -q "^dst: *$B:$PORT\$" "$WORK/token.txt" ||
    fail "shs-token open did not read the push token ($A -> $B):"$'\n'"$(cat "$WORK/token.txt")"
pass "/usr/bin/shs-token open reads the push token ($A:$PORT -> $B:$PORT):" \
    "$(sed -n 's/^status: *//p; s/^refused: */refused: /p' "$WORK/token.txt" | sed 's/ (.*//')"

req v1 $B /show.cgi
expect_body "user=alice" "$B after the push"
expect_body "PHPSESSID=$phpsessid" "$B's application after the push"
pass "$B reads the session of $A: user=alice, and its application gets PHPSESSID=$phpsessid"

# a change made on b.test is read on a.test
req v1 $B "/set.cgi?cart=3"
expect_status 200 "cart on $B"
req v1 $A /show.cgi
expect_body "cart=3" "$A after a change on $B"
expect_body "user=alice" "$A after a change on $B"
pass "$A reads what $B wrote (cart=3)"

# a logout on b.test is a logout on a.test
req v1 $B "/set.cgi?user="
expect_status 200 "logout on $B"
req v1 $A /show.cgi
expect_no_body "user=alice" "$A after the logout on $B"
pass "a logout on $B is a logout on $A"

# the pull through the hub: a second visitor logs in on the hub a.test, then goes to b.test
NAV=(-H 'Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' -H 'Sec-Fetch-Mode: navigate'
    -H 'Sec-Fetch-Dest: document' -H 'Sec-Fetch-User: ?1')
req v2 $A "/set.cgi?user=bob"
id_hub=$(cookie_of v2 $A shs_session)
[ -n "$id_hub" ] || fail "login of bob on $A: no shs_session cookie"
url="http://$B:$PORT/show.cgi"
site=none
hops=""
for _ in $(seq 8); do
    host=${url#http://}
    host=${host%%:*}
    req v2 "$host" "/${url#http://*/}" "${NAV[@]}" -H "Sec-Fetch-Site: $site"
    hops="$hops"$'\n'"  $STATUS ${url%%\?t=*}"  # (tokens left out)
    case $STATUS in 301 | 302 | 303 | 307) ;; *) break ;; esac
    next=$(header Location)
    case $next in /*) next="http://$host:$PORT$next" ;; esac
    [ "${next#"http://$host:"}" != "$next" ] && site=same-origin || site=cross-site
    url=$next
done
expect_status 200 "the pull ended on $url:$hops"
case $hops in
    *"/_shs/pull"*"/_shs/attach"*"/_shs/cb"*) ;;
    *) fail "the navigation to $B did not go through pull, attach and cb:$hops" ;;
esac
[ "$(cookie_of v2 $B shs_session)" = "$id_hub" ] || fail "after the pull $B has not the hub's id:$hops"
expect_body "user=bob" "$B after the pull"
pass "the pull: a navigation to $B went through $A (hub) and came back with bob's session:$hops"

# the sessions were in the embedded store, the default: its file in Apache's run directory
[ -f "$STORE_FILE" ] || fail "no $STORE_FILE: where did the sessions go? ($(ls -la "$RUNDIR" 2>&1))"
pass "the sessions lived in the embedded store (the default), $STORE_FILE"

# nothing the module (or mod_session) logged at warn or above in Apache's error log
bad=$(tail -c +"$((log_start + 1))" "$ERROR_LOG" 2>/dev/null | grep -E '\[(sharedsession|session):(warn|error|crit|alert|emerg)\]' || true)
[ -z "$bad" ] || fail "the error log ($ERROR_LOG) has:"$'\n'"$bad"
pass "no warning or error of the module in $ERROR_LOG"

# ------------------------------------------------------------------ 7. stop, purge, nothing left
stop_apache || fail "apache2ctl stop did not stop Apache"
STARTED_PID=""
pass "apache2ctl stop: Apache stopped"
for cmd in "a2dissite -q shs-pkgtest-$A" "a2dissite -q shs-pkgtest-$B" "a2disconf -q shs-pkgtest"; do
    $cmd >>"$WORK/a2dis.log" 2>&1 || { cat "$WORK/a2dis.log" >&2; fail "$cmd failed"; }
done
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 purge -y "$PKG" >"$WORK/purge.log" 2>&1 ||
    { cat "$WORK/purge.log" >&2; fail "apt-get purge $PKG failed"; }
if out=$(dpkg -L "$PKG" 2>/dev/null) && [ -n "$out" ]; then
    fail "dpkg -L $PKG still lists files after the purge:"$'\n'"$out"
fi
# (the key file is the administrator's, here the test's: no package removes it)
left=$(find /etc/apache2 /var/lib/apache2 -name '*sharedsession*' ! -path "$KEYFILE" 2>/dev/null)
[ -z "$left" ] || fail "left after the purge:"$'\n'"$left"
[ ! -e /usr/lib/apache2/modules/mod_sharedsession.so ] || fail "the module is left after the purge"
[ ! -e /usr/bin/shs-token ] || fail "/usr/bin/shs-token is left after the purge"
[ ! -e "$STORE_FILE" ] || fail "the session store $STORE_FILE is left after the purge"
pass "apt-get purge $PKG: dpkg -L empty, no sharedsession* under /etc/apache2 (but the key" \
    "file) or /var/lib/apache2, no module, no shs-token, no store file"

configtest "after the purge"
start_apache "after the purge"
stop_apache || fail "apache2ctl stop after the purge did not stop Apache"
STARTED_PID=""
pass "after the purge Apache passes configtest, starts and stops"
exit 0
