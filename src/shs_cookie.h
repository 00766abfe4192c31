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

/* Cookie syntax, and the names of the module's own cookies.  Pure C over APR: no httpd calls,
 * so it is unit-tested and fuzzed.  Reading, stripping and writing the cookies of a request is
 * shs_cookie_io.c's job, on top of this.
 *
 * A Cookie request header is a list of name=value pairs separated by ';'.  httpd joins several
 * Cookie header lines of one request with ", ": a pair also starts after a ',' when what follows
 * is a name=value pair whose name is one of those asked for, so that no cookie of the module or
 * of the application's jar can hide behind a second header line.  Other bytes are never split at
 * a ',' (values of other cookies may contain one). */

#ifndef SHS_COOKIE_H
#define SHS_COOKIE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

/* The module's own cookies, named after the id cookie's name N. */
typedef enum {
    SHS_COOKIE_ID = 0, /* N: the session id */
    SHS_COOKIE_SYNC,   /* N_sync: what this site last pushed */
    SHS_COOKIE_STATE,  /* N_state: the pull's nonce (Path=<endpoint>) */
    SHS_COOKIE_MARKER, /* N_pull: a navigation was just bounced */
    SHS_COOKIE_PUSHED, /* N_pushed: the id cookie came from a push */
    SHS_COOKIE_KINDS
} shs_cookie_kind_e;

/* The name of the module's cookie of `kind` for id cookie name `name`. */
const char *shs_cookie_own_name(apr_pool_t *p, const char *name, shs_cookie_kind_e kind);

/* The application cookie jar inside the shared session (SharedSessionAppCookie): the value
 * of the application's cookie NAME lives under session key SHS_JAR_VALUE_KEY NAME, and
 * "EXPIRES PATH" (unix seconds, 0 for a browser-session cookie) under SHS_JAR_META_KEY NAME.
 * A change of a value key is a change of identity (the session gets a new id). */
#define SHS_JAR_VALUE_KEY "shs-cookie:"
#define SHS_JAR_META_KEY "shs-cookie-meta:"

/* True when name is a valid cookie name (RFC 6265 token). */
int shs_cookie_name_is_valid(const char *name);

/* A name pattern of SharedSessionAppCookie: a cookie name, or a name prefix followed by one
 * '*' at the end ("wikidb_*").  NULL when valid, else why not. */
const char *shs_cookie_pattern_check(const char *pattern);

/* True when pattern would take one of the module's own cookies for id cookie name `name`
 * (the id, _sync, _state, _pull, _pushed). */
int shs_cookie_pattern_takes_own(apr_pool_t *p, const char *pattern, const char *name);

/* True when name (len bytes) matches one of the patterns (an array of const char *). */
int shs_cookie_patterns_match(const apr_array_header_t *patterns, const char *name, apr_size_t len);

/* Result of looking for one cookie in the Cookie request header(s). */
typedef struct shs_cookie_scan_t {
    const char *value;    /* first well-formed id found under the name, or NULL */
    int seen;             /* how many times the name occurred */
    int malformed;        /* how many of those values were not well-formed ids */
    const char *stripped; /* the header without our cookie; NULL when nothing remains */
} shs_cookie_scan_t;

/* Scan one Cookie header value for `name`.  Whitespace around pairs is ignored, a value may be
 * double-quoted.  Can be called on several headers in turn with the same result struct
 * (results accumulate); stripped is for the last header scanned. */
void shs_cookie_scan(apr_pool_t *p, const char *header, const char *name, shs_cookie_scan_t *res);

/* Every well-formed id under cookie `name` in one Cookie header, appended to ids (an array of
 * const char *). */
void shs_cookie_ids(apr_pool_t *p, const char *header, const char *name, apr_array_header_t *ids);

/* The first well-formed id under cookie `name` in one Cookie header whose fingerprint
 * (shs_id_fingerprint) is fp, or NULL: when a browser sends several cookies of that name (one
 * with a narrower Path comes first), the one a page was made for. */
const char *shs_cookie_find_id(apr_pool_t *p, const char *header, const char *name, const char *fp);

/* The first value of cookie `name` in one Cookie header, unquoted, or NULL.  Values longer than
 * max are ignored. */
const char *shs_cookie_get(apr_pool_t *p, const char *header, const char *name, apr_size_t max);

/* The header without any pair named `name`; NULL when nothing remains.  *found tells whether
 * there was one. */
const char *shs_cookie_strip(apr_pool_t *p, const char *header, const char *name, int *found);

/* `add` (already "name=value; name=value", or NULL) followed by the header without the pairs
 * whose name matches one of `patterns`, also after the name mangling PHP applies to cookie
 * names (' ' and '.' read as '_', "NAME[...]" read as NAME): a browser cannot slip in a second
 * value under a name the application reads as the same one.  NULL when nothing remains.
 * *dropped counts the pairs left out. */
const char *shs_cookie_rewrite(apr_pool_t *p, const char *header,
                               const apr_array_header_t *patterns, const char *add, int *dropped);

/* One Set-Cookie response header, parsed (RFC 6265 section 5.2, as browsers read it). */
typedef struct shs_set_cookie_t {
    const char *name;
    const char *value;  /* as sent, quotes included */
    const char *path;   /* the Path attribute, or NULL (the browser's default path) */
    apr_time_t expires; /* when the browser drops it; 0: at the end of the browser session */
    int removes;        /* Max-Age <= 0, or Expires not after now: it deletes the cookie */
    char samesite;      /* 'n' None, 'l' Lax (also when absent: browsers' default), 's' Strict */
} shs_set_cookie_t;

/* Parse one Set-Cookie header value at time now.  APR_EINVAL when the browser would ignore it
 * (no '=' in the first pair, an empty or invalid name, control characters). */
apr_status_t shs_set_cookie_parse(apr_pool_t *p, const char *header, apr_time_t now,
                                  shs_set_cookie_t *out);

/* RFC 6265 path-match of a request path against a cookie path. */
int shs_cookie_path_match(const char *req_path, const char *cookie_path);

/* RFC 6265 default-path of a request path (for a Set-Cookie without Path). */
const char *shs_cookie_default_path(apr_pool_t *p, const char *req_path);

#endif /* SHS_COOKIE_H */
