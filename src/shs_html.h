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

/* Streaming search for the point where loader tags go into an HTML page (just before the
 * first real `</body`); the tags themselves are built by shs_tag.c.  Pure C over APR: no httpd
 * calls, so it is unit-tested.
 *
 * The scanner is a small tokenizer that follows the HTML tokenizer only as far as needed to
 * know whether a `</body` is markup: it skips comments, the content of the raw-text elements
 * (script, style, xmp, iframe, noembed, noframes, noscript) and of the escapable raw-text
 * elements (textarea, title), <![CDATA[ ]]> sections and the inside of tags (quoted attribute
 * values included); after <plaintext> everything is text.  It works one byte at a time, so the
 * result never depends on how the body is chunked, and it keeps a fixed-size state: no
 * allocation, no pointer into the caller's buffers.
 *
 * Known approximations (all err towards "not found", in which case the caller appends at the
 * end of the document, which browsers accept, if shs_html_scan_can_append() says that the
 * end is markup context, and otherwise inserts nothing):
 *  - no tree building: a `</body` that the parser would ignore (e.g. inside a <template>, or
 *    inside <svg>/<math> foreign content) still matches; raw-text elements inside foreign
 *    content (<svg><style>, <math><title>) are treated as in HTML, and `<script/>` or
 *    `<textarea/>` starts raw text as in HTML;
 *  - <![CDATA[ ... ]]> is skipped up to `]]>` when no `>` comes before it (there HTML and
 *    foreign content agree); a `>` before `]]>` stops the scan: no insertion point, no
 *    appending (HTML ends it at that `>`, foreign content at `]]>`);
 *  - <noscript> is raw text, as parsed with scripting enabled (browsers); with scripting
 *    disabled its content would be markup;
 *  - a raw-text start tag is honoured wherever it appears, also where the tree builder would
 *    ignore it (e.g. <plaintext> or <xmp> inside <select>);
 *  - character references and NUL bytes are not decoded; bytes >= 0x80 are ordinary text. */

#ifndef SHS_HTML_H
#define SHS_HTML_H

#include <apr.h>
#include <apr_pools.h>

/* Most trailing bytes the scanner ever asks the caller to hold back: a whole `</body` plus the
 * byte that confirms it.  The scanner actually holds at most strlen("</body") = 6, because the
 * follower is decided on as soon as it is seen. */
#define SHS_HTML_MAX_HOLD 7

/* Scanner state.  Owned by the caller (stack, pool or filter context), initialised with
 * shs_html_scan_init(); the fields are private to shs_html.c. */
typedef struct shs_html_scan_t {
    unsigned char mode;   /* lexical mode: text, tag, comment, raw text, ... */
    unsigned char sub;    /* sub-state of the mode (attribute states, partial tokens) */
    unsigned char raw;    /* raw-text element being scanned, or entered at the tag's `>` */
    unsigned char esc;    /* <script> escape level: 0 none, 1 `<!--`, 2 nested `<script` */
    unsigned char run;    /* trailing `-` (comments, script) or `]` (CDATA) seen */
    unsigned char flags;  /* comment start / `--!` bookkeeping */
    unsigned char len;    /* bytes of the current partial token matched */
    unsigned char tok[9]; /* lower-cased start tag name being read (up to "plaintext") */
} shs_html_scan_t;

void shs_html_scan_init(shs_html_scan_t *s);

typedef enum { SHS_HTML_MORE = 0, SHS_HTML_FOUND = 1 } shs_html_result_e;

/* Scan `len` bytes of `buf` (NULL allowed when len is 0), the continuation of everything
 * scanned before.
 *
 * SHS_HTML_FOUND: the insertion point is identified; *at is the offset of the `<` of `</body`
 * relative to buf.  It is negative (-k, k <= 6) when the `<` lies k bytes before buf, among the
 * bytes the caller held back; *hold is set to 0.  The caller stops scanning.  (Calling again
 * anyway is harmless: the scanner is finished and answers SHS_HTML_MORE with *hold = 0.)
 *
 * SHS_HTML_MORE: not found yet; *at is set to 0 and *hold is the number of trailing bytes of
 * everything scanned so far (bytes held from earlier calls included) that may still turn out to
 * be the start of the insertion point and must not be sent on yet; *hold <= SHS_HTML_MAX_HOLD.
 * Everything before those bytes can be passed on now.  At the end of the stream with no
 * FOUND, there is no insertion point ("not found"): the caller may append at the end, but
 * only if shs_html_scan_can_append() says so.
 *
 * `at` and `hold` may be NULL when the caller does not need them. */
shs_html_result_e shs_html_scan(shs_html_scan_t *s, const char *buf, apr_size_t len,
                                apr_ssize_t *at, apr_size_t *hold);

/* At the end of the stream, after no FOUND: 1 when markup appended after everything scanned
 * would be parsed as markup in the text of the page, 0 when it would land inside something
 * (then nothing may be appended: the tags would be readable text or a comment):
 *  - text after a complete token:                                                 1
 *  - a partial token at the end: `<`, `<!`, `<!-`, `</`, `</bo`, `<di`:           0
 *  - inside a tag (`<a href="`, `<p class=x`), a comment, <![CDATA[, a bogus
 *    comment (`<!DOCTYPE`, `<?`):                                                 0
 *  - inside an unclosed raw-text or escapable raw-text element (script, style,
 *    xmp, iframe, noembed, noframes, noscript, textarea, title), its end tag
 *    partly written or not:                                                       0
 *  - after <plaintext>:                                                           0
 * After FOUND the question does not arise; the answer is then 0. */
int shs_html_scan_can_append(const shs_html_scan_t *s);

#endif /* SHS_HTML_H */
