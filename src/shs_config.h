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

/* Configuration records, their create/merge functions and the value parsers behind the
 * directives.  No httpd function is called here (the directive handlers live in shs_cmd.c),
 * so all of it is unit-tested. */

#ifndef SHS_CONFIG_H
#define SHS_CONFIG_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <apr_network_io.h>

#include "shs_keys.h"

#define SHS_DEFAULT_COOKIE_NAME "shs_session"
#define SHS_DEFAULT_COOKIE_ATTRS "Path=/; HttpOnly; SameSite=Lax"
#define SHS_DEFAULT_KEY_PREFIX "shs:"
#define SHS_DEFAULT_TIMEOUT apr_time_from_msec(250)
#define SHS_DEFAULT_RETRY apr_time_from_sec(1)
#define SHS_DEFAULT_TTL (24 * 3600)
#define SHS_MAX_SERVERS 32
#define SHS_DEFAULT_ENDPOINT "/_shs/"
#define SHS_DEFAULT_TOKEN_LIFETIME 30 /* seconds a cross-domain token is valid */
#define SHS_TOKEN_SKEW 5              /* seconds of clock difference tolerated */
#define SHS_DEFAULT_PUSH_RETRY 300    /* seconds before an unconfirmed peer is retried */
#define SHS_DEFAULT_PULL_RETRY 300    /* seconds before a browser is bounced again */

typedef enum {
    SHS_DOWN_UNSET = -1,
    SHS_DOWN_ANONYMOUS = 0, /* serve the request without a session */
    SHS_DOWN_REFUSE = 1     /* answer 503 Service Unavailable */
} shs_down_policy_e;

/* A memcached server: host and port, or a unix socket (host: its absolute path, port 0). */
typedef struct shs_mc_addr_t {
    const char *host;
    apr_port_t port;
} shs_mc_addr_t;
#define SHS_MC_SOCKET_MAX 107 /* sockaddr_un's sun_path holds 108 bytes with the NUL */

/* One site of a group, as written in SharedSessionGroup: [scheme://]host[:port]. */
typedef struct shs_member_t {
    const char *host;   /* lowercase DNS name, matched against ServerName/ServerAlias */
    apr_port_t port;    /* 0 when not given */
    const char *scheme; /* "https" unless written otherwise */
    const char *origin; /* scheme://host[:port], for the URLs we generate */
} shs_member_t;

typedef struct shs_group_t {
    const char *name;
    apr_array_header_t *members; /* shs_member_t */
    const char *where;           /* file:line of the directive, for messages */
    const shs_member_t *hub;     /* SharedSessionHub: where the pull goes; NULL: no pull */
} shs_group_t;

/* How a session id travels to the other sites of a group. */
typedef enum {
    SHS_PUSH_UNSET = -1,
    SHS_PUSH_NONE = 0,
    SHS_PUSH_IMAGE = 1, /* hidden <img> tags, answered by a 1x1 GIF */
    SHS_PUSH_SCRIPT = 2 /* <script async> tags, answered by an empty script */
} shs_push_e;

/* Server-level settings.  All directives setting them are global (outside <VirtualHost>), a
 * virtual host inherits the main server's record through the merge. */
/* Which store keeps the sessions (SharedSessionStore). */
typedef enum {
    SHS_STORE_UNSET = 0, /* memcached when SharedSessionMemcache is given, else shm */
    SHS_STORE_MEMCACHE,
    SHS_STORE_SHM
} shs_store_kind_e;

#define SHS_SHM_DEFAULT_BYTES (32 * 1024 * 1024)
#define SHS_SHM_MIN_BYTES (256 * 1024)
#define SHS_SHM_DEFAULT_FILE "sharedsession-store"

typedef struct shs_srv_conf_t {
    int store_kind;       /* shs_store_kind_e */
    const char *shm_path; /* SharedSessionStore shm:PATH; NULL: the default file */
    apr_size_t shm_bytes; /* SharedSessionStore shm(BYTES); 0: the default size */
    const char *store_where;
    apr_array_header_t *servers; /* shs_mc_addr_t; NULL until SharedSessionMemcache */
    const char *servers_where;
    apr_interval_time_t timeout; /* bound on every store operation */
    apr_interval_time_t retry;   /* how long a failed memcached is skipped */
    int conns;                   /* connections per memcached server and process; 0 = auto */
    int replicas;                /* copies of each session (SharedSessionMemcacheReplicas); 0 = 1 */
    const char *key_prefix;
    const char *keyfile;
    shs_keyring_t *keys;
    apr_array_header_t *groups;        /* shs_group_t */
    const char *endpoint;              /* path prefix of the endpoints, "/.../" */
    apr_int64_t token_lifetime;        /* seconds; -1 unset */
    apr_int64_t push_retry;            /* seconds; -1 unset */
    int replace;                       /* -1 unset; 1: a pushed session replaces a local one */
    apr_int64_t pull_retry;            /* seconds; -1 unset */
    apr_array_header_t *identity_keys; /* const char *: SharedSessionIdentityKeys; NULL unset */
    int store_encrypt;                 /* -1 unset; SharedSessionStoreEncrypt */
    /* resolved at check_config, per virtual host (not merged): shs_srv_resolve_group() */
    const shs_group_t *group; /* the group this virtual host belongs to, or NULL */
    const shs_member_t *self; /* its own entry in that group */
} shs_srv_conf_t;

typedef struct shs_dir_conf_t {
    int enabled;                     /* -1 unset, 0 off, 1 on */
    const char *enabled_where;       /* file:line of SharedSession On */
    const char *cookie_name;         /* NULL: unset */
    const char *cookie_attrs;        /* NULL: unset; "" when a name was given without attributes */
    int cookie_remove;               /* -1 unset */
    int down_policy;                 /* shs_down_policy_e */
    apr_int64_t ttl;                 /* seconds; -1 unset */
    int inject;                      /* -1 unset; SharedSessionInject */
    int push;                        /* shs_push_e */
    int pull;                        /* -1 unset (on where a hub exists), 0 off, 1 on */
    apr_array_header_t *app_cookies; /* SharedSessionAppCookie patterns; NULL unset, empty: None */
} shs_dir_conf_t;

void *shs_srv_conf_create(apr_pool_t *p);
void *shs_srv_conf_merge(apr_pool_t *p, void *basev, void *addv);
void *shs_dir_conf_create(apr_pool_t *p);
void *shs_dir_conf_merge(apr_pool_t *p, void *basev, void *addv);

/* Effective values with defaults applied. */
int shs_dir_enabled(const shs_dir_conf_t *d);
const char *shs_dir_cookie_name(const shs_dir_conf_t *d);
/* The cookie attributes: the configured ones, or the defaults plus "; Secure" when secure. */
const char *shs_dir_cookie_attrs(apr_pool_t *p, const shs_dir_conf_t *d, int secure);
int shs_dir_cookie_remove(const shs_dir_conf_t *d);
shs_down_policy_e shs_dir_down_policy(const shs_dir_conf_t *d);
apr_int64_t shs_dir_ttl(const shs_dir_conf_t *d);
apr_interval_time_t shs_srv_timeout(const shs_srv_conf_t *s);
apr_interval_time_t shs_srv_retry(const shs_srv_conf_t *s);
const char *shs_srv_key_prefix(const shs_srv_conf_t *s);
const char *shs_srv_endpoint(const shs_srv_conf_t *s);
apr_int64_t shs_srv_token_lifetime(const shs_srv_conf_t *s);
apr_int64_t shs_srv_push_retry(const shs_srv_conf_t *s);
int shs_srv_replace(const shs_srv_conf_t *s);
int shs_srv_store_encrypt(const shs_srv_conf_t *s);
int shs_dir_inject(const shs_dir_conf_t *d);
int shs_dir_pull(const shs_dir_conf_t *d);
apr_int64_t shs_srv_pull_retry(const shs_srv_conf_t *s);
shs_push_e shs_dir_push(const shs_dir_conf_t *d);
/* The store in effect: as configured, else memcached when servers are listed, else shm. */
shs_store_kind_e shs_srv_store_kind(const shs_srv_conf_t *s);
/* The application cookies shared in this scope (patterns), or NULL when none. */
const apr_array_header_t *shs_dir_app_cookies(const shs_dir_conf_t *d);
const char *shs_parse_endpoint(apr_pool_t *p, const char *arg, const char **out);

/* Parsers: NULL on success, else a message naming the bad value. */
/* "host:port", "[v6]:port", or an absolute path to a unix socket. */
const char *shs_parse_mc_addr(apr_pool_t *p, const char *arg, shs_mc_addr_t *out);
/* Whether two parsed servers are one reached by different spellings: a name and its
 * address, two names of one address, "/run//mc.sock" and "/run/mc.sock", or a socket and a
 * link to it.  A name that does not resolve (yet) is compared by its spelling only. */
int shs_mc_addr_same(apr_pool_t *p, const shs_mc_addr_t *a, const shs_mc_addr_t *b);

const char *shs_parse_member(apr_pool_t *p, const char *arg, shs_member_t *out);
const char *shs_parse_cookie_attrs(apr_pool_t *p, const char *arg, const char **out);
const char *shs_parse_seconds(const char *arg, apr_int64_t min, apr_int64_t max, apr_int64_t *out);
/* "memcache", "shm", "shm:/path", "shm(bytes)" or "shm:/path(bytes)" (bytes with an optional
 * K, M or G); the path as written (relative paths are the caller's business). */
const char *shs_parse_store(apr_pool_t *p, const char *arg, shs_store_kind_e *kind,
                            const char **path, apr_size_t *bytes);

/* Does session key `key` name the authenticated identity?  patterns: SharedSessionIdentityKeys
 * (exact names, "*suffix" or "prefix*"); NULL means the defaults "user" and "*-user"
 * (mod_auth_form's <AuthName>-user). */
int shs_identity_key_match(const apr_array_header_t *patterns, const char *key);

/* NULL when arg is a valid SharedSessionIdentityKeys pattern, else why not. */
const char *shs_parse_identity_key(const char *arg);

/* The name a site goes by in tokens: host, or host:port when a port was configured. */
const char *shs_member_name(apr_pool_t *p, const shs_member_t *m);

/* Groups: every lookup of a group or of a site of one.  A site is named by its host
 * (ServerName, ServerAlias) in the configuration, and by shs_member_name() in tokens and
 * endpoint queries. */

/* The group a host belongs to, or NULL (s: the record listing the groups). */
const shs_group_t *shs_group_find_host(const shs_srv_conf_t *s, const char *host);

/* A group's member entry for host, or NULL. */
const shs_member_t *shs_group_member(const shs_group_t *g, const char *host);

/* The group of the site a token or query names (host, or host:port), or NULL. */
const shs_group_t *shs_group_of_site(apr_pool_t *p, const shs_srv_conf_t *s, const char *name);

/* Place a virtual host (its record s) in its group: the group and entry of its ServerName
 * `name`, else of the first of its ServerAlias names (aliases: const char *, may be NULL) that
 * is a site of a group listed in main_conf.  Sets s->group and s->self (NULL when none);
 * returns 1 when the virtual host is a site of a group. */
int shs_srv_resolve_group(shs_srv_conf_t *s, const shs_srv_conf_t *main_conf, const char *name,
                          const apr_array_header_t *aliases);

/* Another site of this virtual host's group, named as tokens name it; NULL when the name is no
 * site of the group, or this site itself. */
const shs_member_t *shs_srv_peer_named(apr_pool_t *p, const shs_srv_conf_t *s, const char *name);

/* The hub this virtual host pulls sessions from: its group's hub, when it has one and this
 * site is another site of the group; else NULL. */
const shs_member_t *shs_srv_pull_hub(const shs_srv_conf_t *s);

/* Is this virtual host the hub of its group? */
int shs_srv_is_hub(const shs_srv_conf_t *s);

#endif /* SHS_CONFIG_H */
