#!/bin/sh
# Creates (or rewrites) the session through mod_session's SessionHeader: the legacy way.
printf 'Content-Type: text/plain\r\nCache-Control: no-store\r\nX-Replace-Session: user=alice&cart=3\r\n\r\nlogged in\n'
