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

/* libFuzzer target: the parser of memcached's answer to `get KEY` (src/shs_mcget.c), which
 * reads bytes from the network on the request's thread.
 *
 * Input: [0] the key's length k (modulo 64, at least 1), [1..k] the key (a NUL or a space
 * in it shortens it), then the answer, given to the parser as an exact-size copy.  Checked:
 * the status is one of the four; an answer that parses was read entirely inside the buffer,
 * names the key in its VALUE line, ends its data with "\r\nEND\r\n" and says its length; a
 * prefix of it asks for more; "more" never claims a length the buffer already has. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "shs_mcget.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char key[65];
    size_t k, i;
    char *buf;
    const char *val = NULL;
    apr_size_t n, vlen = 0, used = 0, need = 0;
    apr_status_t rv;

    if (size < 2) {
        return 0;
    }
    k = (size_t)(data[0] % 64) + 1;
    if (k > size - 1) {
        k = size - 1;
    }
    for (i = 0; i < k && data[1 + i] != '\0' && data[1 + i] != ' '; i++) {
        key[i] = (char)data[1 + i];
    }
    if (i == 0) {
        return 0;
    }
    key[i] = '\0';
    n = size - 1 - k;
    buf = malloc(n ? n : 1); /* exact size: ASan sees any read past the answer */
    FUZZ_CHECK(buf != NULL);
    memcpy(buf, data + 1 + k, n);

    rv = shs_mcget_parse(buf, n, key, &val, &vlen, &used, &need);
    FUZZ_CHECK(rv == APR_SUCCESS || rv == APR_NOTFOUND || rv == APR_INCOMPLETE ||
               rv == APR_EGENERAL);
    if (rv == APR_INCOMPLETE) {
        FUZZ_CHECK(need == 0 || need > n);
    }
    if (rv == APR_NOTFOUND) {
        FUZZ_CHECK(used == 5 && !memcmp(buf, "END\r\n", 5));
    }
    if (rv == APR_SUCCESS) {
        size_t klen = strlen(key);
        FUZZ_CHECK(used <= n && used >= 7 + 6 + klen);
        FUZZ_CHECK(val > buf && val + vlen + 7 == buf + used);
        FUZZ_CHECK(vlen <= SHS_MCGET_VALUE_MAX);
        FUZZ_CHECK(!memcmp(buf + used - 7, "\r\nEND\r\n", 7));
        FUZZ_CHECK(!memcmp(buf, "VALUE ", 6) && !memcmp(buf + 6, key, klen) && buf[6 + klen] == ' ');
        FUZZ_CHECK(val[-1] == '\n' && val[-2] == '\r');
        /* every shorter prefix asks for more, and the exact answer parses alike */
        if (used > 0) {
            apr_size_t u2, nd2, vl2;
            const char *v2;
            FUZZ_CHECK(shs_mcget_parse(buf, used - 1, key, &v2, &vl2, &u2, &nd2) == APR_INCOMPLETE);
            FUZZ_CHECK(shs_mcget_parse(buf, used, key, &v2, &vl2, &u2, &nd2) == APR_SUCCESS &&
                       vl2 == vlen && u2 == used);
        }
    }
    free(buf);
    return 0;
}
