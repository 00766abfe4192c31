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

/* The embedded store's index: blocks, chains, lists, lookups and eviction, all done with the
 * lock held (design at the top of shs_store_shm.c).  The rebuild is shs_store_shm_rebuild.c. */

#include <string.h>

#include <apr_strings.h>

#include "shs_store_shm_index_int.h"

#define SWEEP_WRITE 8u /* blocks the sweep passes at every write */
#define SWEEP_ROOM 64u /* blocks it passes before each eviction */
#define SALT_CSUM 0x6a09e667f3bcc909ULL

/* ------------------------------------------------------------------ checksum */

/* The checksum: key and value (fed by the caller), then the checked head fields. */
uint64_t shs_shmi_csum_final(const hstate_t *kv, const head_t *e)
{
    hstate_t st = *kv;
    uint64_t f[6];

    f[0] = ((uint64_t)e->klen << 32) | e->vlen;
    f[1] = e->nblk;
    f[2] = e->khash;
    f[3] = (uint64_t)e->expires;
    f[4] = e->wseq;
    f[5] = SALT_CSUM;
    shs_shmi_hash_update(&st, f, sizeof(f));
    return shs_shmi_hash_final(&st);
}

/* ------------------------------------------------------------------ blocks and lists */

uint32_t shs_shmi_blocks_for(uint64_t total)
{
    if (total <= HEAD_ROOM) {
        return 1;
    }
    return 1 + (uint32_t)((total - HEAD_ROOM + DATA_ROOM - 1) / DATA_ROOM);
}

uint64_t shs_shmi_room_of(uint32_t nblk)
{
    return HEAD_ROOM + (uint64_t)(nblk - 1) * DATA_ROOM;
}

static void hook(shs_shm_point_e point)
{
    if (shs_shmi_hooks.at) {
        shs_shmi_hooks.at(point);
    }
}

/* Keeps the stores before it before those after it as another process sees them once this
 * one has died.  A compiler barrier is what that needs: a process dies between two
 * instructions, like a signal arriving, and every store it made is visible afterwards. */
static void ordered(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* Head fields that must hold before the chain is walked. */
int shs_shmi_head_ok(const shs_shmi_t *s, const head_t *e)
{
    return e->klen >= 1 && e->klen <= SHS_SHM_KEY_MAX && e->vlen <= SHS_SHM_VALUE_MAX &&
           e->nblk == shs_shmi_blocks_for((uint64_t)e->klen + e->vlen) && e->nblk <= s->max_blocks;
}

void shs_shmi_free_push(shs_shmi_t *s, uint32_t i)
{
    blk_t *b = blk(s, i);

    b->kind = KIND_FREE;
    b->next = s->h->free_head;
    s->h->free_head = i;
    set32(&s->h->free_count, s->h->free_count + 1);
}

static int free_pop(shs_shmi_t *s, uint32_t *out)
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

static int is_head(const shs_shmi_t *s, uint32_t i)
{
    return i < s->nblocks && head(s, i)->b.kind == KIND_HEAD;
}

/* Is block i, reached from bucket b, a member of that bucket's chain: the head of an entry
 * (live, being written or removed, or of damaged kind) whose key hash falls in b?  Anything
 * else (out of range, a free or data block, an entry of another bucket) is a broken link:
 * what follows it is not this chain. */
int shs_shmi_chain_member(const shs_shmi_t *s, uint32_t i, uint32_t b)
{
    const head_t *e;

    if (i >= s->nblocks) {
        return 0;
    }
    e = head(s, i);
    return e->b.kind != KIND_FREE && e->b.kind != KIND_DATA && e->b.owner == i &&
           (e->khash & s->mask) == b;
}

static int lru_unlink(shs_shmi_t *s, uint32_t i)
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

static int lru_push_front(shs_shmi_t *s, uint32_t i)
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

static int bucket_unlink(shs_shmi_t *s, uint32_t i, uint64_t khash)
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

/* Remove entry i (a HEAD): marked GONE first, so a death from here on does not bring it
 * back (a rebuild steps over it where it is still linked); then unlinked; then its blocks
 * returned. */
static int entry_free(shs_shmi_t *s, uint32_t i)
{
    head_t *e = head(s, i);
    uint32_t nblk = e->nblk, nx = e->b.next, k;

    if (!shs_shmi_head_ok(s, e)) {
        return DAMAGED;
    }
    e->b.kind = KIND_GONE;
    ordered();
    if (bucket_unlink(s, i, e->khash) != APR_SUCCESS || lru_unlink(s, i) != APR_SUCCESS) {
        return DAMAGED;
    }
    hook(SHS_SHM_AT_FREEING);
    shs_shmi_free_push(s, i);
    for (k = 1; k < nblk; k++) {
        blk_t *b;
        uint32_t after;
        if (nx >= s->nblocks || (b = blk(s, nx))->kind != KIND_DATA || b->owner != i) {
            return DAMAGED; /* a block visited twice is FREE by now */
        }
        after = b->next;
        shs_shmi_free_push(s, nx);
        nx = after;
    }
    set32(&s->h->entries, s->h->entries - 1);
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ walking a chain */

void shs_shmi_cur_init(cur_t *c, const shs_shmi_t *s, uint32_t i, uint32_t nblk)
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

/* The next run of the chain, at most n bytes: *k bytes at the returned pointer, the cursor past
 * them; NULL when the chain is damaged. */
static unsigned char *cur_take(cur_t *c, apr_size_t n, apr_size_t *k)
{
    unsigned char *p;

    if (cur_fill(c) != APR_SUCCESS) {
        return NULL;
    }
    *k = n < c->left ? n : c->left;
    p = c->p;
    c->p += *k;
    c->left -= (uint32_t)*k;
    return p;
}

/* Compare the next n bytes with buf: 0 equal, 1 different, DAMAGED. */
static int cur_cmp(cur_t *c, const char *buf, apr_size_t n)
{
    for (apr_size_t k; n; buf += k, n -= k) {
        unsigned char *p = cur_take(c, n, &k);
        if (!p) {
            return DAMAGED;
        }
        if (memcmp(p, buf, k) != 0) {
            return 1;
        }
    }
    return 0;
}

/* Feed the next n bytes to st, copying them to out when out is not NULL. */
int shs_shmi_cur_read(cur_t *c, hstate_t *st, char *out, apr_size_t n)
{
    for (apr_size_t k; n; n -= k) {
        unsigned char *p = cur_take(c, n, &k);
        if (!p) {
            return DAMAGED;
        }
        shs_shmi_hash_update(st, p, k);
        if (out) {
            memcpy(out, p, k);
            out += k;
        }
    }
    return APR_SUCCESS;
}

static int cur_write(cur_t *c, const char *buf, apr_size_t n)
{
    for (apr_size_t k; n; buf += k, n -= k) {
        unsigned char *p = cur_take(c, n, &k);
        if (!p) {
            return DAMAGED;
        }
        memcpy(p, buf, k);
    }
    return APR_SUCCESS;
}

/* Look key up: APR_SUCCESS (*at its head), APR_NOTFOUND or DAMAGED.  An answer comes only
 * from a chain whose every link leads to an entry of this bucket: one that leads elsewhere is
 * damage, and is found here rather than answered from another chain. */
static int lookup(shs_shmi_t *s, const char *key, uint32_t klen, uint64_t khash, uint32_t *at)
{
    uint32_t b = (uint32_t)(khash & s->mask), i = s->buckets[b], steps = 0;

    while (i != NIL) {
        head_t *e;
        if (!shs_shmi_chain_member(s, i, b) || head(s, i)->b.kind != KIND_HEAD ||
            ++steps > s->nblocks) {
            return DAMAGED;
        }
        e = head(s, i);
        if (e->khash == khash && e->klen == klen) {
            cur_t c;
            int r;
            if (!shs_shmi_head_ok(s, e)) {
                return DAMAGED;
            }
            shs_shmi_cur_init(&c, s, i, e->nblk);
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

/* ------------------------------------------------------------------ operations */

/* Make `need` blocks free: expired entries first, then the least recently used. */
static int make_room(shs_shmi_t *s, uint32_t need, apr_time_t now)
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

static int sweep_step(shs_shmi_t *s, apr_time_t now)
{
    uint32_t k;

    for (k = 0; k < SWEEP_WRITE; k++) {
        uint32_t i = s->h->sweep < s->nblocks ? s->h->sweep : 0;
        s->h->sweep = i + 1 < s->nblocks ? i + 1 : 0;
        if (head(s, i)->b.kind == KIND_HEAD && expired(head(s, i), now)) {
            if (entry_free(s, i) != APR_SUCCESS) {
                return DAMAGED;
            }
            count(&s->h->expired);
        }
    }
    return APR_SUCCESS;
}

static int op_get(shs_shmi_t *s, op_t *op, apr_time_t now)
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
    shs_shmi_hash_init(&st, s->seed);
    shs_shmi_cur_init(&c, s, i, e->nblk);
    if (shs_shmi_cur_read(&c, &st, NULL, e->klen) != APR_SUCCESS ||
        shs_shmi_cur_read(&c, &st, buf, e->vlen) != APR_SUCCESS) {
        return DAMAGED;
    }
    if (shs_shmi_csum_final(&st, e) != e->csum) {
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

static int op_store(shs_shmi_t *s, op_t *op, apr_time_t now)
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
        if (op->kind == SHS_SHMI_ADD && !was_expired) {
            return APR_EEXIST;
        }
        if (entry_free(s, i) != APR_SUCCESS) {
            return DAMAGED;
        }
        if (was_expired) {
            count(&s->h->expired);
        }
    }
    need = shs_shmi_blocks_for((uint64_t)op->klen + op->vlen);
    if (sweep_step(s, now) != APR_SUCCESS || make_room(s, need, now) != APR_SUCCESS ||
        free_pop(s, &first) != APR_SUCCESS) {
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
    shs_shmi_cur_init(&c, s, first, need);
    half = op->vlen / 2;
    if (cur_write(&c, op->key, op->klen) != APR_SUCCESS ||
        cur_write(&c, op->val, half) != APR_SUCCESS) {
        return DAMAGED;
    }
    hook(SHS_SHM_AT_WRITING);
    if (cur_write(&c, op->val + half, op->vlen - half) != APR_SUCCESS) {
        return DAMAGED;
    }
    e->csum = shs_shmi_csum_final(&op->kv, e);
    if (s->h->lru_head != NIL && !is_head(s, s->h->lru_head)) {
        return DAMAGED; /* checked before the entry is visible: once it is, nothing fails */
    }
    /* linked while still NEW (a rebuild steps over it and frees it), then marked: a rebuild
     * keeps only what a chain reaches, so an entry is marked HEAD once it is reachable */
    e->hnext = s->buckets[op->khash & s->mask];
    ordered();
    s->buckets[op->khash & s->mask] = first;
    ordered();
    e->b.kind = KIND_HEAD; /* complete: from here on a rebuild keeps it */
    ordered();
    (void)lru_push_front(s, first);
    set32(&s->h->entries, s->h->entries + 1);
    return APR_SUCCESS;
}

static int op_del(shs_shmi_t *s, op_t *op, apr_time_t now)
{
    uint32_t i;
    int was_expired, r = lookup(s, op->key, op->klen, op->khash, &i);

    if (r != APR_SUCCESS) {
        return r;
    }
    was_expired = expired(head(s, i), now);
    op->done = !was_expired; /* entry_free marks it gone before anything can fail */
    if (entry_free(s, i) != APR_SUCCESS) {
        return DAMAGED;
    }
    if (was_expired) {
        count(&s->h->expired);
        return APR_NOTFOUND; /* as memcached: an expired item is not there */
    }
    return APR_SUCCESS;
}

int shs_shmi_run(shs_shmi_t *s, op_t *op, apr_time_t now)
{
    switch (op->kind) {
    case SHS_SHMI_GET:
        return op_get(s, op, now);
    case SHS_SHMI_SET:
    case SHS_SHMI_ADD:
        return op_store(s, op, now);
    case SHS_SHMI_DEL:
        return op_del(s, op, now);
    }
    return APR_EINVAL;
}

apr_status_t shs_shmi_prepare(shs_shmi_t *s, op_t *op)
{
    if (!op->key) {
        return APR_EINVAL;
    }
    op->klen = (uint32_t)strnlen(op->key, SHS_SHM_KEY_MAX + 1);
    if (op->klen == 0 || op->klen > SHS_SHM_KEY_MAX) {
        return APR_EINVAL;
    }
    op->khash = shs_shmi_key_hash(s->seed, op->key, op->klen);
    if (op->kind == SHS_SHMI_SET || op->kind == SHS_SHMI_ADD) {
        if (!op->val && op->vlen) {
            return APR_EINVAL;
        }
        if (op->vlen > s->max_value) {
            count(&s->h->too_large);
            return APR_ENOSPC;
        }
        if (!op->val) {
            op->val = "";
        }
        shs_shmi_hash_init(&op->kv, s->seed);
        shs_shmi_hash_update(&op->kv, op->key, op->klen);
        shs_shmi_hash_update(&op->kv, op->val, op->vlen);
    }
    return APR_SUCCESS;
}

void shs_shmi_format(shs_shmi_t *s)
{
    uint32_t i;

    memset(s->buckets, 0xff, ((apr_size_t)s->mask + 1) * sizeof(uint32_t));
    s->h->free_head = NIL;
    s->h->lru_head = s->h->lru_tail = NIL;
    for (i = s->nblocks; i-- > 0;) {
        blk(s, i)->mark = 0;
        shs_shmi_free_push(s, i);
    }
}
