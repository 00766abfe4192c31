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

/* The bounded executor and the per-slot circuit breakers (see shs_store.h).
 *
 * apr_memcache sockets block without any I/O timeout once connected, and a thread blocked in
 * read() cannot be interrupted (APR retries on EINTR).  So operations run on a small pool of
 * worker threads and the request thread waits on a condition variable with a deadline.  A job
 * whose requester gave up is "abandoned": if it had not started it is simply dropped, if it
 * is running the worker frees it when the backend call returns.  Jobs own copies of their
 * keys and values (malloc), never memory of a request pool. */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include "shs_store.h"

typedef enum { JOB_GET, JOB_SET, JOB_ADD, JOB_DEL } job_kind_e;
typedef enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_ABANDONED } job_state_e;

typedef struct job_t {
    struct job_t *next;
    job_kind_e kind;
    job_state_e state;
    unsigned int slot;
    char *key;
    char *val; /* set/add: the data; get: the result */
    apr_size_t len;
    apr_int64_t ttl;
    apr_status_t rv;
    int probe; /* admitted as the probe of an open breaker */
    pthread_cond_t done;
} job_t;

typedef struct breaker_t {
    shs_breaker_state_e state;
    apr_time_t until;
} breaker_t;

typedef struct worker_t {
    struct shs_store_t *st;
    pthread_t tid;
    int started;
    int exited;
} worker_t;

struct shs_store_t {
    const shs_store_ops_t *ops;
    void *ctx;
    shs_store_opts_t opts;
    pthread_mutex_t lock;
    pthread_cond_t work;  /* a job was queued, or shutdown */
    pthread_cond_t quiet; /* a worker finished a job or exited */
    pthread_condattr_t condattr;
    job_t *head, *tail;
    int queued;
    int running;
    int shutdown;
    int orphaned; /* shut down with a worker stuck: the last worker frees it */
    int nworkers;
    worker_t *workers;
    unsigned int nslots;
    breaker_t *breakers;
    shs_store_stats_t stats;
};

typedef struct transition_t {
    int happened;
    unsigned int slot;
    shs_breaker_state_e from, to;
    apr_status_t cause;
} transition_t;

static void job_free(job_t *job)
{
    if (job) {
        pthread_cond_destroy(&job->done);
        free(job->key);
        free(job->val);
        free(job);
    }
}

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

/* Called with the lock held: account for the outcome of an operation.  Once the breaker has
 * opened only its probe may close it: any other operation was admitted while it was still
 * closed, before the failure (its answer read before the server died, or stuck in a stall),
 * and says nothing about the server now.  The probe's outcome always settles it, however long
 * ago its job was created: a requester delayed between creating the job and queueing it (a
 * busy machine, or a retry interval of 0) becomes the probe all the same. */
static void breaker_record(shs_store_t *st, const job_t *job, apr_status_t rv, transition_t *tr)
{
    unsigned int slot = job->slot;
    breaker_t *b = &st->breakers[slot];
    shs_breaker_state_e from = b->state;

    if (SHS_STORE_FAILED(rv)) {
        b->state = SHS_BREAKER_OPEN;
        b->until = apr_time_now() + st->opts.retry;
    }
    else if (b->state == SHS_BREAKER_CLOSED || job->probe) {
        b->state = SHS_BREAKER_CLOSED;
    }
    /* Report opening from healthy, every failed probe (so once per retry interval at most)
     * and recovery; a failure while already open is not news. */
    if (from != b->state) {
        tr->happened = 1;
        tr->slot = slot;
        tr->from = from;
        tr->to = b->state;
        tr->cause = rv;
    }
}

static void notify(shs_store_t *st, const transition_t *tr)
{
    if (tr->happened && st->opts.notify) {
        st->opts.notify(st->opts.notify_baton, tr->slot, st->ops->slot_name(st->ctx, tr->slot),
                        tr->from, tr->to, tr->cause);
    }
}

static apr_status_t execute(shs_store_t *st, job_t *job, apr_pool_t *wp)
{
    apr_status_t rv;
    char *val = NULL;
    apr_size_t len = 0;

    switch (job->kind) {
    case JOB_GET:
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
    case JOB_SET:
        return st->ops->set(st->ctx, job->slot, job->key, job->val, job->len, job->ttl);
    case JOB_ADD:
        return st->ops->add(st->ctx, job->slot, job->key, job->val, job->len, job->ttl);
    case JOB_DEL:
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
    free(st);
}

static void *worker_main(void *arg)
{
    worker_t *self = arg;
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
        transition_t tr = { 0 };

        while (!st->head && !st->shutdown) {
            pthread_cond_wait(&st->work, &st->lock);
        }
        if (st->shutdown) {
            break;
        }
        job = st->head;
        st->head = job->next;
        if (!st->head) {
            st->tail = NULL;
        }
        st->queued--;
        job->next = NULL;
        job->state = JOB_RUNNING;
        st->running++;
        pthread_mutex_unlock(&st->lock);

        rv = wp ? execute(st, job, wp) : APR_ENOMEM;
        if (wp) {
            apr_pool_clear(wp);
        }

        pthread_mutex_lock(&st->lock);
        st->running--;
        st->stats.ops++;
        if (SHS_STORE_FAILED(rv)) {
            st->stats.failures++;
        }
        breaker_record(st, job, rv, &tr);
        if (job->state == JOB_ABANDONED) {
            job_free(job);
        }
        else {
            job->rv = rv;
            job->state = JOB_DONE;
            pthread_cond_signal(&job->done);
        }
        pthread_cond_broadcast(&st->quiet);
        if (tr.happened) {
            pthread_mutex_unlock(&st->lock);
            notify(st, &tr);
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

/* Queue a job and wait for it.  On return the job is either DONE (owned by the caller again)
 * or was handed over (abandoned or dropped) and must not be touched: *mine tells which. */
static apr_status_t run_job(shs_store_t *st, job_t *job, int *mine)
{
    breaker_t *b;
    struct timespec deadline;
    transition_t tr = { 0 };
    apr_time_t now = apr_time_now();

    *mine = 1;
    if (job->slot >= st->nslots) {
        return APR_EINVAL;
    }
    pthread_mutex_lock(&st->lock);
    if (st->shutdown) {
        pthread_mutex_unlock(&st->lock);
        return SHS_STORE_EDOWN;
    }
    b = &st->breakers[job->slot];
    if (b->state == SHS_BREAKER_OPEN && now >= b->until) {
        b->state = SHS_BREAKER_PROBING; /* this job is the probe */
        job->probe = 1;
    }
    else if (b->state != SHS_BREAKER_CLOSED) {
        st->stats.skipped++;
        pthread_mutex_unlock(&st->lock);
        return SHS_STORE_EDOWN;
    }
    if (st->queued >= st->opts.max_queue) {
        if (b->state == SHS_BREAKER_PROBING) {
            b->state = SHS_BREAKER_OPEN;
        }
        pthread_mutex_unlock(&st->lock);
        return SHS_STORE_EBUSY;
    }
    job->state = JOB_QUEUED;
    if (st->tail) {
        st->tail->next = job;
    }
    else {
        st->head = job;
    }
    st->tail = job;
    st->queued++;
    pthread_cond_signal(&st->work);

    deadline = deadline_after(st->opts.timeout);
    while (job->state != JOB_DONE) {
        int r = pthread_cond_timedwait(&job->done, &st->lock, &deadline);
        if (r == ETIMEDOUT && job->state != JOB_DONE) {
            break;
        }
    }
    if (job->state == JOB_DONE) {
        pthread_mutex_unlock(&st->lock);
        return job->rv;
    }

    /* Timed out. */
    st->stats.timeouts++;
    *mine = 0;
    if (job->state == JOB_QUEUED) {
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
        breaker_record(st, job, APR_TIMEUP, &tr);
        pthread_mutex_unlock(&st->lock);
        job_free(job);
    }
    else {
        job->state = JOB_ABANDONED; /* the worker frees it */
        breaker_record(st, job, APR_TIMEUP, &tr);
        pthread_mutex_unlock(&st->lock);
    }
    notify(st, &tr);
    return APR_TIMEUP;
}

static job_t *job_new(shs_store_t *st, job_kind_e kind, const char *key, const char *val,
                      apr_size_t len, apr_int64_t ttl)
{
    job_t *job = calloc(1, sizeof(*job));

    if (!job) {
        return NULL;
    }
    job->kind = kind;
    job->ttl = ttl;
    job->key = strdup(key);
    if (val) {
        job->val = malloc(len + 1);
        if (job->val) {
            memcpy(job->val, val, len);
            job->val[len] = '\0';
            job->len = len;
        }
    }
    if (!job->key || (val && !job->val) || pthread_cond_init(&job->done, &st->condattr) != 0) {
        free(job->key);
        free(job->val);
        free(job);
        return NULL;
    }
    job->slot = st->ops->slot_of(st->ctx, key);
    return job;
}

/* A backend that cannot block (shared memory): on the requester's thread, no hand-off. */
static apr_status_t run_direct(shs_store_t *st, job_kind_e kind, const char *key, const char *val,
                               apr_size_t len, apr_int64_t ttl, apr_pool_t *p, char **out,
                               apr_size_t *outlen)
{
    unsigned int slot = st->ops->slot_of(st->ctx, key);

    switch (kind) {
    case JOB_GET:
        return st->ops->get(st->ctx, slot, key, p, out, outlen);
    case JOB_SET:
        return st->ops->set(st->ctx, slot, key, val, len, ttl);
    case JOB_ADD:
        return st->ops->add(st->ctx, slot, key, val, len, ttl);
    case JOB_DEL:
        return st->ops->del(st->ctx, slot, key);
    }
    return APR_EINVAL;
}

static apr_status_t submit(shs_store_t *st, job_kind_e kind, const char *key, const char *val,
                           apr_size_t len, apr_int64_t ttl, apr_pool_t *p, char **out,
                           apr_size_t *outlen)
{
    job_t *job;
    apr_status_t rv;
    int mine;

    if (!st || !key) {
        return APR_EINVAL;
    }
    if (st->ops->direct) {
        rv = run_direct(st, kind, key, val, len, ttl, p, out, outlen);
        if (st->opts.account) {
            st->opts.account(st->opts.account_baton, rv);
        }
        return rv;
    }
    job = job_new(st, kind, key, val, len, ttl);
    if (!job) {
        return APR_ENOMEM;
    }
    rv = run_job(st, job, &mine);
    if (st->opts.account) {
        st->opts.account(st->opts.account_baton, rv);
    }
    if (!mine) {
        return rv;
    }
    if (rv == APR_SUCCESS && kind == JOB_GET) {
        *out = apr_pstrmemdup(p, job->val, job->len);
        *outlen = job->len;
    }
    job_free(job);
    return rv;
}

apr_status_t shs_store_get(shs_store_t *st, const char *key, apr_pool_t *p, char **val,
                           apr_size_t *len)
{
    return submit(st, JOB_GET, key, NULL, 0, 0, p, val, len);
}

apr_status_t shs_store_set(shs_store_t *st, const char *key, const char *val, apr_size_t len,
                           apr_int64_t ttl)
{
    return submit(st, JOB_SET, key, val, len, ttl, NULL, NULL, NULL);
}

apr_status_t shs_store_add(shs_store_t *st, const char *key, const char *val, apr_size_t len,
                           apr_int64_t ttl)
{
    return submit(st, JOB_ADD, key, val, len, ttl, NULL, NULL, NULL);
}

apr_status_t shs_store_del(shs_store_t *st, const char *key)
{
    return submit(st, JOB_DEL, key, NULL, 0, 0, NULL, NULL, NULL);
}

const char *shs_store_slot_name(shs_store_t *st, const char *key)
{
    return st->ops->slot_name(st->ctx, st->ops->slot_of(st->ctx, key));
}

unsigned int shs_store_nslots(shs_store_t *st)
{
    return st->nslots;
}

shs_breaker_state_e shs_store_breaker(shs_store_t *st, unsigned int slot)
{
    shs_breaker_state_e s;

    if (slot >= st->nslots) {
        return SHS_BREAKER_CLOSED;
    }
    pthread_mutex_lock(&st->lock);
    s = st->breakers[slot].state;
    pthread_mutex_unlock(&st->lock);
    return s;
}

void shs_store_get_stats(shs_store_t *st, shs_store_stats_t *out)
{
    pthread_mutex_lock(&st->lock);
    *out = st->stats;
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
        job->state = JOB_DONE;
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
    if (st->opts.max_queue < 1) {
        st->opts.max_queue = 16 * opts->workers;
    }
    st->nslots = ops->nslots(ctx);
    st->breakers = calloc(st->nslots ? st->nslots : 1, sizeof(breaker_t));
    st->workers = calloc((apr_size_t)opts->workers, sizeof(worker_t));
    if (!st->breakers || !st->workers) {
        free(st->breakers);
        free(st->workers);
        free(st);
        return APR_ENOMEM;
    }
    pthread_mutex_init(&st->lock, NULL);
    pthread_condattr_init(&st->condattr);
    pthread_condattr_setclock(&st->condattr, CLOCK_MONOTONIC);
    pthread_cond_init(&st->work, NULL);
    pthread_cond_init(&st->quiet, &st->condattr);
    st->nworkers = opts->workers;
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
