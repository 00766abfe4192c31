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

/* base64url without padding: the module's one codec (ids, tokens, keys). */

#ifndef SHS_B64_H
#define SHS_B64_H

#include <apr_pools.h>
#include <apr_errno.h>

/* The value 0..63 of a base64url character, -1 for any other byte. */
int shs_b64url_digit(unsigned char c);

/* Characters needed for len bytes (no padding, no NUL). */
apr_size_t shs_b64url_encoded_len(apr_size_t len);

/* Write the encoding of in (len bytes) and a NUL to out (shs_b64url_encoded_len(len) + 1). */
void shs_b64url_encode_into(char *out, const unsigned char *in, apr_size_t len);

/* Decode inlen characters into out (cap bytes); only the canonical encoding is accepted (no
 * padding, no character outside the alphabet, unused trailing bits zero). */
apr_status_t shs_b64url_decode_into(const char *in, apr_size_t inlen, unsigned char *out,
                                    apr_size_t cap, apr_size_t *outlen);

/* The same, allocating from p. */
apr_status_t shs_b64url_encode(apr_pool_t *p, const unsigned char *in, apr_size_t len,
                               const char **out);
apr_status_t shs_b64url_decode(apr_pool_t *p, const char *in, apr_size_t inlen, unsigned char **out,
                               apr_size_t *outlen);

#endif /* SHS_B64_H */
