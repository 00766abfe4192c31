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

/* AES-256-GCM with a 96-bit IV and a 128-bit tag, the one cipher of the module: the tokens
 * (shs_token.c) and the encrypted stored values (shs_value.c) both use it.  Pure C over
 * OpenSSL, unit-tested (tests/unit/test_aead.c). */

#ifndef SHS_AEAD_H
#define SHS_AEAD_H

#include <apr_errno.h>

#define SHS_AEAD_KEY_LEN 32
#define SHS_AEAD_IV_LEN 12
#define SHS_AEAD_TAG_LEN 16
#define SHS_AEAD_EAUTH (APR_OS_START_USERERR + 30) /* the tag does not verify */

/* Encrypt ptlen bytes of pt into ct (ptlen bytes) and write the tag.  The additional data is
 * aad1 followed by aad2 (either may be NULL with length 0).  APR_EINVAL for a length OpenSSL
 * cannot take, APR_EGENERAL when OpenSSL fails. */
apr_status_t shs_aead_seal(const unsigned char *key, const unsigned char *iv, const void *aad1,
                           apr_size_t aad1len, const void *aad2, apr_size_t aad2len,
                           const unsigned char *pt, apr_size_t ptlen, unsigned char *ct,
                           unsigned char *tag);

/* Decrypt ctlen bytes of ct into pt (which may be ct itself) and check the tag against the
 * same additional data.  SHS_AEAD_EAUTH when the tag does not verify; pt is wiped on any
 * failure. */
apr_status_t shs_aead_open(const unsigned char *key, const unsigned char *iv, const void *aad1,
                           apr_size_t aad1len, const void *aad2, apr_size_t aad2len,
                           const unsigned char *ct, apr_size_t ctlen, const unsigned char *tag,
                           unsigned char *pt);

#endif /* SHS_AEAD_H */
