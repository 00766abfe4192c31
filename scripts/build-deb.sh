#!/bin/sh
# Build the Debian package libapache2-mod-sharedsession (see debian/) into build/deb/:
#
#   scripts/build-deb.sh          (or `make deb`)
#
# The package is built from a copy of the source tree made in build/deb/: the files git knows
# (tracked ones as they are now, and new ones that are not ignored; outside a git checkout,
# the whole tree), so the developer's own build (configure, objects) is neither used nor
# touched and nothing is written outside build/.  Missing build dependencies (Build-Depends
# of debian/control) are installed with `apt-get build-dep` (with sudo when not root).  When
# lintian is installed it checks the result, and an error of lintian fails the build.
#
# The usual variables apply: DEB_BUILD_OPTIONS=nocheck skips the unit tests run during the
# build.  Result: build/deb/libapache2-mod-sharedsession_VERSION_ARCH.deb (and its .changes
# and .buildinfo); the full build log is build/deb/build.log.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
out=$top/build/deb
pkg=libapache2-mod-sharedsession

die() {
    echo "build-deb: $*" >&2
    exit 1
}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

apt_install() {
    echo "build-deb: installing: $*" >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

[ -f debian/control ] || die "no debian/control in $top"

# dpkg-dev reads the changelog and checks the build dependencies; debhelper builds.
command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
    apt_install dpkg-dev debhelper

# The package's version is the one of configure.ac: a release needs a changelog entry.
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
upstream=$(sed -n 's/^AC_INIT(\[mod_sharedsession\], *\[\([^]]*\)\].*/\1/p' configure.ac)
[ -n "$upstream" ] || die "no version found in the AC_INIT line of configure.ac"
[ "$version" = "$upstream" ] ||
    die "debian/changelog is at $version but configure.ac at $upstream: add a changelog" \
        "entry for $upstream (dch -v $upstream)"

rm -rf "$out"
src=$out/$pkg-$version
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked files as they are in the work tree, new files git does not ignore; a tracked
    # file deleted in the work tree is left out
    git ls-files -z --cached --others --exclude-standard |
        xargs -0 sh -c 'for f; do if [ -e "$f" ] || [ -L "$f" ]; then printf "%s\0" "$f"; fi; done' sh |
        tar --null --files-from=- -cf - | tar -C "$src" -xf -
else
    # not a git checkout (a release tarball): everything but build/; the clean step of
    # dpkg-buildpackage (make distclean) removes what an earlier build left in the copy
    echo "build-deb: not a git checkout: building from a copy of the whole tree" >&2
    tar --exclude=./build --exclude=./tests/e2e/node_modules -cf - . | tar -C "$src" -xf -
fi

cd "$src"
if ! dpkg-checkbuilddeps >/dev/null 2>&1; then
    dpkg-checkbuilddeps 2>&1 | sed 's/^/build-deb: /' >&2 || true
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y --no-install-recommends ./
fi

echo "build-deb: building $pkg $version in ${src#"$top"/} (log: ${out#"$top"/}/build.log)"
if ! dpkg-buildpackage -us -uc -b -jauto >"$out/build.log" 2>&1; then
    tail -n 60 "$out/build.log" >&2
    die "dpkg-buildpackage failed; the full log is $out/build.log, the tree $src"
fi
cd "$top"
rm -rf "$src"

changes=$(ls "$out"/${pkg}_"$version"_*.changes)
deb=$(ls "$out"/${pkg}_"$version"_*.deb)
echo "build-deb: built ${deb#"$top"/}"

if command -v lintian >/dev/null; then
    echo "build-deb: lintian ${changes#"$top"/}"
    rc=0
    report=$(lintian --fail-on error --display-info "$changes" 2>&1) || rc=$?
    # as root, lintian says so on every run: nothing to act on
    printf '%s\n' "$report" | grep -v 'running with root privileges' || true
    [ "$rc" -eq 0 ] || die "lintian found errors (lines starting with E: above)"
    echo "build-deb: lintian: no errors"
else
    echo "build-deb: lintian is not installed: the package was not checked (apt-get install lintian)"
fi
