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

/* The embedded store's seeded hash (shs_shmi_hash_t), fed in pieces: a key's bucket, and with
 * shs_store_shm_index.c's checksum the detection of damaged entries. */

#include <string.h>

#include "shs_store_shm_index_int.h"

#define HK1 0x9e3779b97f4a7c15ULL
#define HK2 0xbf58476d1ce4e5b9ULL
#define HK3 0x94d049bb133111ebULL

static uint64_t rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t h_word(uint64_t h, uint64_t w)
{
    w *= HK2;
    w = rotl64(w, 31);
    h ^= w * HK1;
    return rotl64(h, 27) * HK3 + HK1;
}

void shs_shmi_hash_init(hstate_t *st, uint64_t seed)
{
    st->h = seed ^ HK3;
    st->total = 0;
    st->ntail = 0;
}

void shs_shmi_hash_update(hstate_t *st, const void *data, apr_size_t n)
{
    const unsigned char *p = data;
    uint64_t w;

    st->total += n;
    if (st->ntail) {
        while (n && st->ntail < 8) {
            st->tail[st->ntail++] = *p++;
            n--;
        }
        if (st->ntail < 8) {
            return;
        }
        memcpy(&w, st->tail, 8);
        st->h = h_word(st->h, w);
        st->ntail = 0;
    }
    while (n >= 8) {
        memcpy(&w, p, 8);
        st->h = h_word(st->h, w);
        p += 8;
        n -= 8;
    }
    memcpy(st->tail, p, n);
    st->ntail = (unsigned)n;
}

uint64_t shs_shmi_hash_final(const hstate_t *st)
{
    uint64_t h = st->h, w = 0;

    if (st->ntail) {
        memcpy(&w, st->tail, st->ntail);
        h = h_word(h, w ^ ((uint64_t)st->ntail << 56));
    }
    h = h_word(h, st->total);
    h ^= h >> 30;
    h *= HK2;
    h ^= h >> 27;
    h *= HK3;
    h ^= h >> 31;
    return h;
}

uint64_t shs_shmi_key_hash(uint64_t seed, const char *key, apr_size_t klen)
{
    hstate_t st;

    shs_shmi_hash_init(&st, seed);
    shs_shmi_hash_update(&st, key, klen);
    return shs_shmi_hash_final(&st);
}
