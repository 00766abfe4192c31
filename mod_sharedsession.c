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
 * This file holds the module record, the directive table and the hook registration; the
 * work is done in src/.  The module must be loaded after mod_session: it registers into
 * mod_session's hooks. */

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

#define PER_DIR (RSRC_CONF | OR_AUTHCFG)

/* clang-format off */
static const command_rec shs_cmds[] = {
    /* server configuration (outside <VirtualHost>) */
    AP_INIT_TAKE1("SharedSessionStore", shs_cmd_store, NULL, RSRC_CONF,
                  "where sessions live: shm[:/path][(bytes)] (this server's processes, the "
                  "default without SharedSessionMemcache) or memcache"),
    AP_INIT_TAKE_ARGV("SharedSessionMemcache", shs_cmd_memcache, NULL, RSRC_CONF,
                      "memcached servers as host:port ...; each session lives on one of them"),
    AP_INIT_TAKE1("SharedSessionMemcacheTimeout", shs_cmd_memcache_timeout, NULL, RSRC_CONF,
                  "longest wait for one memcached operation (default 250ms)"),
    AP_INIT_TAKE1("SharedSessionMemcacheRetry", shs_cmd_memcache_retry, NULL, RSRC_CONF,
                  "how long a failed memcached server is skipped before a retry (default 1s)"),
    AP_INIT_TAKE1("SharedSessionMemcacheConnections", shs_cmd_memcache_conns, NULL, RSRC_CONF,
                  "connections (and worker threads) per process (default: ThreadsPerChild)"),
    AP_INIT_TAKE1("SharedSessionMemcacheReplicas", shs_cmd_memcache_replicas, NULL, RSRC_CONF,
                  "copies of each session on as many memcached servers (1..3, default 1)"),
    AP_INIT_TAKE1("SharedSessionKeyPrefix", shs_cmd_key_prefix, NULL, RSRC_CONF,
                  "prefix of the memcached keys (default shs:)"),
    AP_INIT_TAKE1("SharedSessionKeyFile", shs_cmd_keyfile, NULL, RSRC_CONF,
                  "file with the secret keys for cross-domain tokens: '<id> <base64>' lines"),
    AP_INIT_TAKE_ARGV("SharedSessionGroup", shs_cmd_group, NULL, RSRC_CONF,
                      "NAME site site ...: sites ([scheme://]host[:port]) sharing one session"),
    AP_INIT_TAKE1("SharedSessionEndpoint", shs_cmd_endpoint, NULL, RSRC_CONF,
                  "path prefix of the cross-domain endpoints on every site of a group (default /_shs/)"),
    AP_INIT_TAKE1("SharedSessionTokenLifetime", shs_cmd_token_lifetime, NULL, RSRC_CONF,
                  "seconds a cross-domain token is valid (default 30)"),
    AP_INIT_TAKE1("SharedSessionPushRetry", shs_cmd_push_retry, NULL, RSRC_CONF,
                  "seconds before tags are sent again to a site that did not confirm (default 300)"),
    AP_INIT_FLAG("SharedSessionStoreEncrypt", shs_cmd_store_encrypt, NULL, RSRC_CONF,
                 "On: sessions are encrypted in memcached (they are always authenticated "
                 "with the key file)"),
    AP_INIT_TAKE2("SharedSessionHub", shs_cmd_hub, NULL, RSRC_CONF,
                  "GROUP site: the site of the group where users log in; enables the redirect pull"),
    AP_INIT_TAKE1("SharedSessionPullRetry", shs_cmd_pull_retry, NULL, RSRC_CONF,
                  "seconds before a browser without a session is bounced through the hub again"),
    /* server config and virtual host */
    AP_INIT_FLAG("SharedSessionReplace", shs_cmd_replace, NULL, RSRC_CONF,
                 "On: a session pushed from another site replaces a non-empty local one"),
    AP_INIT_TAKE_ARGV("SharedSessionIdentityKeys", shs_cmd_identity_keys, NULL, RSRC_CONF,
                      "session keys naming the logged-in identity (default: user *-user); a "
                      "change of one gives the session a new id"),
    AP_INIT_FLAG("SharedSessionCookieRemove", shs_cmd_cookie_remove, NULL, RSRC_CONF,
                 "On (default): hide the session cookie from the application; always on for "
                 "the sites of a group"),
    /* per directory, and .htaccess with AllowOverride AuthConfig */
    AP_INIT_FLAG("SharedSessionInject", shs_cmd_inject, NULL, PER_DIR,
                 "On (default): add loader tags for the other sites of the group to HTML pages"),
    AP_INIT_TAKE_ARGV("SharedSessionTransport", shs_cmd_transport, NULL, PER_DIR,
                      "how the session reaches the other sites: image or script (push), pull, "
                      "both ('image pull', the default), or none"),
    AP_INIT_FLAG("SharedSession", shs_cmd_enable, NULL, PER_DIR,
                 "On: store this directory's mod_session session in memcached"),
    AP_INIT_TAKE12("SharedSessionCookieName", shs_cmd_cookie_name, NULL, PER_DIR,
                   "name of the session id cookie, and optionally its attributes"),
    AP_INIT_TAKE1("SharedSessionStoreDown", shs_cmd_store_down, NULL, PER_DIR,
                  "what a request gets while memcached is unavailable: anonymous or 503"),
    AP_INIT_TAKE1("SharedSessionTTL", shs_cmd_ttl, NULL, PER_DIR,
                  "memcached lifetime in seconds of sessions without SessionMaxAge"),
    AP_INIT_TAKE_ARGV("SharedSessionAppCookie", shs_cmd_app_cookie, NULL, PER_DIR,
                      "NAME ...: the application's own cookies (PHPSESSID, prefix*) kept in the "
                      "shared session instead of the browser; None: none here"),
    { NULL }
};
/* clang-format on */

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
