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

/* What the steps of the cross-domain endpoints share (see shs_ep.c). */

#ifndef SHS_EP_H
#define SHS_EP_H

#include <httpd.h>

#include "shs_config.h"
#include "shs_token.h"
#include "shs_refusal.h"

#define SHS_EP_NONCE_BYTES 16 /* the pull's state nonce */
#define SHS_EP_NONCE_LEN 22   /* ... in base64url */

/* The query parameter that tells a page not to bounce: the pull sends a client that keeps no
 * cookies back to its page with it (the marker cookie cannot stop a loop for such a client). */
#define SHS_EP_NOPULL_PARAM "shs_nopull"

/* The query of an endpoint request. */
typedef struct shs_ep_args_t {
    const char *token; /* t= */
    const char *ret;   /* r=, decoded: the local URL to return to (pull) */
    const char *to;    /* to=, decoded: the site a push goes to (go) */
    const char *fp;    /* f=: the fingerprint of the id the page was made for (go) */
    int script;        /* k=js */
} shs_ep_args_t;

void shs_ep_parse_args(request_rec *r, shs_ep_args_t *a);

/* The answer of a push step, whatever happened: a 1x1 GIF, or an empty script. */
int shs_ep_answer_push(request_rec *r, int script);

/* Answer 302 to url, uncacheable, without referrer. */
int shs_ep_redirect(request_rec *r, const char *url);

/* The pull's state nonce as this browser sends it back, or NULL when absent; a value that is
 * not a nonce the module made (22 base64url characters) counts as absent, logged at info and
 * counted as a client error. */
const char *shs_ep_state(request_rec *r);

/* Use token t up: memcached `add` of prefix + kind + its token id, for the token's lifetime.
 * SHS_REFUSAL_NONE when it was fresh, else REPLAYED, STORE_UNAVAILABLE or MALFORMED. */
shs_refusal_e shs_ep_spend(request_rec *r, const shs_srv_conf_t *sc, const shs_token_t *t,
                           const char *kind);

/* The same, and when the token was fresh and the store can put both in one memcached round
 * trip, a read of the session stored under skey (shs_provider_lookup's first half): *got is
 * its status (store failure, APR_NOTFOUND, APR_SUCCESS with *val and *len from r->pool, as
 * stored); give them to shs_provider_lookup_stored.  *got APR_EINIT: not read
 * (shs_provider_lookup, after the checks). */
shs_refusal_e shs_ep_spend_get(request_rec *r, const shs_srv_conf_t *sc, const shs_token_t *t,
                               const char *kind, const char *skey, apr_status_t *got, char **val,
                               apr_size_t *len);

#endif /* SHS_EP_H */
