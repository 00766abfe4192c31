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

/* Fuzz builds only: force-included (-include) in front of every source file of a fuzzer, core
 * sources included.  APR pools carve allocations out of 8 KiB blocks, so AddressSanitizer cannot
 * see a write past the end of one pool allocation into the next.  Here the pool allocators the
 * core code calls directly are replaced by exact-size malloc() blocks that are freed by a pool
 * cleanup: same lifetime, but every block has its own red zones.  (apr_pstrcat, apr_psprintf and
 * APR's own internals still use the real pool.) */

#ifndef SHS_FUZZ_POOL_H
#define SHS_FUZZ_POOL_H

#include <stddef.h> /* before APR: with offsetof defined, APR_OFFSETOF does not compute
                     * member addresses from a null pointer (which UBSan reports) */
#include <stdlib.h>
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>

static inline apr_status_t shs_fuzz_free(void *mem)
{
    free(mem);
    return APR_SUCCESS;
}

static inline void *shs_fuzz_palloc(apr_pool_t *p, apr_size_t n)
{
    void *mem = malloc(n);

    if (!mem && n == 0) {
        mem = malloc(1);
    }
    if (!mem) {
        abort();
    }
    apr_pool_cleanup_register(p, mem, shs_fuzz_free, apr_pool_cleanup_null);
    return mem;
}

static inline void *shs_fuzz_pcalloc(apr_pool_t *p, apr_size_t n)
{
    return memset(shs_fuzz_palloc(p, n), 0, n);
}

static inline char *shs_fuzz_pstrmemdup(apr_pool_t *p, const char *s, apr_size_t n)
{
    char *out;

    if (!s) {
        return NULL;
    }
    out = shs_fuzz_palloc(p, n + 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

static inline char *shs_fuzz_pstrdup(apr_pool_t *p, const char *s)
{
    return s ? shs_fuzz_pstrmemdup(p, s, strlen(s)) : NULL;
}

static inline char *shs_fuzz_pstrndup(apr_pool_t *p, const char *s, apr_size_t n)
{
    return s ? shs_fuzz_pstrmemdup(p, s, strnlen(s, n)) : NULL;
}

static inline void *shs_fuzz_pmemdup(apr_pool_t *p, const void *m, apr_size_t n)
{
    void *out;

    if (!m) {
        return NULL;
    }
    out = shs_fuzz_palloc(p, n);
    memcpy(out, m, n);
    return out;
}

#undef apr_palloc
#undef apr_pcalloc
#undef apr_pstrmemdup
#undef apr_pstrdup
#undef apr_pstrndup
#undef apr_pmemdup
#define apr_palloc shs_fuzz_palloc
#define apr_pcalloc shs_fuzz_pcalloc
#define apr_pstrmemdup shs_fuzz_pstrmemdup
#define apr_pstrdup shs_fuzz_pstrdup
#define apr_pstrndup shs_fuzz_pstrndup
#define apr_pmemdup shs_fuzz_pmemdup

#endif /* SHS_FUZZ_POOL_H */
