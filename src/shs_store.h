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
 * has its slots in a fixed order of preference.  shs_store_t runs every operation on a worker
 * thread and waits at most the configured timeout for it, so a stalled server costs a request
 * no more than that, and keeps a circuit breaker per slot: after a failure the slot is skipped
 * (fails at once with SHS_STORE_EDOWN) until the retry interval has passed, then one probe is
 * let through.
 *
 * Replicas (opts.replicas = N >= 2): every item is kept on the first N slots of its key, each
 * copy with a small header (a version and the item's expiry, see "Items" below).
 * - get asks the N slots at once and waits for all of them (bounded by the timeout): the copy
 *   with the highest version wins, a tombstone (a deleted item) wins over every value, and the
 *   slots that answered "miss" or an older copy are repaired (add for a missing copy, set for
 *   an older one) before the call returns, as far as the timeout allows.  NOTFOUND when no
 *   slot has a value and at least one answered; when none answered, the first slot's failure.
 * - set writes the N copies at once: success when at least one slot stored it.
 * - add decides on the first slot in order that answers (stored, or exists): the slots before
 *   it were down or failed.  Once stored there, it is added on the slots after it too, and an
 *   "exists" there with another item than this one makes the result APR_EEXIST (somebody
 *   else's add decided on a slot this one could not reach).  An add refused with "exists"
 *   repairs the copies as a get does, so a slot that lost the key (restarted empty) gets it
 *   back before the slot that decided can be lost too.  So of two adds of one key, at most
 *   one succeeds while the two can reach a common slot; only when they reach disjoint sets
 *   of slots (a network partition), or when every slot holding the key lost it before any
 *   refused add or get repaired one, can both succeed.
 * - del reads the N copies, then writes a tombstone on each slot (see shs_store_del).
 * With replicas 1 (the default) nothing of this happens: one slot, values stored as given. */

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
    /* The first `want` slots of a key, distinct, in order of preference (out[0] is slot_of's
     * answer); returns how many were written, at most nslots.  May be NULL: no replicas. */
    unsigned int (*slots_of)(void *ctx, const char *key, unsigned int *out, unsigned int want);
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
    /* May be NULL.  A get the requester's thread runs itself, bounded by deadline (apr_time_t):
     * no hand-off to a worker.  APR_EAGAIN: it cannot now (no connection to spare; nothing was
     * sent), the worker path is taken instead.  Used for one copy (replicas 1); deletes and
     * replicas always go through the workers. */
    apr_status_t (*get_within)(void *ctx, unsigned int slot, const char *key, apr_pool_t *p,
                               char **val, apr_size_t *len, apr_time_t deadline);
    /* May be NULL.  set (add 0) or add (add 1) the same way. */
    apr_status_t (*store_within)(void *ctx, unsigned int slot, int add, const char *key,
                                 const char *val, apr_size_t len, apr_int64_t ttl,
                                 apr_time_t deadline);
    /* May be NULL.  add addkey, then get getkey on the same slot, in one round trip: *added is
     * the add's status; the return value the get's, or the failure of both (as get_within). */
    /* May be NULL.  A set sent without waiting for its answer (memcached's noreply): APR_SUCCESS
     * once sent; a failure to send as store_within. */
    apr_status_t (*set_quiet_within)(void *ctx, unsigned int slot, const char *key, const char *val,
                                     apr_size_t len, apr_int64_t ttl, apr_time_t deadline);
    apr_status_t (*add_get_within)(void *ctx, unsigned int slot, const char *addkey,
                                   const char *aval, apr_size_t alen, apr_int64_t ttl,
                                   const char *getkey, apr_pool_t *p, char **val, apr_size_t *len,
                                   apr_time_t deadline, apr_status_t *added);
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

/* What replicas did (with opts.replicas >= 2), for counters: called on the requester's thread,
 * must be cheap and thread-safe.  slot: the server concerned. */
typedef enum {
    SHS_STORE_EV_FALLBACK = 0, /* a get answered by a copy other than the first slot's */
    SHS_STORE_EV_REPAIR = 1,   /* a missing or older copy was written again on slot */
    SHS_STORE_EV_STALE = 2,    /* a get found slot missing its copy or holding an older one */
    SHS_STORE_EV_TOMBSTONE = 3 /* a del left a tombstone on slot */
} shs_store_event_e;

typedef void shs_store_event_fn(void *baton, shs_store_event_e ev, unsigned int slot);

#define SHS_STORE_MAX_REPLICAS 3

typedef struct shs_store_opts_t {
    apr_interval_time_t timeout; /* per operation, > 0 */
    apr_interval_time_t retry;   /* breaker open time, >= 0 */
    int workers;                 /* worker threads per copy (replicas), >= 1: the pool has
                                  * workers x replicas, and with replicas no slot takes more
                                  * than `workers` of them */
    int max_queue;               /* queued jobs beyond which SHS_STORE_EBUSY is returned */
    shs_store_notify_fn *notify; /* may be NULL */
    void *notify_baton;
    shs_store_account_fn *account; /* may be NULL */
    void *account_baton;
    /* Free the store when p goes (tests).  httpd destroys a child's pool at exit, for an
     * ungraceful stop from a signal handler while other threads may still be inside the store:
     * there it only stops the workers and leaves the memory to the exiting process. */
    int free_on_shutdown;
    /* Copies of every item, on distinct slots: 0 or 1 = one copy, stored as given (no header);
     * 2..SHS_STORE_MAX_REPLICAS.  More than the slots, or than SHS_STORE_MAX_REPLICAS, is
     * reduced to that; a direct backend or one without slots_of keeps one copy. */
    int replicas;
    shs_store_event_fn *event; /* may be NULL */
    void *event_baton;
} shs_store_opts_t;

typedef struct shs_store_t shs_store_t;

/* Counters, for tests and the status page. */
typedef struct shs_store_stats_t {
    apr_uint64_t ops;
    apr_uint64_t timeouts;
    apr_uint64_t failures; /* backend errors */
    apr_uint64_t skipped;  /* refused at once because a breaker was open */
    /* replicas (see shs_store_event_e) */
    apr_uint64_t fallbacks;
    apr_uint64_t stale;
    apr_uint64_t repairs; /* repair writes stored before the requester's deadline */
    apr_uint64_t tombstones;
    apr_uint64_t queued; /* jobs waiting for a worker now (a gauge, not a counter) */
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
/* shs_store_set without waiting for the answer where the backend can (set_quiet_within:
 * memcached, one copy): APR_SUCCESS then says the command was sent, not that it was stored.
 * For writes whose loss costs nothing but a later repeat. */
apr_status_t shs_store_set_quiet(shs_store_t *st, const char *key, const char *val, apr_size_t len,
                                 apr_int64_t ttl);

/* shs_store_add of addkey, returned; and when both keys live on the same server of a backend
 * with add_get_within (memcached, one copy), a get of getkey in the same round trip (memcached
 * runs it whatever the add's answer): its status in *got when the add stored.  Otherwise, and
 * when the add did not store, *got is APR_EINIT: nothing was read (the caller reads getkey
 * itself, when and if it needs it). */
apr_status_t shs_store_add_get(shs_store_t *st, const char *addkey, const char *aval,
                               apr_size_t alen, apr_int64_t ttl, const char *getkey, apr_pool_t *p,
                               char **val, apr_size_t *len, apr_status_t *got);

apr_status_t shs_store_add(shs_store_t *st, const char *key, const char *val, apr_size_t len,
                           apr_int64_t ttl);
/* Delete.  With replicas: the copies are read first, then every slot gets a tombstone, an
 * item that says "deleted" and wins over any value, so that a copy on a slot that was down or
 * cut off during the delete never brings the item back (a later get finds the tombstone and
 * writes it over that copy).  The tombstone lives as long as the longest of: the remaining
 * lifetime of the copies read, the longest lifetime this store has given an item (ttl 0, no
 * limit, included), and SHS_STORE_TOMBSTONE_TTL when this store has written nothing yet.
 * APR_NOTFOUND, and nothing written, when every slot answered and none held a value. */
apr_status_t shs_store_del(shs_store_t *st, const char *key);

/* The slot name of a key (its first slot; for log messages). */
const char *shs_store_slot_name(shs_store_t *st, const char *key);
/* Copies kept of every item (1 without replicas). */
int shs_store_replicas(shs_store_t *st);
shs_breaker_state_e shs_store_breaker(shs_store_t *st, unsigned int slot);
unsigned int shs_store_nslots(shs_store_t *st);
void shs_store_get_stats(shs_store_t *st, shs_store_stats_t *out);

/* A short English explanation of a store status, for logs. */
const char *shs_store_strerror(apr_status_t rv, char *buf, apr_size_t len);

/* ------------------------------------------------------------------ items (replicas >= 2)
 *
 * Every copy is stored as a 38-byte header, then the value as given:
 *
 *     shsr1:<kind>:<version>:<expires>:<value>
 *
 * kind "v" (a value) or "d" (a tombstone, whose value is empty); version 16 lowercase hex
 * digits; expires 12 lowercase hex digits, the unix second the item expires, 0 for no limit.
 * The version is the writer's clock in microseconds shifted left by 12 bits, with a random
 * 12-bit number of the process in the low bits, and kept increasing within a process (see
 * shs_store_version_next).  Anything else is an item written without replicas: version 0,
 * expiry unknown, the whole of it the value.  A get with replicas 1 removes such a header
 * too (a tombstone reads as not found), so going back from replicas to one copy keeps the
 * sessions. */

#define SHS_STORE_ITEM_HDR 38
#define SHS_STORE_TOMBSTONE_TTL 86400 /* seconds: see shs_store_del */

typedef struct shs_store_item_t {
    int versioned; /* 0: no header (version 0) */
    int deleted;   /* a tombstone */
    apr_uint64_t version;
    apr_int64_t expires; /* unix seconds; 0: no limit (versioned) or unknown */
    const char *data;    /* the value, inside the raw item */
    apr_size_t len;
} shs_store_item_t;

/* Write the header of an item (SHS_STORE_ITEM_HDR bytes, no NUL) to out. */
void shs_store_item_header(char *out, int deleted, apr_uint64_t version, apr_int64_t expires);

/* Read a raw item as stored. */
void shs_store_item_parse(const char *raw, apr_size_t len, shs_store_item_t *it);

/* Does a win over b?  A tombstone wins over any value; otherwise the higher version; equal
 * versions (the same write) do not win. */
int shs_store_item_newer(const shs_store_item_t *a, const shs_store_item_t *b);

/* A new version: this process's clock (microseconds) << 12 | its random 12 bits, and more
 * than any version it returned before. */
apr_uint64_t shs_store_version_next(void);

/* ---- tests only ---------------------------------------------------------------------- */

/* The clock the circuit breakers read (when a slot may be probed again); NULL restores
 * apr_time_now.  For this process, set before any store is used.  Operation timeouts keep
 * the real clocks.  Never used by the module. */
void shs_store_test_clock(apr_time_t (*now)(void));

#endif /* SHS_STORE_H */
