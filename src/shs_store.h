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

/* The session store: one small interface, a bounded executor in front of it, one backend.
 *
 * A backend (shs_store_ops_t) does blocking operations on a set of servers ("slots"); each key
 * lives on exactly one slot.  shs_store_t runs every operation on a worker thread and waits at
 * most the configured timeout for it, so a stalled server costs a request no more than that,
 * and keeps a circuit breaker per slot: after a failure the slot is skipped (fails at once
 * with SHS_STORE_EDOWN) until the retry interval has passed, then one probe is let through. */

#ifndef SHS_STORE_H
#define SHS_STORE_H

#include <apr_pools.h>
#include <apr_errno.h>
#include <apr_time.h>
#include <apr_network_io.h>

/* Status codes besides APR_SUCCESS:
 *   APR_NOTFOUND     get/del: the key is not there (the server answered)
 *   APR_EEXIST       add: the key already exists
 *   APR_TIMEUP       the operation did not finish within the timeout
 *   SHS_STORE_EDOWN  the slot is known to be down (breaker open, or no connection)
 *   SHS_STORE_EBUSY  the executor's queue is full
 *   anything else    an I/O or protocol error from the backend */
#define SHS_STORE_EDOWN (APR_OS_START_USERERR + 1)
#define SHS_STORE_EBUSY (APR_OS_START_USERERR + 2)

/* The status to hand to ap_log_*error: APR has no text for the store's own codes (the
 * message says what they mean through shs_store_strerror). */
#define SHS_LOG_RV(rv) (((rv) == SHS_STORE_EDOWN || (rv) == SHS_STORE_EBUSY) ? APR_SUCCESS : (rv))

/* True for statuses that mean "the store did not answer" (as opposed to an answer). */
#define SHS_STORE_FAILED(rv) ((rv) != APR_SUCCESS && (rv) != APR_NOTFOUND && (rv) != APR_EEXIST)

typedef struct shs_store_ops_t {
    const char *name;
    /* Number of slots (servers) and the slot that owns a key. */
    unsigned int (*nslots)(void *ctx);
    unsigned int (*slot_of)(void *ctx, const char *key);
    const char *(*slot_name)(void *ctx, unsigned int slot);
    /* Operations: blocking ones are called on a worker thread, those of a direct backend on
     * the requester's thread.  get allocates *val from p.  ttl: seconds from now the item
     * lives, 0 for no limit; each backend converts it to its own form. */
    apr_status_t (*get)(void *ctx, unsigned int slot, const char *key, apr_pool_t *p, char **val,
                        apr_size_t *len);
    apr_status_t (*set)(void *ctx, unsigned int slot, const char *key, const char *val,
                        apr_size_t len, apr_int64_t ttl);
    apr_status_t (*add)(void *ctx, unsigned int slot, const char *key, const char *val,
                        apr_size_t len, apr_int64_t ttl);
    apr_status_t (*del)(void *ctx, unsigned int slot, const char *key);
    /* The operations never block (shared memory): no worker thread, no timeout, no breaker
     * (they are called directly). */
    int direct;
} shs_store_ops_t;

typedef enum {
    SHS_BREAKER_CLOSED = 0, /* healthy */
    SHS_BREAKER_OPEN = 1,   /* failing: skipped until the retry time */
    SHS_BREAKER_PROBING = 2 /* one trial operation in flight */
} shs_breaker_state_e;

/* Called (from any thread, without locks held) when a slot's breaker opens or closes again,
 * so the caller can log once per transition instead of once per request. */
typedef void shs_store_notify_fn(void *baton, unsigned int slot, const char *slot_name,
                                 shs_breaker_state_e from, shs_breaker_state_e to,
                                 apr_status_t cause);

/* Called on the requester's thread after every operation with its final status (for counters;
 * must be cheap and thread-safe). */
typedef void shs_store_account_fn(void *baton, apr_status_t rv);

typedef struct shs_store_opts_t {
    apr_interval_time_t timeout; /* per operation, > 0 */
    apr_interval_time_t retry;   /* breaker open time, >= 0 */
    int workers;                 /* worker threads, >= 1 */
    int max_queue;               /* queued jobs beyond which SHS_STORE_EBUSY is returned */
    shs_store_notify_fn *notify; /* may be NULL */
    void *notify_baton;
    shs_store_account_fn *account; /* may be NULL */
    void *account_baton;
    /* Free the store when p goes (tests).  httpd destroys a child's pool at exit, for an
     * ungraceful stop from a signal handler while other threads may still be inside the store:
     * there it only stops the workers and leaves the memory to the exiting process. */
    int free_on_shutdown;
} shs_store_opts_t;

typedef struct shs_store_t shs_store_t;

/* Counters, for tests and the status page. */
typedef struct shs_store_stats_t {
    apr_uint64_t ops;
    apr_uint64_t timeouts;
    apr_uint64_t failures; /* backend errors */
    apr_uint64_t skipped;  /* refused at once because a breaker was open */
} shs_store_stats_t;

/* Start the executor (threads are created here: call it in the child process).  The store is
 * shut down by a cleanup on p: idle workers exit; a worker stuck in a stalled backend call is
 * left to end with the process. */
apr_status_t shs_store_create(apr_pool_t *p, const shs_store_ops_t *ops, void *ctx,
                              const shs_store_opts_t *opts, shs_store_t **pst);

apr_status_t shs_store_get(shs_store_t *st, const char *key, apr_pool_t *p, char **val,
                           apr_size_t *len);
apr_status_t shs_store_set(shs_store_t *st, const char *key, const char *val, apr_size_t len,
                           apr_int64_t ttl);
apr_status_t shs_store_add(shs_store_t *st, const char *key, const char *val, apr_size_t len,
                           apr_int64_t ttl);
apr_status_t shs_store_del(shs_store_t *st, const char *key);

/* The slot name of a key (for log messages). */
const char *shs_store_slot_name(shs_store_t *st, const char *key);
shs_breaker_state_e shs_store_breaker(shs_store_t *st, unsigned int slot);
unsigned int shs_store_nslots(shs_store_t *st);
void shs_store_get_stats(shs_store_t *st, shs_store_stats_t *out);

/* A short English explanation of a store status, for logs. */
const char *shs_store_strerror(apr_status_t rv, char *buf, apr_size_t len);

#endif /* SHS_STORE_H */
