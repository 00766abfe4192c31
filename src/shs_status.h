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

/* The live counters in shared memory, and the status page that shows them
 * (SetHandler sharedsession-status). */

#ifndef SHS_STATUS_H
#define SHS_STATUS_H

#include <httpd.h>

#include "shs_stats.h"

#define SHS_STATUS_HANDLER "sharedsession-status"

/* post_config: a fresh counter block, shared with the children forked after it. */
int shs_status_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

/* The counter block (NULL when it could not be made: counting is then skipped). */
shs_stats_t *shs_status_block(void);

int shs_status_handler(request_rec *r);

/* More lines for the status page from the store (prometheus: in that format), or NULL. */
typedef const char *shs_status_extra_fn(apr_pool_t *p, int prometheus);
void shs_status_set_extra(shs_status_extra_fn *fn);

#endif /* SHS_STATUS_H */
