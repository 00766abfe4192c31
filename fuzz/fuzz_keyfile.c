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
 *    those lines, all different; current/find agree; *err untouched; parsing again derives the
 *    same keys;
 *  - failure: APR_EINVAL, *kr untouched, *err a printable message that names a line of the
 *    file (or says no key was found) and never repeats a secret-looking word of the input;
 *  - a NUL byte anywhere is refused. */

#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "shs_keys.h"

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_secretish(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/' || c == '-' || c == '_' || c == '=';
}

/* The first field of every key line (a line with something other than blanks before an
 * optional '#'), in order: start and length in ids_at/ids_len, count returned.  *nlines is the
 * number of lines. */
static int key_lines(const char *t, size_t n, const char **ids_at, size_t *ids_len, int max,
                     size_t *nlines)
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
            for (e = s; e < end && !is_blank(t[e]); e++) {
            }
            if (nk < max) {
                ids_at[nk] = t + s;
                ids_len[nk] = e - s;
            }
            nk++;
        }
        pos = eol ? (size_t)(eol - t) + 1 : n;
    }
    return nk;
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
    apr_pool_t *p;
    char *text;
    shs_keyring_t *kr = &sentinel_ring, *kr2 = NULL;
    const char *err = sentinel_err, *err2 = NULL;
    const char *ids_at[SHS_KEYS_MAX + 1];
    size_t ids_len[SHS_KEYS_MAX + 1], nlines;
    apr_status_t rv;
    int nk, i, j;

    FUZZ_CHECK(apr_pool_create(&p, fuzz_root_pool()) == APR_SUCCESS);
    text = malloc(size ? size : 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);

    rv = shs_keyring_parse(p, size ? text : NULL, size, &kr, &err);
    nk = key_lines(text, size, ids_at, ids_len, SHS_KEYS_MAX + 1, &nlines);
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
        }

        /* deterministic: the same text derives the same keys */
        FUZZ_CHECK(shs_keyring_parse(p, text, size, &kr2, &err2) == APR_SUCCESS);
        FUZZ_CHECK(kr2->nkeys == kr->nkeys);
        for (i = 0; i < kr->nkeys; i++) {
            FUZZ_CHECK(kr2->keys[i].id == kr->keys[i].id);
            FUZZ_CHECK(memcmp(kr2->keys[i].aead, kr->keys[i].aead, 32) == 0);
            FUZZ_CHECK(memcmp(kr2->keys[i].mac, kr->keys[i].mac, 32) == 0);
            FUZZ_CHECK(memcmp(kr->keys[i].aead, kr->keys[i].mac, 32) != 0);
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
