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

/* mod_sharedsession: one session for sites on different domains.
 *
 * This file holds the module record and the hook registration; the directive table lives
 * beside its handlers in src/shs_cmd.c, and the work is done in src/.  The module must be
 * loaded after mod_session: it registers into mod_session's hooks. */

#include <apr_optional.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_session.h>

#define SHS_MODULE_FILE
#include "src/shs_private.h"
#include "src/shs_cmd.h"
#include "src/shs_provider.h"
#include "src/shs_backend.h"
#include "src/shs_filter.h"
#include "src/shs_endpoint.h"
#include "src/shs_pull.h"
#include "src/shs_jar.h"
#include "src/shs_status.h"

static int shs_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    shs_cmd_reset();
    return OK;
}

static int shs_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    return shs_cmd_check(ptemp, s);
}

static void shs_child_init(apr_pool_t *pchild, server_rec *s)
{
    shs_filter_child_init(pchild, s);
    shs_backend_child_init(pchild, s);
}

static void *shs_create_srv(apr_pool_t *p, server_rec *s)
{
    return shs_srv_conf_create(p);
}

static void *shs_create_dir(apr_pool_t *p, char *dir)
{
    return shs_dir_conf_create(p);
}

static void shs_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(shs_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(shs_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(shs_status_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(shs_backend_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(shs_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(shs_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* early: before authentication modules read the session, and before the handler */
    ap_hook_header_parser(shs_provider_header_parser, NULL, NULL, APR_HOOK_FIRST);
    /* right after: a navigation without a live session bounces through the hub */
    ap_hook_header_parser(shs_pull_header_parser, NULL, NULL, APR_HOOK_FIRST + 1);
    /* then the application's cookies from the jar, before any handler builds a CGI
     * environment or a proxied request */
    ap_hook_header_parser(shs_jar_header_parser, NULL, NULL, APR_HOOK_FIRST + 2);
    /* the cross-domain endpoints answer before any mapping, like a cache would */
    ap_hook_quick_handler(shs_endpoint_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_filter(shs_filter_insert, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_filter(shs_jar_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(shs_jar_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_output_filter(SHS_FILTER_NAME, shs_filter_inject, NULL, AP_FTYPE_RESOURCE);
    /* before mod_session's MOD_SESSION_OUT (AP_FTYPE_CONTENT_SET) saves the session */
    ap_register_output_filter(SHS_JAR_FILTER, shs_jar_out_filter, NULL, AP_FTYPE_RESOURCE);
    /* after mod_headers and mod_expires (AP_FTYPE_CONTENT_SET), before the response headers
     * are written: a tagged page stays uncacheable whatever was configured for it */
    ap_register_output_filter(SHS_NOSTORE_FILTER_NAME, shs_filter_nostore, NULL,
                              AP_FTYPE_PROTOCOL - 1);
    ap_hook_session_load(shs_provider_load, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_session_save(shs_provider_save, NULL, NULL, APR_HOOK_MIDDLE);
}

/* clang-format off */
AP_DECLARE_MODULE(sharedsession) = {
    STANDARD20_MODULE_STUFF,
    shs_create_dir,
    shs_dir_conf_merge,
    shs_create_srv,
    shs_srv_conf_merge,
    shs_cmds,
    shs_register_hooks,
    /* every virtual host gets its own merged server record: its group is resolved into it */
    AP_MODULE_FLAG_ALWAYS_MERGE
};
/* clang-format on */
