#!/bin/sh
# benchmark 3: the 1 MB page of this directory as a dynamic response (a pipe, not a file):
# the filter has to scan it on every request.
printf 'Content-Type: text/html; charset=utf-8\r\n\r\n'
exec cat "$(dirname "$0")/big.html"
