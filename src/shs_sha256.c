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

/* SHA-256 and HMAC-SHA256 on a digest fetched once (see shs_sha256.h). */

#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "shs_sha256.h"

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* The fetched digest; OpenSSL's built-in one (looked up at each use) if the fetch failed. */
static const EVP_MD *digest(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_md ? sha256_md : EVP_sha256();
}

apr_status_t shs_sha256(const void *data, apr_size_t len, unsigned char out[SHS_SHA256_LEN])
{
    return EVP_Digest(data, len, out, NULL, digest(), NULL) ? APR_SUCCESS : APR_EGENERAL;
}

/* One hash: pad (the key xor'd with ipad or opad, a block) then the chunks. */
static int pad_then(EVP_MD_CTX *ctx, const EVP_MD *md, const unsigned char *pad,
                    const shs_chunk_t *chunks, int n, unsigned char *out)
{
    int i;

    if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, pad, SHS_HMAC_BLOCK) != 1) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (chunks[i].len && EVP_DigestUpdate(ctx, chunks[i].data, chunks[i].len) != 1) {
            return 0;
        }
    }
    return EVP_DigestFinal_ex(ctx, out, NULL) == 1;
}

apr_status_t shs_hmac_sha256(const unsigned char *key, apr_size_t klen, const shs_chunk_t *chunks,
                             int n, unsigned char out[SHS_SHA256_LEN])
{
    const EVP_MD *md = digest();
    unsigned char k[SHS_HMAC_BLOCK], pad[SHS_HMAC_BLOCK], inner[SHS_SHA256_LEN];
    shs_chunk_t outer = { inner, sizeof(inner) };
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int i, ok = ctx != NULL;

    /* K: the key, zero-padded to a block; a longer key is replaced by its hash */
    memset(k, 0, sizeof(k));
    if (ok && klen > SHS_HMAC_BLOCK) {
        ok = EVP_Digest(key, klen, k, NULL, md, NULL) == 1;
    }
    else if (ok) {
        memcpy(k, key, klen);
    }
    if (ok) {
        for (i = 0; i < SHS_HMAC_BLOCK; i++) {
            pad[i] = k[i] ^ 0x36;
        }
        ok = pad_then(ctx, md, pad, chunks, n, inner);
    }
    if (ok) {
        for (i = 0; i < SHS_HMAC_BLOCK; i++) {
            pad[i] = k[i] ^ 0x5c;
        }
        ok = pad_then(ctx, md, pad, &outer, 1, out);
    }
    EVP_MD_CTX_free(ctx);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
    if (!ok) {
        OPENSSL_cleanse(out, SHS_SHA256_LEN);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}
