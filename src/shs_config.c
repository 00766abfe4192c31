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

#include <string.h>
#include <stdlib.h>
#include <errno.h>
#include <sys/stat.h>

#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_network_io.h>

#include "shs_config.h"
#include "shs_id.h"

void *shs_srv_conf_create(apr_pool_t *p)
{
    shs_srv_conf_t *s = apr_pcalloc(p, sizeof(*s));

    s->timeout = -1;
    s->retry = -1;
    s->conns = 0;
    s->replicas = 0;
    s->token_lifetime = -1;
    s->push_retry = -1;
    s->replace = -1;
    s->pull_retry = -1;
    s->store_encrypt = -1;
    return s;
}

void *shs_srv_conf_merge(apr_pool_t *p, void *basev, void *addv)
{
    shs_srv_conf_t *base = basev, *add = addv;
    shs_srv_conf_t *s = apr_pcalloc(p, sizeof(*s));

    /* Every server-level directive is global: a virtual host sees the main server's values. */
    s->store_kind = add->store_kind ? add->store_kind : base->store_kind;
    s->shm_path = add->store_kind ? add->shm_path : base->shm_path;
    s->shm_bytes = add->store_kind ? add->shm_bytes : base->shm_bytes;
    s->store_where = add->store_kind ? add->store_where : base->store_where;
    s->servers = add->servers ? add->servers : base->servers;
    s->servers_where = add->servers ? add->servers_where : base->servers_where;
    s->timeout = add->timeout >= 0 ? add->timeout : base->timeout;
    s->retry = add->retry >= 0 ? add->retry : base->retry;
    s->conns = add->conns ? add->conns : base->conns;
    s->replicas = add->replicas ? add->replicas : base->replicas;
    s->key_prefix = add->key_prefix ? add->key_prefix : base->key_prefix;
    s->keyfile = add->keyfile ? add->keyfile : base->keyfile;
    s->keys = add->keys ? add->keys : base->keys;
    s->groups = add->groups ? add->groups : base->groups;
    s->endpoint = add->endpoint ? add->endpoint : base->endpoint;
    s->token_lifetime = add->token_lifetime >= 0 ? add->token_lifetime : base->token_lifetime;
    s->push_retry = add->push_retry >= 0 ? add->push_retry : base->push_retry;
    s->replace = add->replace >= 0 ? add->replace : base->replace;
    s->pull_retry = add->pull_retry >= 0 ? add->pull_retry : base->pull_retry;
    s->identity_keys = add->identity_keys ? add->identity_keys : base->identity_keys;
    s->store_encrypt = add->store_encrypt >= 0 ? add->store_encrypt : base->store_encrypt;
    /* group and self are resolved per virtual host at check_config */
    return s;
}

void *shs_dir_conf_create(apr_pool_t *p)
{
    shs_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));

    d->enabled = -1;
    d->cookie_remove = -1;
    d->down_policy = SHS_DOWN_UNSET;
    d->ttl = -1;
    d->inject = -1;
    d->push = SHS_PUSH_UNSET;
    d->pull = -1;
    return d;
}

void *shs_dir_conf_merge(apr_pool_t *p, void *basev, void *addv)
{
    shs_dir_conf_t *base = basev, *add = addv;
    shs_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));

    d->enabled = add->enabled >= 0 ? add->enabled : base->enabled;
    d->enabled_where = add->enabled >= 0 ? add->enabled_where : base->enabled_where;
    if (add->cookie_name) {
        d->cookie_name = add->cookie_name;
        d->cookie_attrs = add->cookie_attrs;
    }
    else {
        d->cookie_name = base->cookie_name;
        d->cookie_attrs = base->cookie_attrs;
    }
    d->cookie_remove = add->cookie_remove >= 0 ? add->cookie_remove : base->cookie_remove;
    d->down_policy = add->down_policy != SHS_DOWN_UNSET ? add->down_policy : base->down_policy;
    d->ttl = add->ttl >= 0 ? add->ttl : base->ttl;
    d->inject = add->inject >= 0 ? add->inject : base->inject;
    d->push = add->push != SHS_PUSH_UNSET ? add->push : base->push;
    d->pull = add->pull >= 0 ? add->pull : base->pull;
    d->app_cookies = add->app_cookies ? add->app_cookies : base->app_cookies;
    return d;
}

shs_store_kind_e shs_srv_store_kind(const shs_srv_conf_t *s)
{
    if (s->store_kind) {
        return (shs_store_kind_e)s->store_kind;
    }
    return s->servers && s->servers->nelts ? SHS_STORE_MEMCACHE : SHS_STORE_SHM;
}

const apr_array_header_t *shs_dir_app_cookies(const shs_dir_conf_t *d)
{
    return d && d->app_cookies && d->app_cookies->nelts ? d->app_cookies : NULL;
}

int shs_dir_enabled(const shs_dir_conf_t *d)
{
    return d && d->enabled == 1;
}

const char *shs_dir_cookie_name(const shs_dir_conf_t *d)
{
    return d->cookie_name ? d->cookie_name : SHS_DEFAULT_COOKIE_NAME;
}

const char *shs_dir_cookie_attrs(apr_pool_t *p, const shs_dir_conf_t *d, int secure)
{
    if (d->cookie_name && d->cookie_attrs && *d->cookie_attrs) {
        return d->cookie_attrs;
    }
    return secure ? SHS_DEFAULT_COOKIE_ATTRS "; Secure" : SHS_DEFAULT_COOKIE_ATTRS;
}

int shs_dir_cookie_remove(const shs_dir_conf_t *d)
{
    return d->cookie_remove != 0;
}

shs_down_policy_e shs_dir_down_policy(const shs_dir_conf_t *d)
{
    return d->down_policy == SHS_DOWN_REFUSE ? SHS_DOWN_REFUSE : SHS_DOWN_ANONYMOUS;
}

apr_int64_t shs_dir_ttl(const shs_dir_conf_t *d)
{
    return d->ttl >= 0 ? d->ttl : SHS_DEFAULT_TTL;
}

apr_interval_time_t shs_srv_timeout(const shs_srv_conf_t *s)
{
    return s->timeout >= 0 ? s->timeout : SHS_DEFAULT_TIMEOUT;
}

apr_interval_time_t shs_srv_retry(const shs_srv_conf_t *s)
{
    return s->retry >= 0 ? s->retry : SHS_DEFAULT_RETRY;
}

const char *shs_srv_key_prefix(const shs_srv_conf_t *s)
{
    return s->key_prefix ? s->key_prefix : SHS_DEFAULT_KEY_PREFIX;
}

const char *shs_srv_endpoint(const shs_srv_conf_t *s)
{
    return s->endpoint ? s->endpoint : SHS_DEFAULT_ENDPOINT;
}

apr_int64_t shs_srv_token_lifetime(const shs_srv_conf_t *s)
{
    return s->token_lifetime > 0 ? s->token_lifetime : SHS_DEFAULT_TOKEN_LIFETIME;
}

apr_int64_t shs_srv_push_retry(const shs_srv_conf_t *s)
{
    return s->push_retry >= 0 ? s->push_retry : SHS_DEFAULT_PUSH_RETRY;
}

int shs_srv_replace(const shs_srv_conf_t *s)
{
    return s->replace == 1;
}

int shs_dir_inject(const shs_dir_conf_t *d)
{
    return d->inject != 0;
}

int shs_dir_pull(const shs_dir_conf_t *d)
{
    return d->pull != 0;
}

int shs_srv_store_encrypt(const shs_srv_conf_t *s)
{
    return s->store_encrypt > 0;
}

apr_int64_t shs_srv_pull_retry(const shs_srv_conf_t *s)
{
    return s->pull_retry >= 0 ? s->pull_retry : SHS_DEFAULT_PULL_RETRY;
}

shs_push_e shs_dir_push(const shs_dir_conf_t *d)
{
    return d->push == SHS_PUSH_UNSET ? SHS_PUSH_IMAGE : (shs_push_e)d->push;
}

const char *shs_parse_store(apr_pool_t *p, const char *arg, shs_store_kind_e *kind,
                            const char **path, apr_size_t *bytes)
{
    const char *open, *s;
    char *end;
    apr_int64_t n;

    *path = NULL;
    *bytes = 0;
    if (!strcasecmp(arg, "memcache") || !strcasecmp(arg, "memcached")) {
        *kind = SHS_STORE_MEMCACHE;
        return NULL;
    }
    if (strncasecmp(arg, "shm", 3) || (arg[3] && arg[3] != ':' && arg[3] != '(')) {
        return "expected memcache, or shm[:/path][(bytes)]";
    }
    *kind = SHS_STORE_SHM;
    s = arg + 3;
    open = strchr(s, '(');
    if (*s == ':') {
        const char *pe = open ? open : s + strlen(s);
        if (pe == s + 1) {
            return "shm: an empty path";
        }
        *path = apr_pstrmemdup(p, s + 1, (apr_size_t)(pe - s - 1));
    }
    if (open) {
        n = apr_strtoi64(open + 1, &end, 10);
        if (end == open + 1 || n <= 0) {
            return "shm(bytes): a size in bytes, with an optional K, M or G";
        }
        switch (*end) {
        case 'k':
        case 'K':
            n *= 1024;
            end++;
            break;
        case 'm':
        case 'M':
            n *= 1024 * 1024;
            end++;
            break;
        case 'g':
        case 'G':
            n *= APR_INT64_C(1024) * 1024 * 1024;
            end++;
            break;
        default:
            break;
        }
        if (end[0] != ')' || end[1] != '\0') {
            return "shm(bytes): a size in bytes, with an optional K, M or G, then ')'";
        }
        if (n < SHS_SHM_MIN_BYTES || n > APR_INT64_C(64) * 1024 * 1024 * 1024) {
            return "shm(bytes): from 256K to 64G";
        }
        *bytes = (apr_size_t)n;
    }
    return NULL;
}

const char *shs_parse_endpoint(apr_pool_t *p, const char *arg, const char **out)
{
    apr_size_t len = strlen(arg);

    if (len < 3 || arg[0] != '/' || arg[len - 1] != '/' || len > 64 ||
        strspn(arg, "/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len ||
        strstr(arg, "//") || strstr(arg, "/./") || strstr(arg, "/../")) {
        return apr_psprintf(p,
                            "'%s': give a path like /_shs/ (letters, digits, '_', '.', '-', "
                            "starting and ending with '/')",
                            arg);
    }
    *out = apr_pstrdup(p, arg);
    return NULL;
}

static const char *parse_port(const char *s, apr_port_t *port)
{
    char *end;
    long v;

    if (!*s || !apr_isdigit(*s)) {
        return "the port is not a number";
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > 65535) {
        return "the port must be 1..65535";
    }
    *port = (apr_port_t)v;
    return NULL;
}

/* A DNS name or an IPv4 literal: labels of [a-z0-9-], 1..253 characters, no leading dot. */
static int is_hostname(const char *h)
{
    apr_size_t len = strlen(h), label = 0, i;

    if (len == 0 || len > 253 || h[0] == '.' || h[len - 1] == '.') {
        return 0;
    }
    for (i = 0; i < len; i++) {
        char c = h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-') {
                return 0;
            }
            label = 0;
            continue;
        }
        if (!(apr_isalnum(c) || c == '-') || (c == '-' && label == 0) || ++label > 63) {
            return 0;
        }
    }
    return h[len - 1] != '-';
}

/* A memcached unix socket: an absolute path that fits a sockaddr_un (107 bytes and its NUL),
 * printable, without spaces (it is also the server's name in the logs and on the status page). */
static const char *parse_mc_socket(apr_pool_t *p, const char *arg, shs_mc_addr_t *out)
{
    const char *c;

    if (strlen(arg) > SHS_MC_SOCKET_MAX) {
        return apr_psprintf(p, "'%.40s...': a socket path is at most %d bytes", arg,
                            SHS_MC_SOCKET_MAX);
    }
    for (c = arg; *c; c++) {
        if ((unsigned char)*c <= ' ' || *c == 0x7f) {
            /* named with '?' for what it may not hold: a log line must not carry those */
            char *shown = apr_pstrdup(p, arg), *d;
            for (d = shown; *d; d++) {
                *d = (unsigned char)*d <= ' ' || *d == 0x7f ? '?' : *d;
            }
            return apr_psprintf(p,
                                "'%s': a socket path may not contain spaces or control "
                                "characters (shown as '?')",
                                shown);
        }
    }
    out->host = apr_pstrdup(p, arg);
    out->port = 0;
    return NULL;
}

const char *shs_parse_mc_addr(apr_pool_t *p, const char *arg, shs_mc_addr_t *out)
{
    const char *colon = strrchr(arg, ':');
    const char *err;
    char *host;

    if (arg[0] == '/') {
        return parse_mc_socket(p, arg, out);
    }
    if (!colon || colon == arg) {
        return apr_psprintf(p, "'%s' is not host:port or the absolute path of a unix socket", arg);
    }
    host = apr_pstrmemdup(p, arg, (apr_size_t)(colon - arg));
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        host[strlen(host) - 1] = '\0';
        host++;
        if (!*host || strspn(host, "0123456789abcdefABCDEF:.") != strlen(host)) {
            return apr_psprintf(p, "'%s': bad IPv6 address", arg);
        }
    }
    else if (!is_hostname(host)) {
        return apr_psprintf(p, "'%s': '%s' is not a host name or IPv4 address", arg, host);
    }
    if ((err = parse_port(colon + 1, &out->port))) {
        return apr_psprintf(p, "'%s': %s", arg, err);
    }
    out->host = host;
    return NULL;
}

/* A socket path with its "//" and "/./" collapsed: "/run//mc.sock" and "/run/./mc.sock" are
 * "/run/mc.sock". */
static const char *tidy_path(apr_pool_t *p, const char *path)
{
    char *out = apr_palloc(p, strlen(path) + 1), *o = out;

    while (*path) {
        if (path[0] == '/' && (path[1] == '/' || (path[1] == '.' && path[2] == '/'))) {
            path += path[1] == '/' ? 1 : 2;
            continue;
        }
        *o++ = *path++;
    }
    *o = '\0';
    return out;
}

/* See shs_config.h. */
int shs_mc_addr_same(apr_pool_t *p, const shs_mc_addr_t *a, const shs_mc_addr_t *b)
{
    apr_sockaddr_t *sa, *sb, *x, *y;
    struct stat st_a, st_b;

    if ((a->host[0] == '/') != (b->host[0] == '/')) {
        return 0;
    }
    if (a->host[0] == '/') {
        if (stat(a->host, &st_a) == 0 && stat(b->host, &st_b) == 0) {
            return st_a.st_dev == st_b.st_dev && st_a.st_ino == st_b.st_ino;
        }
        return !strcmp(tidy_path(p, a->host), tidy_path(p, b->host));
    }
    if (a->port != b->port ||
        apr_sockaddr_info_get(&sa, a->host, APR_UNSPEC, a->port, 0, p) != APR_SUCCESS ||
        apr_sockaddr_info_get(&sb, b->host, APR_UNSPEC, b->port, 0, p) != APR_SUCCESS) {
        return 0;
    }
    for (x = sa; x; x = x->next) {
        for (y = sb; y; y = y->next) {
            if (apr_sockaddr_equal(x, y)) {
                return 1;
            }
        }
    }
    return 0;
}

const char *shs_parse_member(apr_pool_t *p, const char *arg, shs_member_t *out)
{
    const char *rest = arg, *colon;
    const char *err;
    char *host;

    memset(out, 0, sizeof(*out));
    out->scheme = "https";
    if (!strncasecmp(rest, "https://", 8)) {
        rest += 8;
    }
    else if (!strncasecmp(rest, "http://", 7)) {
        out->scheme = "http";
        rest += 7;
    }
    else if (strstr(rest, "://")) {
        return apr_psprintf(p, "'%s': only http:// and https:// are allowed", arg);
    }
    if (strchr(rest, '/')) {
        return apr_psprintf(p, "'%s': give a site as [scheme://]host[:port], without a path", arg);
    }
    colon = strchr(rest, ':');
    host = colon ? apr_pstrmemdup(p, rest, (apr_size_t)(colon - rest)) : apr_pstrdup(p, rest);
    for (char *c = host; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    if (!is_hostname(host)) {
        return apr_psprintf(p, "'%s': '%s' is not a valid host name", arg, host);
    }
    if (colon && (err = parse_port(colon + 1, &out->port))) {
        return apr_psprintf(p, "'%s': %s", arg, err);
    }
    out->host = host;
    out->origin = out->port ? apr_psprintf(p, "%s://%s:%u", out->scheme, host, out->port)
                            : apr_psprintf(p, "%s://%s", out->scheme, host);
    return NULL;
}

const char *shs_parse_cookie_attrs(apr_pool_t *p, const char *arg, const char **out)
{
    const char *c;

    for (c = arg; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u < 0x20 || u == 0x7f) {
            return apr_psprintf(p, "cookie attributes '%s' contain a control character", arg);
        }
    }
    *out = apr_pstrdup(p, arg);
    return NULL;
}

const char *shs_parse_seconds(const char *arg, apr_int64_t min, apr_int64_t max, apr_int64_t *out)
{
    char *end;
    apr_int64_t v;

    if (!*arg || !apr_isdigit(*arg)) {
        return "not a number of seconds";
    }
    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (errno || *end) {
        return "not a number of seconds";
    }
    if (v < min || v > max) {
        return "out of range";
    }
    *out = v;
    return NULL;
}

int shs_identity_key_match(const apr_array_header_t *patterns, const char *key)
{
    static const char *const defaults[] = { "user", "*-user" };
    apr_size_t klen = key ? strlen(key) : 0;
    int i, n = patterns ? patterns->nelts : 2;

    for (i = 0; key && i < n; i++) {
        const char *pat = patterns ? APR_ARRAY_IDX(patterns, i, const char *) : defaults[i];
        apr_size_t plen = strlen(pat);
        if (plen > 0 && pat[0] == '*') {
            /* "*-user": a suffix; the key must have something before it */
            if (klen > plen - 1 && !strcmp(key + klen - (plen - 1), pat + 1)) {
                return 1;
            }
        }
        else if (plen > 0 && pat[plen - 1] == '*') {
            if (klen > plen - 1 && !strncmp(key, pat, plen - 1)) {
                return 1;
            }
        }
        else if (!strcmp(key, pat)) {
            return 1;
        }
    }
    return 0;
}

const char *shs_parse_identity_key(const char *arg)
{
    apr_size_t len = strlen(arg), i;

    if (len == 0 || len > 128) {
        return "an identity key has 1 to 128 characters";
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)arg[i];
        if (c == '*' && (i == 0 || i == len - 1) && len > 1) {
            continue;
        }
        if (c <= 0x20 || c >= 0x7f || c == '*' || c == '=' || c == '&') {
            return "an identity key is printable ASCII without spaces, '=' or '&', with at most "
                   "one '*' at its start or end (e.g. user, *-user, login_*)";
        }
    }
    if (arg[0] == '*' && arg[len - 1] == '*') {
        return "an identity key pattern has its '*' at the start or at the end, not both";
    }
    return NULL;
}

const char *shs_member_name(apr_pool_t *p, const shs_member_t *m)
{
    return m->port ? apr_psprintf(p, "%s:%u", m->host, m->port) : m->host;
}

/* ------------------------------------------------------------------ groups
 * Every lookup of a group or of one of its sites is here: by host (ServerName, ServerAlias)
 * when the configuration is checked, by the name tokens and endpoint queries carry (host, or
 * host:port) when a request asks. */

const shs_group_t *shs_group_find_host(const shs_srv_conf_t *s, const char *host)
{
    int i;

    for (i = 0; s->groups && host && i < s->groups->nelts; i++) {
        const shs_group_t *g = &APR_ARRAY_IDX(s->groups, i, shs_group_t);
        if (shs_group_member(g, host)) {
            return g;
        }
    }
    return NULL;
}

const shs_member_t *shs_group_member(const shs_group_t *g, const char *host)
{
    int j;

    for (j = 0; g && host && j < g->members->nelts; j++) {
        const shs_member_t *m = &APR_ARRAY_IDX(g->members, j, shs_member_t);
        if (!strcasecmp(m->host, host)) {
            return m;
        }
    }
    return NULL;
}

/* The member of g that tokens call `name`, or NULL. */
static const shs_member_t *member_named(apr_pool_t *p, const shs_group_t *g, const char *name)
{
    int j;

    for (j = 0; g && name && j < g->members->nelts; j++) {
        const shs_member_t *m = &APR_ARRAY_IDX(g->members, j, shs_member_t);
        if (!strcasecmp(shs_member_name(p, m), name)) {
            return m;
        }
    }
    return NULL;
}

const shs_group_t *shs_group_of_site(apr_pool_t *p, const shs_srv_conf_t *s, const char *name)
{
    int i;

    for (i = 0; s->groups && name && i < s->groups->nelts; i++) {
        const shs_group_t *g = &APR_ARRAY_IDX(s->groups, i, shs_group_t);
        if (member_named(p, g, name)) {
            return g;
        }
    }
    return NULL;
}

int shs_srv_resolve_group(shs_srv_conf_t *s, const shs_srv_conf_t *main_conf, const char *name,
                          const apr_array_header_t *aliases)
{
    const shs_group_t *g = shs_group_find_host(main_conf, name);
    int i;

    s->group = NULL;
    s->self = NULL;
    for (i = 0; !g && aliases && i < aliases->nelts; i++) {
        name = APR_ARRAY_IDX(aliases, i, const char *);
        g = shs_group_find_host(main_conf, name);
    }
    if (g) {
        s->group = g;
        s->self = shs_group_member(g, name);
    }
    return g != NULL;
}

const shs_member_t *shs_srv_peer_named(apr_pool_t *p, const shs_srv_conf_t *s, const char *name)
{
    const shs_member_t *m = member_named(p, s->group, name);

    return m != s->self ? m : NULL;
}

const shs_member_t *shs_srv_pull_hub(const shs_srv_conf_t *s)
{
    return s->group && s->self && s->group->hub && s->group->hub != s->self ? s->group->hub : NULL;
}

int shs_srv_is_hub(const shs_srv_conf_t *s)
{
    return s->group && s->self && s->group->hub == s->self;
}
