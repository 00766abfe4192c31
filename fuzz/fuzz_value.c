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

/* libFuzzer target: sealed session values (src/shs_value.c).
 *
 * Two kinds of input, told apart by bit 0 of the first byte:
 *
 *  - open (bit 0 clear): the rest is a stored value as read back from the store (an
 *    exact-size copy, not NUL-terminated).  It is opened with the fixed ring FUZZ_KEYFILE
 *    (keys 7 and 3) under the store key that bits 1-2 pick from store_keys[].  The status
 *    must be APR_SUCCESS or one of the five refusals; a value without the "shs<digit>:" magic
 *    must be refused as unsealed, one with another version as malformed.  A value that opens
 *    has the exact length its mode gives, in mode 'm' is the tail of the stored form, does
 *    not open under another store key, and survives sealing again in both modes.  Seeds are
 *    real sealed values, so mutations of them reach the MAC and GCM checks.
 *
 *  - seal (bit 0 set): the fuzzer picks the key and the value:
 *
 *        [0]       selector; bit 1: encrypt; bit 2: put FUZZ_KEYFILE's keys after it
 *        [1]       key id of the fuzzed key (0..255)
 *        [2..33]   its secret, 32 bytes
 *        [34]      store key length k (taken modulo 64; the key stops at a NUL byte)
 *        [35..]    k bytes of store key, then the value (at most SHS_VALUE_MAX bytes)
 *
 *    A ring "<id> <secret>" (followed by FUZZ_KEYFILE's keys 7 and 3 when asked and id is
 *    neither) seals the value; the result must open to the same bytes under that ring and
 *    under a ring of the fuzzed key alone, give unknown-key under a ring without that id,
 *    fail authentication under another secret with the same id and under another store key,
 *    and be refused after a one-byte change or a truncation (position and change taken from
 *    the value's first bytes). */

#include <stdint.h>
#include <string.h>

#include <apr_strings.h>

#include "fuzz_common.h"
#include "shs_b64.h"
#include "shs_keys.h"
#include "shs_value.h"

/* The store keys of open mode: the module's shape, a one-character one, one differing from
 * the first in its last character, and the longest memcached key. */
#define SKEY0 "shs_aGVsbG8td29ybGQtdGhpcy1pcy1hLXN0b3JlLWtleQ"
#define SKEY2 "shs_aGVsbG8td29ybGQtdGhpcy1pcy1hLXN0b3JlLWtleR"
static const char *store_keys[4];
static char longest_key[251];

static shs_keyring_t *ring;     /* FUZZ_KEYFILE: 7 current, 3 older */
static shs_keyring_t *ring_new; /* a ring of neither 7 nor 3: "200 <secret>" */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_pool_t *root = fuzz_root_pool();
    const char *err = NULL;
    static const char other[] = "200 b3RoZXItc2VjcmV0LW9mLXRoaXJ0eS10d28tYnl0ZXMh\n";

    (void)argc;
    (void)argv;
    if (shs_keyring_parse(root, FUZZ_KEYFILE, strlen(FUZZ_KEYFILE), &ring, &err) != APR_SUCCESS ||
        shs_keyring_parse(root, other, strlen(other), &ring_new, &err) != APR_SUCCESS) {
        fprintf(stderr, "fuzz_value: fixed key file refused: %s\n", err);
        abort();
    }
    FUZZ_CHECK(ring->nkeys == 2 && ring->keys[0].id == 7 && ring->keys[1].id == 3);
    memset(longest_key, 'k', sizeof(longest_key) - 1);
    store_keys[0] = SKEY0;
    store_keys[1] = "x";
    store_keys[2] = SKEY2;
    store_keys[3] = longest_key;
    return 0;
}

/* An exact-size heap copy, so ASan sees any read past len. */
static char *copy(const uint8_t *data, size_t len)
{
    char *b = malloc(len ? len : 1);

    FUZZ_CHECK(b != NULL);
    if (len) {
        memcpy(b, data, len);
    }
    return b;
}

static int is_b64url(unsigned char c)
{
    return shs_b64url_digit(c) >= 0;
}

/* Open and check the contract common to every call; returns the status. */
static apr_status_t open_checked(apr_pool_t *p, const shs_keyring_t *kr, const char *skey,
                                 const char *stored, size_t len, const char **value, size_t *vlen)
{
    const char *v = NULL;
    apr_size_t n = (apr_size_t)-1;
    apr_status_t rv = shs_value_open(p, kr, skey, stored, len, &v, &n);

    FUZZ_CHECK(strcmp(shs_value_strerror(rv), "error") != 0);
    if (rv == APR_SUCCESS) {
        FUZZ_CHECK(v != NULL && n <= SHS_VALUE_MAX && v[n] == '\0');
        FUZZ_CHECK(len == shs_value_sealed_len(stored[5] == 'e', n));
    }
    else {
        FUZZ_CHECK(SHS_VALUE_REFUSED(rv));
        FUZZ_CHECK(v == NULL && n == (apr_size_t)-1); /* left alone */
    }
    if (value) {
        *value = v;
        *vlen = n;
    }
    return rv;
}

static const char *seal_checked(apr_pool_t *p, const shs_keyring_t *kr, int encrypt,
                                const char *skey, const char *value, size_t len, size_t *outlen)
{
    const char *out = NULL;
    apr_size_t n = 0;
    size_t i;

    FUZZ_CHECK(shs_value_seal(p, kr, encrypt, skey, value, len, &out, &n) == APR_SUCCESS);
    FUZZ_CHECK(out != NULL && out[n] == '\0');
    FUZZ_CHECK(n == shs_value_sealed_len(encrypt, len));
    FUZZ_CHECK(memcmp(out, encrypt ? "shs1:e:" : "shs1:m:", 7) == 0);
    FUZZ_CHECK(out[7] - '0' == (int)shs_keyring_current(kr)->id / 100);
    FUZZ_CHECK(out[8] - '0' == (int)shs_keyring_current(kr)->id / 10 % 10);
    FUZZ_CHECK(out[9] - '0' == (int)shs_keyring_current(kr)->id % 10);
    FUZZ_CHECK(out[10] == ':');
    if (encrypt) {
        for (i = SHS_VALUE_HEADER_LEN; i < n; i++) {
            FUZZ_CHECK(is_b64url((unsigned char)out[i]));
        }
    }
    else {
        FUZZ_CHECK(out[SHS_VALUE_MAC_OVERHEAD - 1] == ':');
        FUZZ_CHECK(len == 0 || memcmp(out + SHS_VALUE_MAC_OVERHEAD, value, len) == 0);
    }
    *outlen = n;
    return out;
}

static void expect_value(apr_pool_t *p, const shs_keyring_t *kr, const char *skey,
                         const char *stored, size_t len, const char *want, size_t wantlen)
{
    const char *v = NULL;
    size_t n = 0;

    FUZZ_CHECK(open_checked(p, kr, skey, stored, len, &v, &n) == APR_SUCCESS);
    FUZZ_CHECK(n == wantlen && (n == 0 || memcmp(v, want, n) == 0));
}

/* ---------------------------------------------------------------- open mode */

static void fuzz_open(apr_pool_t *p, unsigned sel, const uint8_t *data, size_t size)
{
    const char *skey = store_keys[(sel >> 1) & 3];
    const char *other = store_keys[((sel >> 1) + 1) & 3];
    char *stored = copy(data, size);
    const char *v = NULL, *again;
    size_t n = 0, alen;
    int magic = size >= 5 && memcmp(data, "shs", 3) == 0 && data[3] >= '0' && data[3] <= '9' &&
                data[4] == ':';
    apr_status_t rv = open_checked(p, ring, skey, stored, size, &v, &n);

    if (!magic) {
        FUZZ_CHECK(rv == SHS_VALUE_EUNSEALED);
    }
    else if (data[3] != '1') {
        FUZZ_CHECK(rv == SHS_VALUE_EMALFORMED);
    }
    if (rv == APR_SUCCESS) {
        int enc = stored[5] == 'e';
        unsigned id = (unsigned)(stored[7] - '0') * 100 + (unsigned)(stored[8] - '0') * 10 +
                      (unsigned)(stored[9] - '0');

        FUZZ_CHECK(magic && data[3] == '1' && (stored[5] == 'm' || enc));
        FUZZ_CHECK(shs_keyring_find(ring, id) != NULL);
        if (!enc) {
            FUZZ_CHECK(memcmp(stored + SHS_VALUE_MAC_OVERHEAD, v, n) == 0);
        }
        /* Bound to its store key. */
        FUZZ_CHECK(open_checked(p, ring, other, stored, size, NULL, NULL) ==
                   (enc ? SHS_VALUE_EDECRYPT : SHS_VALUE_EBADMAC));
        /* Sealed again in both modes with the current key, it opens to the same value; mode
         * 'm' under the same key gives the very same bytes. */
        again = seal_checked(p, ring, 0, skey, v, n, &alen);
        expect_value(p, ring, skey, again, alen, v, n);
        if (!enc && id == shs_keyring_current(ring)->id) {
            FUZZ_CHECK(alen == size && memcmp(again, stored, size) == 0);
        }
        again = seal_checked(p, ring, 1, skey, v, n, &alen);
        expect_value(p, ring, skey, again, alen, v, n);
    }
    free(stored);
}

/* ---------------------------------------------------------------- seal mode */

#define SEAL_FIXED 35 /* selector, key id, secret, store key length */
#define TWIN_SECRET "Zml4ZWQtc2Vjb25kLXNlY3JldC1mb3ItdGhlLXR3aW4h"

/* Open a value sealed with key under a ring that was made without it. */
static void other_ring(apr_pool_t *p, const shs_keyring_t *kr, const shs_key_t *key, int encrypt,
                       const char *skey, const char *stored, size_t len, const char *value,
                       size_t vlen)
{
    const shs_key_t *same = shs_keyring_find(kr, key->id);

    if (!same) {
        FUZZ_CHECK(open_checked(p, kr, skey, stored, len, NULL, NULL) == SHS_VALUE_EUNKNOWNKEY);
    }
    else if (memcmp(encrypt ? same->store : same->mac, encrypt ? key->store : key->mac, 32) != 0) {
        FUZZ_CHECK(open_checked(p, kr, skey, stored, len, NULL, NULL) ==
                   (encrypt ? SHS_VALUE_EDECRYPT : SHS_VALUE_EBADMAC));
    }
    else {
        expect_value(p, kr, skey, stored, len, value, vlen);
    }
}

static shs_keyring_t *ring_of(apr_pool_t *p, const char *text)
{
    shs_keyring_t *kr = NULL;
    const char *err = NULL;

    if (shs_keyring_parse(p, text, strlen(text), &kr, &err) != APR_SUCCESS) {
        fprintf(stderr, "fuzz_value: key ring refused: %s\n%s", err, text);
        abort();
    }
    return kr;
}

static void fuzz_seal(apr_pool_t *p, unsigned sel, const uint8_t *data, size_t size)
{
    int encrypt = (sel & 2) != 0, with_fixed = (sel & 4) != 0;
    unsigned id = data[1];
    const char *secret = NULL, *text, *skey, *out, *otherkey;
    size_t klen = data[34] % 64, vlen, n, i, pos;
    shs_keyring_t *kr, *alone, *twin;
    char *value, *buf;
    apr_status_t bad = encrypt ? SHS_VALUE_EDECRYPT : SHS_VALUE_EBADMAC;

    FUZZ_CHECK(shs_b64url_encode(p, data + 2, 32, &secret) == APR_SUCCESS);
    text = apr_psprintf(p, "%u %s\n", id, secret);
    alone = ring_of(p, text);
    kr = with_fixed && id != 7 && id != 3 ? ring_of(p, apr_pstrcat(p, text, FUZZ_KEYFILE, NULL))
                                          : alone;
    FUZZ_CHECK(shs_keyring_current(kr)->id == id);

    if (klen > size - SEAL_FIXED) {
        klen = size - SEAL_FIXED;
    }
    skey = apr_pstrmemdup(p, (const char *)data + SEAL_FIXED, klen); /* stops at a NUL */
    vlen = size - SEAL_FIXED - klen;
    if (vlen > SHS_VALUE_MAX) {
        vlen = SHS_VALUE_MAX;
    }
    value = copy(data + SEAL_FIXED + klen, vlen);

    if (!*skey) {
        const char *o = NULL;
        apr_size_t on = 0;
        FUZZ_CHECK(shs_value_seal(p, kr, encrypt, skey, value, vlen, &o, &on) == APR_EINVAL);
        FUZZ_CHECK(o == NULL && on == 0);
        free(value);
        return;
    }
    out = seal_checked(p, kr, encrypt, skey, value, vlen, &n);
    buf = copy((const uint8_t *)out, n);

    /* Opens under the sealing ring and under the fuzzed key alone. */
    expect_value(p, kr, skey, buf, n, value, vlen);
    expect_value(p, alone, skey, buf, n, value, vlen);

    /* Rings that do not hold the fuzzed secret: unknown key without that id, refused with it
     * (another secret), unless the fuzzer found the very secret of a fixed key. */
    twin = ring_of(p, apr_psprintf(p, "%u %s\n", id, TWIN_SECRET));
    other_ring(p, ring, &alone->keys[0], encrypt, skey, buf, n, value, vlen);
    other_ring(p, ring_new, &alone->keys[0], encrypt, skey, buf, n, value, vlen);
    other_ring(p, twin, &alone->keys[0], encrypt, skey, buf, n, value, vlen);

    /* Another store key: the same one with a character appended. */
    otherkey = apr_pstrcat(p, skey, "x", NULL);
    if (strlen(otherkey) <= SHS_VALUE_STORE_KEY_MAX) {
        FUZZ_CHECK(open_checked(p, kr, otherkey, buf, n, NULL, NULL) == bad);
    }

    /* One changed byte anywhere, and a truncation: refused. */
    pos = vlen >= 2 ? ((size_t)(unsigned char)value[0] << 8 | (unsigned char)value[1]) % n : 0;
    buf[pos] = (char)(buf[pos] ^ (vlen >= 3 && value[2] ? value[2] : 1));
    FUZZ_CHECK(open_checked(p, kr, skey, buf, n, NULL, NULL) != APR_SUCCESS);
    buf[pos] = out[pos];
    FUZZ_CHECK(open_checked(p, kr, skey, buf, pos, NULL, NULL) != APR_SUCCESS);
    for (i = 0; i < 8 && i < n; i++) {
        FUZZ_CHECK(open_checked(p, kr, skey, buf, n - 1 - i, NULL, NULL) != APR_SUCCESS);
    }
    expect_value(p, kr, skey, buf, n, value, vlen);

    free(buf);
    free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;

    if (size == 0) {
        return 0;
    }
    FUZZ_CHECK(apr_pool_create(&p, fuzz_root_pool()) == APR_SUCCESS);
    if (!(data[0] & 1)) {
        fuzz_open(p, data[0], data + 1, size - 1);
    }
    else if (size >= SEAL_FIXED) {
        fuzz_seal(p, data[0], data, size);
    }
    apr_pool_destroy(p);
    return 0;
}
