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

/* The embedded store: a file mapped MAP_SHARED by every process of one server.
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
 * entry is written in full, its checksum stored, then marked HEAD and linked; an entry is
 * removed by marking it FREE first (so a deleted session never comes back), then unlinking it.
 * Every index read from the shared area is range-checked; a broken link, a chain of the wrong
 * kind or length, a bucket that does not hold its entry all make the operation rebuild the
 * index and retry once.
 *
 * Rebuild (a death under the lock, damage found, or every reuse of a file nobody has open):
 * scan all blocks; keep each HEAD whose chain is well formed, claims no block another entry
 * claims, passes its checksum and has not expired; of two entries with the same key keep the
 * later write; rehash them, rebuild the LRU order from the use sequence numbers (a merge sort
 * on the list links, no allocation) and put every unclaimed block on the free list.
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
 * reboot, expired entries dropped at the first start). */

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

#define SHM_MAGIC "SHSSTORE"
#define SHM_VERSION 1u
#define SHM_READY 0x52454459u
#define SHM_ENDIAN 0x01020304u
#define HDR_BYTES 4096u
#define BLK SHS_SHM_BLOCK
#define NIL 0xffffffffu
#define KIND_FREE 0x4652u
#define KIND_HEAD 0x4844u
#define KIND_DATA 0x4441u
#define KIND_NEW 0x4e57u /* taken off the free list for an entry being written */
#define SWEEP_WRITE 8u  /* blocks the sweep passes at every write */
#define SWEEP_ROOM 64u  /* blocks it passes before each eviction */
#define TTL_MAX ((apr_int64_t)100 * 365 * 24 * 3600)
#define SALT_CSUM 0x6a09e667f3bcc909ULL

/* Internal result besides APR statuses: the shared area is inconsistent. */
#define DAMAGED (-1)

typedef struct shm_hdr_t {
    /* written once, when the file is created */
    char magic[8];
    uint32_t version;
    uint32_t endian;
    uint32_t abi_mutex; /* sizeof(pthread_mutex_t) */
    uint32_t abi_hdr;   /* sizeof(shm_hdr_t) */
    uint64_t bytes;
    uint32_t block;
    uint32_t nblocks;
    uint32_t nbuckets;
    uint32_t max_blocks; /* of one entry */
    uint64_t buckets_off;
    uint64_t blocks_off;
    uint64_t seed;
    int64_t created;
    uint32_t ready;
    uint32_t reserved;
    /* under the lock */
    pthread_mutex_t lock __attribute__((aligned(64)));
    uint64_t seq; /* last write or use sequence number given */
    uint32_t free_head;
    uint32_t free_count; /* read without the lock by stats */
    uint32_t lru_head;   /* most recently used */
    uint32_t lru_tail;
    uint32_t entries; /* read without the lock by stats */
    uint32_t sweep;   /* next block the sweep looks at */
    /* counters, atomic */
    uint64_t evictions;
    uint64_t expired;
    uint64_t corrupt;
    uint64_t recoveries;
    uint64_t too_large;
} shm_hdr_t;

typedef struct blk_t {
    uint32_t next;  /* chain: next block of the entry; free list: next free block */
    uint32_t owner; /* HEAD and DATA: the entry's head block */
    uint16_t kind;
    uint16_t mark; /* used while rebuilding */
} blk_t;

typedef struct head_t {
    blk_t b;
    uint32_t hnext;
    uint32_t lru_prev;
    uint32_t lru_next;
    uint32_t nblk;
    uint32_t klen;
    uint32_t vlen;
    uint64_t khash;
    int64_t expires; /* apr_time_t; 0: never */
    uint64_t wseq;
    uint64_t useq; /* not checksummed: only orders eviction */
    uint64_t csum;
} head_t;

_Static_assert(sizeof(shm_hdr_t) <= HDR_BYTES, "header fits its page");
_Static_assert(sizeof(blk_t) == 12, "block header");
_Static_assert(sizeof(head_t) == 80, "entry header");

#define HEAD_ROOM (BLK - (uint32_t)sizeof(head_t))
#define DATA_ROOM (BLK - (uint32_t)sizeof(blk_t))

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
    shm_hdr_t *h;
    uint32_t *buckets;
    unsigned char *blocks;
    /* copies of the geometry, checked at open: a stray write to the header cannot move them */
    uint32_t nblocks;
    uint32_t mask; /* nbuckets - 1 */
    uint32_t max_blocks;
    uint64_t seed;
    apr_size_t max_value;
    apr_interval_time_t lock_wait;
};

static shs_shm_test_hooks_t hooks;

/* ------------------------------------------------------------------ hashing */

/* A seeded 64-bit hash fed in pieces: the same result however the bytes are split, so a value
 * can be checked as it is copied out of its chain.  For bucket choice and for detecting
 * damage, not against an adversary who can write the file. */
typedef struct hstate_t {
    uint64_t h;
    uint64_t total;
    unsigned char tail[8];
    unsigned ntail;
} hstate_t;

#define HK1 0x9e3779b97f4a7c15ULL
#define HK2 0xbf58476d1ce4e5b9ULL
#define HK3 0x94d049bb133111ebULL

static uint64_t rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t h_word(uint64_t h, uint64_t w)
{
    w *= HK2;
    w = rotl64(w, 31);
    h ^= w * HK1;
    return rotl64(h, 27) * HK3 + HK1;
}

static void h_init(hstate_t *st, uint64_t seed)
{
    st->h = seed ^ HK3;
    st->total = 0;
    st->ntail = 0;
}

static void h_update(hstate_t *st, const void *data, apr_size_t n)
{
    const unsigned char *p = data;
    uint64_t w;

    st->total += n;
    if (st->ntail) {
        while (n && st->ntail < 8) {
            st->tail[st->ntail++] = *p++;
            n--;
        }
        if (st->ntail < 8) {
            return;
        }
        memcpy(&w, st->tail, 8);
        st->h = h_word(st->h, w);
        st->ntail = 0;
    }
    while (n >= 8) {
        memcpy(&w, p, 8);
        st->h = h_word(st->h, w);
        p += 8;
        n -= 8;
    }
    memcpy(st->tail, p, n);
    st->ntail = (unsigned)n;
}

static uint64_t h_final(const hstate_t *st)
{
    uint64_t h = st->h, w = 0;

    if (st->ntail) {
        memcpy(&w, st->tail, st->ntail);
        h = h_word(h, w ^ ((uint64_t)st->ntail << 56));
    }
    h = h_word(h, st->total);
    h ^= h >> 30;
    h *= HK2;
    h ^= h >> 27;
    h *= HK3;
    h ^= h >> 31;
    return h;
}

static uint64_t key_hash(uint64_t seed, const char *key, apr_size_t klen)
{
    hstate_t st;

    h_init(&st, seed);
    h_update(&st, key, klen);
    return h_final(&st);
}

/* The checksum: key and value (fed by the caller), then the checked head fields. */
static uint64_t csum_final(const hstate_t *kv, const head_t *e)
{
    hstate_t st = *kv;
    uint64_t f[6];

    f[0] = ((uint64_t)e->klen << 32) | e->vlen;
    f[1] = e->nblk;
    f[2] = e->khash;
    f[3] = (uint64_t)e->expires;
    f[4] = e->wseq;
    f[5] = SALT_CSUM;
    h_update(&st, f, sizeof(f));
    return h_final(&st);
}

/* ------------------------------------------------------------------ blocks and lists */

static uint32_t blocks_for(uint64_t total)
{
    if (total <= HEAD_ROOM) {
        return 1;
    }
    return 1 + (uint32_t)((total - HEAD_ROOM + DATA_ROOM - 1) / DATA_ROOM);
}

static uint64_t room_of(uint32_t nblk)
{
    return HEAD_ROOM + (uint64_t)(nblk - 1) * DATA_ROOM;
}

static blk_t *blk(const shs_shm_t *s, uint32_t i)
{
    return (blk_t *)(void *)(s->blocks + (apr_size_t)i * BLK);
}

static head_t *head(const shs_shm_t *s, uint32_t i)
{
    return (head_t *)(void *)(s->blocks + (apr_size_t)i * BLK);
}

static apr_time_t now_time(void)
{
    return hooks.now ? hooks.now() : apr_time_now();
}

static void hook(shs_shm_point_e point)
{
    if (hooks.at) {
        hooks.at(point);
    }
}

/* Keeps the stores before it before those after it as another process sees them once this
 * one has died.  A compiler barrier is what that needs: a process dies between two
 * instructions, like a signal arriving, and every store it made is visible afterwards. */
static void ordered(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static void count(uint64_t *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static void set32(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* Head fields that must hold before the chain is walked. */
static int head_ok(const shs_shm_t *s, const head_t *e)
{
    return e->klen >= 1 && e->klen <= SHS_SHM_KEY_MAX && e->vlen <= SHS_SHM_VALUE_MAX &&
           e->nblk == blocks_for((uint64_t)e->klen + e->vlen) && e->nblk <= s->max_blocks;
}

static int expired(const head_t *e, apr_time_t now)
{
    return e->expires != 0 && e->expires <= now;
}

static void free_push(shs_shm_t *s, uint32_t i)
{
    blk_t *b = blk(s, i);

    b->kind = KIND_FREE;
    b->next = s->h->free_head;
    s->h->free_head = i;
    set32(&s->h->free_count, s->h->free_count + 1);
}

static int free_pop(shs_shm_t *s, uint32_t *out)
{
    uint32_t i = s->h->free_head;

    if (s->h->free_count == 0 || i >= s->nblocks || blk(s, i)->kind != KIND_FREE) {
        return DAMAGED;
    }
    s->h->free_head = blk(s, i)->next;
    set32(&s->h->free_count, s->h->free_count - 1);
    blk(s, i)->kind = KIND_NEW; /* a damaged free list that leads here again is caught */
    *out = i;
    return APR_SUCCESS;
}

static int is_head(const shs_shm_t *s, uint32_t i)
{
    return i < s->nblocks && head(s, i)->b.kind == KIND_HEAD;
}

static int lru_unlink(shs_shm_t *s, uint32_t i)
{
    head_t *e = head(s, i);
    uint32_t p = e->lru_prev, n = e->lru_next;

    if (p == NIL ? s->h->lru_head != i : (!is_head(s, p) || head(s, p)->lru_next != i)) {
        return DAMAGED;
    }
    if (n == NIL ? s->h->lru_tail != i : (!is_head(s, n) || head(s, n)->lru_prev != i)) {
        return DAMAGED;
    }
    if (p == NIL) {
        s->h->lru_head = n;
    }
    else {
        head(s, p)->lru_next = n;
    }
    if (n == NIL) {
        s->h->lru_tail = p;
    }
    else {
        head(s, n)->lru_prev = p;
    }
    e->lru_prev = e->lru_next = NIL;
    return APR_SUCCESS;
}

static int lru_push_front(shs_shm_t *s, uint32_t i)
{
    head_t *e = head(s, i);
    uint32_t first = s->h->lru_head;

    if (first != NIL && !is_head(s, first)) {
        return DAMAGED;
    }
    e->lru_prev = NIL;
    e->lru_next = first;
    if (first == NIL) {
        s->h->lru_tail = i;
    }
    else {
        head(s, first)->lru_prev = i;
    }
    s->h->lru_head = i;
    return APR_SUCCESS;
}

static int bucket_unlink(shs_shm_t *s, uint32_t i, uint64_t khash)
{
    uint32_t *pp = &s->buckets[khash & s->mask];
    uint32_t steps = 0;

    while (*pp != NIL) {
        if (*pp == i) {
            *pp = head(s, i)->hnext;
            return APR_SUCCESS;
        }
        if (!is_head(s, *pp) || ++steps > s->nblocks) {
            return DAMAGED;
        }
        pp = &head(s, *pp)->hnext;
    }
    return DAMAGED; /* not in its bucket */
}

/* Remove entry i (a HEAD): marked free first, so a death from here on does not bring it
 * back; then unlinked; then its blocks returned. */
static int entry_free(shs_shm_t *s, uint32_t i)
{
    head_t *e = head(s, i);
    uint32_t nblk = e->nblk, nx = e->b.next, k;

    if (!head_ok(s, e)) {
        return DAMAGED;
    }
    e->b.kind = KIND_FREE;
    ordered();
    if (bucket_unlink(s, i, e->khash) != APR_SUCCESS || lru_unlink(s, i) != APR_SUCCESS) {
        return DAMAGED;
    }
    hook(SHS_SHM_AT_FREEING);
    free_push(s, i);
    for (k = 1; k < nblk; k++) {
        blk_t *b;
        uint32_t after;
        if (nx >= s->nblocks || (b = blk(s, nx))->kind != KIND_DATA || b->owner != i) {
            return DAMAGED; /* a block visited twice is FREE by now */
        }
        after = b->next;
        free_push(s, nx);
        nx = after;
    }
    set32(&s->h->entries, s->h->entries - 1);
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ walking a chain */

typedef struct cur_t {
    const shs_shm_t *s;
    uint32_t owner; /* the head */
    uint32_t blk;
    uint32_t seen; /* blocks entered, the head included */
    uint32_t nblk;
    unsigned char *p;
    uint32_t left; /* bytes left in the current block */
} cur_t;

static void cur_init(cur_t *c, const shs_shm_t *s, uint32_t i, uint32_t nblk)
{
    c->s = s;
    c->owner = i;
    c->blk = i;
    c->seen = 1;
    c->nblk = nblk;
    c->p = s->blocks + (apr_size_t)i * BLK + sizeof(head_t);
    c->left = HEAD_ROOM;
}

/* Some bytes available at c->p, or DAMAGED. */
static int cur_fill(cur_t *c)
{
    uint32_t nx;
    blk_t *b;

    if (c->left) {
        return APR_SUCCESS;
    }
    nx = blk(c->s, c->blk)->next;
    if (nx >= c->s->nblocks || c->seen >= c->nblk || (b = blk(c->s, nx))->kind != KIND_DATA ||
        b->owner != c->owner) {
        return DAMAGED;
    }
    c->blk = nx;
    c->seen++;
    c->p = (unsigned char *)b + sizeof(blk_t);
    c->left = DATA_ROOM;
    return APR_SUCCESS;
}

/* Compare the next n bytes with buf: 0 equal, 1 different, DAMAGED. */
static int cur_cmp(cur_t *c, const char *buf, apr_size_t n)
{
    while (n) {
        apr_size_t k;
        if (cur_fill(c) != APR_SUCCESS) {
            return DAMAGED;
        }
        k = n < c->left ? n : c->left;
        if (memcmp(c->p, buf, k) != 0) {
            return 1;
        }
        c->p += k;
        c->left -= (uint32_t)k;
        buf += k;
        n -= k;
    }
    return 0;
}

/* Feed the next n bytes to st, copying them to out when out is not NULL. */
static int cur_read(cur_t *c, hstate_t *st, char *out, apr_size_t n)
{
    while (n) {
        apr_size_t k;
        if (cur_fill(c) != APR_SUCCESS) {
            return DAMAGED;
        }
        k = n < c->left ? n : c->left;
        h_update(st, c->p, k);
        if (out) {
            memcpy(out, c->p, k);
            out += k;
        }
        c->p += k;
        c->left -= (uint32_t)k;
        n -= k;
    }
    return APR_SUCCESS;
}

static int cur_write(cur_t *c, const char *buf, apr_size_t n)
{
    while (n) {
        apr_size_t k;
        if (cur_fill(c) != APR_SUCCESS) {
            return DAMAGED;
        }
        k = n < c->left ? n : c->left;
        memcpy(c->p, buf, k);
        c->p += k;
        c->left -= (uint32_t)k;
        buf += k;
        n -= k;
    }
    return APR_SUCCESS;
}

/* Look key up: APR_SUCCESS (*at its head), APR_NOTFOUND or DAMAGED. */
static int lookup(shs_shm_t *s, const char *key, uint32_t klen, uint64_t khash, uint32_t *at)
{
    uint32_t i = s->buckets[khash & s->mask], steps = 0;

    while (i != NIL) {
        head_t *e;
        if (!is_head(s, i) || ++steps > s->nblocks) {
            return DAMAGED;
        }
        e = head(s, i);
        if (e->khash == khash && e->klen == klen) {
            cur_t c;
            int r;
            if (!head_ok(s, e)) {
                return DAMAGED;
            }
            cur_init(&c, s, i, e->nblk);
            r = cur_cmp(&c, key, klen);
            if (r == DAMAGED) {
                return DAMAGED;
            }
            if (r == 0) {
                *at = i;
                return APR_SUCCESS;
            }
        }
        i = e->hnext;
    }
    return APR_NOTFOUND;
}

/* ------------------------------------------------------------------ rebuild */

static void chain_unmark(shs_shm_t *s, uint32_t i, uint32_t n)
{
    uint32_t k;

    for (k = 0; k < n; k++) {
        blk(s, i)->mark = 0;
        i = blk(s, i)->next; /* checked when it was marked */
    }
}

/* Is the entry at i whole (every block in range, of its kind and owner, claimed by no other
 * entry, and when verify is set the checksum right)?  On success its blocks are marked as
 * claimed. */
static int chain_claim(shs_shm_t *s, uint32_t i, int verify)
{
    head_t *e = head(s, i);
    uint64_t left = (uint64_t)e->klen + e->vlen;
    uint32_t cur = i, seen = 1, n;
    hstate_t st;

    if (e->b.mark || e->b.owner != i) {
        return 0;
    }
    e->b.mark = 1;
    h_init(&st, s->seed);
    n = left < HEAD_ROOM ? (uint32_t)left : HEAD_ROOM;
    if (verify) {
        h_update(&st, (unsigned char *)e + sizeof(head_t), n);
    }
    left -= n;
    while (seen < e->nblk) {
        uint32_t nx = blk(s, cur)->next;
        blk_t *b;
        if (nx >= s->nblocks || (b = blk(s, nx))->kind != KIND_DATA || b->owner != i || b->mark) {
            chain_unmark(s, i, seen);
            return 0;
        }
        b->mark = 1;
        seen++;
        cur = nx;
        n = left < DATA_ROOM ? (uint32_t)left : DATA_ROOM;
        if (verify) {
            h_update(&st, (unsigned char *)b + sizeof(blk_t), n);
        }
        left -= n;
    }
    if (blk(s, cur)->next != NIL || left != 0 || (verify && csum_final(&st, e) != e->csum)) {
        chain_unmark(s, i, seen);
        return 0;
    }
    return 1;
}

/* Copy a whole entry's key (the chain checked) into buf. */
static void key_copy(shs_shm_t *s, uint32_t i, char *buf)
{
    head_t *e = head(s, i);
    cur_t c;
    hstate_t st;

    h_init(&st, 0);
    cur_init(&c, s, i, e->nblk);
    (void)cur_read(&c, &st, buf, e->klen);
}

static uint32_t lru_merge(shs_shm_t *s, uint32_t a, uint32_t b)
{
    uint32_t first = NIL, last = NIL;

    while (a != NIL || b != NIL) {
        uint32_t take;
        if (b == NIL || (a != NIL && head(s, a)->useq >= head(s, b)->useq)) {
            take = a;
            a = head(s, a)->lru_next;
        }
        else {
            take = b;
            b = head(s, b)->lru_next;
        }
        if (last == NIL) {
            first = take;
        }
        else {
            head(s, last)->lru_next = take;
        }
        last = take;
    }
    if (last != NIL) {
        head(s, last)->lru_next = NIL;
    }
    return first;
}

/* Sort n entries linked by lru_next, most recently used first.  Recursion depth log2(n). */
static uint32_t lru_sort(shs_shm_t *s, uint32_t list, uint32_t n)
{
    uint32_t mid = list, second, k;

    if (n < 2) {
        return list;
    }
    for (k = 1; k < n / 2; k++) {
        mid = head(s, mid)->lru_next;
    }
    second = head(s, mid)->lru_next;
    head(s, mid)->lru_next = NIL;
    return lru_merge(s, lru_sort(s, list, n / 2), lru_sort(s, second, n - n / 2));
}

/* Rebuild every derived structure from the blocks (the lock held, or the file exclusively
 * ours).  Never fails: what cannot be trusted is dropped.  verify: check every entry's
 * checksum too (a file nobody had open: the machine may have crashed while it was written
 * back).  A process that died under the lock cannot have left a HEAD incomplete (write
 * order), and every read checks the checksum anyway: there the structural check suffices and
 * the lock is held for a third of the time. */
static void rebuild(shs_shm_t *s, int verify, apr_uint32_t *kept, apr_uint32_t *dropped)
{
    shm_hdr_t *h = s->h;
    apr_time_t now = now_time();
    uint32_t i, n = s->nblocks, list = NIL, nkept = 0, ndropped = 0;
    uint64_t maxseq = h->seq;
    char ka[SHS_SHM_KEY_MAX], kb[SHS_SHM_KEY_MAX];

    for (i = 0; i < n; i++) {
        blk(s, i)->mark = 0;
    }
    memset(s->buckets, 0xff, ((apr_size_t)s->mask + 1) * sizeof(uint32_t));
    for (i = 0; i < n; i++) {
        head_t *e = head(s, i);
        uint32_t *pp;
        if (e->b.kind != KIND_HEAD) {
            continue;
        }
        if (!head_ok(s, e) || !chain_claim(s, i, verify)) {
            e->b.kind = KIND_FREE;
            count(&h->corrupt);
            ndropped++;
            continue;
        }
        if (expired(e, now)) {
            chain_unmark(s, i, e->nblk);
            e->b.kind = KIND_FREE;
            count(&h->expired);
            ndropped++;
            continue;
        }
        /* the same key twice (only damage can do that): the later write wins */
        for (pp = &s->buckets[e->khash & s->mask]; *pp != NIL; pp = &head(s, *pp)->hnext) {
            head_t *o = head(s, *pp);
            if (o->khash == e->khash && o->klen == e->klen) {
                key_copy(s, *pp, ka);
                key_copy(s, i, kb);
                if (memcmp(ka, kb, e->klen) == 0) {
                    break;
                }
            }
        }
        if (*pp != NIL) {
            uint32_t loser = head(s, *pp)->wseq > e->wseq ? i : *pp;
            if (loser == *pp) {
                *pp = head(s, loser)->hnext;
            }
            chain_unmark(s, loser, head(s, loser)->nblk);
            head(s, loser)->b.kind = KIND_FREE;
            ndropped++;
            if (loser == i) {
                continue;
            }
        }
        e->hnext = s->buckets[e->khash & s->mask];
        s->buckets[e->khash & s->mask] = i;
    }
    /* the survivors, in one list; every other block is free */
    h->free_head = NIL;
    set32(&h->free_count, 0);
    for (i = n; i-- > 0;) {
        head_t *e = head(s, i);
        if (!e->b.mark) {
            free_push(s, i);
        }
        else if (e->b.kind == KIND_HEAD) {
            e->lru_next = list;
            list = i;
            nkept++;
            maxseq = e->wseq > maxseq ? e->wseq : maxseq;
            maxseq = e->useq > maxseq ? e->useq : maxseq;
        }
    }
    list = lru_sort(s, list, nkept);
    h->lru_head = list;
    h->lru_tail = NIL;
    for (i = list; i != NIL; i = head(s, i)->lru_next) {
        head(s, i)->lru_prev = h->lru_tail;
        h->lru_tail = i;
    }
    set32(&h->entries, nkept);
    h->seq = maxseq;
    if (h->sweep >= n) {
        h->sweep = 0;
    }
    if (kept) {
        *kept = nkept;
    }
    if (dropped) {
        *dropped = ndropped;
    }
}

/* ------------------------------------------------------------------ the lock */

static apr_status_t shm_lock(shs_shm_t *s)
{
    struct timespec ts;
    apr_time_t until = apr_time_now() + s->lock_wait;
    int r;

    ts.tv_sec = (time_t)apr_time_sec(until);
    ts.tv_nsec = (long)apr_time_usec(until) * 1000;
    r = pthread_mutex_timedlock(&s->h->lock, &ts);
    if (r == EOWNERDEAD) {
        /* its owner died in the middle of a change: make everything consistent again */
        rebuild(s, 0, NULL, NULL);
        count(&s->h->recoveries);
        if ((r = pthread_mutex_consistent(&s->h->lock)) != 0) {
            pthread_mutex_unlock(&s->h->lock);
        }
    }
    if (r == ETIMEDOUT) {
        return APR_TIMEUP;
    }
    if (r != 0) {
        return APR_FROM_OS_ERROR(r);
    }
    hook(SHS_SHM_AT_LOCKED);
    return APR_SUCCESS;
}

static void shm_unlock(shs_shm_t *s)
{
    pthread_mutex_unlock(&s->h->lock);
}

/* ------------------------------------------------------------------ operations */

typedef enum { OP_GET, OP_SET, OP_ADD, OP_DEL } op_kind_e;

typedef struct op_t {
    op_kind_e kind;
    const char *key;
    uint32_t klen;
    uint64_t khash;
    const char *val;
    apr_size_t vlen;
    apr_time_t expires;
    hstate_t kv; /* set/add: the checksum state after key and value */
    apr_pool_t *pool;
    char *out;
    apr_size_t outlen;
} op_t;

/* Make `need` blocks free: expired entries first, then the least recently used. */
static int make_room(shs_shm_t *s, uint32_t need, apr_time_t now)
{
    uint32_t rounds = 0;

    while (s->h->free_count < need) {
        uint32_t t, k;
        int was_expired;
        for (k = 0; k < SWEEP_ROOM && s->h->free_count < need; k++) {
            uint32_t i = s->h->sweep < s->nblocks ? s->h->sweep : 0;
            s->h->sweep = i + 1 < s->nblocks ? i + 1 : 0;
            if (head(s, i)->b.kind == KIND_HEAD && expired(head(s, i), now)) {
                if (entry_free(s, i) != APR_SUCCESS) {
                    return DAMAGED;
                }
                count(&s->h->expired);
            }
        }
        if (s->h->free_count >= need) {
            break;
        }
        t = s->h->lru_tail;
        if (!is_head(s, t) || ++rounds > s->nblocks) {
            return DAMAGED; /* nothing left to evict yet not enough free blocks */
        }
        was_expired = expired(head(s, t), now);
        if (entry_free(s, t) != APR_SUCCESS) {
            return DAMAGED;
        }
        count(was_expired ? &s->h->expired : &s->h->evictions);
    }
    return APR_SUCCESS;
}

static void sweep_step(shs_shm_t *s, apr_time_t now)
{
    uint32_t k;

    for (k = 0; k < SWEEP_WRITE; k++) {
        uint32_t i = s->h->sweep < s->nblocks ? s->h->sweep : 0;
        s->h->sweep = i + 1 < s->nblocks ? i + 1 : 0;
        if (head(s, i)->b.kind == KIND_HEAD && expired(head(s, i), now) &&
            entry_free(s, i) == APR_SUCCESS) {
            count(&s->h->expired);
        }
        /* a damaged entry here is left to the operation's own checks */
    }
}

static int op_get(shs_shm_t *s, op_t *op, apr_time_t now)
{
    uint32_t i;
    head_t *e;
    cur_t c;
    hstate_t st;
    char *buf;
    int r = lookup(s, op->key, op->klen, op->khash, &i);

    if (r != APR_SUCCESS) {
        return r;
    }
    e = head(s, i);
    if (expired(e, now)) {
        if (entry_free(s, i) != APR_SUCCESS) {
            return DAMAGED;
        }
        count(&s->h->expired);
        return APR_NOTFOUND;
    }
    buf = apr_palloc(op->pool, (apr_size_t)e->vlen + 1);
    h_init(&st, s->seed);
    cur_init(&c, s, i, e->nblk);
    if (cur_read(&c, &st, NULL, e->klen) != APR_SUCCESS ||
        cur_read(&c, &st, buf, e->vlen) != APR_SUCCESS) {
        return DAMAGED;
    }
    if (csum_final(&st, e) != e->csum) {
        if (entry_free(s, i) != APR_SUCCESS) {
            return DAMAGED;
        }
        count(&s->h->corrupt);
        return APR_NOTFOUND;
    }
    buf[e->vlen] = '\0';
    if (lru_unlink(s, i) != APR_SUCCESS || lru_push_front(s, i) != APR_SUCCESS) {
        return DAMAGED;
    }
    e->useq = ++s->h->seq;
    op->out = buf;
    op->outlen = e->vlen;
    return APR_SUCCESS;
}

static int op_store(shs_shm_t *s, op_t *op, apr_time_t now)
{
    uint32_t i, first, prev, need, k;
    apr_size_t half;
    head_t *e;
    cur_t c;
    int r = lookup(s, op->key, op->klen, op->khash, &i);

    if (r == DAMAGED) {
        return r;
    }
    if (r == APR_SUCCESS) {
        int was_expired = expired(head(s, i), now);
        if (op->kind == OP_ADD && !was_expired) {
            return APR_EEXIST;
        }
        if (entry_free(s, i) != APR_SUCCESS) {
            return DAMAGED;
        }
        if (was_expired) {
            count(&s->h->expired);
        }
    }
    sweep_step(s, now);
    need = blocks_for((uint64_t)op->klen + op->vlen);
    if (make_room(s, need, now) != APR_SUCCESS || free_pop(s, &first) != APR_SUCCESS) {
        return DAMAGED;
    }
    blk(s, first)->owner = first;
    prev = first;
    for (k = 1; k < need; k++) {
        uint32_t d;
        if (free_pop(s, &d) != APR_SUCCESS) {
            return DAMAGED;
        }
        blk(s, d)->kind = KIND_DATA;
        blk(s, d)->owner = first;
        blk(s, prev)->next = d;
        prev = d;
    }
    blk(s, prev)->next = NIL;
    e = head(s, first);
    e->hnext = NIL;
    e->lru_prev = e->lru_next = NIL;
    e->nblk = need;
    e->klen = op->klen;
    e->vlen = (uint32_t)op->vlen;
    e->khash = op->khash;
    e->expires = op->expires;
    e->wseq = e->useq = ++s->h->seq;
    cur_init(&c, s, first, need);
    half = op->vlen / 2;
    if (cur_write(&c, op->key, op->klen) != APR_SUCCESS ||
        cur_write(&c, op->val, half) != APR_SUCCESS) {
        return DAMAGED;
    }
    hook(SHS_SHM_AT_WRITING);
    if (cur_write(&c, op->val + half, op->vlen - half) != APR_SUCCESS) {
        return DAMAGED;
    }
    e->csum = csum_final(&op->kv, e);
    ordered();
    e->b.kind = KIND_HEAD; /* complete: from here on a rebuild keeps it */
    ordered();
    e->hnext = s->buckets[op->khash & s->mask];
    s->buckets[op->khash & s->mask] = first;
    if (lru_push_front(s, first) != APR_SUCCESS) {
        return DAMAGED;
    }
    set32(&s->h->entries, s->h->entries + 1);
    return APR_SUCCESS;
}

static int op_del(shs_shm_t *s, op_t *op, apr_time_t now)
{
    uint32_t i;
    int was_expired, r = lookup(s, op->key, op->klen, op->khash, &i);

    if (r != APR_SUCCESS) {
        return r;
    }
    was_expired = expired(head(s, i), now);
    if (entry_free(s, i) != APR_SUCCESS) {
        return DAMAGED;
    }
    if (was_expired) {
        count(&s->h->expired);
        return APR_NOTFOUND; /* as memcached: an expired item is not there */
    }
    return APR_SUCCESS;
}

static apr_status_t run(shs_shm_t *s, op_t *op)
{
    apr_status_t rv;
    int attempt, r = DAMAGED;

    if (!op->key) {
        return APR_EINVAL;
    }
    op->klen = (uint32_t)strnlen(op->key, SHS_SHM_KEY_MAX + 1);
    if (op->klen == 0 || op->klen > SHS_SHM_KEY_MAX) {
        return APR_EINVAL;
    }
    op->khash = key_hash(s->seed, op->key, op->klen);
    if (op->kind == OP_SET || op->kind == OP_ADD) {
        if (op->vlen > s->max_value || (!op->val && op->vlen)) {
            if (op->vlen > s->max_value) {
                count(&s->h->too_large);
                return APR_ENOSPC;
            }
            return APR_EINVAL;
        }
        if (!op->val) {
            op->val = "";
        }
        h_init(&op->kv, s->seed);
        h_update(&op->kv, op->key, op->klen);
        h_update(&op->kv, op->val, op->vlen);
    }
    rv = shm_lock(s);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        apr_time_t now = now_time();
        switch (op->kind) {
        case OP_GET:
            r = op_get(s, op, now);
            break;
        case OP_SET:
        case OP_ADD:
            r = op_store(s, op, now);
            break;
        case OP_DEL:
            r = op_del(s, op, now);
            break;
        }
        if (r != DAMAGED) {
            break;
        }
        rebuild(s, 0, NULL, NULL);
        count(&s->h->recoveries);
    }
    shm_unlock(s);
    return r == DAMAGED ? APR_EGENERAL : r;
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
    op_t op = { .kind = OP_GET, .key = key, .pool = p };
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
    op_t op = { .kind = OP_SET, .key = key, .val = val, .vlen = len, .expires = expiry_of(ttl) };

    return run(ctx, &op);
}

static apr_status_t shm_add(void *ctx, unsigned int slot, const char *key, const char *val,
                            apr_size_t len, apr_int64_t ttl)
{
    op_t op = { .kind = OP_ADD, .key = key, .val = val, .vlen = len, .expires = expiry_of(ttl) };

    return run(ctx, &op);
}

static apr_status_t shm_del(void *ctx, unsigned int slot, const char *key)
{
    op_t op = { .kind = OP_DEL, .key = key };

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
    if (n < 16 || n >= NIL) {
        return 0;
    }
    g->bytes = bytes;
    g->nblocks = (uint32_t)n;
    g->nbuckets = (uint32_t)nb;
    g->buckets_off = HDR_BYTES;
    g->blocks_off = HDR_BYTES + bucket_bytes;
    g->max_blocks = blocks_for(SHS_SHM_KEY_MAX + SHS_SHM_VALUE_MAX);
    if (g->max_blocks > g->nblocks / 4) {
        g->max_blocks = g->nblocks / 4;
    }
    return 1;
}

static void attach_geometry(shs_shm_t *s, const geom_t *g)
{
    uint64_t room = room_of(g->max_blocks) - SHS_SHM_KEY_MAX;

    s->h = (shm_hdr_t *)(void *)s->base;
    s->buckets = (uint32_t *)(void *)(s->base + g->buckets_off);
    s->blocks = s->base + g->blocks_off;
    s->nblocks = g->nblocks;
    s->mask = g->nbuckets - 1;
    s->max_blocks = g->max_blocks;
    s->max_value = room < SHS_SHM_VALUE_MAX ? (apr_size_t)room : SHS_SHM_VALUE_MAX;
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
        return apr_psprintf(p, "%" APR_UINT64_T_FMT " bytes, the configured size is %" APR_UINT64_T_FMT,
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
    uint32_t i;

    memset(h, 0, HDR_BYTES);
    if (apr_generate_random_bytes((unsigned char *)&seed, sizeof(seed)) != APR_SUCCESS) {
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
    s->seed = seed;
    memset(s->buckets, 0xff, (apr_size_t)g->nbuckets * sizeof(uint32_t));
    h->free_head = NIL;
    h->lru_head = h->lru_tail = NIL;
    for (i = g->nblocks; i-- > 0;) {
        blk(s, i)->mark = 0;
        free_push(s, i);
    }
    ordered();
    h->ready = SHM_READY;
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
    s = apr_pcalloc(p, sizeof(*s));
    s->path = apr_pstrdup(p, path);
    s->slot_name = apr_pstrcat(p, "shm:", path, NULL);
    s->lock_wait = SHS_SHM_LOCK_WAIT;
    s->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
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
            s->seed = s->h->seed;
            if (exclusive) {
                /* nobody else has it: whatever state the mutex was left in, start afresh */
                if ((rv = mutex_init(&s->h->lock)) != APR_SUCCESS) {
                    shm_cleanup(s);
                    return rv;
                }
                pthread_mutex_lock(&s->h->lock);
                rebuild(s, 1, &info->kept, &info->dropped);
                pthread_mutex_unlock(&s->h->lock);
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
    info->capacity = (apr_uint64_t)s->nblocks * BLK;
    info->max_value = s->max_value;
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
    const shm_hdr_t *h = s->h;
    uint32_t free_count = __atomic_load_n(&h->free_count, __ATOMIC_RELAXED);

    memset(out, 0, sizeof(*out));
    out->capacity = (apr_uint64_t)s->nblocks * BLK;
    out->used = free_count <= s->nblocks ? (apr_uint64_t)(s->nblocks - free_count) * BLK : 0;
    out->entries = __atomic_load_n(&h->entries, __ATOMIC_RELAXED);
    out->max_value = s->max_value;
    out->evictions = __atomic_load_n(&h->evictions, __ATOMIC_RELAXED);
    out->expired = __atomic_load_n(&h->expired, __ATOMIC_RELAXED);
    out->corrupt = __atomic_load_n(&h->corrupt, __ATOMIC_RELAXED);
    out->recoveries = __atomic_load_n(&h->recoveries, __ATOMIC_RELAXED);
    out->too_large = __atomic_load_n(&h->too_large, __ATOMIC_RELAXED);
}

apr_size_t shs_store_shm_max_value(const shs_shm_t *s)
{
    return s->max_value;
}

void shs_store_shm_set_lock_wait(shs_shm_t *s, apr_interval_time_t wait)
{
    s->lock_wait = wait > 0 ? wait : 0;
}

void shs_store_shm_test_hooks(const shs_shm_test_hooks_t *h)
{
    if (h) {
        hooks = *h;
    }
    else {
        memset(&hooks, 0, sizeof(hooks));
    }
}
