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

/* Session ids and the memcached keys derived from them.
 * Pure C over APR and OpenSSL: no httpd calls, so it is unit-tested and fuzzed. */

#ifndef SHS_ID_H
#define SHS_ID_H

#include <apr_pools.h>
#include <apr_tables.h>

#define SHS_ID_BYTES 32                       /* 256 random bits */
#define SHS_ID_LEN 43                         /* base64url, no padding */
#define SHS_KEY_PREFIX_MAX 64                 /* longest memcached key prefix accepted */
#define SHS_TTL_RELATIVE_MAX (30 * 24 * 3600) /* memcached: beyond this an expiry is absolute */

/* A fresh id: SHS_ID_BYTES from the OpenSSL CSPRNG, base64url.  out holds SHS_ID_LEN + 1. */
apr_status_t shs_id_generate(char *out);

/* True when s (len bytes) is exactly a well-formed id: 43 base64url characters in canonical
 * form.  Nothing else may ever reach the store. */
int shs_id_is_valid(const char *s, apr_size_t len);

/* The memcached key of an id: prefix + base64url(SHA-256(id)).  A dump of memcached therefore
 * holds no usable cookie.  The result is at most SHS_KEY_PREFIX_MAX + 43 bytes. */
const char *shs_id_store_key(apr_pool_t *p, const char *prefix, const char *id);

/* The memcached key that records that site `peer` confirmed session `id` (created by the
 * peer's callback with add: it is both the single-use guard of the hand-over and the
 * confirmation the pushing site reads back).  prefix + base64url(SHA-256(id)) + ".c." +
 * fingerprint(peer). */
const char *shs_id_confirm_key(apr_pool_t *p, const char *prefix, const char *id, const char *peer);

/* A short, log-safe fingerprint of an id (or any secret): 8 hex digits of its SHA-256. */
const char *shs_id_fingerprint(apr_pool_t *p, const char *id);

/* True when prefix is usable as a memcached key prefix: 1..SHS_KEY_PREFIX_MAX printable ASCII
 * characters, no space or control character. */
int shs_key_prefix_is_valid(const char *prefix);

/* Expiry as memcached wants it: 0 stays 0 (no expiry); up to 30 days it is relative; beyond,
 * memcached reads the number as an absolute Unix time, so now + ttl is returned. */
apr_uint32_t shs_ttl_to_memcache(apr_int64_t ttl, apr_int64_t now);

#endif /* SHS_ID_H */
