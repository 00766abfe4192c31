#!/bin/sh
# Every log call site has its own SHSnnnnn tag: fail on a tag used twice.
# Run by `make check`.
set -eu
top=${top_srcdir:-$(dirname "$0")/..}
dups=$(grep -ho '"SHS[0-9]\{5\}:' "$top"/mod_sharedsession.c "$top"/src/*.c | sort | uniq -d)
if [ -n "$dups" ]; then
    echo "log tags used at more than one call site: $dups" >&2
    exit 1
fi
n=$(grep -ho '"SHS[0-9]\{5\}:' "$top"/mod_sharedsession.c "$top"/src/*.c | sort -u | wc -l)
echo "log tags: $n, all unique"
