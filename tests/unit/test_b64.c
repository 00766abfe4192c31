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

/* Unit tests of src/shs_b64.c: RFC 4648 test vectors, canonical form only. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>

#include "shs_b64.h"

static apr_pool_t *pool;

static int setup(void **state)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    return 0;
}

static int teardown(void **state)
{
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

/* RFC 4648 section 10, without the padding */
static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
static const char *const coded[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };

static void test_vectors(void **state)
{
    int i;

    for (i = 0; i < 7; i++) {
        const char *enc;
        unsigned char *dec;
        apr_size_t len;
        assert_int_equal(shs_b64url_encoded_len(strlen(plain[i])), strlen(coded[i]));
        assert_int_equal(
            shs_b64url_encode(pool, (const unsigned char *)plain[i], strlen(plain[i]), &enc),
            APR_SUCCESS);
        assert_string_equal(enc, coded[i]);
        assert_int_equal(shs_b64url_decode(pool, coded[i], strlen(coded[i]), &dec, &len),
                         APR_SUCCESS);
        assert_int_equal(len, strlen(plain[i]));
        assert_memory_equal(dec, plain[i], len);
    }
}

static void test_url_alphabet(void **state)
{
    const unsigned char in[] = { 0xfb, 0xff, 0xbf };
    const char *enc;
    unsigned char *dec;
    apr_size_t len;

    assert_int_equal(shs_b64url_encode(pool, in, 3, &enc), APR_SUCCESS);
    assert_string_equal(enc, "-_-_");
    assert_int_equal(shs_b64url_digit('-'), 62);
    assert_int_equal(shs_b64url_digit('_'), 63);
    assert_int_equal(shs_b64url_digit('+'), -1);
    assert_int_equal(shs_b64url_digit('/'), -1);
    assert_int_equal(shs_b64url_digit('='), -1);
    assert_int_equal(shs_b64url_digit(0x80), -1);
    assert_int_equal(shs_b64url_decode(pool, "-_-_", 4, &dec, &len), APR_SUCCESS);
    assert_memory_equal(dec, in, 3);
}

static void test_rejects(void **state)
{
    unsigned char *dec, buf[4];
    apr_size_t len;

    /* padding, the standard alphabet, an impossible length, stray bits */
    assert_int_equal(shs_b64url_decode(pool, "Zg==", 4, &dec, &len), APR_EINVAL);
    assert_int_equal(shs_b64url_decode(pool, "+/+/", 4, &dec, &len), APR_EINVAL);
    assert_int_equal(shs_b64url_decode(pool, "Z", 1, &dec, &len), APR_EINVAL);
    assert_int_equal(shs_b64url_decode(pool, "Zh", 2, &dec, &len), APR_EINVAL);
    assert_int_equal(shs_b64url_decode(pool, "Zm9", 3, &dec, &len), APR_EINVAL);
    assert_int_equal(shs_b64url_decode(pool, "Zm 9v", 5, &dec, &len), APR_EINVAL);
    /* the caller's buffer is never overrun */
    assert_int_not_equal(shs_b64url_decode_into("Zm9vYmFy", 8, buf, sizeof(buf), &len),
                         APR_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_url_alphabet),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests_name("shs_b64", tests, setup, teardown);
}
