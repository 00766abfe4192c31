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

/* The embedded store: sessions in a file mapped into every process of one server, kept across
 * graceful and full restarts (design and limits at the top of shs_store_shm.c).
 *
 * Who calls what:
 *   parent, post_config (root, at every start and restart):
 *       shs_store_shm_create(pconf, path, bytes, &info, &shm)   creates, checks or reuses the
 *       file and maps it; log what info says.  The mapping and the descriptor belong to pconf.
 *   child, child_init (after fork: the child inherits the mapping, it opens nothing):
 *       shs_store_shm_ops(shm, &ops, &ctx); shs_store_create(pchild, ops, ctx, &opts, &store)
 *       (a direct backend: no worker threads are started, opts.timeout is unused but must be
 *       > 0 for shs_store_create).
 *   anywhere (status page, eviction logging): shs_store_shm_stats(shm, &stats), no lock taken.
 *
 * The file is created mode 0600, owned by the user the parent runs as (root under a normal
 * start); children never open it, so nothing that runs as the children's user (CGI scripts,
 * other daemons) can open it either.
 *
 * Capacity: the file is a 4 KiB header, a bucket array (about 0.8 % of the file) and blocks of
 * 256 bytes.  An entry takes 1 + ceil((key + value - 176) / 244) blocks: with a 70-byte key, a
 * value of up to 106 bytes (a token) takes one block, 1 KB five, 4 KB eighteen.  32 MiB hold
 * 130,000 blocks: some 25,000 sessions of 1 KB.  The longest value is SHS_SHM_VALUE_MAX from
 * 1 MiB up (one entry may take at most a quarter of the blocks): 60 KB for 256 KiB, 14 KB for
 * 64 KiB. */

#ifndef SHS_STORE_SHM_H
#define SHS_STORE_SHM_H

#include <apr_pools.h>
#include <apr_errno.h>
#include <apr_time.h>

#include "shs_store.h"

#define SHS_SHM_BLOCK 256             /* bytes of one block; an entry is a chain of blocks */
#define SHS_SHM_KEY_MAX 250           /* longest key, memcached's limit */
#define SHS_SHM_VALUE_MAX (64 * 1024) /* longest value of any store; small stores allow less */
#define SHS_SHM_FILE_MIN (64 * 1024)  /* smallest file accepted */
#define SHS_SHM_FILE_MAX ((apr_uint64_t)64 * 1024 * 1024 * 1024)
#define SHS_SHM_LOCK_WAIT apr_time_from_sec(2) /* default bound on waiting for the lock */

/* Statuses of the operations, besides those of shs_store.h:
 *   APR_EINVAL   an empty key or one longer than SHS_SHM_KEY_MAX
 *   APR_ENOSPC   set/add: the value is longer than shs_store_shm_max_value() (counted in
 *                too_large); fullness itself never fails a write, the oldest entries go
 *   APR_TIMEUP   the lock was not obtained within the lock wait (a process stopped while
 *                holding it; a process that died holding it is recovered from at once)
 *   APR_EGENERAL the shared area is damaged beyond what a rebuild repairs */

typedef struct shs_shm_t shs_shm_t;

/* What shs_store_shm_create found and did. */
typedef enum {
    SHS_SHM_NEW = 1,    /* there was no file: created, empty */
    SHS_SHM_REINIT = 2, /* a file was there but unusable (why says what): replaced, empty */
    SHS_SHM_REUSED = 3, /* reused; no process had it open: checked and repaired, entries kept */
    SHS_SHM_INUSE = 4   /* reused as it is: processes still use it (a graceful restart) */
} shs_shm_open_e;

typedef struct shs_shm_info_t {
    shs_shm_open_e how;
    const char *why;       /* SHS_SHM_REINIT: why the file found was not used */
    apr_uint32_t kept;     /* SHS_SHM_REUSED: entries found intact */
    apr_uint32_t dropped;  /* SHS_SHM_REUSED: damaged, expired or duplicate entries removed */
    apr_uint64_t capacity; /* bytes of blocks (what entries, with their keys, can fill) */
    apr_size_t max_value;  /* longest value accepted */
} shs_shm_info_t;

typedef struct shs_shm_stats_t {
    apr_uint64_t capacity; /* bytes of blocks */
    apr_uint64_t used;     /* bytes of blocks holding entries */
    apr_uint32_t entries;  /* entries stored (expired ones not yet reclaimed included) */
    apr_size_t max_value;  /* longest value accepted */
    /* Since the file was created (they survive restarts): */
    apr_uint64_t evictions;  /* live entries removed to make room for new ones */
    apr_uint64_t expired;    /* expired entries reclaimed */
    apr_uint64_t corrupt;    /* entries whose checksum failed: removed, reported missing */
    apr_uint64_t recoveries; /* rebuilds of the index: a process died holding the lock, or
                              * damage was found */
    apr_uint64_t too_large;  /* writes refused because the value was too long */
} shs_shm_stats_t;

/* Parent (post_config): open the store file at path (absolute; a local file system, ideally
 * tmpfs such as DefaultRuntimeDir) of exactly `bytes` bytes (SHS_SHM_FILE_MIN..MAX) and map it.
 *
 * A file of this format and size, a regular file owned by this user with no group or other
 * permission, is reused: as it is when other processes still have it open (graceful restart),
 * else after a check that drops damaged entries and repairs the index (first start, full
 * restart).  Anything else (no file, another format or size, a symbolic link, wrong owner or
 * mode) is replaced by a new empty store: a new file is written beside it and renamed over it,
 * so processes still using the old one are not disturbed.  info (required) says which.
 *
 * The mapping and the descriptor (close-on-exec) are released with p.  Errors: APR_EINVAL (bad
 * arguments), or the system's error creating, sizing (APR_ENOSPC...) or mapping the file. */
apr_status_t shs_store_shm_create(apr_pool_t *p, const char *path, apr_size_t bytes,
                                  shs_shm_info_t *info, shs_shm_t **out);

/* Another program (shs-token sessions): use the store file at path as it is, the size taken
 * from the file, never creating, replacing or repairing anything.  Refused (APR_EINVAL, *why
 * says why) unless it is a store file of this build that shs_store_shm_create would reuse.
 * Holds a shared lock on the file until p goes, like a server does. */
apr_status_t shs_store_shm_attach(apr_pool_t *p, const char *path, shs_shm_t **out,
                                  const char **why);

/* Child (child_init, or any process forked after create): the backend for shs_store_create.
 * ctx is shm itself.  nslots 1, slot_name "shm:PATH", direct = 1. */
void shs_store_shm_ops(shs_shm_t *shm, const shs_store_ops_t **ops, void **ctx);

/* Counters and occupancy, read without the lock (each value exact, not a snapshot of all). */
void shs_store_shm_stats(const shs_shm_t *shm, shs_shm_stats_t *out);

/* The longest value this store accepts (at most SHS_SHM_VALUE_MAX). */
apr_size_t shs_store_shm_max_value(const shs_shm_t *shm);

/* How long an operation waits for the lock before failing with APR_TIMEUP (default
 * SHS_SHM_LOCK_WAIT); per process. */
void shs_store_shm_set_lock_wait(shs_shm_t *shm, apr_interval_time_t wait);

/* ---- tests only ---------------------------------------------------------------------- */

/* Points where the test hook is called, the lock held. */
typedef enum {
    SHS_SHM_AT_LOCKED = 1,  /* the lock was just taken */
    SHS_SHM_AT_WRITING = 2, /* a new entry is half written, not yet visible */
    SHS_SHM_AT_FREEING = 3  /* an entry is marked free, its blocks not yet returned */
} shs_shm_point_e;

typedef struct shs_shm_test_hooks_t {
    void (*at)(shs_shm_point_e point); /* may be NULL */
    apr_time_t (*now)(void);           /* the clock for expiry; NULL: apr_time_now */
    /* the hash seed of a file created from now on, so that a run that depends on where
     * entries land can be repeated; NULL: random */
    apr_uint64_t (*seed)(void);
} shs_shm_test_hooks_t;

/* Install hooks for this process (NULL removes them).  Never used by the module. */
void shs_store_shm_test_hooks(const shs_shm_test_hooks_t *hooks);

#endif /* SHS_STORE_SHM_H */
