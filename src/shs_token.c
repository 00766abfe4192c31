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

/* Transfer tokens.
 *
 * Wire format, version 1 (all integers big-endian), then base64url without padding:
 *
 *     offset  size  clear part
 *     0       1     version, SHS_TOKEN_VERSION
 *     1       1     key id (0..255) of the key ring entry used
 *     2       12    GCM IV, random for every token
 *     14      n     AES-256-GCM ciphertext of the body, same length as the body
 *     14+n    16    GCM tag
 *
 * The two header bytes are the GCM additional authenticated data, so they cannot be changed
 * without failing authentication; they are in the clear only so the right key can be picked
 * and unknown versions refused before any decryption.  The key is the "aead" key that
 * shs_keys.c derives with HKDF from the secret with that id.
 *
 *     body    size  field
 *     0       8     issued, unix seconds, 0 .. INT64_MAX - 3600
 *     8       2     lifetime in seconds, 1..3600 (expires = issued + lifetime)
 *     10      16    tid, random token id
 *     26      32    sid, the session id
 *     58      1+s   src length s (1..253), src host
 *             1+d   dst length d (1..253), dst host
 *             1+m   nonce length m (0..64), nonce; 0 = no nonce
 *
 * The body must be consumed exactly: trailing bytes are refused.  Hosts are printable ASCII
 * without spaces, the nonce is [A-Za-z0-9_-]; both are checked again when opening.  The
 * smallest token is 2 + 12 + 63 + 16 = 93 bytes, the largest 2 + 12 + 631 + 16 = 661 bytes
 * (882 characters).  Example: src "a.test:8443", dst "b.test:8443", no nonce: 113 bytes, 151
 * characters. */

#include <string.h>

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "shs_token.h"
#include "shs_aead.h"

#define TOK_HDR_LEN 2
#define TOK_IV_LEN SHS_AEAD_IV_LEN
#define TOK_TAG_LEN SHS_AEAD_TAG_LEN
#define TOK_TID_LEN 16
#define TOK_BODY_FIXED (8 + 2 + TOK_TID_LEN + SHS_SID_BYTES + 3)
#define TOK_BODY_MIN (TOK_BODY_FIXED + 2)
#define TOK_BODY_MAX (TOK_BODY_FIXED + 2 * SHS_TOKEN_MAX_HOST + SHS_TOKEN_MAX_NONCE)
#define TOK_RAW_OVERHEAD (TOK_HDR_LEN + TOK_IV_LEN + TOK_TAG_LEN)
#define TOK_RAW_MIN (TOK_RAW_OVERHEAD + TOK_BODY_MIN)
#define TOK_RAW_MAX (TOK_RAW_OVERHEAD + TOK_BODY_MAX)
#define TOK_ISSUED_MAX (APR_INT64_MAX - SHS_TOKEN_MAX_LIFETIME)

/* The decode buffer of shs_token_open() must hold whatever SHS_TOKEN_MAX_LEN characters give. */
#define TOK_DECODE_CAP ((SHS_TOKEN_MAX_LEN / 4) * 3 + 3)

/* ---------------------------------------------------------------- field checks */

/* A host: 1..SHS_TOKEN_MAX_HOST printable ASCII characters, no space. */
static int host_ok(const char *s, apr_size_t n)
{
    apr_size_t i;

    if (n == 0 || n > SHS_TOKEN_MAX_HOST) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* A nonce: 0..SHS_TOKEN_MAX_NONCE characters of [A-Za-z0-9_-]. */
static int nonce_ok(const char *s, apr_size_t n)
{
    apr_size_t i;

    if (n > SHS_TOKEN_MAX_NONCE) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (shs_b64url_digit((unsigned char)s[i]) < 0) {
            return 0;
        }
    }
    return 1;
}

/* strlen() that stops looking after max + 1 characters. */
static apr_size_t bounded_len(const char *s, apr_size_t max)
{
    apr_size_t n = 0;

    while (n <= max && s[n]) {
        n++;
    }
    return n;
}

static void put_u64(unsigned char *b, apr_uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--) {
        b[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static apr_uint64_t get_u64(const unsigned char *b)
{
    apr_uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | b[i];
    }
    return v;
}

/* ---------------------------------------------------------------- seal / open */

apr_status_t shs_token_seal(apr_pool_t *p, const shs_keyring_t *kr, shs_token_t *t,
                            const char **out)
{
    apr_status_t rv;
    const shs_key_t *key;
    unsigned char body[TOK_BODY_MAX];
    unsigned char raw[TOK_RAW_MAX];
    apr_size_t srclen, dstlen, noncelen, blen = 0, rlen;
    apr_int64_t lifetime;
    char *enc;

    if (!p || !t || !out) {
        return APR_EINVAL;
    }
    key = shs_keyring_current(kr);
    if (!key || key->id > 255) {
        return APR_EINVAL;
    }
    if (!t->src || !t->dst) {
        return APR_EINVAL;
    }
    srclen = bounded_len(t->src, SHS_TOKEN_MAX_HOST);
    dstlen = bounded_len(t->dst, SHS_TOKEN_MAX_HOST);
    noncelen = t->nonce ? bounded_len(t->nonce, SHS_TOKEN_MAX_NONCE) : 0;
    if (!host_ok(t->src, srclen) || !host_ok(t->dst, dstlen) || !nonce_ok(t->nonce, noncelen)) {
        return APR_EINVAL;
    }
    if (t->issued < 0 || t->issued > TOK_ISSUED_MAX || t->expires <= t->issued) {
        return APR_EINVAL;
    }
    lifetime = t->expires - t->issued;
    if (lifetime > SHS_TOKEN_MAX_LIFETIME) {
        return APR_EINVAL;
    }

    if (RAND_bytes(t->tid, sizeof(t->tid)) != 1) {
        return APR_EGENERAL;
    }

    /* Clear header and IV. */
    raw[0] = SHS_TOKEN_VERSION;
    raw[1] = (unsigned char)key->id;
    if (RAND_bytes(raw + TOK_HDR_LEN, TOK_IV_LEN) != 1) {
        rv = APR_EGENERAL;
        goto leave;
    }

    /* Body. */
    put_u64(body, (apr_uint64_t)t->issued);
    body[8] = (unsigned char)(lifetime >> 8);
    body[9] = (unsigned char)(lifetime & 0xff);
    memcpy(body + 10, t->tid, TOK_TID_LEN);
    memcpy(body + 10 + TOK_TID_LEN, t->sid, SHS_SID_BYTES);
    blen = 10 + TOK_TID_LEN + SHS_SID_BYTES;
    body[blen++] = (unsigned char)srclen;
    memcpy(body + blen, t->src, srclen);
    blen += srclen;
    body[blen++] = (unsigned char)dstlen;
    memcpy(body + blen, t->dst, dstlen);
    blen += dstlen;
    body[blen++] = (unsigned char)noncelen;
    if (noncelen) {
        memcpy(body + blen, t->nonce, noncelen);
        blen += noncelen;
    }

    rlen = TOK_HDR_LEN + TOK_IV_LEN + blen + TOK_TAG_LEN;
    rv = shs_aead_seal(key->aead, raw + TOK_HDR_LEN, raw, TOK_HDR_LEN, NULL, 0, body, blen,
                       raw + TOK_HDR_LEN + TOK_IV_LEN, raw + TOK_HDR_LEN + TOK_IV_LEN + blen);
    if (rv != APR_SUCCESS) {
        goto leave;
    }

    enc = apr_palloc(p, shs_b64url_encoded_len(rlen) + 1);
    shs_b64url_encode_into(enc, raw, rlen);
    t->key_id = key->id;
    *out = enc;

leave:
    OPENSSL_cleanse(body, sizeof(body));
    return rv;
}

apr_status_t shs_token_open(apr_pool_t *p, const shs_keyring_t *kr, const char *in, apr_int64_t now,
                            apr_int64_t skew, shs_token_t **t, shs_refusal_e *why)
{
    apr_status_t rv = APR_EGENERAL;
    shs_refusal_e res = SHS_REFUSAL_MALFORMED;
    unsigned char raw[TOK_DECODE_CAP];
    unsigned char body[TOK_BODY_MAX];
    apr_size_t inlen, rlen = 0, blen = 0, off, srclen, dstlen, noncelen;
    const unsigned char *src, *dst, *nonce;
    const shs_key_t *key;
    apr_uint64_t issued_u;
    apr_int64_t issued, expires;
    unsigned int lifetime;
    shs_token_t *tok;

    if (!p || !in || !t) {
        goto leave;
    }
    inlen = bounded_len(in, SHS_TOKEN_MAX_LEN);
    if (inlen == 0 || inlen > SHS_TOKEN_MAX_LEN) {
        goto leave;
    }
    if (shs_b64url_decode_into(in, inlen, raw, sizeof(raw), &rlen) != APR_SUCCESS) {
        goto leave;
    }
    if (rlen < TOK_RAW_MIN || rlen > TOK_RAW_MAX) {
        goto leave;
    }
    if (raw[0] != SHS_TOKEN_VERSION) {
        res = SHS_REFUSAL_BAD_VERSION;
        goto leave;
    }
    key = shs_keyring_find(kr, raw[1]);
    if (!key) {
        res = SHS_REFUSAL_UNKNOWN_KEY;
        goto leave;
    }

    blen = rlen - TOK_RAW_OVERHEAD;
    if (shs_aead_open(key->aead, raw + TOK_HDR_LEN, raw, TOK_HDR_LEN, NULL, 0,
                      raw + TOK_HDR_LEN + TOK_IV_LEN, blen, raw + TOK_HDR_LEN + TOK_IV_LEN + blen,
                      body) != APR_SUCCESS) {
        res = SHS_REFUSAL_BAD_AUTH;
        goto leave;
    }

    /* Authentic from here on, but parse as carefully as if it were not.  blen >= TOK_BODY_MIN
     * so the fixed part and the first length byte are there. */
    issued_u = get_u64(body);
    lifetime = ((unsigned int)body[8] << 8) | body[9];
    off = 10 + TOK_TID_LEN + SHS_SID_BYTES;
    srclen = body[off++];
    if (srclen > blen - off) {
        goto leave;
    }
    src = body + off;
    off += srclen;
    if (off >= blen) {
        goto leave;
    }
    dstlen = body[off++];
    if (dstlen > blen - off) {
        goto leave;
    }
    dst = body + off;
    off += dstlen;
    if (off >= blen) {
        goto leave;
    }
    noncelen = body[off++];
    if (noncelen > blen - off) {
        goto leave;
    }
    nonce = body + off;
    off += noncelen;
    if (off != blen) {
        goto leave;
    }
    if (!host_ok((const char *)src, srclen) || !host_ok((const char *)dst, dstlen) ||
        !nonce_ok((const char *)nonce, noncelen)) {
        goto leave;
    }
    if (issued_u > (apr_uint64_t)TOK_ISSUED_MAX) {
        goto leave;
    }
    issued = (apr_int64_t)issued_u;
    if (lifetime == 0 || lifetime > SHS_TOKEN_MAX_LIFETIME) {
        res = SHS_REFUSAL_BAD_LIFETIME;
        goto leave;
    }
    expires = issued + (apr_int64_t)lifetime;

    /* Differences taken as unsigned: exact since the larger operand comes first. */
    if (skew < 0) {
        skew = 0;
    }
    if (issued > now && (apr_uint64_t)issued - (apr_uint64_t)now > (apr_uint64_t)skew) {
        res = SHS_REFUSAL_NOT_YET_VALID;
        goto leave;
    }
    if (now > expires && (apr_uint64_t)now - (apr_uint64_t)expires > (apr_uint64_t)skew) {
        res = SHS_REFUSAL_EXPIRED;
        goto leave;
    }

    tok = apr_pcalloc(p, sizeof(*tok));
    tok->key_id = key->id;
    tok->issued = issued;
    tok->expires = expires;
    memcpy(tok->tid, body + 10, TOK_TID_LEN);
    memcpy(tok->sid, body + 10 + TOK_TID_LEN, SHS_SID_BYTES);
    tok->src = apr_pstrmemdup(p, (const char *)src, srclen);
    tok->dst = apr_pstrmemdup(p, (const char *)dst, dstlen);
    tok->nonce = apr_pstrmemdup(p, (const char *)nonce, noncelen);
    *t = tok;
    res = SHS_REFUSAL_NONE;
    rv = APR_SUCCESS;

leave:
    OPENSSL_cleanse(body, sizeof(body));
    if (why) {
        *why = res;
    }
    return rv;
}
