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

#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "shs_cookie.h"
#include "shs_id.h"

const char *shs_cookie_own_name(apr_pool_t *p, const char *name, shs_cookie_kind_e kind)
{
    static const char *const suffix[SHS_COOKIE_KINDS] = { "", "_sync", "_state", "_pull",
                                                          "_pushed" };

    return kind == SHS_COOKIE_ID ? name : apr_pstrcat(p, name, suffix[kind], NULL);
}

/* RFC 6265 token characters (RFC 7230 tchar). */
static int is_tchar(unsigned char c)
{
    if (c >= 'a' && c <= 'z') {
        return 1;
    }
    if (c >= 'A' && c <= 'Z') {
        return 1;
    }
    if (c >= '0' && c <= '9') {
        return 1;
    }
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int shs_cookie_name_is_valid(const char *name)
{
    const char *c;

    if (!name || !*name) {
        return 0;
    }
    for (c = name; *c; c++) {
        if (!is_tchar((unsigned char)*c)) {
            return 0;
        }
    }
    return 1;
}

const char *shs_cookie_pattern_check(const char *pattern)
{
    apr_size_t len = pattern ? strlen(pattern) : 0, i;

    if (len == 0) {
        return "an empty name";
    }
    if (!strcmp(pattern, "*")) {
        return "'*' alone would take every cookie of the application";
    }
    for (i = 0; i < len; i++) {
        if (pattern[i] == '*' && i != len - 1) {
            return "'*' is only allowed at the end (a name prefix)";
        }
        if (pattern[i] != '*' && !is_tchar((unsigned char)pattern[i])) {
            return "not a cookie name (RFC 6265 token characters only)";
        }
    }
    return NULL;
}

int shs_cookie_pattern_takes_own(apr_pool_t *p, const char *pattern, const char *name)
{
    apr_array_header_t *one = apr_array_make(p, 1, sizeof(const char *));
    int kind;

    APR_ARRAY_PUSH(one, const char *) = pattern;
    for (kind = 0; kind < SHS_COOKIE_KINDS; kind++) {
        const char *own = shs_cookie_own_name(p, name, (shs_cookie_kind_e)kind);
        if (shs_cookie_patterns_match(one, own, strlen(own))) {
            return 1;
        }
    }
    return 0;
}

int shs_cookie_patterns_match(const apr_array_header_t *patterns, const char *name, apr_size_t len)
{
    int i;

    for (i = 0; patterns && i < patterns->nelts; i++) {
        const char *pat = APR_ARRAY_IDX(patterns, i, const char *);
        apr_size_t plen = strlen(pat);
        if (plen && pat[plen - 1] == '*') {
            if (len >= plen - 1 && !memcmp(name, pat, plen - 1)) {
                return 1;
            }
        }
        else if (len == plen && !memcmp(name, pat, len)) {
            return 1;
        }
    }
    return 0;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* The names a pair may be looked for by: one name, or patterns. */
typedef struct want_t {
    const char *name;
    apr_size_t nlen;
    const apr_array_header_t *patterns;
} want_t;

/* The name PHP gives a cookie: ' ' and '.' become '_'; "NAME[...]" is an array NAME, and a
 * '[' without ']' becomes '_'.  (Other languages' parsers do less.) */
static apr_size_t php_name(const char *name, apr_size_t len, char *out, apr_size_t cap)
{
    const char *br = memchr(name, '[', len);
    apr_size_t i, n = 0;

    if (br && memchr(br, ']', len - (apr_size_t)(br - name))) {
        len = (apr_size_t)(br - name);
    }
    for (i = 0; i < len && n < cap; i++) {
        char c = name[i];
        out[n++] = (c == ' ' || c == '.' || c == '[') ? '_' : c;
    }
    return n;
}

static int wanted(const want_t *w, const char *name, apr_size_t len)
{
    char small[256], *buf = small;
    apr_size_t n;
    int hit;

    if (w->name) {
        return len == w->nlen && !memcmp(name, w->name, len);
    }
    if (shs_cookie_patterns_match(w->patterns, name, len)) {
        return 1;
    }
    if (len > sizeof(small) && !(buf = malloc(len))) {
        return 1; /* cannot tell: the cookie goes, rather than slip through */
    }
    n = php_name(name, len, buf, len > sizeof(small) ? len : sizeof(small));
    hit = n && shs_cookie_patterns_match(w->patterns, buf, n);
    if (buf != small) {
        free(buf);
    }
    return hit;
}

/* After a ',' at s: does a pair of a wanted name start here (a joined second header line)? */
static int wanted_pair_starts(const char *s, const want_t *w)
{
    const char *n;

    while (is_ows(*s)) {
        s++;
    }
    for (n = s; is_tchar((unsigned char)*s); s++) {
    }
    if (s == n) {
        return 0;
    }
    {
        apr_size_t len = (apr_size_t)(s - n);
        while (is_ows(*s)) {
            s++;
        }
        return *s == '=' && wanted(w, n, len);
    }
}

/* One "name=value" pair of a Cookie header: the whole pair (for re-joining), its name and
 * its value (unquoted), all without surrounding whitespace.  A pair without '=' has no name. */
typedef struct cookie_pair_t {
    const char *pair, *pair_end;
    const char *name, *name_end;
    const char *val, *val_end;
} cookie_pair_t;

/* Advance *s to the next pair; 0 at the end of the header. */
static int cookie_next(const char **s, cookie_pair_t *cp, const want_t *w)
{
    const char *end, *eq;

    while (is_ows(**s) || **s == ';' || **s == ',') {
        (*s)++;
    }
    if (!**s) {
        return 0;
    }
    cp->pair = *s;
    for (end = *s; *end && *end != ';'; end++) {
        if (*end == ',' && wanted_pair_starts(end + 1, w)) {
            break;
        }
    }
    *s = end;
    while (end > cp->pair && is_ows(end[-1])) {
        end--;
    }
    cp->pair_end = end;
    cp->name = cp->name_end = cp->val = cp->val_end = NULL;
    eq = memchr(cp->pair, '=', (apr_size_t)(end - cp->pair));
    if (eq) {
        cp->name = cp->pair;
        cp->name_end = eq;
        while (cp->name_end > cp->name && is_ows(cp->name_end[-1])) {
            cp->name_end--;
        }
        cp->val = eq + 1;
        cp->val_end = end;
        while (cp->val < cp->val_end && is_ows(*cp->val)) {
            cp->val++;
        }
        if (cp->val_end - cp->val >= 2 && *cp->val == '"' && cp->val_end[-1] == '"') {
            cp->val++;
            cp->val_end--;
        }
    }
    return 1;
}

static int pair_wanted(const cookie_pair_t *cp, const want_t *w)
{
    return cp->name && wanted(w, cp->name, (apr_size_t)(cp->name_end - cp->name));
}

/* Appends a kept pair to the header being rebuilt ("; " between pairs). */
static char *put_pair(char *o, const char *out, const char *pair, apr_size_t len)
{
    if (o != out) {
        *o++ = ';';
        *o++ = ' ';
    }
    memcpy(o, pair, len);
    return o + len;
}

/* The id in a pair's value: the value itself, or what comes before a ',' (a second Cookie
 * line joined on by httpd: "ID, other=1"; ids hold no ','). */
static apr_size_t id_len(const char *val, apr_size_t vlen)
{
    const char *comma;

    if (!val || !vlen) {
        return 0; /* a pair without '=', or an empty value */
    }
    comma = memchr(val, ',', vlen);
    if (shs_id_is_valid(val, vlen)) {
        return vlen;
    }
    return comma && shs_id_is_valid(val, (apr_size_t)(comma - val)) ? (apr_size_t)(comma - val) : 0;
}

void shs_cookie_scan(apr_pool_t *p, const char *header, const char *name, shs_cookie_scan_t *res)
{
    want_t w = { name, strlen(name), NULL };
    const char *s = header;
    cookie_pair_t cp;
    char *out, *o;

    res->stripped = NULL;
    if (!header) {
        return;
    }
    /* Pairs are re-joined with "; ": at most one more byte per separator than the input. */
    o = out = apr_palloc(p, 2 * strlen(header) + 1);
    while (cookie_next(&s, &cp, &w)) {
        if (pair_wanted(&cp, &w)) {
            apr_size_t vlen = id_len(cp.val, (apr_size_t)(cp.val_end - cp.val));
            res->seen++;
            if (vlen) {
                if (!res->value) {
                    res->value = apr_pstrmemdup(p, cp.val, vlen);
                }
            }
            else {
                res->malformed++;
            }
            continue; /* our pair is left out of the stripped header */
        }
        o = put_pair(o, out, cp.pair, (apr_size_t)(cp.pair_end - cp.pair));
    }
    *o = '\0';
    res->stripped = (o != out) ? out : NULL;
}

void shs_cookie_ids(apr_pool_t *p, const char *header, const char *name, apr_array_header_t *ids)
{
    want_t w = { name, strlen(name), NULL };
    const char *s = header;
    cookie_pair_t cp;
    apr_size_t n;

    while (s && cookie_next(&s, &cp, &w)) {
        if (pair_wanted(&cp, &w) && (n = id_len(cp.val, (apr_size_t)(cp.val_end - cp.val)))) {
            APR_ARRAY_PUSH(ids, const char *) = apr_pstrmemdup(p, cp.val, n);
        }
    }
}

const char *shs_cookie_find_id(apr_pool_t *p, const char *header, const char *name, const char *fp)
{
    want_t w = { name, strlen(name), NULL };
    const char *s = header;
    cookie_pair_t cp;

    while (s && fp && cookie_next(&s, &cp, &w)) {
        apr_size_t vlen = id_len(cp.val, (apr_size_t)(cp.val_end - cp.val));
        if (pair_wanted(&cp, &w) && vlen) {
            const char *id = apr_pstrmemdup(p, cp.val, vlen);
            if (!strcmp(shs_id_fingerprint(p, id), fp)) {
                return id;
            }
        }
    }
    return NULL;
}

const char *shs_cookie_get(apr_pool_t *p, const char *header, const char *name, apr_size_t max)
{
    want_t w = { name, strlen(name), NULL };
    const char *s = header;
    cookie_pair_t cp;

    while (s && cookie_next(&s, &cp, &w)) {
        if (pair_wanted(&cp, &w) && (apr_size_t)(cp.val_end - cp.val) <= max) {
            return apr_pstrmemdup(p, cp.val, (apr_size_t)(cp.val_end - cp.val));
        }
    }
    return NULL;
}

static const char *rebuild(apr_pool_t *p, const char *header, const want_t *w, const char *add,
                           int *dropped)
{
    apr_size_t alen = add ? strlen(add) : 0;
    const char *s = header;
    cookie_pair_t cp;
    char *out, *o;

    *dropped = 0;
    o = out = apr_palloc(p, 2 * (header ? strlen(header) : 0) + alen + 3);
    /* first: applications (PHP) keep the first of two cookies of one name */
    if (alen) {
        o = put_pair(o, out, add, alen);
    }
    while (s && cookie_next(&s, &cp, w)) {
        if (pair_wanted(&cp, w)) {
            (*dropped)++;
            continue;
        }
        o = put_pair(o, out, cp.pair, (apr_size_t)(cp.pair_end - cp.pair));
    }
    *o = '\0';
    return o != out ? out : NULL;
}

const char *shs_cookie_strip(apr_pool_t *p, const char *header, const char *name, int *found)
{
    want_t w = { name, strlen(name), NULL };
    int n;
    const char *out = header ? rebuild(p, header, &w, NULL, &n) : NULL;

    *found = header && n > 0;
    return out;
}

const char *shs_cookie_rewrite(apr_pool_t *p, const char *header,
                               const apr_array_header_t *patterns, const char *add, int *dropped)
{
    want_t w = { NULL, 0, patterns };

    return rebuild(p, header, &w, add, dropped);
}

/* ------------------------------------------------------------------ Set-Cookie */

static const char *trimmed(apr_pool_t *p, const char *b, const char *e)
{
    while (b < e && is_ows(*b)) {
        b++;
    }
    while (e > b && is_ows(e[-1])) {
        e--;
    }
    return apr_pstrmemdup(p, b, (apr_size_t)(e - b));
}

/* Max-Age as RFC 6265 5.2.2 reads it: an optional '-' then digits; else the attribute is
 * ignored (returns 0).  Large values are capped. */
static int parse_max_age(const char *v, apr_int64_t *out)
{
    apr_int64_t n = 0;
    int neg = 0;

    if (*v == '-') {
        neg = 1;
        v++;
    }
    if (!apr_isdigit(*v)) {
        return 0;
    }
    for (; *v; v++) {
        if (!apr_isdigit(*v)) {
            return 0;
        }
        if (n < APR_INT64_C(100000000000)) {
            n = n * 10 + (*v - '0');
        }
    }
    *out = neg ? -n : n;
    return 1;
}

/* RFC 6265 section 5.1.1: the cookie-date algorithm browsers use for Expires (lenient about
 * order, case and separators, strict about ranges).  0 when the value is no date. */
static int is_delim(unsigned char c)
{
    return c == 0x09 || (c >= 0x20 && c <= 0x2f) || (c >= 0x3b && c <= 0x40) ||
           (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

/* Leading 1..max digits of tok, the rest anything; -1 when none. */
static int digits(const char *tok, apr_size_t len, int min, int max, const char **rest)
{
    int n = 0, v = 0;

    while ((apr_size_t)n < len && apr_isdigit(tok[n]) && n < max) {
        v = v * 10 + (tok[n] - '0');
        n++;
    }
    if (n < min || ((apr_size_t)n < len && apr_isdigit(tok[n]))) {
        return -1;
    }
    *rest = tok + n;
    return v;
}

static int cookie_date(const char *v, apr_time_t *out)
{
    static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    int have_time = 0, have_day = 0, have_month = 0, have_year = 0;
    int hh = 0, mi = 0, ss = 0, day = 0, month = 0, year = 0;
    const char *s = v;

    while (*s) {
        const char *tok, *rest;
        apr_size_t len;
        int a, b, c, m;
        while (*s && is_delim((unsigned char)*s)) {
            s++;
        }
        for (tok = s; *s && !is_delim((unsigned char)*s); s++) {
        }
        len = (apr_size_t)(s - tok);
        if (!len) {
            break;
        }
        if (!have_time && (a = digits(tok, len, 1, 2, &rest)) >= 0 && *rest == ':' &&
            (b = digits(rest + 1, len - (apr_size_t)(rest + 1 - tok), 1, 2, &rest)) >= 0 &&
            *rest == ':' &&
            (c = digits(rest + 1, len - (apr_size_t)(rest + 1 - tok), 1, 2, &rest)) >= 0) {
            have_time = 1, hh = a, mi = b, ss = c;
        }
        else if (!have_day && (a = digits(tok, len, 1, 2, &rest)) >= 0) {
            have_day = 1, day = a;
        }
        else if (!have_month && len >= 3 && !apr_isdigit(tok[0])) {
            for (m = 0; m < 12; m++) {
                if (!strncasecmp(tok, months + 3 * m, 3)) {
                    have_month = 1, month = m;
                    break;
                }
            }
        }
        else if (!have_year && (a = digits(tok, len, 2, 4, &rest)) >= 0) {
            have_year = 1, year = a;
        }
    }
    if (have_year && year >= 70 && year <= 99) {
        year += 1900;
    }
    else if (have_year && year <= 69) {
        year += 2000;
    }
    if (!have_time || !have_day || !have_month || !have_year || day < 1 || day > 31 ||
        year < 1601 || hh > 23 || mi > 59 || ss > 59) {
        return 0;
    }
    if (year < 1970) {
        *out = 0; /* before the epoch: in the past, which is all that matters here */
        return 1;
    }
    {
        apr_time_exp_t tm = { 0 };
        tm.tm_year = year - 1900;
        tm.tm_mon = month;
        tm.tm_mday = day;
        tm.tm_hour = hh;
        tm.tm_min = mi;
        tm.tm_sec = ss;
        return apr_time_exp_gmt_get(out, &tm) == APR_SUCCESS;
    }
}

apr_status_t shs_set_cookie_parse(apr_pool_t *p, const char *header, apr_time_t now,
                                  shs_set_cookie_t *out)
{
    const char *semi, *eq, *s, *c;
    apr_int64_t max_age = 0;
    apr_time_t expires = 0;
    int have_max_age = 0, have_expires = 0;

    memset(out, 0, sizeof(*out));
    out->samesite = 'l';
    if (!header) {
        return APR_EINVAL;
    }
    for (c = header; *c; c++) {
        if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f) {
            return APR_EINVAL;
        }
    }
    semi = strchr(header, ';');
    if (!semi) {
        semi = header + strlen(header);
    }
    eq = memchr(header, '=', (apr_size_t)(semi - header));
    if (!eq) {
        return APR_EINVAL;
    }
    out->name = trimmed(p, header, eq);
    out->value = trimmed(p, eq + 1, semi);
    if (!shs_cookie_name_is_valid(out->name)) {
        return APR_EINVAL;
    }
    for (s = semi; *s == ';';) {
        const char *attr = s + 1, *end = strchr(attr, ';'), *aeq, *name, *val;
        if (!end) {
            end = attr + strlen(attr);
        }
        s = end;
        aeq = memchr(attr, '=', (apr_size_t)(end - attr));
        name = trimmed(p, attr, aeq ? aeq : end);
        val = aeq ? trimmed(p, aeq + 1, end) : "";
        if (!strcasecmp(name, "Max-Age")) {
            have_max_age = parse_max_age(val, &max_age) || have_max_age;
        }
        else if (!strcasecmp(name, "Expires")) {
            apr_time_t t;
            if (cookie_date(val, &t)) {
                expires = t;
                have_expires = 1;
            }
        }
        else if (!strcasecmp(name, "SameSite")) {
            out->samesite = !strcasecmp(val, "None") ? 'n' : !strcasecmp(val, "Strict") ? 's' : 'l';
        }
        else if (!strcasecmp(name, "Path")) {
            out->path = *val == '/' ? val : NULL;
        }
    }
    if (have_max_age) {
        out->removes = max_age <= 0;
        out->expires = out->removes ? now : now + apr_time_from_sec(max_age);
    }
    else if (have_expires) {
        out->removes = expires <= now;
        out->expires = out->removes ? now : expires;
    }
    return APR_SUCCESS;
}

int shs_cookie_path_match(const char *req_path, const char *cookie_path)
{
    apr_size_t clen = strlen(cookie_path);

    if (!strncmp(req_path, cookie_path, clen)) {
        return req_path[clen] == '\0' || (clen && cookie_path[clen - 1] == '/') ||
               req_path[clen] == '/';
    }
    return 0;
}

const char *shs_cookie_default_path(apr_pool_t *p, const char *req_path)
{
    const char *last;

    if (!req_path || *req_path != '/' || !(last = strrchr(req_path, '/')) || last == req_path) {
        return "/";
    }
    return apr_pstrmemdup(p, req_path, (apr_size_t)(last - req_path));
}
