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

/* Unit tests of src/shs_refusal.c: the words of the refusal reasons and the status page rows
 * they are counted in. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "shs_refusal.h"

/* The status page's rows, in its order: its labels must not change (dashboards name them). */
static void test_rows_of_the_status_page(void **state)
{
    static const char *const rows[] = {
        "malformed",
        "bad-version",
        "unknown-key",
        "bad-auth",
        "expired",
        "not-yet-valid",
        "bad-lifetime",
        "no-token",
        "wrong-destination",
        "source-not-in-group",
        "source-in-other-group",
        "source-is-destination",
        "wrong-transport",
        "local-session-kept",
        "replayed",
        "unknown-session",
        "state-mismatch",
        "not-from-hub",
        "store-unavailable",
        "wrong-context",
        "no-referer",
        "wrong-referer",
        "other",
    };
    int i;

    (void)state;
    assert_int_equal(SHS_REFUSAL_ROWS - SHS_REFUSAL_MALFORMED, sizeof(rows) / sizeof(rows[0]));
    for (i = SHS_REFUSAL_MALFORMED; i < SHS_REFUSAL_ROWS; i++) {
        assert_string_equal(shs_refusal_name((shs_refusal_e)i), rows[i - SHS_REFUSAL_MALFORMED]);
        assert_int_equal(shs_refusal_row((shs_refusal_e)i), i); /* its own row */
    }
}

/* The finer reasons keep their own word in the logs and count in a row of the page. */
static void test_finer_reasons(void **state)
{
    static const struct {
        shs_refusal_e why;
        const char *name;
        shs_refusal_e row;
    } finer[] = {
        { SHS_REFUSAL_PUSH_TOKEN_IN_PULL, "push-token-in-pull", SHS_REFUSAL_WRONG_TRANSPORT },
        { SHS_REFUSAL_PULL_TOKEN_IN_PUSH, "pull-token-in-push", SHS_REFUSAL_WRONG_TRANSPORT },
        { SHS_REFUSAL_NO_ORIGIN, "no-origin", SHS_REFUSAL_OTHER },
        { SHS_REFUSAL_WRONG_ORIGIN, "wrong-origin", SHS_REFUSAL_OTHER },
        { SHS_REFUSAL_NOT_CONFIGURED, "not-configured", SHS_REFUSAL_OTHER },
        { SHS_REFUSAL_NO_NONCE, "no-nonce", SHS_REFUSAL_OTHER },
        { SHS_REFUSAL_UNKNOWN_SITE, "unknown-site", SHS_REFUSAL_OTHER },
        { SHS_REFUSAL_NO_SESSION, "no-session", SHS_REFUSAL_OTHER },
    };
    size_t i;

    (void)state;
    assert_int_equal(SHS_REFUSAL_COUNT - SHS_REFUSAL_ROWS, sizeof(finer) / sizeof(finer[0]));
    for (i = 0; i < sizeof(finer) / sizeof(finer[0]); i++) {
        assert_string_equal(shs_refusal_name(finer[i].why), finer[i].name);
        assert_int_equal(shs_refusal_row(finer[i].why), finer[i].row);
    }
}

/* Every word is distinct (a log line names one reason), of lowercase letters and '-'. */
static void test_words_distinct(void **state)
{
    int i, j;

    (void)state;
    for (i = 0; i < SHS_REFUSAL_COUNT; i++) {
        const char *a = shs_refusal_name((shs_refusal_e)i);
        assert_true(strlen(a) > 0);
        assert_int_equal(strspn(a, "abcdefghijklmnopqrstuvwxyz-"), strlen(a));
        for (j = i + 1; j < SHS_REFUSAL_COUNT; j++) {
            assert_string_not_equal(a, shs_refusal_name((shs_refusal_e)j));
        }
    }
}

static void test_none_and_out_of_range(void **state)
{
    (void)state;
    assert_string_equal(shs_refusal_name(SHS_REFUSAL_NONE), "none");
    assert_int_equal(shs_refusal_row(SHS_REFUSAL_NONE), SHS_REFUSAL_NONE);
    assert_string_equal(shs_refusal_name(SHS_REFUSAL_COUNT), "unknown");
    assert_string_equal(shs_refusal_name((shs_refusal_e)-1), "unknown");
    assert_int_equal(shs_refusal_row(SHS_REFUSAL_COUNT), SHS_REFUSAL_OTHER);
    assert_int_equal(shs_refusal_row((shs_refusal_e)-1), SHS_REFUSAL_OTHER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_of_the_status_page),
        cmocka_unit_test(test_finer_reasons),
        cmocka_unit_test(test_words_distinct),
        cmocka_unit_test(test_none_and_out_of_range),
    };
    return cmocka_run_group_tests_name("shs_refusal", tests, NULL, NULL);
}
