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

/* The embedded store's index in its mapped file (see shs_store_shm.c for the design): the
 * layout shared by every process, and what is done with the lock held.  Internal to
 * shs_store_shm.c, shs_store_shm_index.c, shs_store_shm_rebuild.c and shs_store_shm_hash.c. */

#ifndef SHS_STORE_SHM_INDEX_H
#define SHS_STORE_SHM_INDEX_H

#include <pthread.h>
#include <stdint.h>

#include <apr_pools.h>
#include <apr_time.h>

#include "shs_store_shm.h"

#define SHS_SHMI_HDR_BYTES 4096u /* the header's page; buckets, then blocks, follow it */
#define SHS_SHMI_NIL 0xffffffffu /* no block */

/* Result of the functions below besides APR statuses: the shared area is inconsistent; the
 * caller rebuilds the index and tries once more. */
#define SHS_SHMI_DAMAGED (-1)

/* The file's first page. */
typedef struct shs_shmi_hdr_t {
    /* written once, when the file is created */
    char magic[8];
    uint32_t version;
    uint32_t endian;
    uint32_t abi_mutex; /* sizeof(pthread_mutex_t) */
    uint32_t abi_hdr;   /* sizeof(shs_shmi_hdr_t) */
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
} shs_shmi_hdr_t;

/* What a process knows of the area: pointers into its own mapping and copies of the geometry,
 * checked when the file was opened (a stray write to the header cannot move them). */
typedef struct shs_shmi_t {
    shs_shmi_hdr_t *h;
    uint32_t *buckets;
    unsigned char *blocks;
    uint32_t nblocks;
    uint32_t mask;       /* buckets - 1 */
    uint32_t max_blocks; /* of one entry */
    uint64_t seed;
    apr_size_t max_value;
} shs_shmi_t;

/* A seeded 64-bit hash fed in pieces: the same result however the bytes are split, so a value
 * can be checked as it is copied out of its chain.  For bucket choice and for detecting
 * damage, not against an adversary who can write the file. */
typedef struct shs_shmi_hash_t {
    uint64_t h;
    uint64_t total;
    unsigned char tail[8];
    unsigned ntail;
} shs_shmi_hash_t;

typedef enum { SHS_SHMI_GET, SHS_SHMI_SET, SHS_SHMI_ADD, SHS_SHMI_DEL } shs_shmi_kind_e;

typedef struct shs_shmi_op_t {
    shs_shmi_kind_e kind;
    const char *key;
    uint32_t klen;
    uint64_t khash;
    const char *val;
    apr_size_t vlen;
    apr_time_t expires;
    shs_shmi_hash_t kv; /* set/add: the checksum state after key and value */
    apr_pool_t *pool;
    char *out;
    apr_size_t outlen;
    int done; /* del: the entry is gone, whatever happens next */
} shs_shmi_op_t;

/* Blocks an entry of total key + value bytes takes, and the bytes n blocks hold. */
uint32_t shs_shmi_blocks_for(uint64_t total);
uint64_t shs_shmi_room_of(uint32_t nblk);

/* Without the lock: check op's key and value length (APR_EINVAL, APR_ENOSPC counted as
 * too_large) and hash them. */
apr_status_t shs_shmi_prepare(shs_shmi_t *x, shs_shmi_op_t *op);

/* With the lock: do op (prepared).  An APR status, or SHS_SHMI_DAMAGED (then op->done says
 * whether the operation took effect before the damage was found). */
int shs_shmi_run(shs_shmi_t *x, shs_shmi_op_t *op, apr_time_t now);

/* With the lock, or the file ours alone: every structure rebuilt from the entries the bucket
 * chains reach (see the function, in shs_store_shm_rebuild.c); counted as a recovery unless
 * verify (a reused file). */
void shs_shmi_rebuild(shs_shmi_t *x, int verify, apr_uint32_t *kept, apr_uint32_t *dropped);

/* An empty index in a zero-filled area whose geometry x describes. */
void shs_shmi_format(shs_shmi_t *x);

/* The test hooks (shs_store_shm.c). */
extern shs_shm_test_hooks_t shs_shmi_hooks;

#endif /* SHS_STORE_SHM_INDEX_H */
