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

/* Unit tests for shs_keys.c: key file parsing, loading and key derivation. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <openssl/evp.h>

#include "shs_keys.h"

/* Bytes 0x00..0x1f, standard base64. */
#define SECRET_SEQ_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

/* HKDF-SHA256(key = 00..1f, salt "mod_sharedsession", info ...), 32 bytes, computed once with
 * `openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:000102...1f
 *  -kdfopt salt:mod_sharedsession -kdfopt info:token-aead-v1 HKDF` (and info:mac-v1,
 * info:store-aead-v1), and cross-checked with a hand-written HMAC-SHA256 HKDF in Python and
 * with the HKDF of the Python `cryptography` package. */
static const unsigned char hkdf_aead_vector[32] = {
    0xaf, 0xd9, 0x1c, 0xb2, 0xda, 0x96, 0x49, 0xed, 0x1a, 0x72, 0x43, 0xd1, 0x5d, 0xe9, 0x50, 0xfd,
    0x3b, 0x68, 0x06, 0xef, 0xf0, 0xdb, 0xea, 0x31, 0xe9, 0xad, 0x89, 0xc5, 0x8e, 0x0c, 0xdb, 0x80
};
static const unsigned char hkdf_mac_vector[32] = { 0x37, 0xb1, 0x32, 0x10, 0x75, 0xf3, 0x0f, 0xa1,
                                                   0x53, 0x13, 0xd4, 0x25, 0x4d, 0x8d, 0xf3, 0xa7,
                                                   0x4a, 0x27, 0x06, 0x66, 0x0a, 0xd4, 0x31, 0x1c,
                                                   0x3c, 0x8c, 0x29, 0xa3, 0x59, 0xbe, 0xa5, 0x7e };
static const unsigned char hkdf_store_vector[32] = {
    0x59, 0x14, 0x47, 0xfb, 0x91, 0xb1, 0x61, 0xa5, 0x7d, 0x4a, 0xef, 0x57, 0x19, 0x3f, 0x8c, 0x42,
    0xdb, 0xb2, 0xc4, 0xa1, 0xda, 0x70, 0xde, 0x1b, 0xa4, 0x10, 0x20, 0xd4, 0x74, 0x55, 0x30, 0x6d
};

static apr_pool_t *root;

#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        const char *hay_ = (hay);                                                                  \
        if (!hay_ || !strstr(hay_, (needle))) {                                                    \
            fail_msg("expected \"%s\" in \"%s\"", (needle), hay_ ? hay_ : "(null)");               \
        }                                                                                          \
    } while (0)

static int group_setup(void **state)
{
    (void)state;
    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&root, NULL) != APR_SUCCESS) {
        return -1;
    }
    return 0;
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

/* Standard base64 (with padding) of len bytes, byte i = seed + i * 7. */
static const char *secret_b64(apr_pool_t *p, unsigned char seed, int len)
{
    unsigned char raw[2048];
    char *out = apr_palloc(p, (size_t)(len / 3 + 1) * 4 + 1);
    int i;

    for (i = 0; i < len; i++) {
        raw[i] = (unsigned char)(seed + i * 7);
    }
    EVP_EncodeBlock((unsigned char *)out, raw, len);
    return out;
}

/* Convert standard base64 to base64url and drop the padding. */
static const char *to_b64url(apr_pool_t *p, const char *b64)
{
    char *s = apr_pstrdup(p, b64);
    char *c;

    for (c = s; *c; c++) {
        if (*c == '+') {
            *c = '-';
        }
        else if (*c == '/') {
            *c = '_';
        }
        else if (*c == '=') {
            *c = '\0';
            break;
        }
    }
    return s;
}

static apr_status_t parse_str(apr_pool_t *p, const char *text, shs_keyring_t **kr, const char **err)
{
    *kr = NULL;
    *err = NULL;
    return shs_keyring_parse(p, text, strlen(text), kr, err);
}

/* Parse text expecting failure; check the message holds both needles. */
static void expect_parse_error(apr_pool_t *p, const char *text, const char *n1, const char *n2)
{
    shs_keyring_t *kr;
    const char *err;
    apr_status_t rv = parse_str(p, text, &kr, &err);

    assert_int_equal(rv, APR_EINVAL);
    assert_null(kr);
    assert_non_null(err);
    assert_contains(err, n1);
    if (n2) {
        assert_contains(err, n2);
    }
}

/* ---------------------------------------------------------------- parse: valid */

static void test_parse_valid_mixed_file(void **state)
{
    apr_pool_t *p = *state;
    const char *s1 = secret_b64(p, 1, 32), *s2 = secret_b64(p, 2, 48), *s3 = secret_b64(p, 3, 33);
    shs_keyring_t *kr, *k1, *k2, *k3;
    const char *err, *text;

    text = apr_psprintf(p,
                        "# mod_sharedsession keys\r\n"
                        "\r\n"
                        "   \t  \n"
                        "  17\t%s   # current key\r\n"
                        "\t# an indented comment\n"
                        "5 %s\t\t\r\n"
                        "0   %s", /* last line: no newline, base64url without padding */
                        s1, s2, to_b64url(p, s3));
    assert_int_equal(parse_str(p, text, &kr, &err), APR_SUCCESS);
    assert_null(err);
    assert_non_null(kr);
    assert_int_equal(kr->nkeys, 3);
    assert_int_equal(kr->keys[0].id, 17);
    assert_int_equal(kr->keys[1].id, 5);
    assert_int_equal(kr->keys[2].id, 0);

    /* First key is current; find by id. */
    assert_ptr_equal(shs_keyring_current(kr), &kr->keys[0]);
    assert_ptr_equal(shs_keyring_find(kr, 17), &kr->keys[0]);
    assert_ptr_equal(shs_keyring_find(kr, 5), &kr->keys[1]);
    assert_ptr_equal(shs_keyring_find(kr, 0), &kr->keys[2]);
    assert_null(shs_keyring_find(kr, 1));
    assert_null(shs_keyring_find(kr, 255));
    assert_null(shs_keyring_find(kr, 1000));

    /* The same secrets alone, one per ring, derive the same keys. */
    assert_int_equal(parse_str(p, apr_psprintf(p, "17 %s", s1), &k1, &err), APR_SUCCESS);
    assert_int_equal(parse_str(p, apr_psprintf(p, "5 %s\n", s2), &k2, &err), APR_SUCCESS);
    assert_int_equal(parse_str(p, apr_psprintf(p, "0 %s\n", s3), &k3, &err), APR_SUCCESS);
    assert_memory_equal(k1->keys[0].aead, kr->keys[0].aead, 32);
    assert_memory_equal(k2->keys[0].aead, kr->keys[1].aead, 32);
    assert_memory_equal(k3->keys[0].aead, kr->keys[2].aead, 32);
    assert_memory_equal(k3->keys[0].mac, kr->keys[2].mac, 32);
    assert_memory_equal(k3->keys[0].store, kr->keys[2].store, 32);
}

static void test_parse_not_nul_terminated(void **state)
{
    apr_pool_t *p = *state;
    const char *line = apr_psprintf(p, "3 %s", SECRET_SEQ_B64);
    apr_size_t n = strlen(line);
    char *buf = apr_palloc(p, n + 8);
    shs_keyring_t *kr = NULL;
    const char *err = NULL;

    /* Text followed by junk that must not be looked at. */
    memcpy(buf, line, n);
    memcpy(buf + n, " extra!", 8);
    assert_int_equal(shs_keyring_parse(p, buf, n, &kr, &err), APR_SUCCESS);
    assert_int_equal(kr->nkeys, 1);
    assert_int_equal(kr->keys[0].id, 3);
    /* Same buffer, length including the junk: an extra field. */
    assert_int_equal(shs_keyring_parse(p, buf, n + 7, &kr, &err), APR_EINVAL);
    assert_contains(err, "extra field");
}

static void test_parse_comment_after_secret(void **state)
{
    apr_pool_t *p = *state;
    shs_keyring_t *kr;
    const char *err;

    assert_int_equal(parse_str(p, "1 " SECRET_SEQ_B64 " #comment with spaces\n", &kr, &err),
                     APR_SUCCESS);
    assert_int_equal(kr->nkeys, 1);
    assert_int_equal(parse_str(p, "1 " SECRET_SEQ_B64 "\t#\n", &kr, &err), APR_SUCCESS);
    /* '#' glued to the secret is not a comment. */
    expect_parse_error(p, "1 " SECRET_SEQ_B64 "#c\n", "line 1", "not valid base64");
    /* '#' glued to the id is not a comment either. */
    expect_parse_error(p, "1#c " SECRET_SEQ_B64 "\n", "line 1", "not a decimal");
}

static void test_parse_base64_variants(void **state)
{
    apr_pool_t *p = *state;
    /* Secret bytes chosen so that the encoding contains '+' and '/'. */
    const char *std = "+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/8=";
    const char *url = "-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_8";
    shs_keyring_t *a, *b, *c;
    const char *err;

    assert_int_equal(parse_str(p, apr_psprintf(p, "1 %s", std), &a, &err), APR_SUCCESS);
    assert_int_equal(parse_str(p, apr_psprintf(p, "1 %s", url), &b, &err), APR_SUCCESS);
    assert_int_equal(parse_str(p, apr_psprintf(p, "1 %s=", url), &c, &err), APR_SUCCESS);
    assert_memory_equal(a->keys[0].aead, b->keys[0].aead, 32);
    assert_memory_equal(a->keys[0].aead, c->keys[0].aead, 32);

    /* Mixed alphabets, bad padding, impossible length. */
    expect_parse_error(p, "1 +/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/-_\n", "line 1",
                       "mixes");
    expect_parse_error(p, "1 " SECRET_SEQ_B64 "=\n", "line 1", "padding");
    expect_parse_error(p, "1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==\n", "line 1", "padding");
    expect_parse_error(p, "1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx=wdHh8\n", "line 1",
                       "not valid base64");
    expect_parse_error(p, "1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8AA\n", "line 1", "length");
}

/* ---------------------------------------------------------------- derivation */

static void test_derivation_known_vector(void **state)
{
    apr_pool_t *p = *state;
    shs_keyring_t *kr;
    const char *err;

    assert_int_equal(parse_str(p, "42 " SECRET_SEQ_B64 "\n", &kr, &err), APR_SUCCESS);
    assert_int_equal(kr->keys[0].id, 42);
    assert_memory_equal(kr->keys[0].aead, hkdf_aead_vector, 32);
    assert_memory_equal(kr->keys[0].mac, hkdf_mac_vector, 32);
    assert_memory_equal(kr->keys[0].store, hkdf_store_vector, 32);
}

static void test_derivation_deterministic_and_distinct(void **state)
{
    apr_pool_t *p = *state;
    shs_keyring_t *a, *b;
    const char *err;
    int i, j;
    const char *text = "", *text2;

    for (i = 0; i < 8; i++) {
        text = apr_psprintf(p, "%s%d %s\n", text, i * 30, secret_b64(p, (unsigned char)i, 32));
    }
    assert_int_equal(parse_str(p, text, &a, &err), APR_SUCCESS);
    text2 = apr_pstrdup(p, text);
    assert_int_equal(parse_str(p, text2, &b, &err), APR_SUCCESS);
    assert_int_equal(a->nkeys, 8);
    for (i = 0; i < 8; i++) {
        /* Same secret -> same keys, in another ring from another parse. */
        assert_int_equal(a->keys[i].id, (unsigned int)i * 30);
        assert_memory_equal(a->keys[i].aead, b->keys[i].aead, 32);
        assert_memory_equal(a->keys[i].mac, b->keys[i].mac, 32);
        assert_memory_equal(a->keys[i].store, b->keys[i].store, 32);
        /* The three derived keys of one secret differ from each other. */
        assert_memory_not_equal(a->keys[i].aead, a->keys[i].mac, 32);
        assert_memory_not_equal(a->keys[i].store, a->keys[i].aead, 32);
        assert_memory_not_equal(a->keys[i].store, a->keys[i].mac, 32);
        for (j = 0; j < i; j++) {
            assert_memory_not_equal(a->keys[i].aead, a->keys[j].aead, 32);
            assert_memory_not_equal(a->keys[i].mac, a->keys[j].mac, 32);
            assert_memory_not_equal(a->keys[i].store, a->keys[j].store, 32);
        }
    }
}

/* A cleanup registered before the ring runs after the ring's own cleanup (LIFO), while the
 * memory is still there: by then the keys must be zero. */
static shs_key_t *wipe_check_keys;
static int wipe_check_ok = -1;

static apr_status_t wipe_check(void *data)
{
    static const unsigned char zero[sizeof(shs_key_t)];
    int i;

    (void)data;
    wipe_check_ok = 1;
    for (i = 0; i < SHS_KEYS_MAX; i++) {
        if (memcmp(&wipe_check_keys[i], zero, sizeof(zero)) != 0) {
            wipe_check_ok = 0;
        }
    }
    return APR_SUCCESS;
}

static void test_keys_wiped_on_pool_cleanup(void **state)
{
    apr_pool_t *p = *state, *sub;
    shs_keyring_t *kr;
    const char *err;

    assert_int_equal(apr_pool_create(&sub, p), APR_SUCCESS);
    apr_pool_cleanup_register(sub, NULL, wipe_check, apr_pool_cleanup_null);
    assert_int_equal(parse_str(sub, "1 " SECRET_SEQ_B64 "\n2 " SECRET_SEQ_B64 "\n", &kr, &err),
                     APR_SUCCESS);
    assert_memory_equal(kr->keys[1].aead, hkdf_aead_vector, 32);
    assert_memory_equal(kr->keys[1].store, hkdf_store_vector, 32);
    wipe_check_keys = kr->keys;
    wipe_check_ok = -1;
    apr_pool_destroy(sub);
    assert_int_equal(wipe_check_ok, 1);
}

/* ---------------------------------------------------------------- parse: errors */

static void test_error_no_key(void **state)
{
    apr_pool_t *p = *state;
    shs_keyring_t *kr = NULL;
    const char *err = NULL;

    expect_parse_error(p, "", "no key", NULL);
    expect_parse_error(p, "# only a comment\n\n   \n", "no key", "3 line");
    assert_int_equal(shs_keyring_parse(p, NULL, 0, &kr, &err), APR_EINVAL);
    assert_contains(err, "no key");
}

static void test_error_duplicate_id(void **state)
{
    apr_pool_t *p = *state;
    const char *text =
        apr_psprintf(p, "7 %s\n# c\n7 %s\n", secret_b64(p, 1, 32), secret_b64(p, 2, 32));

    expect_parse_error(p, text, "line 3", "duplicate key id 7");
    expect_parse_error(p, text, "line 1", NULL);
}

static void test_error_bad_id(void **state)
{
    apr_pool_t *p = *state;

    expect_parse_error(p, "x1 " SECRET_SEQ_B64, "line 1", "not a decimal");
    expect_parse_error(p, "\n\n-1 " SECRET_SEQ_B64, "line 3", "not a decimal");
    expect_parse_error(p, "+1 " SECRET_SEQ_B64, "line 1", "not a decimal");
    expect_parse_error(p, "0x10 " SECRET_SEQ_B64, "line 1", "not a decimal");
    expect_parse_error(p, "1.5 " SECRET_SEQ_B64, "line 1", "not a decimal");
    expect_parse_error(p, "256 " SECRET_SEQ_B64, "line 1", "out of range");
    expect_parse_error(p, "99999999999999999999999 " SECRET_SEQ_B64, "line 1", "out of range");
    /* The secret alone, without an id: must not be echoed back. */
    expect_parse_error(p, SECRET_SEQ_B64 "\n", "line 1", "not a decimal");
    {
        shs_keyring_t *kr;
        const char *err;
        parse_str(p, SECRET_SEQ_B64 "\n", &kr, &err);
        assert_null(strstr(err, "AAECAwQF"));
    }
}

static void test_error_bad_base64(void **state)
{
    apr_pool_t *p = *state;
    const char *text = apr_psprintf(p, "1 %s\n2 %s\n3 %s!\n", secret_b64(p, 1, 32),
                                    secret_b64(p, 2, 32), to_b64url(p, secret_b64(p, 3, 40)));

    expect_parse_error(p, text, "line 3", "not valid base64");
    expect_parse_error(p, "1 AAEC.wQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "line 1",
                       "not valid base64");
}

static void test_error_secret_too_short(void **state)
{
    apr_pool_t *p = *state;
    const char *text =
        apr_psprintf(p, "1 %s\n\n9 %s\n", secret_b64(p, 1, 32), secret_b64(p, 2, 31));

    expect_parse_error(p, text, "line 3", "31 bytes");
    expect_parse_error(p, text, "32", "too short");
    expect_parse_error(p, apr_psprintf(p, "1 %s", secret_b64(p, 2, 16)), "16 bytes", "at least 32");
}

static void test_error_secret_too_long(void **state)
{
    apr_pool_t *p = *state;
    shs_keyring_t *kr;
    const char *err;

    assert_int_equal(
        parse_str(p, apr_psprintf(p, "1 %s", secret_b64(p, 1, SHS_KEY_MAX_BYTES)), &kr, &err),
        APR_SUCCESS);
    expect_parse_error(p, apr_psprintf(p, "1 %s", secret_b64(p, 1, SHS_KEY_MAX_BYTES + 1)),
                       "line 1", "too long");
}

static void test_error_missing_secret_and_extra_fields(void **state)
{
    apr_pool_t *p = *state;

    expect_parse_error(p, "1\n", "line 1", "no secret");
    expect_parse_error(p, "1   # comment\n", "line 1", "no secret");
    expect_parse_error(p, "# c\n1 " SECRET_SEQ_B64 " " SECRET_SEQ_B64 "\n", "line 2",
                       "extra field");
    expect_parse_error(p, "1 " SECRET_SEQ_B64 " x #comment\n", "line 1", "extra field");
}

static void test_error_too_many_keys(void **state)
{
    apr_pool_t *p = *state;
    const char *text = "";
    shs_keyring_t *kr;
    const char *err;
    int i;

    for (i = 0; i < SHS_KEYS_MAX; i++) {
        text = apr_psprintf(p, "%s%d %s\n", text, i, SECRET_SEQ_B64);
    }
    assert_int_equal(parse_str(p, text, &kr, &err), APR_SUCCESS);
    assert_int_equal(kr->nkeys, SHS_KEYS_MAX);
    assert_int_equal(shs_keyring_current(kr)->id, 0);
    assert_int_equal(shs_keyring_find(kr, 63)->id, 63);

    text = apr_psprintf(p, "%s%d %s\n", text, 200, SECRET_SEQ_B64);
    expect_parse_error(p, text, "line 65", "too many keys");
}

static void test_error_nul_byte(void **state)
{
    apr_pool_t *p = *state;
    char text[] = "# ok\n1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n# x\0y\n";
    char text2[] = "1 AAECAwQFBgcICQoLDA0O\0ODxAREhMUFRYXGBkaGxwdHh8=\n";
    shs_keyring_t *kr = NULL;
    const char *err = NULL;

    /* A NUL even in a comment line is refused. */
    assert_int_equal(shs_keyring_parse(p, text, sizeof(text) - 1, &kr, &err), APR_EINVAL);
    assert_null(kr);
    assert_contains(err, "line 3");
    assert_contains(err, "NUL");
    assert_int_equal(shs_keyring_parse(p, text2, sizeof(text2) - 1, &kr, &err), APR_EINVAL);
    assert_contains(err, "line 1");
    assert_contains(err, "NUL");
}

static void test_current_find_null(void **state)
{
    shs_keyring_t empty = { .nkeys = 0, .keys = NULL };

    (void)state;
    assert_null(shs_keyring_current(NULL));
    assert_null(shs_keyring_current(&empty));
    assert_null(shs_keyring_find(NULL, 1));
    assert_null(shs_keyring_find(&empty, 1));
}

/* ---------------------------------------------------------------- load */

static char *make_tmpdir(apr_pool_t *p)
{
    char *dir = apr_pstrdup(p, "/tmp/shs_test_keys.XXXXXX");

    if (!mkdtemp(dir)) {
        fail_msg("mkdtemp failed");
    }
    return dir;
}

static const char *write_file(apr_pool_t *p, const char *dir, const char *name, const char *content,
                              apr_size_t len, mode_t mode)
{
    const char *path = apr_pstrcat(p, dir, "/", name, NULL);
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static void test_load(void **state)
{
    apr_pool_t *p = *state;
    char *dir = make_tmpdir(p);
    const char *good =
        apr_psprintf(p, "# keys\n4 %s\n9 %s\n", SECRET_SEQ_B64, secret_b64(p, 9, 64));
    const char *path, *err, *big;
    shs_keyring_t *kr;
    apr_status_t rv;
    char *bigbuf;
    const char *files[] = { "k600", "k640", "k644", "k602", "kbad", "kbig", "kempty" };
    int i;

    /* Missing file. */
    path = apr_pstrcat(p, dir, "/nope", NULL);
    kr = NULL;
    rv = shs_keyring_load(p, path, &kr, &err);
    assert_true(APR_STATUS_IS_ENOENT(rv));
    assert_null(kr);
    assert_contains(err, "does not exist");
    assert_contains(err, path);

    /* A directory. */
    rv = shs_keyring_load(p, dir, &kr, &err);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_null(kr);
    assert_contains(err, "not a regular file");
    assert_contains(err, dir);

    /* Valid, 0600 and 0640. */
    path = write_file(p, dir, "k600", good, strlen(good), 0600);
    assert_int_equal(shs_keyring_load(p, path, &kr, &err), APR_SUCCESS);
    assert_non_null(kr);
    assert_int_equal(kr->nkeys, 2);
    assert_int_equal(shs_keyring_current(kr)->id, 4);
    assert_memory_equal(shs_keyring_find(kr, 4)->aead, hkdf_aead_vector, 32);
    assert_non_null(shs_keyring_find(kr, 9));
    path = write_file(p, dir, "k640", good, strlen(good), 0640);
    kr = NULL;
    assert_int_equal(shs_keyring_load(p, path, &kr, &err), APR_SUCCESS);
    assert_int_equal(kr->nkeys, 2);

    /* World-readable, world-writable. */
    kr = NULL;
    path = write_file(p, dir, "k644", good, strlen(good), 0644);
    assert_int_equal(shs_keyring_load(p, path, &kr, &err), APR_EACCES);
    assert_null(kr);
    assert_contains(err, path);
    assert_contains(err, "chmod 600");
    assert_contains(err, "640");
    assert_contains(err, "0644");
    path = write_file(p, dir, "k602", good, strlen(good), 0602);
    assert_int_equal(shs_keyring_load(p, path, &kr, &err), APR_EACCES);
    assert_null(kr);
    assert_contains(err, "other users");

    /* Parse error: the message names the path and the line. */
    path = write_file(p, dir, "kbad", "4 " SECRET_SEQ_B64 "\n4 " SECRET_SEQ_B64 "\n",
                      2 * strlen("4 " SECRET_SEQ_B64 "\n"), 0600);
    assert_int_equal(shs_keyring_load(p, path, &kr, &err), APR_EINVAL);
    assert_null(kr);
    assert_contains(err, path);
    assert_contains(err, "line 2");
    assert_contains(err, "duplicate");

    /* Empty file. */
    path = write_file(p, dir, "kempty", "", 0, 0600);
    assert_int_equal(shs_keyring_load(p, path, &kr, &err), APR_EINVAL);
    assert_contains(err, "no key");

    /* Too large: a valid file padded with comments past 64 KiB. */
    bigbuf = apr_palloc(p, SHS_KEYFILE_MAX + 2);
    memset(bigbuf, '#', SHS_KEYFILE_MAX + 1);
    memcpy(bigbuf, good, strlen(good));
    bigbuf[SHS_KEYFILE_MAX + 1] = '\0';
    big = bigbuf;
    path = write_file(p, dir, "kbig", big, SHS_KEYFILE_MAX + 1, 0600);
    assert_int_equal(shs_keyring_load(p, path, &kr, &err), APR_EINVAL);
    assert_null(kr);
    assert_contains(err, "too large");
    /* Exactly 64 KiB is fine. */
    path = write_file(p, dir, "kbig", big, SHS_KEYFILE_MAX, 0600);
    assert_int_equal(shs_keyring_load(p, path, &kr, &err), APR_SUCCESS);
    assert_int_equal(kr->nkeys, 2);

    /* Unreadable: only meaningful when not running as root. */
    if (geteuid() != 0) {
        kr = NULL;
        path = write_file(p, dir, "k600", good, strlen(good), 0200);
        rv = shs_keyring_load(p, path, &kr, &err);
        assert_int_not_equal(rv, APR_SUCCESS);
        assert_null(kr);
        assert_contains(err, path);
        assert_int_equal(chmod(path, 0600), 0);
    }

    /* Argument checks. */
    assert_int_equal(shs_keyring_load(p, NULL, &kr, &err), APR_EINVAL);
    assert_int_equal(shs_keyring_load(p, "", &kr, &err), APR_EINVAL);

    for (i = 0; i < (int)(sizeof(files) / sizeof(files[0])); i++) {
        unlink(apr_pstrcat(p, dir, "/", files[i], NULL));
    }
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse_valid_mixed_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_not_nul_terminated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_comment_after_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_base64_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_derivation_known_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_derivation_deterministic_and_distinct, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keys_wiped_on_pool_cleanup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_no_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_duplicate_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_bad_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_bad_base64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_secret_too_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_secret_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_missing_secret_and_extra_fields, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_error_too_many_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_nul_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_current_find_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load, setup, teardown),
    };

    return cmocka_run_group_tests_name("shs_keys", tests, group_setup, group_teardown);
}
