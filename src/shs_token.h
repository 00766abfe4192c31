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

/* Transfer tokens: a session id carried from one site to another in a URL, encrypted and
 * authenticated with AES-256-GCM under a key of the key ring.  Short-lived (at most an hour),
 * bound to a source and a destination host, and optionally to a state nonce.  Pure C over APR
 * and OpenSSL: no httpd calls, so it is unit-tested and fuzzed.  The wire format is described
 * at the top of shs_token.c. */

#ifndef SHS_TOKEN_H
#define SHS_TOKEN_H

#include <apr_pools.h>
#include <apr_errno.h>

#include "shs_keys.h"
#include "shs_refusal.h" /* why a token does not open */
#include "shs_b64.h"     /* the token codec; also what callers of this header expect */

#define SHS_TOKEN_VERSION 1
#define SHS_SID_BYTES 32            /* a session id is 32 random bytes, 43 chars of base64url */
#define SHS_TOKEN_MAX_HOST 253      /* longest src/dst host accepted */
#define SHS_TOKEN_MAX_NONCE 64      /* longest state nonce accepted */
#define SHS_TOKEN_MAX_LIFETIME 3600 /* expires - issued, in seconds */
#define SHS_TOKEN_MAX_LEN 1024      /* longest base64url token accepted */

typedef struct shs_token_t {
    unsigned int key_id;   /* filled by seal/open */
    apr_int64_t issued;    /* unix seconds, >= 0 */
    apr_int64_t expires;   /* unix seconds, > issued, at most issued + 1 hour */
    unsigned char tid[16]; /* random token id, filled by seal */
    unsigned char sid[SHS_SID_BYTES];
    const char *src;   /* source host, lowercase DNS name, may include :port */
    const char *dst;   /* destination host */
    const char *nonce; /* optional state nonce (NULL or "" when absent), <= 64
                                     * chars of [A-Za-z0-9_-]; shs_token_open() always sets a
                                     * string, "" when absent */
} shs_token_t;

/* Encrypt and authenticate t with shs_keyring_current(kr).  Fills t->key_id and t->tid (random);
 * the caller sets issued, expires, sid, src, dst and nonce.  Output: base64url without padding,
 * NUL-terminated, from p.  APR_EINVAL for bad input: no key, hosts empty, longer than
 * SHS_TOKEN_MAX_HOST or not printable ASCII without spaces, nonce longer than
 * SHS_TOKEN_MAX_NONCE or outside [A-Za-z0-9_-], issued < 0, expires <= issued or lifetime over
 * SHS_TOKEN_MAX_LIFETIME.  APR_EGENERAL when OpenSSL fails. */
apr_status_t shs_token_seal(apr_pool_t *p, const shs_keyring_t *kr, shs_token_t *t,
                            const char **out);

/* Decode, authenticate, decrypt and check the time window of the NUL-terminated token in.
 * now and skew are in unix seconds (a negative skew counts as 0).  On success returns
 * APR_SUCCESS, *why = SHS_REFUSAL_NONE and *t is a new token from p.  On any failure returns
 * APR_EGENERAL, *why says why (one of SHS_REFUSAL_MALFORMED .. SHS_REFUSAL_BAD_LIFETIME, the
 * words of the refusal logs and counters) and *t is left alone.  Safe on any input. */
apr_status_t shs_token_open(apr_pool_t *p, const shs_keyring_t *kr, const char *in, apr_int64_t now,
                            apr_int64_t skew, shs_token_t **t, shs_refusal_e *why);

#endif /* SHS_TOKEN_H */
