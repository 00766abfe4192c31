#!/bin/sh
# Install the Debian packages listed in scripts/debian-packages.txt (or in the list file
# given as the argument, e.g. bench/debian-packages.txt), only when one is missing.
# Needs root (it uses sudo when run as another user).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
list=${1:-$here/debian-packages.txt}
pkgs=$(sed -e 's/#.*//' "$list" | tr -s ' \n' ' ')
missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -n "$missing" ] || exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# libssl3 is listed so that it is upgraded too: the registry's mod_ssl is built against a
# newer OpenSSL than a fresh image ships
$SUDO apt-get install -y --no-install-recommends $pkgs
