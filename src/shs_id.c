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

#include <string.h>

#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "shs_id.h"
#include "shs_b64.h"

apr_status_t shs_id_generate(char *out)
{
    unsigned char raw[SHS_ID_BYTES];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return APR_EGENERAL;
    }
    shs_b64url_encode_into(out, raw, sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));
    return APR_SUCCESS;
}

int shs_id_is_valid(const char *s, apr_size_t len)
{
    apr_size_t i;
    int last;

    if (!s || len != SHS_ID_LEN) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (shs_b64url_digit((unsigned char)s[i]) < 0) {
            return 0;
        }
    }
    /* 32 bytes = 256 bits; 43 characters carry 258: the last character's two low bits are
     * padding and must be zero, so every id has exactly one spelling. */
    last = shs_b64url_digit((unsigned char)s[SHS_ID_LEN - 1]);
    return (last & 3) == 0;
}

const char *shs_id_store_key(apr_pool_t *p, const char *prefix, const char *id)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char enc[48];

    SHA256((const unsigned char *)id, strlen(id), md);
    shs_b64url_encode_into(enc, md, sizeof(md));
    return apr_pstrcat(p, prefix ? prefix : "", enc, NULL);
}

const char *shs_id_confirm_key(apr_pool_t *p, const char *prefix, const char *id, const char *peer)
{
    return apr_pstrcat(p, shs_id_store_key(p, prefix, id), ".c.", shs_id_fingerprint(p, peer),
                       NULL);
}

const char *shs_id_fingerprint(apr_pool_t *p, const char *id)
{
    unsigned char md[SHA256_DIGEST_LENGTH];

    if (!id) {
        return "-";
    }
    SHA256((const unsigned char *)id, strlen(id), md);
    return apr_psprintf(p, "%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
}

int shs_key_prefix_is_valid(const char *prefix)
{
    apr_size_t i, len;

    if (!prefix) {
        return 0;
    }
    len = strlen(prefix);
    if (len == 0 || len > SHS_KEY_PREFIX_MAX) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)prefix[i];
        if (c <= 0x20 || c >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

apr_uint32_t shs_ttl_to_memcache(apr_int64_t ttl, apr_int64_t now)
{
    if (ttl <= 0) {
        return 0;
    }
    if (ttl <= SHS_TTL_RELATIVE_MAX) {
        return (apr_uint32_t)ttl;
    }
    if (now + ttl > (apr_int64_t)0xffffffffu) {
        return 0xffffffffu;
    }
    return (apr_uint32_t)(now + ttl);
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

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* One "name=value" pair of a Cookie header: the whole pair (for re-joining), its name and
 * its value (unquoted), all without surrounding whitespace.  A pair without '=' has no name. */
typedef struct cookie_pair_t {
    const char *pair, *pair_end;
    const char *name, *name_end;
    const char *val, *val_end;
} cookie_pair_t;

/* Advance *s to the next pair; 0 at the end of the header. */
static int cookie_next(const char **s, cookie_pair_t *cp)
{
    const char *end, *eq;

    while (is_ows(**s) || **s == ';') {
        (*s)++;
    }
    if (!**s) {
        return 0;
    }
    cp->pair = *s;
    end = strchr(*s, ';');
    if (!end) {
        end = *s + strlen(*s);
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

static int cookie_is(const cookie_pair_t *cp, const char *name, apr_size_t nlen)
{
    return cp->name && (apr_size_t)(cp->name_end - cp->name) == nlen &&
           !memcmp(cp->name, name, nlen);
}

void shs_cookie_scan(apr_pool_t *p, const char *header, const char *name, shs_cookie_scan_t *res)
{
    apr_size_t nlen = strlen(name);
    const char *s = header;
    cookie_pair_t cp;
    char *out, *o;

    res->stripped = NULL;
    if (!header) {
        return;
    }
    /* Pairs are re-joined with "; ": at most one more byte per separator than the input. */
    o = out = apr_palloc(p, 2 * strlen(header) + 1);
    while (cookie_next(&s, &cp)) {
        if (cookie_is(&cp, name, nlen)) {
            apr_size_t vlen = (apr_size_t)(cp.val_end - cp.val);
            res->seen++;
            if (shs_id_is_valid(cp.val, vlen)) {
                if (!res->value) {
                    res->value = apr_pstrmemdup(p, cp.val, vlen);
                }
            }
            else {
                res->malformed++;
            }
            continue; /* our pair is left out of the stripped header */
        }
        if (o != out) {
            *o++ = ';';
            *o++ = ' ';
        }
        memcpy(o, cp.pair, (apr_size_t)(cp.pair_end - cp.pair));
        o += cp.pair_end - cp.pair;
    }
    *o = '\0';
    res->stripped = (o != out) ? out : NULL;
}

const char *shs_cookie_get(apr_pool_t *p, const char *header, const char *name, apr_size_t max)
{
    apr_size_t nlen = strlen(name);
    const char *s = header;
    cookie_pair_t cp;

    while (s && cookie_next(&s, &cp)) {
        if (cookie_is(&cp, name, nlen) && (apr_size_t)(cp.val_end - cp.val) <= max) {
            return apr_pstrmemdup(p, cp.val, (apr_size_t)(cp.val_end - cp.val));
        }
    }
    return NULL;
}

const char *shs_cookie_strip(apr_pool_t *p, const char *header, const char *name, int *found)
{
    apr_size_t nlen = strlen(name);
    const char *s = header;
    cookie_pair_t cp;
    char *out, *o;

    *found = 0;
    if (!header) {
        return NULL;
    }
    o = out = apr_palloc(p, 2 * strlen(header) + 1);
    while (cookie_next(&s, &cp)) {
        if (cookie_is(&cp, name, nlen)) {
            *found = 1;
            continue;
        }
        if (o != out) {
            *o++ = ';';
            *o++ = ' ';
        }
        memcpy(o, cp.pair, (apr_size_t)(cp.pair_end - cp.pair));
        o += cp.pair_end - cp.pair;
    }
    *o = '\0';
    return o != out ? out : NULL;
}
