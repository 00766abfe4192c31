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

/* AES-256-GCM for tokens and stored values (see shs_aead.h). */

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "shs_aead.h"

/* Feed the additional data and the text through an initialised context (enc: encrypting). */
static int run(EVP_CIPHER_CTX *ctx, int enc, const void *aad1, apr_size_t aad1len, const void *aad2,
               apr_size_t aad2len, const unsigned char *in, apr_size_t len, unsigned char *out,
               int *n)
{
    int (*update)(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int) =
        enc ? EVP_EncryptUpdate : EVP_DecryptUpdate;
    int ignored = 0;

    *n = 0;
    return (!aad1len || update(ctx, NULL, &ignored, aad1, (int)aad1len) == 1) &&
           (!aad2len || update(ctx, NULL, &ignored, aad2, (int)aad2len) == 1) &&
           (!len || update(ctx, out, n, in, (int)len) == 1);
}

/* AES-256-GCM fetched once per process.  EVP_aes_256_gcm() is fetched from the provider again
 * at every EVP_*Init_ex: about 9,000 instructions of each token opened or sealed. */
static EVP_CIPHER *gcm_fetched;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;

static void gcm_fetch(void)
{
    gcm_fetched = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *gcm(void)
{
    pthread_once(&gcm_once, gcm_fetch);
    return gcm_fetched ? gcm_fetched : EVP_aes_256_gcm();
}

static int lengths_ok(apr_size_t a, apr_size_t b, apr_size_t c)
{
    return a <= INT_MAX && b <= INT_MAX && c <= INT_MAX;
}

apr_status_t shs_aead_seal(const unsigned char *key, const unsigned char *iv, const void *aad1,
                           apr_size_t aad1len, const void *aad2, apr_size_t aad2len,
                           const unsigned char *pt, apr_size_t ptlen, unsigned char *ct,
                           unsigned char *tag)
{
    apr_status_t rv = APR_EGENERAL;
    EVP_CIPHER_CTX *ctx;
    int n = 0, fin = 0;

    if (!lengths_ok(aad1len, aad2len, ptlen)) {
        return APR_EINVAL;
    }
    if (!(ctx = EVP_CIPHER_CTX_new())) {
        return APR_EGENERAL;
    }
    if (EVP_EncryptInit_ex(ctx, gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SHS_AEAD_IV_LEN, NULL) == 1 &&
        EVP_EncryptInit_ex(ctx, NULL, NULL, key, iv) == 1 &&
        run(ctx, 1, aad1, aad1len, aad2, aad2len, pt, ptlen, ct, &n) &&
        EVP_EncryptFinal_ex(ctx, ct + n, &fin) == 1 && (apr_size_t)(n + fin) == ptlen &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SHS_AEAD_TAG_LEN, tag) == 1) {
        rv = APR_SUCCESS;
    }
    EVP_CIPHER_CTX_free(ctx);
    return rv;
}

apr_status_t shs_aead_open(const unsigned char *key, const unsigned char *iv, const void *aad1,
                           apr_size_t aad1len, const void *aad2, apr_size_t aad2len,
                           const unsigned char *ct, apr_size_t ctlen, const unsigned char *tag,
                           unsigned char *pt)
{
    apr_status_t rv = APR_EGENERAL;
    unsigned char tagbuf[SHS_AEAD_TAG_LEN];
    EVP_CIPHER_CTX *ctx;
    int n = 0, fin = 0;

    if (!lengths_ok(aad1len, aad2len, ctlen)) {
        return APR_EINVAL;
    }
    memcpy(tagbuf, tag, sizeof(tagbuf)); /* the ctrl takes a non-const buffer */
    if (!(ctx = EVP_CIPHER_CTX_new())) {
        return APR_EGENERAL;
    }
    if (EVP_DecryptInit_ex(ctx, gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SHS_AEAD_IV_LEN, NULL) == 1 &&
        EVP_DecryptInit_ex(ctx, NULL, NULL, key, iv) == 1 &&
        run(ctx, 0, aad1, aad1len, aad2, aad2len, ct, ctlen, pt, &n) &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SHS_AEAD_TAG_LEN, tagbuf) == 1) {
        rv = EVP_DecryptFinal_ex(ctx, pt + n, &fin) > 0 && (apr_size_t)(n + fin) == ctlen
                 ? APR_SUCCESS
                 : SHS_AEAD_EAUTH;
    }
    if (rv != APR_SUCCESS && ctlen) {
        OPENSSL_cleanse(pt, ctlen);
    }
    EVP_CIPHER_CTX_free(ctx);
    return rv;
}
