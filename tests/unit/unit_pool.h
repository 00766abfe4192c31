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

/* The group set-up most unit tests share: APR initialised and one pool for the whole group,
 * `pool`.  Include it once, after cmocka.h, in a test file's translation unit. */

#ifndef SHS_UNIT_POOL_H
#define SHS_UNIT_POOL_H

#include <apr_general.h>
#include <apr_pools.h>

static apr_pool_t *pool;

static int unit_pool_setup(void **state)
{
    (void)state;
    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        return -1;
    }
    return 0;
}

static int unit_pool_teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

#endif /* SHS_UNIT_POOL_H */
