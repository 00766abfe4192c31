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

/* Sealed session values; the stored format is described in shs_value.h. */

#include <string.h>

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "shs_value.h"
#include "shs_aead.h"
#include "shs_b64.h"
#include "shs_sha256.h"

#define VAL_MAGIC "shs1:"
#define VAL_MAGIC_LEN 5
#define VAL_MODE_MAC 'm'
#define VAL_MODE_ENC 'e'
#define VAL_MAC_LABEL "mod_sharedsession/store-mac/v1" /* followed by its NUL in the MAC */
#define VAL_MAC_BYTES 32
#define VAL_MAC_CHARS 43 /* shs_b64url_encoded_len(VAL_MAC_BYTES) */
#define VAL_IV_LEN SHS_AEAD_IV_LEN
#define VAL_TAG_LEN SHS_AEAD_TAG_LEN

const char *shs_value_strerror(apr_status_t rv)
{
    switch (rv) {
    case APR_SUCCESS:
        return "ok";
    case SHS_VALUE_EUNSEALED:
        return "unsealed";
    case SHS_VALUE_EMALFORMED:
        return "malformed";
    case SHS_VALUE_EUNKNOWNKEY:
        return "unknown-key";
    case SHS_VALUE_EBADMAC:
        return "bad-mac";
    case SHS_VALUE_EDECRYPT:
        return "decrypt-failed";
    case APR_EINVAL:
        return "invalid-argument";
    default:
        return "error";
    }
}

apr_size_t shs_value_sealed_len(int encrypt, apr_size_t len)
{
    if (len > SHS_VALUE_MAX) {
        return 0;
    }
    if (encrypt) {
        return SHS_VALUE_HEADER_LEN + shs_b64url_encoded_len(len + SHS_VALUE_ENC_RAW_OVERHEAD);
    }
    return SHS_VALUE_MAC_OVERHEAD + len;
}

/* The store key's length, or 0 when it is missing, empty or longer than allowed. */
static apr_size_t store_key_len(const char *store_key)
{
    apr_size_t n = 0;

    if (!store_key) {
        return 0;
    }
    while (n <= SHS_VALUE_STORE_KEY_MAX && store_key[n]) {
        n++;
    }
    return n > SHS_VALUE_STORE_KEY_MAX ? 0 : n;
}

static void put_header(char *h, char mode, unsigned int id)
{
    memcpy(h, VAL_MAGIC, VAL_MAGIC_LEN);
    h[5] = mode;
    h[6] = ':';
    h[7] = (char)('0' + id / 100);
    h[8] = (char)('0' + id / 10 % 10);
    h[9] = (char)('0' + id % 10);
    h[10] = ':';
}

/* ---------------------------------------------------------------- HMAC-SHA256 */

/* HMAC-SHA256 of the 'm' message (see shs_value.h) into mac. */
static apr_status_t value_mac(const unsigned char *key, const char *header, const char *store_key,
                              apr_size_t klen, const char *value, apr_size_t len,
                              unsigned char *mac)
{
    unsigned char klen_be[4];
    shs_chunk_t m[5];

    klen_be[0] = (unsigned char)(klen >> 24);
    klen_be[1] = (unsigned char)(klen >> 16);
    klen_be[2] = (unsigned char)(klen >> 8);
    klen_be[3] = (unsigned char)klen;
    m[0].data = VAL_MAC_LABEL;
    m[0].len = sizeof(VAL_MAC_LABEL); /* with its NUL */
    m[1].data = header;
    m[1].len = SHS_VALUE_HEADER_LEN;
    m[2].data = klen_be;
    m[2].len = sizeof(klen_be);
    m[3].data = store_key;
    m[3].len = klen;
    m[4].data = value;
    m[4].len = len;
    return shs_hmac_sha256(key, SHS_KEY_DERIVED_BYTES, m, 5, mac);
}

/* ---------------------------------------------------------------- seal */

static apr_status_t seal_mac(apr_pool_t *p, const shs_key_t *key, const char *store_key,
                             apr_size_t klen, const char *value, apr_size_t len, const char **out,
                             apr_size_t *outlen)
{
    apr_status_t rv;
    apr_size_t total = SHS_VALUE_MAC_OVERHEAD + len;
    unsigned char mac[VAL_MAC_BYTES];
    char *buf = apr_palloc(p, total + 1);

    put_header(buf, VAL_MODE_MAC, key->id);
    rv = value_mac(key->mac, buf, store_key, klen, value, len, mac);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    shs_b64url_encode_into(buf + SHS_VALUE_HEADER_LEN, mac, VAL_MAC_BYTES);
    buf[SHS_VALUE_HEADER_LEN + VAL_MAC_CHARS] = ':';
    if (len) {
        memcpy(buf + SHS_VALUE_MAC_OVERHEAD, value, len);
    }
    buf[total] = '\0';
    *out = buf;
    *outlen = total;
    return APR_SUCCESS;
}

static apr_status_t seal_enc(apr_pool_t *p, const shs_key_t *key, const char *store_key,
                             apr_size_t klen, const char *value, apr_size_t len, const char **out,
                             apr_size_t *outlen)
{
    apr_status_t rv;
    apr_pool_t *tmp;
    apr_size_t rawlen = VAL_IV_LEN + len + VAL_TAG_LEN;
    apr_size_t total = shs_value_sealed_len(1, len);
    unsigned char *raw;
    char *buf;

    /* The binary form (ciphertext only, nothing to wipe) is only needed until it is encoded. */
    if (apr_pool_create(&tmp, p) != APR_SUCCESS) {
        return APR_ENOMEM;
    }
    raw = apr_palloc(tmp, rawlen);
    buf = apr_palloc(p, total + 1);
    put_header(buf, VAL_MODE_ENC, key->id);
    if (RAND_bytes(raw, VAL_IV_LEN) != 1) {
        rv = APR_EGENERAL;
        goto leave;
    }
    rv = shs_aead_seal(key->store, raw, buf, SHS_VALUE_HEADER_LEN, store_key, klen,
                       (const unsigned char *)value, len, raw + VAL_IV_LEN, raw + VAL_IV_LEN + len);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    shs_b64url_encode_into(buf + SHS_VALUE_HEADER_LEN, raw, rawlen);
    *out = buf;
    *outlen = total;

leave:
    apr_pool_destroy(tmp);
    return rv;
}

apr_status_t shs_value_seal(apr_pool_t *p, const shs_keyring_t *kr, int encrypt,
                            const char *store_key, const char *value, apr_size_t len,
                            const char **out, apr_size_t *outlen)
{
    const shs_key_t *key = shs_keyring_current(kr);
    apr_size_t klen = store_key_len(store_key);

    if (!p || !key || key->id > SHS_KEY_ID_MAX || !klen || (!value && len) || len > SHS_VALUE_MAX ||
        !out || !outlen) {
        return APR_EINVAL;
    }
    if (encrypt) {
        return seal_enc(p, key, store_key, klen, value, len, out, outlen);
    }
    return seal_mac(p, key, store_key, klen, value, len, out, outlen);
}

/* ---------------------------------------------------------------- open */

/* Check the header of a stored value of len bytes (len >= SHS_VALUE_HEADER_LEN) and read its
 * mode and key id. */
static apr_status_t parse_header(const char *s, char *mode, unsigned int *id)
{
    unsigned int v = 0;
    int i;

    if (s[5] != VAL_MODE_MAC && s[5] != VAL_MODE_ENC) {
        return SHS_VALUE_EMALFORMED;
    }
    if (s[6] != ':' || s[10] != ':') {
        return SHS_VALUE_EMALFORMED;
    }
    for (i = 7; i < 10; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return SHS_VALUE_EMALFORMED;
        }
        v = v * 10 + (unsigned int)(s[i] - '0');
    }
    if (v > SHS_KEY_ID_MAX) {
        return SHS_VALUE_EMALFORMED;
    }
    *mode = s[5];
    *id = v;
    return APR_SUCCESS;
}

static apr_status_t open_mac(apr_pool_t *p, const shs_keyring_t *kr, unsigned int id,
                             const char *store_key, apr_size_t klen, const char *stored,
                             apr_size_t len, const char **value, apr_size_t *vlen)
{
    apr_status_t rv;
    const shs_key_t *key;
    unsigned char want[VAL_MAC_BYTES], got[VAL_MAC_BYTES];
    apr_size_t n = 0, vl;

    if (len < SHS_VALUE_MAC_OVERHEAD || len - SHS_VALUE_MAC_OVERHEAD > SHS_VALUE_MAX ||
        stored[SHS_VALUE_MAC_OVERHEAD - 1] != ':') {
        return SHS_VALUE_EMALFORMED;
    }
    if (shs_b64url_decode_into(stored + SHS_VALUE_HEADER_LEN, VAL_MAC_CHARS, got, sizeof(got),
                               &n) != APR_SUCCESS ||
        n != VAL_MAC_BYTES) {
        return SHS_VALUE_EMALFORMED;
    }
    key = shs_keyring_find(kr, id);
    if (!key) {
        return SHS_VALUE_EUNKNOWNKEY;
    }
    vl = len - SHS_VALUE_MAC_OVERHEAD;
    rv = value_mac(key->mac, stored, store_key, klen, stored + SHS_VALUE_MAC_OVERHEAD, vl, want);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (CRYPTO_memcmp(want, got, VAL_MAC_BYTES) != 0) {
        return SHS_VALUE_EBADMAC;
    }
    *value = apr_pstrmemdup(p, stored + SHS_VALUE_MAC_OVERHEAD, vl);
    *vlen = vl;
    return APR_SUCCESS;
}

static apr_status_t open_enc(apr_pool_t *p, const shs_keyring_t *kr, unsigned int id,
                             const char *store_key, apr_size_t klen, const char *stored,
                             apr_size_t len, const char **value, apr_size_t *vlen)
{
    apr_status_t rv;
    const shs_key_t *key;
    const char *body = stored + SHS_VALUE_HEADER_LEN;
    apr_size_t blen = len - SHS_VALUE_HEADER_LEN, cap, rawlen = 0, ctlen;
    unsigned char *raw;

    if (blen < shs_b64url_encoded_len(SHS_VALUE_ENC_RAW_OVERHEAD) ||
        blen > shs_b64url_encoded_len(SHS_VALUE_MAX + SHS_VALUE_ENC_RAW_OVERHEAD)) {
        return SHS_VALUE_EMALFORMED;
    }
    key = shs_keyring_find(kr, id);
    if (!key) {
        return SHS_VALUE_EUNKNOWNKEY;
    }
    /* Decoded into the buffer that is returned: the plaintext replaces the ciphertext in
     * place, after the IV, and gets its NUL (there is room: the tag follows). */
    cap = blen / 4 * 3 + 3;
    raw = apr_palloc(p, cap);
    if (shs_b64url_decode_into(body, blen, raw, cap, &rawlen) != APR_SUCCESS ||
        rawlen < SHS_VALUE_ENC_RAW_OVERHEAD ||
        rawlen - SHS_VALUE_ENC_RAW_OVERHEAD > SHS_VALUE_MAX) {
        return SHS_VALUE_EMALFORMED;
    }
    ctlen = rawlen - SHS_VALUE_ENC_RAW_OVERHEAD;
    rv = shs_aead_open(key->store, raw, stored, SHS_VALUE_HEADER_LEN, store_key, klen,
                       raw + VAL_IV_LEN, ctlen, raw + VAL_IV_LEN + ctlen, raw + VAL_IV_LEN);
    if (rv != APR_SUCCESS) {
        return rv == SHS_AEAD_EAUTH ? SHS_VALUE_EDECRYPT : rv;
    }
    raw[VAL_IV_LEN + ctlen] = '\0';
    *value = (const char *)raw + VAL_IV_LEN;
    *vlen = ctlen;
    return APR_SUCCESS;
}

apr_status_t shs_value_open(apr_pool_t *p, const shs_keyring_t *kr, const char *store_key,
                            const char *stored, apr_size_t len, const char **value,
                            apr_size_t *vlen)
{
    apr_status_t rv;
    apr_size_t klen = store_key_len(store_key);
    unsigned int id = 0;
    char mode = 0;

    if (!p || !shs_keyring_current(kr) || !klen || (!stored && len) || !value || !vlen) {
        return APR_EINVAL;
    }
    /* Ours: "shs", a version digit, ':'.  Anything else was not sealed by this module. */
    if (len < VAL_MAGIC_LEN || memcmp(stored, "shs", 3) != 0 || stored[3] < '0' ||
        stored[3] > '9' || stored[4] != ':') {
        return SHS_VALUE_EUNSEALED;
    }
    if (len < SHS_VALUE_HEADER_LEN || memcmp(stored, VAL_MAGIC, VAL_MAGIC_LEN) != 0) {
        return SHS_VALUE_EMALFORMED;
    }
    rv = parse_header(stored, &mode, &id);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (mode == VAL_MODE_MAC) {
        return open_mac(p, kr, id, store_key, klen, stored, len, value, vlen);
    }
    return open_enc(p, kr, id, store_key, klen, stored, len, value, vlen);
}
