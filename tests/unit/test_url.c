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

/* Unit tests of src/shs_url.c: the return path a redirect may carry (no open redirect), origin
 * comparison for the callback's Referer check, and token redaction for logs. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "shs_url.h"

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

static void test_local_paths_accepted(void **state)
{
    assert_true(shs_url_local_path_ok("/"));
    assert_true(shs_url_local_path_ok("/page.html"));
    assert_true(shs_url_local_path_ok("/a/b?c=d&e=%2F%2Fx#frag"));
    assert_true(shs_url_local_path_ok("/%2F%2Fevil.test/")); /* encoded: still a path here */
    assert_true(shs_url_local_path_ok("/.//x"));
}

static void test_foreign_or_odd_paths_refused(void **state)
{
    char *longest, *toolong;
    static const char *const bad[] = {
        NULL,
        "",
        "page",
        "//evil.test/",
        "/\\evil.test/",
        "\\\\evil.test",
        "http://evil.test/",
        "https:evil.test",
        "javascript:alert(1)",
        "/a\\b",
        "/a b",
        "/a\tb",
        "/a\r\nSet-Cookie: x=1",
        "/a\x7f",
        "/caf\xc3\xa9",
        " /a",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (shs_url_local_path_ok(bad[i])) {
            fail_msg("accepted: %s", bad[i] ? bad[i] : "(null)");
        }
    }
    longest = apr_palloc(pool, SHS_URL_RET_MAX + 2);
    memset(longest, 'a', SHS_URL_RET_MAX);
    longest[0] = '/';
    longest[SHS_URL_RET_MAX] = '\0';
    assert_true(shs_url_local_path_ok(longest));
    toolong = apr_pstrcat(pool, longest, "a", NULL);
    assert_false(shs_url_local_path_ok(toolong));
}

static void test_same_origin(void **state)
{
    assert_true(shs_url_same_origin("https://a.test/", "https://a.test"));
    assert_true(shs_url_same_origin("https://a.test", "https://a.test"));
    assert_true(shs_url_same_origin("HTTPS://A.Test:443/x?y#z", "https://a.test"));
    assert_true(shs_url_same_origin("http://a.test:80/", "http://a.test"));
    assert_true(shs_url_same_origin("http://a.test:8080/p", "http://a.test:8080"));
    assert_true(shs_url_same_origin("https://[::1]:8443/", "https://[::1]:8443"));

    assert_false(shs_url_same_origin(NULL, "https://a.test"));
    assert_false(shs_url_same_origin("https://a.test", NULL));
    assert_false(shs_url_same_origin("", "https://a.test"));
    assert_false(shs_url_same_origin("null", "https://a.test"));
    assert_false(shs_url_same_origin("http://a.test/", "https://a.test"));
    assert_false(shs_url_same_origin("https://a.test:8443/", "https://a.test"));
    assert_false(shs_url_same_origin("https://a.test.evil.test/", "https://a.test"));
    assert_false(shs_url_same_origin("https://evil.test/a.test", "https://a.test"));
    assert_false(shs_url_same_origin("https://a.test@evil.test/", "https://a.test"));
    assert_false(shs_url_same_origin("https://evil.test@a.test/", "https://a.test"));
    assert_false(shs_url_same_origin("https://a.tes/", "https://a.test"));
    assert_false(shs_url_same_origin("https://a.test:/", "https://a.test"));
    assert_false(shs_url_same_origin("https://a.test:443x/", "https://a.test"));
    assert_false(shs_url_same_origin("https://a.test:99999/", "https://a.test:99999"));
    assert_false(shs_url_same_origin("https:///", "https://a.test"));
    assert_false(shs_url_same_origin("//a.test/", "https://a.test"));
    assert_false(shs_url_same_origin("https://[::1/", "https://[::1]"));
}

static void test_redact(void **state)
{
    assert_null(shs_url_redact_param(pool, NULL, "t", "X"));
    assert_string_equal(shs_url_redact_param(pool, "", "t", "X"), "");
    assert_string_equal(shs_url_redact_param(pool, "t=SECRET", "t", "X"), "t=X");
    assert_string_equal(shs_url_redact_param(pool, "t=SECRET&r=%2Fa", "t", "X"), "t=X&r=%2Fa");
    assert_string_equal(shs_url_redact_param(pool, "r=/a&t=S1&t=S2&k=js", "t", "X"),
                        "r=/a&t=X&t=X&k=js");
    assert_string_equal(shs_url_redact_param(pool, "tt=keep&xt=keep&t", "t", "X"),
                        "tt=keep&xt=keep&t");
    assert_string_equal(shs_url_redact_param(pool, "&&t=&", "t", "X"), "&&t=X&");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_paths_accepted),
        cmocka_unit_test(test_foreign_or_odd_paths_refused),
        cmocka_unit_test(test_same_origin),
        cmocka_unit_test(test_redact),
    };
    return cmocka_run_group_tests_name("shs_url", tests, setup, teardown);
}
