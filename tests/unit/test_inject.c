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
 * boundaries, or nowhere when the end of a document without </body> is not text or the
 * document starts with a UTF-16/32 byte-order mark, FLUSH buckets pass in order, and at most
 * SHS_HTML_MAX_HOLD bytes are ever held. */

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
    int none;           /* before NULL: the tags go nowhere, the document passes unchanged */
    apr_size_t len;     /* a document with NUL bytes: its length (0: a C string) ... */
    apr_off_t at;       /* ... and where the tags go: offset, SHS_INJECT_AT_EOS or _NONE */
} fixture_t;

#define BIN(d, where)                                                                              \
    {                                                                                              \
        .doc = d, .len = sizeof(d) - 1, .at = where                                                \
    }

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
    /* no </body>, and the end is no place for markup: no tags at all */
    { "<html><body><textarea></body></html>", NULL, 1 },
    { "<html><body><textarea>a</textare", NULL, 1 },
    { "<body><plaintext></body></html>", NULL, 1 },
    { "<body><xmp></body></html>", NULL, 1 },
    { "<body><noscript></body></html>", NULL, 1 },
    { "<body><iframe></body></html>", NULL, 1 },
    { "<body><script>x='</body>'", NULL, 1 },
    { "<p>a</p><!-- </body>", NULL, 1 },
    { "<p>a</p><a href=\"x", NULL, 1 },
    { "<title>t</title></body", NULL, 1 },
    { "x</", NULL, 1 },
    { "x<", NULL, 1 },
    /* the other raw-text elements hide </body> */
    { "<body><xmp></body></xmp></body>", "</body>" },
    { "<body><noscript><p></body></noscript></body>", "</body>" },
    { "<body><noembed></body></noembed><noframes></body></noframes>x</body>", "</body>" },
    /* closed ones at the end: the tags are appended */
    { "<body><textarea></body></textarea>", NULL },
    { "<body><noscript></body></noscript >", NULL },
    /* UTF-16 and UTF-32 byte-order marks: no tags at all */
    BIN("\xff\xfe<\0/\0b\0o\0d\0y\0>\0", SHS_INJECT_NONE),     /* UTF-16LE */
    BIN("\xfe\xff\0<\0/\0b\0o\0d\0y\0>", SHS_INJECT_NONE),     /* UTF-16BE */
    BIN("\xff\xfe\0\0<\0\0\0/\0\0\0b\0\0\0", SHS_INJECT_NONE), /* UTF-32LE */
    BIN("\0\0\xfe\xff\0\0\0<\0\0\0/\0\0\0b", SHS_INJECT_NONE), /* UTF-32BE */
    BIN("\xff\xfe", SHS_INJECT_NONE),
    BIN("\xfe\xff", SHS_INJECT_NONE),
    BIN("\0\0\xfe\xff", SHS_INJECT_NONE),
    BIN("\xff\xfe</body>", SHS_INJECT_NONE),
    /* almost byte-order marks: scanned as usual (the held first bytes included) */
    BIN("\xef\xbb\xbf<p>x</p></body>", 11), /* UTF-8's is fine */
    BIN("\xff</body>", 1),
    BIN("\xfe</body>", 1),
    BIN("\xff\xfd</body>", 2),
    BIN("\xfe\xfe</body>", 2),
    BIN("\0</body>", 1),
    BIN("\0\0</body>", 2),
    BIN("\0\0\xfe</body>", 3),
    BIN("\0\0\xfe\xfe</body>", 4),
    BIN("\0\0\xff\xfe</body>", 4),
    BIN("\0\xfe\xff</body>", 3),
    BIN("\0", SHS_INJECT_AT_EOS),
    BIN("\0\0", SHS_INJECT_AT_EOS),
    BIN("\0\0\xfe", SHS_INJECT_AT_EOS),
    BIN("\xff", SHS_INJECT_AT_EOS),
    BIN("\xfe", SHS_INJECT_AT_EOS),
    BIN("\0\0\xfe<textarea>", SHS_INJECT_NONE),
    BIN("<p>\xff\xfe</p></body>", 9),
    BIN("<\xff\xfe</body>", 3),
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

static apr_size_t doc_len(const fixture_t *fx)
{
    return fx->len ? fx->len : strlen(fx->doc);
}

/* Where the tags go in fx->doc: an offset, SHS_INJECT_AT_EOS or SHS_INJECT_NONE. */
static apr_off_t expected_offset(const fixture_t *fx)
{
    const char *at = NULL, *s = fx->doc;

    if (fx->len) {
        return fx->at;
    }
    while (fx->before && (s = strstr(s, fx->before))) {
        at = s++;
    }
    if (at) {
        return (apr_off_t)(at - fx->doc);
    }
    return fx->none ? SHS_INJECT_NONE : SHS_INJECT_AT_EOS;
}

/* The document with the tags where they should go; *olen is its length. */
static char *expected(apr_pool_t *p, const fixture_t *fx, apr_size_t *olen)
{
    apr_off_t at = expected_offset(fx);
    apr_size_t len = doc_len(fx), off = at >= 0 ? (apr_size_t)at : len;
    char *want = apr_palloc(p, len + strlen(TAGS) + 1);

    memcpy(want, fx->doc, off);
    *olen = off;
    if (at != SHS_INJECT_NONE) {
        memcpy(want + *olen, TAGS, strlen(TAGS));
        *olen += strlen(TAGS);
    }
    memcpy(want + *olen, fx->doc + off, len - off);
    *olen += len - off;
    return want;
}

/* Run the document through in chunks cut at cuts[0..ncuts) (increasing offsets), with a FLUSH
 * after every chunk, and EOS at the end.  Checks the hold bound after every call and returns
 * the flattened output. */
static apr_off_t last_offset; /* shs_inject_offset() of the last run() */
static int last_inserted;     /* shs_inject_inserted() of the last run() */

static char *run(apr_pool_t *p, const char *doc, apr_size_t len, const apr_size_t *cuts, int ncuts,
                 int *flushes, apr_size_t *outlen)
{
    apr_size_t from = 0, sent = 0, given = 0;
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
    last_inserted = shs_inject_inserted(ij);
    assert_int_equal(apr_brigade_pflatten(all, &flat, &flen, p), APR_SUCCESS);
    *outlen = flen;
    return apr_pstrmemdup(p, flat, flen);
}

/* The document as a file, sent as file buckets cut at cuts[], with the insertion point known
 * in advance (shs_inject_set_offset): the output must be the same, and no bucket read (every
 * data bucket that goes out is still a file bucket, apart from the tags, if any). */
static char *run_known(apr_pool_t *p, const char *doc, apr_size_t len, apr_off_t at,
                       const apr_size_t *cuts, int ncuts, apr_size_t *outlen)
{
    apr_size_t from = 0, wrote;
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
    assert_int_equal(tags, at == SHS_INJECT_NONE ? 0 : 1);
    assert_int_equal(shs_inject_offset(ij), at);
    assert_int_equal(shs_inject_inserted(ij), at != SHS_INJECT_NONE);
    assert_int_equal(apr_brigade_pflatten(out, &flat, &flen, p), APR_SUCCESS);
    *outlen = flen;
    return apr_pstrmemdup(p, flat, flen);
}

static void check(const fixture_t *fx, const apr_size_t *cuts, int ncuts)
{
    apr_pool_t *p;
    int flushes;
    char *got, *want;
    apr_size_t glen, wlen;

    apr_pool_create(&p, pool);
    want = expected(p, fx, &wlen);
    got = run(p, fx->doc, doc_len(fx), cuts, ncuts, &flushes, &glen);
    if (glen != wlen || memcmp(got, want, wlen)) {
        fail_msg("doc '%s' (%zu bytes) cut %d times: got '%s' (%zu bytes)", fx->doc, doc_len(fx),
                 ncuts, got, glen);
    }
    assert_int_equal(flushes, ncuts + 1);
    assert_int_equal(last_offset, expected_offset(fx));
    assert_int_equal(last_inserted, expected_offset(fx) != SHS_INJECT_NONE);
    got = run_known(p, fx->doc, doc_len(fx), last_offset, cuts, ncuts, &glen);
    if (glen != wlen || memcmp(got, want, wlen)) {
        fail_msg("doc '%s' (%zu bytes) cut %d times, offset known: got '%s' (%zu bytes)", fx->doc,
                 doc_len(fx), ncuts, got, glen);
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
        for (cut = 0; cut <= doc_len(&fixtures[i]); cut++) {
            check(&fixtures[i], &cut, 1);
        }
    }
}

static void test_byte_by_byte(void **state)
{
    apr_size_t i, j, cuts[128];

    for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        apr_size_t len = doc_len(&fixtures[i]);
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
        apr_size_t len = doc_len(&fixtures[i]);
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
    fixture_t fx = { .doc = NULL };

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

/* A bucket whose data must never be read (nor split, set aside or copied): what a known
 * layout of SHS_INJECT_NONE passes on. */
static int noread_reads;

static apr_status_t noread_read(apr_bucket *b, const char **str, apr_size_t *len,
                                apr_read_type_e block)
{
    noread_reads++;
    *str = NULL;
    *len = 0;
    return APR_ENOTIMPL;
}

static const apr_bucket_type_t noread_type = { "NOREAD",
                                               5,
                                               APR_BUCKET_DATA,
                                               apr_bucket_destroy_noop,
                                               noread_read,
                                               apr_bucket_setaside_notimpl,
                                               apr_bucket_split_notimpl,
                                               apr_bucket_copy_notimpl };

static apr_bucket *noread_create(apr_size_t len)
{
    apr_bucket *b = apr_bucket_alloc(sizeof(*b), ba);

    APR_BUCKET_INIT(b);
    b->free = apr_bucket_free;
    b->list = ba;
    b->type = &noread_type;
    b->length = len;
    b->start = 0;
    b->data = NULL;
    return b;
}

/* A known layout of SHS_INJECT_NONE: every bucket passes as it is, in order, without a read
 * (also one of unknown length), at the first call; done, no tags. */
static void test_known_none_reads_nothing(void **state)
{
    static const apr_off_t nones[] = { SHS_INJECT_NONE, -3, -1000 };
    apr_size_t i;

    for (i = 0; i < sizeof(nones) / sizeof(nones[0]); i++) {
        shs_inject_t *ij = shs_inject_create(pool, TAGS, strlen(TAGS));
        apr_bucket_brigade *in = apr_brigade_create(pool, ba), *out = apr_brigade_create(pool, ba);
        apr_bucket *bs[5], *e;
        int k, done = 0;

        bs[0] = noread_create(10);
        bs[1] = apr_bucket_flush_create(ba);
        bs[2] = noread_create((apr_size_t)-1);
        bs[3] = noread_create(3);
        bs[4] = apr_bucket_eos_create(ba);
        for (k = 0; k < 5; k++) {
            APR_BRIGADE_INSERT_TAIL(in, bs[k]);
        }
        noread_reads = 0;
        shs_inject_set_offset(ij, nones[i]);
        assert_int_equal(shs_inject_brigade(ij, in, out, &done), APR_SUCCESS);
        assert_true(done);
        assert_true(APR_BRIGADE_EMPTY(in));
        assert_int_equal(noread_reads, 0);
        k = 0;
        for (e = APR_BRIGADE_FIRST(out); e != APR_BRIGADE_SENTINEL(out); e = APR_BUCKET_NEXT(e)) {
            assert_true(k < 5);
            assert_ptr_equal(e, bs[k++]);
        }
        assert_int_equal(k, 5);
        assert_int_equal(shs_inject_offset(ij), SHS_INJECT_NONE);
        assert_false(shs_inject_inserted(ij));
        apr_brigade_cleanup(out);
    }
}

/* Known SHS_INJECT_NONE, data coming in several brigades: the first call is done already,
 * later ones (as the filter would make if it stayed) pass everything through too. */
static void test_known_none_later_brigades(void **state)
{
    shs_inject_t *ij = shs_inject_create(pool, TAGS, strlen(TAGS));
    apr_bucket_brigade *in = apr_brigade_create(pool, ba), *out = apr_brigade_create(pool, ba);
    char *flat;
    apr_size_t flen;
    int done = 0;

    shs_inject_set_offset(ij, SHS_INJECT_NONE);
    APR_BRIGADE_INSERT_TAIL(in, apr_bucket_immortal_create("<p>a</p>", 8, ba));
    assert_int_equal(shs_inject_brigade(ij, in, out, &done), APR_SUCCESS);
    assert_true(done);
    APR_BRIGADE_INSERT_TAIL(in, apr_bucket_immortal_create("</body>", 7, ba));
    APR_BRIGADE_INSERT_TAIL(in, apr_bucket_eos_create(ba));
    assert_int_equal(shs_inject_brigade(ij, in, out, &done), APR_SUCCESS);
    assert_true(done);
    assert_true(APR_BRIGADE_EMPTY(in));
    assert_int_equal(apr_brigade_pflatten(out, &flat, &flen, pool), APR_SUCCESS);
    assert_int_equal(flen, 15);
    assert_memory_equal(flat, "<p>a</p></body>", 15);
    assert_int_equal(shs_inject_offset(ij), SHS_INJECT_NONE);
    apr_brigade_cleanup(out);
}

/* A known offset past the end of the document: the layout is not the one remembered, so the
 * end is not known to be text either: no tags. */
static void test_known_offset_past_the_end(void **state)
{
    static const char doc[] = "<textarea>";
    shs_inject_t *ij = shs_inject_create(pool, TAGS, strlen(TAGS));
    apr_bucket_brigade *in = apr_brigade_create(pool, ba), *out = apr_brigade_create(pool, ba);
    char *flat;
    apr_size_t flen;
    int done = 0;

    shs_inject_set_offset(ij, 100);
    APR_BRIGADE_INSERT_TAIL(in, apr_bucket_immortal_create(doc, strlen(doc), ba));
    APR_BRIGADE_INSERT_TAIL(in, apr_bucket_eos_create(ba));
    while (!APR_BRIGADE_EMPTY(in)) {
        assert_int_equal(shs_inject_brigade(ij, in, out, &done), APR_SUCCESS);
    }
    assert_true(done);
    assert_int_equal(apr_brigade_pflatten(out, &flat, &flen, pool), APR_SUCCESS);
    assert_int_equal(flen, strlen(doc));
    assert_memory_equal(flat, doc, flen);
    assert_int_equal(shs_inject_offset(ij), SHS_INJECT_NONE);
    assert_false(shs_inject_inserted(ij));
    apr_brigade_cleanup(out);
}

/* The first bytes one at a time: held (never more than 3) until they tell; with a byte-order
 * mark, done as soon as it is complete, and everything passes as it is. */
static void test_bom_split(void **state)
{
    static const struct {
        const char *doc;
        apr_size_t len, bom; /* bom: its length, 0 for none */
    } cases[] = {
        { "\0\0\xfe\xff\0\0\0<", 8, 4 },
        { "\xff\xfe\0\0<\0\0\0", 8, 2 },
        { "\xfe\xff\0<", 4, 2 },
        { "\0\0\xfe"
          "xyz",
          6, 0 },
    };
    apr_size_t c, i;

    for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        shs_inject_t *ij = shs_inject_create(pool, TAGS, strlen(TAGS));
        apr_bucket_brigade *in = apr_brigade_create(pool, ba), *out = apr_brigade_create(pool, ba);
        apr_off_t olen = 0;
        int done = 0;

        for (i = 0; i < cases[c].len; i++) {
            APR_BRIGADE_INSERT_TAIL(in, apr_bucket_immortal_create(cases[c].doc + i, 1, ba));
            APR_BRIGADE_INSERT_TAIL(in, apr_bucket_flush_create(ba));
            while (!APR_BRIGADE_EMPTY(in)) {
                assert_int_equal(shs_inject_brigade(ij, in, out, &done), APR_SUCCESS);
            }
            assert_int_equal(apr_brigade_length(out, 1, &olen), APR_SUCCESS);
            if (cases[c].bom && i + 1 >= cases[c].bom) {
                /* decided: no tags, nothing held */
                assert_true(done);
                assert_int_equal(olen, (apr_off_t)(i + 1));
                assert_int_equal(shs_inject_offset(ij), SHS_INJECT_NONE);
            }
            else if (i < 3) {
                /* undecided: everything held, at most 3 bytes */
                assert_false(done);
                assert_int_equal(olen, 0);
            }
            else {
                assert_false(done);
                assert_int_equal(olen, (apr_off_t)(i + 1));
            }
        }
        APR_BRIGADE_INSERT_TAIL(in, apr_bucket_eos_create(ba));
        while (!APR_BRIGADE_EMPTY(in)) {
            assert_int_equal(shs_inject_brigade(ij, in, out, &done), APR_SUCCESS);
        }
        assert_true(done);
        assert_int_equal(shs_inject_inserted(ij), cases[c].bom == 0);
        assert_int_equal(apr_brigade_length(out, 1, &olen), APR_SUCCESS);
        assert_int_equal(olen, (apr_off_t)(cases[c].len + (cases[c].bom ? 0 : strlen(TAGS))));
        apr_brigade_cleanup(out);
    }
}

/* The two outcome constants keep their values: -1 is what earlier callers remembered for
 * "before EOS". */
static void test_constants(void **state)
{
    assert_int_equal(SHS_INJECT_AT_EOS, -1);
    assert_int_equal(SHS_INJECT_NONE, -2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole),
        cmocka_unit_test(test_every_split_point),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_random_chunks),
        cmocka_unit_test(test_large_page),
        cmocka_unit_test(test_known_none_reads_nothing),
        cmocka_unit_test(test_known_none_later_brigades),
        cmocka_unit_test(test_known_offset_past_the_end),
        cmocka_unit_test(test_bom_split),
        cmocka_unit_test(test_constants),
    };
    return cmocka_run_group_tests_name("shs_inject", tests, setup, teardown);
}
