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

/* Unit tests of src/shs_aead.c: known answers computed independently (Python's
 * cryptography package), the additional data in two pieces equal to one, tampering, in-place
 * decryption, and the wipe of the output on failure. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "unit_hex.h"

#include "shs_aead.h"

static unsigned char key[SHS_AEAD_KEY_LEN], iv[SHS_AEAD_IV_LEN];

static int setup(void **state)
{
    int i;

    for (i = 0; i < SHS_AEAD_KEY_LEN; i++) {
        key[i] = (unsigned char)i;
    }
    for (i = 0; i < SHS_AEAD_IV_LEN; i++) {
        iv[i] = (unsigned char)(100 + i);
    }
    return 0;
}

static const char pt[] = "mod_sharedsession";
#define PTLEN (sizeof(pt) - 1)
static const char want_ct[] = "2574ba390a8137ec5b062c8da91603922c";
static const char want_tag[] = "735b3a837a63e3bb8d3425f8b7b3cf26";

static void test_known_answer(void **state)
{
    unsigned char ct[PTLEN], tag[SHS_AEAD_TAG_LEN], ect[PTLEN], etag[SHS_AEAD_TAG_LEN];
    unsigned char out[PTLEN];

    unit_hex(want_ct, ect, PTLEN);
    unit_hex(want_tag, etag, SHS_AEAD_TAG_LEN);
    /* the additional data "header" + "store:key", given in two pieces */
    assert_int_equal(shs_aead_seal(key, iv, "header", 6, "store:key", 9, (const unsigned char *)pt,
                                   PTLEN, ct, tag),
                     APR_SUCCESS);
    assert_memory_equal(ct, ect, PTLEN);
    assert_memory_equal(tag, etag, SHS_AEAD_TAG_LEN);
    /* the same additional data in one piece opens it */
    assert_int_equal(shs_aead_open(key, iv, "headerstore:key", 15, NULL, 0, ct, PTLEN, tag, out),
                     APR_SUCCESS);
    assert_memory_equal(out, pt, PTLEN);
    /* in place */
    assert_int_equal(shs_aead_open(key, iv, "header", 6, "store:key", 9, ct, PTLEN, tag, ct),
                     APR_SUCCESS);
    assert_memory_equal(ct, pt, PTLEN);
}

static void test_empty(void **state)
{
    unsigned char tag[SHS_AEAD_TAG_LEN], etag[SHS_AEAD_TAG_LEN];

    unit_hex("609bd50f6ad76df665f048ba8c5fd706", etag, SHS_AEAD_TAG_LEN);
    assert_int_equal(shs_aead_seal(key, iv, NULL, 0, NULL, 0, NULL, 0, NULL, tag), APR_SUCCESS);
    assert_memory_equal(tag, etag, SHS_AEAD_TAG_LEN);
    assert_int_equal(shs_aead_open(key, iv, NULL, 0, NULL, 0, NULL, 0, tag, NULL), APR_SUCCESS);
    tag[0] ^= 1;
    assert_int_equal(shs_aead_open(key, iv, NULL, 0, NULL, 0, NULL, 0, tag, NULL), SHS_AEAD_EAUTH);
}

static void test_tampering(void **state)
{
    unsigned char ct[PTLEN], tag[SHS_AEAD_TAG_LEN], out[PTLEN], k2[SHS_AEAD_KEY_LEN];
    size_t i;

    assert_int_equal(
        shs_aead_seal(key, iv, "h", 1, "k", 1, (const unsigned char *)pt, PTLEN, ct, tag),
        APR_SUCCESS);
    for (i = 0; i < PTLEN; i++) {
        ct[i] ^= 0x80;
        memset(out, 'x', sizeof(out));
        assert_int_equal(shs_aead_open(key, iv, "h", 1, "k", 1, ct, PTLEN, tag, out),
                         SHS_AEAD_EAUTH);
        assert_memory_not_equal(out, pt, PTLEN); /* wiped, never the plaintext */
        ct[i] ^= 0x80;
    }
    for (i = 0; i < SHS_AEAD_TAG_LEN; i++) {
        tag[i] ^= 1;
        assert_int_equal(shs_aead_open(key, iv, "h", 1, "k", 1, ct, PTLEN, tag, out),
                         SHS_AEAD_EAUTH);
        tag[i] ^= 1;
    }
    /* other additional data, another split of it, another key */
    assert_int_equal(shs_aead_open(key, iv, "h", 1, "K", 1, ct, PTLEN, tag, out), SHS_AEAD_EAUTH);
    assert_int_equal(shs_aead_open(key, iv, "hk", 2, NULL, 0, ct, PTLEN, tag, out), APR_SUCCESS);
    assert_int_equal(shs_aead_open(key, iv, "h", 1, NULL, 0, ct, PTLEN, tag, out), SHS_AEAD_EAUTH);
    memcpy(k2, key, sizeof(k2));
    k2[31] ^= 1;
    assert_int_equal(shs_aead_open(k2, iv, "h", 1, "k", 1, ct, PTLEN, tag, out), SHS_AEAD_EAUTH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_tampering),
    };
    return cmocka_run_group_tests_name("shs_aead", tests, setup, NULL);
}
