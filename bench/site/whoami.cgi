#!/bin/sh
# Shows the session as the application sees it (SessionEnv On): used to check a cookie is live.
printf 'Content-Type: text/plain\r\nCache-Control: no-store\r\n\r\n%s\n' "${HTTP_SESSION:-}"
