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

/* stddef.h before the APR headers: with it clang's UBSan accepts APR's bucket ring macros */
#include <stddef.h>
#include <string.h>

#include <apr_buckets.h>

#include "shs_html.h"
#include "shs_inject.h"

/* UTF-16 and UTF-32 byte-order marks.  ASCII tags inside such a document would be garbage,
 * or worse.  UTF-32LE's FF FE 00 00 starts with UTF-16LE's FF FE: two bytes decide it. */
typedef struct bom_t {
    const char *bytes;
    apr_size_t len;
} bom_t;

#define BOM_MAX_LEN 4

static const bom_t boms[] = {
    { "\xff\xfe", 2 },         /* UTF-16LE (and UTF-32LE: FF FE 00 00) */
    { "\xfe\xff", 2 },         /* UTF-16BE */
    { "\x00\x00\xfe\xff", 4 }, /* UTF-32BE */
};

enum { BOM_NO = 0, BOM_YES, BOM_MAYBE };

/* Do the first n bytes of the stream (n <= BOM_MAX_LEN) start with a byte-order mark, or may
 * they still, with more bytes? */
static int bom_verdict(const char *p, apr_size_t n)
{
    int maybe = 0;
    apr_size_t i;

    for (i = 0; i < sizeof(boms) / sizeof(boms[0]); i++) {
        if (n >= boms[i].len) {
            if (memcmp(p, boms[i].bytes, boms[i].len) == 0) {
                return BOM_YES;
            }
        }
        else if (memcmp(p, boms[i].bytes, n) == 0) {
            maybe = 1;
        }
    }
    return maybe ? BOM_MAYBE : BOM_NO;
}

struct shs_inject_t {
    shs_html_scan_t scan;
    apr_pool_t *pool;
    const char *tags; /* NULL once sent, or once it is decided that they are not */
    apr_size_t tags_len;
    char held[SHS_HTML_MAX_HOLD];
    apr_size_t nheld;
    char head[BOM_MAX_LEN - 1]; /* the first bytes, while they may start a byte-order mark */
    apr_size_t nhead;
    int head_done;    /* the start of the stream is known: no UTF-16/32 byte-order mark */
    apr_off_t seen;   /* data bytes of the stream read (or counted) so far */
    apr_off_t placed; /* where the tags went: an offset, SHS_INJECT_AT_EOS, SHS_INJECT_NONE */
    int inserted;     /* the tags went out */
    int known;        /* shs_inject_set_offset() was called: count, do not scan */
    apr_off_t known_at;
};

shs_inject_t *shs_inject_create(apr_pool_t *p, const char *tags, apr_size_t len)
{
    shs_inject_t *ij = apr_pcalloc(p, sizeof(*ij));

    shs_html_scan_init(&ij->scan);
    ij->pool = p;
    ij->tags = tags;
    ij->tags_len = len;
    ij->placed = SHS_INJECT_AT_EOS;
    return ij;
}

void shs_inject_set_offset(shs_inject_t *ij, apr_off_t at)
{
    ij->known = 1;
    ij->known_at = at < SHS_INJECT_AT_EOS ? SHS_INJECT_NONE : at;
}

apr_off_t shs_inject_offset(const shs_inject_t *ij)
{
    return ij->placed;
}

int shs_inject_inserted(const shs_inject_t *ij)
{
    return ij->inserted;
}

static void emit_copy(apr_bucket_brigade *out, const char *data, apr_size_t len)
{
    if (len) {
        APR_BRIGADE_INSERT_TAIL(out, apr_bucket_heap_create(data, len, NULL, out->bucket_alloc));
    }
}

static void emit_tags(shs_inject_t *ij, apr_bucket_brigade *out)
{
    APR_BRIGADE_INSERT_TAIL(
        out, apr_bucket_pool_create(ij->tags, ij->tags_len, ij->pool, out->bucket_alloc));
    ij->tags = NULL;
    ij->inserted = 1;
}

/* The tags will not go in: the rest of the stream passes as it is. */
static void give_up(shs_inject_t *ij)
{
    ij->tags = NULL;
    ij->placed = SHS_INJECT_NONE;
}

static void move(apr_bucket *b, apr_bucket_brigade *out)
{
    APR_BUCKET_REMOVE(b);
    APR_BRIGADE_INSERT_TAIL(out, b);
}

/* Send the first n bytes of bucket b on; return the bucket holding the rest. */
static apr_bucket *pass_head(apr_bucket *b, apr_size_t n, apr_bucket_brigade *out)
{
    apr_bucket *rest;

    apr_bucket_split(b, n);
    rest = APR_BUCKET_NEXT(b);
    move(b, out);
    return rest;
}

/* One data bucket b (its data/len already read) through the scanner. */
static void feed(shs_inject_t *ij, apr_bucket *b, const char *data, apr_size_t len,
                 apr_bucket_brigade *out)
{
    apr_ssize_t at = 0;
    apr_size_t hold = 0;
    char keep[SHS_HTML_MAX_HOLD];

    if (shs_html_scan(&ij->scan, data, len, &at, &hold) == SHS_HTML_FOUND) {
        ij->placed = ij->seen + at; /* at < 0: among the held bytes, just before data */
        if (at >= 0) {
            /* held bytes, data[0..at), tags, data[at..) */
            emit_copy(out, ij->held, ij->nheld);
            if (at > 0) {
                b = pass_head(b, (apr_size_t)at, out);
            }
            emit_tags(ij, out);
            move(b, out);
        }
        else {
            /* the '<' lies -at bytes before the end of the held bytes */
            apr_size_t cut = ij->nheld - (apr_size_t)(-at);
            emit_copy(out, ij->held, cut);
            emit_tags(ij, out);
            emit_copy(out, ij->held + cut, ij->nheld - cut);
            move(b, out);
        }
        ij->nheld = 0;
        return;
    }
    /* Not yet: all but the last `hold` bytes of held + data may go. */
    if (hold <= len) {
        emit_copy(out, ij->held, ij->nheld);
        memcpy(keep, data + len - hold, hold);
        if (len > hold) {
            b = pass_head(b, len - hold, out);
        }
        apr_bucket_delete(b);
    }
    else {
        apr_size_t from_old = hold - len; /* < nheld */
        emit_copy(out, ij->held, ij->nheld - from_old);
        memcpy(keep, ij->held + ij->nheld - from_old, from_old);
        memcpy(keep + from_old, data, len);
        apr_bucket_delete(b);
    }
    memcpy(ij->held, keep, hold);
    ij->nheld = hold;
    ij->seen += (apr_off_t)len;
}

/* The first bytes, kept while they might have been a byte-order mark, are not one: they go
 * through the scanner, ahead of `next` (the next data bucket, or EOS). */
static void release_head(shs_inject_t *ij, apr_bucket *next, apr_bucket_brigade *out)
{
    apr_bucket *h;
    const char *data;
    apr_size_t len;

    ij->head_done = 1;
    if (ij->nhead == 0) {
        return;
    }
    /* a copy in a heap bucket, scanned like any data bucket (reading it cannot fail) */
    h = apr_bucket_heap_create(ij->head, ij->nhead, NULL, out->bucket_alloc);
    ij->nhead = 0;
    APR_BUCKET_INSERT_BEFORE(next, h);
    if (apr_bucket_read(h, &data, &len, APR_BLOCK_READ) == APR_SUCCESS) {
        feed(ij, h, data, len, out);
    }
}

/* Data bucket b (data/len, len > 0) while the start of the stream is not known yet.  Returns
 * 1 when b was used up here (kept as a possible byte-order mark, or passed on after one),
 * 0 when b is to be scanned now (the first bytes, if any, went through the scanner). */
static int check_head(shs_inject_t *ij, apr_bucket *b, const char *data, apr_size_t len,
                      apr_bucket_brigade *out)
{
    char first[BOM_MAX_LEN];
    apr_size_t k = BOM_MAX_LEN - ij->nhead;

    if (k > len) {
        k = len;
    }
    memcpy(first, ij->head, ij->nhead);
    memcpy(first + ij->nhead, data, k);
    switch (bom_verdict(first, ij->nhead + k)) {
    case BOM_MAYBE:
        /* fewer than BOM_MAX_LEN bytes so far (k == len): keep them */
        memcpy(ij->head + ij->nhead, data, len);
        ij->nhead += len;
        apr_bucket_delete(b);
        return 1;
    case BOM_YES:
        emit_copy(out, ij->head, ij->nhead);
        ij->nhead = 0;
        ij->head_done = 1;
        give_up(ij);
        move(b, out);
        return 1;
    default:
        release_head(ij, b, out);
        return 0;
    }
}

/* shs_inject_brigade() for a known layout: no data is read. */
static apr_status_t place_known(shs_inject_t *ij, apr_bucket_brigade *in, apr_bucket_brigade *out)
{
    if (ij->tags && ij->known_at == SHS_INJECT_NONE) {
        give_up(ij);
    }
    while (ij->tags && !APR_BRIGADE_EMPTY(in)) {
        apr_bucket *b = APR_BRIGADE_FIRST(in);

        if (APR_BUCKET_IS_EOS(b)) {
            if (ij->known_at == SHS_INJECT_AT_EOS) {
                emit_tags(ij, out); /* no </body>, and the end is text */
            }
            else {
                /* shorter than the document whose layout was remembered: nothing is known
                 * about where it ends, so no tags */
                give_up(ij);
            }
            move(b, out);
            continue;
        }
        if (ij->known_at >= 0 && ij->seen == ij->known_at) {
            ij->placed = ij->seen;
            emit_tags(ij, out);
            continue;
        }
        if (APR_BUCKET_IS_METADATA(b)) {
            move(b, out);
            continue;
        }
        if (b->length == (apr_size_t)-1) {
            const char *data;
            apr_size_t len;
            apr_status_t rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
            if (rv != APR_SUCCESS) {
                return rv;
            }
        }
        if (ij->known_at >= 0 && ij->seen + (apr_off_t)b->length > ij->known_at) {
            apr_size_t head = (apr_size_t)(ij->known_at - ij->seen);
            apr_status_t rv = apr_bucket_split(b, head);
            if (rv != APR_SUCCESS) {
                return rv;
            }
        }
        ij->seen += (apr_off_t)b->length;
        move(b, out);
    }
    if (!ij->tags) {
        APR_BRIGADE_CONCAT(out, in);
    }
    return APR_SUCCESS;
}

apr_status_t shs_inject_brigade(shs_inject_t *ij, apr_bucket_brigade *in, apr_bucket_brigade *out,
                                int *done)
{
    if (ij->known) {
        apr_status_t rv = place_known(ij, in, out);
        *done = ij->tags == NULL;
        return rv;
    }
    while (!APR_BRIGADE_EMPTY(in)) {
        apr_bucket *b = APR_BRIGADE_FIRST(in);
        const char *data;
        apr_size_t len;
        apr_status_t rv;

        if (!ij->tags) {
            APR_BRIGADE_CONCAT(out, in);
            break;
        }
        if (APR_BUCKET_IS_EOS(b)) {
            if (!ij->head_done) {
                /* fewer bytes than a byte-order mark: scan them */
                release_head(ij, b, out);
                continue;
            }
            /* no </body>: the tags close the document, if its end is text; inside a
             * <textarea>, comment, tag, ... they would be text themselves: then none */
            emit_copy(out, ij->held, ij->nheld);
            ij->nheld = 0;
            if (shs_html_scan_can_append(&ij->scan)) {
                emit_tags(ij, out);
            }
            else {
                give_up(ij);
            }
            move(b, out);
            continue;
        }
        if (APR_BUCKET_IS_METADATA(b)) {
            move(b, out); /* held bytes (a partial "</body") wait for the next data */
            continue;
        }
        rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (len == 0) {
            apr_bucket_delete(b);
            continue;
        }
        if (!ij->head_done && check_head(ij, b, data, len, out)) {
            if (ij->tags) {
                break; /* b was read: the caller sends `out` on first */
            }
            continue; /* a byte-order mark: the rest passes as it is */
        }
        if (!ij->tags) {
            move(b, out); /* (the first bytes gave the insertion point: not possible) */
            continue;
        }
        feed(ij, b, data, len, out);
        if (ij->tags) {
            break; /* one data bucket at a time: the caller sends it on first */
        }
    }
    *done = ij->tags == NULL;
    return APR_SUCCESS;
}
