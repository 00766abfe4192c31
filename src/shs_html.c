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

/* The scanner is a byte-at-a-time state machine modelled on the tokenizer states of the HTML
 * standard, reduced to what decides whether a `</body` is markup:
 *
 *   M_DATA       text.  `<` starts a possible token (M_LT).
 *   M_LT         after `<`: `!` markup declaration, `/` end tag, letter start tag, `?` bogus
 *                comment; anything else is text and is read again in M_DATA (so `<<</body>`
 *                finds the third `<`).
 *   M_BANG       after `<!`, matching `--` (comment) or `[CDATA[`; else a bogus comment.
 *   M_ENDOPEN    after `</`, matching `body` then one follower (whitespace, `/`, `>`): this is
 *                the only place a match is reported.  `</>` is ignored, `</` + non-letter is a
 *                bogus comment, any other name is an ordinary end tag (M_TAG).
 *   M_STARTNAME  start tag name, lower-cased into tok; at its end it is compared with the
 *                raw-text elements, to be entered at the tag's closing `>`.  A name longer
 *                than tok is not stored: len goes one past sizeof(tok) and stays there, so it
 *                never equals the length of a raw-text element (`<plaintextx>` is not
 *                `<plaintext>`).
 *   M_TAG        inside a tag, after its name: attribute names, `=`, unquoted, "double" and
 *                'single' quoted values.  A `>` inside a quoted value does not end the tag.
 *   M_BOGUS      `<!DOCTYPE`, `<?xml`, `</ x`, ...: up to the next `>`.
 *   M_COMMENT    up to `-->` or `--!>`; `<!-->` and `<!--->` are empty comments.
 *   M_CDATA      up to `]]>`, in foreign content (SVG, MathML).  In HTML content the same
 *                `<![CDATA[` is a bogus comment that the first `>` ends.  No tree is built,
 *                so a `>` before `]]>` leaves the scanner unsure which one the browser ends it
 *                at: it stops there (as M_PLAINTEXT: no insertion point, no appending).
 *   M_RAW        content of a raw-text element (script, style, xmp, iframe, noembed,
 *                noframes, noscript) or an escapable raw-text element (textarea, title), up
 *                to `</name` + follower: the standard's RAWTEXT, RCDATA and script data
 *                states, which differ only in what does not matter here (character references,
 *                script escapes).  Inside <script> the `<!--` / `<script` escaping of the
 *                standard is followed, so a `</script>` written inside `<!-- <script> ... -->`
 *                does not end the element.
 *   M_PLAINTEXT  after `<plaintext>`: everything up to the end of the stream is text, nothing
 *                ends it (the standard's PLAINTEXT state).
 *   M_DONE       the insertion point was reported.
 *
 * Approximations are listed in shs_html.h; the main one is that no tree is built. */

#include <string.h>

#include "shs_html.h"

/* Lexical modes (shs_html_scan_t.mode). */
enum {
    M_DATA = 0,
    M_LT,
    M_BANG,
    M_ENDOPEN,
    M_STARTNAME,
    M_TAG,
    M_BOGUS,
    M_COMMENT,
    M_CDATA,
    M_RAW,
    M_PLAINTEXT,
    M_DONE
};

/* Sub-states of M_TAG (shs_html_scan_t.sub). */
enum {
    T_NAME = 0,    /* still in the tag name (end tags whose name is not `body`) */
    T_BEFORE_ATTR, /* between attributes, also after a quoted value or a `/` */
    T_ATTR,        /* in an attribute name */
    T_AFTER_ATTR,  /* whitespace after an attribute name */
    T_BEFORE_VAL,  /* after `=` */
    T_VAL_DQ,      /* "value" */
    T_VAL_SQ,      /* 'value' */
    T_VAL_UNQ      /* value without quotes */
};

/* Sub-states of M_RAW. */
enum {
    R_TEXT = 0, /* content */
    R_LT,       /* after `<` */
    R_END,      /* after `</`, matching the element name; len = letters matched */
    R_BANG,     /* script only, after `<!`, matching `--`; len = dashes matched */
    R_DSTART    /* escaped script only, after `<`, matching `script`; len as R_END */
};

/* Elements whose content is text (shs_html_scan_t.raw); index 0 is "none".  Every raw-text
 * and escapable raw-text element of the HTML standard, noscript as with scripting enabled
 * (as browsers parse it), and plaintext, which is entered the same way but never left. */
enum {
    RAW_NONE = 0,
    RAW_SCRIPT,
    RAW_STYLE,
    RAW_XMP,
    RAW_IFRAME,
    RAW_NOEMBED,
    RAW_NOFRAMES,
    RAW_NOSCRIPT,
    RAW_TEXTAREA,
    RAW_TITLE,
    RAW_PLAINTEXT,
    RAW_COUNT
};

typedef struct raw_elem_t {
    const char *name;
    apr_size_t len; /* strlen(name), at compile time: compared first, per start tag */
} raw_elem_t;

#define RAW_ELEM(s)                                                                                \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }

static const raw_elem_t raw_elems[RAW_COUNT] = { [RAW_NONE] = RAW_ELEM(""),
                                                 [RAW_SCRIPT] = RAW_ELEM("script"),
                                                 [RAW_STYLE] = RAW_ELEM("style"),
                                                 [RAW_XMP] = RAW_ELEM("xmp"),
                                                 [RAW_IFRAME] = RAW_ELEM("iframe"),
                                                 [RAW_NOEMBED] = RAW_ELEM("noembed"),
                                                 [RAW_NOFRAMES] = RAW_ELEM("noframes"),
                                                 [RAW_NOSCRIPT] = RAW_ELEM("noscript"),
                                                 [RAW_TEXTAREA] = RAW_ELEM("textarea"),
                                                 [RAW_TITLE] = RAW_ELEM("title"),
                                                 [RAW_PLAINTEXT] = RAW_ELEM("plaintext") };

/* tok holds the longest name: "plaintext" (and so every shorter one). */
#define TOK_SIZE sizeof(((shs_html_scan_t *)0)->tok)
_Static_assert(TOK_SIZE >= sizeof("plaintext") - 1, "shs_html_scan_t.tok too small");

/* M_STARTNAME: len of a name longer than tok.  Longer names are not stored, and len stops
 * here: it is then longer than every raw-text name, so no prefix of a long name matches. */
#define TOK_TOO_LONG (TOK_SIZE + 1)

/* M_COMMENT flags. */
#define CF_START 0x01      /* nothing read yet after `<!--`: `>` closes */
#define CF_START_DASH 0x02 /* only `-` read after `<!--`: `>` closes */
#define CF_BANG 0x04       /* `--!` read: `>` closes */

#define BODY_TOKEN_LEN 6 /* strlen("</body") */

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* A byte that ends a tag name. */
static int is_follower(unsigned char c)
{
    return is_space(c) || c == '/' || c == '>';
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static unsigned char to_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* The raw-text element named by the first len bytes of tok, or RAW_NONE (also for a name
 * longer than tok: len is then TOK_TOO_LONG, the length of no element). */
static unsigned char raw_lookup(const unsigned char *tok, apr_size_t len)
{
    unsigned char i;

    if (len > TOK_SIZE) {
        return RAW_NONE;
    }
    for (i = RAW_SCRIPT; i < RAW_COUNT; i++) {
        if (raw_elems[i].len == len && memcmp(raw_elems[i].name, tok, len) == 0) {
            return i;
        }
    }
    return RAW_NONE;
}

/* The `>` that closes a tag: enter the raw-text element it opened, if any. */
static void tag_end(shs_html_scan_t *s)
{
    if (s->raw == RAW_PLAINTEXT) {
        s->mode = M_PLAINTEXT; /* for good: no end tag ends it */
    }
    else if (s->raw != RAW_NONE) {
        s->mode = M_RAW;
        s->sub = R_TEXT;
        s->esc = 0;
        s->run = 0;
    }
    else {
        s->mode = M_DATA;
    }
}

/* One byte inside a tag, after its name. */
static void scan_tag(shs_html_scan_t *s, unsigned char c)
{
    switch (s->sub) {
    case T_VAL_DQ:
        if (c == '"') {
            s->sub = T_BEFORE_ATTR;
        }
        return;
    case T_VAL_SQ:
        if (c == '\'') {
            s->sub = T_BEFORE_ATTR;
        }
        return;
    default:
        break;
    }

    if (c == '>') {
        tag_end(s);
        return;
    }
    switch (s->sub) {
    case T_NAME:
        if (is_space(c) || c == '/') {
            s->sub = T_BEFORE_ATTR;
        }
        break;
    case T_BEFORE_ATTR:
        if (!is_space(c) && c != '/') {
            s->sub = T_ATTR; /* a leading `=` is part of the name */
        }
        break;
    case T_ATTR:
    case T_AFTER_ATTR:
        if (c == '=') {
            s->sub = T_BEFORE_VAL;
        }
        else if (c == '/') {
            s->sub = T_BEFORE_ATTR;
        }
        else if (is_space(c)) {
            s->sub = T_AFTER_ATTR;
        }
        else {
            s->sub = T_ATTR;
        }
        break;
    case T_BEFORE_VAL:
        if (c == '"') {
            s->sub = T_VAL_DQ;
        }
        else if (c == '\'') {
            s->sub = T_VAL_SQ;
        }
        else if (!is_space(c)) {
            s->sub = T_VAL_UNQ;
        }
        break;
    case T_VAL_UNQ:
        if (is_space(c)) {
            s->sub = T_BEFORE_ATTR;
        }
        break;
    default:
        s->sub = T_BEFORE_ATTR; /* not reached */
        break;
    }
}

/* One byte inside a comment. */
static void scan_comment(shs_html_scan_t *s, unsigned char c)
{
    if (c == '-') {
        if (s->flags & CF_BANG) {
            s->run = 1; /* `--!-`: one dash towards a new `--` */
        }
        else if (s->run < 2) {
            s->run++;
        }
        s->flags = (s->flags & CF_START) ? CF_START_DASH : 0;
        return;
    }
    if (c == '>' && (s->run >= 2 || (s->flags & (CF_START | CF_START_DASH)))) {
        s->mode = M_DATA;
        return;
    }
    if (c == '!' && s->run >= 2 && !(s->flags & CF_BANG)) {
        s->flags = CF_BANG;
        return;
    }
    s->run = 0;
    s->flags = 0;
}

/* One byte of raw text.  Returns 1 when the byte was consumed, 0 when it must be read again
 * in the (changed) state. */
static int scan_raw(shs_html_scan_t *s, unsigned char c)
{
    const char *name;

    switch (s->sub) {
    case R_TEXT:
        if (c == '<') {
            s->sub = R_LT;
            s->run = 0;
        }
        else if (s->esc != 0) {
            if (c == '-') {
                if (s->run < 2) {
                    s->run++;
                }
            }
            else if (c == '>' && s->run >= 2) {
                s->esc = 0; /* `-->` leaves the escaped script text */
                s->run = 0;
            }
            else {
                s->run = 0;
            }
        }
        return 1;

    case R_LT:
        if (c == '/') {
            s->sub = R_END;
            s->len = 0;
            return 1;
        }
        if (s->raw == RAW_SCRIPT && s->esc == 0 && c == '!') {
            s->sub = R_BANG;
            s->len = 0;
            return 1;
        }
        if (s->raw == RAW_SCRIPT && s->esc == 1 && is_alpha(c)) {
            s->sub = R_DSTART;
            s->len = 0;
            return 0;
        }
        s->sub = R_TEXT;
        return 0;

    case R_BANG:
        if (c == '-') {
            if (++s->len == 2) {
                s->esc = 1; /* `<!--`: escaped script text, already at `--` */
                s->run = 2;
                s->sub = R_TEXT;
            }
            return 1;
        }
        s->sub = R_TEXT;
        return 0;

    default: /* R_END, R_DSTART */
        name = raw_elems[s->raw].name;
        if (name[s->len] != '\0') {
            if ((unsigned char)name[s->len] == to_lower(c)) {
                s->len++;
                return 1;
            }
            s->sub = R_TEXT;
            return 0;
        }
        if (!is_follower(c)) {
            s->sub = R_TEXT;
            return 0;
        }
        if (s->sub == R_DSTART || s->esc == 2) {
            /* `<script` nests one level deeper, `</script` in the nested level goes back up */
            s->esc = (s->sub == R_DSTART) ? 2 : 1;
            s->sub = R_TEXT;
            s->run = 0;
            return 1;
        }
        /* the end tag of the element */
        s->raw = RAW_NONE;
        s->esc = 0;
        if (c == '>') {
            s->mode = M_DATA;
        }
        else {
            s->mode = M_TAG;
            s->sub = T_BEFORE_ATTR;
        }
        return 1;
    }
}

/* Feed one byte.  Returns 1 when it completes `</body` + follower in text. */
static int scan_byte(shs_html_scan_t *s, unsigned char c)
{
    static const char comment_open[] = "--";
    static const char cdata_open[] = "[CDATA[";
    const char *want;

    /* Every pass either consumes c (return) or changes state and reads c again; the chains
     * of re-reads are at most two long. */
    for (;;) {
        switch (s->mode) {
        case M_DATA:
            if (c == '<') {
                s->mode = M_LT;
            }
            return 0;

        case M_LT:
            if (c == '!') {
                s->mode = M_BANG;
                s->len = 0;
            }
            else if (c == '/') {
                s->mode = M_ENDOPEN;
                s->len = 0;
            }
            else if (c == '?') {
                s->mode = M_BOGUS;
            }
            else if (is_alpha(c)) {
                s->mode = M_STARTNAME;
                s->tok[0] = to_lower(c);
                s->len = 1;
            }
            else {
                s->mode = M_DATA;
                continue;
            }
            return 0;

        case M_BANG:
            if (s->len == 0) {
                s->sub = (c == '[');
            }
            want = s->sub ? cdata_open : comment_open;
            if (c != (unsigned char)want[s->len]) {
                s->mode = M_BOGUS;
                continue;
            }
            if (want[++s->len] == '\0') {
                s->mode = s->sub ? M_CDATA : M_COMMENT;
                s->run = 0;
                s->flags = CF_START;
            }
            return 0;

        case M_ENDOPEN:
            if (s->len == 0 && c == '>') {
                s->mode = M_DATA; /* `</>` */
                return 0;
            }
            if (s->len == 0 && !is_alpha(c)) {
                s->mode = M_BOGUS;
                continue;
            }
            if (s->len < 4) {
                if (to_lower(c) == (unsigned char)"body"[s->len]) {
                    s->len++;
                    return 0;
                }
            }
            else if (is_follower(c)) {
                s->mode = M_DONE;
                return 1;
            }
            s->raw = RAW_NONE; /* some other end tag */
            s->mode = M_TAG;
            s->sub = T_NAME;
            continue;

        case M_STARTNAME:
            if (is_follower(c)) {
                s->raw = raw_lookup(s->tok, s->len);
                if (c == '>') {
                    tag_end(s);
                }
                else {
                    s->mode = M_TAG;
                    s->sub = T_BEFORE_ATTR;
                }
            }
            else if (s->len < TOK_SIZE) {
                s->tok[s->len++] = to_lower(c);
            }
            else {
                /* longer names stop being stored: none of them is a raw-text element */
                s->len = TOK_TOO_LONG;
            }
            return 0;

        case M_TAG:
            scan_tag(s, c);
            return 0;

        case M_BOGUS:
            if (c == '>') {
                s->mode = M_DATA;
            }
            return 0;

        case M_COMMENT:
            scan_comment(s, c);
            return 0;

        case M_CDATA:
            if (c == ']') {
                if (s->run < 2) {
                    s->run++;
                }
            }
            else if (c == '>' && s->run >= 2) {
                s->mode = M_DATA;
            }
            else if (c == '>') {
                s->mode = M_PLAINTEXT; /* HTML and foreign content disagree: give up */
            }
            else {
                s->run = 0;
            }
            return 0;

        case M_RAW:
            if (scan_raw(s, c)) {
                return 0;
            }
            continue;

        default: /* M_PLAINTEXT, M_DONE */
            return 0;
        }
    }
}

/* Bytes that can change the state inside a tag, per sub-state (bit masks of tag_class). */
#define TC_SPACE 0x01
#define TC_SLASH 0x02
#define TC_GT 0x04
#define TC_EQ 0x08
#define TC_DQ 0x10
#define TC_SQ 0x20

static unsigned char tag_class(unsigned char c)
{
    if (is_space(c)) {
        return TC_SPACE;
    }
    switch (c) {
    case '/':
        return TC_SLASH;
    case '>':
        return TC_GT;
    case '=':
        return TC_EQ;
    case '"':
        return TC_DQ;
    case '\'':
        return TC_SQ;
    default:
        return 0;
    }
}

/* The first byte at or after i that scan_byte() must see: every byte before it would leave the
 * state as it is.  Runs of text, attribute names and values, comment, CDATA and raw-text
 * content are skipped with memchr or a tight loop instead of a dispatch per byte. */
static apr_size_t next_significant(const shs_html_scan_t *s, const char *buf, apr_size_t i,
                                   apr_size_t len)
{
    const char *hit;
    unsigned char stop = 0;
    int c1 = -1;

    switch (s->mode) {
    case M_DATA:
        c1 = '<';
        break;
    case M_BOGUS:
        c1 = '>';
        break;
    case M_COMMENT:
        if (s->run == 0 && s->flags == 0) {
            c1 = '-'; /* `>` and `!` only matter after dashes */
        }
        break;
    case M_CDATA:
        if (s->run == 0) {
            stop = 1; /* `]` or `>` */
        }
        break;
    case M_RAW:
        if (s->sub == R_TEXT && s->esc == 0) {
            c1 = '<';
        }
        break;
    case M_PLAINTEXT:
        return len; /* nothing can happen any more */
    case M_TAG:
        switch (s->sub) {
        case T_VAL_DQ:
            c1 = '"';
            break;
        case T_VAL_SQ:
            c1 = '\'';
            break;
        case T_NAME:
            stop = TC_SPACE | TC_SLASH | TC_GT;
            break;
        case T_ATTR:
            stop = TC_SPACE | TC_SLASH | TC_GT | TC_EQ;
            break;
        case T_VAL_UNQ:
            stop = TC_SPACE | TC_GT;
            break;
        default:
            break;
        }
        break;
    default:
        break;
    }
    if (c1 >= 0) {
        hit = memchr(buf + i, c1, len - i);
        return hit ? (apr_size_t)(hit - buf) : len;
    }
    if (s->mode == M_CDATA && stop) {
        while (i < len && buf[i] != ']' && buf[i] != '>') {
            i++;
        }
    }
    else if (stop) {
        while (i < len && !(tag_class((unsigned char)buf[i]) & stop)) {
            i++;
        }
    }
    return i;
}

void shs_html_scan_init(shs_html_scan_t *s)
{
    memset(s, 0, sizeof(*s));
    s->mode = M_DATA;
}

shs_html_result_e shs_html_scan(shs_html_scan_t *s, const char *buf, apr_size_t len,
                                apr_ssize_t *at, apr_size_t *hold)
{
    apr_size_t i;
    apr_size_t held = 0;

    if (at) {
        *at = 0;
    }
    if (s->mode != M_DONE) {
        for (i = 0; i < len; i++) {
            i = next_significant(s, buf, i, len);
            if (i == len) {
                break;
            }
            if (scan_byte(s, (unsigned char)buf[i])) {
                /* buf[i] is the follower: `</body` is the 6 bytes before it */
                if (at) {
                    *at = (apr_ssize_t)i - BODY_TOKEN_LEN;
                }
                if (hold) {
                    *hold = 0;
                }
                return SHS_HTML_FOUND;
            }
        }
        /* Only a partial `</body` in text can still become the insertion point. */
        if (s->mode == M_LT) {
            held = 1;
        }
        else if (s->mode == M_ENDOPEN) {
            held = 2 + (apr_size_t)s->len;
        }
    }
    if (hold) {
        *hold = held;
    }
    return SHS_HTML_MORE;
}

int shs_html_scan_can_append(const shs_html_scan_t *s)
{
    switch (s->mode) {
    case M_DATA:
        /* text, after a complete token: an appended `<img ...>` starts a tag */
        return 1;
    case M_LT:
        /* a bare `<` at the end.  The standard would emit it as text and read the appended
         * `<` as a new tag, but the page is broken here: refuse rather than rely on that. */
    case M_BANG:
    case M_ENDOPEN:
        /* `<!`, `<!-`, `<![CDA`: the tags would become a bogus comment; `</`, `</bo`: a bogus
         * comment or the attributes of an end tag */
    case M_STARTNAME:
    case M_TAG:
        /* `<div`, `<a href="...`: the tags would extend the tag name or become attributes
         * (or an attribute value) of the unfinished tag */
    case M_BOGUS:
    case M_COMMENT:
    case M_CDATA:
        /* the tags would be comment text (CDATA: text in foreign content, a bogus comment
         * in HTML) */
    case M_RAW:
        /* script/style/xmp/iframe/noembed/noframes/noscript/textarea/title left open: the
         * tags would be text of that element, even in the middle of its end tag (`</textar`) */
    case M_PLAINTEXT:
        /* everything after <plaintext> is text */
    case M_DONE:
        /* the insertion point was found: the tags go there, not at the end */
    default:
        return 0;
    }
}
