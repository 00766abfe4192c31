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

/* The directive table and its handlers, side by side.  Server-wide directives are refused
 * inside <VirtualHost>, <Directory> and .htaccess; per-directory ones work in .htaccess with
 * AllowOverride AuthConfig. */

#include <string.h>

#include <apr_strings.h>
#include <apr_lib.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <mod_session.h>

#include "shs_private.h"
#include "shs_cmd.h"
#include "shs_id.h"
#include "shs_cookie.h"
#include "shs_keys.h"
#include "shs_place.h"

/* Where the configuration being read switched SharedSession On first (for check_config). */
static const char *enabled_where;
static apr_array_header_t *cookie_names; /* SharedSessionCookieName of the configuration */

static const char *where(cmd_parms *cmd)
{
    if (!cmd->directive) {
        return "(unknown)";
    }
    return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename, cmd->directive->line_num);
}

static shs_srv_conf_t *srv_conf(cmd_parms *cmd)
{
    return SHS_SRV_CONF(cmd->server);
}

static const char *global_only(cmd_parms *cmd)
{
    return ap_check_cmd_context(cmd, GLOBAL_ONLY);
}

static const char *fail(cmd_parms *cmd, const char *msg)
{
    return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, msg);
}

static const char *shs_cmd_memcache(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    shs_srv_conf_t *s = srv_conf(cmd);
    const char *err;
    int i;

    if ((err = global_only(cmd))) {
        return err;
    }
    if (argc < 1) {
        return fail(cmd, "give at least one memcached server as host:port or a socket path");
    }
    if (s->servers) {
        return fail(cmd, "given twice; list all servers in one directive");
    }
    if (argc > SHS_MAX_SERVERS) {
        return fail(cmd, apr_psprintf(cmd->pool, "at most %d servers", SHS_MAX_SERVERS));
    }
    s->servers = apr_array_make(cmd->pool, argc, sizeof(shs_mc_addr_t));
    for (i = 0; i < argc; i++) {
        shs_mc_addr_t *a = apr_array_push(s->servers);
        const char *name;
        int j;
        if ((err = shs_parse_mc_addr(cmd->pool, argv[i], a))) {
            return fail(cmd, err);
        }
        /* the same server twice would hold both "copies" of a replicated session */
        name = shs_place_identity(cmd->pool, a->host, a->port);
        for (j = 0; j < i; j++) {
            const shs_mc_addr_t *o = &APR_ARRAY_IDX(s->servers, j, shs_mc_addr_t);
            if (!strcmp(name, shs_place_identity(cmd->pool, o->host, o->port))) {
                return fail(cmd, apr_psprintf(cmd->pool, "'%s' is listed twice", argv[i]));
            }
            if (shs_mc_addr_same(cmd->temp_pool, a, o)) {
                return fail(cmd, apr_psprintf(cmd->pool, "'%s' and '%s' are the same server",
                                              argv[j], argv[i]));
            }
        }
    }
    s->servers_where = where(cmd);
    return NULL;
}

static const char *parse_interval(cmd_parms *cmd, const char *arg, apr_interval_time_t min,
                                  apr_interval_time_t max, apr_interval_time_t *out)
{
    apr_interval_time_t t;
    const char *u = arg;

    /* digits and one of httpd's units, nothing else: ap_timeout_parameter_parse reads only
     * the unit's first letters ("soon" would be 0 seconds) */
    while (apr_isdigit(*u)) {
        u++;
    }
    if (u == arg ||
        (*u && strcmp(u, "ms") && strcmp(u, "s") && strcmp(u, "mi") && strcmp(u, "min") &&
         strcmp(u, "h")) ||
        ap_timeout_parameter_parse(arg, &t, "ms") != APR_SUCCESS) {
        return fail(cmd, apr_psprintf(cmd->pool, "'%s' is not a duration (e.g. 250ms, 1s)", arg));
    }
    if (t < min || t > max) {
        return fail(cmd, apr_psprintf(cmd->pool,
                                      "'%s' is out of range (%" APR_TIME_T_FMT
                                      "ms..%" APR_TIME_T_FMT "ms)",
                                      arg, apr_time_as_msec(min), apr_time_as_msec(max)));
    }
    *out = t;
    return NULL;
}

static const char *shs_cmd_memcache_timeout(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);

    return err ? err
               : parse_interval(cmd, arg, apr_time_from_msec(1), apr_time_from_sec(60),
                                &srv_conf(cmd)->timeout);
}

static const char *shs_cmd_memcache_retry(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);

    return err ? err : parse_interval(cmd, arg, 0, apr_time_from_sec(3600), &srv_conf(cmd)->retry);
}

/* A whole number from min to max. */
static const char *parse_count(cmd_parms *cmd, const char *arg, int min, int max, int *out)
{
    apr_int64_t n;

    if (shs_parse_seconds(arg, min, max, &n)) {
        return fail(cmd,
                    apr_psprintf(cmd->pool, "'%s': give a number from %d to %d", arg, min, max));
    }
    *out = (int)n;
    return NULL;
}

static const char *shs_cmd_memcache_conns(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);

    return err ? err : parse_count(cmd, arg, 1, 1024, &srv_conf(cmd)->conns);
}

static const char *shs_cmd_memcache_replicas(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);

    return err ? err : parse_count(cmd, arg, 1, 3, &srv_conf(cmd)->replicas);
}

static const char *shs_cmd_key_prefix(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);

    if (err) {
        return err;
    }
    if (!shs_key_prefix_is_valid(arg)) {
        return fail(cmd, apr_psprintf(cmd->pool,
                                      "'%s': use 1 to %d printable characters "
                                      "without spaces",
                                      arg, SHS_KEY_PREFIX_MAX));
    }
    srv_conf(cmd)->key_prefix = arg;
    return NULL;
}

static const char *shs_cmd_keyfile(cmd_parms *cmd, void *dc, const char *arg)
{
    shs_srv_conf_t *s = srv_conf(cmd);
    const char *err = global_only(cmd), *path, *why = NULL;
    shs_keyring_t *kr;

    if (err) {
        return err;
    }
    path = ap_server_root_relative(cmd->pool, arg);
    if (!path) {
        return fail(cmd, apr_psprintf(cmd->pool, "invalid path '%s'", arg));
    }
    /* Read now, as root and at `apachectl -t`: a bad key file stops the server from starting. */
    if (shs_keyring_load(cmd->pool, path, &kr, &why) != APR_SUCCESS) {
        return fail(cmd, why ? why : apr_psprintf(cmd->pool, "cannot read '%s'", path));
    }
    s->keyfile = path;
    s->keys = kr;
    return NULL;
}

static int valid_group_name(const char *n)
{
    apr_size_t len = strlen(n);

    return len >= 1 && len <= 64 &&
           strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

static const char *shs_cmd_group(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    shs_srv_conf_t *s = srv_conf(cmd);
    const char *err = global_only(cmd);
    shs_group_t *g;
    int i;

    if (err) {
        return err;
    }
    if (argc < 3) {
        return fail(cmd, "give a group name and at least two sites: NAME host host ...");
    }
    if (!valid_group_name(argv[0])) {
        return fail(cmd, apr_psprintf(cmd->pool,
                                      "'%s' is not a valid group name "
                                      "(letters, digits, '_', '.', '-')",
                                      argv[0]));
    }
    if (!s->groups) {
        s->groups = apr_array_make(cmd->pool, 2, sizeof(shs_group_t));
    }
    for (i = 0; i < s->groups->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(s->groups, i, shs_group_t).name, argv[0])) {
            return fail(cmd, apr_psprintf(cmd->pool, "group '%s' is defined twice", argv[0]));
        }
    }
    g = apr_array_push(s->groups);
    g->name = argv[0];
    g->where = where(cmd);
    g->members = apr_array_make(cmd->pool, argc - 1, sizeof(shs_member_t));
    for (i = 1; i < argc; i++) {
        shs_member_t m;
        const shs_group_t *other;
        if ((err = shs_parse_member(cmd->pool, argv[i], &m))) {
            s->groups->nelts--;
            return fail(cmd, err);
        }
        other = shs_group_find_host(s, m.host);
        if (other) {
            s->groups->nelts--;
            return fail(cmd, apr_psprintf(cmd->pool, "site '%s' is already in group '%s'", m.host,
                                          other->name));
        }
        APR_ARRAY_PUSH(g->members, shs_member_t) = m;
    }
    return NULL;
}

static const char *shs_cmd_enable(cmd_parms *cmd, void *dc, int flag)
{
    shs_dir_conf_t *d = dc;

    d->enabled = flag ? 1 : 0;
    d->enabled_where = where(cmd);
    /* Remember the first one of the server configuration (in .htaccess, read per request,
     * cmd->pool is the temp pool). */
    if (flag && !enabled_where && cmd->pool != cmd->temp_pool) {
        enabled_where = d->enabled_where;
    }
    return NULL;
}

static const char *shs_cmd_cookie_name(cmd_parms *cmd, void *dc, const char *name,
                                       const char *attrs)
{
    shs_dir_conf_t *d = dc;
    const char *err;

    if (!shs_cookie_name_is_valid(name)) {
        return fail(cmd, apr_psprintf(cmd->pool, "'%s' is not a valid cookie name", name));
    }
    d->cookie_name = name;
    d->cookie_attrs = "";
    if (attrs && (err = shs_parse_cookie_attrs(cmd->pool, attrs, &d->cookie_attrs))) {
        return fail(cmd, err);
    }
    if (cmd->pool != cmd->temp_pool) {
        /* a name of the server configuration (not of an .htaccess, read per request): every
         * scope of a group's site strips it */
        if (!cookie_names) {
            cookie_names = apr_array_make(cmd->pool, 2, sizeof(const char *));
        }
        APR_ARRAY_PUSH(cookie_names, const char *) = d->cookie_name;
    }
    return NULL;
}

const apr_array_header_t *shs_cmd_cookie_names(void)
{
    return cookie_names;
}

static const char *shs_cmd_cookie_remove(cmd_parms *cmd, void *dc, int flag)
{
    /* server and virtual host only: an .htaccess must not expose the id to an application */
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);

    if (!err) {
        ((shs_dir_conf_t *)dc)->cookie_remove = flag ? 1 : 0;
    }
    return err;
}

static const char *shs_cmd_store_encrypt(cmd_parms *cmd, void *dc, int flag)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (!err) {
        srv_conf(cmd)->store_encrypt = flag ? 1 : 0;
    }
    return err;
}

static const char *shs_cmd_identity_keys(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    apr_array_header_t *keys;
    int i;

    if (err) {
        return err;
    }
    if (argc < 1) {
        return "SharedSessionIdentityKeys: at least one session key (e.g. user *-user)";
    }
    keys = apr_array_make(cmd->pool, argc, sizeof(const char *));
    for (i = 0; i < argc; i++) {
        if ((err = shs_parse_identity_key(argv[i]))) {
            return apr_psprintf(cmd->pool, "SharedSessionIdentityKeys: '%s': %s", argv[i], err);
        }
        APR_ARRAY_PUSH(keys, const char *) = apr_pstrdup(cmd->pool, argv[i]);
    }
    srv_conf(cmd)->identity_keys = keys;
    return NULL;
}

static const char *shs_cmd_store(cmd_parms *cmd, void *dc, const char *arg)
{
    shs_srv_conf_t *s = srv_conf(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    shs_store_kind_e kind;
    const char *path;
    apr_size_t bytes;

    if (err) {
        return err;
    }
    if ((err = shs_parse_store(cmd->pool, arg, &kind, &path, &bytes))) {
        return apr_psprintf(cmd->pool, "SharedSessionStore %s: %s", arg, err);
    }
    s->store_kind = kind;
    s->shm_path = path ? ap_server_root_relative(cmd->pool, path) : NULL;
    s->shm_bytes = bytes;
    s->store_where = where(cmd);
    return NULL;
}

static const char *shs_cmd_app_cookie(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    shs_dir_conf_t *d = dc;
    apr_array_header_t *pats;
    const char *err;
    int i;

    if (argc < 1) {
        return "SharedSessionAppCookie: at least one cookie name (e.g. PHPSESSID), or None";
    }
    if (cmd->directive && cmd->directive->args) {
        /* httpd stops handing over the arguments at an empty one ("" or ''): find it */
        const char *rest = cmd->directive->args;
        for (;;) {
            while (apr_isspace(*rest)) {
                rest++;
            }
            if (!*rest) {
                break;
            }
            if (!*ap_getword_conf(cmd->temp_pool, &rest)) {
                return "SharedSessionAppCookie: an empty cookie name";
            }
        }
    }
    pats = apr_array_make(cmd->pool, argc, sizeof(const char *));
    if (argc == 1 && !strcasecmp(argv[0], "None")) {
        d->app_cookies = pats; /* set, and empty: no application cookie is shared here */
        return NULL;
    }
    for (i = 0; i < argc; i++) {
        if ((err = shs_cookie_pattern_check(argv[i]))) {
            return apr_psprintf(cmd->pool, "SharedSessionAppCookie: '%s': %s", argv[i], err);
        }
        if (shs_cookie_pattern_takes_own(cmd->temp_pool, argv[i], shs_dir_cookie_name(d)) ||
            shs_cookie_pattern_takes_own(cmd->temp_pool, argv[i], SHS_DEFAULT_COOKIE_NAME)) {
            return apr_psprintf(cmd->pool,
                                "SharedSessionAppCookie: '%s' names the module's own cookies "
                                "(%s, %s_sync, ...): they never go to an application",
                                argv[i], shs_dir_cookie_name(d), shs_dir_cookie_name(d));
        }
        APR_ARRAY_PUSH(pats, const char *) = apr_pstrdup(cmd->pool, argv[i]);
    }
    d->app_cookies = pats;
    return NULL;
}

static const char *shs_cmd_store_down(cmd_parms *cmd, void *dc, const char *arg)
{
    shs_dir_conf_t *d = dc;

    if (!strcasecmp(arg, "anonymous")) {
        d->down_policy = SHS_DOWN_ANONYMOUS;
    }
    else if (!strcmp(arg, "503")) {
        d->down_policy = SHS_DOWN_REFUSE;
    }
    else {
        return fail(cmd, apr_psprintf(cmd->pool, "'%s': use 'anonymous' or '503'", arg));
    }
    return NULL;
}

static const char *shs_cmd_ttl(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err =
        shs_parse_seconds(arg, 1, 10LL * 365 * 24 * 3600, &((shs_dir_conf_t *)dc)->ttl);

    return err ? fail(cmd, apr_psprintf(cmd->pool, "'%s': %s (seconds, at least 1)", arg, err))
               : NULL;
}

static const char *shs_cmd_endpoint(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);

    if (!err && (err = shs_parse_endpoint(cmd->pool, arg, &srv_conf(cmd)->endpoint))) {
        return fail(cmd, err);
    }
    return err;
}

static const char *shs_cmd_token_lifetime(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);

    if (!err && shs_parse_seconds(arg, 5, 3600, &srv_conf(cmd)->token_lifetime)) {
        return fail(cmd, apr_psprintf(cmd->pool, "'%s': give seconds from 5 to 3600", arg));
    }
    return err;
}

static const char *shs_cmd_push_retry(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);

    if (!err && shs_parse_seconds(arg, 0, 86400, &srv_conf(cmd)->push_retry)) {
        return fail(cmd, apr_psprintf(cmd->pool, "'%s': give seconds from 0 to 86400", arg));
    }
    return err;
}

static const char *shs_cmd_replace(cmd_parms *cmd, void *dc, int flag)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);

    if (!err) {
        srv_conf(cmd)->replace = flag ? 1 : 0;
    }
    return err;
}

static const char *shs_cmd_inject(cmd_parms *cmd, void *dc, int flag)
{
    ((shs_dir_conf_t *)dc)->inject = flag ? 1 : 0;
    return NULL;
}

static const char *shs_cmd_transport(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    shs_dir_conf_t *d = dc;
    int i, push = SHS_PUSH_NONE, pull = 0;

    if (argc < 1 || argc > 2) {
        return fail(cmd, "give one or two of: image, script, pull, none");
    }
    for (i = 0; i < argc; i++) {
        int kind = !strcasecmp(argv[i], "image")    ? SHS_PUSH_IMAGE
                   : !strcasecmp(argv[i], "script") ? SHS_PUSH_SCRIPT
                                                    : SHS_PUSH_UNSET;
        if (kind != SHS_PUSH_UNSET && push == SHS_PUSH_NONE) {
            push = kind;
        }
        else if (!strcasecmp(argv[i], "pull") && !pull) {
            pull = 1;
        }
        else if (!strcasecmp(argv[i], "none") && argc == 1) {
            /* neither */
        }
        else {
            return fail(cmd, apr_psprintf(cmd->pool,
                                          "'%s': use image or script (push), pull, "
                                          "both (e.g. 'image pull'), or none",
                                          argv[i]));
        }
    }
    d->push = push;
    d->pull = pull;
    return NULL;
}

static const char *shs_cmd_hub(cmd_parms *cmd, void *dc, const char *group, const char *site)
{
    shs_srv_conf_t *s = srv_conf(cmd);
    const char *err = global_only(cmd);
    shs_member_t m;
    int i, j;

    if (err) {
        return err;
    }
    if ((err = shs_parse_member(cmd->pool, site, &m))) {
        return fail(cmd, err);
    }
    for (i = 0; s->groups && i < s->groups->nelts; i++) {
        shs_group_t *g = &APR_ARRAY_IDX(s->groups, i, shs_group_t);
        if (!strcmp(g->name, group)) {
            if (g->hub) {
                return fail(cmd, apr_psprintf(cmd->pool, "group '%s' has a hub already", group));
            }
            g->hub = NULL;
            for (j = 0; j < g->members->nelts; j++) {
                const shs_member_t *gm = &APR_ARRAY_IDX(g->members, j, shs_member_t);
                /* the same site: host, port and scheme, as written in the group */
                if (!strcasecmp(gm->host, m.host) && gm->port == m.port &&
                    !strcmp(gm->scheme, m.scheme)) {
                    g->hub = gm;
                }
            }
            if (!g->hub) {
                return fail(
                    cmd, apr_psprintf(cmd->pool, "'%s' is not a site of group '%s'", site, group));
            }
            return NULL;
        }
    }
    return fail(cmd, apr_psprintf(cmd->pool,
                                  "no group '%s' (SharedSessionGroup must come "
                                  "first)",
                                  group));
}

static const char *shs_cmd_pull_retry(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);

    if (!err && shs_parse_seconds(arg, 0, 86400, &srv_conf(cmd)->pull_retry)) {
        return fail(cmd, apr_psprintf(cmd->pool, "'%s': give seconds from 0 to 86400", arg));
    }
    return err;
}

#define PER_DIR (RSRC_CONF | OR_AUTHCFG)

/* clang-format off */
const command_rec shs_cmds[] = {
    /* server configuration (outside <VirtualHost>) */
    AP_INIT_TAKE1("SharedSessionStore", shs_cmd_store, NULL, RSRC_CONF,
                  "where sessions live: shm[:/path][(bytes)] (this server's processes, the "
                  "default without SharedSessionMemcache) or memcache"),
    AP_INIT_TAKE_ARGV("SharedSessionMemcache", shs_cmd_memcache, NULL, RSRC_CONF,
                      "memcached servers as host:port or /path/to/socket ...; each session lives on one of them"),
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

void shs_cmd_reset(void)
{
    enabled_where = NULL;
    cookie_names = NULL;
}

int shs_cmd_in_use(const shs_srv_conf_t *main_conf)
{
    return enabled_where || (main_conf && main_conf->groups);
}

/* ------------------------------------------------------------------ check_config */

static int session_on(ap_conf_vector_t *v)
{
    session_dir_conf *c = ap_get_module_config(v, &session_module);

    return c && c->enabled;
}

static int shared_on_here(ap_conf_vector_t *v, const char **at)
{
    shs_dir_conf_t *d = ap_get_module_config(v, &sharedsession_module);

    if (d && d->enabled == 1) {
        *at = d->enabled_where;
        return 1;
    }
    return 0;
}

/* Is Session On in force in this section: in it, at server level, or in a section of the same
 * kind whose path is a prefix of this one's? */
static int session_covers(server_rec *s, apr_array_header_t *secs, ap_conf_vector_t *v)
{
    core_dir_config *cd = ap_get_core_module_config(v);
    int i;

    if (session_on(v) || session_on(s->lookup_defaults)) {
        return 1;
    }
    for (i = 0; secs && cd && cd->d && i < secs->nelts; i++) {
        ap_conf_vector_t *o = APR_ARRAY_IDX(secs, i, ap_conf_vector_t *);
        core_dir_config *ocd = ap_get_core_module_config(o);
        if (o != v && ocd && ocd->d && !strncmp(cd->d, ocd->d, strlen(ocd->d)) && session_on(o)) {
            return 1;
        }
    }
    return 0;
}

/* A warning, not an error: Session On may still come from an .htaccess file. */
static void warn_sections(server_rec *s, apr_array_header_t *secs)
{
    int i;
    const char *at;

    for (i = 0; secs && i < secs->nelts; i++) {
        ap_conf_vector_t *v = APR_ARRAY_IDX(secs, i, ap_conf_vector_t *);
        if (shared_on_here(v, &at) && !session_covers(s, secs, v)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING | APLOG_STARTUP, 0, s,
                         "SHS00201: SharedSession On (%s) but no 'Session On' applies to that "
                         "section: mod_session will not load sessions there",
                         at);
        }
    }
}

int shs_cmd_check(apr_pool_t *ptemp, server_rec *s)
{
    shs_srv_conf_t *conf = SHS_SRV_CONF(s);
    server_rec *vs;
    int errors = 0;
    const char *at;

    for (vs = s; vs; vs = vs->next) {
        if (shs_srv_resolve_group(SHS_SRV_CONF(vs), conf, vs->server_hostname, vs->names)) {
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, vs, "SHS00204: %s is site %s of group %s",
                         vs->server_hostname ? vs->server_hostname : "(no name)",
                         shs_member_name(ptemp, SHS_SRV_CONF(vs)->self),
                         SHS_SRV_CONF(vs)->group->name);
        }
    }
    /* errors: every one is logged, then the start is refused */
    if (conf->groups && !conf->keys) {
        const shs_group_t *g = &APR_ARRAY_IDX(conf->groups, 0, shs_group_t);
        ap_log_error(APLOG_MARK, APLOG_CRIT | APLOG_STARTUP, 0, s,
                     "SHS00205: SharedSessionGroup %s (%s) needs SharedSessionKeyFile: the "
                     "tokens that carry a session between its sites are encrypted",
                     g->name, g->where);
        errors++;
    }
    if (conf->store_encrypt > 0 && !conf->keys) {
        ap_log_error(APLOG_MARK, APLOG_CRIT | APLOG_STARTUP, 0, s,
                     "SHS00206: SharedSessionStoreEncrypt On needs SharedSessionKeyFile: the "
                     "sessions are encrypted with a key derived from it");
        errors++;
    }
    if (shs_cmd_in_use(conf) && conf->store_kind == SHS_STORE_MEMCACHE && !conf->servers) {
        ap_log_error(APLOG_MARK, APLOG_CRIT | APLOG_STARTUP, 0, s,
                     "SHS00202: SharedSessionStore memcache (%s) needs a memcached server: add "
                     "'SharedSessionMemcache host:port' to the server configuration",
                     conf->store_where);
        errors++;
    }
    if (errors) {
        ap_log_error(APLOG_MARK, APLOG_CRIT | APLOG_STARTUP, 0, s,
                     "SHS00207: %d error%s in the mod_sharedsession configuration, logged above: "
                     "the server does not start",
                     errors, errors == 1 ? "" : "s");
        return !OK;
    }
    /* warnings: a scope where SharedSession On finds no mod_session session to store */
    for (vs = s; enabled_where && vs; vs = vs->next) {
        core_server_config *sc = ap_get_core_module_config(vs->module_config);
        if (shared_on_here(vs->lookup_defaults, &at) && !session_on(vs->lookup_defaults)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING | APLOG_STARTUP, 0, vs,
                         "SHS00203: SharedSession On (%s) but 'Session On' is not set for the "
                         "server %s",
                         at, vs->server_hostname ? vs->server_hostname : "");
        }
        warn_sections(vs, sc->sec_dir);
        warn_sections(vs, sc->sec_url);
    }
    return OK;
}
