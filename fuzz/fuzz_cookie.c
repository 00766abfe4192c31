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

/* libFuzzer target: the Cookie header functions and the id check of src/shs_id.c.
 *
 * The input, NUL-terminated, is one Cookie header value.  For two fixed names (the module's
 * default and a prefix of it) shs_cookie_scan(), shs_cookie_get() and shs_cookie_strip() must
 * agree with each other and keep their contracts:
 *  - a value returned by the scan is always a well-formed id; seen/malformed add up;
 *  - the stripped header never contains the name as a pair, strips to itself, has no empty
 *    pair and no whitespace or ';' at its ends, and scan and strip give the same one;
 *  - scanning twice into the same result accumulates the counts.
 * The raw input bytes also go through shs_id_is_valid(), compared with a reading of its
 * definition (43 characters that decode as base64url to 32 bytes, canonically). */

#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "shs_id.h"
#include "shs_cookie.h"
#include "shs_token.h" /* shs_b64url_decode, directly or through shs_b64.h */

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Count the pairs of header named exactly name (independent reading of the format: pairs
 * split at ';', whitespace trimmed, name is what precedes the first '=', trimmed). */
static int count_named(const char *header, const char *name)
{
    size_t nlen = strlen(name);
    const char *s = header;
    int n = 0;

    while (*s) {
        const char *end = strchr(s, ';'), *eq, *ne;
        if (!end) {
            end = s + strlen(s);
        }
        while (s < end && is_ows(*s)) {
            s++;
        }
        eq = memchr(s, '=', (size_t)(end - s));
        if (eq) {
            ne = eq;
            while (ne > s && is_ows(ne[-1])) {
                ne--;
            }
            if ((size_t)(ne - s) == nlen && memcmp(s, name, nlen) == 0) {
                n++;
            }
        }
        s = *end ? end + 1 : end;
    }
    return n;
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

    memset(&res, 0, sizeof(res));
    shs_cookie_scan(p, header, name, &res);
    FUZZ_CHECK(res.seen >= 0 && res.malformed >= 0 && res.malformed <= res.seen);
    FUZZ_CHECK(res.seen == count_named(header, name));
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
    if (first && shs_id_is_valid(first, strlen(first))) {
        FUZZ_CHECK(res.value && strcmp(first, res.value) == 0);
    }
    got = shs_cookie_get(p, header, name, SHS_ID_LEN);
    FUZZ_CHECK(!got || strlen(got) <= SHS_ID_LEN);
    if (res.value) {
        FUZZ_CHECK(got != NULL); /* a valid id is SHS_ID_LEN long */
    }
    got = shs_cookie_get(p, header, name, 0);
    FUZZ_CHECK(!got || *got == '\0');
}

/* shs_id_is_valid() against its definition. */
static void check_id(apr_pool_t *p, const char *s, size_t len)
{
    unsigned char *raw = NULL;
    apr_size_t rawlen = 0;
    int want = len == SHS_ID_LEN &&
               shs_b64url_decode(p, s, len, &raw, &rawlen) == APR_SUCCESS &&
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
    check_id(p, header, size);
    if (size > SHS_ID_LEN) {
        check_id(p, header + size - SHS_ID_LEN, SHS_ID_LEN); /* a window that has the length */
    }
    FUZZ_CHECK(shs_cookie_name_is_valid(FUZZ_COOKIE_NAME));
    (void)shs_cookie_name_is_valid(header);

    free(header);
    apr_pool_destroy(p);
    return 0;
}
