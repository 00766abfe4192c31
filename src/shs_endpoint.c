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

/* The callback: GET <prefix>cb?t=TOKEN[&k=js].
 *
 * A token is accepted only when all of these hold, in this order (cheap checks first); any
 * failure answers the same 1x1 GIF (or empty script) without a cookie, and logs the reason
 * at warn:
 *   - it decrypts and authenticates under a known key, inside its validity window;
 *   - its destination is this virtual host's own entry in the group (the Host header only
 *     picked the virtual host), its source another site of the same group;
 *   - the replace policy: a browser that already has a live, different session here keeps
 *     it unless SharedSessionReplace On;
 *   - memcached `add` of the confirmation key of (session, this site) succeeds: a token is
 *     used once (a replay, or a second token for the same session, finds the key);
 *   - the session exists in memcached (strict mode: never adopt an id the store never issued).
 * Then the session cookie is set with SameSite=None; Secure, the only kind a browser keeps
 * from a cross-site image or script response. */

#include <string.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_cookies.h>
#include <mod_session.h>

#include "shs_private.h"
#include "shs_endpoint.h"
#include "shs_id.h"
#include "shs_provider.h"
#include "shs_store.h"
#include "shs_token.h"

/* A transparent 1x1 GIF89a: header, screen descriptor with a 2-colour table, a graphic control
 * extension marking colour 0 transparent, one image of one pixel, trailer. */
static const unsigned char gif1x1[] = {
    'G',  'I',  'F',  '8',  '9',  'a',  0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
};

typedef struct cb_args_t {
    const char *token;
    int script;
} cb_args_t;

static void parse_args(request_rec *r, cb_args_t *a)
{
    char *args = r->args ? apr_pstrdup(r->pool, r->args) : NULL;
    char *last = NULL, *pair;

    memset(a, 0, sizeof(*a));
    for (pair = args ? apr_strtok(args, "&", &last) : NULL; pair;
         pair = apr_strtok(NULL, "&", &last)) {
        if (!strncmp(pair, "t=", 2) && !a->token) {
            a->token = pair + 2;
        }
        else if (!strcmp(pair, "k=js")) {
            a->script = 1;
        }
    }
}

static int answer(request_rec *r, int script)
{
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Referrer-Policy", "no-referrer");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    if (script) {
        ap_set_content_type(r, "text/javascript");
        ap_set_content_length(r, 0);
        return OK;
    }
    ap_set_content_type(r, "image/gif");
    ap_set_content_length(r, sizeof(gif1x1));
    if (!r->header_only) {
        ap_rwrite(gif1x1, sizeof(gif1x1), r);
    }
    return OK;
}

static const char *group_of_host(const shs_srv_conf_t *sc, const char *name, apr_pool_t *p)
{
    int i, j;

    for (i = 0; sc->groups && i < sc->groups->nelts; i++) {
        const shs_group_t *g = &APR_ARRAY_IDX(sc->groups, i, shs_group_t);
        for (j = 0; j < g->members->nelts; j++) {
            if (!strcasecmp(shs_member_name(p, &APR_ARRAY_IDX(g->members, j, shs_member_t)),
                            name)) {
                return g->name;
            }
        }
    }
    return NULL;
}

/* The id cookie this browser already has on this site, if well-formed. */
static int scan_cookie(void *baton, const char *key, const char *val)
{
    void **b = baton;

    shs_cookie_scan(b[0], val, b[1], b[2]);
    return 1;
}

static const char *current_id(request_rec *r, const char *name)
{
    shs_cookie_scan_t res = { 0 };
    void *b[3] = { r->pool, (void *)name, &res };

    apr_table_do(scan_cookie, b, r->headers_in, "Cookie", NULL);
    return res.value;
}

static apr_int64_t session_ttl(request_rec *r, const shs_dir_conf_t *d)
{
    session_dir_conf *sd = ap_get_module_config(r->per_dir_config, &session_module);

    return sd && sd->maxage > 0 ? sd->maxage : shs_dir_ttl(d);
}

/* Check the token and hand the session over.  Returns NULL on success, else the reason. */
static const char *accept_token(request_rec *r, const shs_srv_conf_t *sc, const char *token,
                                const char **sid_out, const char **from)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);
    shs_store_t *st = shs_provider_store();
    const char *self = shs_member_name(r->pool, sc->self), *sid, *have, *prefix, *ckey, *group;
    shs_token_err_e why = SHS_TOKEN_OK;
    shs_token_t *t = NULL;
    apr_uint32_t exptime;
    apr_status_t rv;
    char *val;
    apr_size_t len;

    if (!token || !*token) {
        return "no-token";
    }
    if (shs_token_open(r->pool, sc->keys, token, apr_time_sec(apr_time_now()), SHS_TOKEN_SKEW, &t,
                       &why) != APR_SUCCESS) {
        return shs_token_err_str(why);
    }
    *from = t->src;
    if (strcasecmp(t->dst, self)) {
        return apr_psprintf(r->pool, "wrong-destination: for %s, this site is %s", t->dst, self);
    }
    if (!strcasecmp(t->src, self)) {
        return "source-is-destination";
    }
    group = group_of_host(sc, t->src, r->pool);
    if (!group) {
        return "source-not-in-group";
    }
    if (strcmp(group, sc->group->name)) {
        return "source-in-other-group";
    }
    if (shs_b64url_encode(r->pool, t->sid, SHS_SID_BYTES, &sid) != APR_SUCCESS) {
        return "malformed";
    }
    *sid_out = sid;
    if (!st) {
        return "store-unavailable";
    }
    prefix = shs_srv_key_prefix(sc);
    have = current_id(r, shs_dir_cookie_name(d));
    if (have && !strcmp(have, sid)) {
        /* already here: just record the confirmation */
        exptime = shs_ttl_to_memcache(session_ttl(r, d), apr_time_sec(apr_time_now()));
        shs_store_add(st, shs_id_confirm_key(r->pool, prefix, sid, self), "1", 1, exptime);
        return NULL;
    }
    if (have && !shs_srv_replace(sc)) {
        rv = shs_store_get(st, shs_id_store_key(r->pool, prefix, have), r->pool, &val, &len);
        if (rv == APR_SUCCESS) {
            return "local-session-kept";
        }
        if (SHS_STORE_FAILED(rv)) {
            return "store-unavailable";
        }
    }
    exptime = shs_ttl_to_memcache(session_ttl(r, d), apr_time_sec(apr_time_now()));
    ckey = shs_id_confirm_key(r->pool, prefix, sid, self);
    rv = shs_store_add(st, ckey, "1", 1, exptime);
    if (rv == APR_EEXIST) {
        return "replayed";
    }
    if (rv != APR_SUCCESS) {
        return "store-unavailable";
    }
    rv = shs_store_get(st, shs_id_store_key(r->pool, prefix, sid), r->pool, &val, &len);
    if (rv != APR_SUCCESS) {
        shs_store_del(st, ckey);
        return rv == APR_NOTFOUND ? "unknown-session" : "store-unavailable";
    }
    return NULL;
}

static int callback(request_rec *r, const shs_srv_conf_t *sc)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);
    const char *reason, *sid = NULL, *from = "?";
    cb_args_t a;

    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    parse_args(r, &a);
    if (!sc->keys || !sc->self) {
        reason = "not-configured";
    }
    else {
        reason = accept_token(r, sc, a.token, &sid, &from);
    }
    if (reason) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "SHS00401: cross-domain token refused (%s); from %s, session %s", reason,
                      from, sid ? shs_id_fingerprint(r->pool, sid) : "-");
    }
    else {
        /* a cross-site image or script response: only SameSite=None; Secure is kept */
        ap_cookie_write(r, shs_dir_cookie_name(d), sid, "Path=/; HttpOnly; Secure; SameSite=None",
                        0, r->err_headers_out, NULL);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "SHS00402: session %s received from %s",
                      shs_id_fingerprint(r->pool, sid), from);
    }
    return answer(r, a.script);
}

int shs_endpoint_handler(request_rec *r, int lookup)
{
    const shs_srv_conf_t *sc = SHS_SRV_CONF(r->server);
    const char *prefix;
    apr_size_t plen;

    if (lookup || r->main || !sc->group || !r->uri) {
        return DECLINED;
    }
    prefix = shs_srv_endpoint(sc);
    plen = strlen(prefix);
    if (strncmp(r->uri, prefix, plen)) {
        return DECLINED;
    }
    if (!strcmp(r->uri + plen, "cb")) {
        return callback(r, sc);
    }
    return HTTP_NOT_FOUND;
}
