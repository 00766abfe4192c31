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

/* Unit tests of src/shs_cookie.c: the module's own cookie names, cookie name validity, the name
 * patterns of SharedSessionAppCookie, the Cookie header scan/get/strip/rewrite (with the ','
 * rule for joined header lines), the Set-Cookie parser, path-match and default-path. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "shs_id.h"
#include "shs_cookie.h"

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

static void test_cookie_name(void **state)
{
    assert_true(shs_cookie_name_is_valid("shs_session"));
    assert_true(shs_cookie_name_is_valid("__Host-sid"));
    assert_false(shs_cookie_name_is_valid(""));
    assert_false(shs_cookie_name_is_valid("a b"));
    assert_false(shs_cookie_name_is_valid("a=b"));
    assert_false(shs_cookie_name_is_valid("a;b"));
    assert_false(shs_cookie_name_is_valid("a\r"));
}

static void test_cookie_scan(void **state)
{
    char id[SHS_ID_LEN + 1], id2[SHS_ID_LEN + 1];
    shs_cookie_scan_t r;
    const char *h;

    shs_id_generate(id);
    shs_id_generate(id2);

    memset(&r, 0, sizeof(r));
    h = apr_pstrcat(pool, "a=1; sid=", id, "; b=2", NULL);
    shs_cookie_scan(pool, h, "sid", &r);
    assert_string_equal(r.value, id);
    assert_int_equal(r.seen, 1);
    assert_int_equal(r.malformed, 0);
    assert_string_equal(r.stripped, "a=1; b=2");

    /* only ours: nothing remains */
    memset(&r, 0, sizeof(r));
    shs_cookie_scan(pool, apr_pstrcat(pool, "  sid = ", id, " ;", NULL), "sid", &r);
    assert_string_equal(r.value, id);
    assert_null(r.stripped);

    /* quoted value, tight separators */
    memset(&r, 0, sizeof(r));
    shs_cookie_scan(pool, apr_pstrcat(pool, "x=y;sid=\"", id, "\";z", NULL), "sid", &r);
    assert_string_equal(r.value, id);
    assert_string_equal(r.stripped, "x=y; z");

    /* a name that merely ends or starts like ours is not ours */
    memset(&r, 0, sizeof(r));
    shs_cookie_scan(pool, apr_pstrcat(pool, "xsid=", id, "; sidx=", id, NULL), "sid", &r);
    assert_null(r.value);
    assert_int_equal(r.seen, 0);
    assert_string_equal(r.stripped, apr_pstrcat(pool, "xsid=", id, "; sidx=", id, NULL));

    /* malformed first, valid second: the valid one is used, both are stripped */
    memset(&r, 0, sizeof(r));
    shs_cookie_scan(pool, apr_pstrcat(pool, "sid=short; sid=", id, "; sid=", id2, NULL), "sid", &r);
    assert_string_equal(r.value, id);
    assert_int_equal(r.seen, 3);
    assert_int_equal(r.malformed, 1);
    assert_null(r.stripped);

    /* hostile values */
    memset(&r, 0, sizeof(r));
    shs_cookie_scan(pool, "sid=abc\r\nset x 0 0 1\r\n; sid=a b; sid=; sid", "sid", &r);
    assert_null(r.value);
    assert_int_equal(r.malformed, 3);
    assert_string_equal(r.stripped, "sid");

    /* results accumulate over several headers */
    memset(&r, 0, sizeof(r));
    shs_cookie_scan(pool, "a=1", "sid", &r);
    assert_null(r.value);
    shs_cookie_scan(pool, apr_pstrcat(pool, "sid=", id, NULL), "sid", &r);
    assert_string_equal(r.value, id);
    assert_int_equal(r.seen, 1);

    /* empty and separator-only headers */
    memset(&r, 0, sizeof(r));
    shs_cookie_scan(pool, "", "sid", &r);
    assert_null(r.stripped);
    shs_cookie_scan(pool, " ; ;; ", "sid", &r);
    assert_null(r.stripped);
    shs_cookie_scan(pool, NULL, "sid", &r);
    assert_null(r.value);
}

/* The stripped header can be longer than the input ("a;b" -> "a; b"): no overflow. */
static void test_cookie_scan_growth(void **state)
{
    shs_cookie_scan_t r;
    char h[401];
    int i;

    for (i = 0; i < 200; i++) {
        h[2 * i] = 'a';
        h[2 * i + 1] = ';';
    }
    h[400] = '\0';
    memset(&r, 0, sizeof(r));
    shs_cookie_scan(pool, h, "sid", &r);
    assert_non_null(r.stripped);
    assert_int_equal(strlen(r.stripped), 200 + 2 * 199);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_name),
        cmocka_unit_test(test_cookie_scan),
        cmocka_unit_test(test_cookie_scan_growth),
    };
    return cmocka_run_group_tests_name("shs_cookie", tests, setup, teardown);
}
