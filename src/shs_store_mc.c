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

/* The memcached backend of the store, over apr_memcache.
 *
 * Decisions (see docs/architecture.md):
 * - One apr_memcache_t per server.  apr_memcache's own selection fails over silently to the
 *   next server when one is marked dead, and then different processes can read different
 *   copies of a session.  Here a key has fixed homes, the same in every process and on every
 *   front end: one server, or with replicas its first N servers in rendezvous order
 *   (mc_slots_of), whose copies the store compares by version (shs_store.c); when they are all
 *   down, its sessions are unavailable (the configured policy applies) but never forked.
 * - The home is chosen by rendezvous hashing over the servers' "host:port" (shs_place.c), not
 *   by hash % n: adding a fourth server to three moves a quarter of the sessions (those the
 *   new server wins) instead of three in four, removing one moves only the sessions it held,
 *   and the order the servers are listed in does not matter.
 * - apr_memcache marks a server dead after one I/O error and skips it for 5 s.  The store's
 *   circuit breaker decides about retries instead, so the server is re-enabled before every
 *   operation, and an error on a pooled connection (typically after a memcached restart: the
 *   peer closed it) is retried at once on another connection.
 * - APR_NOTFOUND from apr_memcache means "miss" or "no live server": the server status is
 *   checked to tell them apart. */

#include <string.h>

#include <apr_memcache.h>
#include <apr_strings.h>

#include "shs_store_mc.h"
#include "shs_id.h"
#include "shs_mcget.h"
#include "shs_place.h"

#define MC_CONN_TTL apr_time_from_sec(60) /* idle connections are closed after this */

typedef struct mc_server_t {
    apr_memcache_t *mc;
    apr_memcache_server_t *ms;
    shs_mcget_t *reader; /* gets, sets, adds on the requester's thread (shs_mcget.c) */
    const char *name;
} mc_server_t;

typedef struct mc_ctx_t {
    int n;
    int retries; /* extra attempts on a connection-level error */
    mc_server_t *servers;
    shs_place_t *place; /* server i of the placement is servers[i] */
} mc_ctx_t;

static unsigned int mc_nslots(void *ctx)
{
    return (unsigned int)((mc_ctx_t *)ctx)->n;
}

static unsigned int mc_slot_of(void *ctx, const char *key)
{
    mc_ctx_t *c = ctx;

    return shs_place_pick(c->place, key, strlen(key));
}

/* A key's servers in rendezvous order: its replicas are the first ones. */
static unsigned int mc_slots_of(void *ctx, const char *key, unsigned int *out, unsigned int want)
{
    mc_ctx_t *c = ctx;

    return shs_place_order(c->place, key, strlen(key), out, want);
}

static const char *mc_slot_name(void *ctx, unsigned int slot)
{
    mc_ctx_t *c = ctx;

    return slot < (unsigned int)c->n ? c->servers[slot].name : "?";
}

/* A failure of the connection itself, worth one more try on a fresh connection. */
static int is_conn_error(apr_status_t rv)
{
    return rv == APR_EOF || APR_STATUS_IS_ECONNRESET(rv) || APR_STATUS_IS_EPIPE(rv) ||
           APR_STATUS_IS_ECONNABORTED(rv);
}

/* apr_memcache hands a connection that read EOF (its memcached went away) back to its pool
 * as good when the failure shows as a protocol error (APR_EGENERAL), and the pool is LIFO:
 * the next operation would get the same dead connection.  Take the most recently released
 * connection out and destroy it.  Racing threads may make this a healthy one: it is simply
 * reconnected. */
static void mc_drop_released(mc_server_t *s)
{
#if APR_HAS_THREADS
    void *conn;

    if (apr_reslist_acquire(s->ms->conns, &conn) == APR_SUCCESS) {
        apr_reslist_invalidate(s->ms->conns, conn);
    }
#endif
}

/* After a failed attempt: worth another one on another connection?
 *
 * APR_EGENERAL is retried too.  It is nearly always a pooled connection that was idle when
 * its memcached went away (killed, restarted): it reads EOF, shown as an unknown reply.  Every
 * connection idle at that moment is in the same state, up to `conns` of them, and failing the
 * operation on each would cost the breaker one failed probe, a whole retry interval, per
 * stale connection: a restarted memcached stayed "down" in a process for 7 s and more.  Each
 * such attempt destroys one connection, so the retries go through the stale ones at once and
 * end on a fresh connection: an answer, or the connection refused while memcached is down.
 * A real protocol error (SERVER_ERROR) is retried too, at most `retries` times, each costing
 * a round trip and a reconnect; it opens the breaker afterwards like any failure, so that
 * happens at most once per retry interval. */
static int mc_retry(mc_server_t *s, apr_status_t rv)
{
    if (rv == APR_EGENERAL) {
        mc_drop_released(s);
        return 1;
    }
    return is_conn_error(rv);
}

static void mc_prepare(mc_server_t *s)
{
    if (s->ms->status != APR_MC_SERVER_LIVE) {
        apr_memcache_enable_server(s->mc, s->ms);
    }
}

/* APR_NOTFOUND while the server got marked dead means "no server", not "no key". */
static apr_status_t mc_result(mc_server_t *s, apr_status_t rv)
{
    if (rv == APR_NOTFOUND && s->ms->status != APR_MC_SERVER_LIVE) {
        return SHS_STORE_EDOWN;
    }
    return rv;
}

static apr_status_t mc_get(void *ctx, unsigned int slot, const char *key, apr_pool_t *p, char **val,
                           apr_size_t *len)
{
    mc_ctx_t *c = ctx;
    mc_server_t *s = &c->servers[slot];
    apr_status_t rv;
    int attempt = 0;

    do {
        mc_prepare(s);
        rv = mc_result(s, apr_memcache_getp(s->mc, p, key, val, len, NULL));
    } while (mc_retry(s, rv) && attempt++ < c->retries);
    return rv;
}

static apr_status_t mc_get_within(void *ctx, unsigned int slot, const char *key, apr_pool_t *p,
                                  char **val, apr_size_t *len, apr_time_t deadline)
{
    mc_ctx_t *c = ctx;

    return shs_mcget_get(c->servers[slot].reader, key, p, val, len, deadline);
}

static apr_status_t mc_store_within(void *ctx, unsigned int slot, int add, const char *key,
                                    const char *val, apr_size_t len, apr_int64_t ttl,
                                    apr_time_t deadline)
{
    mc_ctx_t *c = ctx;

    return shs_mcget_store(c->servers[slot].reader, add, key, val, len,
                           shs_ttl_to_memcache(ttl, apr_time_sec(apr_time_now())), deadline);
}

static apr_status_t mc_set_quiet_within(void *ctx, unsigned int slot, const char *key,
                                        const char *val, apr_size_t len, apr_int64_t ttl,
                                        apr_time_t deadline)
{
    mc_ctx_t *c = ctx;

    return shs_mcget_set_noreply(c->servers[slot].reader, key, val, len,
                                 shs_ttl_to_memcache(ttl, apr_time_sec(apr_time_now())), deadline);
}

static apr_status_t mc_add_get_within(void *ctx, unsigned int slot, const char *addkey,
                                      const char *aval, apr_size_t alen, apr_int64_t ttl,
                                      const char *getkey, apr_pool_t *p, char **val,
                                      apr_size_t *len, apr_time_t deadline, apr_status_t *added)
{
    mc_ctx_t *c = ctx;

    return shs_mcget_add_get(c->servers[slot].reader, addkey, aval, alen,
                             shs_ttl_to_memcache(ttl, apr_time_sec(apr_time_now())), getkey, p, val,
                             len, deadline, added);
}

static apr_status_t mc_store(mc_ctx_t *c, unsigned int slot, int add, const char *key,
                             const char *val, apr_size_t len, apr_int64_t ttl)
{
    mc_server_t *s = &c->servers[slot];
    /* memcached reads a number beyond 30 days as an absolute time */
    apr_uint32_t exptime = shs_ttl_to_memcache(ttl, apr_time_sec(apr_time_now()));
    apr_status_t rv;
    int attempt = 0;

    do {
        mc_prepare(s);
        /* apr_memcache takes char *, but does not write to the data */
        rv = add ? apr_memcache_add(s->mc, key, (char *)val, len, exptime, 0)
                 : apr_memcache_set(s->mc, key, (char *)val, len, exptime, 0);
        rv = mc_result(s, rv);
    } while (mc_retry(s, rv) && attempt++ < c->retries);
    return rv;
}

static apr_status_t mc_set(void *ctx, unsigned int slot, const char *key, const char *val,
                           apr_size_t len, apr_int64_t ttl)
{
    return mc_store(ctx, slot, 0, key, val, len, ttl);
}

static apr_status_t mc_add(void *ctx, unsigned int slot, const char *key, const char *val,
                           apr_size_t len, apr_int64_t ttl)
{
    return mc_store(ctx, slot, 1, key, val, len, ttl);
}

static apr_status_t mc_del(void *ctx, unsigned int slot, const char *key)
{
    mc_ctx_t *c = ctx;
    mc_server_t *s = &c->servers[slot];
    apr_status_t rv;
    int attempt = 0;

    do {
        mc_prepare(s);
        /* the hold time must be 0: memcached rejects any other value and deletes nothing */
        rv = mc_result(s, apr_memcache_delete(s->mc, key, 0));
    } while (mc_retry(s, rv) && attempt++ < c->retries);
    return rv;
}

static const shs_store_ops_t mc_ops = {
    .name = "memcache",
    .nslots = mc_nslots,
    .slot_of = mc_slot_of,
    .slots_of = mc_slots_of,
    .slot_name = mc_slot_name,
    .get = mc_get,
    .set = mc_set,
    .add = mc_add,
    .del = mc_del,
    .get_within = mc_get_within,
    .store_within = mc_store_within,
    .set_quiet_within = mc_set_quiet_within,
    .add_get_within = mc_add_get_within,
};

apr_status_t shs_store_mc_create(apr_pool_t *p, const shs_mc_server_spec_t *servers, int n,
                                 int conns, apr_interval_time_t conn_wait,
                                 const shs_store_ops_t **ops, void **ctx)
{
    mc_ctx_t *c;
    const char **ids;
    apr_status_t rv;
    int i;

    if (n < 1 || n > SHS_PLACE_MAX || conns < 1) {
        return APR_EINVAL;
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->n = n;
    c->retries = conns; /* every pooled connection may have gone stale at once */
    c->servers = apr_pcalloc(p, sizeof(mc_server_t) * (apr_size_t)n);
    ids = apr_palloc(p, sizeof(*ids) * (apr_size_t)n);
    for (i = 0; i < n; i++) {
        ids[i] = shs_place_identity(p, servers[i].host, servers[i].port);
    }
    rv = shs_place_create(p, ids, (unsigned int)n, &c->place);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < n; i++) {
        mc_server_t *s = &c->servers[i];
        s->name = ids[i];
        rv = apr_memcache_create(p, 1, 0, &s->mc);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        /* min 0: no connection is opened before the first operation */
        rv = apr_memcache_server_create(p, servers[i].host, servers[i].port, 0, (apr_uint32_t)conns,
                                        (apr_uint32_t)conns, (apr_uint32_t)MC_CONN_TTL, &s->ms);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        rv = apr_memcache_add_server(s->mc, s->ms);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        /* as many connections of its own as apr_memcache's pool: one per request thread */
        rv = shs_mcget_create(p, servers[i].host, servers[i].port, conns, &s->reader);
        if (rv != APR_SUCCESS) {
            return rv;
        }
#if APR_HAS_THREADS
        /* never wait forever for a free connection */
        apr_reslist_timeout_set(s->ms->conns, conn_wait);
#endif
    }
    *ops = &mc_ops;
    *ctx = c;
    return APR_SUCCESS;
}
