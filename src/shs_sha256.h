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

/* SHA-256 and HMAC-SHA256 with the digest fetched from OpenSSL once per process.
 *
 * OpenSSL 3 looks an algorithm up in its provider tables, under a lock, whenever it is named
 * again: SHA256() on every call, and the EVP_PKEY route to HMAC (a key object, a signing
 * context) on every MAC, which cost about 80,000 instructions per stored value opened.  These
 * take the digest fetched once and HMAC (RFC 2104) is written out on top of it: two hashes,
 * no key object. */

#ifndef SHS_SHA256_H
#define SHS_SHA256_H

#include <apr.h>
#include <apr_errno.h>

#define SHS_SHA256_LEN 32
#define SHS_HMAC_BLOCK 64 /* SHA-256's block: longer HMAC keys are hashed first */

typedef struct {
    const void *data;
    apr_size_t len;
} shs_chunk_t;

/* SHA-256 of len bytes at data.  APR_SUCCESS, or APR_EGENERAL when OpenSSL fails. */
apr_status_t shs_sha256(const void *data, apr_size_t len, unsigned char out[SHS_SHA256_LEN]);

/* HMAC-SHA256 under the klen-byte key of the concatenation of the n chunks (a chunk of length
 * 0 may have data NULL).  APR_SUCCESS, or APR_EGENERAL when OpenSSL fails (out is then
 * wiped). */
apr_status_t shs_hmac_sha256(const unsigned char *key, apr_size_t klen, const shs_chunk_t *chunks,
                             int n, unsigned char out[SHS_SHA256_LEN]);

#endif /* SHS_SHA256_H */
