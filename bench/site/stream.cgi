#!/bin/sh
# A 1 GiB HTML page streamed in chunks (nobody holds it in memory): the tag-injection filter
# must pass it through with a flat memory footprint.  ?n=BYTES asks for another size.
n=1073741824
case "$QUERY_STRING" in
    n=[0-9]*) v=${QUERY_STRING#n=}; case "$v" in *[!0-9]*) ;; *) n=$v ;; esac ;;
esac
printf 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n\r\n'
printf '<!doctype html>\n<html><head><title>stream</title></head>\n<body>\n'
yes '<p>Lorem ipsum dolor sit amet, <b>consectetur</b> adipiscing elit, sed do eiusmod.</p>' | head -c "$n"
printf '\n</body>\n</html>\n'
