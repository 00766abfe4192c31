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

/* Unit tests of src/shs_inject.c: the tags land exactly where they should whatever the bucket
 * boundaries, FLUSH buckets pass in order, and at most SHS_HTML_MAX_HOLD bytes are ever held. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_buckets.h>

#include "shs_html.h"
#include "shs_inject.h"

#define TAGS "<img src=\"x\">"

typedef struct fixture_t {
    const char *doc;
    const char *before; /* the tags go right before the last occurrence of this; NULL: at the end */
} fixture_t;

static const fixture_t fixtures[] = {
    { "<html><body><p>hi</p></body></html>", "</body></html>" },
    { "<HTML><BODY>x</BODY></HTML>", "</BODY></HTML>" },
    { "<html><body>no end tag", NULL },
    { "", NULL },
    { "</body>", "</body>" },
    { "<!-- </body> --><p>a</p></body >", "</body >" },
    { "<script>document.write('</body>')</script>tail</body>", "</body>" },
    { "<<</body\n>", "</body\n>" },
    { "</bod</bodyx></body/>", "</body/>" },
    { "<p>\xc3\xa9t\xc3\xa9</p></body>", "</body>" },
};

static apr_pool_t *pool;
static apr_bucket_alloc_t *ba;

static int setup(void **state)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    ba = apr_bucket_alloc_create(pool);
    return 0;
}

static int teardown(void **state)
{
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

/* Where the tags go in fx->doc, or -1: at the end. */
static apr_off_t expected_offset(const fixture_t *fx)
{
    const char *at = NULL, *s = fx->doc;

    while (fx->before && (s = strstr(s, fx->before))) {
        at = s++;
    }
    return at ? (apr_off_t)(at - fx->doc) : -1;
}

static char *expected(apr_pool_t *p, const fixture_t *fx)
{
    apr_off_t at = expected_offset(fx);
    apr_size_t off = at >= 0 ? (apr_size_t)at : strlen(fx->doc);

    return apr_pstrcat(p, apr_pstrmemdup(p, fx->doc, off), TAGS, fx->doc + off, NULL);
}

/* Run the document through in chunks cut at cuts[0..ncuts) (increasing offsets), with a FLUSH
 * after every chunk, and EOS at the end.  Checks the hold bound after every call and returns
 * the flattened output. */
static apr_off_t last_offset; /* shs_inject_offset() of the last run() */

static char *run(apr_pool_t *p, const char *doc, const apr_size_t *cuts, int ncuts, int *flushes)
{
    apr_size_t len = strlen(doc), from = 0, sent = 0, given = 0;
    shs_inject_t *ij = shs_inject_create(p, TAGS, strlen(TAGS));
    apr_bucket_brigade *in = apr_brigade_create(p, ba), *out = apr_brigade_create(p, ba);
    apr_bucket_brigade *all = apr_brigade_create(p, ba);
    char *flat;
    apr_size_t flen;
    int i, done = 0;

    *flushes = 0;
    for (i = 0; i <= ncuts; i++) {
        apr_size_t to = i < ncuts ? cuts[i] : len;
        apr_bucket *e;
        apr_off_t olen = 0;
        if (to > from) {
            APR_BRIGADE_INSERT_TAIL(in, apr_bucket_transient_create(doc + from, to - from, ba));
        }
        APR_BRIGADE_INSERT_TAIL(in, apr_bucket_flush_create(ba));
        if (i == ncuts) {
            APR_BRIGADE_INSERT_TAIL(in, apr_bucket_eos_create(ba));
        }
        given += to - from;
        from = to;
        /* like the filter: call until the input is used up, at most one data bucket a call */
        while (!APR_BRIGADE_EMPTY(in)) {
            apr_bucket *first = APR_BRIGADE_FIRST(in);
            assert_int_equal(shs_inject_brigade(ij, in, out, &done), APR_SUCCESS);
            assert_true(APR_BRIGADE_EMPTY(in) || APR_BRIGADE_FIRST(in) != first);
        }
        for (e = APR_BRIGADE_FIRST(out); e != APR_BRIGADE_SENTINEL(out); e = APR_BUCKET_NEXT(e)) {
            if (APR_BUCKET_IS_FLUSH(e)) {
                (*flushes)++;
            }
            else if (!APR_BUCKET_IS_METADATA(e)) {
                olen += (apr_off_t)e->length;
            }
        }
        /* transient data must be set aside before the caller's buffer goes */
        for (e = APR_BRIGADE_FIRST(out); e != APR_BRIGADE_SENTINEL(out); e = APR_BUCKET_NEXT(e)) {
            apr_bucket_setaside(e, p);
        }
        sent += (apr_size_t)olen;
        if (!done) {
            assert_true(given - sent <= SHS_HTML_MAX_HOLD);
        }
        APR_BRIGADE_CONCAT(all, out);
    }
    assert_true(done);
    assert_true(APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(all)));
    last_offset = shs_inject_offset(ij);
    assert_int_equal(apr_brigade_pflatten(all, &flat, &flen, p), APR_SUCCESS);
    return apr_pstrmemdup(p, flat, flen);
}

/* The document as a file, sent as file buckets cut at cuts[], with the insertion point known
 * in advance (shs_inject_set_offset): the output must be the same, and no bucket read (every
 * data bucket that goes out is still a file bucket, apart from the tags). */
static char *run_known(apr_pool_t *p, const char *doc, apr_off_t at, const apr_size_t *cuts,
                       int ncuts)
{
    apr_size_t len = strlen(doc), from = 0, wrote;
    shs_inject_t *ij = shs_inject_create(p, TAGS, strlen(TAGS));
    apr_bucket_brigade *in = apr_brigade_create(p, ba), *out = apr_brigade_create(p, ba);
    apr_file_t *fd;
    apr_bucket *e;
    char *path = apr_pstrdup(p, "/tmp/test_inject.XXXXXX"), *flat;
    apr_size_t flen;
    int i, done = 0, tags = 0;

    assert_int_equal(apr_file_mktemp(&fd, path, 0, p), APR_SUCCESS);
    apr_file_remove(path, p);
    assert_int_equal(apr_file_write_full(fd, doc, len, &wrote), APR_SUCCESS);
    shs_inject_set_offset(ij, at);
    for (i = 0; i <= ncuts; i++) {
        apr_size_t to = i < ncuts ? cuts[i] : len;
        if (to > from) {
            apr_brigade_insert_file(in, fd, (apr_off_t)from, to - from, p);
        }
        from = to;
    }
    APR_BRIGADE_INSERT_TAIL(in, apr_bucket_eos_create(ba));
    while (!APR_BRIGADE_EMPTY(in)) {
        assert_int_equal(shs_inject_brigade(ij, in, out, &done), APR_SUCCESS);
    }
    assert_true(done);
    for (e = APR_BRIGADE_FIRST(out); e != APR_BRIGADE_SENTINEL(out); e = APR_BUCKET_NEXT(e)) {
        if (APR_BUCKET_IS_POOL(e)) {
            tags++;
        }
        else if (!APR_BUCKET_IS_METADATA(e)) {
            assert_true(APR_BUCKET_IS_FILE(e));
        }
    }
    assert_int_equal(tags, 1);
    assert_int_equal(shs_inject_offset(ij), at);
    assert_int_equal(apr_brigade_pflatten(out, &flat, &flen, p), APR_SUCCESS);
    return apr_pstrmemdup(p, flat, flen);
}

static void check(const fixture_t *fx, const apr_size_t *cuts, int ncuts)
{
    apr_pool_t *p;
    int flushes;
    char *got;

    apr_pool_create(&p, pool);
    got = run(p, fx->doc, cuts, ncuts, &flushes);
    if (strcmp(got, expected(p, fx))) {
        fail_msg("doc '%s' cut %d times: got '%s'", fx->doc, ncuts, got);
    }
    assert_int_equal(flushes, ncuts + 1);
    assert_int_equal(last_offset, expected_offset(fx));
    got = run_known(p, fx->doc, last_offset, cuts, ncuts);
    if (strcmp(got, expected(p, fx))) {
        fail_msg("doc '%s' cut %d times, offset known: got '%s'", fx->doc, ncuts, got);
    }
    apr_pool_destroy(p);
}

static void test_whole(void **state)
{
    apr_size_t i;

    for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        check(&fixtures[i], NULL, 0);
    }
}

static void test_every_split_point(void **state)
{
    apr_size_t i, cut;

    for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        for (cut = 0; cut <= strlen(fixtures[i].doc); cut++) {
            check(&fixtures[i], &cut, 1);
        }
    }
}

static void test_byte_by_byte(void **state)
{
    apr_size_t i, j, cuts[128];

    for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        apr_size_t len = strlen(fixtures[i].doc);
        assert_true(len < 128);
        for (j = 0; j < len; j++) {
            cuts[j] = j + 1;
        }
        check(&fixtures[i], cuts, (int)len);
    }
}

static void test_random_chunks(void **state)
{
    apr_size_t i, cuts[16];
    unsigned int seed = 12345;
    int round;

    for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        apr_size_t len = strlen(fixtures[i].doc);
        for (round = 0; round < 50 && len > 1; round++) {
            int n = 0, k;
            apr_size_t at = 0;
            for (k = 0; k < 16 && at < len; k++) {
                seed = seed * 1103515245u + 12345u;
                at += 1 + (seed >> 16) % 5;
                if (at < len) {
                    cuts[n++] = at;
                }
            }
            check(&fixtures[i], cuts, n);
        }
    }
}

/* A large page: memory held is bounded, the output is exact. */
static void test_large_page(void **state)
{
    apr_size_t n = 1 << 20, i, cuts[64];
    char *doc = malloc(n + 32);
    fixture_t fx;

    for (i = 0; i < n; i++) {
        doc[i] = "<p>abc</p>\n"[i % 11];
    }
    strcpy(doc + n, "</body></html>");
    fx.doc = doc;
    fx.before = "</body></html>";
    for (i = 0; i < 64; i++) {
        cuts[i] = (i + 1) * (n / 65) + (i % 7);
    }
    check(&fx, cuts, 64);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole),        cmocka_unit_test(test_every_split_point),
        cmocka_unit_test(test_byte_by_byte), cmocka_unit_test(test_random_chunks),
        cmocka_unit_test(test_large_page),
    };
    return cmocka_run_group_tests_name("shs_inject", tests, setup, teardown);
}
