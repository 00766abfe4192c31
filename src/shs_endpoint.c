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

/* The callback: GET <prefix>cb?t=TOKEN[&k=js]          (push: answered by a GIF or script)
 *                GET <prefix>cb?t=TOKEN&r=URL          (pull: answered by a redirect to URL)
 *
 * A token is accepted only when all of these hold, cheap checks first; any failure answers
 * like a success minus the cookie (the GIF, or the redirect back), is counted and logged with
 * its reason (shs_refusal.h; at info, at warn for the operator's own problems):
 *   - it decrypts and authenticates under a known key, inside its validity window;
 *   - its destination is this virtual host's own entry in the group (the Host header only
 *     picked the virtual host), its source another site of the same group;
 *   - push tokens (no nonce) only by the push, pull tokens (with the state nonce) only by the
 *     pull;
 *   - it is used once: memcached `add` of its token id, before any check below can refuse it;
 *   - a push arrives as the browser's CORS request of a loader tag of the source site's own
 *     page, through the source's go endpoint: Origin is the source's origin (a browser sets
 *     it, and sets "null" after a redirect through any other origin), Sec-Fetch-* say a
 *     cross-site image or script in cors mode;
 *   - a pull token comes from the hub and carries the nonce of this browser's state cookie
 *     (so nobody can make a browser adopt a session it did not ask for), in a navigation;
 *   - the replace policy: a browser that already has a live, different session here keeps
 *     it unless SharedSessionReplace On, or unless the module itself planted that session
 *     here from an older token;
 *   - the session exists in memcached (strict mode: never adopt an id the store never issued).
 * On success the confirmation key of (session, this site) is set, which the pushing site reads
 * back.  The push sets the cookie SameSite=None; Secure (the only kind a browser keeps from a
 * cross-site image or script response); the pull, a top-level navigation, sets it with the
 * site's own attributes (SameSite=Lax). */

#include <string.h>

#include <apr_strings.h>
#include <apr_lib.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <scoreboard.h>
#include <http_ssl.h>
#include <util_cookies.h>

#include "shs_private.h"
#include "shs_endpoint.h"
#include "shs_ep.h"
#include "shs_cookies.h"
#include "shs_id.h"
#include "shs_provider.h"
#include "shs_backend.h"
#include "shs_pull.h"
#include "shs_push.h"
#include "shs_store.h"
#include "shs_token.h"
#include "shs_status.h"
#include "shs_url.h"

/* What a token gave: the session when accepted, and what the log line of a refusal says. */
typedef struct accepted_t {
    const char *sid;
    const char *from;        /* the source as the token names it */
    const shs_member_t *src; /* ... that site of this site's group */
    const char *detail;      /* more about the refusal, or NULL */
} accepted_t;

static apr_int64_t expiry_for(request_rec *r)
{
    return shs_provider_ttl(r);
}

/* A push is a loader tag of a page of its source site: the browser that got the page asks the
 * source's go endpoint, which redirects to here.  The tag is a credentialed CORS request, so
 * the browser itself names the page's origin in Origin; after a hop through any other origin
 * (an attacker's image URL that redirects here) it says "null".  A token planted in another
 * browser by a plain image, a link or a form arrives without Origin, or in another mode. */
static shs_refusal_e check_push_context(request_rec *r, const shs_member_t *src, int script)
{
    const char *dest = apr_table_get(r->headers_in, "Sec-Fetch-Dest");
    const char *mode = apr_table_get(r->headers_in, "Sec-Fetch-Mode");
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    const char *referer = apr_table_get(r->headers_in, "Referer");
    const char *origin = apr_table_get(r->headers_in, "Origin");

    if ((dest && strcasecmp(dest, script ? "script" : "image")) ||
        (mode && strcasecmp(mode, "cors")) || (site && !strcasecmp(site, "none"))) {
        return SHS_REFUSAL_WRONG_CONTEXT;
    }
    if (!origin) {
        return SHS_REFUSAL_NO_ORIGIN;
    }
    if (!shs_url_same_origin(origin, src->origin)) {
        return SHS_REFUSAL_WRONG_ORIGIN;
    }
    if (referer && !shs_url_same_origin(referer, src->origin)) {
        return SHS_REFUSAL_WRONG_REFERER;
    }
    return SHS_REFUSAL_NONE;
}

/* The checks of the pull token: a navigation, with this browser's state nonce, from the hub. */
static shs_refusal_e check_pull(request_rec *r, const shs_srv_conf_t *sc, const shs_token_t *t,
                                const shs_member_t *src)
{
    const char *state = shs_ep_state(r);
    const char *mode = apr_table_get(r->headers_in, "Sec-Fetch-Mode");

    if (mode && strcasecmp(mode, "navigate")) {
        return SHS_REFUSAL_WRONG_CONTEXT;
    }
    if (!state || strcmp(state, t->nonce)) {
        return SHS_REFUSAL_STATE_MISMATCH;
    }
    if (src != shs_srv_pull_hub(sc)) {
        return SHS_REFUSAL_NOT_FROM_HUB;
    }
    return SHS_REFUSAL_NONE;
}

/* Did this site get `id` from a callback (the module planted it here, the visitor did not log
 * in here), from a token issued no later than `issued`?  Then a newer hand-over for the same
 * browser may replace it: after a login on another site, this site follows. */
static int planted_before(request_rec *r, const shs_srv_conf_t *sc, const char *id,
                          const char *self, apr_int64_t issued)
{
    char *val = NULL;
    apr_size_t len = 0;

    if (shs_store_get(shs_backend_store(),
                      shs_id_confirm_key(r->pool, shs_srv_key_prefix(sc), id, self), r->pool, &val,
                      &len) != APR_SUCCESS) {
        return 0;
    }
    return apr_atoi64(apr_pstrmemdup(r->pool, val, len)) <= issued;
}

/* Check the token and hand the session over.  Returns SHS_REFUSAL_NONE on success, else the
 * reason. */
static shs_refusal_e accept_token(request_rec *r, const shs_srv_conf_t *sc, const shs_ep_args_t *a,
                                  int pull, accepted_t *acc)
{
    shs_store_t *st = shs_backend_store();
    const char *self = shs_member_name(r->pool, sc->self), *have, *ckey, *when;
    shs_refusal_e why = SHS_REFUSAL_NONE;
    shs_token_t *t = NULL;
    apr_size_t len = 0;
    apr_status_t rv, got = APR_EINIT;
    const char *skey;
    char *stored = NULL;

    if (!a->token || !*a->token) {
        return SHS_REFUSAL_NO_TOKEN;
    }
    if (shs_token_open(r->pool, sc->keys, a->token, apr_time_sec(apr_time_now()), SHS_TOKEN_SKEW,
                       &t, &why) != APR_SUCCESS) {
        return why;
    }
    acc->from = t->src;
    if (strcasecmp(t->dst, self)) {
        acc->detail = apr_psprintf(r->pool, "for %s, this site is %s", t->dst, self);
        return SHS_REFUSAL_WRONG_DESTINATION;
    }
    if (!strcasecmp(t->src, self)) {
        return SHS_REFUSAL_SOURCE_IS_DESTINATION;
    }
    if (!(acc->src = shs_srv_peer_named(r->pool, sc, t->src))) {
        return shs_group_of_site(r->pool, sc, t->src) ? SHS_REFUSAL_SOURCE_IN_OTHER_GROUP
                                                      : SHS_REFUSAL_SOURCE_NOT_IN_GROUP;
    }
    if (shs_b64url_encode(r->pool, t->sid, SHS_SID_BYTES, &acc->sid) != APR_SUCCESS) {
        return SHS_REFUSAL_MALFORMED;
    }
    if ((t->nonce && *t->nonce) != pull) {
        return pull ? SHS_REFUSAL_PUSH_TOKEN_IN_PULL : SHS_REFUSAL_PULL_TOKEN_IN_PUSH;
    }
    if (!st) {
        return SHS_REFUSAL_STORE_UNAVAILABLE;
    }
    ckey = shs_id_confirm_key(r->pool, shs_srv_key_prefix(sc), acc->sid, self);
    when = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, t->issued);
    /* use the token up, before any check that may still refuse it: whoever later reads its URL
     * (a log, a proxy, the browser's history) finds it spent.  A browser without a session here
     * (the usual case) needs the session read below: it goes in the same round trip, and is
     * used only once every check passed. */
    have = shs_cookies_id(r, shs_dir_cookie_name(SHS_DIR_CONF(r)));
    skey = have ? NULL : shs_id_store_key(r->pool, shs_srv_key_prefix(sc), acc->sid);
    if ((why = shs_ep_spend_get(r, sc, t, pull ? "t." : "p.", skey, &got, &stored, &len))) {
        return why;
    }
    if ((why =
             pull ? check_pull(r, sc, t, acc->src) : check_push_context(r, acc->src, a->script))) {
        return why;
    }
    if (!have || strcmp(have, acc->sid)) {
        if (have && !shs_srv_replace(sc)) {
            rv = shs_provider_lookup(r, have, NULL);
            if (rv == APR_SUCCESS && !planted_before(r, sc, have, self, t->issued)) {
                return SHS_REFUSAL_LOCAL_SESSION_KEPT;
            }
            if (SHS_STORE_FAILED(rv)) {
                return SHS_REFUSAL_STORE_UNAVAILABLE;
            }
        }
        rv = got == APR_EINIT ? shs_provider_lookup(r, acc->sid, &len)
                              : shs_provider_lookup_stored(r, skey, got, stored, len, &len);
        if (rv != APR_SUCCESS) {
            return rv == APR_NOTFOUND ? SHS_REFUSAL_UNKNOWN_SESSION : SHS_REFUSAL_STORE_UNAVAILABLE;
        }
        if (len == 0) {
            /* the hub's new empty session, short-lived until a site takes it: now shared */
            shs_provider_keep_empty(r, acc->sid);
        }
    }
    /* confirmed (also when it was already here): the pushing site stops asking, and the id is
     * marked as planted here by a token of this age.  Sent without waiting for memcached's
     * answer: a confirmation lost after it was sent costs one more callback later (the pushing
     * site asks again), or keeps a local session that a newer token could have replaced. */
    if (shs_store_set_quiet(st, ckey, when, strlen(when), expiry_for(r)) != APR_SUCCESS) {
        return SHS_REFUSAL_STORE_UNAVAILABLE;
    }
    return SHS_REFUSAL_NONE;
}

/* Problems of the operator, not of the client: logged where an operator looks. */
static int refusal_level(shs_refusal_e why)
{
    return why == SHS_REFUSAL_STORE_UNAVAILABLE || why == SHS_REFUSAL_NOT_CONFIGURED ? APLOG_WARNING
                                                                                     : APLOG_INFO;
}

static int callback(request_rec *r, const shs_srv_conf_t *sc, const shs_ep_args_t *a)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);
    shs_refusal_e why;
    accepted_t acc = { NULL, "?", NULL, NULL };
    int pull;

    if (r->method_number != M_GET) {
        ap_allow_methods(r, 1, "GET", "HEAD", NULL);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    pull = a->ret != NULL;
    why = !sc->keys ? SHS_REFUSAL_NOT_CONFIGURED : accept_token(r, sc, a, pull, &acc);
    if (why) {
        shs_stats_refused(shs_status_block(), why);
        ap_log_rerror(APLOG_MARK, refusal_level(why), 0, r,
                      "SHS00401: cross-domain token refused (%s%s%s); from %s, session %s",
                      shs_refusal_name(why), acc.detail ? ": " : "", acc.detail ? acc.detail : "",
                      acc.from, acc.sid ? shs_id_fingerprint(r->pool, acc.sid) : "-");
    }
    else {
        shs_stats_add(shs_status_block(), SHS_C_CB_ACCEPTED, 1);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "SHS00402: session %s received from %s%s",
                      shs_id_fingerprint(r->pool, acc.sid), acc.from, pull ? " (pull)" : "");
    }
    if (!pull) {
        if (!why) {
            /* a cross-site image or script response: only SameSite=None; Secure is kept; the
             * site puts its own attributes back at the next first-party request */
            shs_cookies_set_pushed(r, acc.sid);
            /* the tag's CORS request: let the page see its image load (the Origin was
             * checked to be the source's) */
            apr_table_setn(r->headers_out, "Access-Control-Allow-Origin", acc.src->origin);
            apr_table_setn(r->headers_out, "Access-Control-Allow-Credentials", "true");
        }
        apr_table_mergen(r->headers_out, "Vary", "Origin");
        return shs_ep_answer_push(r, a->script);
    }
    /* the pull: back to where the visitor was going, whatever happened */
    if (!why) {
        shs_provider_set_cookie(r, acc.sid);
    }
    shs_cookies_remove_lax(r,
                           shs_cookie_own_name(r->pool, shs_dir_cookie_name(d), SHS_COOKIE_STATE),
                           shs_srv_endpoint(sc));
    return shs_ep_redirect(r, apr_pstrcat(r->pool, sc->self->origin,
                                          shs_url_local_path_ok(a->ret) ? a->ret : "/", NULL));
}

/* Tokens stay out of the access log, mod_status and error-log lines that quote the request:
 * a logged token is one anybody who reads the log could redeem within its lifetime. */
static void redact_request(request_rec *r)
{
    const char *red;

    if (!r->args || !(red = shs_url_redact_param(r->pool, r->args, "t", "-"))) {
        return;
    }
    r->args = (char *)red;
    r->unparsed_uri = apr_pstrcat(r->pool, r->uri, "?", red, NULL);
    r->parsed_uri.query = r->args;
    r->the_request = apr_pstrcat(r->pool, r->method, " ", r->unparsed_uri, " ", r->protocol, NULL);
    /* the scoreboard (mod_status with ExtendedStatus) copied the request line when it was
     * read: copy the redacted one over it */
    ap_update_child_status(r->connection->sbh, SERVER_BUSY_WRITE, r);
}

int shs_endpoint_handler(request_rec *r, int lookup)
{
    const shs_srv_conf_t *sc = SHS_SRV_CONF(r->server);
    const char *prefix, *what;
    apr_size_t plen;
    shs_ep_args_t a;

    if (lookup || r->main || r->prev || !sc->group || !r->uri) {
        return DECLINED;
    }
    prefix = shs_srv_endpoint(sc);
    plen = strlen(prefix);
    if (strncmp(r->uri, prefix, plen)) {
        return DECLINED;
    }
    what = r->uri + plen;
    shs_ep_parse_args(r, &a);
    redact_request(r);
    if (!strcmp(what, "cb")) {
        return callback(r, sc, &a);
    }
    if (!strcmp(what, "go")) {
        return shs_push_go(r, sc, &a);
    }
    if (strcmp(what, "pull") && strcmp(what, "attach")) {
        return HTTP_NOT_FOUND;
    }
    if (r->method_number != M_GET) {
        ap_allow_methods(r, 1, "GET", "HEAD", NULL);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    return !strcmp(what, "pull") ? shs_pull_start(r, sc, &a) : shs_pull_attach(r, sc, &a);
}
