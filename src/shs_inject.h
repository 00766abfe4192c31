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

/* Splicing the loader tags into a stream of bucket brigades at the point shs_html.c finds.
 * APR buckets only (no httpd): the output filter (shs_filter.c) drives it, the unit tests
 * drive it with every way of cutting a page into buckets. */

#ifndef SHS_INJECT_H
#define SHS_INJECT_H

#include <apr_buckets.h>

typedef struct shs_inject_t shs_inject_t;

/* Where the tags went (shs_inject_offset()), or go (shs_inject_set_offset()), besides a stream
 * offset >= 0: */
#define SHS_INJECT_AT_EOS (-1) /* at the end, right before EOS: the document has no </body> */
#define SHS_INJECT_NONE (-2)   /* nowhere: the stream passes through unchanged */

/* tags (len bytes) must live as long as pool p. */
shs_inject_t *shs_inject_create(apr_pool_t *p, const char *tags, apr_size_t len);

/* Move buckets of `in` to `out`, the tags spliced in before the first </body> (outside
 * comments and raw text), or before EOS when there is none and the end of the document is
 * text (shs_html_scan_can_append()): metadata buckets, and at most ONE data bucket per call,
 * so that the caller passes `out` on before the next read (reading a pipe or socket bucket
 * brings in the next chunk: looping here would read the whole response into memory).  Call it
 * until `in` is empty.  Data is split, not copied, except for at most SHS_HTML_MAX_HOLD bytes
 * that may be a partial "</body" (or, at the start, up to 3 bytes that may be a byte-order
 * mark): they are kept back until more data comes.
 *
 * The tags are not inserted at all (the stream passes through unchanged, shs_inject_offset()
 * gives SHS_INJECT_NONE) when:
 *  - there is no </body> and the document ends where appended markup would not be markup
 *    (an unclosed <textarea>, <script>, comment, tag, after <plaintext>, ...): the tokens
 *    would be readable text;
 *  - the stream starts with a UTF-16 or UTF-32 byte-order mark (FF FE, FE FF, 00 00 FE FF;
 *    FF FE 00 00 starts with FF FE): ASCII tags would corrupt it.  This is decided as soon as
 *    the first bytes tell, and *done is set then.
 *
 * Returns a bucket read error, if any; *done is set once the tags went out or it is decided
 * that they will not (the rest of `in` is then moved to `out` as it is). */
apr_status_t shs_inject_brigade(shs_inject_t *ij, apr_bucket_brigade *in, apr_bucket_brigade *out,
                                int *done);

/* Known layout (a static file whose shs_inject_offset() an earlier response gave): the tags
 * go `at` bytes into the stream (at >= 0), right before EOS (SHS_INJECT_AT_EOS), or nowhere
 * (SHS_INJECT_NONE; any other negative value counts as SHS_INJECT_NONE).  When the stream
 * ends before offset `at`, the layout is not the one remembered and the tags are not inserted
 * (SHS_INJECT_NONE).  shs_inject_brigade() then reads no data at all: buckets are counted by
 * their length and split, so a file bucket stays a file bucket (sendfile); with
 * SHS_INJECT_NONE the whole of `in` is moved to `out` at the first call, as it is, and *done
 * is set.  Call before the first shs_inject_brigade(). */
void shs_inject_set_offset(shs_inject_t *ij, apr_off_t at);

/* Once done: the stream offset where the tags went in, SHS_INJECT_AT_EOS when they went
 * before EOS (no </body> in the document), SHS_INJECT_NONE when they were not inserted.
 * The value to remember for shs_inject_set_offset(). */
apr_off_t shs_inject_offset(const shs_inject_t *ij);

/* 1 once the tags went out, 0 before and when they were not inserted. */
int shs_inject_inserted(const shs_inject_t *ij);

#endif /* SHS_INJECT_H */
