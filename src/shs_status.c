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

/* The counter block lives in an anonymous shared memory segment made in the parent at
 * post_config: every child forked afterwards sees the same block at the same address, and a
 * restart starts a new one (the page says since when).  It is per server: a second httpd has
 * its own, as it has its own processes. */

#include <string.h>

#include <apr_shm.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>

#include "shs_private.h"
#include "shs_status.h"
#include "shs_place.h"

static shs_stats_t *block;

shs_stats_t *shs_status_block(void)
{
    return block;
}

int shs_status_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    apr_shm_t *shm;
    apr_status_t rv;

    block = NULL;
    rv = apr_shm_create(&shm, sizeof(shs_stats_t), NULL, pconf);
    if (rv != APR_SUCCESS) {
        /* counting is an extra: the server works without it */
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "SHS00701: no shared memory for the "
                     "counters; the status page will show nothing");
        return OK;
    }
    block = apr_shm_baseaddr_get(shm);
    shs_stats_init(block);
    return OK;
}

static shs_status_extra_fn *extra;

void shs_status_set_extra(shs_status_extra_fn *fn)
{
    extra = fn;
}

int shs_status_handler(request_rec *r)
{
    const shs_srv_conf_t *sc = SHS_SRV_CONF(r->server);
    const char **names, *more;
    int i, n = sc->servers ? sc->servers->nelts : 0;

    if (!r->handler || strcmp(r->handler, SHS_STATUS_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        ap_allow_methods(r, 1, "GET", "HEAD", NULL);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!block) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    names = apr_pcalloc(r->pool, sizeof(*names) * (apr_size_t)(n ? n : 1));
    for (i = 0; i < n; i++) {
        const shs_mc_addr_t *a = &APR_ARRAY_IDX(sc->servers, i, shs_mc_addr_t);
        /* the name the store's log lines use too */
        names[i] = shs_place_identity(r->pool, a->host, a->port);
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->args && strstr(r->args, "format=prometheus")) {
        ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
        ap_rputs(shs_stats_prometheus(r->pool, block, names, n), r);
        if (extra && (more = extra(r->pool, 1))) {
            ap_rputs(more, r);
        }
    }
    else {
        ap_set_content_type(r, "text/plain; charset=utf-8");
        ap_rputs(shs_stats_text(r->pool, block, names, n, apr_time_now()), r);
        if (extra && (more = extra(r->pool, 0))) {
            ap_rputs(more, r);
        }
    }
    return OK;
}
