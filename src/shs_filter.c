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

/* The output filter of the loader tags.  It decides at its first call whether this response
 * gets tags at all (a full, uncompressed HTML page of the main request, for a visitor with a
 * session some site still needs) and steps aside otherwise; the streaming splice itself is
 * shs_inject.c's: the body is never buffered. */

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
#include "shs_inject.h"
#include "shs_provider.h"
#include "shs_push.h"

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
    /* mod_mime (AddEncoding) sets r->content_encoding; the header is only made from it later */
    enc = r->content_encoding;
    if (!enc) {
        enc = apr_table_get(r->headers_out, "Content-Encoding");
    }
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

typedef struct inject_ctx_t {
    shs_inject_t *ij;
    apr_bucket_brigade *out;
} inject_ctx_t;

apr_status_t shs_filter_inject(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    inject_ctx_t *ctx = f->ctx;
    apr_status_t rv;
    int done = 0;

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
        ctx->ij = shs_inject_create(r->pool, tags, strlen(tags));
        ctx->out = apr_brigade_create(r->pool, f->c->bucket_alloc);
        /* the page now differs per visitor and carries tokens */
        apr_table_unset(r->headers_out, "Content-Length");
        apr_table_unset(r->headers_out, "ETag");
        apr_table_unset(r->headers_out, "Last-Modified");
        apr_table_unset(r->headers_out, "Expires");
        apr_table_setn(r->headers_out, "Cache-Control", "private, no-store");
        apr_table_unset(r->err_headers_out, "Cache-Control");
    }
    /* bucket by bucket: what was read goes on before the next read, memory stays constant */
    do {
        rv = shs_inject_brigade(ctx->ij, bb, ctx->out, &done);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "SHS00503: reading the response failed");
            return rv;
        }
        rv = ap_pass_brigade(f->next, ctx->out);
        apr_brigade_cleanup(ctx->out);
    } while (rv == APR_SUCCESS && !APR_BRIGADE_EMPTY(bb));
    if (done) {
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
