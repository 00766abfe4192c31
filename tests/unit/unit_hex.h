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

/* Known answers written in hex, for the crypto tests.  Include it after cmocka.h. */

#ifndef SHS_UNIT_HEX_H
#define SHS_UNIT_HEX_H

#include <stdio.h>

/* n bytes from the 2n hex digits at h (asserted). */
static void unit_hex(const char *h, unsigned char *out, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned int b;
        assert_int_equal(sscanf(h + 2 * i, "%2x", &b), 1);
        out[i] = (unsigned char)b;
    }
}

#endif /* SHS_UNIT_HEX_H */
