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

/* libFuzzer target: the Cookie and Set-Cookie syntax of src/shs_cookie.c and the id check of
 * src/shs_id.c.
 *
 * The input, NUL-terminated, is one Cookie header value.  For two fixed names (the module's
 * default and a prefix of it) shs_cookie_scan(), shs_cookie_get() and shs_cookie_strip() must
 * agree with an independent reading of the documented format (below) and keep their contracts:
 *  - seen and malformed are the pairs of that name and those whose value is no well-formed id;
 *    the value is the first well-formed one;
 *  - the stripped header is exactly the other pairs joined by "; ", contains no pair of that
 *    name, strips to itself, and scan and strip give the same one;
 *  - get() returns the first value of the name no longer than its max;
 *  - scanning twice into the same result accumulates the counts.
 * The same header goes through shs_cookie_rewrite() with three sets of name patterns (see
 * check_rewrite()), and shs_cookie_patterns_match(), shs_cookie_pattern_check() and
 * shs_cookie_name_is_valid() are compared with their definitions.
 * The input is also one Set-Cookie header: shs_set_cookie_parse() at two clocks must agree with
 * an independent reading of the attributes (see check_set_cookie()); and a request path and a
 * cookie path (split at the first newline) for shs_cookie_path_match() and
 * shs_cookie_default_path() (RFC 6265 5.1.4).
 * The raw input bytes also go through shs_id_is_valid(), compared with a reading of its
 * definition (43 characters that decode as base64url to 32 bytes, canonically).
 *
 * The independent reading (shs_cookie.h): pairs are separated by ';', and also by a ',' that is
 * followed by [OWS] token [OWS] '=' where the token is a name asked for (httpd joins a second
 * Cookie header line with ", "); any other ',' is a byte of the pair.  A pair is trimmed of
 * whitespace, and of ',' at its start; empty pairs do not count; its name is what precedes its
 * first '=', trimmed; its value what follows, trimmed, without one pair of enclosing quotes. */

#include <stdint.h>
#include <string.h>

#include <apr_date.h>

#include "fuzz_common.h"
#include "shs_id.h"
#include "shs_cookie.h"
#include "shs_token.h" /* shs_b64url_decode, directly or through shs_b64.h */

/* The id in a value, by the documented rule: the whole value when it is an id, else what
 * comes before its first ',' when that is one; 0 when neither. */
static size_t m_id_len(const char *val, size_t vlen)
{
    const char *comma = memchr(val, ',', vlen);

    if (shs_id_is_valid(val, vlen)) {
        return vlen;
    }
    return comma && shs_id_is_valid(val, (size_t)(comma - val)) ? (size_t)(comma - val) : 0;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static const char TCHARS[] = "!#$%&'*+-.^_`|~0123456789"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int m_tchar(char c)
{
    return c != '\0' && memchr(TCHARS, c, sizeof(TCHARS) - 1) != NULL;
}

/* The names asked for: one name, or patterns (a name, or a prefix and a final '*'). */
typedef struct m_want_t {
    const char *name;
    const char *const *pats;
    int npats;
} m_want_t;

/* Name s (len bytes) matches one of the patterns as it is. */
static int m_match_pats(const m_want_t *w, const char *s, size_t len)
{
    int i;

    for (i = 0; i < w->npats; i++) {
        size_t plen = strlen(w->pats[i]);
        if (plen > 0 && w->pats[i][plen - 1] == '*') {
            if (len + 1 >= plen && memcmp(w->pats[i], s, plen - 1) == 0) {
                return 1;
            }
        }
        else if (plen == len && memcmp(w->pats[i], s, len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The parser reads the PHP form of names shorter than this only (test_cookie.c has the failing
 * test for longer ones). */
#define M_PHP_NAME_MAX 256

/* Asked for: the name, or a name matching a pattern as it is or as PHP reads it ("NAME[...]"
 * is the array NAME when a ']' follows the first '['; ' ', '.' and a '[' without ']' are
 * '_'). */
static int m_wanted(const m_want_t *w, const char *s, size_t len)
{
    char php[M_PHP_NAME_MAX];
    const char *br;
    size_t n = len, i;

    if (w->name) {
        return strlen(w->name) == len && memcmp(w->name, s, len) == 0;
    }
    if (m_match_pats(w, s, len)) {
        return 1;
    }
    if (len >= M_PHP_NAME_MAX) {
        return 0;
    }
    br = memchr(s, '[', len);
    if (br && memchr(br, ']', len - (size_t)(br - s))) {
        n = (size_t)(br - s);
    }
    for (i = 0; i < n; i++) {
        php[i] = (s[i] == ' ' || s[i] == '.' || s[i] == '[') ? '_' : s[i];
    }
    return n > 0 && m_match_pats(w, php, n);
}

/* One pair of the model: the trimmed pair, its name and its unquoted value (name NULL when the
 * pair has no '='), and whether its name is asked for. */
typedef struct m_pair_t {
    const char *b, *e;
    const char *name, *name_e;
    const char *val, *val_e;
    int wanted;
} m_pair_t;

typedef struct m_cookies_t {
    m_pair_t *pairs;
    int n, nwanted;
} m_cookies_t;

/* Does the ',' at s[-1] separate pairs: [OWS] token [OWS] '=' with a token asked for? */
static int m_comma_splits(const char *s, const m_want_t *w)
{
    size_t i = 0, nb, ne;

    while (is_ows(s[i])) {
        i++;
    }
    nb = i;
    while (m_tchar(s[i])) {
        i++;
    }
    ne = i;
    while (is_ows(s[i])) {
        i++;
    }
    return ne > nb && s[i] == '=' && m_wanted(w, s + nb, ne - nb);
}

static void m_add_pair(m_cookies_t *m, const char *b, const char *e, const m_want_t *w)
{
    m_pair_t *cp = &m->pairs[m->n];
    const char *eq;

    while (b < e && (is_ows(*b) || *b == ',')) {
        b++;
    }
    while (e > b && is_ows(e[-1])) {
        e--;
    }
    if (b == e) {
        return;
    }
    memset(cp, 0, sizeof(*cp));
    cp->b = b;
    cp->e = e;
    for (eq = b; eq < e && *eq != '='; eq++) {
    }
    if (eq < e) {
        cp->name = b;
        cp->name_e = eq;
        while (cp->name_e > cp->name && is_ows(cp->name_e[-1])) {
            cp->name_e--;
        }
        cp->val = eq + 1;
        cp->val_e = e;
        while (cp->val < cp->val_e && is_ows(*cp->val)) {
            cp->val++;
        }
        if (cp->val_e - cp->val >= 2 && cp->val[0] == '"' && cp->val_e[-1] == '"') {
            cp->val++;
            cp->val_e--;
        }
        cp->wanted = m_wanted(w, cp->name, (size_t)(cp->name_e - cp->name));
    }
    m->nwanted += cp->wanted;
    m->n++;
}

/* The pairs of header, read by the rule above.  Free m->pairs after use. */
static void m_read(const char *header, const m_want_t *w, m_cookies_t *m)
{
    size_t len = strlen(header), i, start = 0;

    m->pairs = malloc((len / 2 + 2) * sizeof(*m->pairs)); /* a pair is 1 byte + 1 separator */
    FUZZ_CHECK(m->pairs != NULL);
    m->n = m->nwanted = 0;
    for (i = 0; i <= len; i++) {
        if (i == len || header[i] == ';' ||
            (header[i] == ',' && m_comma_splits(header + i + 1, w))) {
            m_add_pair(m, header + start, header + i, w);
            start = i + 1;
        }
    }
}

/* add unless NULL or empty, then the pairs not asked for, all joined by "; " (NULL when
 * nothing): what strip, scan and rewrite must give.  malloc()ed. */
static char *m_join_kept(const m_cookies_t *m, const char *add)
{
    size_t total = (add ? strlen(add) : 0) + 1, off = 0;
    char *out;
    int i;

    for (i = 0; i < m->n; i++) {
        total += (size_t)(m->pairs[i].e - m->pairs[i].b) + 2;
    }
    out = malloc(total);
    FUZZ_CHECK(out != NULL);
    if (add && *add) {
        memcpy(out, add, strlen(add));
        off = strlen(add);
    }
    for (i = 0; i < m->n; i++) {
        if (!m->pairs[i].wanted) {
            if (off) {
                memcpy(out + off, "; ", 2);
                off += 2;
            }
            memcpy(out + off, m->pairs[i].b, (size_t)(m->pairs[i].e - m->pairs[i].b));
            off += (size_t)(m->pairs[i].e - m->pairs[i].b);
        }
    }
    out[off] = '\0';
    if (!off) {
        free(out);
        return NULL;
    }
    return out;
}

/* Same string, or both NULL. */
static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Count the pairs of header named exactly name, by the model. */
static int count_named(const char *header, const char *name)
{
    m_want_t w = { name, NULL, 0 };
    m_cookies_t m;

    m_read(header, &w, &m);
    free(m.pairs);
    return m.nwanted;
}

static void check_stripped(apr_pool_t *p, const char *stripped, const char *name)
{
    size_t n;
    int found = -1;
    const char *again;
    shs_cookie_scan_t res;

    if (!stripped) {
        return;
    }
    n = strlen(stripped);
    FUZZ_CHECK(n > 0);
    FUZZ_CHECK(!is_ows(stripped[0]) && stripped[0] != ';');
    FUZZ_CHECK(!is_ows(stripped[n - 1]) && stripped[n - 1] != ';');
    FUZZ_CHECK(strstr(stripped, ";;") == NULL && strstr(stripped, "; ;") == NULL);
    FUZZ_CHECK(count_named(stripped, name) == 0);

    memset(&res, 0, sizeof(res));
    shs_cookie_scan(p, stripped, name, &res);
    FUZZ_CHECK(res.seen == 0 && res.malformed == 0 && res.value == NULL);
    FUZZ_CHECK(res.stripped != NULL && strcmp(res.stripped, stripped) == 0);

    again = shs_cookie_strip(p, stripped, name, &found);
    FUZZ_CHECK(found == 0);
    FUZZ_CHECK(again != NULL && strcmp(again, stripped) == 0);
    FUZZ_CHECK(shs_cookie_get(p, stripped, name, (apr_size_t)-1) == NULL);
}

static void check_name(apr_pool_t *p, const char *header, const char *name)
{
    shs_cookie_scan_t res, twice;
    const char *first, *stripped, *got;
    int found = -1;
    size_t hlen = strlen(header);

    m_want_t w = { name, NULL, 0 };
    m_cookies_t m;
    char *want_stripped;
    const char *want_value = NULL, *want_first = NULL, *want_short = NULL;
    int i, want_malformed = 0;

    /* what the model expects: an id is the whole value, or what comes before a ',' (a joined
     * second Cookie line after it) */
    m_read(header, &w, &m);
    want_stripped = m_join_kept(&m, NULL);
    for (i = 0; i < m.n; i++) {
        const m_pair_t *cp = &m.pairs[i];
        size_t vlen = (size_t)(cp->val_e - cp->val);
        if (!cp->wanted) {
            continue;
        }
        if (!want_first) {
            want_first = apr_pstrmemdup(p, cp->val, vlen);
        }
        if (!want_short && vlen <= SHS_ID_LEN) {
            want_short = apr_pstrmemdup(p, cp->val, vlen);
        }
        if (m_id_len(cp->val, vlen)) {
            if (!want_value) {
                want_value = apr_pstrmemdup(p, cp->val, m_id_len(cp->val, vlen));
            }
        }
        else {
            want_malformed++;
        }
    }

    memset(&res, 0, sizeof(res));
    shs_cookie_scan(p, header, name, &res);
    FUZZ_CHECK(res.seen >= 0 && res.malformed >= 0 && res.malformed <= res.seen);
    FUZZ_CHECK(res.seen == m.nwanted);
    FUZZ_CHECK(res.malformed == want_malformed);
    FUZZ_CHECK(same(res.value, want_value));
    FUZZ_CHECK(same(res.stripped, want_stripped));
    FUZZ_CHECK((res.value != NULL) == (res.seen > res.malformed));
    if (res.value) {
        FUZZ_CHECK(shs_id_is_valid(res.value, strlen(res.value)));
        FUZZ_CHECK(strstr(header, res.value) != NULL);
    }
    if (res.stripped) {
        FUZZ_CHECK(strlen(res.stripped) <= 2 * hlen);
    }
    check_stripped(p, res.stripped, name);

    /* results accumulate over several headers; stripped is the last one's */
    twice = res;
    shs_cookie_scan(p, header, name, &twice);
    FUZZ_CHECK(twice.seen == 2 * res.seen && twice.malformed == 2 * res.malformed);
    FUZZ_CHECK((twice.value == NULL) == (res.value == NULL));
    FUZZ_CHECK(twice.value == res.value); /* the first one found is kept */
    FUZZ_CHECK((twice.stripped == NULL) == (res.stripped == NULL));
    FUZZ_CHECK(!res.stripped || strcmp(twice.stripped, res.stripped) == 0);

    stripped = shs_cookie_strip(p, header, name, &found);
    FUZZ_CHECK(found == (res.seen > 0));
    FUZZ_CHECK((stripped == NULL) == (res.stripped == NULL));
    FUZZ_CHECK(!stripped || strcmp(stripped, res.stripped) == 0);

    /* get: the first pair under the name, whatever its value */
    first = shs_cookie_get(p, header, name, (apr_size_t)-1);
    FUZZ_CHECK((first != NULL) == (res.seen > 0));
    if (first && m_id_len(first, strlen(first))) {
        FUZZ_CHECK(res.value && strncmp(first, res.value, SHS_ID_LEN) == 0);
    }
    got = shs_cookie_get(p, header, name, SHS_ID_LEN);
    FUZZ_CHECK(!got || strlen(got) <= SHS_ID_LEN);
    /* (a value "ID, other=1" holds an id but is longer than one: get against the model below) */
    got = shs_cookie_get(p, header, name, 0);
    FUZZ_CHECK(!got || *got == '\0');

    /* and get against the model */
    FUZZ_CHECK(same(first, want_first));
    FUZZ_CHECK(same(shs_cookie_get(p, header, name, SHS_ID_LEN), want_short));

    /* find_id: the first well-formed id of the name with the fingerprint asked for */
    if (res.value) {
        const char *fp = shs_id_fingerprint(p, res.value), *want_id = NULL;
        for (i = 0; i < m.n && !want_id; i++) {
            const m_pair_t *cp = &m.pairs[i];
            size_t vlen = (size_t)(cp->val_e - cp->val);
            if (cp->wanted && m_id_len(cp->val, vlen)) {
                const char *id = apr_pstrmemdup(p, cp->val, m_id_len(cp->val, vlen));
                if (strcmp(shs_id_fingerprint(p, id), fp) == 0) {
                    want_id = id;
                }
            }
        }
        FUZZ_CHECK(want_id != NULL);
        FUZZ_CHECK(same(shs_cookie_find_id(p, header, name, fp), want_id));
    }
    FUZZ_CHECK(shs_cookie_find_id(p, header, name, "not-hex!") == NULL);
    FUZZ_CHECK(shs_cookie_find_id(p, header, name, NULL) == NULL);

    free(want_stripped);
    free(m.pairs);
}

/* shs_cookie_pattern_check() and shs_cookie_name_is_valid() against their definitions. */
static int m_pattern_ok(const char *s)
{
    size_t len = strlen(s), i;

    if (len == 0 || strcmp(s, "*") == 0) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (s[i] == '*' ? i + 1 != len : !m_tchar(s[i])) {
            return 0;
        }
    }
    return 1;
}

static int m_name_ok(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++) {
        if (!m_tchar(s[i])) {
            return 0;
        }
    }
    return i > 0;
}

/* shs_cookie_rewrite() with patterns pats (all valid) and pairs to add:
 *  - the result is add, then "; " and exactly the pairs whose name matches no pattern (as it is
 *    or as PHP reads it), in order and byte for byte, joined by "; " (NULL when that is
 *    empty); dropped counts the others;
 *  - shs_cookie_patterns_match() agrees with the model on every name of the header;
 *  - without add, no pair of a matching name remains and rewriting again changes nothing;
 *  - with add, the result is add followed by the one without add. */
static void check_rewrite(apr_pool_t *p, const char *header, const char *const *pats, int npats,
                          const char *add)
{
    m_want_t w = { NULL, pats, npats };
    apr_array_header_t *arr = apr_array_make(p, npats, sizeof(const char *));
    m_cookies_t m, again;
    char *want, *want_added;
    const char *out, *out2, *added;
    int i, dropped = -1, dropped2 = -1;

    for (i = 0; i < npats; i++) {
        FUZZ_CHECK(shs_cookie_pattern_check(pats[i]) == NULL);
        APR_ARRAY_PUSH(arr, const char *) = pats[i];
    }
    m_read(header, &w, &m);
    for (i = 0; i < m.n; i++) {
        const m_pair_t *cp = &m.pairs[i];
        if (cp->name) {
            apr_size_t nlen = (apr_size_t)(cp->name_e - cp->name);
            int raw = m_match_pats(&w, cp->name, nlen);
            FUZZ_CHECK(shs_cookie_patterns_match(arr, cp->name, nlen) == raw);
            FUZZ_CHECK(!raw || cp->wanted);
        }
    }
    want = m_join_kept(&m, NULL);
    want_added = m_join_kept(&m, add);

    out = shs_cookie_rewrite(p, header, arr, NULL, &dropped);
    FUZZ_CHECK(dropped == m.nwanted);
    FUZZ_CHECK(same(out, want));
    if (out) {
        m_read(out, &w, &again);
        FUZZ_CHECK(again.nwanted == 0);
        free(again.pairs);
    }
    out2 = shs_cookie_rewrite(p, out, arr, NULL, &dropped2);
    FUZZ_CHECK(dropped2 == 0);
    FUZZ_CHECK(same(out2, out));

    added = shs_cookie_rewrite(p, header, arr, add, &dropped2);
    FUZZ_CHECK(dropped2 == dropped);
    FUZZ_CHECK(same(added, want_added));
    if (add && *add) {
        size_t alen = strlen(add), olen = out ? strlen(out) : 0;
        FUZZ_CHECK(added != NULL && strlen(added) == alen + (olen ? 2 : 0) + olen);
        FUZZ_CHECK(strncmp(added, add, alen) == 0);
        FUZZ_CHECK(!out || (strncmp(added + alen, "; ", 2) == 0 && !strcmp(added + alen + 2, out)));
    }
    else {
        FUZZ_CHECK(same(added, out));
    }

    free(want);
    free(want_added);
    free(m.pairs);
}

/* shs_cookie_pattern_takes_own(): does pattern match one of the module's cookie names for id
 * cookie name `name` (the name and the name with _sync, _state, _pull, _pushed)? */
static void check_takes_own(apr_pool_t *p, const char *pattern, const char *name)
{
    static const char *const suffixes[] = { "", "_sync", "_state", "_pull", "_pushed" };
    m_want_t w = { NULL, &pattern, 1 };
    int k, want = 0;

    for (k = 0; k < 5; k++) {
        const char *own = apr_pstrcat(p, name, suffixes[k], NULL);
        want |= m_match_pats(&w, own, strlen(own));
    }
    FUZZ_CHECK(shs_cookie_pattern_takes_own(p, pattern, name) == want);
}

/* Rewrites with three sets of patterns: the application's usual ones, prefixes of the module's
 * own names, and two taken from the input (its leading token as a name, and half of it as a
 * prefix), so that names in the input get matched. */
static void check_rewrites(apr_pool_t *p, const char *header)
{
    static const char *const app[] = { "PHPSESSID", "wiki_*", FUZZ_COOKIE_NAME };
    static const char *const own[] = { FUZZ_COOKIE_NAME2 "*", "a" };
    const char *derived[2];
    size_t n = 0, i;
    int nd = 0;

    check_rewrite(p, header, app, 3, "PHPSESSID=new; " FUZZ_COOKIE_NAME "_sync=1");
    check_rewrite(p, header, own, 2, NULL);

    while (m_tchar(header[n]) && n < 32) {
        n++;
    }
    if (n > 0) {
        char *exact = apr_pstrmemdup(p, header, n);
        char *prefix = apr_palloc(p, n / 2 + 2);
        memcpy(prefix, header, n / 2);
        prefix[n / 2] = '*';
        prefix[n / 2 + 1] = '\0';
        if (m_pattern_ok(exact)) {
            derived[nd++] = exact;
        }
        if (m_pattern_ok(prefix)) {
            derived[nd++] = prefix;
        }
    }
    for (i = 0; i < (size_t)nd; i++) {
        FUZZ_CHECK(m_pattern_ok(derived[i]));
        check_takes_own(p, derived[i], FUZZ_COOKIE_NAME);
        check_takes_own(p, derived[i], header);
    }
    check_rewrite(p, header, derived, nd, nd ? header + n : "");

    FUZZ_CHECK((shs_cookie_pattern_check(header) == NULL) == m_pattern_ok(header));
    FUZZ_CHECK(shs_cookie_name_is_valid(header) == m_name_ok(header));
}

/* ------------------------------------------------------------------ Set-Cookie */

/* s[0..len) trimmed of SP and HTAB, as a new string. */
static char *m_trim(apr_pool_t *p, const char *s, size_t len)
{
    while (len && is_ows(*s)) {
        s++;
        len--;
    }
    while (len && is_ows(s[len - 1])) {
        len--;
    }
    return apr_pstrmemdup(p, s, len);
}

/* ASCII case-insensitive equality with a lower-case word. */
static int m_is(const char *s, const char *lower)
{
    for (; *s && *lower; s++, lower++) {
        char c = (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s;
        if (c != *lower) {
            return 0;
        }
    }
    return *s == '\0' && *lower == '\0';
}

/* The first Max-Age value at or above which the parser may cap (its cap is somewhere between
 * this and ten times it: a value past the cap only has to stay far in the future). */
#define M_MAX_AGE_CAP APR_INT64_C(100000000000)

/* A Max-Age value: [-] DIGIT+, else ignored (returns 0).  *big when it is M_MAX_AGE_CAP or more. */
static int m_max_age(const char *v, int *neg, apr_int64_t *val, int *big)
{
    apr_int64_t n = 0;

    *neg = *v == '-';
    v += *neg;
    if (!*v) {
        return 0;
    }
    *big = 0;
    for (; *v; v++) {
        if (*v < '0' || *v > '9') {
            return 0;
        }
        if (!*big) {
            n = n * 10 + (*v - '0');
            *big = n >= M_MAX_AGE_CAP;
        }
    }
    *val = n;
    return 1;
}

/* shs_set_cookie_parse() on the input as a Set-Cookie header, at time now, against a reading of
 * RFC 6265 5.2 as shs_cookie.h documents it:
 *  - APR_EINVAL exactly for a control character (other than HTAB), no '=' before the first
 *    ';', or a name (trimmed) that is not a token;
 *  - else name and value trimmed, the value quotes and all; the last Path attribute (any case)
 *    counts, when it starts with '/'; the last valid Max-Age wins over any Expires; else the
 *    last Expires that APR parses or that names a year up to 1970 (others are ignored); the
 *    last SameSite: None 'n', Strict 's', anything else or none 'l';
 *  - removes exactly when Max-Age <= 0 or that Expires <= now; a removal expires at now,
 *    anything else at 0 (end of session) or after now.
 * The model parses the dates with apr_date_parse_rfc() as the parser does. */
static void check_set_cookie(apr_pool_t *p, const char *header, apr_time_t now)
{
    shs_set_cookie_t c;
    apr_status_t rc = shs_set_cookie_parse(p, header, now, &c);
    size_t len = strlen(header), semi, eq, i, a;
    const char *path = NULL;
    apr_int64_t ma_val = 0;
    int ctl = 0, have_ma = 0, ma_neg = 0, ma_big = 0, have_exp = 0;
    char samesite = 'l';
    char *name, *value;

    FUZZ_CHECK(rc == APR_SUCCESS || rc == APR_EINVAL);
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)header[i];
        ctl |= (ch < 0x20 && ch != '\t') || ch == 0x7f;
    }
    for (semi = 0; semi < len && header[semi] != ';'; semi++) {
    }
    for (eq = 0; eq < semi && header[eq] != '='; eq++) {
    }
    if (ctl || eq == semi) {
        FUZZ_CHECK(rc == APR_EINVAL);
        return;
    }
    name = m_trim(p, header, eq);
    value = m_trim(p, header + eq + 1, semi - eq - 1);
    if (!m_name_ok(name)) {
        FUZZ_CHECK(rc == APR_EINVAL);
        return;
    }
    FUZZ_CHECK(rc == APR_SUCCESS);
    FUZZ_CHECK(strcmp(c.name, name) == 0 && shs_cookie_name_is_valid(c.name));
    FUZZ_CHECK(strcmp(c.value, value) == 0 && strchr(c.value, ';') == NULL);

    for (a = semi; a < len; a = i) {
        size_t b = a + 1, aeq;
        char *an, *av;
        for (i = b; i < len && header[i] != ';'; i++) {
        }
        for (aeq = b; aeq < i && header[aeq] != '='; aeq++) {
        }
        an = m_trim(p, header + b, aeq - b);
        av = aeq < i ? m_trim(p, header + aeq + 1, i - aeq - 1) : "";
        if (m_is(an, "max-age")) {
            int neg, big;
            apr_int64_t v;
            if (m_max_age(av, &neg, &v, &big)) {
                have_ma = 1;
                ma_neg = neg;
                ma_val = v;
                ma_big = big;
            }
        }
        else if (m_is(an, "expires")) {
            /* the date itself is read by the RFC 6265 cookie-date algorithm, which the unit
             * tests check value by value; here only the consistency of the outcome */
            have_exp = 1;
        }
        else if (m_is(an, "samesite")) {
            samesite = m_is(av, "none") ? 'n' : m_is(av, "strict") ? 's' : 'l';
        }
        else if (m_is(an, "path")) {
            path = av[0] == '/' ? av : NULL;
        }
    }
    FUZZ_CHECK(same(c.path, path));
    FUZZ_CHECK(c.samesite == samesite);
    if (have_ma && (ma_neg || ma_val == 0)) {
        FUZZ_CHECK(c.removes && c.expires == now);
    }
    else if (have_ma && !ma_big) {
        FUZZ_CHECK(!c.removes && c.expires == now + apr_time_from_sec(ma_val));
    }
    else if (have_ma) {
        FUZZ_CHECK(!c.removes && c.expires >= now + apr_time_from_sec(M_MAX_AGE_CAP) &&
                   c.expires <= now + apr_time_from_sec(10 * M_MAX_AGE_CAP));
    }
    else if (have_exp) {
        FUZZ_CHECK(c.removes ? c.expires == now : (c.expires == 0 || c.expires > now));
    }
    else {
        FUZZ_CHECK(!c.removes && c.expires == 0);
    }
    FUZZ_CHECK(c.removes ? c.expires == now : (c.expires == 0 || c.expires > now));
    FUZZ_CHECK(!c.path || (c.path[0] == '/' && strchr(c.path, ';') == NULL));
}

/* ------------------------------------------------------------------ paths */

/* The input up to its first '\n' as a request path and the rest as a cookie path:
 * path-match by RFC 6265 5.1.4, and the default-path of the request path, which path-matches
 * it when it is absolute. */
static void check_paths(apr_pool_t *p, const char *input)
{
    const char *nl = strchr(input, '\n');
    const char *req = nl ? apr_pstrmemdup(p, input, (size_t)(nl - input)) : input;
    const char *cpath = nl ? nl + 1 : "/";
    const char *dp = shs_cookie_default_path(p, req), *last = NULL, *c;
    size_t rlen = strlen(req), clen = strlen(cpath);
    int match = strcmp(req, cpath) == 0 || (clen < rlen && memcmp(req, cpath, clen) == 0 &&
                                            ((clen && cpath[clen - 1] == '/') || req[clen] == '/'));

    FUZZ_CHECK(shs_cookie_path_match(req, cpath) == match);
    for (c = req; *c; c++) {
        if (*c == '/') {
            last = c;
        }
    }
    if (req[0] != '/' || last == req) {
        FUZZ_CHECK(strcmp(dp, "/") == 0);
    }
    else {
        FUZZ_CHECK(strlen(dp) == (size_t)(last - req) && memcmp(dp, req, strlen(dp)) == 0);
    }
    if (req[0] == '/') {
        FUZZ_CHECK(shs_cookie_path_match(req, dp));
    }
}

/* shs_id_is_valid() against its definition. */
static void check_id(apr_pool_t *p, const char *s, size_t len)
{
    unsigned char *raw = NULL;
    apr_size_t rawlen = 0;
    int want = len == SHS_ID_LEN && shs_b64url_decode(p, s, len, &raw, &rawlen) == APR_SUCCESS &&
               rawlen == SHS_ID_BYTES;

    FUZZ_CHECK(shs_id_is_valid(s, len) == want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *header;

    FUZZ_CHECK(apr_pool_create(&p, fuzz_root_pool()) == APR_SUCCESS);
    header = malloc(size + 1);
    FUZZ_CHECK(header != NULL);
    memcpy(header, data, size);
    header[size] = '\0';

    check_name(p, header, FUZZ_COOKIE_NAME);
    check_name(p, header, FUZZ_COOKIE_NAME2);
    check_rewrites(p, header);
    check_set_cookie(p, header, apr_time_from_sec(FUZZ_NOW));
    check_set_cookie(p, header, apr_time_from_sec(784111777)); /* 1994-11-06 08:49:37 GMT */
    check_paths(p, header);
    check_id(p, header, size);
    if (size > SHS_ID_LEN) {
        check_id(p, header + size - SHS_ID_LEN, SHS_ID_LEN); /* a window that has the length */
    }
    FUZZ_CHECK(shs_cookie_name_is_valid(FUZZ_COOKIE_NAME));

    free(header);
    apr_pool_destroy(p);
    return 0;
}
