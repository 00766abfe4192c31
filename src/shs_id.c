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

#include <string.h>

#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "shs_id.h"
#include "shs_b64.h"
#include "shs_sha256.h"

apr_status_t shs_id_generate(char *out)
{
    unsigned char raw[SHS_ID_BYTES];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return APR_EGENERAL;
    }
    shs_b64url_encode_into(out, raw, sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));
    return APR_SUCCESS;
}

int shs_id_is_valid(const char *s, apr_size_t len)
{
    apr_size_t i;
    int last;

    if (!s || len != SHS_ID_LEN) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (shs_b64url_digit((unsigned char)s[i]) < 0) {
            return 0;
        }
    }
    /* 32 bytes = 256 bits; 43 characters carry 258: the last character's two low bits are
     * padding and must be zero, so every id has exactly one spelling. */
    last = shs_b64url_digit((unsigned char)s[SHS_ID_LEN - 1]);
    return (last & 3) == 0;
}

static void sha256(const char *s, unsigned char md[SHA256_DIGEST_LENGTH])
{
    if (shs_sha256(s, strlen(s), md) != APR_SUCCESS) {
        SHA256((const unsigned char *)s, strlen(s), md); /* the one-shot call */
    }
}

const char *shs_id_store_key(apr_pool_t *p, const char *prefix, const char *id)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char enc[48];

    sha256(id, md);
    shs_b64url_encode_into(enc, md, sizeof(md));
    return apr_pstrcat(p, prefix ? prefix : "", enc, NULL);
}

const char *shs_id_confirm_key(apr_pool_t *p, const char *prefix, const char *id, const char *peer)
{
    return apr_pstrcat(p, shs_id_store_key(p, prefix, id), ".c.", shs_id_fingerprint(p, peer),
                       NULL);
}

const char *shs_id_fingerprint(apr_pool_t *p, const char *id)
{
    unsigned char md[SHA256_DIGEST_LENGTH];

    if (!id) {
        return "-";
    }
    sha256(id, md);
    return apr_psprintf(p, "%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
}

int shs_key_prefix_is_valid(const char *prefix)
{
    apr_size_t i, len;

    if (!prefix) {
        return 0;
    }
    len = strlen(prefix);
    if (len == 0 || len > SHS_KEY_PREFIX_MAX) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)prefix[i];
        if (c <= 0x20 || c >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

apr_uint32_t shs_ttl_to_memcache(apr_int64_t ttl, apr_int64_t now)
{
    if (ttl <= 0) {
        return 0;
    }
    if (ttl <= SHS_TTL_RELATIVE_MAX) {
        return (apr_uint32_t)ttl;
    }
    if (now + ttl > (apr_int64_t)0xffffffffu) {
        return 0xffffffffu;
    }
    return (apr_uint32_t)(now + ttl);
}
