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

/* Unit tests for shs_value.c: sealing and opening stored session values. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "shs_keys.h"
#include "shs_value.h"
#include "shs_b64.h"

/* Secrets: 32 bytes each, standard base64.  SECRET_SEQ is bytes 0x00..0x1f. */
#define SECRET_SEQ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define SECRET_NEW "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define SECRET_OTHER "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8="

/* A store key as the module makes them: prefix + base64url(SHA-256(id)). */
#define SKEY "shs_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
#define SKEY2 "shs_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopr"

/* Known answers, computed independently in Python with the `cryptography` package (HKDF, HMAC,
 * AESGCM) from the format described in shs_value.h: key 42 = SECRET_SEQ, store key SKEY, value
 * KAT_VALUE; the 'e' ones with the IV a0 a1 .. ab. */
#define KAT_VALUE "expiry=1767225600000000&user=alice"
#define KAT_MAC "shs1:m:042:46Ff8dTJ_2zjhuAh0cO22LSPrtNwf35tplMp01xLVQ4:" KAT_VALUE
#define KAT_MAC_EMPTY "shs1:m:042:hW47XHZiMMwJ3oUfQOlcBXwLElyYWjNf-A-9Ma4Z6M4:"
#define KAT_ENC                                                                                    \
    "shs1:e:042:oKGio6Slpqeoqaqrk8kWDdHKTGtBRk_"                                                   \
    "Psr4ctXm4CDAU2YmW70EM2SLzrEJQ6YnpIwFdDjF0s8XJ43MKNPg"
#define KAT_ENC_EMPTY "shs1:e:042:oKGio6SlpqeoqaqrGVgTwW5dULoE3PsvZ3uvlQ"

static apr_pool_t *root;
static shs_keyring_t *ring_seq;   /* "42 seq" */
static shs_keyring_t *ring_old;   /* "1 seq" */
static shs_keyring_t *ring_rot;   /* "2 new", "1 seq": key 2 current, key 1 still accepted */
static shs_keyring_t *ring_new;   /* "2 new": key 1 retired */
static shs_keyring_t *ring_wrong; /* "1 other": same id as ring_old, another secret */

static shs_keyring_t *make_ring(const char *text)
{
    shs_keyring_t *kr = NULL;
    const char *err = NULL;

    if (shs_keyring_parse(root, text, strlen(text), &kr, &err) != APR_SUCCESS) {
        fprintf(stderr, "keyring: %s\n", err);
        return NULL;
    }
    return kr;
}

static int group_setup(void **state)
{
    (void)state;
    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&root, NULL) != APR_SUCCESS) {
        return -1;
    }
    ring_seq = make_ring("42 " SECRET_SEQ "\n");
    ring_old = make_ring("1 " SECRET_SEQ "\n");
    ring_rot = make_ring("2 " SECRET_NEW "\n1 " SECRET_SEQ "\n");
    ring_new = make_ring("2 " SECRET_NEW "\n");
    ring_wrong = make_ring("1 " SECRET_OTHER "\n");
    return ring_seq && ring_old && ring_rot && ring_new && ring_wrong ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    apr_pool_destroy(root);
    apr_terminate();
    return 0;
}

static int setup(void **state)
{
    apr_pool_t *p;

    if (apr_pool_create(&p, root) != APR_SUCCESS) {
        return -1;
    }
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    apr_pool_destroy(*state);
    return 0;
}

/* len pseudo-random bytes (all 256 values, NULs and ':' included), the same for a seed. */
static char *random_bytes(apr_pool_t *p, apr_size_t len, uint32_t seed)
{
    char *b = apr_palloc(p, len + 1);
    uint32_t x = seed * 2654435761u + 1;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (char)(x >> 24);
    }
    b[len] = '\0';
    return b;
}

static const char *seal_ok(apr_pool_t *p, const shs_keyring_t *kr, int encrypt, const char *skey,
                           const char *value, apr_size_t len, apr_size_t *outlen)
{
    const char *out = NULL;
    apr_size_t n = 0;

    assert_int_equal(shs_value_seal(p, kr, encrypt, skey, value, len, &out, &n), APR_SUCCESS);
    assert_non_null(out);
    assert_int_equal(out[n], '\0');
    assert_int_equal(n, shs_value_sealed_len(encrypt, len));
    if (outlen) {
        *outlen = n;
    }
    return out;
}

/* Open and expect exactly want/wantlen back. */
static void open_ok(apr_pool_t *p, const shs_keyring_t *kr, const char *skey, const char *stored,
                    apr_size_t len, const char *want, apr_size_t wantlen)
{
    const char *v = NULL;
    apr_size_t n = 12345;
    apr_status_t rv = shs_value_open(p, kr, skey, stored, len, &v, &n);

    if (rv != APR_SUCCESS) {
        fail_msg("open of %" APR_SIZE_T_FMT " bytes: %s", len, shs_value_strerror(rv));
    }
    assert_non_null(v);
    assert_int_equal(n, wantlen);
    if (wantlen) {
        assert_memory_equal(v, want, wantlen);
    }
    assert_int_equal(v[n], '\0');
}

/* Open and expect a refusal; the outputs must be left alone.  Returns the status. */
static apr_status_t open_fails(apr_pool_t *p, const shs_keyring_t *kr, const char *skey,
                               const char *stored, apr_size_t len)
{
    const char *v = "untouched";
    apr_size_t n = 4242;
    apr_status_t rv = shs_value_open(p, kr, skey, stored, len, &v, &n);

    assert_int_not_equal(rv, APR_SUCCESS);
    assert_string_equal(v, "untouched");
    assert_int_equal(n, 4242);
    return rv;
}

static void expect_refused(apr_pool_t *p, const shs_keyring_t *kr, const char *skey,
                           const char *stored, apr_size_t len, apr_status_t want)
{
    apr_status_t rv = open_fails(p, kr, skey, stored, len);

    if (rv != want) {
        fail_msg("open of \"%.*s\": %s, expected %s", (int)(len > 80 ? 80 : len), stored,
                 shs_value_strerror(rv), shs_value_strerror(want));
    }
}

static int is_b64url_text(const char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        if (shs_b64url_digit((unsigned char)s[i]) < 0) {
            return 0;
        }
    }
    return 1;
}

/* ---------------------------------------------------------------- known answers */

static void test_known_answer_mac(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t n;
    const char *out;

    out = seal_ok(p, ring_seq, 0, SKEY, KAT_VALUE, strlen(KAT_VALUE), &n);
    assert_string_equal(out, KAT_MAC);
    assert_int_equal(n, strlen(KAT_MAC));
    open_ok(p, ring_seq, SKEY, KAT_MAC, strlen(KAT_MAC), KAT_VALUE, strlen(KAT_VALUE));

    out = seal_ok(p, ring_seq, 0, SKEY, "", 0, &n);
    assert_string_equal(out, KAT_MAC_EMPTY);
    out = seal_ok(p, ring_seq, 0, SKEY, NULL, 0, &n);
    assert_string_equal(out, KAT_MAC_EMPTY);
    open_ok(p, ring_seq, SKEY, KAT_MAC_EMPTY, strlen(KAT_MAC_EMPTY), "", 0);
}

static void test_known_answer_enc(void **state)
{
    apr_pool_t *p = *state;

    open_ok(p, ring_seq, SKEY, KAT_ENC, strlen(KAT_ENC), KAT_VALUE, strlen(KAT_VALUE));
    open_ok(p, ring_seq, SKEY, KAT_ENC_EMPTY, strlen(KAT_ENC_EMPTY), "", 0);
    assert_int_equal(strlen(KAT_ENC), shs_value_sealed_len(1, strlen(KAT_VALUE)));
    assert_int_equal(strlen(KAT_ENC_EMPTY), shs_value_sealed_len(1, 0));
}

/* ---------------------------------------------------------------- round trips */

static void round_trip(apr_pool_t *p, int encrypt, const char *value, apr_size_t len)
{
    apr_size_t n;
    const char *out = seal_ok(p, ring_rot, encrypt, SKEY, value, len, &n);

    assert_memory_equal(out, encrypt ? "shs1:e:002:" : "shs1:m:002:", SHS_VALUE_HEADER_LEN);
    if (encrypt) {
        /* text: the header, then base64url only */
        assert_true(is_b64url_text(out + SHS_VALUE_HEADER_LEN, n - SHS_VALUE_HEADER_LEN));
        assert_int_equal(strlen(out), n);
    }
    else {
        assert_int_equal(n, len + SHS_VALUE_MAC_OVERHEAD);
        assert_int_equal(out[SHS_VALUE_MAC_OVERHEAD - 1], ':');
        if (len) {
            assert_memory_equal(out + SHS_VALUE_MAC_OVERHEAD, value, len);
        }
    }
    open_ok(p, ring_rot, SKEY, out, n, value, len);
}

static void test_round_trip(void **state)
{
    apr_pool_t *p = *state;
    static const apr_size_t lens[] = { 0, 1, 2, 3, 4, 5, 42, 100, 255, 4096, 65537 };
    apr_size_t i;
    int enc;

    for (enc = 0; enc <= 1; enc++) {
        round_trip(p, enc, "", 0);
        round_trip(p, enc, NULL, 0);
        round_trip(p, enc, "x", 1);
        round_trip(p, enc, "expiry=123&user=x", 17);
        for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            round_trip(p, enc, random_bytes(p, lens[i], (uint32_t)(i + 1)), lens[i]);
        }
    }
}

static void test_round_trip_largest(void **state)
{
    apr_pool_t *p = *state;
    const char *big = random_bytes(p, SHS_VALUE_MAX, 7);
    const char *out = NULL;
    apr_size_t n = 0;
    int enc;

    for (enc = 0; enc <= 1; enc++) {
        round_trip(p, enc, big, SHS_VALUE_MAX);
        round_trip(p, enc, big, SHS_VALUE_MAX - 1);
        /* One byte more is refused, outputs untouched. */
        assert_int_equal(shs_value_seal(p, ring_rot, enc, SKEY, big, SHS_VALUE_MAX + 1, &out, &n),
                         APR_EINVAL);
        assert_null(out);
        assert_int_equal(n, 0);
        assert_int_equal(shs_value_sealed_len(enc, SHS_VALUE_MAX + 1), 0);
    }
    assert_int_equal(shs_value_sealed_len(0, SHS_VALUE_MAX), SHS_VALUE_MAX + 55);
    assert_int_equal(shs_value_sealed_len(1, SHS_VALUE_MAX), 11 + 1398139);
}

/* A stored value with a value longer than SHS_VALUE_MAX is refused even when authentic-looking:
 * the length is checked before any work. */
static void test_open_too_long(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t n;
    const char *out = seal_ok(p, ring_rot, 0, SKEY, "v", 1, &n);
    char *big = apr_palloc(p, SHS_VALUE_MAX + SHS_VALUE_MAC_OVERHEAD + 2);
    apr_size_t elen = shs_value_sealed_len(1, SHS_VALUE_MAX) + 1;
    char *ebig = apr_palloc(p, elen + 1);

    memcpy(big, out, SHS_VALUE_MAC_OVERHEAD);
    memset(big + SHS_VALUE_MAC_OVERHEAD, 'v', SHS_VALUE_MAX + 1);
    expect_refused(p, ring_rot, SKEY, big, SHS_VALUE_MAC_OVERHEAD + SHS_VALUE_MAX + 1,
                   SHS_VALUE_EMALFORMED);
    /* exactly SHS_VALUE_MAX: well-formed, so it gets to the MAC */
    expect_refused(p, ring_rot, SKEY, big, SHS_VALUE_MAC_OVERHEAD + SHS_VALUE_MAX,
                   SHS_VALUE_EBADMAC);

    memcpy(ebig, "shs1:e:002:", SHS_VALUE_HEADER_LEN);
    memset(ebig + SHS_VALUE_HEADER_LEN, 'A', elen - SHS_VALUE_HEADER_LEN);
    expect_refused(p, ring_rot, SKEY, ebig, elen, SHS_VALUE_EMALFORMED);
    /* the longest body allowed: well-formed, so it gets to the tag */
    expect_refused(p, ring_rot, SKEY, ebig, elen - 1, SHS_VALUE_EDECRYPT);
}

static void test_binary_values(void **state)
{
    apr_pool_t *p = *state;
    static const char nuls[] = "a\0b\0\0:c::\xff\x80";
    int enc;

    for (enc = 0; enc <= 1; enc++) {
        round_trip(p, enc, nuls, sizeof(nuls));
        round_trip(p, enc, "\0", 1);
        round_trip(p, enc, "shs1:m:002:", 11); /* a value that looks like a header */
    }
}

/* ---------------------------------------------------------------- modes */

static void test_modes_differ(void **state)
{
    apr_pool_t *p = *state;
    const char *v = KAT_VALUE;
    apr_size_t len = strlen(v), nm, nm2, ne, ne2;
    const char *m = seal_ok(p, ring_rot, 0, SKEY, v, len, &nm);
    const char *m2 = seal_ok(p, ring_rot, 0, SKEY, v, len, &nm2);
    const char *e = seal_ok(p, ring_rot, 1, SKEY, v, len, &ne);
    const char *e2 = seal_ok(p, ring_rot, 1, SKEY, v, len, &ne2);

    assert_int_equal(strncmp(m, "shs1:m:", 7), 0);
    assert_int_equal(strncmp(e, "shs1:e:", 7), 0);
    assert_string_not_equal(m, e);
    /* 'm' is deterministic and shows the value; 'e' hides it and uses a fresh IV each time. */
    assert_string_equal(m, m2);
    assert_non_null(strstr(m, v));
    assert_null(strstr(e, "user"));
    assert_null(strstr(e, "alice"));
    assert_int_equal(ne, ne2);
    assert_string_not_equal(e, e2);
    assert_memory_not_equal(e + SHS_VALUE_HEADER_LEN, e2 + SHS_VALUE_HEADER_LEN, 16);
    /* Each opens, whatever mode the caller seals with. */
    open_ok(p, ring_rot, SKEY, m, nm, v, len);
    open_ok(p, ring_rot, SKEY, e, ne, v, len);
    open_ok(p, ring_rot, SKEY, e2, ne2, v, len);
}

/* ---------------------------------------------------------------- rotation */

static void test_rotation(void **state)
{
    apr_pool_t *p = *state;
    const char *v = "expiry=1&user=bob";
    apr_size_t len = strlen(v), n;
    const char *out;
    int enc;

    for (enc = 0; enc <= 1; enc++) {
        apr_status_t bad = enc ? SHS_VALUE_EDECRYPT : SHS_VALUE_EBADMAC;

        /* Sealed under the old key: opens while that key is in the ring, current or not. */
        out = seal_ok(p, ring_old, enc, SKEY, v, len, &n);
        assert_memory_equal(out + 5, enc ? "e:001:" : "m:001:", 6);
        open_ok(p, ring_old, SKEY, out, n, v, len);
        open_ok(p, ring_rot, SKEY, out, n, v, len);
        /* Retired: unknown key.  Same id, another secret: authentication fails. */
        expect_refused(p, ring_new, SKEY, out, n, SHS_VALUE_EUNKNOWNKEY);
        expect_refused(p, ring_wrong, SKEY, out, n, bad);
        expect_refused(p, ring_seq, SKEY, out, n, SHS_VALUE_EUNKNOWNKEY);

        /* Sealed under the rotated ring: the new key, which the old ring does not know. */
        out = seal_ok(p, ring_rot, enc, SKEY, v, len, &n);
        assert_memory_equal(out + 5, enc ? "e:002:" : "m:002:", 6);
        open_ok(p, ring_rot, SKEY, out, n, v, len);
        open_ok(p, ring_new, SKEY, out, n, v, len);
        expect_refused(p, ring_old, SKEY, out, n, SHS_VALUE_EUNKNOWNKEY);

        /* Relabelled as the other key of the ring: refused. */
        {
            char *relabel = apr_pstrmemdup(p, out, n);
            relabel[9] = '1';
            expect_refused(p, ring_rot, SKEY, relabel, n, bad);
        }
    }
}

/* ---------------------------------------------------------------- tampering */

/* Flip every bit of every byte, one at a time, then every byte to 0xff-complement; each
 * altered copy must be refused, with a status that fits the region. */
static void tamper_all(apr_pool_t *p, int encrypt, const char *value, apr_size_t len)
{
    apr_size_t n, i;
    const char *out = seal_ok(p, ring_rot, encrypt, SKEY, value, len, &n);
    char *buf = apr_pstrmemdup(p, out, n);
    int bit;

    for (i = 0; i < n; i++) {
        for (bit = 0; bit <= 8; bit++) {
            apr_status_t rv;

            buf[i] = (char)(out[i] ^ (bit < 8 ? 1 << bit : 0xff));
            rv = open_fails(p, ring_rot, SKEY, buf, n);
            if (!SHS_VALUE_REFUSED(rv)) {
                fail_msg("byte %" APR_SIZE_T_FMT " bit %d: status %d", i, bit, rv);
            }
            if (i < 5) {
                /* the magic: unsealed, or a version we do not know */
                assert_true(rv == SHS_VALUE_EUNSEALED || rv == SHS_VALUE_EMALFORMED);
            }
            else if (i < SHS_VALUE_HEADER_LEN) {
                /* mode, key id, separators: never accepted, at worst another known key */
                assert_true(rv == SHS_VALUE_EMALFORMED || rv == SHS_VALUE_EUNKNOWNKEY ||
                            rv == SHS_VALUE_EBADMAC || rv == SHS_VALUE_EDECRYPT);
            }
            else if (!encrypt && i < SHS_VALUE_MAC_OVERHEAD) {
                assert_true(rv == SHS_VALUE_EMALFORMED || rv == SHS_VALUE_EBADMAC);
            }
            else if (!encrypt) {
                assert_int_equal(rv, SHS_VALUE_EBADMAC); /* the value itself */
            }
            else {
                assert_true(rv == SHS_VALUE_EMALFORMED || rv == SHS_VALUE_EDECRYPT);
            }
        }
        buf[i] = out[i];
    }
    /* The untouched copy still opens. */
    open_ok(p, ring_rot, SKEY, buf, n, value, len);

    /* Truncated at every length, and one byte longer. */
    for (i = 0; i < n; i++) {
        apr_status_t rv = open_fails(p, ring_rot, SKEY, buf, i);
        if (!SHS_VALUE_REFUSED(rv)) {
            fail_msg("truncated to %" APR_SIZE_T_FMT ": status %d", i, rv);
        }
    }
    {
        char *longer = apr_palloc(p, n + 2);
        memcpy(longer, out, n);
        longer[n] = 'A';
        longer[n + 1] = '\0';
        assert_true(SHS_VALUE_REFUSED(open_fails(p, ring_rot, SKEY, longer, n + 1)));
    }
}

static void test_tamper(void **state)
{
    apr_pool_t *p = *state;
    int enc;

    for (enc = 0; enc <= 1; enc++) {
        tamper_all(p, enc, "", 0);
        tamper_all(p, enc, "x", 1);
        tamper_all(p, enc, KAT_VALUE, strlen(KAT_VALUE));
        tamper_all(p, enc, random_bytes(p, 61, 99), 61);
    }
}

/* Large values: a flip at the start, middle and end of the value, and a truncation by one. */
static void test_tamper_large(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t len = 300000, n, at[3], i;
    const char *value = random_bytes(p, len, 5);
    int enc;

    for (enc = 0; enc <= 1; enc++) {
        const char *out = seal_ok(p, ring_rot, enc, SKEY, value, len, &n);
        char *buf = apr_pstrmemdup(p, out, n);
        apr_status_t bad = enc ? SHS_VALUE_EDECRYPT : SHS_VALUE_EBADMAC;

        at[0] = enc ? SHS_VALUE_HEADER_LEN + 20 : SHS_VALUE_MAC_OVERHEAD;
        at[1] = n / 2;
        at[2] = n - 10;
        for (i = 0; i < 3; i++) {
            /* 'A' <-> 'B' stays within the base64url alphabet */
            buf[at[i]] = (char)(out[at[i]] == 'A' ? 'B' : 'A');
            expect_refused(p, ring_rot, SKEY, buf, n, bad);
            buf[at[i]] = out[at[i]];
        }
        open_ok(p, ring_rot, SKEY, buf, n, value, len);
        assert_true(SHS_VALUE_REFUSED(open_fails(p, ring_rot, SKEY, buf, n - 1)));
        assert_true(SHS_VALUE_REFUSED(open_fails(p, ring_rot, SKEY, buf, n - 4)));
    }
}

/* ---------------------------------------------------------------- store key binding */

static void test_moved_to_another_key(void **state)
{
    apr_pool_t *p = *state;
    const char *v = "expiry=9&user=admin";
    apr_size_t len = strlen(v), n;
    const char *out;
    int enc;

    for (enc = 0; enc <= 1; enc++) {
        apr_status_t bad = enc ? SHS_VALUE_EDECRYPT : SHS_VALUE_EBADMAC;

        out = seal_ok(p, ring_rot, enc, SKEY, v, len, &n);
        open_ok(p, ring_rot, SKEY, out, n, v, len);
        expect_refused(p, ring_rot, SKEY2, out, n, bad);
        expect_refused(p, ring_rot, "x", out, n, bad);
        /* A prefix or extension of the store key is another store key. */
        expect_refused(p, ring_rot, "shs_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop", out, n, bad);
        expect_refused(p, ring_rot, SKEY "q", out, n, bad);

        /* Store key "ab" + value "c..." must not equal store key "a" + value "bc...". */
        out = seal_ok(p, ring_rot, enc, "ab", "c", 1, &n);
        open_ok(p, ring_rot, "ab", out, n, "c", 1);
        expect_refused(p, ring_rot, "a", out, n, bad);
    }
    /* 'm': moving the value and the MAC across keys with the value shifted is refused too. */
    {
        const char *ab = seal_ok(p, ring_rot, 0, "ab", "c", 1, &n);
        char *forged = apr_pstrcat(p, apr_pstrndup(p, ab, SHS_VALUE_MAC_OVERHEAD), "bc", NULL);
        expect_refused(p, ring_rot, "a", forged, n + 1, SHS_VALUE_EBADMAC);
    }
}

/* ---------------------------------------------------------------- unsealed and malformed */

static void test_unsealed(void **state)
{
    apr_pool_t *p = *state;
    static const char *const legacy[] = {
        "expiry=123&user=x",
        "",
        "s",
        "shs",
        "shs1",
        "shsx:m:002:",
        "shs1;m:002:",
        "SHS1:m:002:",
        " shs1:m:002:",
        "user=shs1:m:002:",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++) {
        expect_refused(p, ring_rot, SKEY, legacy[i], strlen(legacy[i]), SHS_VALUE_EUNSEALED);
    }
    /* NULL with no length: nothing stored, not sealed. */
    expect_refused(p, ring_rot, SKEY, NULL, 0, SHS_VALUE_EUNSEALED);
}

static void test_malformed(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t n;
    const char *m = seal_ok(p, ring_rot, 0, SKEY, "v", 1, &n);
    const char *mac = apr_pstrndup(p, m + SHS_VALUE_HEADER_LEN, 43);
    static const char *const bad[] = {
        "shs1:",
        "shs2:m:002:",
        "shs0:m:002:",
        "shs9:whatever",
        "shs1:m:002",
        "shs1:x:002:",
        "shs1:M:002:",
        "shs1::002:",
        "shs1:m:256:",
        "shs1:m:999:",
        "shs1:m:02:",
        "shs1:m:0002:",
        "shs1:m:-02:",
        "shs1:m: 02:",
        "shs1:m:0x2:",
        "shs1:m:002;",
        "shs1:m:002:",
        "shs1:m:002:short:v",
        "shs1:e:002:",
        "shs1:e:002:AAAA",
        "shs1:e:002:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",     /* 37 characters: 27 bytes */
        "shs1:e:002:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",    /* non-canonical tail */
        "shs1:e:002:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=A",   /* not base64url */
        "shs1:e:002:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 41 % 4 == 1 */
    };
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_refused(p, ring_rot, SKEY, bad[i], strlen(bad[i]), SHS_VALUE_EMALFORMED);
    }
    /* 'm' with a MAC field that is not canonical base64url, or without its ':'. */
    expect_refused(p, ring_rot, SKEY, apr_pstrcat(p, "shs1:m:002:", mac, ";v", NULL), n,
                   SHS_VALUE_EMALFORMED);
    {
        char *s = apr_pstrdup(p, m);
        s[SHS_VALUE_HEADER_LEN + 42] = '=';
        expect_refused(p, ring_rot, SKEY, s, n, SHS_VALUE_EMALFORMED);
        s = apr_pstrdup(p, m);
        /* the last character carries 2 unused bits: set one */
        s[SHS_VALUE_HEADER_LEN + 42] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                [shs_b64url_digit((unsigned char)m[SHS_VALUE_HEADER_LEN + 42]) ^ 1];
        expect_refused(p, ring_rot, SKEY, s, n, SHS_VALUE_EMALFORMED);
    }
    /* The shortest well-formed 'e' value gets as far as authentication. */
    expect_refused(p, ring_rot, SKEY, "shs1:e:002:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 49,
                   SHS_VALUE_EDECRYPT);
    /* Key ids above 255 are malformed, not unknown, even in a value of the right shape. */
    expect_refused(p, ring_rot, SKEY, apr_pstrcat(p, "shs1:m:256:", mac, ":v", NULL), n,
                   SHS_VALUE_EMALFORMED);
    expect_refused(p, ring_rot, SKEY, "shs1:e:256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 49,
                   SHS_VALUE_EMALFORMED);
    /* Well-formed, unknown key id. */
    expect_refused(p, ring_rot, SKEY, apr_pstrcat(p, "shs1:m:255:", mac, ":v", NULL), n,
                   SHS_VALUE_EUNKNOWNKEY);
    expect_refused(p, ring_rot, SKEY, "shs1:e:000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 49,
                   SHS_VALUE_EUNKNOWNKEY);
}

/* Stored bytes need not be NUL-terminated: only len bytes are read. */
static void test_open_not_nul_terminated(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t n;
    int enc;

    for (enc = 0; enc <= 1; enc++) {
        const char *out = seal_ok(p, ring_rot, enc, SKEY, "abc", 3, &n);
        char *buf = apr_palloc(p, n + 8);

        memcpy(buf, out, n);
        memcpy(buf + n, "JUNKJUNK", 8);
        open_ok(p, ring_rot, SKEY, buf, n, "abc", 3);
    }
}

/* ---------------------------------------------------------------- arguments */

static void test_arguments(void **state)
{
    apr_pool_t *p = *state;
    shs_keyring_t empty = { 0, NULL };
    shs_keyring_t empty2 = { 0, ring_rot->keys };
    const char *out = NULL, *v = NULL;
    apr_size_t n = 0, vn = 0;
    char *longkey = apr_palloc(p, SHS_VALUE_STORE_KEY_MAX + 2);
    const char *sealed;
    apr_size_t sn;
    int enc;

    memset(longkey, 'k', SHS_VALUE_STORE_KEY_MAX + 1);
    longkey[SHS_VALUE_STORE_KEY_MAX + 1] = '\0';
    sealed = seal_ok(p, ring_rot, 0, SKEY, "v", 1, &sn);

    for (enc = 0; enc <= 1; enc++) {
        assert_int_equal(shs_value_seal(p, NULL, enc, SKEY, "v", 1, &out, &n), APR_EINVAL);
        assert_int_equal(shs_value_seal(p, &empty, enc, SKEY, "v", 1, &out, &n), APR_EINVAL);
        assert_int_equal(shs_value_seal(p, &empty2, enc, SKEY, "v", 1, &out, &n), APR_EINVAL);
        assert_int_equal(shs_value_seal(NULL, ring_rot, enc, SKEY, "v", 1, &out, &n), APR_EINVAL);
        assert_int_equal(shs_value_seal(p, ring_rot, enc, NULL, "v", 1, &out, &n), APR_EINVAL);
        assert_int_equal(shs_value_seal(p, ring_rot, enc, "", "v", 1, &out, &n), APR_EINVAL);
        assert_int_equal(shs_value_seal(p, ring_rot, enc, longkey, "v", 1, &out, &n), APR_EINVAL);
        assert_int_equal(shs_value_seal(p, ring_rot, enc, SKEY, NULL, 1, &out, &n), APR_EINVAL);
        assert_int_equal(shs_value_seal(p, ring_rot, enc, SKEY, "v", 1, NULL, &n), APR_EINVAL);
        assert_int_equal(shs_value_seal(p, ring_rot, enc, SKEY, "v", 1, &out, NULL), APR_EINVAL);
        assert_null(out);
        assert_int_equal(n, 0);
        /* Any nonzero encrypt means 'e'. */
        out = seal_ok(p, ring_rot, enc ? -1 : 0, SKEY, "v", 1, &n);
        assert_int_equal(out[5], enc ? 'e' : 'm');
        out = NULL;
        n = 0;
    }
    /* The longest store key allowed. */
    longkey[SHS_VALUE_STORE_KEY_MAX] = '\0';
    out = seal_ok(p, ring_rot, 1, longkey, "v", 1, &n);
    open_ok(p, ring_rot, longkey, out, n, "v", 1);
    out = seal_ok(p, ring_rot, 0, longkey, "v", 1, &n);
    open_ok(p, ring_rot, longkey, out, n, "v", 1);
    longkey[SHS_VALUE_STORE_KEY_MAX] = 'k';

    assert_int_equal(shs_value_open(p, NULL, SKEY, sealed, sn, &v, &vn), APR_EINVAL);
    assert_int_equal(shs_value_open(p, &empty, SKEY, sealed, sn, &v, &vn), APR_EINVAL);
    assert_int_equal(shs_value_open(p, &empty2, SKEY, sealed, sn, &v, &vn), APR_EINVAL);
    assert_int_equal(shs_value_open(NULL, ring_rot, SKEY, sealed, sn, &v, &vn), APR_EINVAL);
    assert_int_equal(shs_value_open(p, ring_rot, NULL, sealed, sn, &v, &vn), APR_EINVAL);
    assert_int_equal(shs_value_open(p, ring_rot, "", sealed, sn, &v, &vn), APR_EINVAL);
    assert_int_equal(shs_value_open(p, ring_rot, longkey, sealed, sn, &v, &vn), APR_EINVAL);
    assert_int_equal(shs_value_open(p, ring_rot, SKEY, NULL, sn, &v, &vn), APR_EINVAL);
    assert_int_equal(shs_value_open(p, ring_rot, SKEY, sealed, sn, NULL, &vn), APR_EINVAL);
    assert_int_equal(shs_value_open(p, ring_rot, SKEY, sealed, sn, &v, NULL), APR_EINVAL);
    assert_null(v);
    assert_int_equal(vn, 0);
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(shs_value_strerror(APR_SUCCESS), "ok");
    assert_string_equal(shs_value_strerror(SHS_VALUE_EUNSEALED), "unsealed");
    assert_string_equal(shs_value_strerror(SHS_VALUE_EMALFORMED), "malformed");
    assert_string_equal(shs_value_strerror(SHS_VALUE_EUNKNOWNKEY), "unknown-key");
    assert_string_equal(shs_value_strerror(SHS_VALUE_EBADMAC), "bad-mac");
    assert_string_equal(shs_value_strerror(SHS_VALUE_EDECRYPT), "decrypt-failed");
    assert_string_equal(shs_value_strerror(APR_EINVAL), "invalid-argument");
    assert_string_equal(shs_value_strerror(APR_EGENERAL), "error");
    assert_string_equal(shs_value_strerror(APR_ENOMEM), "error");

    /* The five refusals are told apart from each other and from everything else. */
    assert_true(SHS_VALUE_REFUSED(SHS_VALUE_EUNSEALED));
    assert_true(SHS_VALUE_REFUSED(SHS_VALUE_EMALFORMED));
    assert_true(SHS_VALUE_REFUSED(SHS_VALUE_EUNKNOWNKEY));
    assert_true(SHS_VALUE_REFUSED(SHS_VALUE_EBADMAC));
    assert_true(SHS_VALUE_REFUSED(SHS_VALUE_EDECRYPT));
    assert_false(SHS_VALUE_REFUSED(APR_SUCCESS));
    assert_false(SHS_VALUE_REFUSED(APR_EINVAL));
    assert_false(SHS_VALUE_REFUSED(APR_EGENERAL));
    assert_false(SHS_VALUE_REFUSED(APR_NOTFOUND));
    assert_false(SHS_VALUE_REFUSED(APR_OS_START_USERERR + 1)); /* SHS_STORE_EDOWN */
    assert_false(SHS_VALUE_REFUSED(APR_OS_START_USERERR + 2)); /* SHS_STORE_EBUSY */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_known_answer_mac, setup, teardown),
        cmocka_unit_test_setup_teardown(test_known_answer_enc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_largest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modes_differ, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_to_another_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsealed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_not_nul_terminated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strerror, setup, teardown),
    };

    return cmocka_run_group_tests_name("shs_value", tests, group_setup, group_teardown);
}
