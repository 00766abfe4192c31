/* Copyright 2026 The mod_sharedsession authors
 *
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/* Return paths, origins and log redaction for the endpoints (see shs_url.h). */

#include <string.h>
#include <stdlib.h>

#include <apr_strings.h>
#include <apr_lib.h>

#include "shs_url.h"

int shs_url_local_path_ok(const char *path)
{
    const unsigned char *c;

    if (!path || path[0] != '/' || path[1] == '/' || path[1] == '\\') {
        return 0;
    }
    for (c = (const unsigned char *)path; *c; c++) {
        if (*c <= 0x20 || *c >= 0x7f || *c == '\\' ||
            c - (const unsigned char *)path >= SHS_URL_RET_MAX) {
            return 0;
        }
    }
    return 1;
}

/* scheme://host[:port] of url, split; 0 when url does not start like that. */
typedef struct origin_t {
    const char *scheme;
    apr_size_t scheme_len;
    const char *host;
    apr_size_t host_len;
    long port; /* the scheme's default when not written */
} origin_t;

static int origin_parse(const char *url, origin_t *o)
{
    const char *p = url, *end, *colon;
    char *stop;

    if (!url) {
        return 0;
    }
    while (apr_isalpha(*p)) {
        p++;
    }
    if (p == url || strncmp(p, "://", 3)) {
        return 0;
    }
    o->scheme = url;
    o->scheme_len = (apr_size_t)(p - url);
    p += 3;
    end = p + strcspn(p, "/?#");
    if (memchr(p, '@', (apr_size_t)(end - p)) || end == p) {
        return 0; /* user info has no place in an origin */
    }
    colon = memchr(p, ':', (apr_size_t)(end - p));
    if (*p == '[') {
        const char *close = memchr(p, ']', (apr_size_t)(end - p));
        if (!close) {
            return 0;
        }
        colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
        if (!colon && close + 1 != end) {
            return 0;
        }
    }
    o->host = p;
    o->host_len = (apr_size_t)((colon ? colon : end) - p);
    if (o->host_len == 0) {
        return 0;
    }
    if (colon) {
        if (colon + 1 == end || !apr_isdigit(colon[1])) {
            return 0;
        }
        o->port = strtol(colon + 1, &stop, 10);
        if (stop != end || o->port <= 0 || o->port > 65535) {
            return 0;
        }
    }
    else if (o->scheme_len == 5 && !strncasecmp(o->scheme, "https", 5)) {
        o->port = 443;
    }
    else if (o->scheme_len == 4 && !strncasecmp(o->scheme, "http", 4)) {
        o->port = 80;
    }
    else {
        o->port = 0;
    }
    return 1;
}

int shs_url_same_origin(const char *url, const char *want)
{
    origin_t a, b;

    if (!origin_parse(url, &a) || !origin_parse(want, &b)) {
        return 0;
    }
    return a.scheme_len == b.scheme_len && !strncasecmp(a.scheme, b.scheme, a.scheme_len) &&
           a.host_len == b.host_len && !strncasecmp(a.host, b.host, a.host_len) && a.port == b.port;
}

const char *shs_url_redact_param(apr_pool_t *p, const char *q, const char *name, const char *with)
{
    apr_size_t nlen = strlen(name);
    const char *s = q, *amp;
    char *out;

    if (!q) {
        return NULL;
    }
    out = apr_pstrdup(p, "");
    for (;;) {
        amp = strchr(s, '&');
        if (!strncmp(s, name, nlen) && s[nlen] == '=') {
            out = apr_pstrcat(p, out, name, "=", with, NULL);
        }
        else {
            out = apr_pstrcat(p, out, apr_pstrmemdup(p, s, amp ? (apr_size_t)(amp - s) : strlen(s)),
                              NULL);
        }
        if (!amp) {
            return out;
        }
        out = apr_pstrcat(p, out, "&", NULL);
        s = amp + 1;
    }
}
