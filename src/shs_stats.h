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

/* Live counters, shared by every child process of a server: a fixed block of 64-bit counters
 * (in shared memory, see shs_status.c) changed with apr_atomic_*64, no lock.  This
 * file has the table of counters and their rendering (plain text and Prometheus); it calls
 * no httpd function. */

#ifndef SHS_STATS_H
#define SHS_STATS_H

#include <apr_pools.h>
#include <apr_time.h>

#include "shs_refusal.h"

typedef enum {
    SHS_C_LOADS = 0,    /* sessions asked from memcached */
    SHS_C_HITS,         /* ... found */
    SHS_C_MISSES,       /* ... unknown or expired (not adopted) */
    SHS_C_SAVES,        /* sessions written */
    SHS_C_CREATES,      /* new ids issued */
    SHS_C_DELETES,      /* sessions emptied (logouts) */
    SHS_C_ROTATIONS,    /* ids changed at a change of identity */
    SHS_C_STORE_OPS,    /* memcached operations */
    SHS_C_STORE_ERRORS, /* ... that failed */
    SHS_C_STORE_TIMEOUTS,
    SHS_C_STORE_SKIPPED,  /* refused at once: the server's breaker was open */
    SHS_C_PAGES_TAGGED,   /* HTML pages that got loader tags */
    SHS_C_TAGS,           /* loader tags injected */
    SHS_C_CB_ACCEPTED,    /* sessions received by the callback */
    SHS_C_BOUNCES,        /* navigations bounced through the hub */
    SHS_C_NO_COOKIES,     /* ... whose client kept no cookies */
    SHS_C_ATTACHES,       /* sessions handed out by the hub */
    SHS_C_ATTACH_REFUSED, /* attach requests refused (bad or replayed token) */
    SHS_C_CLIENT_ERRORS,  /* malformed cookies and requests of clients, ignored */
    SHS_C_STORE_REFUSED,  /* stored values that did not open (forged, altered, unsealed) */
    SHS_C_COUNT
} shs_counter_e;

#define SHS_STATS_MAX_SERVERS 32

/* What the copies of a server did, with SharedSessionMemcacheReplicas 2 or more (the store's
 * shs_store_event_e, in the same order). */
typedef enum {
    SHS_RE_FALLBACK = 0, /* a read answered by this server's copy after another failed or missed */
    SHS_RE_REPAIR,       /* a missing or older copy written again here */
    SHS_RE_STALE,        /* this server's copy was found missing or older */
    SHS_RE_TOMBSTONE,    /* a logout left a tombstone here */
    SHS_RE_COUNT
} shs_replica_event_e;

typedef struct shs_stats_server_t {
    apr_uint64_t down;       /* 1 while the last report of any process said "down" */
    apr_uint64_t failures;   /* times a process saw it fail (breaker opened) */
    apr_uint64_t recoveries; /* times a process saw it answer again */
    apr_uint64_t since;      /* apr_time_t of the last change */
    apr_uint64_t replica[SHS_RE_COUNT];
} shs_stats_server_t;

/* The shared block.  Only ever touched through the functions below. */
typedef struct shs_stats_t {
    apr_uint64_t started; /* apr_time_t: when the block was made (server start or restart) */
    apr_uint64_t c[SHS_C_COUNT];
    apr_uint64_t refused[SHS_REFUSAL_ROWS]; /* callbacks refused, by shs_refusal_row() */
    shs_stats_server_t servers[SHS_STATS_MAX_SERVERS];
} shs_stats_t;

void shs_stats_init(shs_stats_t *st);

/* All no-ops when st is NULL. */
void shs_stats_add(shs_stats_t *st, shs_counter_e c, apr_uint64_t n);
/* A callback refused for `why`: counted in its row of the status page (shs_refusal_row). */
void shs_stats_refused(shs_stats_t *st, shs_refusal_e why);
void shs_stats_server(shs_stats_t *st, unsigned int slot, int down);
void shs_stats_replica(shs_stats_t *st, unsigned int slot, shs_replica_event_e ev);

/* Render a consistent-enough copy (each counter read atomically). names[i] is the name of
 * memcached slot i, nservers of them. */
const char *shs_stats_text(apr_pool_t *p, shs_stats_t *st, const char *const *names, int nservers,
                           apr_time_t now);
const char *shs_stats_prometheus(apr_pool_t *p, shs_stats_t *st, const char *const *names,
                                 int nservers);

#endif /* SHS_STATS_H */
