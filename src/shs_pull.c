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

/* The hops of one pull, for a peer B and the hub H of its group:
 *
 *   B/page    a top-level navigation, no live session: 302 B/_shs/pull?r=/page, and two cookies:
 *             the state nonce (Path=/_shs/, minutes) and the pull marker (see below)
 *   B/pull    the state cookie came back (the browser keeps cookies): 302 H/_shs/attach with a
 *             token B -> H carrying the nonce; it did not (curl, a bot): 302 back to /page with
 *             ?shs_nopull=1, which B/page never bounces, so such a client sees two redirects
 *             and never loops.  The page is never served from here (an internal redirect to a
 *             path the client chose would skip the access checks of that path)
 *   H/attach  the token is used up first (once only); the hub's live session, or a new empty
 *             shared one (short-lived until B confirms it): 302 B/_shs/cb with a token H -> B
 *             carrying that id and the same nonce
 *   B/cb      nonce == state cookie, from the hub, once, known to the store: the cookie is set
 *             (SameSite=Lax: a top-level navigation), 302 back to /page
 *
 * The marker cookie (<name>_pull = "<fingerprint of the dead id, or ->.<time>") stops a
 * second bounce for the same situation within SharedSessionPullRetry: after a pull that
 * failed, the visitor browses without a session instead of bouncing on every page.  When the
 * id the browser holds dies (rotated, logged out), the situation is new: one more pull. */

#include <string.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>
#include <util_cookies.h>
#include <mod_session.h>

#include "shs_private.h"
#include "shs_pull.h"
#include "shs_ep.h"
#include "shs_cookies.h"
#include "shs_id.h"
#include "shs_provider.h"
#include "shs_store.h"
#include "shs_token.h"
#include "shs_status.h"
#include "shs_url.h"

/* A top-level navigation of a browser: where the browser says so (Sec-Fetch-*), and else an
 * HTML Accept.  Never a prefetch. */
static int is_navigation(request_rec *r)
{
    const char *mode = apr_table_get(r->headers_in, "Sec-Fetch-Mode");
    const char *dest = apr_table_get(r->headers_in, "Sec-Fetch-Dest");
    const char *accept = apr_table_get(r->headers_in, "Accept");
    const char *purpose = apr_table_get(r->headers_in, "Sec-Purpose");

    if (!purpose) {
        purpose = apr_table_get(r->headers_in, "Purpose");
    }
    if (purpose && ap_strcasestr(purpose, "prefetch")) {
        return 0;
    }
    if (mode) {
        return !strcasecmp(mode, "navigate") && (!dest || !strcasecmp(dest, "document"));
    }
    return accept && ap_strcasestr(accept, "text/html");
}

/* Does the query carry the no-pull marker (SHS_EP_NOPULL_PARAM=1)? */
static int asks_no_pull(request_rec *r)
{
    static const char want[] = SHS_EP_NOPULL_PARAM "=1";
    const char *q = r->args;

    while (q && *q) {
        apr_size_t n = strcspn(q, "&");
        if (n == sizeof(want) - 1 && !strncmp(q, want, n)) {
            return 1;
        }
        q += n + (q[n] == '&');
    }
    return 0;
}

/* The local URL of this request, raw (as the browser sent it). */
static const char *here(request_rec *r)
{
    const char *path = r->parsed_uri.path ? r->parsed_uri.path : "/";

    return r->parsed_uri.query ? apr_pstrcat(r->pool, path, "?", r->parsed_uri.query, NULL) : path;
}

int shs_pull_header_parser(request_rec *r)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);
    const shs_srv_conf_t *sc = SHS_SRV_CONF(r->server);
    APR_OPTIONAL_FN_TYPE(ap_session_load) * session_load;
    session_rec *z = NULL;
    const char *name, *held, *fp, *marker, *dot, *ret;
    unsigned char raw[SHS_EP_NONCE_BYTES];
    const char *nonce;
    const shs_member_t *hub = shs_srv_pull_hub(sc);
    apr_int64_t now = apr_time_sec(apr_time_now());

    if (r->main || r->prev || r->method_number != M_GET || !shs_dir_enabled(d) ||
        !shs_dir_pull(d) || !hub || !sc->keys || !is_navigation(r) || asks_no_pull(r)) {
        return DECLINED;
    }
    /* Through mod_session, so that SessionInclude/SessionExclude are honoured. */
    session_load = APR_RETRIEVE_OPTIONAL_FN(ap_session_load);
    if (!session_load || session_load(r, &z) != APR_SUCCESS || shs_provider_id(r) ||
        shs_provider_store_failed(r)) {
        return DECLINED; /* a live session, or no way to know */
    }
    name = shs_dir_cookie_name(d);
    held = shs_provider_cookie_id(r);
    fp = held ? shs_id_fingerprint(r->pool, held) : "-";
    marker = shs_provider_marker_cookie(r);
    if (marker && (dot = strchr(marker, '.')) && (apr_size_t)(dot - marker) == strlen(fp) &&
        !strncmp(marker, fp, strlen(fp)) && now - apr_atoi64(dot + 1) < shs_srv_pull_retry(sc)) {
        return DECLINED; /* bounced for this very situation a moment ago */
    }
    if (apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS ||
        shs_b64url_encode(r->pool, raw, sizeof(raw), &nonce) != APR_SUCCESS) {
        return DECLINED;
    }
    shs_cookies_set_lax(r, shs_cookie_own_name(r->pool, name, SHS_COOKIE_STATE), nonce,
                        shs_srv_endpoint(sc), shs_srv_token_lifetime(sc) + 60);
    shs_cookies_set_lax(r, shs_cookie_own_name(r->pool, name, SHS_COOKIE_MARKER),
                        apr_psprintf(r->pool, "%s.%" APR_INT64_T_FMT, fp, now), "/",
                        shs_srv_pull_retry(sc));
    ret = here(r);
    shs_stats_add(shs_status_block(), SHS_C_BOUNCES, 1);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "SHS00601: no live session (%s): pulling it "
                  "from the hub %s",
                  held ? "the id it holds is gone" : "no id", hub->origin);
    return shs_ep_redirect(r, apr_pstrcat(r->pool, sc->self->origin, shs_srv_endpoint(sc),
                                          "pull?r=", ap_escape_urlencoded(r->pool, ret), NULL));
}

static const char *seal(request_rec *r, const shs_srv_conf_t *sc, const char *src, const char *dst,
                        const unsigned char *sid, const char *nonce)
{
    apr_int64_t now = apr_time_sec(apr_time_now());
    shs_token_t t = {
        .issued = now,
        .expires = now + shs_srv_token_lifetime(sc),
        .src = src,
        .dst = dst,
        .nonce = nonce,
    };
    const char *out = NULL;

    if (sid) {
        memcpy(t.sid, sid, SHS_SID_BYTES);
    }
    if (shs_token_seal(r->pool, sc->keys, &t, &out) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "SHS00602: cannot make a token for %s", dst);
        return NULL;
    }
    return out;
}

/* url with the no-pull marker added to its query (before any fragment). */
static const char *with_no_pull(apr_pool_t *p, const char *url)
{
    apr_size_t n = strcspn(url, "#");

    return apr_pstrcat(p, apr_pstrmemdup(p, url, n),
                       strchr(url, '?') && strchr(url, '?') < url + n ? "&" : "?",
                       SHS_EP_NOPULL_PARAM "=1", url + n, NULL);
}

int shs_pull_start(request_rec *r, const shs_srv_conf_t *sc, const shs_ep_args_t *a)
{
    const char *ret = shs_url_local_path_ok(a->ret) ? a->ret : "/";
    const shs_member_t *hub = shs_srv_pull_hub(sc);
    const char *state, *token;

    if (!hub || !sc->keys) {
        return HTTP_NOT_FOUND;
    }
    state = shs_ep_state(r);
    if (!state) {
        /* the browser did not keep the state cookie: back to its page, marked so that the page
         * does not bounce it again (no cookie can say so for such a client) */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "SHS00603: client keeps no cookies: "
                      "sending it back to %s without a pull",
                      ret);
        shs_stats_add(shs_status_block(), SHS_C_NO_COOKIES, 1);
        return shs_ep_redirect(
            r, with_no_pull(r->pool, apr_pstrcat(r->pool, sc->self->origin, ret, NULL)));
    }
    token =
        seal(r, sc, shs_member_name(r->pool, sc->self), shs_member_name(r->pool, hub), NULL, state);
    if (!token) {
        return shs_ep_redirect(r, apr_pstrcat(r->pool, sc->self->origin, ret, NULL));
    }
    return shs_ep_redirect(r, apr_pstrcat(r->pool, hub->origin, shs_srv_endpoint(sc), "attach?t=",
                                          token, "&r=", ap_escape_urlencoded(r->pool, ret), NULL));
}

int shs_pull_attach(request_rec *r, const shs_srv_conf_t *sc, const shs_ep_args_t *a)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);
    const char *ret = shs_url_local_path_ok(a->ret) ? a->ret : "/";
    const char *self, *have, *sid = NULL, *token;
    int several = 0;
    const shs_member_t *peer = NULL;
    shs_refusal_e why = SHS_REFUSAL_NONE;
    shs_token_t *t = NULL;
    unsigned char *raw;
    apr_size_t rawlen;
    apr_status_t rv;

    if (!shs_srv_is_hub(sc) || !sc->keys) {
        return HTTP_NOT_FOUND;
    }
    self = shs_member_name(r->pool, sc->self);
    if (!a->token) {
        why = SHS_REFUSAL_NO_TOKEN;
    }
    else if (shs_token_open(r->pool, sc->keys, a->token, apr_time_sec(apr_time_now()),
                            SHS_TOKEN_SKEW, &t, &why) != APR_SUCCESS) {
        /* why says why */
    }
    else if (strcasecmp(t->dst, self)) {
        why = SHS_REFUSAL_WRONG_DESTINATION;
    }
    else if (!(peer = shs_srv_peer_named(r->pool, sc, t->src))) {
        why = SHS_REFUSAL_SOURCE_NOT_IN_GROUP;
    }
    else if (!t->nonce || !*t->nonce) {
        why = SHS_REFUSAL_NO_NONCE;
    }
    /* used up before anything is handed out: one token, one session at most */
    else if ((why = shs_ep_spend(r, sc, t, "a.")) == SHS_REFUSAL_STORE_UNAVAILABLE) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "SHS00607: attach for %s without a session: the store is unavailable",
                      t->src);
        return shs_ep_redirect(r, apr_pstrcat(r->pool, peer->origin, ret, NULL));
    }
    if (why) {
        /* nowhere trustworthy to send the browser back to */
        shs_stats_add(shs_status_block(), SHS_C_ATTACH_REFUSED, 1);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "SHS00604: attach request refused (%s)",
                      shs_refusal_name(why));
        return HTTP_BAD_REQUEST;
    }
    have = shs_cookies_id_unique(r, shs_dir_cookie_name(d), &several);
    if (several) {
        /* an id cookie planted with a narrower Path beside the visitor's own: which one is
         * the visitor's cannot be told, so none is handed over */
        shs_stats_add(shs_status_block(), SHS_C_ATTACH_REFUSED, 1);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "SHS00608: attach for %s refused: the browser sends several different "
                      "session ids",
                      t->src);
        return shs_ep_redirect(r, apr_pstrcat(r->pool, peer->origin, ret, NULL));
    }
    rv = have ? shs_provider_lookup(r, have, NULL) : APR_NOTFOUND;
    if (rv == APR_SUCCESS) {
        sid = have;
    }
    else if (rv == APR_NOTFOUND) {
        /* none yet: a shared, empty session, so the id is common before anyone logs in */
        rv = shs_provider_new_empty(r, &sid);
    }
    if (rv != APR_SUCCESS) {
        char buf[120];
        ap_log_rerror(APLOG_MARK, APLOG_INFO, SHS_LOG_RV(rv), r,
                      "SHS00605: attach for %s "
                      "without a session: %s",
                      t->src, shs_store_strerror(rv, buf, sizeof(buf)));
        return shs_ep_redirect(r, apr_pstrcat(r->pool, peer->origin, ret, NULL));
    }
    if (shs_b64url_decode(r->pool, sid, strlen(sid), &raw, &rawlen) != APR_SUCCESS ||
        rawlen != SHS_SID_BYTES || !(token = seal(r, sc, self, t->src, raw, t->nonce))) {
        return shs_ep_redirect(r, apr_pstrcat(r->pool, peer->origin, ret, NULL));
    }
    shs_stats_add(shs_status_block(), SHS_C_ATTACHES, 1);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "SHS00606: handing session %s to %s",
                  shs_id_fingerprint(r->pool, sid), t->src);
    return shs_ep_redirect(r, apr_pstrcat(r->pool, peer->origin, shs_srv_endpoint(sc), "cb?t=",
                                          token, "&r=", ap_escape_urlencoded(r->pool, ret), NULL));
}
