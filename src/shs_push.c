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

/* Deciding what to push costs no memcached round trip on most pages:
 *
 * - This site keeps, in a small first-party cookie (<session cookie>_sync), the fingerprint of
 *   the session id it last pushed and when: "<fp>.<unix time>", or "<fp>.done" once every
 *   site of the group confirmed.  Tampering with it only changes this visitor's own tags.
 * - A session id this site has not pushed yet (new, rotated, or first seen) is pushed to every
 *   other site at once, without asking memcached anything.
 * - After SharedSessionPushRetry the confirmations are read back: a site's callback creates
 *   the key shs_id_confirm_key(id, site) when it accepts the id.  Confirmed sites get no more
 *   tags; the others are tried again.
 *
 * A tag carries no token: it asks this site's own go endpoint, as a credentialed CORS request
 * (crossorigin="use-credentials"), and go mints the token from the visitor's id cookie and
 * redirects to the peer's callback.  So no script of the page ever sees a token, and the
 * callback gets the page's origin in the Origin header, which no other page can produce. */

#include <string.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>
#include <util_cookies.h>

#include "shs_private.h"
#include "shs_ep.h"
#include "shs_cookies.h"
#include "shs_push.h"
#include "shs_provider.h"
#include "shs_backend.h"
#include "shs_tag.h"
#include "shs_id.h"
#include "shs_store.h"
#include "shs_token.h"
#include "shs_status.h"

#define SYNC_DONE "done"

typedef struct sync_t {
    const char *fp;   /* fingerprint of the id last pushed, or NULL */
    apr_int64_t last; /* when */
    int done;         /* every site confirmed it */
} sync_t;

static void sync_read(request_rec *r, sync_t *out)
{
    const char *value = shs_provider_sync_cookie(r), *dot;
    char *end;

    memset(out, 0, sizeof(*out));
    if (!value || !(dot = strchr(value, '.')) || dot - value != 8) {
        return;
    }
    out->fp = apr_pstrmemdup(r->pool, value, 8);
    if (!strcmp(dot + 1, SYNC_DONE)) {
        out->done = 1;
    }
    else {
        out->last = apr_strtoi64(dot + 1, &end, 10);
        if (*end || out->last < 0) {
            out->fp = NULL; /* unreadable: as if never pushed */
        }
    }
}

static void sync_write(request_rec *r, const char *name, const char *fp, apr_int64_t now, int done)
{
    const char *val = done ? apr_pstrcat(r->pool, fp, ".", SYNC_DONE, NULL)
                           : apr_psprintf(r->pool, "%s.%" APR_INT64_T_FMT, fp, now);

    shs_cookies_set_lax(r, name, val, "/", 0);
}

/* Has `peer` confirmed `id`?  Any failure counts as "not confirmed": one tag too many is
 * harmless. */
static int confirmed(request_rec *r, const shs_srv_conf_t *sc, const char *id, const char *peer)
{
    shs_store_t *st = shs_backend_store();
    char *val;
    apr_size_t len;

    return st && shs_store_get(st, shs_id_confirm_key(r->pool, shs_srv_key_prefix(sc), id, peer),
                               r->pool, &val, &len) == APR_SUCCESS;
}

/* The tag names the fingerprint of the page's id (f=): go hands over that id and no other,
 * whatever other cookie of the same name the browser sends along (one with a narrower Path,
 * set by a related domain or over http, comes first in the Cookie header). */
static const char *tag_for(request_rec *r, const shs_srv_conf_t *sc, shs_push_e kind,
                           const shs_member_t *peer, const char *fp)
{
    const char *url =
        apr_pstrcat(r->pool, shs_srv_endpoint(sc),
                    "go?to=", ap_escape_urlencoded(r->pool, shs_member_name(r->pool, peer)),
                    "&f=", fp, kind == SHS_PUSH_SCRIPT ? "&k=js" : "", NULL);

    return shs_tag_make(r->pool, kind == SHS_PUSH_SCRIPT ? SHS_TAG_SCRIPT : SHS_TAG_IMG, url, NULL);
}

/* The callback URL, with a fresh token, that hands session `id` (base64url) to `peer`. */
static const char *callback_url(request_rec *r, const shs_srv_conf_t *sc, const char *id,
                                const shs_member_t *peer, int script)
{
    apr_int64_t now = apr_time_sec(apr_time_now());
    shs_token_t t = {
        .issued = now,
        .expires = now + shs_srv_token_lifetime(sc),
        .src = shs_member_name(r->pool, sc->self),
        .dst = shs_member_name(r->pool, peer),
        .nonce = NULL,
    };
    const char *token;
    unsigned char *sid;
    apr_size_t sidlen;
    apr_status_t rv;

    if (shs_b64url_decode(r->pool, id, strlen(id), &sid, &sidlen) != APR_SUCCESS ||
        sidlen != SHS_SID_BYTES) {
        return NULL;
    }
    memcpy(t.sid, sid, SHS_SID_BYTES);
    rv = shs_token_seal(r->pool, sc->keys, &t, &token);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "SHS00501: cannot make a token for %s", t.dst);
        return NULL;
    }
    return apr_pstrcat(r->pool, peer->origin, shs_srv_endpoint(sc), "cb?t=", token,
                       script ? "&k=js" : "", NULL);
}

int shs_push_go(request_rec *r, const shs_srv_conf_t *sc, const shs_ep_args_t *a)
{
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    const char *dest = apr_table_get(r->headers_in, "Sec-Fetch-Dest");
    const shs_member_t *peer = NULL;
    const char *id = NULL, *url = NULL;
    shs_refusal_e why = SHS_REFUSAL_NONE;

    if (r->method_number != M_GET) {
        ap_allow_methods(r, 1, "GET", "HEAD", NULL);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!sc->keys || !sc->self) {
        why = SHS_REFUSAL_NOT_CONFIGURED;
    }
    /* a tag of this site's own page; elsewhere the Lax id cookie is not even sent */
    else if ((site && strcasecmp(site, "same-origin")) ||
             (dest && strcasecmp(dest, a->script ? "script" : "image"))) {
        why = SHS_REFUSAL_WRONG_CONTEXT;
    }
    else if (!(peer = shs_srv_peer_named(r->pool, sc, a->to))) {
        why = SHS_REFUSAL_UNKNOWN_SITE;
    }
    else if (!a->fp ||
             !(id = shs_cookies_id_with_fp(r, shs_dir_cookie_name(SHS_DIR_CONF(r)), a->fp))) {
        why = SHS_REFUSAL_NO_SESSION; /* none, or not the one the page was made for */
    }
    else if (!(url = callback_url(r, sc, id, peer, a->script))) {
        why = SHS_REFUSAL_NO_TOKEN;
    }
    if (why) {
        shs_stats_add(shs_status_block(), SHS_C_CLIENT_ERRORS, 1);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "SHS00507: push step refused (%s)",
                      shs_refusal_name(why));
        return shs_ep_answer_push(r, a->script);
    }
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "SHS00508: pushing session %s to %s",
                  shs_id_fingerprint(r->pool, id), a->to);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    /* the next hop keeps the tag's policy: the peer sees this page's origin as Referer */
    apr_table_setn(r->headers_out, "Referrer-Policy", "origin");
    apr_table_setn(r->headers_out, "Location", url);
    /* answered as a normal response, not through the error path: no other module's error
     * filter (mod_session's loads the session) runs for this hop */
    r->status = HTTP_MOVED_TEMPORARILY;
    ap_set_content_length(r, 0);
    return OK;
}

const char *shs_push_tags(request_rec *r, const char *id, int dry)
{
    const shs_srv_conf_t *sc = SHS_SRV_CONF(r->server);
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);
    shs_push_e kind = shs_dir_push(d);
    const char *sync_name, *fp, *tags = "";
    apr_int64_t now = apr_time_sec(apr_time_now());
    sync_t sync;
    int i, check = 0, n = 0;

    if (kind == SHS_PUSH_NONE || !sc->group || !sc->self || !sc->keys || !id) {
        return NULL;
    }
    sync_name = shs_cookie_own_name(r->pool, shs_dir_cookie_name(d), SHS_COOKIE_SYNC);
    fp = shs_id_fingerprint(r->pool, id);
    sync_read(r, &sync);
    if (sync.fp && !strcmp(sync.fp, fp)) {
        if (sync.done || now - sync.last < shs_srv_push_retry(sc)) {
            return NULL;
        }
        check = 1; /* a retry: skip the sites that confirmed meanwhile */
    }
    for (i = 0; i < sc->group->members->nelts; i++) {
        const shs_member_t *m = &APR_ARRAY_IDX(sc->group->members, i, shs_member_t);
        const char *tag, *name;
        if (m == sc->self) {
            continue;
        }
        name = shs_member_name(r->pool, m);
        if (check && confirmed(r, sc, id, name)) {
            continue;
        }
        if ((tag = tag_for(r, sc, kind, m, fp))) {
            tags = apr_pstrcat(r->pool, tags, tag, NULL);
            n++;
        }
    }
    if (dry) {
        return n ? tags : NULL; /* HEAD: what a GET would get, nothing recorded */
    }
    sync_write(r, sync_name, fp, now, check && n == 0);
    if (n == 0) {
        return NULL;
    }
    shs_stats_add(shs_status_block(), SHS_C_PAGES_TAGGED, 1);
    shs_stats_add(shs_status_block(), SHS_C_TAGS, (apr_uint64_t)n);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "SHS00502: pushing session %s to %d site(s)%s", fp,
                  n, check ? " (retry)" : "");
    return tags;
}
