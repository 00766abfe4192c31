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

/* The store of this process (see shs_backend.c). */

#ifndef SHS_BACKEND_H
#define SHS_BACKEND_H

#include <httpd.h>

#include "shs_store.h"

/* post_config: open (or keep, at a restart) the embedded store's file, in the parent. */
int shs_backend_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

/* child_init: start the configured store in this process. */
void shs_backend_child_init(apr_pool_t *pchild, server_rec *s);

/* This process's store; NULL when none is configured or it could not start. */
shs_store_t *shs_backend_store(void);

#endif /* SHS_BACKEND_H */
