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

/* libFuzzer target: the key file parser, shs_keyring_parse() (src/shs_keys.c).
 *
 * The input is the text of a key file, given with its length and not NUL-terminated (an
 * exact-size copy, so reading past it is caught).  Checks:
 *  - success: 1..SHS_KEYS_MAX keys, one per key line in file order, with the ids written on
 *    those lines, all different; current/find agree; *err untouched; the three derived keys of
 *    each line are those of an independent computation: the line's secret decoded here, then
 *    HKDF-SHA256 (RFC 5869) written out as HMAC-SHA256 extract and expand with the salt and
 *    info strings shs_keys.h documents (the helper is checked against the RFC's test case 1);
 *  - failure: APR_EINVAL, *kr untouched, *err a printable message that names a line of the
 *    file (or says no key was found) and never repeats a secret-looking word of the input;
 *  - a NUL byte anywhere is refused. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz_common.h"
#include "shs_keys.h"

/* What shs_keys.h documents: HKDF-SHA256(secret, salt "mod_sharedsession", info), one info
 * string per derived key. */
#define HKDF_SALT "mod_sharedsession"
#define INFO_AEAD "token-aead-v1"
#define INFO_MAC "mac-v1"
#define INFO_STORE "store-aead-v1"

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_secretish(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/' || c == '-' || c == '_' || c == '=';
}

/* The first two fields of every key line (a line with something other than blanks before an
 * optional '#'), in order: the id in ids_at/ids_len, the secret in sec_at/sec_len (length 0
 * when there is none); count returned.  *nlines is the number of lines. */
static int key_lines(const char *t, size_t n, const char **ids_at, size_t *ids_len,
                     const char **sec_at, size_t *sec_len, int max, size_t *nlines)
{
    size_t pos = 0;
    int nk = 0;

    *nlines = 0;
    while (pos < n) {
        const char *eol = memchr(t + pos, '\n', n - pos);
        size_t end = eol ? (size_t)(eol - t) : n, s = pos, e;

        (*nlines)++;
        if (end > pos && t[end - 1] == '\r') {
            end--;
        }
        while (s < end && is_blank(t[s])) {
            s++;
        }
        if (s < end && t[s] != '#') {
            size_t s2, e2;
            for (e = s; e < end && !is_blank(t[e]); e++) {
            }
            for (s2 = e; s2 < end && is_blank(t[s2]); s2++) {
            }
            for (e2 = s2; e2 < end && !is_blank(t[e2]); e2++) {
            }
            if (nk < max) {
                ids_at[nk] = t + s;
                ids_len[nk] = e - s;
                sec_at[nk] = t + s2;
                sec_len[nk] = e2 - s2;
            }
            nk++;
        }
        pos = eol ? (size_t)(eol - t) + 1 : n;
    }
    return nk;
}

/* A base64 or base64url digit, written out here rather than taken from shs_b64.c; -1 else. */
static int b64_digit(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '+' || c == '-' ? 62 : c == '/' || c == '_' ? 63 : -1;
}

/* Decode a secret the parser accepted ('=' padding optional); its length in bytes. */
static size_t b64_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
    uint32_t acc = 0;
    size_t i, o = 0;
    int bits = 0;

    while (n > 0 && s[n - 1] == '=') {
        n--;
    }
    for (i = 0; i < n; i++) {
        int d = b64_digit((unsigned char)s[i]);
        FUZZ_CHECK(d >= 0);
        acc = (acc << 6) | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            FUZZ_CHECK(o < cap);
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return o;
}

/* HKDF-SHA256 (RFC 5869) for a 32-byte output, as HMAC-SHA256 steps: PRK = HMAC(salt, IKM),
 * OKM = T(1) = HMAC(PRK, info || 0x01).  Not the EVP_PKEY_HKDF the module calls. */
static void hkdf32(const unsigned char *salt, size_t salt_len, const unsigned char *ikm,
                   size_t ikm_len, const unsigned char *info, size_t info_len,
                   unsigned char out[32])
{
    unsigned char prk[32], msg[64];
    unsigned int len = 0;

    FUZZ_CHECK(info_len < sizeof(msg));
    FUZZ_CHECK(HMAC(EVP_sha256(), salt, (int)salt_len, ikm, ikm_len, prk, &len) && len == 32);
    memcpy(msg, info, info_len);
    msg[info_len] = 0x01;
    FUZZ_CHECK(HMAC(EVP_sha256(), prk, 32, msg, info_len + 1, out, &len) && len == 32);
}

/* The helper against RFC 5869 A.1 (SHA-256): its first 32 bytes of OKM are T(1). */
static void hkdf32_self_test(void)
{
    static const unsigned char okm[32] = {
        0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43, 0x4f,
        0x64, 0xd0, 0x36, 0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90, 0xcf, 0x1a,
        0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56, 0xec, 0xc4, 0xc5, 0xbf,
    };
    unsigned char ikm[22], salt[13], info[10], out[32];
    size_t i;

    memset(ikm, 0x0b, sizeof(ikm));
    for (i = 0; i < sizeof(salt); i++) {
        salt[i] = (unsigned char)i;
    }
    for (i = 0; i < sizeof(info); i++) {
        info[i] = (unsigned char)(0xf0 + i);
    }
    hkdf32(salt, sizeof(salt), ikm, sizeof(ikm), info, sizeof(info), out);
    FUZZ_CHECK(memcmp(out, okm, sizeof(out)) == 0);
}

/* The derived keys of key k are those of the secret written on its line. */
static void check_derived(const shs_key_t *k, const char *secret, size_t secret_len)
{
    static const struct {
        const char *info;
        size_t at;
    } uses[] = {
        { INFO_AEAD, offsetof(shs_key_t, aead) },
        { INFO_MAC, offsetof(shs_key_t, mac) },
        { INFO_STORE, offsetof(shs_key_t, store) },
    };
    unsigned char raw[SHS_KEY_MAX_BYTES], want[32];
    size_t n = b64_decode(secret, secret_len, raw, sizeof(raw)), u;

    FUZZ_CHECK(n >= SHS_KEY_MIN_BYTES && n <= SHS_KEY_MAX_BYTES);
    for (u = 0; u < sizeof(uses) / sizeof(uses[0]); u++) {
        hkdf32((const unsigned char *)HKDF_SALT, strlen(HKDF_SALT), raw, n,
               (const unsigned char *)uses[u].info, strlen(uses[u].info), want);
        FUZZ_CHECK(memcmp((const unsigned char *)k + uses[u].at, want, sizeof(want)) == 0);
    }
}

static void check_error(const char *err, const char *text, size_t len, size_t nlines)
{
    size_t i, elen;
    unsigned long line = 0;

    FUZZ_CHECK(err != NULL);
    elen = strlen(err);
    FUZZ_CHECK(elen > 0 && elen < 1024);
    for (i = 0; i < elen; i++) {
        FUZZ_CHECK(err[i] >= 0x20 && err[i] < 0x7f);
    }
    if (strncmp(err, "line ", 5) == 0) {
        char *end;
        line = strtoul(err + 5, &end, 10);
        FUZZ_CHECK(*end == ':');
        FUZZ_CHECK(line >= 1 && line <= nlines);
    }
    else {
        FUZZ_CHECK(strncmp(err, "no key found in ", 16) == 0);
    }
    /* no secret-looking word of the input (16 or more base64 characters) is repeated */
    for (i = 0; i < len;) {
        size_t j = i;
        while (j < len && is_secretish(text[j])) {
            j++;
        }
        if (j - i >= 16) {
            FUZZ_CHECK(memmem(err, elen, text + i, j - i) == NULL);
        }
        i = j + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static shs_keyring_t sentinel_ring;
    static const char sentinel_err[] = "untouched";
    static int self_tested;
    apr_pool_t *p;
    char *text;
    shs_keyring_t *kr = &sentinel_ring;
    const char *err = sentinel_err;
    const char *ids_at[SHS_KEYS_MAX + 1], *sec_at[SHS_KEYS_MAX + 1];
    size_t ids_len[SHS_KEYS_MAX + 1], sec_len[SHS_KEYS_MAX + 1], nlines;
    apr_status_t rv;
    int nk, i, j;

    if (!self_tested) {
        hkdf32_self_test();
        self_tested = 1;
    }

    FUZZ_CHECK(apr_pool_create(&p, fuzz_root_pool()) == APR_SUCCESS);
    text = malloc(size ? size : 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);

    rv = shs_keyring_parse(p, size ? text : NULL, size, &kr, &err);
    nk = key_lines(text, size, ids_at, ids_len, sec_at, sec_len, SHS_KEYS_MAX + 1, &nlines);
    if (rv == APR_SUCCESS) {
        FUZZ_CHECK(err == sentinel_err);
        FUZZ_CHECK(kr != &sentinel_ring && kr != NULL);
        FUZZ_CHECK(memchr(text, '\0', size) == NULL);
        FUZZ_CHECK(kr->nkeys >= 1 && kr->nkeys <= SHS_KEYS_MAX);
        FUZZ_CHECK(kr->nkeys == nk);
        FUZZ_CHECK(shs_keyring_current(kr) == &kr->keys[0]);
        for (i = 0; i < kr->nkeys; i++) {
            char idtext[8];
            FUZZ_CHECK(kr->keys[i].id <= SHS_KEY_ID_MAX);
            FUZZ_CHECK(shs_keyring_find(kr, kr->keys[i].id) == &kr->keys[i]);
            for (j = 0; j < i; j++) {
                FUZZ_CHECK(kr->keys[j].id != kr->keys[i].id);
            }
            /* the id written on the line, leading zeros allowed */
            FUZZ_CHECK(ids_len[i] >= 1);
            for (j = 0; j < (int)ids_len[i] - 1 && ids_at[i][j] == '0'; j++) {
            }
            snprintf(idtext, sizeof(idtext), "%u", kr->keys[i].id);
            FUZZ_CHECK(strlen(idtext) == ids_len[i] - (size_t)j &&
                       memcmp(idtext, ids_at[i] + j, ids_len[i] - (size_t)j) == 0);
            /* its keys: HKDF of the secret on its line, one per use */
            check_derived(&kr->keys[i], sec_at[i], sec_len[i]);
        }
    }
    else {
        FUZZ_CHECK(rv == APR_EINVAL);
        FUZZ_CHECK(kr == &sentinel_ring);
        check_error(err, text, size, nlines);
        if (nk == 0 && memchr(text, '\0', size) == NULL) {
            FUZZ_CHECK(strncmp(err, "no key found in ", 16) == 0);
        }
    }
    FUZZ_CHECK(shs_keyring_find(NULL, 0) == NULL && shs_keyring_current(NULL) == NULL);

    free(text);
    apr_pool_destroy(p);
    return 0;
}
