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

#include <apr_atomic.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_ssl.h>
#include <util_cookies.h>

#include "shs_private.h"
#include "shs_cookies.h"
#include "shs_status.h"
#include "shs_cmd.h"

#define PUSHED_ATTRS "Path=/; HttpOnly; Secure; SameSite=None"

int shs_cookies_secure(request_rec *r)
{
    return ap_ssl_conn_is_ssl(r->connection);
}

const char *shs_cookies_name(request_rec *r, shs_cookie_kind_e kind)
{
    return shs_cookie_own_name(r->pool, shs_dir_cookie_name(SHS_DIR_CONF(r)), kind);
}

typedef struct get_baton_t {
    apr_pool_t *p;
    const char *name;
    apr_size_t max;
    const char *value;
} get_baton_t;

static int get_one(void *baton, const char *key, const char *val)
{
    get_baton_t *b = baton;

    b->value = shs_cookie_get(b->p, val, b->name, b->max);
    return b->value == NULL;
}

const char *shs_cookies_get(request_rec *r, const char *name, apr_size_t max)
{
    get_baton_t b = { r->pool, name, max, NULL };

    apr_table_do(get_one, &b, r->headers_in, "Cookie", NULL);
    return b.value;
}

typedef struct scan_baton_t {
    apr_pool_t *p;
    const char *name;
    shs_cookie_scan_t *res;
} scan_baton_t;

static int scan_one(void *baton, const char *key, const char *val)
{
    scan_baton_t *b = baton;

    shs_cookie_scan(b->p, val, b->name, b->res);
    return 1;
}

const char *shs_cookies_id(request_rec *r, const char *name)
{
    shs_cookie_scan_t res = { 0 };
    scan_baton_t b = { r->pool, name, &res };

    apr_table_do(scan_one, &b, r->headers_in, "Cookie", NULL);
    return res.value;
}

typedef struct unique_baton_t {
    request_rec *r;
    const char *name, *id;
    int several;
} unique_baton_t;

static int unique_one(void *baton, const char *key, const char *val)
{
    unique_baton_t *b = baton;
    apr_array_header_t *ids = apr_array_make(b->r->pool, 2, sizeof(const char *));
    int i;

    shs_cookie_ids(b->r->pool, val, b->name, ids);
    for (i = 0; i < ids->nelts; i++) {
        const char *id = APR_ARRAY_IDX(ids, i, const char *);
        if (b->id && strcmp(b->id, id)) {
            b->several = 1;
        }
        b->id = b->id ? b->id : id;
    }
    return 1;
}

const char *shs_cookies_id_unique(request_rec *r, const char *name, int *several)
{
    unique_baton_t b = { r, name, NULL, 0 };

    apr_table_do(unique_one, &b, r->headers_in, "Cookie", NULL);
    *several = b.several;
    return b.several ? NULL : b.id;
}

typedef struct find_baton_t {
    apr_pool_t *p;
    const char *name, *fp, *id;
} find_baton_t;

static int find_one(void *baton, const char *key, const char *val)
{
    find_baton_t *b = baton;

    b->id = shs_cookie_find_id(b->p, val, b->name, b->fp);
    return b->id == NULL;
}

const char *shs_cookies_id_with_fp(request_rec *r, const char *name, const char *fp)
{
    find_baton_t b = { r->pool, name, fp, NULL };

    apr_table_do(find_one, &b, r->headers_in, "Cookie", NULL);
    return b.id;
}

/* The bookkeeping cookies that go with id cookie `name`. */
static void own_names(apr_pool_t *p, const char *name, apr_array_header_t *out)
{
    int kind;

    for (kind = SHS_COOKIE_ID + 1; kind < SHS_COOKIE_KINDS; kind++) {
        APR_ARRAY_PUSH(out, const char *) = shs_cookie_own_name(p, name, (shs_cookie_kind_e)kind);
    }
}

/* Every cookie of the module a request of scope d may carry, but the id cookie of d itself:
 * its bookkeeping, and the id and bookkeeping cookies of the virtual host's name and of every
 * name the configuration gives (an id cookie named for one <Directory> or <Location> is sent
 * to all of the site's paths). */
static apr_array_header_t *other_own_names(request_rec *r, const shs_dir_conf_t *d)
{
    const char *name = shs_dir_cookie_name(d);
    const shs_dir_conf_t *vd =
        ap_get_module_config(r->server->lookup_defaults, &sharedsession_module);
    const char *vname = vd ? shs_dir_cookie_name(vd) : name;
    const apr_array_header_t *names = shs_cmd_cookie_names();
    apr_array_header_t *out = apr_array_make(r->pool, 16, sizeof(const char *));
    int i;

    own_names(r->pool, name, out);
    if (strcmp(vname, name)) {
        APR_ARRAY_PUSH(out, const char *) = vname;
        own_names(r->pool, vname, out);
    }
    for (i = 0; names && i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        if (strcmp(n, name) && strcmp(n, vname)) {
            APR_ARRAY_PUSH(out, const char *) = n;
            own_names(r->pool, n, out);
        }
    }
    return out;
}

int shs_cookies_is_own(request_rec *r, const char *name)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);
    const apr_array_header_t *others;
    int i;

    if (!strcmp(name, shs_dir_cookie_name(d))) {
        return 1;
    }
    others = other_own_names(r, d);
    for (i = 0; i < others->nelts; i++) {
        if (!strcmp(name, APR_ARRAY_IDX(others, i, const char *))) {
            return 1;
        }
    }
    return 0;
}

const char *shs_cookies_read_id(request_rec *r, const shs_dir_conf_t *d, int strip)
{
    const char *name = shs_dir_cookie_name(d);
    const apr_array_header_t *arr = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    const apr_array_header_t *others = other_own_names(r, d);
    shs_cookie_scan_t res = { 0 };
    apr_array_header_t *kept = apr_array_make(r->pool, 2, sizeof(const char *));
    int i, j, changed = 0;

    for (i = 0; i < arr->nelts; i++) {
        const char *rest;
        int before = res.seen, had = 0;
        if (!e[i].key || strcasecmp(e[i].key, "Cookie")) {
            continue;
        }
        shs_cookie_scan(r->pool, e[i].val, name, &res);
        rest = res.seen != before ? res.stripped : e[i].val;
        changed |= res.seen != before;
        for (j = 0; rest && j < others->nelts; j++) {
            rest = shs_cookie_strip(r->pool, rest, APR_ARRAY_IDX(others, j, const char *), &had);
            changed |= had;
        }
        if (rest) {
            APR_ARRAY_PUSH(kept, const char *) = rest;
        }
    }
    if (res.malformed) {
        shs_stats_add(shs_status_block(), SHS_C_CLIENT_ERRORS, 1);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "SHS00101: ignoring %d malformed value(s) of cookie %s", res.malformed, name);
    }
    if (res.seen > 1) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "SHS00102: cookie %s sent %d times; using the first well-formed one", name,
                      res.seen);
    }
    /* our cookies (the id and the bookkeeping) are not the application's business */
    if (strip && changed) {
        apr_table_unset(r->headers_in, "Cookie");
        for (i = 0; i < kept->nelts; i++) {
            apr_table_addn(r->headers_in, "Cookie", APR_ARRAY_IDX(kept, i, const char *));
        }
    }
    return res.value;
}

void shs_cookies_set_id(request_rec *r, const shs_dir_conf_t *d, const char *id, long maxage)
{
    ap_cookie_write(r, shs_dir_cookie_name(d), id,
                    shs_dir_cookie_attrs(r->pool, d, shs_cookies_secure(r)), maxage,
                    r->err_headers_out, NULL);
}

void shs_cookies_remove_id(request_rec *r, const shs_dir_conf_t *d)
{
    ap_cookie_remove(r, shs_dir_cookie_name(d),
                     shs_dir_cookie_attrs(r->pool, d, shs_cookies_secure(r)), r->err_headers_out,
                     NULL);
}

void shs_cookies_set_pushed(request_rec *r, const char *id)
{
    const char *name = shs_dir_cookie_name(SHS_DIR_CONF(r));

    ap_cookie_write(r, name, id, PUSHED_ATTRS, 0, r->err_headers_out, NULL);
    ap_cookie_write(r, shs_cookie_own_name(r->pool, name, SHS_COOKIE_PUSHED), "1", PUSHED_ATTRS, 0,
                    r->err_headers_out, NULL);
}

void shs_cookies_drop_pushed_flag(request_rec *r, const shs_dir_conf_t *d)
{
    ap_cookie_remove(r, shs_cookie_own_name(r->pool, shs_dir_cookie_name(d), SHS_COOKIE_PUSHED),
                     PUSHED_ATTRS, r->err_headers_out, NULL);
}

static const char *lax_attrs(request_rec *r, const char *path, apr_int64_t maxage)
{
    const char *attrs = apr_pstrcat(r->pool, "Path=", path, "; HttpOnly; SameSite=Lax",
                                    shs_cookies_secure(r) ? "; Secure" : "", NULL);

    return maxage > 0 ? apr_psprintf(r->pool, "%s; Max-Age=%" APR_INT64_T_FMT, attrs, maxage)
                      : attrs;
}

void shs_cookies_set_lax(request_rec *r, const char *name, const char *value, const char *path,
                         apr_int64_t maxage)
{
    ap_cookie_write(r, name, value, lax_attrs(r, path, maxage), 0, r->err_headers_out, NULL);
}

void shs_cookies_remove_lax(request_rec *r, const char *name, const char *path)
{
    ap_cookie_remove(r, name, apr_pstrcat(r->pool, "Path=", path, NULL), r->err_headers_out, NULL);
}

request_rec *shs_cookies_top(request_rec *r)
{
    while (r->main || r->prev) {
        r = r->main ? r->main : r->prev;
    }
    return r;
}

static apr_uint32_t passed_logged_at; /* unix seconds of the last report below */

void shs_cookies_note_passed(request_rec *r, const char *why)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t last = apr_atomic_read32(&passed_logged_at);

    if (now - last < 60 || apr_atomic_cas32(&passed_logged_at, now, last) != last) {
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "SHS00806: the application's cookies go to the browser, not to the shared "
                  "session (%s): this site works on its own until the store answers (logged at "
                  "most once a minute)",
                  why);
}
