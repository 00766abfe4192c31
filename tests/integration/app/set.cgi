#!/bin/bash
# set.cgi?k=v&k2=v2 (already urlencoded) writes the query string back as the session update.
case "${QUERY_STRING-}" in
    *[!A-Za-z0-9%=\&._~+-]*) printf 'Status: 400\r\nContent-Type: text/plain\r\n\r\nbad query\n'; exit 0 ;;
esac
printf 'Content-Type: text/plain\r\nCache-Control: no-store\r\n'
if [ -n "${QUERY_STRING-}" ]; then
    printf 'X-Replace-Session: %s\r\n' "$QUERY_STRING"
fi
printf '\r\n'
printf 'HTTP_SESSION=%s\n' "${HTTP_SESSION-}"
