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

/* The per-slot circuit breakers (see shs_store.h), the time they read, and the operations a
 * backend lets the requester's thread run itself (ops->get_within, ops->store_within) under
 * them.  The executor that runs every other operation on worker threads is shs_store.c. */

#include <pthread.h>

#include "shs_store.h"
#include "shs_store_int.h"

static apr_time_t (*breaker_clock)(void);

void shs_store_test_clock(apr_time_t (*now)(void))
{
    __atomic_store_n(&breaker_clock, now, __ATOMIC_RELEASE);
}

apr_time_t shs_breaker_now(void)
{
    apr_time_t (*now)(void) = __atomic_load_n(&breaker_clock, __ATOMIC_ACQUIRE);

    return now ? now() : apr_time_now();
}

/* Called with the lock held: account for the outcome of an operation.  Once the breaker has
 * opened only its probe may close it: any other operation was admitted while it was still
 * closed, before the failure (its answer read before the server died, or stuck in a stall),
 * and says nothing about the server now.  The probe's outcome always settles it, however long
 * ago its job was created: a requester delayed between creating the job and queueing it (a
 * busy machine, or a retry interval of 0) becomes the probe all the same. */
void shs_breaker_record_locked(shs_store_t *st, const shs_job_t *job, apr_status_t rv,
                               shs_transition_t *tr)
{
    unsigned int slot = job->slot;
    shs_breaker_t *b = &st->breakers[slot];
    shs_breaker_state_e from = b->state;

    if (SHS_STORE_FAILED(rv)) {
        b->state = SHS_BREAKER_OPEN;
        b->until = shs_breaker_now() + st->opts.retry;
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

void shs_breaker_notify(shs_store_t *st, const shs_transition_t *tr)
{
    if (tr->happened && st->opts.notify) {
        st->opts.notify(st->opts.notify_baton, tr->slot, st->ops->slot_name(st->ctx, tr->slot),
                        tr->from, tr->to, tr->cause);
    }
}

/* With the lock held: may the job go past its slot's breaker?  An open breaker whose retry
 * time has come makes it the probe. */
int shs_breaker_admit_locked(shs_store_t *st, shs_job_t *job, apr_time_t now)
{
    shs_breaker_t *b = &st->breakers[job->slot];

    if (b->state == SHS_BREAKER_OPEN && now >= b->until && !job->best_effort) {
        b->state = SHS_BREAKER_PROBING; /* this job is the probe */
        job->probe = 1;
    }
    else if (b->state != SHS_BREAKER_CLOSED) {
        /* a repair never probes: dropped at its deadline, it would leave the breaker probing */
        st->stats.skipped += !job->best_effort;
        return 0;
    }
    return 1;
}

/* With the lock held: count an operation that got an answer or failed (not one given up at
 * its deadline: shs_jobs_run counts that) and settle its slot's breaker. */
void shs_store_account_locked(shs_store_t *st, const shs_job_t *job, apr_status_t rv,
                              shs_transition_t *tr)
{
    st->stats.ops++;
    if (rv == APR_TIMEUP) {
        st->stats.timeouts++;
    }
    else if (SHS_STORE_FAILED(rv)) {
        st->stats.failures++;
    }
    shs_breaker_record_locked(st, job, rv, tr);
}

/* Past the job's slot's breaker before an operation on the requester's thread: APR_SUCCESS, or
 * the status to return (it may become the probe). */
static apr_status_t inline_admit(shs_store_t *st, shs_job_t *job)
{
    apr_status_t rv = APR_SUCCESS;

    pthread_mutex_lock(&st->lock);
    if (job->slot >= st->nslots) {
        rv = APR_EINVAL;
    }
    else if (st->shutdown || !shs_breaker_admit_locked(st, job, shs_breaker_now())) {
        rv = SHS_STORE_EDOWN;
    }
    pthread_mutex_unlock(&st->lock);
    return rv;
}

/* After it: rv APR_EAGAIN (nothing was sent) hands a probe back, so the worker path's job can be
 * the probe; otherwise `answer` settles the breaker and the counters, and `more` operations
 * that answered in the same exchange are counted too. */
static void inline_settle(shs_store_t *st, const shs_job_t *job, apr_status_t rv,
                          apr_status_t answer, int more)
{
    shs_transition_t tr = { 0 };

    pthread_mutex_lock(&st->lock);
    if (rv == APR_EAGAIN) {
        if (job->probe) {
            st->breakers[job->slot].state = SHS_BREAKER_OPEN; /* its retry time has come */
        }
        pthread_mutex_unlock(&st->lock);
        return;
    }
    shs_store_account_locked(st, job, answer, &tr);
    st->stats.ops += (apr_uint64_t)more;
    pthread_mutex_unlock(&st->lock);
    shs_breaker_notify(st, &tr);
}

/* An operation on the requester's thread (ops->get_within, ops->store_within), under the same
 * breaker and counters as a job.  APR_EAGAIN: the backend cannot now and nothing was sent: the
 * caller takes the worker path.  A get's value is returned as stored (the caller strips a
 * header). */
apr_status_t shs_store_run_inline(shs_store_t *st, shs_job_kind_e kind, int quiet, const char *key,
                                  const char *val, apr_size_t len, apr_int64_t ttl, apr_pool_t *p,
                                  char **out, apr_size_t *outlen)
{
    shs_job_t job = { .kind = kind, .slot = st->ops->slot_of(st->ctx, key) };
    apr_time_t deadline;
    apr_status_t rv;

    if ((rv = inline_admit(st, &job)) != APR_SUCCESS) {
        return rv;
    }
    deadline = apr_time_now() + st->opts.timeout; /* real time: it bounds a real wait */
    if (kind == SHS_JOB_GET) {
        rv = st->ops->get_within(st->ctx, job.slot, key, p, out, outlen, deadline);
    }
    else if (quiet) {
        rv = st->ops->set_quiet_within(st->ctx, job.slot, key, val, len, ttl, deadline);
    }
    else {
        rv = st->ops->store_within(st->ctx, job.slot, kind == SHS_JOB_ADD, key, val, len, ttl,
                                   deadline);
    }
    inline_settle(st, &job, rv, rv, 0);
    return rv;
}

/* ops->add_get_within on the requester's thread: one exchange, two operations; a failed
 * exchange is one failure. */
static apr_status_t run_inline_add_get(shs_store_t *st, unsigned int slot, const char *addkey,
                                       const char *aval, apr_size_t alen, apr_int64_t ttl,
                                       const char *getkey, apr_pool_t *p, char **val,
                                       apr_size_t *len, apr_status_t *added)
{
    shs_job_t job = { .kind = SHS_JOB_ADD, .slot = slot };
    apr_status_t rv;

    *added = SHS_STORE_EDOWN;
    if ((rv = inline_admit(st, &job)) != APR_SUCCESS) {
        return rv;
    }
    rv = st->ops->add_get_within(st->ctx, slot, addkey, aval, alen, ttl, getkey, p, val, len,
                                 apr_time_now() + st->opts.timeout, added);
    if (SHS_STORE_FAILED(rv) && rv != APR_EAGAIN) {
        *added = rv; /* no answer: the add failed too */
    }
    inline_settle(st, &job, rv, *added, !SHS_STORE_FAILED(rv));
    return rv;
}

apr_status_t shs_store_add_get(shs_store_t *st, const char *addkey, const char *aval,
                               apr_size_t alen, apr_int64_t ttl, const char *getkey, apr_pool_t *p,
                               char **val, apr_size_t *len, apr_status_t *got)
{
    apr_status_t added = SHS_STORE_EDOWN, rv;
    unsigned int slot;

    *got = APR_EINIT; /* not read */
    if (!st || !addkey || !getkey) {
        return APR_EINVAL;
    }
    if (!st->ops->direct && st->replicas < 2 && st->ops->add_get_within &&
        (slot = st->ops->slot_of(st->ctx, addkey)) == st->ops->slot_of(st->ctx, getkey)) {
        rv = run_inline_add_get(st, slot, addkey, aval, alen, ttl, getkey, p, val, len, &added);
        if (rv != APR_EAGAIN) {
            if (SHS_STORE_FAILED(rv)) {
                added = rv; /* no answer (or the slot is skipped): the add failed too */
            }
            if (st->opts.account) {
                st->opts.account(st->opts.account_baton, added);
                if (!SHS_STORE_FAILED(rv)) {
                    st->opts.account(st->opts.account_baton, rv); /* the get's answer */
                }
            }
            if (added == APR_SUCCESS) {
                *got = shs_store_strip_header(rv, val, len);
            }
            return added;
        }
    }
    /* Another server each, replicas, the embedded store, or no connection to spare: the add
     * alone; the caller reads the session itself when it needs it (*got says not read). */
    return shs_store_add(st, addkey, aval, alen, ttl);
}

apr_status_t shs_store_set_quiet(shs_store_t *st, const char *key, const char *val, apr_size_t len,
                                 apr_int64_t ttl)
{
    apr_status_t rv;

    if (st && key && !st->ops->direct && st->replicas < 2 && st->ops->set_quiet_within) {
        rv = shs_store_run_inline(st, SHS_JOB_SET, 1, key, val, len, ttl, NULL, NULL, NULL);
        if (rv != APR_EAGAIN) {
            if (st->opts.account) {
                st->opts.account(st->opts.account_baton, rv);
            }
            return rv;
        }
    }
    return shs_store_set(st, key, val, len, ttl);
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
