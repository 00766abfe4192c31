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

/* The index's insides: how an entry lies in its blocks, the checksum and the chain cursor.
 * Private to shs_store_shm_index.c (the operations), shs_store_shm_rebuild.c (the rebuild) and
 * shs_store_shm_hash.c (the hash); shs_store_shm.c sees only shs_store_shm_index.h. */

#ifndef SHS_STORE_SHM_INDEX_INT_H
#define SHS_STORE_SHM_INDEX_INT_H

#include "shs_store_shm_index.h"

#define SHS_SHMI_KIND_FREE 0x4652u
#define SHS_SHMI_KIND_HEAD 0x4844u
#define SHS_SHMI_KIND_DATA 0x4441u
#define SHS_SHMI_KIND_NEW 0x4e57u  /* taken off the free list for an entry being written */
#define SHS_SHMI_KIND_GONE 0x474fu /* an entry being removed: no longer one, maybe still linked */

typedef struct shs_shmi_blk_t {
    uint32_t next;  /* chain: next block of the entry; free list: next free block */
    uint32_t owner; /* HEAD and DATA: the entry's head block */
    uint16_t kind;
    uint16_t mark; /* used while rebuilding */
} shs_shmi_blk_t;

typedef struct shs_shmi_head_t {
    shs_shmi_blk_t b;
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
} shs_shmi_head_t;

_Static_assert(sizeof(shs_shmi_hdr_t) <= SHS_SHMI_HDR_BYTES, "header fits its page");
_Static_assert(sizeof(shs_shmi_blk_t) == 12, "block header");
_Static_assert(sizeof(shs_shmi_head_t) == 80, "entry header");

#define SHS_SHMI_HEAD_ROOM (SHS_SHM_BLOCK - (uint32_t)sizeof(shs_shmi_head_t))
#define SHS_SHMI_DATA_ROOM (SHS_SHM_BLOCK - (uint32_t)sizeof(shs_shmi_blk_t))

/* A walk along an entry's chain (shs_shmi_cur_init). */
typedef struct shs_shmi_cur_t {
    const shs_shmi_t *s;
    uint32_t owner; /* the head */
    uint32_t blk;
    uint32_t seen; /* blocks entered, the head included */
    uint32_t nblk;
    unsigned char *p;
    uint32_t left; /* bytes left in the current block */
} shs_shmi_cur_t;

/* Block i, and block i as an entry's head. */
static inline shs_shmi_blk_t *blk(const shs_shmi_t *s, uint32_t i)
{
    return (shs_shmi_blk_t *)(void *)(s->blocks + (apr_size_t)i * SHS_SHM_BLOCK);
}

static inline shs_shmi_head_t *head(const shs_shmi_t *s, uint32_t i)
{
    return (shs_shmi_head_t *)(void *)(s->blocks + (apr_size_t)i * SHS_SHM_BLOCK);
}

static inline void count(uint64_t *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static inline void set32(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline int expired(const shs_shmi_head_t *e, apr_time_t now)
{
    return e->expires != 0 && e->expires <= now;
}

/* The seeded hash (shs_shmi_hash_t) fed in pieces, and a key's hash in one call
 * (shs_store_shm_hash.c). */
void shs_shmi_hash_init(shs_shmi_hash_t *st, uint64_t seed);
void shs_shmi_hash_update(shs_shmi_hash_t *st, const void *data, apr_size_t n);
uint64_t shs_shmi_hash_final(const shs_shmi_hash_t *st);
uint64_t shs_shmi_key_hash(uint64_t seed, const char *key, apr_size_t klen);

/* An entry's checksum: kv fed with its key and value, then e's checked fields. */
uint64_t shs_shmi_csum_final(const shs_shmi_hash_t *kv, const shs_shmi_head_t *e);

/* Head fields that must hold before e's chain is walked. */
int shs_shmi_head_ok(const shs_shmi_t *s, const shs_shmi_head_t *e);

/* Is block i, reached from bucket b, a member of that bucket's chain? */
int shs_shmi_chain_member(const shs_shmi_t *s, uint32_t i, uint32_t b);

/* Block i onto the free list. */
void shs_shmi_free_push(shs_shmi_t *s, uint32_t i);

/* A cursor at the first byte of entry i's key (nblk blocks); feed the next n bytes to st,
 * copying them to out unless NULL: APR_SUCCESS or SHS_SHMI_DAMAGED. */
void shs_shmi_cur_init(shs_shmi_cur_t *c, const shs_shmi_t *s, uint32_t i, uint32_t nblk);
int shs_shmi_cur_read(shs_shmi_cur_t *c, shs_shmi_hash_t *st, char *out, apr_size_t n);

/* The short names the index's own files use (this header is theirs alone). */
#define BLK SHS_SHM_BLOCK
#define NIL SHS_SHMI_NIL
#define DAMAGED SHS_SHMI_DAMAGED
#define KIND_FREE SHS_SHMI_KIND_FREE
#define KIND_HEAD SHS_SHMI_KIND_HEAD
#define KIND_DATA SHS_SHMI_KIND_DATA
#define KIND_NEW SHS_SHMI_KIND_NEW
#define KIND_GONE SHS_SHMI_KIND_GONE
#define HEAD_ROOM SHS_SHMI_HEAD_ROOM
#define DATA_ROOM SHS_SHMI_DATA_ROOM

typedef shs_shmi_hdr_t shm_hdr_t;
typedef shs_shmi_hash_t hstate_t;
typedef shs_shmi_op_t op_t;
typedef shs_shmi_blk_t blk_t;
typedef shs_shmi_head_t head_t;
typedef shs_shmi_cur_t cur_t;

#endif /* SHS_STORE_SHM_INDEX_INT_H */
