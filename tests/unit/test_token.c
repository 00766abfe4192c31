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

/* Unit tests for shs_token.c: sealing and opening transfer tokens, base64url. */

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
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "shs_keys.h"
#include "shs_token.h"

/* Secrets: 32 bytes each, standard base64. */
#define SECRET_OLD "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define SECRET_NEW "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define SECRET_OTHER "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8="

#define NOW 1767225600 /* 2026-01-01T00:00:00Z */

static apr_pool_t *root;
static shs_keyring_t *ring_old;   /* "1 old" */
static shs_keyring_t *ring_rot;   /* "2 new", "1 old" */
static shs_keyring_t *ring_new;   /* "2 new" */
static shs_keyring_t *ring_wrong; /* "1 other": same id, another secret */

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
    ring_old = make_ring("1 " SECRET_OLD "\n");
    ring_rot = make_ring("2 " SECRET_NEW "\n1 " SECRET_OLD "\n");
    ring_new = make_ring("2 " SECRET_NEW "\n");
    ring_wrong = make_ring("1 " SECRET_OTHER "\n");
    return ring_old && ring_rot && ring_new && ring_wrong ? 0 : -1;
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

/* A token for a.test:8443 -> b.test:8443, issued at NOW, valid 120 s. */
static shs_token_t sample_token(const char *nonce)
{
    shs_token_t t = {
        .issued = NOW,
        .expires = NOW + 120,
        .src = "a.test:8443",
        .dst = "b.test:8443",
        .nonce = nonce,
    };
    int i;

    for (i = 0; i < SHS_SID_BYTES; i++) {
        t.sid[i] = (unsigned char)(0xa0 + i);
    }
    return t;
}

static const char *seal_ok(apr_pool_t *p, const shs_keyring_t *kr, shs_token_t *t)
{
    const char *out = NULL;

    assert_int_equal(shs_token_seal(p, kr, t, &out), APR_SUCCESS);
    assert_non_null(out);
    return out;
}

/* Open expecting failure with reason want; *t must be left alone. */
static void expect_open_fail(apr_pool_t *p, const shs_keyring_t *kr, const char *in,
                             apr_int64_t now, apr_int64_t skew, shs_refusal_e want)
{
    static shs_token_t sentinel_token;
    shs_token_t *sentinel = &sentinel_token, *t = sentinel;
    shs_refusal_e why = SHS_REFUSAL_NONE;
    apr_status_t rv = shs_token_open(p, kr, in, now, skew, &t, &why);

    if (why != want) {
        fail_msg("expected %s, got %s", shs_refusal_name(want), shs_refusal_name(why));
    }
    assert_int_equal(rv, APR_EGENERAL);
    assert_ptr_equal(t, sentinel);
}

/* Open expecting any failure other than OK; returns the reason. */
static shs_refusal_e open_must_fail(apr_pool_t *p, const shs_keyring_t *kr, const char *in)
{
    shs_token_t *t = NULL;
    shs_refusal_e why = SHS_REFUSAL_NONE;
    apr_status_t rv = shs_token_open(p, kr, in, NOW, 60, &t, &why);

    if (rv == APR_SUCCESS || why == SHS_REFUSAL_NONE) {
        fail_msg("token accepted but should not be: %s", in ? in : "(null)");
    }
    assert_null(t);
    return why;
}

static unsigned char *decode_ok(apr_pool_t *p, const char *s, apr_size_t *len)
{
    unsigned char *raw = NULL;

    assert_int_equal(shs_b64url_decode(p, s, strlen(s), &raw, len), APR_SUCCESS);
    return raw;
}

static const char *encode_ok(apr_pool_t *p, const unsigned char *raw, apr_size_t len)
{
    const char *s = NULL;

    assert_int_equal(shs_b64url_encode(p, raw, len, &s), APR_SUCCESS);
    return s;
}

/* ---------------------------------------------------------------- helpers from the test side */

/* Build a token by hand following the documented wire format, with any body, encrypting with
 * the key ring entry key.  Independent of shs_token_seal(): checks the format itself. */
static const char *forge(apr_pool_t *p, const shs_key_t *key, unsigned char version,
                         unsigned char key_id, const unsigned char *body, int blen)
{
    unsigned char raw[2048];
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;

    assert_non_null(ctx);
    assert_true(blen + 30 <= (int)sizeof(raw));
    raw[0] = version;
    raw[1] = key_id;
    assert_int_equal(RAND_bytes(raw + 2, 12), 1);
    assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key->aead, raw + 2), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &n, raw, 2), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, raw + 14, &n, body, blen), 1);
    assert_int_equal(EVP_EncryptFinal_ex(ctx, raw + 14 + n, &fin), 1);
    assert_int_equal(n + fin, blen);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, raw + 14 + blen), 1);
    EVP_CIPHER_CTX_free(ctx);
    return encode_ok(p, raw, (apr_size_t)blen + 30);
}

/* A well-formed body: issued, lifetime, tid, sid, then src/dst/nonce. Returns its length. */
static int make_body(unsigned char *b, apr_uint64_t issued, unsigned int lifetime, const char *src,
                     const char *dst, const char *nonce)
{
    int i, n = 0;
    size_t l;

    for (i = 7; i >= 0; i--) {
        b[n + i] = (unsigned char)(issued & 0xff);
        issued >>= 8;
    }
    n = 8;
    b[n++] = (unsigned char)(lifetime >> 8);
    b[n++] = (unsigned char)lifetime;
    for (i = 0; i < 16 + SHS_SID_BYTES; i++) {
        b[n++] = (unsigned char)i;
    }
    l = strlen(src);
    b[n++] = (unsigned char)l;
    memcpy(b + n, src, l);
    n += (int)l;
    l = strlen(dst);
    b[n++] = (unsigned char)l;
    memcpy(b + n, dst, l);
    n += (int)l;
    l = strlen(nonce);
    b[n++] = (unsigned char)l;
    memcpy(b + n, nonce, l);
    n += (int)l;
    return n;
}

/* ---------------------------------------------------------------- round trips */

static void check_round_trip(apr_pool_t *p, const char *nonce)
{
    shs_token_t in = sample_token(nonce), *out = NULL;
    shs_refusal_e why = SHS_REFUSAL_MALFORMED;
    const char *tok = seal_ok(p, ring_old, &in);

    assert_int_equal(in.key_id, 1);
    assert_int_equal(shs_token_open(p, ring_old, tok, NOW + 10, 30, &out, &why), APR_SUCCESS);
    assert_int_equal(why, SHS_REFUSAL_NONE);
    assert_non_null(out);
    assert_int_equal(out->key_id, 1);
    assert_int_equal(out->issued, NOW);
    assert_int_equal(out->expires, NOW + 120);
    assert_memory_equal(out->tid, in.tid, sizeof(in.tid));
    assert_memory_equal(out->sid, in.sid, SHS_SID_BYTES);
    assert_string_equal(out->src, "a.test:8443");
    assert_string_equal(out->dst, "b.test:8443");
    assert_non_null(out->nonce);
    assert_string_equal(out->nonce, nonce ? nonce : "");
}

static void test_round_trip_no_nonce(void **state)
{
    check_round_trip(*state, NULL);
    check_round_trip(*state, "");
}

static void test_round_trip_nonce(void **state)
{
    check_round_trip(*state, "abc_DEF-123");
    check_round_trip(*state, "0123456789012345678901234567890123456789012345678901234567891234");
}

static void test_length_bound(void **state)
{
    apr_pool_t *p = *state;
    shs_token_t t = sample_token(NULL), *out = NULL;
    shs_refusal_e why;
    const char *tok = seal_ok(p, ring_old, &t);
    char *host;

    /* The documented example: 113 bytes, 151 characters; must stay <= 200. */
    assert_true(strlen(tok) <= 200);
    assert_int_equal(strlen(tok), 151);

    /* The largest token possible still fits SHS_TOKEN_MAX_LEN and opens. */
    host = apr_palloc(p, SHS_TOKEN_MAX_HOST + 1);
    memset(host, 'h', SHS_TOKEN_MAX_HOST);
    host[SHS_TOKEN_MAX_HOST] = '\0';
    t.src = host;
    t.dst = host;
    t.nonce = "0123456789012345678901234567890123456789012345678901234567891234";
    tok = seal_ok(p, ring_old, &t);
    assert_true(strlen(tok) <= SHS_TOKEN_MAX_LEN);
    assert_int_equal(strlen(tok), 882);
    assert_int_equal(shs_token_open(p, ring_old, tok, NOW, 0, &out, &why), APR_SUCCESS);
    assert_string_equal(out->src, host);
    assert_int_equal(strlen(out->nonce), 64);
}

static void test_wire_format_forged(void **state)
{
    apr_pool_t *p = *state;
    const shs_key_t *key = shs_keyring_find(ring_old, 1);
    unsigned char body[1024];
    shs_token_t *out = NULL;
    shs_refusal_e why;
    int n;

    /* A token built from the documented format opens. */
    n = make_body(body, NOW, 300, "x.test", "y.test:8443", "n0");
    assert_int_equal(shs_token_open(p, ring_old, forge(p, key, 1, 1, body, n), NOW, 0, &out, &why),
                     APR_SUCCESS);
    assert_int_equal(out->issued, NOW);
    assert_int_equal(out->expires, NOW + 300);
    assert_string_equal(out->src, "x.test");
    assert_string_equal(out->dst, "y.test:8443");
    assert_string_equal(out->nonce, "n0");
    assert_int_equal(out->sid[0], 16);
    assert_int_equal(out->tid[15], 15);

    /* Lifetime 0 and over an hour: authentic but refused. */
    n = make_body(body, NOW, 0, "x.test", "y.test", "");
    expect_open_fail(p, ring_old, forge(p, key, 1, 1, body, n), NOW, 0, SHS_REFUSAL_BAD_LIFETIME);
    n = make_body(body, NOW, 3601, "x.test", "y.test", "");
    expect_open_fail(p, ring_old, forge(p, key, 1, 1, body, n), NOW, 0, SHS_REFUSAL_BAD_LIFETIME);
    n = make_body(body, NOW, 3600, "x.test", "y.test", "");
    assert_int_equal(shs_token_open(p, ring_old, forge(p, key, 1, 1, body, n), NOW, 0, &out, &why),
                     APR_SUCCESS);

    /* Negative issued time, and one so large that expires would overflow. */
    n = make_body(body, (apr_uint64_t)-5, 60, "x.test", "y.test", "");
    expect_open_fail(p, ring_old, forge(p, key, 1, 1, body, n), NOW, 0, SHS_REFUSAL_MALFORMED);
    n = make_body(body, (apr_uint64_t)APR_INT64_MAX - 10, 60, "x.test", "y.test", "");
    expect_open_fail(p, ring_old, forge(p, key, 1, 1, body, n), APR_INT64_MAX, 0,
                     SHS_REFUSAL_MALFORMED);

    /* Trailing byte inside the body. */
    n = make_body(body, NOW, 60, "x.test", "y.test", "");
    body[n++] = 0;
    expect_open_fail(p, ring_old, forge(p, key, 1, 1, body, n), NOW, 0, SHS_REFUSAL_MALFORMED);

    /* Inner lengths that run past the end, or leave no room for what follows. */
    n = make_body(body, NOW, 60, "x.test", "y.test", "");
    body[58] = 200;
    expect_open_fail(p, ring_old, forge(p, key, 1, 1, body, n), NOW, 0, SHS_REFUSAL_MALFORMED);
    body[58] = 6 + 1 + 6;
    expect_open_fail(p, ring_old, forge(p, key, 1, 1, body, n), NOW, 0, SHS_REFUSAL_MALFORMED);
    body[58] = 6 + 1 + 6 + 1;
    expect_open_fail(p, ring_old, forge(p, key, 1, 1, body, n), NOW, 0, SHS_REFUSAL_MALFORMED);
    body[58] = 6;
    body[65] = 7;
    expect_open_fail(p, ring_old, forge(p, key, 1, 1, body, n), NOW, 0, SHS_REFUSAL_MALFORMED);
    body[65] = 6;
    body[72] = 1;
    expect_open_fail(p, ring_old, forge(p, key, 1, 1, body, n), NOW, 0, SHS_REFUSAL_MALFORMED);

    /* Empty host, host with a space or NUL, bad nonce characters. */
    n = make_body(body, NOW, 60, "", "y.test", "nonce-padding-to-min");
    expect_open_fail(p, ring_old, forge(p, key, 1, 1, body, n), NOW, 0, SHS_REFUSAL_MALFORMED);
    n = make_body(body, NOW, 60, "x test", "y.test", "");
    expect_open_fail(p, ring_old, forge(p, key, 1, 1, body, n), NOW, 0, SHS_REFUSAL_MALFORMED);
    n = make_body(body, NOW, 60, "x.test", "y.test", "");
    body[60] = '\0';
    expect_open_fail(p, ring_old, forge(p, key, 1, 1, body, n), NOW, 0, SHS_REFUSAL_MALFORMED);
    n = make_body(body, NOW, 60, "x.test", "y.test", "a.b");
    expect_open_fail(p, ring_old, forge(p, key, 1, 1, body, n), NOW, 0, SHS_REFUSAL_MALFORMED);

    /* Version 2 under a valid key: refused before decryption. */
    n = make_body(body, NOW, 60, "x.test", "y.test", "");
    expect_open_fail(p, ring_old, forge(p, key, 2, 1, body, n), NOW, 0, SHS_REFUSAL_BAD_VERSION);
    /* Header says key 1 but encrypted under key 2's material (forged with another key). */
    expect_open_fail(p, ring_old, forge(p, shs_keyring_find(ring_new, 2), 1, 1, body, n), NOW, 0,
                     SHS_REFUSAL_BAD_AUTH);
}

/* ---------------------------------------------------------------- tampering */

static void test_every_bit_flip_rejected(void **state)
{
    apr_pool_t *p = *state;
    shs_token_t t = sample_token("st4te");
    const char *tok = seal_ok(p, ring_rot, &t);
    apr_size_t len, i;
    unsigned char *raw = decode_ok(p, tok, &len);
    unsigned char *copy = apr_palloc(p, len);
    int bit, counts[8] = { 0 };
    apr_pool_t *it;
    shs_keyring_t *ring13;
    shs_token_t *out = NULL;
    shs_refusal_e why = SHS_REFUSAL_MALFORMED;

    assert_int_equal(apr_pool_create(&it, p), APR_SUCCESS);
    for (i = 0; i < len; i++) {
        for (bit = 0; bit < 8; bit++) {
            memcpy(copy, raw, len);
            copy[i] ^= (unsigned char)(1u << bit);
            why = open_must_fail(it, ring_rot, encode_ok(it, copy, len));
            if (i == 0) {
                assert_int_equal(why, SHS_REFUSAL_BAD_VERSION);
            }
            else if (i == 1) {
                /* 2 ^ (1 << bit) is never 1 or 2. */
                assert_int_equal(why, SHS_REFUSAL_UNKNOWN_KEY);
            }
            else {
                assert_int_equal(why, SHS_REFUSAL_BAD_AUTH);
            }
            counts[why]++;
            apr_pool_clear(it);
        }
    }
    assert_int_equal(counts[SHS_REFUSAL_BAD_VERSION], 8);
    assert_int_equal(counts[SHS_REFUSAL_UNKNOWN_KEY], 8);
    assert_int_equal(counts[SHS_REFUSAL_BAD_AUTH], (int)(len - 2) * 8);

    /* Key id 1 under a ring holding keys 1 and 3: the flip 1 -> 3 lands on a real key and
     * fails authentication; every other flip names an unknown key. */
    ring13 = make_ring("3 " SECRET_NEW "\n1 " SECRET_OLD "\n");
    assert_non_null(ring13);
    t = sample_token(NULL);
    tok = seal_ok(p, ring_old, &t);
    raw = decode_ok(p, tok, &len);
    for (bit = 0; bit < 8; bit++) {
        raw[1] ^= (unsigned char)(1u << bit);
        expect_open_fail(p, ring13, encode_ok(p, raw, len), NOW, 60,
                         bit == 1 ? SHS_REFUSAL_BAD_AUTH : SHS_REFUSAL_UNKNOWN_KEY);
        raw[1] ^= (unsigned char)(1u << bit);
    }
    /* And the unmodified token still opens. */
    assert_int_equal(shs_token_open(p, ring13, encode_ok(p, raw, len), NOW, 60, &out, &why),
                     APR_SUCCESS);
    assert_int_equal(out->key_id, 1);
}

static void test_every_truncation_rejected(void **state)
{
    apr_pool_t *p = *state;
    shs_token_t t = sample_token("n");
    const char *tok = seal_ok(p, ring_old, &t);
    apr_size_t len, i, slen = strlen(tok);
    unsigned char *raw = decode_ok(p, tok, &len);
    apr_pool_t *it;

    assert_int_equal(apr_pool_create(&it, p), APR_SUCCESS);
    /* Every shorter decoded token, re-encoded. */
    for (i = 0; i < len; i++) {
        shs_refusal_e why = open_must_fail(it, ring_old, encode_ok(it, raw, i));
        assert_true(why == SHS_REFUSAL_MALFORMED || why == SHS_REFUSAL_BAD_AUTH);
        apr_pool_clear(it);
    }
    /* Every prefix of the text, and every suffix. */
    for (i = 0; i < slen; i++) {
        open_must_fail(it, ring_old, apr_pstrndup(it, tok, i));
        open_must_fail(it, ring_old, tok + i + 1);
        apr_pool_clear(it);
    }
}

static void test_appended_bytes_rejected(void **state)
{
    apr_pool_t *p = *state;
    shs_token_t t = sample_token(NULL);
    const char *tok = seal_ok(p, ring_old, &t);
    apr_size_t len, i;
    unsigned char *raw = decode_ok(p, tok, &len);
    unsigned char *longer = apr_pcalloc(p, len + 16);

    memcpy(longer, raw, len);
    for (i = 1; i <= 16; i++) {
        open_must_fail(p, ring_old, encode_ok(p, longer, len + i));
        longer[len + i - 1] = (unsigned char)(0x55 + i);
        open_must_fail(p, ring_old, encode_ok(p, longer, len + i));
    }
    /* Characters appended to the text; padding; whitespace. */
    open_must_fail(p, ring_old, apr_pstrcat(p, tok, "A", NULL));
    open_must_fail(p, ring_old, apr_pstrcat(p, tok, "AA", NULL));
    open_must_fail(p, ring_old, apr_pstrcat(p, tok, "AAAA", NULL));
    open_must_fail(p, ring_old, apr_pstrcat(p, tok, "=", NULL));
    open_must_fail(p, ring_old, apr_pstrcat(p, tok, " ", NULL));
    open_must_fail(p, ring_old, apr_pstrcat(p, " ", tok, NULL));
    open_must_fail(p, ring_old, apr_pstrcat(p, tok, "\n", NULL));
}

static void test_non_canonical_encoding_rejected(void **state)
{
    apr_pool_t *p = *state;
    shs_token_t t = sample_token(NULL);
    const char *tok = seal_ok(p, ring_old, &t);
    apr_size_t slen = strlen(tok);
    char *mod = apr_pstrdup(p, tok);

    /* 113 bytes: the last of 151 characters carries 2 unused bits.  Setting one gives a string
     * that a lax decoder would read as the same token. */
    assert_int_equal(slen % 4, 3);
    mod[slen - 1] = tok[slen - 1] == 'A' ? 'B' : (char)(tok[slen - 1] ^ 1);
    expect_open_fail(p, ring_old, mod, NOW, 60, SHS_REFUSAL_MALFORMED);
    /* Standard-alphabet characters are not base64url. */
    mod = apr_pstrdup(p, tok);
    mod[10] = '+';
    expect_open_fail(p, ring_old, mod, NOW, 60, SHS_REFUSAL_MALFORMED);
    mod[10] = '/';
    expect_open_fail(p, ring_old, mod, NOW, 60, SHS_REFUSAL_MALFORMED);
}

static void test_garbage_rejected(void **state)
{
    apr_pool_t *p = *state;
    char *big;
    apr_size_t i;
    apr_pool_t *it;
    shs_token_t *t = NULL;
    shs_refusal_e why = SHS_REFUSAL_NONE;
    unsigned char zeros[120];

    assert_int_equal(shs_token_open(p, ring_old, NULL, NOW, 0, &t, &why), APR_EGENERAL);
    assert_int_equal(why, SHS_REFUSAL_MALFORMED);
    assert_null(t);
    expect_open_fail(p, ring_old, "", NOW, 0, SHS_REFUSAL_MALFORMED);
    expect_open_fail(p, ring_old, "A", NOW, 0, SHS_REFUSAL_MALFORMED);
    expect_open_fail(p, ring_old, "AAAA", NOW, 0, SHS_REFUSAL_MALFORMED);
    expect_open_fail(p, ring_old, "!!!!!!!!", NOW, 0, SHS_REFUSAL_MALFORMED);
    expect_open_fail(p, ring_old, "hello world", NOW, 0, SHS_REFUSAL_MALFORMED);
    expect_open_fail(p, ring_old, "\xff\xfe\x80", NOW, 0, SHS_REFUSAL_MALFORMED);
    /* No key ring at all: a well-sized version 1 token names an unknown key. */
    memset(zeros, 0, sizeof(zeros));
    zeros[0] = 1;
    zeros[1] = 1;
    expect_open_fail(p, NULL, encode_ok(p, zeros, sizeof(zeros)), NOW, 0, SHS_REFUSAL_UNKNOWN_KEY);
    expect_open_fail(p, ring_old, encode_ok(p, zeros, sizeof(zeros)), NOW, 0, SHS_REFUSAL_BAD_AUTH);

    /* Oversized: exactly the limit (decodes to more than any token), one over, and far over. */
    big = apr_palloc(p, 100001);
    memset(big, 'A', 100000);
    big[100000] = '\0';
    expect_open_fail(p, ring_old, big + 100000 - SHS_TOKEN_MAX_LEN, NOW, 0, SHS_REFUSAL_MALFORMED);
    expect_open_fail(p, ring_old, big + 100000 - SHS_TOKEN_MAX_LEN - 1, NOW, 0,
                     SHS_REFUSAL_MALFORMED);
    expect_open_fail(p, ring_old, big, NOW, 0, SHS_REFUSAL_MALFORMED);

    /* A valid token followed by more characters, past the limit: malformed. */
    {
        shs_token_t st = sample_token(NULL);
        const char *tok = seal_ok(p, ring_old, &st);
        memcpy(big, tok, strlen(tok));
        expect_open_fail(p, ring_old, big, NOW, 0, SHS_REFUSAL_MALFORMED);
    }

    /* Random base64url strings and random bytes of every length up to the limit: never OK.
     * The first two characters "AQ" (version 1, key 1) make the random ones reach the GCM
     * check. */
    assert_int_equal(apr_pool_create(&it, p), APR_SUCCESS);
    for (i = 0; i < 3000; i++) {
        unsigned char rnd[SHS_TOKEN_MAX_LEN + 8];
        apr_size_t n = i % (SHS_TOKEN_MAX_LEN + 8), j;
        char *s = apr_palloc(it, n + 1);
        static const char alpha[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

        assert_int_equal(RAND_bytes(rnd, sizeof(rnd)), 1);
        for (j = 0; j < n; j++) {
            s[j] = (i & 1) ? (char)(rnd[j] ? rnd[j] : 1) : alpha[rnd[j] & 63];
        }
        if (n >= 2 && !(i & 1)) {
            s[0] = 'A';
            s[1] = 'Q';
        }
        s[n] = '\0';
        open_must_fail(it, ring_old, s);
        apr_pool_clear(it);
    }
}

/* ---------------------------------------------------------------- time window */

static void test_time_window(void **state)
{
    apr_pool_t *p = *state;
    shs_token_t in = sample_token(NULL), *out;
    shs_refusal_e why;
    const char *tok = seal_ok(p, ring_old, &in);
    const apr_int64_t skew = 30;

    /* Inside the window, and at its skew-widened edges. */
    assert_int_equal(shs_token_open(p, ring_old, tok, NOW, skew, &out, &why), APR_SUCCESS);
    assert_int_equal(shs_token_open(p, ring_old, tok, NOW + 120, 0, &out, &why), APR_SUCCESS);
    assert_int_equal(shs_token_open(p, ring_old, tok, NOW + 120 + skew, skew, &out, &why),
                     APR_SUCCESS);
    assert_int_equal(shs_token_open(p, ring_old, tok, NOW - skew, skew, &out, &why), APR_SUCCESS);

    /* Expired: now > expires + skew. */
    expect_open_fail(p, ring_old, tok, NOW + 121, 0, SHS_REFUSAL_EXPIRED);
    expect_open_fail(p, ring_old, tok, NOW + 120 + skew + 1, skew, SHS_REFUSAL_EXPIRED);
    expect_open_fail(p, ring_old, tok, APR_INT64_MAX, skew, SHS_REFUSAL_EXPIRED);
    /* Not yet valid: issued > now + skew. */
    expect_open_fail(p, ring_old, tok, NOW - 1, 0, SHS_REFUSAL_NOT_YET_VALID);
    expect_open_fail(p, ring_old, tok, NOW - skew - 1, skew, SHS_REFUSAL_NOT_YET_VALID);
    expect_open_fail(p, ring_old, tok, APR_INT64_MIN, skew, SHS_REFUSAL_NOT_YET_VALID);
    /* A negative skew counts as none; a huge one must not overflow. */
    expect_open_fail(p, ring_old, tok, NOW + 121, -1000, SHS_REFUSAL_EXPIRED);
    assert_int_equal(shs_token_open(p, ring_old, tok, APR_INT64_MAX, APR_INT64_MAX, &out, &why),
                     APR_SUCCESS);
    /* now + skew = -1 here: still before issued. */
    expect_open_fail(p, ring_old, tok, APR_INT64_MIN, APR_INT64_MAX, SHS_REFUSAL_NOT_YET_VALID);
}

/* ---------------------------------------------------------------- keys */

static void test_unknown_key(void **state)
{
    apr_pool_t *p = *state;
    shs_token_t t = sample_token(NULL);
    const char *tok = seal_ok(p, ring_new, &t);

    assert_int_equal(t.key_id, 2);
    expect_open_fail(p, ring_old, tok, NOW, 0, SHS_REFUSAL_UNKNOWN_KEY);
    /* Same id, different secret: the tag does not verify. */
    t = sample_token(NULL);
    tok = seal_ok(p, ring_old, &t);
    expect_open_fail(p, ring_wrong, tok, NOW, 0, SHS_REFUSAL_BAD_AUTH);
}

static void test_rotation(void **state)
{
    apr_pool_t *p = *state;
    shs_token_t t = sample_token("r"), *out = NULL;
    shs_refusal_e why;
    const char *tok_new, *tok_old;

    /* The rotated ring seals with its first key, 2. */
    tok_new = seal_ok(p, ring_rot, &t);
    assert_int_equal(t.key_id, 2);
    assert_int_equal(shs_token_open(p, ring_rot, tok_new, NOW, 0, &out, &why), APR_SUCCESS);
    assert_int_equal(out->key_id, 2);
    assert_int_equal(shs_token_open(p, ring_new, tok_new, NOW, 0, &out, &why), APR_SUCCESS);
    assert_int_equal(out->key_id, 2);

    /* A token from before the rotation (current key 1) still opens under the rotated ring. */
    t = sample_token("r");
    tok_old = seal_ok(p, ring_old, &t);
    assert_int_equal(t.key_id, 1);
    out = NULL;
    assert_int_equal(shs_token_open(p, ring_rot, tok_old, NOW, 0, &out, &why), APR_SUCCESS);
    assert_int_equal(why, SHS_REFUSAL_NONE);
    assert_int_equal(out->key_id, 1);
    assert_memory_equal(out->sid, t.sid, SHS_SID_BYTES);
    assert_string_equal(out->nonce, "r");

    /* Once key 1 is removed, the old token is refused as unknown-key. */
    expect_open_fail(p, ring_new, tok_old, NOW, 0, SHS_REFUSAL_UNKNOWN_KEY);
}

static void test_tids_and_tokens_differ(void **state)
{
    apr_pool_t *p = *state;
    enum { N = 64 };
    unsigned char tids[N][16];
    const char *toks[N];
    int i, j;

    for (i = 0; i < N; i++) {
        shs_token_t t = sample_token(NULL);
        memset(t.tid, 0, sizeof(t.tid));
        toks[i] = seal_ok(p, ring_old, &t);
        memcpy(tids[i], t.tid, 16);
    }
    for (i = 0; i < N; i++) {
        for (j = 0; j < i; j++) {
            assert_memory_not_equal(tids[i], tids[j], 16);
            assert_string_not_equal(toks[i], toks[j]);
        }
    }
}

/* ---------------------------------------------------------------- seal input checks */

/* Seal a sample token with the given fields changed, expecting APR_EINVAL. */
static void seal_einval(apr_pool_t *p, const shs_keyring_t *kr, const char *src, const char *dst,
                        const char *nonce, apr_int64_t issued, apr_int64_t expires)
{
    shs_token_t t = sample_token(nonce);
    const char *out = "untouched";

    t.src = src;
    t.dst = dst;
    t.issued = issued;
    t.expires = expires;
    assert_int_equal(shs_token_seal(p, kr, &t, &out), APR_EINVAL);
    assert_string_equal(out, "untouched");
}

static void test_seal_validation(void **state)
{
    apr_pool_t *p = *state;
    const char *a = "a.test", *b = "b.test";
    const apr_int64_t i0 = NOW, e0 = NOW + 60;
    shs_token_t t;
    char *h254 = apr_palloc(p, 255), *n65 = apr_palloc(p, 66);
    const char *out;

    memset(h254, 'a', 254);
    h254[254] = '\0';
    memset(n65, 'n', 65);
    n65[65] = '\0';

    /* No key ring; hosts missing, empty, too long, with spaces or non-ASCII. */
    seal_einval(p, NULL, a, b, NULL, i0, e0);
    seal_einval(p, ring_old, NULL, b, NULL, i0, e0);
    seal_einval(p, ring_old, a, NULL, NULL, i0, e0);
    seal_einval(p, ring_old, "", b, NULL, i0, e0);
    seal_einval(p, ring_old, a, "", NULL, i0, e0);
    seal_einval(p, ring_old, "a test", b, NULL, i0, e0);
    seal_einval(p, ring_old, a, "b.test\t", NULL, i0, e0);
    seal_einval(p, ring_old, a, "b.t\x7f", NULL, i0, e0);
    seal_einval(p, ring_old, a, "b.t\xc3\xa9", NULL, i0, e0);
    seal_einval(p, ring_old, h254, b, NULL, i0, e0);
    seal_einval(p, ring_old, a, h254, NULL, i0, e0);
    /* Nonce too long or outside [A-Za-z0-9_-]. */
    seal_einval(p, ring_old, a, b, n65, i0, e0);
    seal_einval(p, ring_old, a, b, "a.b", i0, e0);
    seal_einval(p, ring_old, a, b, "a b", i0, e0);
    /* Times. */
    seal_einval(p, ring_old, a, b, NULL, i0, i0);
    seal_einval(p, ring_old, a, b, NULL, i0, i0 - 1);
    seal_einval(p, ring_old, a, b, NULL, i0, i0 + 3601);
    seal_einval(p, ring_old, a, b, NULL, -1, 10);
    seal_einval(p, ring_old, a, b, NULL, APR_INT64_MAX - 1, APR_INT64_MAX);
    seal_einval(p, ring_old, a, b, NULL, i0, APR_INT64_MIN);
    seal_einval(p, ring_old, a, b, NULL, APR_INT64_MIN, i0);
    /* Missing arguments. */
    t = sample_token(NULL);
    assert_int_equal(shs_token_seal(p, ring_old, &t, NULL), APR_EINVAL);
    assert_int_equal(shs_token_seal(p, ring_old, NULL, &out), APR_EINVAL);
    assert_int_equal(shs_token_seal(NULL, ring_old, &t, &out), APR_EINVAL);

    /* The limits themselves are fine. */
    h254[253] = '\0';
    n65[64] = '\0';
    t = sample_token(n65);
    t.src = h254;
    t.expires = t.issued + 3600;
    seal_ok(p, ring_old, &t);
    t = sample_token(NULL);
    t.src = "!~";
    t.issued = 0;
    t.expires = 1;
    seal_ok(p, ring_old, &t);
}

/* ---------------------------------------------------------------- misc */

/* The reasons shs_token_open() gives have the words of the refusal logs and counters. */
static void test_reason_words(void **state)
{
    (void)state;
    assert_string_equal(shs_refusal_name(SHS_REFUSAL_NONE), "none");
    assert_string_equal(shs_refusal_name(SHS_REFUSAL_MALFORMED), "malformed");
    assert_string_equal(shs_refusal_name(SHS_REFUSAL_BAD_VERSION), "bad-version");
    assert_string_equal(shs_refusal_name(SHS_REFUSAL_UNKNOWN_KEY), "unknown-key");
    assert_string_equal(shs_refusal_name(SHS_REFUSAL_BAD_AUTH), "bad-auth");
    assert_string_equal(shs_refusal_name(SHS_REFUSAL_EXPIRED), "expired");
    assert_string_equal(shs_refusal_name(SHS_REFUSAL_NOT_YET_VALID), "not-yet-valid");
    assert_string_equal(shs_refusal_name(SHS_REFUSAL_BAD_LIFETIME), "bad-lifetime");
    assert_string_equal(shs_refusal_name((shs_refusal_e)99), "unknown");
}

static void test_b64url(void **state)
{
    apr_pool_t *p = *state;
    /* RFC 4648 section 10 vectors, without padding, plus the two url characters. */
    static const struct {
        const char *raw;
        const char *enc;
    } v[] = {
        { "", "" },
        { "f", "Zg" },
        { "fo", "Zm8" },
        { "foo", "Zm9v" },
        { "foob", "Zm9vYg" },
        { "fooba", "Zm9vYmE" },
        { "foobar", "Zm9vYmFy" },
        { "\xfb\xff", "-_8" },
        { "\xff\xff\xff", "____" },
        { "\xf8", "-A" },
    };
    size_t i;
    const char *s;
    unsigned char *raw, all[256];
    apr_size_t n;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        s = encode_ok(p, (const unsigned char *)v[i].raw, strlen(v[i].raw));
        assert_string_equal(s, v[i].enc);
        raw = decode_ok(p, v[i].enc, &n);
        assert_int_equal(n, strlen(v[i].raw));
        assert_memory_equal(raw, v[i].raw, n);
    }
    for (i = 0; i < 256; i++) {
        all[i] = (unsigned char)i;
    }
    for (i = 0; i <= 256; i++) {
        s = encode_ok(p, all, i);
        assert_int_equal(strlen(s), (i * 4 + 2) / 3);
        raw = decode_ok(p, s, &n);
        assert_int_equal(n, i);
        assert_memory_equal(raw, all, i);
    }

    /* Rejected: padding, standard alphabet, spaces, impossible length, non-canonical bits,
     * a NUL inside the given length. */
    assert_int_equal(shs_b64url_decode(p, "Zg==", 4, &raw, &n), APR_EINVAL);
    assert_int_equal(shs_b64url_decode(p, "Zm8=", 4, &raw, &n), APR_EINVAL);
    assert_int_equal(shs_b64url_decode(p, "+/8", 3, &raw, &n), APR_EINVAL);
    assert_int_equal(shs_b64url_decode(p, "Zm 9", 4, &raw, &n), APR_EINVAL);
    assert_int_equal(shs_b64url_decode(p, "Zm9vY", 5, &raw, &n), APR_EINVAL);
    assert_int_equal(shs_b64url_decode(p, "Z", 1, &raw, &n), APR_EINVAL);
    assert_int_equal(shs_b64url_decode(p, "Zh", 2, &raw, &n), APR_EINVAL);
    assert_int_equal(shs_b64url_decode(p, "Zm9", 3, &raw, &n), APR_EINVAL);
    assert_int_equal(shs_b64url_decode(p, "Zm\0v", 4, &raw, &n), APR_EINVAL);
    assert_int_equal(shs_b64url_decode(p, NULL, 4, &raw, &n), APR_EINVAL);
    assert_int_equal(shs_b64url_encode(p, NULL, 3, &s), APR_EINVAL);
    /* Decoding uses only inlen characters. */
    assert_int_equal(shs_b64url_decode(p, "Zm9vYmFy!!", 8, &raw, &n), APR_SUCCESS);
    assert_int_equal(n, 6);
    assert_memory_equal(raw, "foobar", 6);
    assert_int_equal(shs_b64url_decode(p, "", 0, &raw, &n), APR_SUCCESS);
    assert_int_equal(n, 0);
    assert_non_null(raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_no_nonce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_nonce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_length_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wire_format_forged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_bit_flip_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_truncation_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appended_bytes_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_canonical_encoding_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tids_and_tokens_differ, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seal_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reason_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_b64url, setup, teardown),
    };

    return cmocka_run_group_tests_name("shs_token", tests, group_setup, group_teardown);
}
