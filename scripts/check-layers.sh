#!/bin/sh
# The include order of the sources, as docs/architecture.md draws it ("Layers"): one level a
# line, lowest first; a file (src/shs_X.c, src/shs_X.h, mod_sharedsession.c) includes only its
# own header and the headers of lower lines.  Names joined by '+' are one level whose files may
# include each other; names side by side on a line may not.  The core lines (above "httpd
# side") include no httpd header.  Every source file must be on a line.  Run by `make check`.
set -eu
top=${top_srcdir:-$(dirname "$0")/..}
doc="$top/docs/architecture.md"
[ -f "$doc" ] || { echo "check-layers: $doc is missing" >&2; exit 1; }

# "unit level group core" for every name of the layer block
layers=$(awk 'BEGIN { level = 0 }
    /<!-- layers: read by scripts\/check-layers.sh -->/ { want = 1; next }
    want && /^```/ { if (inblock) exit; inblock = 1; next }
    inblock {
        if ($0 ~ /httpd side/) httpd = 1
        found = 0
        for (i = 1; i <= NF; i++) {
            if ($i !~ /^(shs_[a-z0-9_]+|mod_sharedsession)(\+shs_[a-z0-9_]+)*$/) continue
            n = split($i, part, "+")
            for (j = 1; j <= n; j++) print part[j], level, $i, (httpd ? "httpd" : "core")
            found = 1
        }
        if (found) level++
    }' "$doc")
[ -n "$layers" ] || { echo "check-layers: no layer block in $doc" >&2; exit 1; }

status=0
place() { echo "$layers" | awk -v u="$1" '$1 == u { print $2, $3, $4 }'; }
bad() { echo "check-layers: $*" >&2; status=1; }

for f in "$top"/mod_sharedsession.c "$top"/src/shs_*.c "$top"/src/shs_*.h; do
    rel=${f#"$top"/}
    unit=$(basename "$f" | sed 's/\.[ch]$//')
    me=$(place "$unit")
    [ -n "$me" ] || { bad "$rel is on no line of the layers in docs/architecture.md"; continue; }
    set -- $me
    mylevel=$1 mygroup=$2 mycore=$3
    for inc in $(sed -n 's/^#include "\(src\/\)\{0,1\}\(shs_[a-z0-9_]*\)\.h".*/\2/p' "$f"); do
        [ "$inc" = "$unit" ] && continue
        it=$(place "$inc")
        [ -n "$it" ] || { bad "$rel includes $inc.h, which is on no line"; continue; }
        set -- $it
        if [ "$1" -gt "$mylevel" ] || { [ "$1" -eq "$mylevel" ] && [ "$2" != "$mygroup" ]; }; then
            bad "$rel includes $inc.h, which is not below it"
        fi
    done
    if [ "$mycore" = core ] &&
        grep -q '^#include <\(httpd\|http_[a-z]*\|ap_[a-z_]*\|util_[a-z_]*\|mod_[a-z_]*\|scoreboard\)\.h>' "$f"; then
        bad "$rel is core and includes an httpd header"
    fi
done
[ $status -eq 0 ] && echo "layers: $(echo "$layers" | wc -l) units, nothing includes upward"
exit $status
