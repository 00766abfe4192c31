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
 * shs_inject.c's: the body is never buffered.
 *
 * A static file (the response is one file, whole, in the first brigade: what the default
 * handler sends) is scanned once per version of the file: the offset of its insertion point is
 * remembered per process, keyed by device, inode, size and modification time, and later
 * responses are split there without reading a byte (sendfile or mmap as without tags), with
 * an exact Content-Length. */

#include <unistd.h>
#include <string.h>

#include <apr_buckets.h>
#include <apr_thread_mutex.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_portable.h>

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

/* text/html, in a charset where the tags' ASCII bytes are characters (not UTF-16/32).  XHTML
 * (application/xhtml+xml) is parsed as XML, where the tags would have to be well-formed XML
 * and the scanner's HTML rules do not hold: it gets none. */
static const char *html_unsuitable(const char *ct)
{
    const char *cs;

    if (!ct || strncasecmp(ct, "text/html", 9) || (ct[9] && ct[9] != ';' && ct[9] != ' ')) {
        return "not HTML";
    }
    if ((cs = ap_strcasestr(ct, "charset="))) {
        cs += 8;
        cs += *cs == '"';
        if (!strncasecmp(cs, "utf-16", 6) || !strncasecmp(cs, "utf-32", 6) ||
            !strncasecmp(cs, "ucs-2", 5) || !strncasecmp(cs, "ucs-4", 5) ||
            !strncasecmp(cs, "utf-7", 5)) {
            return "charset not ASCII-compatible";
        }
    }
    return NULL;
}

/* Tags are for pages a browser shows: a document or a frame.  A fetch()/XMLHttpRequest
 * (JSON, fragments served as text/html), a prefetch or a subresource gets none: the tags would
 * corrupt it, or push from a page nobody sees.  Without Sec-Fetch-Dest (older browsers) only
 * the explicit markers count. */
static const char *not_a_page_load(request_rec *r)
{
    const char *dest = apr_table_get(r->headers_in, "Sec-Fetch-Dest");
    const char *purpose = apr_table_get(r->headers_in, "Sec-Purpose");

    if (dest && strcasecmp(dest, "document") && strcasecmp(dest, "iframe") &&
        strcasecmp(dest, "frame")) {
        return "not a page load";
    }
    if (!purpose) {
        purpose = apr_table_get(r->headers_in, "Purpose");
    }
    if (purpose && ap_strcasestr(purpose, "prefetch")) {
        return "prefetch";
    }
    if (apr_table_get(r->headers_in, "X-Requested-With")) {
        return "XMLHttpRequest";
    }
    return NULL;
}

/* Why this response gets no tags, or NULL when it may.  A HEAD request passes: it gets the
 * headers a GET would get with tags, and no body. */
static const char *unsuitable(request_rec *r)
{
    const char *enc, *why;

    if (r->main) {
        return "sub-request";
    }
    if (r->method_number != M_GET) {
        return "not GET";
    }
    if (r->status != HTTP_OK) {
        return "status not 200";
    }
    if ((why = not_a_page_load(r))) {
        return why;
    }
    if ((why = html_unsuitable(r->content_type))) {
        return why;
    }
    /* the byte ranges would be counted in the tagged body, against the untagged length */
    if (apr_table_get(r->headers_in, "Range")) {
        return "range request";
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
    int whole_file; /* the response is fi's file, whole */
    int known;      /* its insertion point was remembered */
    apr_finfo_t fi;
} inject_ctx_t;

/* The insertion points of static files, per process.  Direct-mapped by inode: a collision
 * only costs a scan. */
#define FILE_SLOTS 128

typedef struct file_slot_t {
    apr_ino_t inode;
    apr_dev_t device;
    apr_off_t size;
    apr_time_t mtime;
    apr_time_t ctime; /* changes at every write, and cannot be set back like mtime */
    apr_off_t at;     /* insertion point, -1: before EOS, SHS_INJECT_NONE: no tags at all */
    int used;
} file_slot_t;

static file_slot_t file_slots[FILE_SLOTS];
static apr_thread_mutex_t *file_lock; /* made at child_init; NULL: nothing is remembered */

void shs_filter_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    memset(file_slots, 0, sizeof(file_slots));
    rv = apr_thread_mutex_create(&file_lock, APR_THREAD_MUTEX_DEFAULT, pchild);
    if (rv != APR_SUCCESS) {
        file_lock = NULL;
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "SHS00509: no lock for the insertion points of static files: this process "
                     "scans every tagged static page");
    }
}

static file_slot_t *file_slot(const apr_finfo_t *fi)
{
    return &file_slots[(apr_uint64_t)fi->inode % FILE_SLOTS];
}

static int file_lookup(const apr_finfo_t *fi, apr_off_t *at)
{
    const file_slot_t *slot = file_slot(fi);
    int hit;

    if (!file_lock || apr_thread_mutex_lock(file_lock) != APR_SUCCESS) {
        return 0;
    }
    hit = slot->used && slot->inode == fi->inode && slot->device == fi->device &&
          slot->size == fi->size && slot->mtime == fi->mtime && slot->ctime == fi->ctime;
    if (hit) {
        *at = slot->at;
    }
    apr_thread_mutex_unlock(file_lock);
    return hit;
}

static void file_remember(const apr_finfo_t *fi, apr_off_t at)
{
    file_slot_t *slot = file_slot(fi);

    if (!file_lock || apr_thread_mutex_lock(file_lock) != APR_SUCCESS) {
        return;
    }
    slot->inode = fi->inode;
    slot->device = fi->device;
    slot->size = fi->size;
    slot->mtime = fi->mtime;
    slot->ctime = fi->ctime;
    slot->at = at;
    slot->used = 1;
    apr_thread_mutex_unlock(file_lock);
}

/* Does the open file still have `</body` + a follower at `at`?  A remembered offset is only
 * used when it does.  pread, not APR: APR has no positional read, and apr_file_seek/read would
 * move the file position the response's file buckets read from. */
static int still_body_end(apr_file_t *fd, apr_off_t at)
{
    static const char want[] = "</body";
    char buf[sizeof(want)];
    apr_os_file_t os;
    apr_size_t i;

    if (at < 0 || apr_os_file_get(&os, fd) != APR_SUCCESS ||
        pread(os, buf, sizeof(buf), (off_t)at) != (ssize_t)sizeof(buf)) {
        return 0;
    }
    for (i = 0; i < sizeof(want) - 1; i++) {
        if (apr_tolower(buf[i]) != want[i]) {
            return 0;
        }
    }
    return buf[i] == '>' || buf[i] == '/' || apr_isspace(buf[i]);
}

/* Is bb one whole regular file, from offset 0 to its end, then EOS (metadata buckets aside)?
 * Then fi describes the open file itself (fstat), not a path that may have changed. */
static int whole_file(apr_bucket_brigade *bb, apr_finfo_t *fi, apr_file_t **fdp)
{
    const apr_int32_t wanted =
        APR_FINFO_IDENT | APR_FINFO_SIZE | APR_FINFO_MTIME | APR_FINFO_CTIME | APR_FINFO_TYPE;
    apr_file_t *fd = NULL;
    apr_off_t next = 0;
    apr_bucket *b;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = APR_BUCKET_NEXT(b)) {
        const apr_bucket_file *bf;
        if (APR_BUCKET_IS_EOS(b)) {
            *fdp = fd;
            return fd != NULL && next == fi->size;
        }
        if (APR_BUCKET_IS_METADATA(b)) {
            continue;
        }
        if (!APR_BUCKET_IS_FILE(b) || b->start != next) {
            return 0;
        }
        bf = b->data;
        if (!fd) {
            apr_status_t rv;
            fd = bf->fd;
            rv = apr_file_info_get(fi, wanted, fd);
            if ((rv != APR_SUCCESS && rv != APR_INCOMPLETE) || (fi->valid & wanted) != wanted ||
                fi->filetype != APR_REG) {
                return 0;
            }
        }
        else if (bf->fd != fd) {
            return 0;
        }
        next += (apr_off_t)b->length;
    }
    return 0; /* not all of it in this brigade */
}

/* The response is per visitor from now on and carries tokens: no shared cache may keep it
 * (mod_cache reads r->no_cache), and no validator may bring it back.  The headers are set by
 * SHS_NOSTORE_FILTER_NAME, after any filter that edits headers (mod_headers, mod_expires). */
static void make_private(request_rec *r)
{
    r->no_cache = 1;
    ap_add_output_filter(SHS_NOSTORE_FILTER_NAME, NULL, r, r->connection);
}

apr_status_t shs_filter_nostore(ap_filter_t *f, apr_bucket_brigade *bb)
{
    static const char *const drop[] = { "ETag", "Last-Modified", "Expires", "Cache-Control" };
    request_rec *r = f->r;
    apr_size_t i;

    for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        apr_table_unset(r->headers_out, drop[i]);
        apr_table_unset(r->err_headers_out, drop[i]);
    }
    apr_table_setn(r->headers_out, "Cache-Control", "private, no-store");
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* The first brigade: decide whether this response gets tags.  NULL when it does (ctx made),
 * else why not. */
static const char *start(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    inject_ctx_t *ctx;
    const char *why = unsuitable(r), *id = NULL, *tags;
    apr_file_t *fd = NULL;
    apr_finfo_t fi;
    apr_off_t at = 0;
    int whole, known = 0;

    if (!why && !(id = shs_provider_id(r))) {
        why = "no session";
    }
    if (why) {
        return why;
    }
    whole = whole_file(bb, &fi, &fd);
    if (whole && file_lookup(&fi, &at)) {
        if (at == SHS_INJECT_NONE) {
            return "this version of the file cannot take tags";
        }
        known = at < 0 || still_body_end(fd, at);
    }
    /* HEAD: the same tags, unrecorded, spliced into a body that is not sent, so that the
     * length and the other headers are the GET's */
    if (!(tags = shs_push_tags(r, id, r->header_only))) {
        return "nothing to push";
    }
    f->ctx = ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ctx->ij = shs_inject_create(r->pool, tags, strlen(tags));
    ctx->out = apr_brigade_create(r->pool, f->c->bucket_alloc);
    ctx->whole_file = whole;
    ctx->fi = fi;
    if (known) {
        shs_inject_set_offset(ctx->ij, at);
        ctx->known = 1;
        ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, r,
                      "SHS00505: loader tags at byte %" APR_OFF_T_FMT
                      " of %s (remembered, not scanned)",
                      at, r->filename ? r->filename : "the file");
        /* the file and the tags, exactly */
        ap_set_content_length(r, fi.size + (apr_off_t)strlen(tags));
    }
    else {
        /* a scan may still find that the page cannot take tags: length unknown until then */
        apr_table_unset(r->headers_out, "Content-Length");
    }
    make_private(r);
    return NULL;
}

apr_status_t shs_filter_inject(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    inject_ctx_t *ctx;
    apr_status_t rv;
    int done = 0;

    if (!f->ctx) {
        const char *why = start(f, bb);
        if (why) {
            ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "SHS00504: no loader tags: %s", why);
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
    }
    ctx = f->ctx;
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
        if (ctx->whole_file && !ctx->known && rv == APR_SUCCESS) {
            file_remember(&ctx->fi, shs_inject_offset(ctx->ij));
        }
        if (shs_inject_offset(ctx->ij) == SHS_INJECT_NONE) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "SHS00506: no loader tags: the page ends inside an element whose "
                          "content is text (or is not ASCII-compatible)");
        }
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
