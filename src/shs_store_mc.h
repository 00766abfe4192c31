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

/* The memcached backend of the store (apr_memcache). */

#ifndef SHS_STORE_MC_H
#define SHS_STORE_MC_H

#include "shs_store.h"

typedef struct shs_mc_server_spec_t {
    const char *host;
    apr_port_t port;
} shs_mc_server_spec_t;

/* Build the apr_memcache backend: one client per server, so a key always lives on the same
 * server (no silent failover to another one).  conns = connections per server. */
apr_status_t shs_store_mc_create(apr_pool_t *p, const shs_mc_server_spec_t *servers, int n,
                                 int conns, apr_interval_time_t conn_wait,
                                 const shs_store_ops_t **ops, void **ctx);

#endif /* SHS_STORE_MC_H */
