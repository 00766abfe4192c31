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

/* The bounded executor, the per-slot circuit breakers and replicas (see shs_store.h).
 *
 * apr_memcache sockets block without any I/O timeout once connected, and a thread blocked in
 * read() cannot be interrupted (APR retries on EINTR).  So operations run on a small pool of
 * worker threads and the request thread waits on a condition variable with a deadline.  A job
 * whose requester gave up is "abandoned": if it had not started it is simply dropped, if it
 * is running the worker frees it when the backend call returns.  Jobs own copies of their
 * keys and values (malloc), never memory of a request pool.
 *
 * Replicas: an operation queues one job per copy at once (shs_jobs_run) and waits for all of them
 * with a single deadline, so a stalled copy costs the timeout once, like a stalled single
 * server, and a copy whose breaker is open costs nothing.  Repairs are jobs too, marked
 * best_effort: they never probe an open breaker, and a repair still queued at the read's
 * deadline is dropped without counting as a timeout of its server (the next read repairs).
 * The replica operations themselves are in shs_store_rep.c. */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include "shs_store.h"
#include "shs_store_int.h"

typedef struct shs_job_t job_t;

static void job_free(job_t *job)
{
    if (job) {
        pthread_cond_destroy(&job->done);
        free(job->key);
        free(job->val);
        free(job);
    }
}

/* The breaker's clock (retry times); NULL: apr_time_now.  Set by tests only, before a store
 * is used.  Operation deadlines always use the real clocks: they bound real waits. */
static struct timespec deadline_after(apr_interval_time_t t)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(t / APR_USEC_PER_SEC);
    ts.tv_nsec += (long)(t % APR_USEC_PER_SEC) * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static apr_status_t execute(shs_store_t *st, job_t *job, apr_pool_t *wp)
{
    apr_status_t rv;
    char *val = NULL;
    apr_size_t len = 0;

    switch (job->kind) {
    case SHS_JOB_GET:
        rv = st->ops->get(st->ctx, job->slot, job->key, wp, &val, &len);
        if (rv == APR_SUCCESS) {
            job->val = malloc(len + 1);
            if (!job->val) {
                return APR_ENOMEM;
            }
            memcpy(job->val, val ? val : "", len);
            job->val[len] = '\0';
            job->len = len;
        }
        return rv;
    case SHS_JOB_SET:
        return st->ops->set(st->ctx, job->slot, job->key, job->val, job->len, job->ttl);
    case SHS_JOB_ADD:
        return st->ops->add(st->ctx, job->slot, job->key, job->val, job->len, job->ttl);
    case SHS_JOB_DEL:
        return st->ops->del(st->ctx, job->slot, job->key);
    }
    return APR_EINVAL;
}

/* With the lock held. */
static int alive_workers(shs_store_t *st)
{
    int i, alive = 0;

    for (i = 0; i < st->nworkers; i++) {
        alive += st->workers[i].started && !st->workers[i].exited;
    }
    return alive;
}

static void store_free(shs_store_t *st)
{
    pthread_cond_destroy(&st->work);
    pthread_cond_destroy(&st->quiet);
    pthread_condattr_destroy(&st->condattr);
    pthread_mutex_destroy(&st->lock);
    free(st->workers);
    free(st->breakers);
    free(st->slot_running);
    free(st);
}

/* With the lock held: take the first queued job whose slot has fewer than slot_cap jobs
 * running.  A call to a stalled server does not return before the server does (apr_memcache
 * has no I/O timeout), so without the cap the jobs of one stalled server would take every
 * worker in turn, and the jobs of the healthy servers would wait behind them until their own
 * requesters gave up: one stalled server would take the others down with it. */
static job_t *take_job_locked(shs_store_t *st)
{
    job_t **pp = &st->head, *prev = NULL, *job;

    while ((job = *pp) && st->slot_running[job->slot] >= st->slot_cap) {
        prev = job;
        pp = &job->next;
    }
    if (!job) {
        return NULL;
    }
    *pp = job->next;
    if (st->tail == job) {
        st->tail = prev;
    }
    st->queued--;
    job->next = NULL;
    return job;
}

static void *worker_main(void *arg)
{
    shs_worker_t *self = arg;
    shs_store_t *st = self->st;
    apr_pool_t *wp = NULL;
    apr_allocator_t *alloc = NULL;
    int last;

#ifdef __linux__
    pthread_setname_np(pthread_self(), "shs-store"); /* what top -H and /proc show */
#endif
    if (apr_allocator_create(&alloc) == APR_SUCCESS) {
        apr_pool_create_unmanaged_ex(&wp, NULL, alloc);
        apr_allocator_owner_set(alloc, wp);
    }

    pthread_mutex_lock(&st->lock);
    for (;;) {
        job_t *job;
        apr_status_t rv;
        shs_transition_t tr = { 0 };

        while (!st->shutdown && !(job = take_job_locked(st))) {
            pthread_cond_wait(&st->work, &st->lock);
        }
        if (st->shutdown) {
            break;
        }
        job->state = SHS_JOB_RUNNING;
        st->running++;
        st->slot_running[job->slot]++;
        pthread_mutex_unlock(&st->lock);

        rv = wp ? execute(st, job, wp) : APR_ENOMEM;
        if (wp) {
            apr_pool_clear(wp);
        }

        pthread_mutex_lock(&st->lock);
        st->running--;
        st->slot_running[job->slot]--;
        shs_store_account_locked(st, job, rv, &tr);
        if (job->state == SHS_JOB_ABANDONED) {
            job_free(job);
        }
        else {
            job->rv = rv;
            job->state = SHS_JOB_DONE;
            pthread_cond_signal(&job->done);
        }
        pthread_cond_broadcast(&st->quiet);
        if (tr.happened) {
            pthread_mutex_unlock(&st->lock);
            shs_breaker_notify(st, &tr);
            pthread_mutex_lock(&st->lock);
        }
    }
    self->exited = 1;
    last = st->orphaned && st->opts.free_on_shutdown && alive_workers(st) == 0;
    pthread_cond_broadcast(&st->quiet);
    pthread_mutex_unlock(&st->lock);
    if (wp) {
        apr_pool_destroy(wp);
    }
    if (last) {
        store_free(st);
    }
    return NULL;
}

/* With the lock held: admit a job past its slot's breaker and queue it.  APR_SUCCESS when
 * queued; otherwise the status to answer at once (the job stays the caller's). */
static apr_status_t enqueue_locked(shs_store_t *st, job_t *job, apr_time_t now)
{
    shs_breaker_t *b;

    if (job->slot >= st->nslots) {
        return APR_EINVAL;
    }
    if (st->shutdown) {
        return SHS_STORE_EDOWN;
    }
    if (!shs_breaker_admit_locked(st, job, now)) {
        return SHS_STORE_EDOWN;
    }
    b = &st->breakers[job->slot];
    if (st->queued >= st->opts.max_queue) {
        if (job->probe) {
            b->state = SHS_BREAKER_OPEN;
            job->probe = 0;
        }
        return SHS_STORE_EBUSY;
    }
    job->state = SHS_JOB_QUEUED;
    if (st->tail) {
        st->tail->next = job;
    }
    else {
        st->head = job;
    }
    st->tail = job;
    st->queued++;
    pthread_cond_signal(&st->work);
    return APR_SUCCESS;
}

/* With the lock held: the requester of a job gives up at its deadline.  A queued job is taken
 * out of the queue (*drop: the caller frees it), a running one is left to its worker, which
 * frees it.  A repair is not a timeout of its server; any other job is. */
static void give_up_locked(shs_store_t *st, job_t *job, shs_transition_t *tr, int *drop)
{
    *drop = 0;
    if (job->state == SHS_JOB_QUEUED) {
        job_t **pp = &st->head, *prev = NULL;
        while (*pp && *pp != job) {
            prev = *pp;
            pp = &(*pp)->next;
        }
        if (*pp) {
            *pp = job->next;
            if (st->tail == job) {
                st->tail = prev;
            }
            st->queued--;
        }
        *drop = 1;
    }
    else {
        job->state = SHS_JOB_ABANDONED; /* the worker frees it */
    }
    if (!job->best_effort) {
        st->stats.timeouts++;
        shs_breaker_record_locked(st, job, APR_TIMEUP, tr);
    }
}

/* Queue n jobs (at most SHS_STORE_MAX_REPLICAS, on distinct slots) at once and wait for all
 * of them until the deadline.  rvs[i] is the status of jobs[i]; a job handed over (left to its
 * worker, or dropped) is set to NULL in jobs[]: the caller frees the others. */
void shs_jobs_run(shs_store_t *st, job_t **jobs, apr_status_t *rvs, int n,
                  const struct timespec *deadline)
{
    shs_transition_t tr[SHS_STORE_MAX_REPLICAS];
    job_t *dropped[SHS_STORE_MAX_REPLICAS];
    int queued[SHS_STORE_MAX_REPLICAS];
    int i, ndropped = 0;
    apr_time_t now = shs_breaker_now();

    memset(tr, 0, sizeof(tr));
    pthread_mutex_lock(&st->lock);
    for (i = 0; i < n; i++) {
        rvs[i] = enqueue_locked(st, jobs[i], now);
        queued[i] = rvs[i] == APR_SUCCESS;
    }
    for (i = 0; i < n; i++) {
        while (queued[i] && jobs[i]->state != SHS_JOB_DONE) {
            if (pthread_cond_timedwait(&jobs[i]->done, &st->lock, deadline) == ETIMEDOUT) {
                break;
            }
        }
    }
    for (i = 0; i < n; i++) {
        int drop;
        if (!queued[i]) {
            continue;
        }
        if (jobs[i]->state == SHS_JOB_DONE) {
            rvs[i] = jobs[i]->rv;
            continue;
        }
        rvs[i] = APR_TIMEUP;
        give_up_locked(st, jobs[i], &tr[i], &drop);
        if (drop) {
            dropped[ndropped++] = jobs[i];
        }
        jobs[i] = NULL;
    }
    pthread_mutex_unlock(&st->lock);
    for (i = 0; i < ndropped; i++) {
        job_free(dropped[i]);
    }
    for (i = 0; i < n; i++) {
        shs_breaker_notify(st, &tr[i]);
    }
}

static job_t *job_alloc(shs_store_t *st, shs_job_kind_e kind, const char *key, apr_size_t vlen,
                        apr_int64_t ttl)
{
    job_t *job = calloc(1, sizeof(*job));

    if (!job) {
        return NULL;
    }
    job->kind = kind;
    job->ttl = ttl;
    job->key = strdup(key);
    if (kind == SHS_JOB_SET || kind == SHS_JOB_ADD) {
        job->val = malloc(vlen + 1);
        job->len = vlen;
    }
    if (!job->key || ((kind == SHS_JOB_SET || kind == SHS_JOB_ADD) && !job->val) ||
        pthread_cond_init(&job->done, &st->condattr) != 0) {
        free(job->key);
        free(job->val);
        free(job);
        return NULL;
    }
    return job;
}

/* A job on the key's first slot (replicas 1), the value copied as given. */
static job_t *job_new(shs_store_t *st, shs_job_kind_e kind, const char *key, const char *val,
                      apr_size_t len, apr_int64_t ttl)
{
    job_t *job = job_alloc(st, kind, key, len, ttl);

    if (!job) {
        return NULL;
    }
    if (job->val) {
        if (len) {
            memcpy(job->val, val, len);
        }
        job->val[len] = '\0';
    }
    /* asked after the job exists and before it is queued (tests rely on this order) */
    job->slot = st->ops->slot_of(st->ctx, key);
    return job;
}

/* A job on a given slot whose value is a copy of `hdr` (hdrlen bytes) then `val`. */
job_t *shs_job_on(shs_store_t *st, shs_job_kind_e kind, unsigned int slot, const char *key,
                  const char *hdr, apr_size_t hdrlen, const char *val, apr_size_t len,
                  apr_int64_t ttl)
{
    job_t *job = job_alloc(st, kind, key, hdrlen + len, ttl);

    if (!job) {
        return NULL;
    }
    if (job->val) {
        if (hdrlen) {
            memcpy(job->val, hdr, hdrlen);
        }
        if (len) {
            memcpy(job->val + hdrlen, val, len);
        }
        job->val[hdrlen + len] = '\0';
    }
    job->slot = slot;
    return job;
}

void shs_jobs_free(job_t **jobs, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        job_free(jobs[i]);
        jobs[i] = NULL;
    }
}

/* A value read with replicas 1: a header is removed (going back from replicas to one copy),
 * a tombstone is a miss. */
apr_status_t shs_store_strip_header(apr_status_t rv, char **out, apr_size_t *outlen)
{
    shs_store_item_t it;

    if (rv != APR_SUCCESS) {
        return rv;
    }
    shs_store_item_parse(*out, *outlen, &it);
    if (!it.versioned) {
        return rv;
    }
    if (it.deleted) {
        return APR_NOTFOUND;
    }
    *out = (char *)it.data;
    *outlen = it.len;
    return rv;
}

/* A backend that cannot block (shared memory): on the requester's thread, no hand-off. */
static apr_status_t run_direct(shs_store_t *st, shs_job_kind_e kind, const char *key,
                               const char *val, apr_size_t len, apr_int64_t ttl, apr_pool_t *p,
                               char **out, apr_size_t *outlen)
{
    unsigned int slot = st->ops->slot_of(st->ctx, key);

    switch (kind) {
    case SHS_JOB_GET:
        return shs_store_strip_header(st->ops->get(st->ctx, slot, key, p, out, outlen), out,
                                      outlen);
    case SHS_JOB_SET:
        return st->ops->set(st->ctx, slot, key, val, len, ttl);
    case SHS_JOB_ADD:
        return st->ops->add(st->ctx, slot, key, val, len, ttl);
    case SHS_JOB_DEL:
        return st->ops->del(st->ctx, slot, key);
    }
    return APR_EINVAL;
}

/* One operation on the key's one slot (replicas 1). */
static apr_status_t run_single(shs_store_t *st, shs_job_kind_e kind, const char *key,
                               const char *val, apr_size_t len, apr_int64_t ttl, apr_pool_t *p,
                               char **out, apr_size_t *outlen)
{
    job_t *job;
    struct timespec deadline;
    apr_status_t rv;

    if ((kind == SHS_JOB_GET && st->ops->get_within) ||
        ((kind == SHS_JOB_SET || kind == SHS_JOB_ADD) && st->ops->store_within)) {
        rv = shs_store_run_inline(st, kind, 0, key, val, len, ttl, p, out, outlen);
        if (rv != APR_EAGAIN) {
            return rv == APR_SUCCESS && kind == SHS_JOB_GET
                       ? shs_store_strip_header(rv, out, outlen)
                       : rv;
        }
    }
    job = job_new(st, kind, key, val, len, ttl);
    if (!job) {
        return APR_ENOMEM;
    }
    deadline = deadline_after(st->opts.timeout);
    shs_jobs_run(st, &job, &rv, 1, &deadline);
    if (job && rv == APR_SUCCESS && kind == SHS_JOB_GET) {
        *out = apr_pstrmemdup(p, job->val, job->len);
        *outlen = job->len;
        rv = shs_store_strip_header(rv, out, outlen);
    }
    job_free(job);
    return rv;
}

/* ------------------------------------------------------------------ for shs_store_rep.c */

void shs_job_best_effort(job_t *job)
{
    job->best_effort = 1;
}

const char *shs_job_value(const job_t *job, apr_size_t *len)
{
    *len = job->len;
    return job->val;
}

void shs_store_event(shs_store_t *st, shs_store_event_e ev, unsigned int slot)
{
    pthread_mutex_lock(&st->lock);
    switch (ev) {
    case SHS_STORE_EV_FALLBACK:
        st->stats.fallbacks++;
        break;
    case SHS_STORE_EV_REPAIR:
        st->stats.repairs++;
        break;
    case SHS_STORE_EV_STALE:
        st->stats.stale++;
        break;
    case SHS_STORE_EV_TOMBSTONE:
        st->stats.tombstones++;
        break;
    }
    pthread_mutex_unlock(&st->lock);
    if (st->opts.event) {
        st->opts.event(st->opts.event_baton, ev, slot);
    }
}

void shs_store_note_ttl(shs_store_t *st, apr_int64_t ttl)
{
    apr_int64_t cur = __atomic_load_n(&st->max_ttl, __ATOMIC_RELAXED);

    if (ttl <= 0) {
        __atomic_store_n(&st->max_ttl, (apr_int64_t)-1, __ATOMIC_RELAXED);
        return;
    }
    while (cur >= 0 && ttl > cur &&
           !__atomic_compare_exchange_n(&st->max_ttl, &cur, ttl, 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
    }
}

/* The key's slots in order: at most st->replicas. */
unsigned int shs_store_key_slots(shs_store_t *st, const char *key, unsigned int *slots)
{
    unsigned int n = st->ops->slots_of(st->ctx, key, slots, st->replicas);

    return n > st->replicas ? st->replicas : n;
}

apr_int64_t shs_store_max_ttl(shs_store_t *st)
{
    return __atomic_load_n(&st->max_ttl, __ATOMIC_RELAXED);
}

struct timespec shs_store_deadline(const shs_store_t *st)
{
    return deadline_after(st->opts.timeout);
}

static apr_status_t submit(shs_store_t *st, shs_job_kind_e kind, const char *key, const char *val,
                           apr_size_t len, apr_int64_t ttl, apr_pool_t *p, char **out,
                           apr_size_t *outlen)
{
    apr_status_t rv;

    if (!st || !key) {
        return APR_EINVAL;
    }
    if (st->ops->direct) {
        rv = run_direct(st, kind, key, val, len, ttl, p, out, outlen);
    }
    else if (st->replicas < 2) {
        rv = run_single(st, kind, key, val, len, ttl, p, out, outlen);
    }
    else {
        switch (kind) {
        case SHS_JOB_GET:
            rv = shs_rep_get(st, key, p, out, outlen);
            break;
        case SHS_JOB_SET:
            rv = shs_rep_set(st, key, val, len, ttl);
            break;
        case SHS_JOB_ADD:
            rv = shs_rep_add(st, key, val, len, ttl);
            break;
        default:
            rv = shs_rep_del(st, key);
            break;
        }
    }
    if (st->opts.account) {
        st->opts.account(st->opts.account_baton, rv);
    }
    return rv;
}

apr_status_t shs_store_get(shs_store_t *st, const char *key, apr_pool_t *p, char **val,
                           apr_size_t *len)
{
    return submit(st, SHS_JOB_GET, key, NULL, 0, 0, p, val, len);
}

apr_status_t shs_store_set(shs_store_t *st, const char *key, const char *val, apr_size_t len,
                           apr_int64_t ttl)
{
    return submit(st, SHS_JOB_SET, key, val, len, ttl, NULL, NULL, NULL);
}

apr_status_t shs_store_add(shs_store_t *st, const char *key, const char *val, apr_size_t len,
                           apr_int64_t ttl)
{
    return submit(st, SHS_JOB_ADD, key, val, len, ttl, NULL, NULL, NULL);
}

apr_status_t shs_store_del(shs_store_t *st, const char *key)
{
    return submit(st, SHS_JOB_DEL, key, NULL, 0, 0, NULL, NULL, NULL);
}

int shs_store_replicas(shs_store_t *st)
{
    return (int)st->replicas;
}

const char *shs_store_slot_name(shs_store_t *st, const char *key)
{
    return st->ops->slot_name(st->ctx, st->ops->slot_of(st->ctx, key));
}

unsigned int shs_store_nslots(shs_store_t *st)
{
    return st->nslots;
}

void shs_store_get_stats(shs_store_t *st, shs_store_stats_t *out)
{
    pthread_mutex_lock(&st->lock);
    *out = st->stats;
    out->queued = (apr_uint64_t)st->queued;
    pthread_mutex_unlock(&st->lock);
}

const char *shs_store_strerror(apr_status_t rv, char *buf, apr_size_t len)
{
    switch (rv) {
    case APR_TIMEUP:
        return "no answer within the timeout";
    case SHS_STORE_EDOWN:
        return "server marked down (retrying after the retry interval)";
    case SHS_STORE_EBUSY:
        return "too many operations queued";
    case APR_NOTFOUND:
        return "not found";
    case APR_EEXIST:
        return "already exists";
    case APR_EGENERAL:
        return "an answer that is not one (protocol error or server error)";
    default:
        return apr_strerror(rv, buf, len);
    }
}

static apr_status_t store_shutdown(void *data)
{
    shs_store_t *st = data;
    struct timespec deadline = deadline_after(st->opts.timeout + apr_time_from_msec(100));
    int i, stuck = 0;

    pthread_mutex_lock(&st->lock);
    st->shutdown = 1;
    while (st->head) { /* nobody will run these: answer them */
        job_t *job = st->head;
        st->head = job->next;
        job->next = NULL;
        job->rv = SHS_STORE_EDOWN;
        job->state = SHS_JOB_DONE;
        pthread_cond_signal(&job->done);
    }
    st->tail = NULL;
    st->queued = 0;
    pthread_cond_broadcast(&st->work);
    while ((stuck = alive_workers(st)) > 0) {
        if (pthread_cond_timedwait(&st->quiet, &st->lock, &deadline) == ETIMEDOUT) {
            stuck = alive_workers(st);
            break;
        }
    }
    /* A worker blocked in a stalled server cannot be joined: it frees the store when it
     * returns (shortly, or never if the process exits first). */
    st->orphaned = stuck > 0;
    for (i = 0; i < st->nworkers; i++) {
        if (!st->workers[i].started) {
            continue;
        }
        if (st->workers[i].exited) {
            pthread_join(st->workers[i].tid, NULL);
        }
        else {
            pthread_detach(st->workers[i].tid);
        }
        st->workers[i].started = st->workers[i].exited ? 0 : 1;
    }
    pthread_mutex_unlock(&st->lock);
    if (!stuck && st->opts.free_on_shutdown) {
        store_free(st);
    }
    return APR_SUCCESS;
}

apr_status_t shs_store_create(apr_pool_t *p, const shs_store_ops_t *ops, void *ctx,
                              const shs_store_opts_t *opts, shs_store_t **pst)
{
    shs_store_t *st;
    sigset_t blocked, saved;
    int i;

    if (!ops || !opts || opts->timeout <= 0 || opts->workers < 1) {
        return APR_EINVAL;
    }
    st = calloc(1, sizeof(*st));
    if (!st) {
        return APR_ENOMEM;
    }
    st->ops = ops;
    st->ctx = ctx;
    st->opts = *opts;
    st->nslots = ops->nslots(ctx);
    st->replicas = opts->replicas > 1 ? (unsigned int)opts->replicas : 1;
    if (st->replicas > SHS_STORE_MAX_REPLICAS) {
        st->replicas = SHS_STORE_MAX_REPLICAS;
    }
    if (st->replicas > st->nslots) {
        st->replicas = st->nslots ? st->nslots : 1;
    }
    if (ops->direct || !ops->slots_of) {
        st->replicas = 1;
    }
    shs_store_version_init();
    /* Each operation queues one job per copy, on distinct slots: `workers` per copy, and no
     * slot more than `workers` (its connections), so that a stalled slot holds at most that
     * many and the others keep theirs.  With one copy, as it always was: one pool. */
    st->nworkers = opts->workers * (int)st->replicas;
    st->slot_cap = st->replicas > 1 ? opts->workers : st->nworkers;
    if (st->opts.max_queue < 1) {
        st->opts.max_queue = 16 * st->nworkers;
    }
    st->breakers = calloc(st->nslots ? st->nslots : 1, sizeof(shs_breaker_t));
    st->slot_running = calloc(st->nslots ? st->nslots : 1, sizeof(int));
    st->workers = calloc((apr_size_t)st->nworkers, sizeof(shs_worker_t));
    if (!st->breakers || !st->workers || !st->slot_running) {
        free(st->breakers);
        free(st->slot_running);
        free(st->workers);
        free(st);
        return APR_ENOMEM;
    }
    pthread_mutex_init(&st->lock, NULL);
    pthread_condattr_init(&st->condattr);
    pthread_condattr_setclock(&st->condattr, CLOCK_MONOTONIC);
    pthread_cond_init(&st->work, NULL);
    pthread_cond_init(&st->quiet, &st->condattr);
    /* The workers start with every asynchronous signal blocked (they inherit this thread's
     * mask): a signal sent to the process, such as the MPM's SIGTERM, SIGHUP or SIGUSR1, must
     * reach one of httpd's own threads.  Run in a worker, prefork's handler would destroy the
     * child's pool, whose cleanup waits for the workers: the child could not exit until the
     * parent killed it. */
    sigfillset(&blocked);
    sigdelset(&blocked, SIGSEGV);
    sigdelset(&blocked, SIGBUS);
    sigdelset(&blocked, SIGFPE);
    sigdelset(&blocked, SIGILL);
    pthread_sigmask(SIG_BLOCK, &blocked, &saved);
    for (i = 0; !ops->direct && i < st->nworkers; i++) {
        pthread_attr_t attr;
        st->workers[i].st = st;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        st->workers[i].started =
            pthread_create(&st->workers[i].tid, &attr, worker_main, &st->workers[i]) == 0;
        pthread_attr_destroy(&attr);
        if (!st->workers[i].started) {
            pthread_sigmask(SIG_SETMASK, &saved, NULL);
            store_shutdown(st);
            return APR_EGENERAL;
        }
    }
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    /* A pre-cleanup: it must run before the backend's sub-pools of p are destroyed. */
    apr_pool_pre_cleanup_register(p, st, store_shutdown);
    *pst = st;
    return APR_SUCCESS;
}
