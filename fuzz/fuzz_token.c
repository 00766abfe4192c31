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

/* libFuzzer target: transfer tokens (src/shs_token.c) and base64url.
 *
 * Two kinds of input, told apart by the first byte:
 *
 *  - text (first byte is a base64url character): the input, NUL-terminated, is a token as it
 *    arrives in a URL.  shs_token_open() runs on it at FUZZ_NOW and at extreme clocks; the
 *    base64url codec round-trips it.  Seeds are real tokens, so mutations of them reach the
 *    GCM check; they cannot get past it, which is what the second kind is for.
 *
 *  - body (any other first byte): the fuzzer itself seals the rest with the real derived key,
 *    so arbitrary token bodies get through authentication into the body parser:
 *
 *        [0]      selector (not base64url); bit 0: key index, bit 1: corrupt the version byte
 *        [1..8]   now, big-endian int64
 *        [9..16]  skew, big-endian int64 (any value, negatives and extremes included)
 *        [17..28] GCM IV
 *        [29..]   token body (the plaintext of the wire format in shs_token.c)
 *
 *    The result of shs_token_open() must match an independent reading of the body (reason
 *    code and every field).
 *
 * Any token that opens is checked (fields in range, time window respected), sealed again and
 * reopened with the same fields. */

#include <stdint.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/evp.h>

#include "fuzz_common.h"
#include "shs_keys.h"
#include "shs_token.h"

#define HDR_LEN 2
#define IV_LEN 12
#define TAG_LEN 16
#define TID_LEN 16
#define BODY_FIXED (8 + 2 + TID_LEN + SHS_SID_BYTES) /* before the src length byte */
#define BODY_MIN (BODY_FIXED + 5)                    /* 1-byte src, 1-byte dst, no nonce */
#define BODY_MAX (BODY_FIXED + 3 + 2 * SHS_TOKEN_MAX_HOST + SHS_TOKEN_MAX_NONCE)
#define BODY_IN_MAX 1024                             /* longest body we bother sealing */
#define ISSUED_MAX (INT64_MAX - SHS_TOKEN_MAX_LIFETIME)

static shs_keyring_t *ring;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_pool_t *root = fuzz_root_pool();
    const char *err = NULL;

    (void)argc;
    (void)argv;
    if (shs_keyring_parse(root, FUZZ_KEYFILE, strlen(FUZZ_KEYFILE), &ring, &err) != APR_SUCCESS) {
        fprintf(stderr, "fuzz_token: fixed key file refused: %s\n", err);
        abort();
    }
    FUZZ_CHECK(ring->nkeys == 2 && ring->keys[0].id == 7 && ring->keys[1].id == 3);
    return 0;
}

static int is_b64url(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

static int host_ok(const unsigned char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > SHS_TOKEN_MAX_HOST) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (s[i] <= 0x20 || s[i] >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

static int nonce_ok(const unsigned char *s, size_t n)
{
    size_t i;

    if (n > SHS_TOKEN_MAX_NONCE) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!is_b64url(s[i])) {
            return 0;
        }
    }
    return 1;
}

static int64_t get_i64(const uint8_t *b)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | b[i];
    }
    return (int64_t)v;
}

/* Whether a token issued..expires is inside the window at now with this skew (as documented:
 * a negative skew counts as 0).  Exact arithmetic, no overflow. */
static shs_refusal_e window(int64_t issued, int64_t expires, int64_t now, int64_t skew)
{
    __int128 sk = skew < 0 ? 0 : skew;

    if ((__int128)issued - now > sk) {
        return SHS_REFUSAL_NOT_YET_VALID;
    }
    if ((__int128)now - expires > sk) {
        return SHS_REFUSAL_EXPIRED;
    }
    return SHS_REFUSAL_NONE;
}

/* Every token shs_token_open() accepts must satisfy this. */
static void check_opened(apr_pool_t *p, const shs_token_t *t, int64_t now, int64_t skew)
{
    size_t srclen, dstlen, noncelen;
    shs_token_t again, *back = NULL;
    shs_refusal_e why = SHS_REFUSAL_MALFORMED;
    const char *tok = NULL;

    FUZZ_CHECK(t != NULL);
    FUZZ_CHECK(shs_keyring_find(ring, t->key_id) != NULL);
    FUZZ_CHECK(t->issued >= 0 && t->issued <= ISSUED_MAX);
    FUZZ_CHECK(t->expires > t->issued && t->expires - t->issued <= SHS_TOKEN_MAX_LIFETIME);
    FUZZ_CHECK(window(t->issued, t->expires, now, skew) == SHS_REFUSAL_NONE);
    FUZZ_CHECK(t->src && t->dst && t->nonce);
    srclen = strlen(t->src);
    dstlen = strlen(t->dst);
    noncelen = strlen(t->nonce);
    FUZZ_CHECK(host_ok((const unsigned char *)t->src, srclen));
    FUZZ_CHECK(host_ok((const unsigned char *)t->dst, dstlen));
    FUZZ_CHECK(nonce_ok((const unsigned char *)t->nonce, noncelen));

    /* Seal it again (under the current key) and open it at its issue time. */
    again = *t;
    FUZZ_CHECK(shs_token_seal(p, ring, &again, &tok) == APR_SUCCESS);
    FUZZ_CHECK(tok != NULL && strlen(tok) <= SHS_TOKEN_MAX_LEN);
    FUZZ_CHECK(again.key_id == shs_keyring_current(ring)->id);
    FUZZ_CHECK(shs_token_open(p, ring, tok, t->issued, 0, &back, &why) == APR_SUCCESS);
    FUZZ_CHECK(why == SHS_REFUSAL_NONE && back != NULL);
    FUZZ_CHECK(back->key_id == again.key_id);
    FUZZ_CHECK(back->issued == t->issued && back->expires == t->expires);
    FUZZ_CHECK(memcmp(back->tid, again.tid, sizeof(back->tid)) == 0);
    FUZZ_CHECK(memcmp(back->sid, t->sid, sizeof(back->sid)) == 0);
    FUZZ_CHECK(strcmp(back->src, t->src) == 0);
    FUZZ_CHECK(strcmp(back->dst, t->dst) == 0);
    FUZZ_CHECK(strcmp(back->nonce, t->nonce) == 0);
}

/* Open `in` and check the outcome's contract; returns the reason. */
static shs_refusal_e open_checked(apr_pool_t *p, const char *in, int64_t now, int64_t skew,
                                  shs_token_t **out)
{
    shs_token_t *t = NULL;
    shs_refusal_e why = (shs_refusal_e)-1;
    apr_status_t rv = shs_token_open(p, ring, in, now, skew, &t, &why);

    /* the codec's own reasons, and only those */
    FUZZ_CHECK(why >= SHS_REFUSAL_NONE && why <= SHS_REFUSAL_BAD_LIFETIME);
    if (rv == APR_SUCCESS) {
        FUZZ_CHECK(why == SHS_REFUSAL_NONE);
        check_opened(p, t, now, skew);
    }
    else {
        FUZZ_CHECK(rv == APR_EGENERAL);
        FUZZ_CHECK(why != SHS_REFUSAL_NONE);
        FUZZ_CHECK(t == NULL); /* left alone */
    }
    if (out) {
        *out = t;
    }
    return why;
}

/* base64url: decoding accepts only the canonical form, so whatever decodes re-encodes to the
 * same text; and any bytes survive encode + decode. */
static void check_b64url(apr_pool_t *p, const uint8_t *data, size_t size)
{
    unsigned char *raw = NULL;
    apr_size_t rawlen = 0;
    const char *enc = NULL;

    if (shs_b64url_decode(p, (const char *)data, size, &raw, &rawlen) == APR_SUCCESS) {
        FUZZ_CHECK(raw != NULL);
        FUZZ_CHECK(rawlen == size / 4 * 3 + (size % 4 ? size % 4 - 1 : 0));
        FUZZ_CHECK(shs_b64url_encode(p, raw, rawlen, &enc) == APR_SUCCESS);
        FUZZ_CHECK(strlen(enc) == size && memcmp(enc, data, size) == 0);
    }
    else {
        /* refused: some character is outside the alphabet, or the shape is impossible */
        size_t i, bad = 0;
        for (i = 0; i < size; i++) {
            bad += !is_b64url(data[i]);
        }
        FUZZ_CHECK(bad > 0 || size % 4 == 1 || size % 4 == 2 || size % 4 == 3);
    }

    FUZZ_CHECK(shs_b64url_encode(p, data, size, &enc) == APR_SUCCESS);
    FUZZ_CHECK(strlen(enc) == size / 3 * 4 + (size % 3 ? size % 3 + 1 : 0));
    FUZZ_CHECK(shs_b64url_decode(p, enc, strlen(enc), &raw, &rawlen) == APR_SUCCESS);
    FUZZ_CHECK(rawlen == size && memcmp(raw, data, size) == 0);
}

static void fuzz_text(apr_pool_t *p, const uint8_t *data, size_t size)
{
    static const int64_t clocks[][2] = {
        { FUZZ_NOW, 60 },  { FUZZ_NOW + 3600, 0 }, { 0, 0 },
        { INT64_MAX, INT64_MAX }, { INT64_MIN, INT64_MAX }, { INT64_MAX, -1 },
        { INT64_MIN, INT64_MIN },
    };
    char *text = malloc(size + 1);
    size_t i;

    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    for (i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
        open_checked(p, text, clocks[i][0], clocks[i][1], NULL);
    }
    free(text);
    check_b64url(p, data, size);
}

/* Independent reading of a body that passed authentication: the reason shs_token_open() must
 * give, and the fields when it is SHS_REFUSAL_NONE. */
typedef struct expect_t {
    int64_t issued, expires;
    const uint8_t *src, *dst, *nonce;
    size_t srclen, dstlen, noncelen;
} expect_t;

static shs_refusal_e expect_body(const uint8_t *b, size_t n, int64_t now, int64_t skew,
                                 expect_t *e)
{
    size_t off = BODY_FIXED;
    uint64_t issued;
    unsigned lifetime;

    if (n < BODY_MIN || n > BODY_MAX) {
        return SHS_REFUSAL_MALFORMED;
    }
    /* three length-prefixed strings that fill the rest exactly */
    e->srclen = b[off++];
    if (off + e->srclen >= n) {
        return SHS_REFUSAL_MALFORMED;
    }
    e->src = b + off;
    off += e->srclen;
    e->dstlen = b[off++];
    if (off + e->dstlen >= n) {
        return SHS_REFUSAL_MALFORMED;
    }
    e->dst = b + off;
    off += e->dstlen;
    e->noncelen = b[off++];
    if (off + e->noncelen != n) {
        return SHS_REFUSAL_MALFORMED;
    }
    e->nonce = b + off;
    if (!host_ok(e->src, e->srclen) || !host_ok(e->dst, e->dstlen) ||
        !nonce_ok(e->nonce, e->noncelen)) {
        return SHS_REFUSAL_MALFORMED;
    }
    issued = (uint64_t)get_i64(b);
    if (issued > (uint64_t)ISSUED_MAX) {
        return SHS_REFUSAL_MALFORMED;
    }
    lifetime = ((unsigned)b[8] << 8) | b[9];
    if (lifetime == 0 || lifetime > SHS_TOKEN_MAX_LIFETIME) {
        return SHS_REFUSAL_BAD_LIFETIME;
    }
    e->issued = (int64_t)issued;
    e->expires = e->issued + (int64_t)lifetime;
    return window(e->issued, e->expires, now, skew);
}

static int gcm_seal(const unsigned char *key, const unsigned char *iv, const unsigned char *aad,
                    const unsigned char *pt, int ptlen, unsigned char *ct, unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0, ok;

    ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) == 1 &&
         EVP_EncryptInit_ex(ctx, NULL, NULL, key, iv) == 1 &&
         EVP_EncryptUpdate(ctx, NULL, &n, aad, HDR_LEN) == 1 &&
         (ptlen == 0 || EVP_EncryptUpdate(ctx, ct, &n, pt, ptlen) == 1) &&
         EVP_EncryptFinal_ex(ctx, ct + (ptlen ? n : 0), &fin) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

static void fuzz_body(apr_pool_t *p, const uint8_t *data, size_t size)
{
    const shs_key_t *key;
    const uint8_t *body;
    size_t blen, rawlen;
    unsigned char *raw;
    const char *text = NULL;
    int64_t now, skew;
    int bad_version;
    shs_token_t *t = NULL;
    shs_refusal_e got, want;
    expect_t e = { 0 };

    if (size < 1 + 8 + 8 + IV_LEN) {
        return;
    }
    key = &ring->keys[data[0] & 1];
    bad_version = (data[0] & 2) != 0;
    now = get_i64(data + 1);
    skew = get_i64(data + 9);
    body = data + 17 + IV_LEN;
    blen = size - 17 - IV_LEN;
    if (blen > BODY_IN_MAX) {
        blen = BODY_IN_MAX;
    }

    rawlen = HDR_LEN + IV_LEN + blen + TAG_LEN;
    raw = malloc(rawlen);
    FUZZ_CHECK(raw != NULL);
    /* a corrupted version is never 1: 2..65 */
    raw[0] = bad_version ? (unsigned char)(SHS_TOKEN_VERSION + 1 + (data[0] >> 2))
                         : SHS_TOKEN_VERSION;
    raw[1] = (unsigned char)key->id;
    memcpy(raw + HDR_LEN, data + 17, IV_LEN);
    FUZZ_CHECK(gcm_seal(key->aead, raw + HDR_LEN, raw, body, (int)blen, raw + HDR_LEN + IV_LEN,
                        raw + HDR_LEN + IV_LEN + blen));
    FUZZ_CHECK(shs_b64url_encode(p, raw, rawlen, &text) == APR_SUCCESS);
    free(raw);

    got = open_checked(p, text, now, skew, &t);
    /* shs_token_open() checks the length, then the version, then authenticates, then reads
     * the body. */
    if (strlen(text) > SHS_TOKEN_MAX_LEN || blen < BODY_MIN || blen > BODY_MAX) {
        want = SHS_REFUSAL_MALFORMED;
    }
    else if (bad_version) {
        want = SHS_REFUSAL_BAD_VERSION;
    }
    else {
        want = expect_body(body, blen, now, skew, &e);
    }
    if (got != want) {
        fprintf(stderr, "fuzz_token: body of %zu bytes: open says %s, expected %s\n", blen,
                shs_refusal_name(got), shs_refusal_name(want));
        FUZZ_CHECK(got == want);
    }
    if (got == SHS_REFUSAL_NONE) {
        FUZZ_CHECK(t->key_id == key->id);
        FUZZ_CHECK(t->issued == e.issued && t->expires == e.expires);
        FUZZ_CHECK(memcmp(t->tid, body + 10, TID_LEN) == 0);
        FUZZ_CHECK(memcmp(t->sid, body + 10 + TID_LEN, SHS_SID_BYTES) == 0);
        FUZZ_CHECK(strlen(t->src) == e.srclen && memcmp(t->src, e.src, e.srclen) == 0);
        FUZZ_CHECK(strlen(t->dst) == e.dstlen && memcmp(t->dst, e.dst, e.dstlen) == 0);
        FUZZ_CHECK(strlen(t->nonce) == e.noncelen && memcmp(t->nonce, e.nonce, e.noncelen) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;

    if (size == 0) {
        return 0;
    }
    FUZZ_CHECK(apr_pool_create(&p, fuzz_root_pool()) == APR_SUCCESS);
    if (is_b64url(data[0])) {
        fuzz_text(p, data, size);
    }
    else {
        fuzz_body(p, data, size);
    }
    apr_pool_destroy(p);
    return 0;
}
