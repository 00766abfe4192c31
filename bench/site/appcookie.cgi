#!/bin/sh
# An application with a cookie of its own (SharedSessionAppCookie PHPSESSID): sets it once
# (and a session through X-Replace-Session); ?show prints the Cookie header it is given.
if [ "${QUERY_STRING:-}" = show ]; then
    printf 'Content-Type: text/plain\r\nCache-Control: no-store\r\n\r\n%s\n' "${HTTP_COOKIE:-}"
else
    printf 'Content-Type: text/plain\r\nCache-Control: no-store\r\nX-Replace-Session: user=alice&cart=3\r\nSet-Cookie: PHPSESSID=bench0123456789abcdef; path=/\r\n\r\nlogged in\n'
fi
