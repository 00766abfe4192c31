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

/* The embedded store: a file mapped MAP_SHARED by every process of one server.  This file:
 * the file's life, the lock, the operations; shs_store_shm_index.c: the index inside it;
 * shs_store_shm_rebuild.c: the index made again from the entries.
 *
 * Why a file of our own.  mod_socache_shmcb recreates its segment at every restart (all
 * sessions lost each night at logrotate's graceful restart).  ap_slotmem (mod_slotmem_shm)
 * keeps its segments across restarts, but it is an httpd module (not testable without httpd,
 * and one more module to load), has slots of one size only (every 70-byte token would take a
 * slot sized for the largest session), no lookup by key and no lock: an index and a lock
 * would be ours anyway.  A file mapped by the parent before it forks is seen by every child
 * with no set-up, lives as long as the file, and is plain C over POSIX.
 *
 * Layout (offsets only, no pointers; everything fixed when the file is created):
 *   [header, 4 KiB]  format and geometry (never written after creation), the lock, list heads,
 *                    counters
 *   [buckets]        uint32 block index of the first entry of each hash chain (power of two)
 *   [blocks]         SHS_SHM_BLOCK bytes each.  Every block starts with {next, owner, kind,
 *                    mark}.  An entry is a chain of blocks: a head block (kind HEAD: hash-chain
 *                    and LRU links, lengths, key hash, expiry, write and use sequence numbers,
 *                    a checksum) then DATA blocks, each naming the head as its owner; the bytes
 *                    key||value run across the chain (176 bytes in the head, 244 in each other
 *                    block).  Unused blocks (kind FREE) form the free list.
 *
 * Locking.  One process-shared, robust, error-checking pthread mutex in the header guards all
 * of it; it is held for a hash lookup and a copy of at most one value (microseconds), never
 * across a system call that can block.  Waiting for it is bounded (APR_TIMEUP), so a process
 * stopped while holding it costs requests the lock wait, not a hang.  A process that dies
 * holding it (the kernel then marks the mutex, EOWNERDEAD) leaves the index possibly half
 * changed: the next process to lock rebuilds it before going on (below).
 *
 * Integrity.  The checksum (64-bit, seeded per file) covers the lengths, key hash, expiry, write
 * sequence, key and value; it is checked on every read, and an entry that fails it is removed
 * and reported missing: a value is never returned for the wrong key or half written.  Writes
 * are ordered so that a death at any point leaves only complete entries marked HEAD: a new
 * entry is written in full, its checksum stored, linked, then marked HEAD; an entry is removed
 * by marking it GONE first (so a deleted session never comes back), then unlinking it.  Every
 * index read from the shared area is range-checked before use; a broken link (to a block out
 * of range, free, of data, or to an entry of another bucket), a block of the wrong kind or
 * owner, a chain of the wrong length, a bucket that does not hold its entry all make the
 * operation rebuild the index and retry once (APR_EGENERAL if it is still wrong).
 *
 * Rebuild (a death under the lock, damage found, or every reuse of a file nobody has open):
 * walk each bucket's chain as a lookup does, up to its first broken link; keep each HEAD met
 * whose chain of blocks is well formed (in range, DATA, owned by it, claimed by no other entry,
 * of the right number), whose key has its key hash and that has not expired; of two entries
 * with the same key keep the first, the one lookups found; drop every other entry, in
 * particular one that no chain reaches (a damaged link can hide an entry from lookups: its key
 * is then reported missing and may be written and deleted again, so bringing it back would undo
 * that delete).  Then rebuild the LRU order from the use sequence numbers (a merge sort on the
 * list links, no allocation) and put every unclaimed block on the free list.  Damage thus costs
 * the entries behind a broken link, and a rebuild never brings back an entry lookups had lost.
 * Checksums are checked too when a file nobody had open is reused (a crashed machine may have
 * torn its pages); after a death under the lock the structure is enough (a HEAD is always
 * complete, reads check the checksum) and the lock is held for less than half the time: measured
 * (2 vCPUs, full stores of 1000-byte values) 8 ms for 32 MB and 128 ms for 256 MB, 32 and
 * 284 ms with the checksums.  Walking the chains reads the blocks out of order: the scan in
 * block order it replaced took 4 and 73 ms, but relinked entries lookups could not reach.
 *
 * Expiry and eviction.  Expiry is absolute wall-clock time (apr_time_t) since it must survive
 * restarts.  An expired entry is reclaimed when it is looked up, when a sweep that advances a
 * few blocks at every write passes it, or when it reaches the LRU tail; reclaiming it is
 * counted as expired, not as an eviction.  When a write needs more free blocks than there are,
 * entries are taken from the tail of the LRU list (least recently read or written) until it
 * fits; each live one removed counts as an eviction.  An entry may use at most a quarter of the
 * blocks, so a write never fails because the store is full; only a value longer than
 * shs_store_shm_max_value() is refused (APR_ENOSPC).
 *
 * Restarts.  The parent opens the file in post_config (every start and restart) and maps it;
 * the children inherit the mapping and the descriptor at fork and open nothing.  Every process
 * holding the descriptor holds a shared flock() on the file, so at post_config the parent
 * knows whether processes of the previous generation still use it (graceful restart: they
 * hold the lock; the file is reused as it is, the mutex untouched) or nobody does (first start,
 * full restart after the children exited: the mutex is initialised again, since a dead owner's
 * state from a crashed machine cannot be trusted, and the index rebuilt).  A file that cannot
 * be reused is never changed in place: a new one is written beside it and renamed over it.
 * The file should be on tmpfs (DefaultRuntimeDir: /run/apache2 on Debian): on a disk file
 * system the kernel writes the dirty pages back periodically for nothing (it would survive a
 * reboot, expired entries dropped at the first start).
 *
 * Cost, measured (2 vCPUs, 1000-byte values, 70-byte keys): about 1 us per operation, some
 * 700,000 operations a second from 1 to 4 processes, against some 50 us of round trip to a
 * memcached on the same machine. */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "shs_store_shm.h"
#include "shs_store_shm_index.h"

#define SHM_MAGIC "SHSSTORE"
#define SHM_VERSION 1u
#define SHM_READY 0x52454459u
#define SHM_ENDIAN 0x01020304u
#define HDR_BYTES SHS_SHMI_HDR_BYTES
#define BLK SHS_SHM_BLOCK
#define TTL_MAX ((apr_int64_t)100 * 365 * 24 * 3600)

typedef shs_shmi_hdr_t shm_hdr_t;

typedef struct geom_t {
    uint64_t bytes;
    uint32_t nblocks;
    uint32_t nbuckets;
    uint32_t max_blocks;
    uint64_t buckets_off;
    uint64_t blocks_off;
} geom_t;

struct shs_shm_t {
    const char *path;
    const char *slot_name;
    int fd;
    unsigned char *base;
    apr_size_t len;
    shs_shmi_t x;
    apr_interval_time_t lock_wait;
};

shs_shm_test_hooks_t shs_shmi_hooks;

/* ------------------------------------------------------------------ the lock */

static apr_time_t now_time(void)
{
    return shs_shmi_hooks.now ? shs_shmi_hooks.now() : apr_time_now();
}

static apr_status_t shm_lock(shs_shm_t *s)
{
    struct timespec ts;
    apr_time_t until = apr_time_now() + s->lock_wait;
    int r;

    ts.tv_sec = (time_t)apr_time_sec(until);
    ts.tv_nsec = (long)apr_time_usec(until) * 1000;
    r = pthread_mutex_timedlock(&s->x.h->lock, &ts);
    if (r == EOWNERDEAD) {
        /* its owner died in the middle of a change: make everything consistent again */
        shs_shmi_rebuild(&s->x, 0, NULL, NULL);
        if ((r = pthread_mutex_consistent(&s->x.h->lock)) != 0) {
            pthread_mutex_unlock(&s->x.h->lock);
        }
    }
    if (r == ETIMEDOUT) {
        return APR_TIMEUP;
    }
    if (r != 0) {
        return APR_FROM_OS_ERROR(r);
    }
    if (shs_shmi_hooks.at) {
        shs_shmi_hooks.at(SHS_SHM_AT_LOCKED);
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ operations */

static apr_status_t run(shs_shm_t *s, shs_shmi_op_t *op)
{
    apr_status_t rv = shs_shmi_prepare(&s->x, op);
    int attempt, r = SHS_SHMI_DAMAGED;

    if (rv != APR_SUCCESS || (rv = shm_lock(s)) != APR_SUCCESS) {
        return rv;
    }
    for (attempt = 0; attempt < 2 && r == SHS_SHMI_DAMAGED; attempt++) {
        r = shs_shmi_run(&s->x, op, now_time());
        if (r == SHS_SHMI_DAMAGED) {
            shs_shmi_rebuild(&s->x, 0, NULL, NULL);
            r = op->done ? APR_SUCCESS : r;
        }
    }
    pthread_mutex_unlock(&s->x.h->lock);
    return r == SHS_SHMI_DAMAGED ? APR_EGENERAL : r;
}

static apr_int64_t expiry_of(apr_int64_t ttl)
{
    if (ttl <= 0) {
        return 0; /* no limit, as for memcached */
    }
    if (ttl > TTL_MAX) {
        ttl = TTL_MAX;
    }
    return now_time() + apr_time_from_sec(ttl);
}

static unsigned int shm_nslots(void *ctx)
{
    return 1;
}

static unsigned int shm_slot_of(void *ctx, const char *key)
{
    return 0;
}

static const char *shm_slot_name(void *ctx, unsigned int slot)
{
    return ((shs_shm_t *)ctx)->slot_name;
}

static apr_status_t shm_get(void *ctx, unsigned int slot, const char *key, apr_pool_t *p,
                            char **val, apr_size_t *len)
{
    shs_shmi_op_t op = { .kind = SHS_SHMI_GET, .key = key, .pool = p };
    apr_status_t rv;

    if (!p || !val || !len) {
        return APR_EINVAL;
    }
    rv = run(ctx, &op);
    if (rv == APR_SUCCESS) {
        *val = op.out;
        *len = op.outlen;
    }
    return rv;
}

static apr_status_t shm_set(void *ctx, unsigned int slot, const char *key, const char *val,
                            apr_size_t len, apr_int64_t ttl)
{
    shs_shmi_op_t op = {
        .kind = SHS_SHMI_SET, .key = key, .val = val, .vlen = len, .expires = expiry_of(ttl)
    };

    return run(ctx, &op);
}

static apr_status_t shm_add(void *ctx, unsigned int slot, const char *key, const char *val,
                            apr_size_t len, apr_int64_t ttl)
{
    shs_shmi_op_t op = {
        .kind = SHS_SHMI_ADD, .key = key, .val = val, .vlen = len, .expires = expiry_of(ttl)
    };

    return run(ctx, &op);
}

static apr_status_t shm_del(void *ctx, unsigned int slot, const char *key)
{
    shs_shmi_op_t op = { .kind = SHS_SHMI_DEL, .key = key };

    return run(ctx, &op);
}

static const shs_store_ops_t shm_ops = {
    .name = "shm",
    .nslots = shm_nslots,
    .slot_of = shm_slot_of,
    .slot_name = shm_slot_name,
    .get = shm_get,
    .set = shm_set,
    .add = shm_add,
    .del = shm_del,
    .direct = 1,
};

/* ------------------------------------------------------------------ the file */

static int geometry(apr_uint64_t bytes, geom_t *g)
{
    uint64_t n0, nb = 16, bucket_bytes, n;

    if (bytes < SHS_SHM_FILE_MIN || bytes > SHS_SHM_FILE_MAX) {
        return 0;
    }
    n0 = (bytes - HDR_BYTES) / BLK;
    while (nb < n0 / 2) {
        nb <<= 1;
    }
    bucket_bytes = (nb * sizeof(uint32_t) + BLK - 1) / BLK * BLK;
    n = (bytes - HDR_BYTES - bucket_bytes) / BLK;
    if (n < 16 || n >= SHS_SHMI_NIL) {
        return 0;
    }
    g->bytes = bytes;
    g->nblocks = (uint32_t)n;
    g->nbuckets = (uint32_t)nb;
    g->buckets_off = HDR_BYTES;
    g->blocks_off = HDR_BYTES + bucket_bytes;
    g->max_blocks = shs_shmi_blocks_for(SHS_SHM_KEY_MAX + SHS_SHM_VALUE_MAX);
    if (g->max_blocks > g->nblocks / 4) {
        g->max_blocks = g->nblocks / 4;
    }
    return 1;
}

static void attach_geometry(shs_shm_t *s, const geom_t *g)
{
    uint64_t room = shs_shmi_room_of(g->max_blocks) - SHS_SHM_KEY_MAX;

    s->x.h = (shm_hdr_t *)(void *)s->base;
    s->x.buckets = (uint32_t *)(void *)(s->base + g->buckets_off);
    s->x.blocks = s->base + g->blocks_off;
    s->x.nblocks = g->nblocks;
    s->x.mask = g->nbuckets - 1;
    s->x.max_blocks = g->max_blocks;
    s->x.max_value = room < SHS_SHM_VALUE_MAX ? (apr_size_t)room : SHS_SHM_VALUE_MAX;
}

static apr_status_t mutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    int r;

    memset(m, 0, sizeof(*m));
    if ((r = pthread_mutexattr_init(&a)) != 0) {
        return APR_FROM_OS_ERROR(r);
    }
    if ((r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)) == 0 &&
        (r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)) == 0 &&
        (r = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK)) == 0) {
        r = pthread_mutex_init(m, &a);
    }
    pthread_mutexattr_destroy(&a);
    return r ? APR_FROM_OS_ERROR(r) : APR_SUCCESS;
}

/* Why the mapped file at s cannot be used with geometry g, or NULL. */
static const char *header_problem(shs_shm_t *s, const geom_t *g, apr_pool_t *p)
{
    const shm_hdr_t *h = (const shm_hdr_t *)(const void *)s->base;

    if (memcmp(h->magic, SHM_MAGIC, 8) != 0) {
        return "not a session store file";
    }
    if (h->version != SHM_VERSION || h->endian != SHM_ENDIAN ||
        h->abi_mutex != sizeof(pthread_mutex_t) || h->abi_hdr != sizeof(shm_hdr_t) ||
        h->block != BLK) {
        return "written by another version or build of the module";
    }
    if (h->ready != SHM_READY) {
        return "its creation never finished";
    }
    if (h->bytes != g->bytes || h->nblocks != g->nblocks || h->nbuckets != g->nbuckets ||
        h->max_blocks != g->max_blocks || h->buckets_off != g->buckets_off ||
        h->blocks_off != g->blocks_off) {
        return apr_psprintf(p, "its layout is not that of %" APR_UINT64_T_FMT " bytes", g->bytes);
    }
    return NULL;
}

/* Why the open file fd cannot be reused, or NULL. */
static const char *file_problem(int fd, const geom_t *g, apr_pool_t *p)
{
    struct stat sb;

    if (fstat(fd, &sb) != 0) {
        return apr_psprintf(p, "fstat failed (errno %d)", errno);
    }
    if (!S_ISREG(sb.st_mode)) {
        return "not a regular file";
    }
    if (sb.st_uid != geteuid()) {
        return apr_psprintf(p, "owned by uid %ld, not %ld", (long)sb.st_uid, (long)geteuid());
    }
    if (sb.st_mode & 077) {
        return apr_psprintf(p, "mode %04o gives access to others", (unsigned)(sb.st_mode & 07777));
    }
    if (sb.st_nlink != 1) {
        return "it has other hard links";
    }
    if ((apr_uint64_t)sb.st_size != g->bytes) {
        return apr_psprintf(
            p, "%" APR_UINT64_T_FMT " bytes, the configured size is %" APR_UINT64_T_FMT,
            (apr_uint64_t)sb.st_size, g->bytes);
    }
    return NULL;
}

static apr_status_t shm_cleanup(void *data)
{
    shs_shm_t *s = data;

    if (s->base) {
        munmap(s->base, s->len);
        s->base = NULL;
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    return APR_SUCCESS;
}

static apr_status_t map_file(shs_shm_t *s, apr_size_t bytes)
{
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);

    if (m == MAP_FAILED) {
        return APR_FROM_OS_ERROR(errno);
    }
    s->base = m;
    s->len = bytes;
    return APR_SUCCESS;
}

/* Lay out an empty store in the mapped (zero-filled) file. */
static apr_status_t layout(shs_shm_t *s, const geom_t *g)
{
    shm_hdr_t *h = (shm_hdr_t *)(void *)s->base;
    uint64_t seed = 0;
    apr_status_t rv;

    memset(h, 0, HDR_BYTES);
    if (shs_shmi_hooks.seed) {
        seed = shs_shmi_hooks.seed();
    }
    else if (apr_generate_random_bytes((unsigned char *)&seed, sizeof(seed)) != APR_SUCCESS) {
        seed = (uint64_t)apr_time_now() ^ ((uint64_t)getpid() << 32);
    }
    memcpy(h->magic, SHM_MAGIC, 8);
    h->version = SHM_VERSION;
    h->endian = SHM_ENDIAN;
    h->abi_mutex = sizeof(pthread_mutex_t);
    h->abi_hdr = sizeof(shm_hdr_t);
    h->bytes = g->bytes;
    h->block = BLK;
    h->nblocks = g->nblocks;
    h->nbuckets = g->nbuckets;
    h->max_blocks = g->max_blocks;
    h->buckets_off = g->buckets_off;
    h->blocks_off = g->blocks_off;
    h->seed = seed;
    h->created = apr_time_now();
    if ((rv = mutex_init(&h->lock)) != APR_SUCCESS) {
        return rv;
    }
    attach_geometry(s, g);
    s->x.seed = seed;
    shs_shmi_format(&s->x);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    h->ready = SHM_READY; /* last: a file whose creation was cut short is never used */
    return APR_SUCCESS;
}

/* Write a new empty store beside path and rename it over path. */
static apr_status_t create_new(shs_shm_t *s, apr_pool_t *p, const geom_t *g)
{
    char *tmp = apr_pstrcat(p, s->path, ".XXXXXX", NULL);
    apr_status_t rv;
    int r;

    s->fd = mkostemp(tmp, O_CLOEXEC);
    if (s->fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    /* mkostemp creates it 0600; a reader of the new name sees it complete or not at all */
    if (flock(s->fd, LOCK_EX | LOCK_NB) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        goto fail;
    }
    if ((r = posix_fallocate(s->fd, 0, (off_t)g->bytes)) != 0) {
        rv = APR_FROM_OS_ERROR(r); /* ENOSPC: better now than SIGBUS later */
        goto fail;
    }
    if ((rv = map_file(s, g->bytes)) != APR_SUCCESS || (rv = layout(s, g)) != APR_SUCCESS) {
        goto fail;
    }
    if (rename(tmp, s->path) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        goto fail;
    }
    flock(s->fd, LOCK_SH); /* a conversion of our own lock: cannot block */
    return APR_SUCCESS;
fail:
    unlink(tmp);
    shm_cleanup(s);
    return rv;
}

/* A store object for path with the file opened, never created (fd -1 and errno set when it
 * cannot be opened: no file, or a symbolic link). */
static shs_shm_t *shm_open_file(apr_pool_t *p, const char *path)
{
    shs_shm_t *s = apr_pcalloc(p, sizeof(*s));

    s->path = apr_pstrdup(p, path);
    s->slot_name = apr_pstrcat(p, "shm:", path, NULL);
    s->lock_wait = SHS_SHM_LOCK_WAIT;
    s->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
    return s;
}

apr_status_t shs_store_shm_create(apr_pool_t *p, const char *path, apr_size_t bytes,
                                  shs_shm_info_t *info, shs_shm_t **out)
{
    shs_shm_t *s;
    geom_t g;
    apr_status_t rv;
    const char *why = NULL;
    int had_file = 0;

    if (!p || !path || !*path || !info || !out || !geometry(bytes, &g)) {
        return APR_EINVAL;
    }
    memset(info, 0, sizeof(*info));
    s = shm_open_file(p, path);
    if (s->fd < 0) {
        if (errno == ELOOP) {
            had_file = 1;
            why = "a symbolic link";
        }
        else if (errno != ENOENT) {
            return APR_FROM_OS_ERROR(errno);
        }
    }
    else {
        int exclusive = flock(s->fd, LOCK_EX | LOCK_NB) == 0;
        had_file = 1;
        if (!exclusive && errno != EWOULDBLOCK) {
            rv = APR_FROM_OS_ERROR(errno);
            shm_cleanup(s);
            return rv;
        }
        if (!exclusive && flock(s->fd, LOCK_SH | LOCK_NB) != 0) {
            /* another process holds it exclusively: it is creating or checking it */
            rv = APR_FROM_OS_ERROR(errno);
            shm_cleanup(s);
            return rv;
        }
        why = file_problem(s->fd, &g, p);
        if (!why) {
            if ((rv = map_file(s, g.bytes)) != APR_SUCCESS) {
                shm_cleanup(s);
                return rv;
            }
            why = header_problem(s, &g, p);
        }
        if (!why) {
            attach_geometry(s, &g);
            s->x.seed = s->x.h->seed;
            if (exclusive) {
                /* nobody else has it: whatever state the mutex was left in, start afresh */
                if ((rv = mutex_init(&s->x.h->lock)) != APR_SUCCESS) {
                    shm_cleanup(s);
                    return rv;
                }
                pthread_mutex_lock(&s->x.h->lock);
                shs_shmi_rebuild(&s->x, 1, &info->kept, &info->dropped);
                pthread_mutex_unlock(&s->x.h->lock);
                flock(s->fd, LOCK_SH);
                info->how = SHS_SHM_REUSED;
            }
            else {
                info->how = SHS_SHM_INUSE;
            }
        }
        else {
            shm_cleanup(s);
        }
    }
    if (why || s->fd < 0) {
        if ((rv = create_new(s, p, &g)) != APR_SUCCESS) {
            return rv;
        }
        info->how = had_file ? SHS_SHM_REINIT : SHS_SHM_NEW;
        info->why = why;
    }
    apr_pool_cleanup_register(p, s, shm_cleanup, apr_pool_cleanup_null);
    info->capacity = (apr_uint64_t)s->x.nblocks * BLK;
    info->max_value = s->x.max_value;
    *out = s;
    return APR_SUCCESS;
}

apr_status_t shs_store_shm_attach(apr_pool_t *p, const char *path, shs_shm_t **out,
                                  const char **why)
{
    shs_shm_t *s;
    struct stat sb;
    geom_t g;
    apr_status_t rv;

    *why = NULL;
    if (!p || !path || !*path || !out) {
        return APR_EINVAL;
    }
    s = shm_open_file(p, path);
    if (s->fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (fstat(s->fd, &sb) != 0 || !geometry((apr_uint64_t)sb.st_size, &g)) {
        *why = "its size is not that of a session store";
    }
    else if (flock(s->fd, LOCK_SH | LOCK_NB) != 0) {
        *why = "a server is creating or checking it (locked exclusively)";
    }
    else if (!(*why = file_problem(s->fd, &g, p))) {
        if ((rv = map_file(s, g.bytes)) != APR_SUCCESS) {
            shm_cleanup(s);
            return rv;
        }
        *why = header_problem(s, &g, p);
    }
    if (*why) {
        shm_cleanup(s);
        return APR_EINVAL;
    }
    attach_geometry(s, &g);
    s->x.seed = s->x.h->seed;
    apr_pool_cleanup_register(p, s, shm_cleanup, apr_pool_cleanup_null);
    *out = s;
    return APR_SUCCESS;
}

void shs_store_shm_ops(shs_shm_t *shm, const shs_store_ops_t **ops, void **ctx)
{
    *ops = &shm_ops;
    *ctx = shm;
}

void shs_store_shm_stats(const shs_shm_t *s, shs_shm_stats_t *out)
{
    const shm_hdr_t *h = s->x.h;
    uint32_t free_count = __atomic_load_n(&h->free_count, __ATOMIC_RELAXED);

    memset(out, 0, sizeof(*out));
    out->capacity = (apr_uint64_t)s->x.nblocks * BLK;
    out->used = free_count <= s->x.nblocks ? (apr_uint64_t)(s->x.nblocks - free_count) * BLK : 0;
    out->entries = __atomic_load_n(&h->entries, __ATOMIC_RELAXED);
    out->max_value = s->x.max_value;
    out->evictions = __atomic_load_n(&h->evictions, __ATOMIC_RELAXED);
    out->expired = __atomic_load_n(&h->expired, __ATOMIC_RELAXED);
    out->corrupt = __atomic_load_n(&h->corrupt, __ATOMIC_RELAXED);
    out->recoveries = __atomic_load_n(&h->recoveries, __ATOMIC_RELAXED);
    out->too_large = __atomic_load_n(&h->too_large, __ATOMIC_RELAXED);
}

apr_size_t shs_store_shm_max_value(const shs_shm_t *s)
{
    return s->x.max_value;
}

void shs_store_shm_set_lock_wait(shs_shm_t *s, apr_interval_time_t wait)
{
    s->lock_wait = wait > 0 ? wait : 0;
}

void shs_store_shm_test_hooks(const shs_shm_test_hooks_t *h)
{
    if (h) {
        shs_shmi_hooks = *h;
    }
    else {
        memset(&shs_shmi_hooks, 0, sizeof(shs_shmi_hooks));
    }
}
