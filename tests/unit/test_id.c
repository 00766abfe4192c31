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

/* Unit tests of src/shs_id.c: ids, store keys, TTL conversion.  (The cookie scanner moved to
 * src/shs_cookie.c: tests/unit/test_cookie.c.) */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "shs_id.h"

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

static void test_generate_is_valid_and_unique(void **state)
{
    char a[SHS_ID_LEN + 1], b[SHS_ID_LEN + 1];
    int i;

    for (i = 0; i < 200; i++) {
        assert_int_equal(shs_id_generate(a), APR_SUCCESS);
        assert_int_equal(strlen(a), SHS_ID_LEN);
        assert_true(shs_id_is_valid(a, strlen(a)));
        assert_int_equal(shs_id_generate(b), APR_SUCCESS);
        assert_string_not_equal(a, b);
    }
}

static void test_is_valid_rejects(void **state)
{
    char ok[SHS_ID_LEN + 1], bad[SHS_ID_LEN + 2];
    const char *bads = " \r\n\t%+/=.\"';,\\";
    apr_size_t i;

    assert_int_equal(shs_id_generate(ok), APR_SUCCESS);
    assert_false(shs_id_is_valid(NULL, 0));
    assert_false(shs_id_is_valid("", 0));
    assert_false(shs_id_is_valid(ok, SHS_ID_LEN - 1));
    memcpy(bad, ok, SHS_ID_LEN);
    bad[SHS_ID_LEN] = 'A';
    bad[SHS_ID_LEN + 1] = '\0';
    assert_false(shs_id_is_valid(bad, SHS_ID_LEN + 1));
    for (i = 0; i < strlen(bads); i++) {
        memcpy(bad, ok, SHS_ID_LEN + 1);
        bad[10] = bads[i];
        assert_false(shs_id_is_valid(bad, SHS_ID_LEN));
    }
    /* a NUL inside */
    memcpy(bad, ok, SHS_ID_LEN + 1);
    bad[5] = '\0';
    assert_false(shs_id_is_valid(bad, SHS_ID_LEN));
    /* non-canonical last character: its two low bits carry no data and must be 0 */
    memcpy(bad, ok, SHS_ID_LEN + 1);
    bad[SHS_ID_LEN - 1] = 'B'; /* value 1 */
    assert_false(shs_id_is_valid(bad, SHS_ID_LEN));
    bad[SHS_ID_LEN - 1] = 'E'; /* value 4 */
    assert_true(shs_id_is_valid(bad, SHS_ID_LEN));
}

static void test_store_key(void **state)
{
    /* SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad */
    const char *k = shs_id_store_key(pool, "shs:", "abc");
    apr_size_t i;

    assert_string_equal(k, "shs:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    k = shs_id_store_key(pool, "", "abc");
    assert_int_equal(strlen(k), 43);
    /* never whitespace or control characters */
    for (i = 0; i < strlen(k); i++) {
        assert_true(k[i] > 0x20 && k[i] < 0x7f);
    }
}

static void test_fingerprint(void **state)
{
    assert_string_equal(shs_id_fingerprint(pool, "abc"), "ba7816bf");
    assert_string_equal(shs_id_fingerprint(pool, NULL), "-");
}

static void test_key_prefix(void **state)
{
    assert_true(shs_key_prefix_is_valid("shs:"));
    assert_true(shs_key_prefix_is_valid("a"));
    assert_false(shs_key_prefix_is_valid(""));
    assert_false(shs_key_prefix_is_valid(NULL));
    assert_false(shs_key_prefix_is_valid("a b"));
    assert_false(shs_key_prefix_is_valid("a\r\n"));
    assert_false(shs_key_prefix_is_valid("a\x7f"));
    assert_false(shs_key_prefix_is_valid("\xc3\xa9"));
    assert_false(shs_key_prefix_is_valid(
        "01234567890123456789012345678901234567890123456789012345678901234"));
}

static void test_ttl(void **state)
{
    apr_int64_t now = 1700000000;

    assert_int_equal(shs_ttl_to_memcache(0, now), 0);
    assert_int_equal(shs_ttl_to_memcache(-5, now), 0);
    assert_int_equal(shs_ttl_to_memcache(1, now), 1);
    assert_int_equal(shs_ttl_to_memcache(3600, now), 3600);
    assert_int_equal(shs_ttl_to_memcache(SHS_TTL_RELATIVE_MAX, now), SHS_TTL_RELATIVE_MAX);
    /* beyond 30 days memcached wants an absolute time */
    assert_int_equal(shs_ttl_to_memcache(SHS_TTL_RELATIVE_MAX + 1, now),
                     now + SHS_TTL_RELATIVE_MAX + 1);
    assert_int_equal(shs_ttl_to_memcache(365LL * 86400, now), now + 365LL * 86400);
    /* and never wraps */
    assert_int_equal(shs_ttl_to_memcache(10LL * 365 * 86400 * 20, now), 0xffffffffu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_is_valid_and_unique),
        cmocka_unit_test(test_is_valid_rejects),
        cmocka_unit_test(test_store_key),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_key_prefix),
        cmocka_unit_test(test_ttl),
    };
    return cmocka_run_group_tests_name("shs_id", tests, setup, teardown);
}
