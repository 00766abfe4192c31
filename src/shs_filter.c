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

/* Streaming injection before </body> (or at the end of the document when there is none).
 *
 * The body is never buffered: each brigade is passed on as it comes, except for at most
 * SHS_HTML_MAX_HOLD bytes at its end that could be the start of "</body", kept in a small
 * array until the next brigade says whether they are.  Data buckets are split, not copied.
 * The filter steps aside at its first call for anything that is not a full, uncompressed
 * HTML page of the main request, and when no site needs tags. */

#include <string.h>

#include <apr_buckets.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>

#include "shs_private.h"
#include "shs_filter.h"
#include "shs_html.h"
#include "shs_provider.h"
#include "shs_push.h"

typedef struct inject_ctx_t {
    shs_html_scan_t scan;
    const char *tags;
    apr_size_t tags_len;
    char held[SHS_HTML_MAX_HOLD];
    apr_size_t nheld;
    apr_bucket_brigade *out;
    apr_pool_t *pool; /* the request's: the tags live there */
} inject_ctx_t;

static int is_html(const char *ct)
{
    return ct &&
           (!strncasecmp(ct, "text/html", 9) || !strncasecmp(ct, "application/xhtml+xml", 21));
}

/* Why this response gets no tags, or NULL when it may. */
static const char *unsuitable(request_rec *r)
{
    const char *enc;

    if (r->main) {
        return "sub-request";
    }
    if (r->header_only || r->method_number != M_GET) {
        return "not GET";
    }
    if (r->status != HTTP_OK) {
        return "status not 200";
    }
    if (!is_html(r->content_type)) {
        return "not HTML";
    }
    enc = apr_table_get(r->headers_out, "Content-Encoding");
    if (!enc) {
        enc = apr_table_get(r->err_headers_out, "Content-Encoding");
    }
    if (enc && strcasecmp(enc, "identity")) {
        return "encoded";
    }
    if (apr_table_get(r->headers_out, "Content-Range")) {
        return "partial";
    }
    return NULL;
}

static void emit_copy(inject_ctx_t *ctx, apr_bucket_alloc_t *ba, const char *data, apr_size_t len)
{
    if (len) {
        APR_BRIGADE_INSERT_TAIL(ctx->out, apr_bucket_heap_create(data, len, NULL, ba));
    }
}

static void emit_tags(inject_ctx_t *ctx, apr_bucket_alloc_t *ba)
{
    APR_BRIGADE_INSERT_TAIL(ctx->out,
                            apr_bucket_pool_create(ctx->tags, ctx->tags_len, ctx->pool, ba));
    ctx->tags = NULL; /* done */
}

/* Send the first n bytes of bucket b on; return the bucket holding the rest. */
static apr_bucket *pass_head(inject_ctx_t *ctx, apr_bucket *b, apr_size_t n)
{
    apr_bucket *rest;

    apr_bucket_split(b, n);
    rest = APR_BUCKET_NEXT(b);
    APR_BUCKET_REMOVE(b);
    APR_BRIGADE_INSERT_TAIL(ctx->out, b);
    return rest;
}

/* Feed one data bucket b (data/len already read) through the scanner.  b is moved, split or
 * deleted; what may be sent goes to ctx->out. */
static apr_status_t feed(inject_ctx_t *ctx, apr_bucket *b, const char *data, apr_size_t len,
                         apr_bucket_alloc_t *ba)
{
    apr_ssize_t at = 0;
    apr_size_t hold = 0;
    char keep[SHS_HTML_MAX_HOLD];

    if (shs_html_scan(&ctx->scan, data, len, &at, &hold) == SHS_HTML_FOUND) {
        if (at >= 0) {
            /* held bytes, data[0..at), tags, data[at..) */
            emit_copy(ctx, ba, ctx->held, ctx->nheld);
            if (at > 0) {
                b = pass_head(ctx, b, (apr_size_t)at);
            }
            APR_BUCKET_REMOVE(b);
            emit_tags(ctx, ba);
            APR_BRIGADE_INSERT_TAIL(ctx->out, b);
        }
        else {
            /* the '<' is -at bytes before the end of the held bytes */
            apr_size_t cut = ctx->nheld - (apr_size_t)(-at);
            emit_copy(ctx, ba, ctx->held, cut);
            emit_tags(ctx, ba);
            emit_copy(ctx, ba, ctx->held + cut, ctx->nheld - cut);
            APR_BUCKET_REMOVE(b);
            APR_BRIGADE_INSERT_TAIL(ctx->out, b);
        }
        ctx->nheld = 0;
        return APR_SUCCESS;
    }
    /* Not yet: everything but the last `hold` bytes of held + data may go. */
    if (hold <= len) {
        emit_copy(ctx, ba, ctx->held, ctx->nheld);
        memcpy(keep, data + len - hold, hold);
        if (len - hold > 0) {
            b = pass_head(ctx, b, len - hold);
        }
        apr_bucket_delete(b);
    }
    else {
        apr_size_t from_old = hold - len; /* < nheld */
        emit_copy(ctx, ba, ctx->held, ctx->nheld - from_old);
        memcpy(keep, ctx->held + ctx->nheld - from_old, from_old);
        memcpy(keep + from_old, data, len);
        apr_bucket_delete(b);
    }
    memcpy(ctx->held, keep, hold);
    ctx->nheld = hold;
    return APR_SUCCESS;
}

apr_status_t shs_filter_inject(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    inject_ctx_t *ctx = f->ctx;
    apr_bucket_alloc_t *ba = f->c->bucket_alloc;
    apr_status_t rv;

    if (!ctx) {
        const char *why = unsuitable(r), *id = NULL, *tags = NULL;
        if (!why && !(id = shs_provider_id(r))) {
            why = "no session";
        }
        if (!why && !(tags = shs_push_tags(r, id))) {
            why = "nothing to push";
        }
        if (why) {
            ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "SHS00504: no loader tags: %s", why);
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        f->ctx = ctx = apr_pcalloc(r->pool, sizeof(*ctx));
        shs_html_scan_init(&ctx->scan);
        ctx->tags = tags;
        ctx->tags_len = strlen(tags);
        ctx->out = apr_brigade_create(r->pool, ba);
        ctx->pool = r->pool;
        /* the page now differs per visitor and carries tokens */
        apr_table_unset(r->headers_out, "Content-Length");
        apr_table_unset(r->headers_out, "ETag");
        apr_table_unset(r->headers_out, "Last-Modified");
        apr_table_unset(r->headers_out, "Expires");
        apr_table_setn(r->headers_out, "Cache-Control", "private, no-store");
        apr_table_unset(r->err_headers_out, "Cache-Control");
    }

    while (!APR_BRIGADE_EMPTY(bb)) {
        apr_bucket *b = APR_BRIGADE_FIRST(bb);
        const char *data;
        apr_size_t len;

        if (!ctx->tags) {
            /* injected: the rest passes untouched */
            APR_BRIGADE_CONCAT(ctx->out, bb);
            break;
        }
        if (APR_BUCKET_IS_EOS(b)) {
            /* no </body>: the tags go at the end of the document */
            emit_copy(ctx, ba, ctx->held, ctx->nheld);
            ctx->nheld = 0;
            emit_tags(ctx, ba);
            APR_BUCKET_REMOVE(b);
            APR_BRIGADE_INSERT_TAIL(ctx->out, b);
            continue;
        }
        if (APR_BUCKET_IS_METADATA(b)) {
            /* FLUSH and the like pass at once; held bytes (a partial "</body") wait */
            APR_BUCKET_REMOVE(b);
            APR_BRIGADE_INSERT_TAIL(ctx->out, b);
            continue;
        }
        rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "SHS00503: reading the response failed");
            return rv;
        }
        feed(ctx, b, data, len, ba);
    }
    rv = ap_pass_brigade(f->next, ctx->out);
    apr_brigade_cleanup(ctx->out);
    if (!ctx->tags && rv == APR_SUCCESS) {
        ap_remove_output_filter(f);
    }
    return rv;
}

void shs_filter_insert(request_rec *r)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);
    const shs_srv_conf_t *sc = SHS_SRV_CONF(r->server);

    if (r->main || r->method_number != M_GET || !shs_dir_enabled(d) || !shs_dir_inject(d) ||
        shs_dir_push(d) == SHS_PUSH_NONE || !sc->group) {
        return;
    }
    ap_add_output_filter(SHS_FILTER_NAME, NULL, r, r->connection);
}
