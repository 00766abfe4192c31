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

/* Inside the store: what the replica operations (shs_store_rep.c) use of the executor
 * (shs_store.c), and what the executor and the breakers (shs_store_breaker.c) share.  Not for
 * other files. */

#ifndef SHS_STORE_INT_H
#define SHS_STORE_INT_H

#include <pthread.h>
#include <time.h>

#include "shs_store.h"

typedef enum { SHS_JOB_GET, SHS_JOB_SET, SHS_JOB_ADD, SHS_JOB_DEL } shs_job_kind_e;

typedef struct shs_job_t shs_job_t;

/* A job on a slot; set and add store hdr (hdrlen bytes) then val, copied.  NULL: no memory. */
shs_job_t *shs_job_on(shs_store_t *st, shs_job_kind_e kind, unsigned int slot, const char *key,
                      const char *hdr, apr_size_t hdrlen, const char *val, apr_size_t len,
                      apr_int64_t ttl);

/* A repair: it never probes an open breaker, and at its deadline it is dropped (queued) or
 * left to finish (running) without counting as a timeout of its slot. */
void shs_job_best_effort(shs_job_t *job);

/* What a finished get read: the raw item. */
const char *shs_job_value(const shs_job_t *job, apr_size_t *len);

/* Queue n jobs (n <= SHS_STORE_MAX_REPLICAS, distinct slots) at once and wait for all of them
 * until the deadline.  rvs[i] is the status of jobs[i]; a job handed over (left to its worker,
 * or dropped) is set to NULL. */
void shs_jobs_run(shs_store_t *st, shs_job_t **jobs, apr_status_t *rvs, int n,
                  const struct timespec *deadline);

/* Free the jobs that are still the caller's (NULL entries are skipped) and NULL them. */
void shs_jobs_free(shs_job_t **jobs, int n);

/* now + the store's timeout, on the clock the executor waits with */
struct timespec shs_store_deadline(const shs_store_t *st);

/* The slots of a key in order, at most the store's replicas. */
unsigned int shs_store_key_slots(shs_store_t *st, const char *key, unsigned int *slots);

/* Count an event and report it (opts.event). */
void shs_store_event(shs_store_t *st, shs_store_event_e ev, unsigned int slot);

/* The longest ttl given to set or add so far: 0 none yet, -1 one without a limit. */
void shs_store_note_ttl(shs_store_t *st, apr_int64_t ttl);
apr_int64_t shs_store_max_ttl(shs_store_t *st);

/* Replica operations (replicas >= 2); see shs_store.h. */
apr_status_t shs_rep_get(shs_store_t *st, const char *key, apr_pool_t *p, char **val,
                         apr_size_t *len);
apr_status_t shs_rep_set(shs_store_t *st, const char *key, const char *val, apr_size_t len,
                         apr_int64_t ttl);
apr_status_t shs_rep_add(shs_store_t *st, const char *key, const char *val, apr_size_t len,
                         apr_int64_t ttl);
apr_status_t shs_rep_del(shs_store_t *st, const char *key);

/* Draw this process's random bits of the versions (at store creation, in the child). */
void shs_store_version_init(void);

/* ------------------------------------------------------------------ between shs_store.c and
 * shs_store_breaker.c: the store's insides */

typedef enum { SHS_JOB_QUEUED, SHS_JOB_RUNNING, SHS_JOB_DONE, SHS_JOB_ABANDONED } shs_job_state_e;

struct shs_job_t {
    shs_job_t *next;
    shs_job_kind_e kind;
    shs_job_state_e state;
    unsigned int slot;
    char *key;
    char *val; /* set/add: the data; get: the result */
    apr_size_t len;
    apr_int64_t ttl;
    apr_status_t rv;
    int probe;       /* admitted as the probe of an open breaker */
    int best_effort; /* a repair: never a probe; at the deadline dropped or left to finish,
                      * not counted as a timeout */
    pthread_cond_t done;
};

typedef struct shs_breaker_t {
    shs_breaker_state_e state;
    apr_time_t until;
} shs_breaker_t;

typedef struct shs_worker_t {
    struct shs_store_t *st;
    pthread_t tid;
    int started;
    int exited;
} shs_worker_t;

struct shs_store_t {
    const shs_store_ops_t *ops;
    void *ctx;
    shs_store_opts_t opts;
    pthread_mutex_t lock;
    pthread_cond_t work;  /* a job was queued, or shutdown */
    pthread_cond_t quiet; /* a worker finished a job or exited */
    pthread_condattr_t condattr;
    shs_job_t *head, *tail;
    int queued;
    int running;
    int shutdown;
    int orphaned; /* shut down with a worker stuck: the last worker frees it */
    int nworkers;
    shs_worker_t *workers;
    unsigned int nslots;
    int *slot_running; /* jobs running per slot */
    int slot_cap;      /* at most this many per slot: what a stalled server can hold */
    shs_breaker_t *breakers;
    shs_store_stats_t stats;
    unsigned int replicas;
    apr_int64_t max_ttl; /* longest ttl given to set/add (atomic); -1: one without limit */
};

/* A breaker's change of state, reported (opts.notify) once the lock is released. */
typedef struct shs_transition_t {
    int happened;
    unsigned int slot;
    shs_breaker_state_e from, to;
    apr_status_t cause;
} shs_transition_t;

/* The breakers' clock (shs_store_test_clock), with the lock held or not. */
apr_time_t shs_breaker_now(void);
/* With the lock held: may the job pass its slot's breaker (it may become the probe)? */
int shs_breaker_admit_locked(shs_store_t *st, shs_job_t *job, apr_time_t now);
/* With the lock held: settle the job's slot's breaker after the answer rv. */
void shs_breaker_record_locked(shs_store_t *st, const shs_job_t *job, apr_status_t rv,
                               shs_transition_t *tr);
/* With the lock held: count an answered or failed operation, then the breaker. */
void shs_store_account_locked(shs_store_t *st, const shs_job_t *job, apr_status_t rv,
                              shs_transition_t *tr);
/* Without the lock: report a transition (opts.notify). */
void shs_breaker_notify(shs_store_t *st, const shs_transition_t *tr);
/* An operation on the requester's thread; APR_EAGAIN: take the worker path.  quiet: a set by
 * ops->set_quiet_within (sent, no answer awaited). */
apr_status_t shs_store_run_inline(shs_store_t *st, shs_job_kind_e kind, int quiet, const char *key,
                                  const char *val, apr_size_t len, apr_int64_t ttl, apr_pool_t *p,
                                  char **out, apr_size_t *outlen);

/* A value as stored with replicas (a versioned item) without its header: APR_NOTFOUND for a
 * tombstone; a value of one copy is given as it is.  rv: the read's status, passed through. */
apr_status_t shs_store_strip_header(apr_status_t rv, char **out, apr_size_t *outlen);

#endif /* SHS_STORE_INT_H */
