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

#include <string.h>

#include <apr_strings.h>
#include <apr_optional.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_request.h>
#include <mod_session.h>

#include "shs_private.h"
#include "shs_jar.h"
#include "shs_cookies.h"
#include "shs_provider.h"

/* An expiry moved by less than this is not written back (a cookie the application sends again
 * at every response, to slide it, costs no memcached write per request). */
#define META_SLACK 300

typedef struct jar_fns_t {
    APR_OPTIONAL_FN_TYPE(ap_session_load) * load;
    APR_OPTIONAL_FN_TYPE(ap_session_get) * get;
    APR_OPTIONAL_FN_TYPE(ap_session_set) * set;
} jar_fns_t;

/* This request's session through mod_session, or NULL. */
static session_rec *session_of(request_rec *r, jar_fns_t *fn)
{
    session_rec *z = NULL;

    fn->load = APR_RETRIEVE_OPTIONAL_FN(ap_session_load);
    fn->get = APR_RETRIEVE_OPTIONAL_FN(ap_session_get);
    fn->set = APR_RETRIEVE_OPTIONAL_FN(ap_session_set);
    if (!fn->load || !fn->get || !fn->set || fn->load(r, &z) != APR_SUCCESS) {
        return NULL;
    }
    return z;
}

/* What the jar keeps about a cookie besides its value: "EXPIRES SAMESITE PATH". */
typedef struct meta_t {
    apr_int64_t expires; /* unix seconds, 0: end of the browser session */
    char samesite;       /* 'n', 'l' or 's' */
    const char *path;
} meta_t;

static void meta_read(apr_pool_t *p, const char *s, meta_t *m)
{
    const char *sp = s ? strchr(s, ' ') : NULL;

    m->expires = s ? apr_atoi64(s) : 0;
    m->samesite = sp && sp[1] && strchr("nls", sp[1]) ? sp[1] : 'l';
    m->path = sp && sp[1] && sp[2] == ' ' && sp[3] == '/' ? apr_pstrdup(p, sp + 3) : "/";
}

/* Would the browser send a cookie of this SameSite with this request?  Only what the request
 * says of itself counts (Sec-Fetch-*); without it (older browsers), yes. */
static int samesite_allows(request_rec *r, char samesite)
{
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    const char *mode = apr_table_get(r->headers_in, "Sec-Fetch-Mode");
    const char *dest = apr_table_get(r->headers_in, "Sec-Fetch-Dest");

    if (!site || strcasecmp(site, "cross-site") || samesite == 'n') {
        return 1;
    }
    if (samesite == 's') {
        return 0;
    }
    /* Lax: a top-level navigation by a safe method */
    return mode && !strcasecmp(mode, "navigate") && (!dest || !strcasecmp(dest, "document")) &&
           (r->method_number == M_GET || r->header_only);
}

/* The names shared for request r: those of the request the browser made (PHP run by php-cgi
 * through Action is an internal redirect to /cgi-bin/php/..., outside the scope that names
 * the cookies: an .htaccess next to the page), else of r or of a redirect on the way. */
static const apr_array_header_t *capture_patterns(request_rec *r)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);
    const apr_array_header_t *pats;

    if (d->app_cookies && !d->app_cookies->nelts) {
        return NULL; /* SharedSessionAppCookie None where the answer is made */
    }
    pats = shs_dir_app_cookies(SHS_DIR_CONF(shs_cookies_top(r)));

    for (; r && !pats; r = r->prev) {
        pats = shs_dir_app_cookies(SHS_DIR_CONF(r));
    }
    return pats;
}

/* ------------------------------------------------------------------ replay */

typedef struct replay_t {
    request_rec *r;
    const apr_array_header_t *pats;
    apr_table_t *entries;
    apr_int64_t now;
    const char *add;
    int given;
    apr_array_header_t *expired;
} replay_t;

static int replay_one(void *baton, const char *key, const char *val)
{
    replay_t *rp = baton;
    const char *name = key + sizeof(SHS_JAR_VALUE_KEY) - 1;
    meta_t m;

    if (strncmp(key, SHS_JAR_VALUE_KEY, sizeof(SHS_JAR_VALUE_KEY) - 1) ||
        !shs_cookie_patterns_match(rp->pats, name, strlen(name)) ||
        shs_cookies_is_own(rp->r, name)) {
        return 1;
    }
    meta_read(rp->r->pool,
              apr_table_get(rp->entries, apr_pstrcat(rp->r->pool, SHS_JAR_META_KEY, name, NULL)),
              &m);
    if (m.expires && m.expires <= rp->now) {
        APR_ARRAY_PUSH(rp->expired, const char *) = name;
        return 1;
    }
    if (!shs_cookie_path_match(rp->r->uri ? rp->r->uri : "/", m.path) ||
        !samesite_allows(rp->r, m.samesite)) {
        return 1;
    }
    rp->add =
        apr_pstrcat(rp->r->pool, rp->add ? rp->add : "", rp->add ? "; " : "", name, "=", val, NULL);
    rp->given++;
    return 1;
}

/* The Cookie header without the cookies named by pats, after add (the jar's, first: PHP keeps
 * the first of two cookies of one name).  Returns how many of the browser's were dropped. */
static int drop_app_cookies(request_rec *r, const apr_array_header_t *pats, const char *add)
{
    const apr_array_header_t *arr = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    apr_array_header_t *kept = apr_array_make(r->pool, 2, sizeof(const char *));
    const char *joined;
    int i, n, dropped = 0;

    if (add) {
        APR_ARRAY_PUSH(kept, const char *) = add;
    }
    for (i = 0; i < arr->nelts; i++) {
        const char *rest;
        if (!e[i].key || strcasecmp(e[i].key, "Cookie")) {
            continue;
        }
        rest = shs_cookie_rewrite(r->pool, e[i].val, pats, NULL, &n);
        dropped += n;
        if (rest) {
            APR_ARRAY_PUSH(kept, const char *) = rest;
        }
    }
    if (!dropped && !add) {
        return 0;
    }
    joined = apr_array_pstrcat(r->pool, kept, ';');
    apr_table_unset(r->headers_in, "Cookie");
    if (*joined) {
        apr_table_setn(r->headers_in, "Cookie", joined);
    }
    return dropped;
}

int shs_jar_header_parser(request_rec *r)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);
    const apr_array_header_t *pats = shs_dir_app_cookies(d);
    replay_t rp = { 0 };
    jar_fns_t fn;
    session_rec *z;
    int i, dropped;

    if (r->prev) {
        /* an internal redirect (PHP through Action, an ErrorDocument): the request the
         * browser made decided what the application gets, for that request's path and scope.
         * Only a scope that says SharedSessionAppCookie None takes it away again. */
        if (!pats && d->app_cookies && (pats = capture_patterns(r->prev))) {
            drop_app_cookies(r, pats, NULL);
        }
        return DECLINED;
    }
    if (!pats || !shs_dir_enabled(d) || r->main || !(z = session_of(r, &fn))) {
        return DECLINED;
    }
    if (shs_provider_store_down(r)) {
        /* nothing to give: leave the cookies the browser holds (Set-Cookie passes through
         * while the store is down), so that the site works on its own */
        return DECLINED;
    }
    rp.r = r;
    rp.pats = pats;
    rp.entries = z->entries;
    rp.now = apr_time_sec(apr_time_now());
    rp.expired = apr_array_make(r->pool, 1, sizeof(const char *));
    apr_table_do(replay_one, &rp, z->entries, NULL);
    for (i = 0; i < rp.expired->nelts; i++) {
        const char *name = APR_ARRAY_IDX(rp.expired, i, const char *);
        fn.set(r, z, apr_pstrcat(r->pool, SHS_JAR_VALUE_KEY, name, NULL), NULL);
        fn.set(r, z, apr_pstrcat(r->pool, SHS_JAR_META_KEY, name, NULL), NULL);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "SHS00801: application cookie %s expired: dropped from the shared session",
                      name);
    }
    /* the browser's own cookies of those names go: the application sees the shared ones */
    dropped = drop_app_cookies(r, pats, rp.add);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                  "SHS00802: %d application cookie(s) from the shared session, %d of the "
                  "browser's dropped",
                  rp.given, dropped);
    return DECLINED;
}

/* ------------------------------------------------------------------ capture */

/* The jar takes cookie c: its value, path and expiry into session z. */
static void take(request_rec *r, jar_fns_t *fn, session_rec *z, const shs_set_cookie_t *c)
{
    const char *vkey = apr_pstrcat(r->pool, SHS_JAR_VALUE_KEY, c->name, NULL);
    const char *mkey = apr_pstrcat(r->pool, SHS_JAR_META_KEY, c->name, NULL);
    const char *old = NULL, *oldmeta = NULL;
    meta_t now_m, old_m;

    fn->get(r, z, vkey, &old);
    if (c->removes) {
        if (old) {
            fn->set(r, z, vkey, NULL);
            fn->set(r, z, mkey, NULL);
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "SHS00803: application cookie %s deleted: gone from the shared session",
                          c->name);
        }
        return;
    }
    now_m.expires = c->expires ? apr_time_sec(c->expires) : 0;
    now_m.samesite = c->samesite;
    /* the default path is the page's, not that of an internal redirect (/cgi-bin/php/...) */
    now_m.path = c->path ? c->path : shs_cookie_default_path(r->pool, shs_cookies_top(r)->uri);
    if (!old || strcmp(old, c->value)) {
        fn->set(r, z, vkey, c->value);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "SHS00804: application cookie %s %s: kept in the shared session", c->name,
                      old ? "changed" : "set");
        if (!old && r->method_number == M_POST && shs_provider_id(r)) {
            /* the application's first cookie, set in answer to a form (a login), in a session
             * that existed before: the browser may hold an id someone else knows (a session
             * planted before the login), so it moves to a new one.  A first cookie on a page
             * view (the application starting an anonymous session) does not: that would cut
             * off the sites that share the session already. */
            shs_provider_ask_rotation(r);
        }
    }
    fn->get(r, z, mkey, &oldmeta);
    meta_read(r->pool, oldmeta, &old_m);
    if (!oldmeta || strcmp(old_m.path, now_m.path) || old_m.samesite != now_m.samesite ||
        !old_m.expires != !now_m.expires || now_m.expires - old_m.expires > META_SLACK ||
        old_m.expires - now_m.expires > META_SLACK) {
        fn->set(r, z, mkey,
                apr_psprintf(r->pool, "%" APR_INT64_T_FMT " %c %s", now_m.expires, now_m.samesite,
                             now_m.path));
    }
}

/* How many cookies and bytes the jar of z holds, besides name (being replaced). */
static void jar_size(apr_table_t *entries, const char *name, int *count, apr_size_t *bytes)
{
    const apr_array_header_t *arr = apr_table_elts(entries);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    *count = 0;
    *bytes = 0;
    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key && !strncmp(e[i].key, SHS_JAR_VALUE_KEY, sizeof(SHS_JAR_VALUE_KEY) - 1) &&
            strcmp(e[i].key + sizeof(SHS_JAR_VALUE_KEY) - 1, name)) {
            (*count)++;
            *bytes += strlen(e[i].key) + (e[i].val ? strlen(e[i].val) : 0);
        }
    }
}

/* Why cookie c cannot go into the jar of z (too large, or the jar full), or NULL. */
static const char *too_large(apr_pool_t *p, apr_table_t *entries, const shs_set_cookie_t *c)
{
    apr_size_t len = strlen(c->name) + 1 + strlen(c->value), bytes;
    int count;

    if (len > SHS_JAR_VALUE_MAX) {
        return apr_psprintf(p, "its %" APR_SIZE_T_FMT " bytes are more than the %d a browser keeps",
                            len, SHS_JAR_VALUE_MAX);
    }
    jar_size(entries, c->name, &count, &bytes);
    if (!c->removes && (count >= SHS_JAR_COOKIES_MAX || bytes + len > SHS_JAR_BYTES_MAX)) {
        return apr_psprintf(p,
                            "the shared session holds %d application cookies (%" APR_SIZE_T_FMT
                            " bytes) already, at most %d (%d bytes) are kept",
                            count, bytes, SHS_JAR_COOKIES_MAX, SHS_JAR_BYTES_MAX);
    }
    return NULL;
}

/* The Set-Cookie headers of table t for the jar; the others stay. */
static void capture_table(request_rec *r, jar_fns_t *fn, session_rec *z, apr_table_t *t,
                          const apr_array_header_t *pats, int store_failed)
{
    const apr_array_header_t *arr = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    apr_array_header_t *kept = NULL;
    apr_table_t *notes = shs_cookies_top(r)->notes;
    apr_time_t now = apr_time_now();
    const char *why;
    int i, j, taken = 0, passed = 0;

    for (i = 0; i < arr->nelts; i++) {
        shs_set_cookie_t c;
        if (!e[i].key || strcasecmp(e[i].key, "Set-Cookie")) {
            continue;
        }
        if (!kept) {
            kept = apr_array_make(r->pool, 4, sizeof(const char *));
            for (j = 0; j < i; j++) {
                if (e[j].key && !strcasecmp(e[j].key, "Set-Cookie")) {
                    APR_ARRAY_PUSH(kept, const char *) = e[j].val;
                }
            }
        }
        if (shs_set_cookie_parse(r->pool, e[i].val, now, &c) != APR_SUCCESS ||
            !shs_cookie_patterns_match(pats, c.name, strlen(c.name)) ||
            shs_cookies_is_own(r, c.name)) {
            /* not the application's cookie for the jar; never the module's own (the id cookie
             * this request writes, whatever a scope names) */
            APR_ARRAY_PUSH(kept, const char *) = e[i].val;
            continue;
        }
        if (!samesite_allows(r, c.samesite)) {
            /* an answer to a cross-site request that would not carry this cookie (an image on
             * another site's page): the browser ignores the Set-Cookie, so does the jar */
            APR_ARRAY_PUSH(kept, const char *) = e[i].val;
            continue;
        }
        if (store_failed) {
            APR_ARRAY_PUSH(kept, const char *) = e[i].val;
            passed++;
            continue;
        }
        if ((why = too_large(r->pool, z->entries, &c))) {
            shs_set_cookie_t gone = c;
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "SHS00805: application cookie %s not shared: %s; it goes to the browser",
                          c.name, why);
            APR_ARRAY_PUSH(kept, const char *) = e[i].val;
            /* the jar's older value would be given instead of the browser's new one */
            gone.removes = 1;
            take(r, fn, z, &gone);
            continue;
        }
        take(r, fn, z, &c);
        apr_table_addn(notes, SHS_NOTE_HELD_COOKIE, e[i].val);
        taken++;
    }
    if (taken) {
        apr_table_unset(t, "Set-Cookie");
        for (i = 0; i < kept->nelts; i++) {
            apr_table_addn(t, "Set-Cookie", APR_ARRAY_IDX(kept, i, const char *));
        }
    }
    if (passed) {
        shs_cookies_note_passed(r, "memcached did not answer when the session was loaded");
    }
}

static void capture(request_rec *r, const apr_array_header_t *pats)
{
    jar_fns_t fn;
    session_rec *z = session_of(r, &fn);
    int failed = shs_provider_store_down(r);

    if (!z) {
        return;
    }
    capture_table(r, &fn, z, r->headers_out, pats, failed);
    capture_table(r, &fn, z, r->err_headers_out, pats, failed);
}

apr_status_t shs_jar_out_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const char *asked = apr_table_get(r->headers_out, SHS_ROTATE_HEADER);
    const apr_array_header_t *pats = capture_patterns(r);

    if (!asked) {
        asked = apr_table_get(r->err_headers_out, SHS_ROTATE_HEADER);
    }
    if (asked) {
        apr_table_unset(r->headers_out, SHS_ROTATE_HEADER);
        apr_table_unset(r->err_headers_out, SHS_ROTATE_HEADER);
        if (shs_provider_ask_rotation(r)) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "SHS00120: the application asks for a new session id");
        }
    }
    if (pats) {
        capture(r, pats);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

void shs_jar_insert_filter(request_rec *r)
{
    if (!r->main && shs_dir_enabled(SHS_DIR_CONF(r))) {
        ap_add_output_filter(SHS_JAR_FILTER, NULL, r, r->connection);
    }
}
