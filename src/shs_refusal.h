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

/* Why a cross-domain step refused a request: one enum from where a refusal arises (the token
 * codec, the single use of tokens, the checks of the callback, attach and go steps) to the log
 * lines and the counters of the status page.  The words are stable: logs, tests and the
 * status page's labels name them.  No httpd call, no other header of the module. */

#ifndef SHS_REFUSAL_H
#define SHS_REFUSAL_H

typedef enum {
    SHS_REFUSAL_NONE = 0, /* accepted */

    /* The rows of the status page ("callbacks refused, by reason"), in its order. */
    SHS_REFUSAL_MALFORMED,     /* token: not base64url, bad lengths, trailing bytes */
    SHS_REFUSAL_BAD_VERSION,   /* token: a format version this module does not read */
    SHS_REFUSAL_UNKNOWN_KEY,   /* token: sealed under a key id the key file does not have */
    SHS_REFUSAL_BAD_AUTH,      /* token: GCM tag mismatch, tampered or another key */
    SHS_REFUSAL_EXPIRED,       /* token: now > expires + skew */
    SHS_REFUSAL_NOT_YET_VALID, /* token: issued > now + skew */
    SHS_REFUSAL_BAD_LIFETIME,  /* token: expires <= issued, or a lifetime over an hour */
    SHS_REFUSAL_NO_TOKEN,      /* no t= (callback, attach); no token could be made (go) */
    SHS_REFUSAL_WRONG_DESTINATION,
    SHS_REFUSAL_SOURCE_NOT_IN_GROUP,
    SHS_REFUSAL_SOURCE_IN_OTHER_GROUP,
    SHS_REFUSAL_SOURCE_IS_DESTINATION,
    SHS_REFUSAL_WRONG_TRANSPORT, /* the row of PUSH_TOKEN_IN_PULL and PULL_TOKEN_IN_PUSH */
    SHS_REFUSAL_LOCAL_SESSION_KEPT,
    SHS_REFUSAL_REPLAYED,
    SHS_REFUSAL_UNKNOWN_SESSION,
    SHS_REFUSAL_STATE_MISMATCH,
    SHS_REFUSAL_NOT_FROM_HUB,
    SHS_REFUSAL_STORE_UNAVAILABLE,
    SHS_REFUSAL_WRONG_CONTEXT, /* a push not loaded as an image/script, a pull not a navigation */
    SHS_REFUSAL_NO_REFERER,    /* kept as a row of the page; the push now checks Origin */
    SHS_REFUSAL_WRONG_REFERER, /* a push from a page of another site than the token's source */
    SHS_REFUSAL_OTHER,         /* the row of the reasons below without a row of their own */

    /* Logged under their own word, counted in a row above (shs_refusal_row). */
    SHS_REFUSAL_PUSH_TOKEN_IN_PULL,
    SHS_REFUSAL_PULL_TOKEN_IN_PUSH,
    SHS_REFUSAL_NO_ORIGIN,      /* a push without the Origin its tag's CORS request sends */
    SHS_REFUSAL_WRONG_ORIGIN,   /* ... with another origin than the token's source */
    SHS_REFUSAL_NOT_CONFIGURED, /* no key file, or this site is no site of a group */
    SHS_REFUSAL_NO_NONCE,       /* attach: a token without the pull's state nonce */
    SHS_REFUSAL_UNKNOWN_SITE,   /* go: to= names no other site of the group */
    SHS_REFUSAL_NO_SESSION,     /* go: no id cookie, or not the one the page was made for */
    SHS_REFUSAL_COUNT
} shs_refusal_e;

/* The status page's rows are SHS_REFUSAL_MALFORMED .. SHS_REFUSAL_OTHER: a counter array
 * indexed by shs_refusal_row() has SHS_REFUSAL_ROWS entries (entry 0, NONE, stays unused). */
#define SHS_REFUSAL_ROWS (SHS_REFUSAL_OTHER + 1)

/* The word of a reason in log lines and on the status page ("replayed", "push-token-in-pull");
 * "none" for SHS_REFUSAL_NONE, "unknown" for a value out of range. */
const char *shs_refusal_name(shs_refusal_e why);

/* The status page row a reason is counted in: the reason itself when it has a row, else the
 * row it belongs to (WRONG_TRANSPORT, OTHER).  NONE for NONE; OTHER for a value out of range. */
shs_refusal_e shs_refusal_row(shs_refusal_e why);

#endif /* SHS_REFUSAL_H */
