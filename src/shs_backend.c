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

/* The store of this process: which backend the configuration names, its start-up in the
 * child, and what its breakers report (the error log, the status page). */

#include <apr_atomic.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_mpm.h>
#include <http_core.h>

#include "shs_private.h"
#include "shs_backend.h"
#include "shs_status.h"
#include "shs_store_mc.h"
#include "shs_store_shm.h"
#include "shs_cmd.h"

#define SHS_REMIND_INTERVAL apr_time_from_sec(60)

static shs_store_t *store;
static shs_shm_t *shm; /* the embedded store, mapped by the parent; children inherit it */
static apr_uint32_t evictions_logged_at;
static apr_uint64_t evictions_seen;

static const char *shm_status(apr_pool_t *p, int prometheus);
static apr_uint32_t remind_at[SHS_MAX_SERVERS]; /* unix seconds of the next reminder */

shs_store_t *shs_backend_store(void)
{
    return store;
}

static const char *breaker_word(shs_breaker_state_e s)
{
    return s == SHS_BREAKER_CLOSED ? "up" : (s == SHS_BREAKER_OPEN ? "down" : "probing");
}

static void on_breaker(void *baton, unsigned int slot, const char *name, shs_breaker_state_e from,
                       shs_breaker_state_e to, apr_status_t cause)
{
    server_rec *s = baton;
    char buf[120];
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());

    shs_stats_server(shs_status_block(), slot, to != SHS_BREAKER_CLOSED);
    if (to == SHS_BREAKER_CLOSED) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "SHS00301: memcached %s answers again; "
                     "sessions stored there are available",
                     name);
        return;
    }
    if (from == SHS_BREAKER_CLOSED) {
        ap_log_error(APLOG_MARK, APLOG_ERR, SHS_LOG_RV(cause), s,
                     "SHS00302: memcached %s failed (%s): "
                     "sessions stored there are unavailable; retrying every %" APR_TIME_T_FMT " ms",
                     name, shs_store_strerror(cause, buf, sizeof(buf)),
                     apr_time_as_msec(shs_srv_retry(SHS_SRV_CONF(s))));
        if (slot < SHS_MAX_SERVERS) {
            apr_atomic_set32(&remind_at[slot],
                             now + (apr_uint32_t)apr_time_sec(SHS_REMIND_INTERVAL));
        }
        return;
    }
    /* a failed probe: remind at most once a minute */
    if (slot < SHS_MAX_SERVERS) {
        apr_uint32_t at = apr_atomic_read32(&remind_at[slot]);
        if (now >= at &&
            apr_atomic_cas32(&remind_at[slot],
                             now + (apr_uint32_t)apr_time_sec(SHS_REMIND_INTERVAL), at) == at) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, SHS_LOG_RV(cause), s,
                         "SHS00303: memcached %s is still "
                         "%s (%s)",
                         name, breaker_word(to), shs_store_strerror(cause, buf, sizeof(buf)));
        }
    }
}

/* The store's replica events and the status page's are the same list. */
_Static_assert((int)SHS_STORE_EV_FALLBACK == (int)SHS_RE_FALLBACK &&
                   (int)SHS_STORE_EV_REPAIR == (int)SHS_RE_REPAIR &&
                   (int)SHS_STORE_EV_STALE == (int)SHS_RE_STALE &&
                   (int)SHS_STORE_EV_TOMBSTONE == (int)SHS_RE_TOMBSTONE,
               "replica events differ");

static void on_replica_event(void *baton, shs_store_event_e ev, unsigned int slot)
{
    (void)baton;
    shs_stats_replica(shs_status_block(), slot, (shs_replica_event_e)ev);
}

static void account(void *baton, apr_status_t rv)
{
    shs_stats_t *st = shs_status_block();

    shs_stats_add(st, SHS_C_STORE_OPS, 1);
    if (rv == APR_TIMEUP) {
        shs_stats_add(st, SHS_C_STORE_TIMEOUTS, 1);
    }
    else if (rv == SHS_STORE_EDOWN) {
        shs_stats_add(st, SHS_C_STORE_SKIPPED, 1);
    }
    else if (SHS_STORE_FAILED(rv)) {
        shs_stats_add(st, SHS_C_STORE_ERRORS, 1);
    }
}

/* A pool that is never destroyed, whose allocator is thread-safe like pchild's:
 * apr_reslist creates connections (sub-pools) outside its lock, from several threads. */
static apr_pool_t *store_pool(apr_pool_t *pchild)
{
    apr_allocator_t *alloc;
    apr_thread_mutex_t *mutex;
    apr_pool_t *p;

    if (apr_allocator_create(&alloc) != APR_SUCCESS) {
        return pchild;
    }
    if (apr_pool_create_unmanaged_ex(&p, NULL, alloc) != APR_SUCCESS) {
        apr_allocator_destroy(alloc);
        return pchild;
    }
    apr_allocator_owner_set(alloc, p);
    if (apr_thread_mutex_create(&mutex, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS) {
        return pchild; /* p is left unused: without a mutex it is not safe */
    }
    apr_allocator_mutex_set(alloc, mutex);
    return p;
}

int shs_backend_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    shs_srv_conf_t *sc = SHS_SRV_CONF(s);
    apr_size_t bytes = sc->shm_bytes ? sc->shm_bytes : SHS_SHM_DEFAULT_BYTES;
    const char *path;
    shs_shm_info_t info;
    apr_status_t rv;

    shm = NULL;
    /* at start-up the configuration is read twice; the store is made on the second pass */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG ||
        shs_srv_store_kind(sc) != SHS_STORE_SHM || !shs_cmd_in_use(sc)) {
        return OK;
    }
    shs_status_set_extra(shm_status);
    path = sc->shm_path ? sc->shm_path : ap_runtime_dir_relative(pconf, SHS_SHM_DEFAULT_FILE);
    rv = shs_store_shm_create(pconf, path, bytes, &info, &shm);
    if (rv != APR_SUCCESS) {
        shm = NULL;
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "SHS00306: cannot open the session store %s (SharedSessionStore): "
                     "shared sessions are unavailable",
                     path);
        return !OK;
    }
    switch (info.how) {
    case SHS_SHM_NEW:
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "SHS00307: session store %s created: %" APR_UINT64_T_FMT
                     " bytes for sessions, values up to %" APR_SIZE_T_FMT " bytes",
                     path, info.capacity, info.max_value);
        break;
    case SHS_SHM_REUSED:
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "SHS00308: session store %s kept across the restart: %u entries, %u "
                     "damaged or expired ones dropped",
                     path, (unsigned)info.kept, (unsigned)info.dropped);
        break;
    case SHS_SHM_REINIT:
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "SHS00309: session store %s started empty: %s", path, info.why);
        break;
    default:
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     "SHS00310: session store %s kept as it is (graceful restart)", path);
        break;
    }
    return OK;
}

/* The embedded store's lines of the status page. */
static const char *shm_status(apr_pool_t *p, int prometheus)
{
    shs_shm_stats_t st;

    if (!shm) {
        return NULL;
    }
    shs_store_shm_stats(shm, &st);
    if (prometheus) {
        return apr_psprintf(p,
                            "# TYPE sharedsession_store_bytes gauge\n"
                            "sharedsession_store_bytes{kind=\"capacity\"} %" APR_UINT64_T_FMT "\n"
                            "sharedsession_store_bytes{kind=\"used\"} %" APR_UINT64_T_FMT "\n"
                            "# TYPE sharedsession_store_entries gauge\n"
                            "sharedsession_store_entries %u\n"
                            "# TYPE sharedsession_store_evictions_total counter\n"
                            "sharedsession_store_evictions_total %" APR_UINT64_T_FMT "\n"
                            "# TYPE sharedsession_store_damaged_total counter\n"
                            "sharedsession_store_damaged_total %" APR_UINT64_T_FMT "\n",
                            st.capacity, st.used, (unsigned)st.entries, st.evictions, st.corrupt);
    }
    return apr_psprintf(p,
                        "store: shm, %" APR_UINT64_T_FMT " of %" APR_UINT64_T_FMT
                        " bytes used, %u entries\n"
                        "store_evictions: %" APR_UINT64_T_FMT "\n"
                        "store_expired_reclaimed: %" APR_UINT64_T_FMT "\n"
                        "store_damaged_entries: %" APR_UINT64_T_FMT "\n"
                        "store_recoveries: %" APR_UINT64_T_FMT "\n"
                        "store_values_too_large: %" APR_UINT64_T_FMT "\n",
                        st.used, st.capacity, (unsigned)st.entries, st.evictions, st.expired,
                        st.corrupt, st.recoveries, st.too_large);
}

/* The embedded store evicts the oldest sessions when full: say so, at most once a minute. */
static void account_shm(void *baton, apr_status_t rv)
{
    server_rec *s = baton;
    shs_shm_stats_t st;
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t last = apr_atomic_read32(&evictions_logged_at);

    account(NULL, rv);
    shs_store_shm_stats(shm, &st); /* reads a few counters, without the lock */
    if (st.evictions <= evictions_seen || (last && now - last < 60) ||
        apr_atomic_cas32(&evictions_logged_at, now, last) != last) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 "SHS00311: the session store is full: %" APR_UINT64_T_FMT
                 " oldest sessions removed to make room since the last report (%" APR_UINT64_T_FMT
                 " in all); give SharedSessionStore shm more bytes",
                 st.evictions - evictions_seen, st.evictions);
    evictions_seen = st.evictions;
}

/* The executor's options for this server's store. */
static shs_store_opts_t store_opts(server_rec *s, int workers, shs_store_account_fn *acc)
{
    const shs_srv_conf_t *sc = SHS_SRV_CONF(s);

    return (shs_store_opts_t){
        .timeout = shs_srv_timeout(sc),
        .retry = shs_srv_retry(sc),
        .workers = workers,
        .max_queue = 0,
        .notify = on_breaker,
        .notify_baton = s,
        .account = acc,
        .account_baton = s,
    };
}

static void child_init_shm(apr_pool_t *pchild, server_rec *s)
{
    const shs_store_ops_t *ops;
    void *ctx;
    /* one worker, never started: the operations run on the request's thread */
    shs_store_opts_t opts = store_opts(s, 1, account_shm);
    apr_status_t rv;
    shs_shm_stats_t st;

    shs_store_shm_ops(shm, &ops, &ctx);
    shs_store_shm_stats(shm, &st);
    evictions_seen = st.evictions;
    rv = shs_store_create(pchild, ops, ctx, &opts, &store);
    if (rv != APR_SUCCESS) {
        store = NULL;
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "SHS00312: cannot start the session store; shared sessions are "
                     "unavailable in this process");
    }
}

void shs_backend_child_init(apr_pool_t *pchild, server_rec *s)
{
    shs_srv_conf_t *sc = SHS_SRV_CONF(s);
    shs_mc_server_spec_t *specs;
    const shs_store_ops_t *ops;
    void *ctx;
    shs_store_opts_t opts;
    apr_pool_t *storepool;
    apr_status_t rv;
    int i, threads = 1;

    store = NULL;
    if (shm) {
        child_init_shm(pchild, s);
        return;
    }
    if (shs_srv_store_kind(sc) != SHS_STORE_MEMCACHE || !sc->servers || !sc->servers->nelts) {
        return;
    }
    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1) {
        threads = 1;
    }
    specs = apr_pcalloc(pchild, sizeof(*specs) * (apr_size_t)sc->servers->nelts);
    for (i = 0; i < sc->servers->nelts; i++) {
        const shs_mc_addr_t *a = &APR_ARRAY_IDX(sc->servers, i, shs_mc_addr_t);
        specs[i].host = a->host;
        specs[i].port = a->port;
    }
    opts = store_opts(s, sc->conns ? sc->conns : threads, account);
    opts.replicas = sc->replicas;
    opts.event = on_replica_event;
    /* The client lives in a pool of its own that is never destroyed: at an ungraceful stop
     * httpd destroys pchild from a signal handler while threads may still be in the store.
     * pchild's (pre-)cleanup still stops the workers (free_on_shutdown is 0). */
    storepool = store_pool(pchild);
    rv = shs_store_mc_create(storepool, specs, sc->servers->nelts, opts.workers, opts.timeout, &ops,
                             &ctx);
    if (rv == APR_SUCCESS) {
        rv = shs_store_create(pchild, ops, ctx, &opts, &store);
    }
    if (rv != APR_SUCCESS) {
        store = NULL;
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "SHS00304: cannot create the memcached "
                     "client; shared sessions are unavailable in this process");
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                 "SHS00305: memcached client ready: %d "
                 "server(s), %d worker(s), timeout %" APR_TIME_T_FMT " ms, %d cop(ies)",
                 sc->servers->nelts, opts.workers, apr_time_as_msec(opts.timeout),
                 shs_store_replicas(store));
}
