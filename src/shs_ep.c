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

/* What the steps of the cross-domain endpoints share: their query, their answers, the single
 * use of tokens, the pull's state cookie.  Below the steps (push.c's go, pull.c's pull and
 * attach, endpoint.c's callback), above the provider. */

#include <string.h>

#include <apr_strings.h>
#include <apr_lib.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>

#include "shs_private.h"
#include "shs_ep.h"
#include "shs_cookies.h"
#include "shs_provider.h"
#include "shs_backend.h"
#include "shs_status.h"
#include "shs_store.h"

/* A transparent 1x1 GIF89a: header, screen descriptor with a 2-colour table, a graphic control
 * extension marking colour 0 transparent, one image of one pixel, trailer. */
static const unsigned char gif1x1[] = {
    'G',  'I',  'F',  '8',  '9',  'a',  0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
};

void shs_ep_parse_args(request_rec *r, shs_ep_args_t *a)
{
    char *args = r->args ? apr_pstrdup(r->pool, r->args) : NULL;
    char *last = NULL, *pair;

    memset(a, 0, sizeof(*a));
    for (pair = args ? apr_strtok(args, "&", &last) : NULL; pair;
         pair = apr_strtok(NULL, "&", &last)) {
        if (!strncmp(pair, "t=", 2) && !a->token) {
            a->token = pair + 2;
        }
        else if (!strncmp(pair, "r=", 2) && !a->ret) {
            char *v = pair + 2;
            if (ap_unescape_urlencoded(v) == OK) {
                a->ret = v;
            }
            else {
                a->ret = ""; /* present but undecodable: refused as not local */
            }
        }
        else if (!strncmp(pair, "to=", 3) && !a->to) {
            char *v = pair + 3;
            a->to = ap_unescape_urlencoded(v) == OK ? v : "";
        }
        else if (!strncmp(pair, "f=", 2) && !a->fp) {
            a->fp = pair + 2;
        }
        else if (!strcmp(pair, "k=js")) {
            a->script = 1;
        }
    }
}

int shs_ep_redirect(request_rec *r, const char *url)
{
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "Referrer-Policy", "no-referrer");
    apr_table_setn(r->headers_out, "Location", url);
    return HTTP_MOVED_TEMPORARILY;
}

const char *shs_ep_state(request_rec *r)
{
    const char *name = shs_cookies_name(r, SHS_COOKIE_STATE);
    const char *v = shs_cookies_get(r, name, 4096);
    apr_size_t i;

    if (!v) {
        return NULL;
    }
    for (i = 0; v[i]; i++) {
        if (!apr_isalnum(v[i]) && v[i] != '-' && v[i] != '_') {
            break;
        }
    }
    if (i != SHS_EP_NONCE_LEN || v[i]) {
        shs_stats_add(shs_status_block(), SHS_C_CLIENT_ERRORS, 1);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "SHS00403: ignoring a malformed %s cookie (%" APR_SIZE_T_FMT " bytes)", name,
                      strlen(v));
        return NULL;
    }
    return v;
}

int shs_ep_answer_push(request_rec *r, int script)
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

shs_refusal_e shs_ep_spend(request_rec *r, const shs_srv_conf_t *sc, const shs_token_t *t,
                           const char *kind)
{
    return shs_ep_spend_get(r, sc, t, kind, NULL, NULL, NULL, NULL);
}

shs_refusal_e shs_ep_spend_get(request_rec *r, const shs_srv_conf_t *sc, const shs_token_t *t,
                               const char *kind, const char *skey, apr_status_t *got, char **val,
                               apr_size_t *len)
{
    shs_store_t *st = shs_backend_store();
    const char *tid, *key;
    apr_int64_t ttl;
    apr_status_t rv;

    if (!st) {
        return SHS_REFUSAL_STORE_UNAVAILABLE;
    }
    if (shs_b64url_encode(r->pool, t->tid, sizeof(t->tid), &tid) != APR_SUCCESS) {
        return SHS_REFUSAL_MALFORMED;
    }
    key = apr_pstrcat(r->pool, shs_srv_key_prefix(sc), kind, tid, NULL);
    /* kept as long as the token itself can be accepted here (its own expiry, which another
     * server of the group may have set longer than this one's lifetime, plus the skew) */
    ttl = t->expires + SHS_TOKEN_SKEW - apr_time_sec(apr_time_now()) + 1;
    if (skey) {
        /* the callback: the spent mark and the session's read in one round trip */
        rv = shs_store_add_get(st, key, "1", 1, ttl > 1 ? ttl : 1, skey, r->pool, val, len, got);
    }
    else {
        rv = shs_store_add(st, key, "1", 1, ttl > 1 ? ttl : 1);
    }
    return rv == APR_SUCCESS  ? SHS_REFUSAL_NONE
           : rv == APR_EEXIST ? SHS_REFUSAL_REPLAYED
                              : SHS_REFUSAL_STORE_UNAVAILABLE;
}
