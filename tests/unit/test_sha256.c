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

/* Unit tests of src/shs_sha256.c: RFC 4231's HMAC-SHA256 cases (short key, a key that is not
 * a block, a key longer than a block), a key of exactly one block (answer from Python's hmac
 * module), the message in pieces equal to the message whole, against OpenSSL's own HMAC() for
 * every key length up to two blocks, and SHA-256 of "abc". */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "unit_hex.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "shs_sha256.h"

static void expect_hmac(const unsigned char *key, size_t klen, const char *msg, const char *want)
{
    unsigned char got[SHS_SHA256_LEN], w[SHS_SHA256_LEN];
    shs_chunk_t c = { msg, strlen(msg) };

    unit_hex(want, w, sizeof(w));
    assert_int_equal(shs_hmac_sha256(key, klen, &c, 1, got), APR_SUCCESS);
    assert_memory_equal(got, w, sizeof(w));
}

static void test_rfc4231(void **state)
{
    unsigned char k[131];

    (void)state;
    memset(k, 0x0b, 20);
    expect_hmac(k, 20, "Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    expect_hmac((const unsigned char *)"Jefe", 4, "what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(k, 0xaa, sizeof(k));
    expect_hmac(k, sizeof(k), "Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_block_sized_key(void **state)
{
    unsigned char k[SHS_HMAC_BLOCK];
    int i;

    (void)state;
    for (i = 0; i < SHS_HMAC_BLOCK; i++) {
        k[i] = (unsigned char)i;
    }
    expect_hmac(k, sizeof(k), "block-size key",
                "1dad230598e011a4e4eabc6c8da8f55ef9a66a8881d1e16e23ea116ae28231ec");
}

/* Every key length 0..128 and every split of the message into three pieces (some empty, one
 * with data NULL) agrees with OpenSSL's HMAC(). */
static void test_pieces_and_key_lengths_match_openssl(void **state)
{
    static const char msg[] = "the message, in pieces or whole";
    const size_t mlen = sizeof(msg) - 1;
    unsigned char key[2 * SHS_HMAC_BLOCK], got[SHS_SHA256_LEN], want[SHS_SHA256_LEN];
    unsigned int wlen = 0;
    size_t klen, a, b;

    (void)state;
    for (klen = 0; klen < sizeof(key); klen++) {
        key[klen] = (unsigned char)(37 * klen + 11);
    }
    for (klen = 0; klen <= sizeof(key); klen++) {
        assert_non_null(
            HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, mlen, want, &wlen));
        assert_int_equal(wlen, SHS_SHA256_LEN);
        for (a = 0; a <= mlen; a += 5) {
            for (b = a; b <= mlen; b += 7) {
                shs_chunk_t c[3] = { { a ? msg : NULL, a },
                                     { msg + a, b - a },
                                     { msg + b, mlen - b } };
                assert_int_equal(shs_hmac_sha256(key, klen, c, 3, got), APR_SUCCESS);
                assert_memory_equal(got, want, sizeof(want));
            }
        }
    }
}

static void test_sha256(void **state)
{
    unsigned char got[SHS_SHA256_LEN], want[SHS_SHA256_LEN];

    (void)state;
    unit_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want,
             sizeof(want));
    assert_int_equal(shs_sha256("abc", 3, got), APR_SUCCESS);
    assert_memory_equal(got, want, sizeof(want));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4231),
        cmocka_unit_test(test_block_sized_key),
        cmocka_unit_test(test_pieces_and_key_lengths_match_openssl),
        cmocka_unit_test(test_sha256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
