#!/bin/bash
# A plain shell CGI: what the session and the cookies look like to a non-PHP application.
printf 'Content-Type: text/plain\r\nCache-Control: no-store\r\n\r\n'
printf 'HTTP_SESSION=%s\n' "${HTTP_SESSION-}"
printf 'HTTP_COOKIE=%s\n' "${HTTP_COOKIE-}"
