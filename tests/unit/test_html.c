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

/* Unit tests of shs_html.c: the streaming `</body` scanner (the tags: test_tag.c).
 *
 * Every scanner fixture is fed whole, in two chunks at every split point, one byte at a time
 * and in random chunkings (fixed seed).  Each run plays the output filter: it sends what the
 * scanner releases, holds what it asks to hold, splices a marker at the reported point (or at
 * the end when nothing is found and shs_html_scan_can_append() allows it, or nowhere), and
 * the result must equal the document with the marker at the expected offset (or the document
 * alone).  The expected outcome comes from the fixture table, not the scanner. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "shs_html.h"

#define MARK "@@INJECT@@"
#define AT_END (-1)  /* expected outcome: not found, the marker is appended */
#define NOWHERE (-2) /* expected outcome: not found, and nothing may be appended */
#define RANDOM_SPLITS 40
#define RANDOM_DOCS 600

/* ------------------------------------------------------------------ helpers */

static apr_pool_t *pool;

static uint32_t rng_state;

static uint32_t rng(void)
{
    /* xorshift32: the same sequence on every platform */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* Play the output filter over doc split into chunks of the given sizes (the last chunk takes
 * whatever is left).  Checks the hold contract on every call and the spliced output at the
 * end.  expect is the insertion offset, AT_END or NOWHERE.  Returns the outcome: the offset
 * found, AT_END or NOWHERE. */
static long run_split(const char *doc, size_t n, const size_t *sizes, size_t nsizes, long expect)
{
    shs_html_scan_t s;
    size_t pos = 0, sent = 0, held = 0, olen = 0, i, e;
    long found = -1;
    char *out = malloc(n + sizeof(MARK));
    char *want = malloc(n + sizeof(MARK));

    assert_non_null(out);
    assert_non_null(want);
    shs_html_scan_init(&s);

    for (i = 0; i < nsizes && found < 0; i++) {
        size_t c = (i + 1 == nsizes) ? n - pos : sizes[i];
        apr_ssize_t at = 4242;
        apr_size_t hold = 4242;
        shs_html_result_e r;

        assert_true(pos + c <= n);
        r = shs_html_scan(&s, doc + pos, c, &at, &hold);
        if (r == SHS_HTML_FOUND) {
            /* the `<` is in this chunk or among the bytes held back, never in bytes sent */
            assert_true(at < (apr_ssize_t)c);
            assert_true(at >= -(apr_ssize_t)held);
            assert_int_equal(hold, 0);
            found = (long)pos + (long)at;
            memcpy(out + olen, doc + sent, (size_t)found - sent);
            olen += (size_t)found - sent;
            memcpy(out + olen, MARK, strlen(MARK));
            olen += strlen(MARK);
            memcpy(out + olen, doc + found, n - (size_t)found);
            olen += n - (size_t)found;
            assert_false(shs_html_scan_can_append(&s)); /* found: never append */
            break;
        }
        assert_int_equal(r, SHS_HTML_MORE);
        assert_int_equal(at, 0);
        assert_true(hold <= SHS_HTML_MAX_HOLD);
        assert_true(hold <= 6); /* tighter: a partial `</body` at most */
        assert_true(hold <= pos + c);
        /* what was sent cannot be taken back, and never includes the insertion point */
        assert_true(pos + c - hold >= sent);
        if (expect >= 0) {
            assert_true(pos + c - hold <= (size_t)expect);
        }
        memcpy(out + olen, doc + sent, pos + c - hold - sent);
        olen += pos + c - hold - sent;
        sent = pos + c - hold;
        held = hold;
        pos += c;
    }
    if (found < 0) {
        /* end of stream: flush what is held and append, if that is markup context */
        assert_int_equal(pos, n);
        memcpy(out + olen, doc + sent, n - sent);
        olen += n - sent;
        if (shs_html_scan_can_append(&s)) {
            memcpy(out + olen, MARK, strlen(MARK));
            olen += strlen(MARK);
            found = AT_END;
        }
        else {
            found = NOWHERE;
        }
    }

    if (expect == NOWHERE) {
        assert_int_equal(olen, n);
        assert_memory_equal(out, doc, n);
    }
    else {
        e = expect < 0 ? n : (size_t)expect;
        memcpy(want, doc, e);
        memcpy(want + e, MARK, strlen(MARK));
        memcpy(want + e + strlen(MARK), doc + e, n - e);
        assert_int_equal(olen, n + strlen(MARK));
        assert_memory_equal(out, want, olen);
    }

    free(out);
    free(want);
    return found;
}

/* Every chunking of doc: whole, two chunks at each split, byte by byte, random.  All must
 * agree with expect. */
static void run_all_splits(const char *doc, size_t n, long expect)
{
    size_t *sizes = malloc((n + 2) * sizeof(*sizes));
    size_t i, k;

    assert_non_null(sizes);

    /* whole buffer */
    sizes[0] = n;
    assert_int_equal(run_split(doc, n, sizes, 1, expect), expect);

    /* two chunks, every split point (empty first or second chunk included) */
    for (i = 0; i <= n; i++) {
        sizes[0] = i;
        sizes[1] = n - i;
        assert_int_equal(run_split(doc, n, sizes, 2, expect), expect);
    }

    /* one byte at a time (an empty input is one empty call) */
    for (i = 0; i < n; i++) {
        sizes[i] = 1;
    }
    assert_int_equal(run_split(doc, n, sizes, n ? n : 1, expect), expect);

    /* random chunkings, empty chunks included */
    for (k = 0; k < RANDOM_SPLITS; k++) {
        size_t total = 0, m = 0;

        while (total < n && m < n + 1) {
            size_t c = rng() % 6;

            if (total + c > n) {
                c = n - total;
            }
            sizes[m++] = c;
            total += c;
        }
        sizes[m++] = 0; /* the last chunk takes what is left (here: nothing) */
        assert_int_equal(run_split(doc, n, sizes, m, expect), expect);
    }
    free(sizes);
}

/* Offset of the nth (1-based) occurrence of needle in doc, -1 when needle is NULL. */
static long nth_offset(const char *doc, const char *needle, int nth)
{
    const char *p = doc;

    if (needle == NULL) {
        return -1;
    }
    for (;;) {
        p = strstr(p, needle);
        assert_non_null(p);
        if (--nth == 0) {
            return (long)(p - doc);
        }
        p++;
    }
}

/* ------------------------------------------------------------------ scanner fixtures */

typedef struct fixture_t {
    const char *name;
    const char *doc;
    const char *needle; /* the expected `</body` is where this string occurs ... */
    int nth;            /* ... for the nth time; needle NULL: not found */
    int nowhere;        /* not found, and the end is no place for markup either */
} fixture_t;

static const fixture_t fixtures[] = {
    { .name = "plain", .doc = "<html><body>hi</body></html>", .needle = "</body>", .nth = 1 },
    { .name = "upper", .doc = "<HTML><BODY>hi</BODY></HTML>", .needle = "</BODY>", .nth = 1 },
    { .name = "mixed case, space", .doc = "<body>x</BoDy ></html>", .needle = "</BoDy", .nth = 1 },
    { .name = "newline follower", .doc = "<body>x</body\n></html>", .needle = "</body", .nth = 1 },
    { .name = "tab follower", .doc = "<p></body\t>", .needle = "</body", .nth = 1 },
    { .name = "cr follower", .doc = "<p></body\r\n>", .needle = "</body", .nth = 1 },
    { .name = "ff follower", .doc = "<p></body\f>", .needle = "</body", .nth = 1 },
    { .name = "slash follower", .doc = "<p></body/>", .needle = "</body", .nth = 1 },
    { .name = "no body end", .doc = "<html><body><p>no end</p></html>", .needle = NULL },
    { .name = "bodyx only", .doc = "<body>x</bodyx></html>", .needle = NULL },
    { .name = "bodyx then body", .doc = "<body></bodyx><p></body>", .needle = "</body>", .nth = 1 },
    { .name = "bod then body", .doc = "</bod></boy></b></body>", .needle = "</body>", .nth = 1 },
    { .name = "body without follower at end",
      .doc = "<body>x</body",
      .needle = NULL,
      .nowhere = 1 },
    { .name = "body< is not a match", .doc = "x</body<p>", .needle = NULL },
    { .name = "comment", .doc = "<body><!-- </body> --></body>", .needle = "</body>", .nth = 2 },
    { .name = "script",
      .doc = "<body><script>document.write(\"</body>\")</script></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "SCRIPT type=x",
      .doc = "<body><SCRIPT type=x>var s='</body>';</SCRIPT ></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "script end tag with attributes",
      .doc = "<script>a</body></script x=\"</body>\"></body>",
      .needle = "</body>",
      .nth = 3 },
    { .name = "script src attribute with >",
      .doc = "<script src=\"a>b\"></body></script></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "script/", .doc = "<script/></body></script></body>", .needle = "</body>", .nth = 2 },
    { .name = "style",
      .doc = "<style>/* </body> */</style></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "STYLE media",
      .doc = "<STYLE media=all>a{}</BODY></Style\t></BODY>",
      .needle = "</BODY>",
      .nth = 2 },
    { .name = "style is not ended by </script",
      .doc = "<style></script></body></style></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "textarea",
      .doc = "<textarea></body></textarea></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "textarea not ended by </textareax",
      .doc = "<textarea></textareax></body></TEXTAREA></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "title", .doc = "<title>a </body> b</title></body>", .needle = "</body>", .nth = 2 },
    { .name = "title with attribute",
      .doc = "<title lang=en></body></title/></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "cdata without >",
      .doc = "<svg><![CDATA[ a ]]></svg></body>",
      .needle = "</body>",
      .nth = 1 },
    /* a `>` inside: in HTML content the first `>` ends it (bogus comment), in foreign content
     * `]]>` does; without a tree the scanner cannot tell, and gives up */
    { .name = "cdata with > gives up",
      .doc = "<svg><![CDATA[ </body> ]]></svg></body>",
      .needle = NULL,
      .nowhere = 1 },
    { .name = "cdata in html ends at >",
      .doc = "<p><![CDATA[ x ></body> ]]>",
      .needle = NULL,
      .nowhere = 1 },
    { .name = "cdata ]]]>", .doc = "<![CDATA[x]]]></body>", .needle = "</body>", .nth = 1 },
    { .name = "cdata ] ]> is a > inside",
      .doc = "<![CDATA[x] ]></body>]]></body>",
      .needle = NULL,
      .nowhere = 1 },
    { .name = "cdata lower case is a bogus comment",
      .doc = "<![cdata[ </body> ]]></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "scripts is not script",
      .doc = "<scripts></body></scripts>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "long tag names",
      .doc = "<textareas><scriptscript></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "unclosed comment",
      .doc = "<body><!-- </body> </body>",
      .needle = NULL,
      .nowhere = 1 },
    { .name = "unclosed script", .doc = "<body><script> </body>", .needle = NULL, .nowhere = 1 },
    { .name = "unclosed cdata", .doc = "<![CDATA[ </body>", .needle = NULL, .nowhere = 1 },
    { .name = "two body ends", .doc = "<body>a</body>b</body>", .needle = "</body>", .nth = 1 },
    { .name = "< runs", .doc = "<<</body>", .needle = "</body>", .nth = 1 },
    { .name = "<< run", .doc = "a<</body>", .needle = "</body>", .nth = 1 },
    { .name = "< then space", .doc = "a < b</body>", .needle = "</body>", .nth = 1 },
    { .name = "< inside a tag", .doc = "<a <</body>", .needle = NULL },
    { .name = "empty", .doc = "", .needle = NULL },
    { .name = "at offset 0", .doc = "</body>", .needle = "</body>", .nth = 1 },
    { .name = "at the end", .doc = "<p>text</p></body>", .needle = "</body>", .nth = 1 },
    { .name = "just the follower missing", .doc = "</body", .needle = NULL, .nowhere = 1 },
    { .name = "empty comment <!-->", .doc = "<!--></body>", .needle = "</body>", .nth = 1 },
    { .name = "empty comment <!--->", .doc = "<!---></body>", .needle = "</body>", .nth = 1 },
    { .name = "<!--!> does not close",
      .doc = "<!--!></body>--></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "comment --!>", .doc = "<!-- x --!></body>", .needle = "</body>", .nth = 1 },
    { .name = "comment -- > does not close",
      .doc = "<!-- -- ></body>--></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "comment with many dashes",
      .doc = "<!-- a ----></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "doctype", .doc = "<!DOCTYPE html><html></body>", .needle = "</body>", .nth = 1 },
    { .name = "processing instruction",
      .doc = "<?x </body> ?></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "</ space is bogus", .doc = "</ </body>x</body>", .needle = "</body>", .nth = 2 },
    { .name = "</< is bogus", .doc = "</</body>x</body>", .needle = "</body>", .nth = 2 },
    { .name = "</> is ignored", .doc = "</></body>", .needle = "</body>", .nth = 1 },
    { .name = "double-quoted attribute",
      .doc = "<a title=\"x></body>\">z</body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "single-quoted attribute",
      .doc = "<a title='</body>'>z</body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "unquoted attribute",
      .doc = "<a title=</body>>z</body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "quote inside an attribute name",
      .doc = "<a b\"c></body>\"</body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "quote after a quoted value",
      .doc = "<a b=\"1\"\"></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "end tag with quoted attribute",
      .doc = "</div title=\"</body>\"></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "script escaped by <!--",
      .doc = "<script><!-- x </script></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "script double-escaped",
      .doc = "<script><!-- document.write(\"<script></script>\"); </body> --></script></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "script escape closed by -->",
      .doc = "<script><!-- --> <script></script></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "script <!--> is not an escape",
      .doc = "<script><!--><script></script></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "non-ASCII text",
      .doc = "<p>\xc3\xa9t\xc3\xa9</p></body>",
      .needle = "</body>",
      .nth = 1 },

    /* the other raw-text elements: xmp, iframe, noembed, noframes, noscript */
    { .name = "xmp", .doc = "<xmp></body></xmp></body>", .needle = "</body>", .nth = 2 },
    { .name = "XMP with attribute, end tag with space",
      .doc = "<XMP class=\"a>b\"><p></body></Xmp ></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "iframe",
      .doc = "<iframe src=\"/f\"><p>no frames</body></iframe></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "iframe/ end tag",
      .doc = "<iframe/></body></iframe/></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "noembed",
      .doc = "<noembed></body></noembed></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "noframes",
      .doc = "<NOFRAMES></body></noFrames\n></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "noscript",
      .doc = "<noscript><img src=x></body></noscript></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "noscript end tag with attributes",
      .doc = "<noscript></body></noscript a='</body>'></body>",
      .needle = "</body>",
      .nth = 3 },
    { .name = "xmp has no <!-- escape",
      .doc = "<xmp><!-- </xmp></body> --></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "noscript has no <!-- escape",
      .doc = "<noscript><!-- <script></noscript></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "noscript is not ended by </script",
      .doc = "<noscript></script></body></noscript></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "script is not ended by </noscript",
      .doc = "<script></noscript></body></script></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "iframe not ended by </iframes",
      .doc = "<iframe></iframes></body></iframe></body>",
      .needle = "</body>",
      .nth = 2 },
    { .name = "noframes not ended by </noframe",
      .doc = "<noframes></noframe></body></noframes></body>",
      .needle = "</body>",
      .nth = 2 },

    /* plaintext: never ends */
    { .name = "plaintext",
      .doc = "<body><plaintext></body></plaintext></body>",
      .needle = NULL,
      .nowhere = 1 },
    { .name = "PLAINTEXT with attributes",
      .doc = "<PLAINTEXT id=p title=\"a>b\">text</BODY>",
      .needle = NULL,
      .nowhere = 1 },
    { .name = "plaintext/", .doc = "<plaintext/></body>", .needle = NULL, .nowhere = 1 },
    { .name = "plaintext after found",
      .doc = "</body><plaintext></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "plaintext then comment-like text",
      .doc = "<plaintext><!-- --></body><script></script></body>",
      .needle = NULL,
      .nowhere = 1 },
    { .name = "</plaintext> alone is an ordinary end tag",
      .doc = "</plaintext></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "plaintext in an attribute",
      .doc = "<a title=\"<plaintext>\"></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "plaintext in a comment",
      .doc = "<!--<plaintext>--></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "plaintext in a textarea",
      .doc = "<textarea><plaintext></textarea></body>",
      .needle = "</body>",
      .nth = 1 },

    /* tag names longer than, or prefixes of, raw-text element names */
    { .name = "plaintextx is not plaintext",
      .doc = "<plaintextx></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "plaintextplaintext is not plaintext",
      .doc = "<plaintextplaintext a=1></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "plaintex is not plaintext",
      .doc = "<plaintex></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "longer names are not raw-text elements",
      .doc = "<xmpp><iframes><noembedx><noframesx><noscripts><textareax><titles><styles></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "prefixes are not raw-text elements",
      .doc = "<xm><ifram><noembe><noframe><noscrip><textare><titl><styl><scrip></body>",
      .needle = "</body>",
      .nth = 1 },
    { .name = "very long name then plaintext",
      .doc = "<abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz></body><plaintext>",
      .needle = "</body>",
      .nth = 1 },

    /* the end of the document: may the tags be appended there? */
    { .name = "unclosed textarea",
      .doc = "<body><textarea></body></html>",
      .needle = NULL,
      .nowhere = 1 },
    { .name = "unclosed title", .doc = "<title>t", .needle = NULL, .nowhere = 1 },
    { .name = "unclosed style", .doc = "<style>a{}", .needle = NULL, .nowhere = 1 },
    { .name = "unclosed xmp", .doc = "<xmp></body>", .needle = NULL, .nowhere = 1 },
    { .name = "unclosed iframe", .doc = "<iframe>", .needle = NULL, .nowhere = 1 },
    { .name = "unclosed noembed", .doc = "<noembed>x", .needle = NULL, .nowhere = 1 },
    { .name = "unclosed noframes", .doc = "<noframes></body>", .needle = NULL, .nowhere = 1 },
    { .name = "unclosed noscript", .doc = "<noscript></body>", .needle = NULL, .nowhere = 1 },
    { .name = "textarea end tag cut short",
      .doc = "<textarea>x</texta",
      .needle = NULL,
      .nowhere = 1 },
    { .name = "textarea end tag without follower",
      .doc = "<textarea>x</textarea",
      .needle = NULL,
      .nowhere = 1 },
    { .name = "noscript end tag cut short",
      .doc = "<noscript></noscr",
      .needle = NULL,
      .nowhere = 1 },
    { .name = "script escape open", .doc = "<script><!--", .needle = NULL, .nowhere = 1 },
    { .name = "closed textarea at the end", .doc = "<textarea></body></textarea>", .needle = NULL },
    { .name = "closed noscript at the end", .doc = "<noscript>x</noscript >", .needle = NULL },
    { .name = "text at the end", .doc = "<p>hello", .needle = NULL },
    { .name = "< then space at the end", .doc = "a < b", .needle = NULL },
    { .name = "bare < at the end", .doc = "<p>a<", .needle = NULL, .nowhere = 1 },
    { .name = "<! at the end", .doc = "<p><!", .needle = NULL, .nowhere = 1 },
    { .name = "<!- at the end", .doc = "<p><!-", .needle = NULL, .nowhere = 1 },
    { .name = "<![CDA at the end", .doc = "<p><![CDA", .needle = NULL, .nowhere = 1 },
    { .name = "</ at the end", .doc = "<p></", .needle = NULL, .nowhere = 1 },
    { .name = "</bo at the end", .doc = "<p></bo", .needle = NULL, .nowhere = 1 },
    { .name = "</div at the end", .doc = "<p></div", .needle = NULL, .nowhere = 1 },
    { .name = "start tag name at the end", .doc = "<p><di", .needle = NULL, .nowhere = 1 },
    { .name = "start tag at the end", .doc = "<p><div ", .needle = NULL, .nowhere = 1 },
    { .name = "attribute name at the end", .doc = "<a href", .needle = NULL, .nowhere = 1 },
    { .name = "unquoted value at the end", .doc = "<a href=x", .needle = NULL, .nowhere = 1 },
    { .name = "quoted value at the end",
      .doc = "<a title=\"</body>",
      .needle = NULL,
      .nowhere = 1 },
    { .name = "unclosed doctype", .doc = "<!DOCTYPE html", .needle = NULL, .nowhere = 1 },
    { .name = "unclosed processing instruction", .doc = "<?xml", .needle = NULL, .nowhere = 1 },
    { .name = "comment ending --", .doc = "<!-- a --", .needle = NULL, .nowhere = 1 },
    { .name = "closed comment at the end", .doc = "<!-- a -->", .needle = NULL },
    { .name = "closed cdata at the end", .doc = "<![CDATA[x]]>", .needle = NULL },
};

#define NFIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

static void test_fixture(void **state)
{
    const fixture_t *f = *state;

    long expect = nth_offset(f->doc, f->needle, f->nth);

    if (f->needle == NULL) {
        expect = f->nowhere ? NOWHERE : AT_END;
    }
    run_all_splits(f->doc, strlen(f->doc), expect);
}

/* Upper-case a copy of s (the test's own, independent of the scanner). */
static char *upper(const char *s)
{
    char *u = apr_pstrdup(pool, s), *p;

    for (p = u; *p; p++) {
        if (*p >= 'a' && *p <= 'z') {
            *p = (char)(*p - 'a' + 'A');
        }
    }
    return u;
}

/* Every raw-text and escapable raw-text element of the HTML standard, in lower and upper case:
 * its content hides `</body>`, only its own end tag (name + whitespace, `/` or `>`) ends it,
 * longer names and prefixes are ordinary tags, and an unclosed one leaves no place for the
 * tags at the end. */
static void test_every_raw_element(void **state)
{
    static const char *const names[] = { "script",   "style",    "xmp",      "iframe", "noembed",
                                         "noframes", "noscript", "textarea", "title" };
    size_t i, k;

    (void)state;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        for (k = 0; k < 2; k++) {
            const char *n = k ? upper(names[i]) : names[i];
            char *shorter = apr_pstrndup(pool, n, strlen(n) - 1);
            const char *doc;

            doc = apr_pstrcat(pool, "<", n, "></body></", n, "></body>", NULL);
            run_all_splits(doc, strlen(doc), nth_offset(doc, "</body>", 2));
            doc = apr_pstrcat(pool, "<p><", n, " a='>'></body></", n, "\t></body>", NULL);
            run_all_splits(doc, strlen(doc), nth_offset(doc, "</body>", 2));
            doc = apr_pstrcat(pool, "<", n, "/></body></", n, "/></body>", NULL);
            run_all_splits(doc, strlen(doc), nth_offset(doc, "</body>", 2));
            /* the end tag needs its follower: `</namex>`, `</name1>`, `</name<` are text */
            doc = apr_pstrcat(pool, "<", n, "></", n, "x></", n, "1></", n, "<</body>", NULL);
            run_all_splits(doc, strlen(doc), NOWHERE);
            doc = apr_pstrcat(pool, "<", n, "></", shorter, "></body>", NULL);
            run_all_splits(doc, strlen(doc), NOWHERE);
            /* other names */
            doc = apr_pstrcat(pool, "<", n, "x></body>", NULL);
            run_all_splits(doc, strlen(doc), nth_offset(doc, "</body>", 1));
            doc = apr_pstrcat(pool, "<", n, n, "></body>", NULL);
            run_all_splits(doc, strlen(doc), nth_offset(doc, "</body>", 1));
            doc = apr_pstrcat(pool, "<", shorter, "></body>", NULL);
            run_all_splits(doc, strlen(doc), nth_offset(doc, "</body>", 1));
            /* the end of the document */
            doc = apr_pstrcat(pool, "<body><", n, ">", NULL);
            run_all_splits(doc, strlen(doc), NOWHERE);
            doc = apr_pstrcat(pool, "<body><", n, "></", n, NULL);
            run_all_splits(doc, strlen(doc), NOWHERE);
            doc = apr_pstrcat(pool, "<body><", n, "></", n, ">", NULL);
            run_all_splits(doc, strlen(doc), AT_END);
        }
    }
}

/* <plaintext>: everything after it is text, whatever follows. */
static void test_plaintext(void **state)
{
    static const char *const docs[] = {
        "<plaintext></body>",
        "<PlainText></plaintext></body>",
        "<plaintext a=\"</body>\" b></plaintext ></body></html>",
        "<plaintext><script></script></body>",
        "<plaintext><!-- --></body>",
        "<plaintext>",
        "<body><p><plaintext/>x",
    };
    static const char *const not_plaintext[] = {
        "<plaintextx></body>",
        "<PLAINTEXTX></body>",
        "<plaintext1></body>",
        "<plaintextplaintext></body>",
        "<plaintex></body>",
        "<plaintex t></body>",
        "<x-plaintext></body>",
        "<a plaintext></body>",
        "</plaintext></body>",
        "<!--<plaintext>--></body>",
        "<title><plaintext></title></body>",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        run_all_splits(docs[i], strlen(docs[i]), NOWHERE);
    }
    for (i = 0; i < sizeof(not_plaintext) / sizeof(not_plaintext[0]); i++) {
        run_all_splits(not_plaintext[i], strlen(not_plaintext[i]),
                       nth_offset(not_plaintext[i], "</body>", 1));
    }
}

/* After <plaintext> a whole buffer is passed over at once; a long one still gives the same
 * result as small chunks. */
static void test_plaintext_long(void **state)
{
    size_t n = 100000, i;
    char *doc = malloc(n + 1);
    size_t sizes[3] = { 5, 4093, 0 };

    (void)state;
    assert_non_null(doc);
    memcpy(doc, "<plaintext>", 11);
    for (i = 11; i < n; i++) {
        doc[i] = "</body>\n<!--"[i % 12];
    }
    doc[n] = '\0';
    assert_int_equal(run_split(doc, n, sizes, 3, NOWHERE), NOWHERE);
    free(doc);
}

/* A NUL byte is an ordinary byte for the scanner. */
static void test_nul_bytes(void **state)
{
    static const char doc[] = "<p>a\0b</bo\0dy></body\0></body>";

    (void)state;
    run_all_splits(doc, sizeof(doc) - 1, 22);
    assert_memory_equal(doc + 22, "</body>", 7);
}

/* A long document: memory and hold stay constant, the point is found far away. */
static void test_long_document(void **state)
{
    size_t n = 200000, i;
    char *doc = malloc(n + 8);
    size_t sizes[3] = { 4093, 100000, 0 };

    (void)state;
    assert_non_null(doc);
    for (i = 0; i < n; i++) {
        doc[i] = "<!-b/ody>x"[i % 10];
    }
    memcpy(doc + n, "</body>", 8);
    assert_int_equal(run_split(doc, n + 7, sizes, 3, (long)n), (long)n);
    free(doc);
}

/* Random documents built from tricky pieces: every chunking agrees with the whole-buffer
 * scan, and the hold contract holds.  (No independent expectation here; the fixtures above
 * provide that.) */
static void test_random_documents(void **state)
{
    static const char *const pieces[] = {
        "<",           "</",         "/",          "body",       "BoDy",
        ">",           " ",          "\n",         "!",          "--",
        "-",           "<!--",       "-->",        "script",     "<script>",
        "</script>",   "style",      "<title>",    "</title",    "\"",
        "'",           "=",          "a",          "x",          "]]",
        "<![CDATA[",   "?",          "</body",     "</body>",    "<textarea ",
        "</textarea>", "<xmp>",      "</xmp",      "<iframe ",   "</iframe>",
        "noembed",     "<noframes>", "</noframes", "<noscript>", "</noscript>",
        "<plaintext",  "plaintext",  "x"
    };
    char doc[256];
    size_t d, k, n;

    (void)state;
    for (d = 0; d < RANDOM_DOCS; d++) {
        shs_html_scan_t s;
        apr_ssize_t at;
        apr_size_t hold;
        long whole;

        n = 0;
        for (k = rng() % 24; k > 0; k--) {
            const char *p = pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];

            memcpy(doc + n, p, strlen(p));
            n += strlen(p);
        }
        doc[n] = '\0';
        shs_html_scan_init(&s);
        if (shs_html_scan(&s, doc, n, &at, &hold) == SHS_HTML_FOUND) {
            assert_true(at >= 0 && (size_t)at + 7 <= n);
            whole = (long)at;
            assert_memory_equal(doc + whole, "</", 2);
        }
        else {
            whole = shs_html_scan_can_append(&s) ? AT_END : NOWHERE;
        }
        run_all_splits(doc, n, whole);
    }
}

/* The hold values themselves, call by call. */
static void test_hold_values(void **state)
{
    static const struct {
        const char *chunk;
        shs_html_result_e r;
        long at_or_hold;
    } steps[] = {
        { .chunk = "ab<", .r = SHS_HTML_MORE, .at_or_hold = 1 },
        { .chunk = "/", .r = SHS_HTML_MORE, .at_or_hold = 2 },
        { .chunk = "Bo", .r = SHS_HTML_MORE, .at_or_hold = 4 },
        { .chunk = "x><", .r = SHS_HTML_MORE, .at_or_hold = 1 }, /* </Box> released */
        { .chunk = "!", .r = SHS_HTML_MORE, .at_or_hold = 0 },
        { .chunk = "-->x</", .r = SHS_HTML_MORE, .at_or_hold = 2 }, /* <!--> */
        { .chunk = "body", .r = SHS_HTML_MORE, .at_or_hold = 6 },
        { .chunk = "", .r = SHS_HTML_MORE, .at_or_hold = 6 },
        { .chunk = ">tail", .r = SHS_HTML_FOUND, .at_or_hold = -6 },
        { .chunk = "</body>", .r = SHS_HTML_MORE, .at_or_hold = 0 }, /* finished */
    };
    shs_html_scan_t s;
    size_t i;

    (void)state;
    shs_html_scan_init(&s);
    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        apr_ssize_t at = 99;
        apr_size_t hold = 99;
        shs_html_result_e r = shs_html_scan(&s, steps[i].chunk, strlen(steps[i].chunk), &at, &hold);

        assert_int_equal(r, steps[i].r);
        if (r == SHS_HTML_FOUND) {
            assert_int_equal(at, steps[i].at_or_hold);
            assert_int_equal(hold, 0);
        }
        else {
            assert_int_equal(hold, steps[i].at_or_hold);
            assert_int_equal(at, 0);
        }
    }
}

static void test_found_offsets(void **state)
{
    shs_html_scan_t s;
    apr_ssize_t at = 99;
    apr_size_t hold = 99;

    (void)state;
    shs_html_scan_init(&s);
    assert_int_equal(shs_html_scan(&s, "0123</body>", 11, &at, &hold), SHS_HTML_FOUND);
    assert_int_equal(at, 4);

    shs_html_scan_init(&s);
    assert_int_equal(shs_html_scan(&s, "x</bo", 5, &at, &hold), SHS_HTML_MORE);
    assert_int_equal(hold, 4);
    assert_int_equal(shs_html_scan(&s, "dy ", 3, &at, &hold), SHS_HTML_FOUND);
    assert_int_equal(at, -4);
}

static void test_null_and_empty(void **state)
{
    shs_html_scan_t s;
    apr_ssize_t at = 99;
    apr_size_t hold = 99;

    (void)state;
    shs_html_scan_init(&s);
    assert_int_equal(shs_html_scan(&s, NULL, 0, &at, &hold), SHS_HTML_MORE);
    assert_int_equal(hold, 0);
    assert_int_equal(shs_html_scan(&s, "<", 1, NULL, NULL), SHS_HTML_MORE);
    assert_int_equal(shs_html_scan(&s, NULL, 0, &at, &hold), SHS_HTML_MORE);
    assert_int_equal(hold, 1);
    assert_int_equal(shs_html_scan(&s, "/body>", 6, NULL, NULL), SHS_HTML_FOUND);
}

static void test_state_is_small(void **state)
{
    (void)state;
    assert_true(sizeof(shs_html_scan_t) <= 32);
    assert_int_equal(SHS_HTML_MAX_HOLD, 7);
}

/* ------------------------------------------------------------------ main */

static int group_setup(void **state)
{
    (void)state;
    rng_state = 0x5eed1234u;
    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_every_raw_element), cmocka_unit_test(test_plaintext),
        cmocka_unit_test(test_plaintext_long),    cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_long_document),     cmocka_unit_test(test_random_documents),
        cmocka_unit_test(test_hold_values),       cmocka_unit_test(test_found_offsets),
        cmocka_unit_test(test_null_and_empty),    cmocka_unit_test(test_state_is_small),
    };
    struct CMUnitTest tests[NFIXTURES + sizeof(fixed) / sizeof(fixed[0])];
    size_t i;

    /* one test per fixture, named after it */
    for (i = 0; i < NFIXTURES; i++) {
        tests[i] = (struct CMUnitTest){
            .name = fixtures[i].name,
            .test_func = test_fixture,
            .initial_state = (void *)&fixtures[i],
        };
    }
    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        tests[NFIXTURES + i] = fixed[i];
    }
    return cmocka_run_group_tests_name("shs_html", tests, group_setup, group_teardown);
}
