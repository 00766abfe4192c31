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

/* Shared by the fuzzers and the seed generator (gen_seeds.c). */

#ifndef SHS_FUZZ_COMMON_H
#define SHS_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_pools.h>

/* The fixed key ring of fuzz_token and fuzz_cookie: key 7 (standard base64, 32 bytes) signs,
 * key 3 (base64url, 48 bytes) is an older key still accepted.  Test secrets, used nowhere else. */
#define FUZZ_KEYFILE                                                                               \
    "# fuzzing key ring\n"                                                                         \
    "7 QMLMML0QRDcr03+2znWoxeRELpsWNZ/ND+N4tU5xb9o=\n"                                             \
    "3\tvVwIJnQgqgeI_VMmf8VpHjJkeXgeIX7KwpLrhEUEKh5v_eh8Z_3VrB5iM4jujDpl   # old key\r\n"

/* The same secrets with key 3 first: the seed generator seals with it to get tokens under the
 * second key of FUZZ_KEYFILE. */
#define FUZZ_KEYFILE_KEY3_FIRST                                                                    \
    "3 vVwIJnQgqgeI_VMmf8VpHjJkeXgeIX7KwpLrhEUEKh5v_eh8Z_3VrB5iM4jujDpl\n"                         \
    "7 QMLMML0QRDcr03+2znWoxeRELpsWNZ/ND+N4tU5xb9o=\n"

/* "now" for tokens given as text: the seed tokens are issued at this time. */
#define FUZZ_NOW ((apr_int64_t)1700000000)

/* The cookie name fuzz_cookie looks for (the module's default) and a second one that is a
 * prefix of it, to catch prefix matches. */
#define FUZZ_COOKIE_NAME "shs_session"
#define FUZZ_COOKIE_NAME2 "shs"

/* The tags fuzz_html splices in. */
#define FUZZ_TAGS "<img src=\"/x\">"

/* Report a broken invariant the way a sanitizer would: message, then abort (libFuzzer prints
 * the stack and saves the input). */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* One root pool for the whole process; each input gets a sub-pool destroyed after it. */
static inline apr_pool_t *fuzz_root_pool(void)
{
    static apr_pool_t *root;

    if (!root) {
        if (apr_initialize() != APR_SUCCESS || apr_pool_create(&root, NULL) != APR_SUCCESS) {
            fprintf(stderr, "fuzz: cannot initialise APR\n");
            abort();
        }
    }
    return root;
}

#endif /* SHS_FUZZ_COMMON_H */
