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

/* A driver for bench/core-cost.sh: N calls of one core function, so that callgrind's
 * instruction counts of two runs (N and 3N) give the cost of one call.
 *
 *   core-cost store-key N    shs_id_store_key (SHA-256 of an id, base64url)
 *   core-cost aead N         shs_aead_seal + shs_aead_open of 64 bytes
 *   core-cost value-open N   shs_value_open of a 200-byte session sealed with a MAC (the read
 *                            of every page with a session) */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "shs_aead.h"
#include "shs_id.h"
#include "shs_keys.h"
#include "shs_value.h"

#define SKEY "shs_9i2IF7uZg7Lo6cRjsm_8naTMfq8NncFEyE9uNpR2YL0"

int main(int argc, char **argv)
{
    unsigned char key[32] = { 1 }, iv[12] = { 2 }, pt[64] = { 3 }, ct[64], tag[16], out[64];
    static const char ring_text[] = "1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
    char session[201];
    const char *sealed = NULL, *opened, *err;
    apr_size_t slen = 0, olen;
    shs_keyring_t *kr = NULL;
    apr_pool_t *p;
    long i, n;

    if (argc != 3 || (n = atol(argv[2])) < 1) {
        fprintf(stderr, "usage: core-cost store-key|aead|value-open N\n");
        return 2;
    }
    apr_initialize();
    apr_pool_create(&p, NULL);
    memset(session, 'x', sizeof(session) - 1);
    session[sizeof(session) - 1] = '\0';
    if (shs_keyring_parse(p, ring_text, sizeof(ring_text) - 1, &kr, &err) != APR_SUCCESS ||
        shs_value_seal(p, kr, 0, SKEY, session, sizeof(session) - 1, &sealed, &slen) !=
            APR_SUCCESS) {
        return 1;
    }
    for (i = 0; i < n; i++) {
        if (!strcmp(argv[1], "store-key")) {
            shs_id_store_key(p, "shs:", "9i2IF7uZg7Lo6cRjsm_8naTMfq8NncFEyE9uNpR2YL0");
        }
        else if (!strcmp(argv[1], "aead")) {
            if (shs_aead_seal(key, iv, "a", 1, "b", 1, pt, sizeof(pt), ct, tag) != APR_SUCCESS ||
                shs_aead_open(key, iv, "a", 1, "b", 1, ct, sizeof(ct), tag, out) != APR_SUCCESS) {
                return 1;
            }
        }
        else if (!strcmp(argv[1], "value-open")) {
            if (shs_value_open(p, kr, SKEY, sealed, slen, &opened, &olen) != APR_SUCCESS ||
                olen != sizeof(session) - 1) {
                return 1;
            }
        }
        else {
            fprintf(stderr, "core-cost: unknown function '%s'\n", argv[1]);
            return 2;
        }
    }
    apr_pool_destroy(p);
    apr_terminate();
    return 0;
}
