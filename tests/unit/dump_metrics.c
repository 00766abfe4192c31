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

/* Prints the status page's Prometheus text as the module renders it (src/shs_stats.c), for a
 * fresh counter block and one memcached server: scripts/check-dashboard.py reads the metric
 * and label names the module emits from it.  Not a test by itself. */

#include <stdio.h>

#include <apr_general.h>

#include "shs_stats.h"

int main(void)
{
    const char *names[] = { "127.0.0.1:11211" };
    apr_pool_t *pool;
    shs_stats_t st;

    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        fputs("dump_metrics: cannot initialise APR\n", stderr);
        return 1;
    }
    shs_stats_init(&st);
    fputs(shs_stats_prometheus(pool, &st, names, 1), stdout);
    apr_pool_destroy(pool);
    apr_terminate();
    return ferror(stdout) ? 1 : 0;
}
