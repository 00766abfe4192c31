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
 * (shs_store.c).  Not for other files. */

#ifndef SHS_STORE_INT_H
#define SHS_STORE_INT_H

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

#endif /* SHS_STORE_INT_H */
