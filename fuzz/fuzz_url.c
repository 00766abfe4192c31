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

/* libFuzzer target: src/shs_url.c, the open-redirect guard and the origin check.
 *
 * The input, NUL-terminated, is a return path (the r= parameter after decoding) and, read
 * again, a Referer.  Contracts checked against an independent reading of each definition:
 *  - an accepted path, put after an origin, is parsed by the origin check as that very origin
 *    (the redirect cannot leave the site), starts with one '/', has no byte <= 0x20, >= 0x7f or
 *    backslash, and is at most SHS_URL_RET_MAX bytes;
 *  - the origin check is symmetric on equal inputs and never matches a URL with user info;
 *  - redaction leaves no byte of a t= value in place and keeps everything else. */

#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "shs_url.h"

static int path_ok_reading(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || s[0] != '/' || n > SHS_URL_RET_MAX || (n > 1 && (s[1] == '/' || s[1] == '\\'))) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '\\') {
            return 0;
        }
    }
    return 1;
}

/* Every pair of red named t has the value X, every other pair is the one of s. */
static void check_redacted(apr_pool_t *p, const char *s, const char *red)
{
    char *a = apr_pstrdup(p, s), *b = apr_pstrdup(p, red);

    for (;;) {
        char *ea = strchr(a, '&'), *eb = strchr(b, '&');
        FUZZ_CHECK((ea == NULL) == (eb == NULL));
        if (ea) {
            *ea = '\0';
            *eb = '\0';
        }
        if (!strncmp(a, "t=", 2)) {
            FUZZ_CHECK(!strcmp(b, "t=X"));
        }
        else {
            FUZZ_CHECK(!strcmp(a, b));
        }
        if (!ea) {
            return;
        }
        a = ea + 1;
        b = eb + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const origins[] = { "https://b.test", "http://b.test:8080",
                                           "https://[::1]:8443" };
    apr_pool_t *p;
    char *s;
    size_t n, i;
    int ok;

    FUZZ_CHECK(apr_pool_create(&p, fuzz_root_pool()) == APR_SUCCESS);
    s = apr_pstrmemdup(p, (const char *)data, size);
    n = strlen(s);
    ok = shs_url_local_path_ok(s);
    FUZZ_CHECK(ok == path_ok_reading(s, n));
    for (i = 0; i < sizeof(origins) / sizeof(origins[0]); i++) {
        if (ok) {
            /* the redirect built from an accepted path cannot leave the site */
            FUZZ_CHECK(shs_url_same_origin(apr_pstrcat(p, origins[i], s, NULL), origins[i]));
        }
        if (shs_url_same_origin(s, origins[i])) {
            FUZZ_CHECK(!strncasecmp(s, origins[i], strcspn(origins[i], ":")));
        }
    }
    if (shs_url_same_origin(s, s)) {
        const char *auth = strstr(s, "://") + 3;
        FUZZ_CHECK(!memchr(auth, '@', strcspn(auth, "/?#")));
    }
    check_redacted(p, s, shs_url_redact_param(p, s, "t", "X"));
    apr_pool_destroy(p);
    return 0;
}
