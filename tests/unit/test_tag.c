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

/* Unit tests of shs_tag.c: attribute escaping and the loader tags, which must stay whole
 * markup whatever URL or nonce they carry. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "unit_pool.h"
#include "shs_tag.h"
#include "shs_html.h"


static void test_escape_each_char(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { .in = "&", .out = "&amp;" },
        { .in = "<", .out = "&lt;" },
        { .in = ">", .out = "&gt;" },
        { .in = "\"", .out = "&quot;" },
        { .in = "'", .out = "&#39;" },
        { .in = "`", .out = "&#96;" },
        { .in = "=", .out = "&#61;" },
        { .in = "", .out = "" },
        { .in = "plain/ascii-_.~:?#%", .out = "plain/ascii-_.~:?#%" },
        { .in = "a&b<c>d\"e'f`g=h", .out = "a&amp;b&lt;c&gt;d&quot;e&#39;f&#96;g&#61;h" },
        { .in = "&amp;", .out = "&amp;amp;" },
        { .in = "\xc3\xa9\xe2\x82\xac", .out = "\xc3\xa9\xe2\x82\xac" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_string_equal(shs_tag_escape_attr(pool, cases[i].in), cases[i].out);
    }
    assert_string_equal(shs_tag_escape_attr(pool, NULL), "");
}

static void test_escape_drops_controls(void **state)
{
    char in[64];
    int c, n = 0;

    (void)state;
    assert_string_equal(shs_tag_escape_attr(pool, "a\x01"
                                                  "b\tc\nd\re\x1f"
                                                  "f\x7fg"),
                        "abcdefg");
    in[n++] = 'x';
    for (c = 1; c < 0x20; c++) {
        in[n++] = (char)c;
    }
    in[n++] = 0x7f;
    in[n++] = 'y';
    in[n] = '\0';
    assert_string_equal(shs_tag_escape_attr(pool, in), "xy");
}

static void test_tag_img(void **state)
{
    (void)state;
    assert_string_equal(shs_tag_make(pool, SHS_TAG_IMG, "https://id.example/s?a=1&b=2", NULL),
                        "<img src=\"https://id.example/s?a&#61;1&amp;b&#61;2\" alt=\"\" "
                        "width=\"1\" height=\"1\" style=\"display:none\" "
                        "crossorigin=\"use-credentials\" referrerpolicy=\"origin\">");
    assert_string_equal(
        shs_tag_make(pool, SHS_TAG_IMG, "/p.gif", "n0nce+/="),
        "<img src=\"/p.gif\" alt=\"\" width=\"1\" height=\"1\" "
        "style=\"display:none\" crossorigin=\"use-credentials\" referrerpolicy=\"origin\" "
        "nonce=\"n0nce+/&#61;\">");
}

static void test_tag_script(void **state)
{
    (void)state;
    assert_string_equal(shs_tag_make(pool, SHS_TAG_SCRIPT, "https://id.example/s.js", NULL),
                        "<script async src=\"https://id.example/s.js\" "
                        "crossorigin=\"use-credentials\" referrerpolicy=\"origin\"></script>");
    assert_string_equal(
        shs_tag_make(pool, SHS_TAG_SCRIPT, "/s.js", "abc"),
        "<script async src=\"/s.js\" crossorigin=\"use-credentials\" referrerpolicy=\"origin\" "
        "nonce=\"abc\"></script>");
    /* an empty nonce is no nonce */
    assert_string_equal(shs_tag_make(pool, SHS_TAG_SCRIPT, "/s.js", ""),
                        "<script async src=\"/s.js\" crossorigin=\"use-credentials\" "
                        "referrerpolicy=\"origin\"></script>");
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;

    for (; *s; s++) {
        n += (*s == c);
    }
    return n;
}

static void test_tag_breakout(void **state)
{
    const char *img, *script;

    (void)state;
    img = shs_tag_make(pool, SHS_TAG_IMG, "x\" onerror=\"alert(1)", NULL);
    assert_string_equal(img, "<img src=\"x&quot; onerror&#61;&quot;alert(1)\" alt=\"\" width=\"1\" "
                             "height=\"1\" style=\"display:none\" crossorigin=\"use-credentials\" "
                             "referrerpolicy=\"origin\">");
    /* seven attributes, two quotes each: nothing got out of src="..." */
    assert_int_equal(count_char(img, '"'), 14);
    assert_null(strstr(img, "onerror="));

    script = shs_tag_make(pool, SHS_TAG_SCRIPT, "x'><script>alert(1)</script>",
                          "n\"><script>alert(2)</script>");
    assert_string_equal(script,
                        "<script async src=\"x&#39;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\" "
                        "crossorigin=\"use-credentials\" referrerpolicy=\"origin\" "
                        "nonce=\"n&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;\"></script>");
    assert_int_equal(count_char(script, '<'), 2);
    assert_int_equal(count_char(script, '>'), 2);

    /* newlines and other controls cannot split the tag */
    assert_string_equal(
        shs_tag_make(pool, SHS_TAG_SCRIPT, "/a\r\nb\tc", "x\ny"),
        "<script async src=\"/abc\" crossorigin=\"use-credentials\" referrerpolicy=\"origin\" "
        "nonce=\"xy\"></script>");
}

static void test_tag_bad_arguments(void **state)
{
    (void)state;
    assert_null(shs_tag_make(pool, SHS_TAG_IMG, NULL, NULL));
    assert_null(shs_tag_make(pool, (shs_tag_kind_e)7, "/x", NULL));
}

/* A tag is complete markup for the page's scanner: a `</body` right after it is found where it
 * is, whatever the URL and nonce try to open (a comment, a script, a quoted value). */
static void test_tag_is_whole_markup(void **state)
{
    static const char *const hostile[] = {
        "/_shs/go?to=b.test&f=AbCd1234",
        "x\" onerror=\"alert(1)",
        "<!--",
        "'><script>",
        "\"><textarea>",
        "</body><plaintext>",
        "a\r\n<b",
    };
    size_t i;
    int k;

    (void)state;
    for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        for (k = SHS_TAG_IMG; k <= SHS_TAG_SCRIPT; k++) {
            const char *tag = shs_tag_make(pool, (shs_tag_kind_e)k, hostile[i], hostile[i]);
            const char *page = apr_pstrcat(pool, "<p>", tag, "</body></html>", NULL);
            shs_html_scan_t s;
            apr_ssize_t at = -1;

            shs_html_scan_init(&s);
            assert_int_equal(shs_html_scan(&s, page, strlen(page), &at, NULL), SHS_HTML_FOUND);
            assert_int_equal(at, (apr_ssize_t)(3 + strlen(tag)));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_each_char),
        cmocka_unit_test(test_escape_drops_controls),
        cmocka_unit_test(test_tag_img),
        cmocka_unit_test(test_tag_script),
        cmocka_unit_test(test_tag_breakout),
        cmocka_unit_test(test_tag_bad_arguments),
        cmocka_unit_test(test_tag_is_whole_markup),
    };
    return cmocka_run_group_tests_name("shs_tag", tests, unit_pool_setup, unit_pool_teardown);
}
