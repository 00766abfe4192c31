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

/* Rendezvous hashing over SipHash-2-4 (see shs_place.h).
 *
 * Why SipHash-2-4 with a key per server, rather than one hash of the key mixed with a hash of
 * each server: SipHash is a pseudo-random function, so the weights of different servers for
 * one key are independent; that is what makes the fractions exact (1/n of the keys each, 1/(n+1)
 * moved on growth) instead of merely close.  It costs one SipHash of the key (~50 bytes) per
 * server, some tens of nanoseconds each (tests/unit/test_place prints the figure), next to a
 * memcached round trip of tens of microseconds.  It is also a published algorithm with test
 * vectors, which a second implementation (the integration test's, in Python) can match. */

#include <string.h>

#include <apr_strings.h>
#include <apr_lib.h>

#include "shs_place.h"

/* The key that turns an identity into a server's SipHash key: "shs-plac", "e-v1-key".  It is
 * not a secret (placement needs none); changing it moves every key. */
#define DERIVE_K0 APR_UINT64_C(0x7368732d706c6163)
#define DERIVE_K1 APR_UINT64_C(0x652d76312d6b6579)

typedef struct place_server_t {
    apr_uint64_t k0, k1;
    const char *id;
} place_server_t;

struct shs_place_t {
    unsigned int n;
    place_server_t *servers;
};

/* ------------------------------------------------------------------ SipHash-2-4 */

#define ROTL(x, b) (apr_uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

static apr_uint64_t load_le64(const unsigned char *b)
{
    return (apr_uint64_t)b[0] | (apr_uint64_t)b[1] << 8 | (apr_uint64_t)b[2] << 16 |
           (apr_uint64_t)b[3] << 24 | (apr_uint64_t)b[4] << 32 | (apr_uint64_t)b[5] << 40 |
           (apr_uint64_t)b[6] << 48 | (apr_uint64_t)b[7] << 56;
}

apr_uint64_t shs_siphash24(apr_uint64_t k0, apr_uint64_t k1, const void *data, apr_size_t len)
{
    const unsigned char *in = data;
    const unsigned char *end = in + (len & ~(apr_size_t)7);
    apr_uint64_t v0 = k0 ^ APR_UINT64_C(0x736f6d6570736575);
    apr_uint64_t v1 = k1 ^ APR_UINT64_C(0x646f72616e646f6d);
    apr_uint64_t v2 = k0 ^ APR_UINT64_C(0x6c7967656e657261);
    apr_uint64_t v3 = k1 ^ APR_UINT64_C(0x7465646279746573);
    apr_uint64_t m, last = (apr_uint64_t)(len & 0xff) << 56;

    for (; in != end; in += 8) {
        m = load_le64(in);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    switch (len & 7) {
    case 7:
        last |= (apr_uint64_t)in[6] << 48;
        /* fall through */
    case 6:
        last |= (apr_uint64_t)in[5] << 40;
        /* fall through */
    case 5:
        last |= (apr_uint64_t)in[4] << 32;
        /* fall through */
    case 4:
        last |= (apr_uint64_t)in[3] << 24;
        /* fall through */
    case 3:
        last |= (apr_uint64_t)in[2] << 16;
        /* fall through */
    case 2:
        last |= (apr_uint64_t)in[1] << 8;
        /* fall through */
    case 1:
        last |= (apr_uint64_t)in[0];
        break;
    default:
        break;
    }
    v3 ^= last;
    SIPROUND;
    SIPROUND;
    v0 ^= last;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ------------------------------------------------------------------ placement */

const char *shs_place_identity(apr_pool_t *p, const char *host, apr_port_t port)
{
    char *h = apr_pstrdup(p, host);
    char *c;

    if (h[0] == '/') {
        return h; /* a unix socket: its path, as written (paths are case-sensitive) */
    }
    for (c = h; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return strchr(h, ':') ? apr_psprintf(p, "[%s]:%u", h, (unsigned int)port)
                          : apr_psprintf(p, "%s:%u", h, (unsigned int)port);
}

apr_status_t shs_place_create(apr_pool_t *p, const char *const *ids, unsigned int n,
                              shs_place_t **out)
{
    shs_place_t *pl;
    unsigned int i;

    if (n < 1 || n > SHS_PLACE_MAX || !ids) {
        return APR_EINVAL;
    }
    pl = apr_pcalloc(p, sizeof(*pl));
    pl->n = n;
    pl->servers = apr_pcalloc(p, sizeof(place_server_t) * n);
    for (i = 0; i < n; i++) {
        place_server_t *s = &pl->servers[i];
        apr_size_t len;
        char *buf;

        if (!ids[i]) {
            return APR_EINVAL;
        }
        /* the server's key: SipHash of identity + "\0" and identity + "\1" */
        len = strlen(ids[i]);
        buf = apr_palloc(p, len + 1);
        memcpy(buf, ids[i], len);
        buf[len] = 0;
        s->k0 = shs_siphash24(DERIVE_K0, DERIVE_K1, buf, len + 1);
        buf[len] = 1;
        s->k1 = shs_siphash24(DERIVE_K0, DERIVE_K1, buf, len + 1);
        s->id = apr_pstrdup(p, ids[i]);
    }
    *out = pl;
    return APR_SUCCESS;
}

unsigned int shs_place_count(const shs_place_t *pl)
{
    return pl->n;
}

const char *shs_place_id(const shs_place_t *pl, unsigned int server)
{
    return server < pl->n ? pl->servers[server].id : NULL;
}

apr_uint64_t shs_place_weight(const shs_place_t *pl, unsigned int server, const char *key,
                              apr_size_t len)
{
    const place_server_t *s = &pl->servers[server];

    return shs_siphash24(s->k0, s->k1, key, len);
}

/* Does server a (weight wa) come before server b (weight wb)? */
static int before(const shs_place_t *pl, unsigned int a, apr_uint64_t wa, unsigned int b,
                  apr_uint64_t wb)
{
    int c;

    if (wa != wb) {
        return wa > wb;
    }
    c = strcmp(pl->servers[a].id, pl->servers[b].id);
    return c ? c < 0 : a < b;
}

unsigned int shs_place_pick(const shs_place_t *pl, const char *key, apr_size_t len)
{
    unsigned int i, best = 0;
    apr_uint64_t w, bw;

    if (pl->n == 1) {
        return 0;
    }
    bw = shs_place_weight(pl, 0, key, len);
    for (i = 1; i < pl->n; i++) {
        w = shs_place_weight(pl, i, key, len);
        if (before(pl, i, w, best, bw)) {
            best = i;
            bw = w;
        }
    }
    return best;
}

unsigned int shs_place_order(const shs_place_t *pl, const char *key, apr_size_t len,
                             unsigned int *out, unsigned int want)
{
    apr_uint64_t w[SHS_PLACE_MAX];
    apr_uint64_t taken = 0; /* bit i: server i is in out already */
    unsigned int i, r;

    if (want > pl->n) {
        want = pl->n;
    }
    if (want == 1) {
        out[0] = shs_place_pick(pl, key, len);
        return 1;
    }
    for (i = 0; i < pl->n; i++) {
        w[i] = shs_place_weight(pl, i, key, len);
    }
    /* selection: n is small (at most SHS_PLACE_MAX) and want smaller still */
    for (r = 0; r < want; r++) {
        unsigned int best = pl->n;

        for (i = 0; i < pl->n; i++) {
            if (taken & (APR_UINT64_C(1) << i)) {
                continue;
            }
            if (best == pl->n || before(pl, i, w[i], best, w[best])) {
                best = i;
            }
        }
        taken |= APR_UINT64_C(1) << best;
        out[r] = best;
    }
    return want;
}
