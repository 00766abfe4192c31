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

/* libFuzzer target: the streaming `</body` scanner (src/shs_html.c) and the bucket splicer
 * built on it (src/shs_inject.c).
 *
 * Input layout:
 *   [0]        low 4 bits: n, how many chunk sizes follow (0: the document is one chunk);
 *              bit 4: a FLUSH bucket after every chunk; bit 5: two chunks per
 *              shs_inject_brigade() call instead of one
 *   [1..n]     chunk sizes, used in turn; 0 is an empty chunk (an empty call to the scanner,
 *              an empty bucket for the splicer)
 *   [n+1..]    the document
 *
 * Invariants:
 *  - scanning in chunks finds the same insertion offset as one whole-buffer scan (or none),
 *    and when there is none, gives the same shs_html_scan_can_append() answer;
 *  - a negative offset reaches back only into the bytes held at the previous call;
 *  - hold never exceeds SHS_HTML_MAX_HOLD nor what was scanned, and the held bytes are a
 *    case-insensitive prefix of "</body";
 *  - at the offset found there is `</body` followed by whitespace, '/' or '>';
 *  - after FOUND the scanner stays finished, and shs_html_scan_can_append() is 0;
 *  - when nothing is found, shs_html_scan_can_append() agrees with the scanner itself: a
 *    `</body>` appended to the document is found right at its end when the answer is 1, and
 *    when the answer is 0 only if the document ends with a bare `<` (refused on purpose);
 *  - the splicer, fed the same chunks as buckets, outputs exactly the document with the tags
 *    at that offset, or at the end when appending is allowed, or the document unchanged
 *    (shs_inject_offset() SHS_INJECT_NONE, shs_inject_inserted() 0) when it is not or the
 *    document starts with a UTF-16/32 byte-order mark; it never keeps back more than
 *    SHS_HTML_MAX_HOLD bytes, consumes its whole input brigade each time and passes EOS
 *    last.  The same with the outcome known in advance (shs_inject_set_offset()). */

#include <stdint.h>
#include <string.h>

#include <apr_buckets.h>

#include "fuzz_common.h"
#include "shs_html.h"
#include "shs_inject.h"

#define FLAG_FLUSH 0x10
#define FLAG_PAIRS 0x20

static int is_follower(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '/' || c == '>';
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* The chunking: sizes[k % n], an empty chunk never repeating forever. */
typedef struct chunker_t {
    const uint8_t *sizes;
    size_t nsizes, k, pos, len;
    int empties; /* consecutive empty chunks */
} chunker_t;

/* Length of the next chunk, or -1 at the end. */
static long next_chunk(chunker_t *c)
{
    size_t rest = c->len - c->pos, n;

    if (rest == 0) {
        return -1;
    }
    if (c->nsizes == 0) {
        n = rest;
    }
    else {
        n = c->sizes[c->k++ % c->nsizes];
        if (n == 0 && ++c->empties > (int)c->nsizes) {
            n = rest; /* all sizes are 0 */
        }
        if (n) {
            c->empties = 0;
        }
        if (n > rest) {
            n = rest;
        }
    }
    return (long)n;
}

/* One scan of the whole document: the offset of the insertion point, or -1.  *append is
 * shs_html_scan_can_append() at the end. */
static long whole_scan(const char *doc, size_t len, int *append)
{
    shs_html_scan_t s;
    apr_ssize_t at = 12345;
    apr_size_t hold = 12345;

    shs_html_scan_init(&s);
    if (shs_html_scan(&s, doc, len, &at, &hold) == SHS_HTML_FOUND) {
        FUZZ_CHECK(at >= 0 && (size_t)at + 6 < len);
        FUZZ_CHECK(hold == 0);
        *append = shs_html_scan_can_append(&s);
        FUZZ_CHECK(*append == 0);
        return (long)at;
    }
    FUZZ_CHECK(at == 0);
    FUZZ_CHECK(hold <= SHS_HTML_MAX_HOLD && hold <= len);
    *append = shs_html_scan_can_append(&s);
    FUZZ_CHECK(*append == 0 || *append == 1);
    return -1;
}

/* No insertion point: compare shs_html_scan_can_append() with what the scanner makes of a
 * `</body>` appended to the document. */
static void check_append(const char *doc, size_t len, int append)
{
    static const char end[] = "</body>";
    char *ext = malloc(len + sizeof(end) - 1);
    shs_html_scan_t s;
    apr_ssize_t at = 12345;
    int at_end;

    FUZZ_CHECK(ext != NULL);
    memcpy(ext, doc, len);
    memcpy(ext + len, end, sizeof(end) - 1);
    shs_html_scan_init(&s);
    at_end = shs_html_scan(&s, ext, len + sizeof(end) - 1, &at, NULL) == SHS_HTML_FOUND &&
             at == (apr_ssize_t)len;
    if (append) {
        FUZZ_CHECK(at_end); /* text at the end: appended markup is markup */
    }
    else if (at_end) {
        FUZZ_CHECK(len > 0 && doc[len - 1] == '<'); /* the one refusal on purpose */
    }
    free(ext);
}

/* Does the document start with a UTF-16 or UTF-32 byte-order mark?  (FF FE 00 00 starts
 * with FF FE.) */
static int has_bom(const char *doc, size_t len)
{
    const unsigned char *d = (const unsigned char *)doc;

    return (len >= 2 && ((d[0] == 0xff && d[1] == 0xfe) || (d[0] == 0xfe && d[1] == 0xff))) ||
           (len >= 4 && d[0] == 0 && d[1] == 0 && d[2] == 0xfe && d[3] == 0xff);
}

static void check_match(const char *doc, size_t len, long at)
{
    static const char token[] = "</body";
    size_t i;

    FUZZ_CHECK(at >= 0 && (size_t)at + 6 < len);
    for (i = 0; i < 6; i++) {
        FUZZ_CHECK(lower((unsigned char)doc[at + (long)i]) == (unsigned char)token[i]);
    }
    FUZZ_CHECK(is_follower((unsigned char)doc[at + 6]));
}

/* The scanner fed chunk by chunk; returns the absolute offset found, or -1.  *append is
 * shs_html_scan_can_append() at the end. */
static long chunked_scan(const char *doc, size_t len, const uint8_t *sizes, size_t nsizes,
                         int *append)
{
    static const char token[] = "</body";
    chunker_t c = { sizes, nsizes, 0, 0, len, 0 };
    shs_html_scan_t s;
    size_t prev_hold = 0, i;
    long n, found = -1;

    shs_html_scan_init(&s);
    while ((n = next_chunk(&c)) >= 0) {
        apr_ssize_t at = 12345;
        apr_size_t hold = 12345;
        shs_html_result_e r;
        /* an empty chunk is passed as NULL, as the API allows */
        r = shs_html_scan(&s, n ? doc + c.pos : NULL, (apr_size_t)n, &at, &hold);
        if (r == SHS_HTML_FOUND) {
            FUZZ_CHECK(found < 0);
            FUZZ_CHECK(at < n);
            FUZZ_CHECK(at >= -(apr_ssize_t)prev_hold && at >= -6);
            FUZZ_CHECK(hold == 0);
            found = (long)c.pos + (long)at;
            prev_hold = 0;
            /* finished: further calls answer MORE with nothing held */
            r = shs_html_scan(&s, doc, len, &at, &hold);
            FUZZ_CHECK(r == SHS_HTML_MORE && at == 0 && hold == 0);
        }
        else {
            FUZZ_CHECK(r == SHS_HTML_MORE);
            FUZZ_CHECK(at == 0);
            FUZZ_CHECK(hold <= SHS_HTML_MAX_HOLD && hold <= 6);
            FUZZ_CHECK(hold <= c.pos + (size_t)n);
            if (found >= 0) {
                FUZZ_CHECK(hold == 0);
            }
            /* the held bytes may still become `</body`: a prefix of it */
            for (i = 0; i < hold; i++) {
                unsigned char b = (unsigned char)doc[c.pos + (size_t)n - hold + i];
                FUZZ_CHECK(lower(b) == (unsigned char)token[i]);
            }
            prev_hold = hold;
        }
        c.pos += (size_t)n;
    }
    *append = shs_html_scan_can_append(&s);
    return found;
}

/* Flatten the data of bb into a new malloc()ed buffer; *eos is the number of EOS buckets and
 * *last_eos whether the last bucket is one. */
static char *flatten(apr_bucket_brigade *bb, size_t *len, int *eos, int *last_eos)
{
    apr_bucket *b;
    size_t total = 0, o = 0;
    char *out;

    *eos = 0;
    *last_eos = 0;
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = APR_BUCKET_NEXT(b)) {
        if (!APR_BUCKET_IS_METADATA(b)) {
            total += b->length;
        }
    }
    out = malloc(total + 1);
    FUZZ_CHECK(out != NULL);
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t n;
        *last_eos = APR_BUCKET_IS_EOS(b);
        if (APR_BUCKET_IS_EOS(b)) {
            (*eos)++;
        }
        if (APR_BUCKET_IS_METADATA(b)) {
            continue;
        }
        FUZZ_CHECK(apr_bucket_read(b, &data, &n, APR_BLOCK_READ) == APR_SUCCESS);
        FUZZ_CHECK(o + n <= total);
        memcpy(out + o, data, n);
        o += n;
    }
    *len = o;
    return out;
}

static apr_off_t data_length(apr_bucket_brigade *bb)
{
    apr_off_t n = 0;

    FUZZ_CHECK(apr_brigade_length(bb, 1, &n) == APR_SUCCESS);
    return n;
}

/* The splicer over the same chunking; the output must be the document with the tags at
 * `expect` (an offset, or SHS_INJECT_AT_EOS: at the end), or the document unchanged
 * (SHS_INJECT_NONE), and shs_inject_offset() must say so.  `bom`: the document starts with a
 * byte-order mark (the splicer may finish before the end).  With `known`, the splicer is told
 * the outcome in advance (shs_inject_set_offset) and must get the same result without
 * scanning. */
static void inject(apr_pool_t *p, const char *doc, size_t len, const uint8_t *sizes, size_t nsizes,
                   int flags, apr_off_t expect, int bom, int known)
{
    static const char tags[] = FUZZ_TAGS;
    const size_t tlen = sizeof(tags) - 1;
    chunker_t c = { sizes, nsizes, 0, 0, len, 0 };
    apr_bucket_alloc_t *ba = apr_bucket_alloc_create(p);
    apr_bucket_brigade *in = apr_brigade_create(p, ba), *out = apr_brigade_create(p, ba);
    apr_bucket_brigade *all = apr_brigade_create(p, ba);
    shs_inject_t *ij = shs_inject_create(p, tags, tlen);
    size_t given = 0, olen = 0, at, added = expect == SHS_INJECT_NONE ? 0 : tlen;

    if (known) {
        shs_inject_set_offset(ij, expect);
    }
    long n;
    int done = 0, eos, last_eos, last = 0, inchunk = 0;
    char *flat;

    while (!last) {
        n = next_chunk(&c);
        if (n < 0) {
            APR_BRIGADE_INSERT_TAIL(in, apr_bucket_eos_create(ba));
            last = 1;
        }
        else {
            /* transient buckets over the document: the splicer must not copy more than the
             * few bytes it holds back */
            APR_BRIGADE_INSERT_TAIL(in,
                                    n ? apr_bucket_transient_create(doc + c.pos, (apr_size_t)n, ba)
                                      : apr_bucket_immortal_create("", 0, ba));
            if (flags & FLAG_FLUSH) {
                APR_BRIGADE_INSERT_TAIL(in, apr_bucket_flush_create(ba));
            }
            c.pos += (size_t)n;
            given += (size_t)n;
            if ((flags & FLAG_PAIRS) && ++inchunk < 2) {
                continue;
            }
            inchunk = 0;
        }
        /* like the filter: call until the input is used up (one data bucket a call) */
        while (!APR_BRIGADE_EMPTY(in)) {
            apr_bucket *first = APR_BRIGADE_FIRST(in);
            FUZZ_CHECK(shs_inject_brigade(ij, in, out, &done) == APR_SUCCESS);
            FUZZ_CHECK(known || APR_BRIGADE_EMPTY(in) || APR_BRIGADE_FIRST(in) != first);
        }
        /* what came out of this call joins the rest (measuring only the new part) */
        olen += (size_t)data_length(out);
        APR_BRIGADE_CONCAT(all, out);
        if (!done) {
            FUZZ_CHECK(olen <= given && given - olen <= SHS_HTML_MAX_HOLD);
        }
        else {
            /* nothing held once the tags are out, or once it is decided they will not be */
            FUZZ_CHECK(olen == given + added);
            /* early only at an insertion point, at a byte-order mark, or when told "none" */
            FUZZ_CHECK(expect >= 0 || (expect == SHS_INJECT_NONE && (bom || known)) || last);
        }
    }
    FUZZ_CHECK(done);
    FUZZ_CHECK(shs_inject_offset(ij) == expect);
    FUZZ_CHECK(shs_inject_inserted(ij) == (expect != SHS_INJECT_NONE));

    flat = flatten(all, &olen, &eos, &last_eos);
    FUZZ_CHECK(eos == 1 && last_eos);
    if (expect == SHS_INJECT_NONE) {
        /* nothing inserted: the output is the input, byte for byte */
        FUZZ_CHECK(olen == len);
        FUZZ_CHECK(memcmp(flat, doc, len) == 0);
    }
    else {
        FUZZ_CHECK(olen == len + tlen);
        at = expect >= 0 ? (size_t)expect : len;
        FUZZ_CHECK(memcmp(flat, doc, at) == 0);
        FUZZ_CHECK(memcmp(flat + at, tags, tlen) == 0);
        FUZZ_CHECK(memcmp(flat + at + tlen, doc + at, len - at) == 0);
    }
    free(flat);
    apr_brigade_destroy(all);
    apr_brigade_destroy(out);
    apr_brigade_destroy(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const uint8_t *sizes;
    size_t nsizes, len;
    int flags;
    char *doc;
    long whole, chunked;
    int append, chunked_append, bom;
    apr_off_t expect;

    if (size == 0) {
        return 0;
    }
    flags = data[0];
    nsizes = (size_t)(data[0] & 0x0f);
    if (nsizes > size - 1) {
        nsizes = size - 1;
    }
    sizes = data + 1;
    len = size - 1 - nsizes;
    /* an exact-size copy, so that reading past the document is caught */
    doc = malloc(len ? len : 1);
    FUZZ_CHECK(doc != NULL);
    memcpy(doc, data + 1 + nsizes, len);

    whole = whole_scan(doc, len, &append);
    if (whole >= 0) {
        check_match(doc, len, whole);
    }
    else {
        check_append(doc, len, append);
    }
    chunked = chunked_scan(doc, len, sizes, nsizes, &chunked_append);
    if (chunked != whole || chunked_append != append) {
        fprintf(stderr, "fuzz_html: whole-buffer scan: %ld (append %d), chunked scan: %ld (%d)\n",
                whole, append, chunked, chunked_append);
        FUZZ_CHECK(chunked == whole && chunked_append == append);
    }

    /* what the splicer must do */
    bom = has_bom(doc, len);
    if (bom) {
        expect = SHS_INJECT_NONE;
    }
    else if (whole >= 0) {
        expect = (apr_off_t)whole;
    }
    else {
        expect = append ? SHS_INJECT_AT_EOS : SHS_INJECT_NONE;
    }

    FUZZ_CHECK(apr_pool_create(&p, fuzz_root_pool()) == APR_SUCCESS);
    inject(p, doc, len, sizes, nsizes, flags, expect, bom, 0);
    inject(p, doc, len, sizes, nsizes, flags, expect, bom, 1);
    apr_pool_destroy(p);
    free(doc);
    return 0;
}
