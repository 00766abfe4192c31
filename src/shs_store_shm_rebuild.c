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

/* The embedded store's index made again from its entries: after a process died holding the
 * lock, after an operation found damage, and on a file nobody had open (a full restart), where
 * every checksum is checked too.  The lock is held, or the file is this process's alone.  The
 * layout and the helpers it shares with the operations are in shs_store_shm_index_int.h. */

#include "shs_store_shm_index_int.h"

static void chain_unmark(shs_shmi_t *s, uint32_t i, uint32_t n)
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
static int chain_claim(shs_shmi_t *s, uint32_t i, int verify)
{
    head_t *e = head(s, i);
    uint64_t left = (uint64_t)e->klen + e->vlen;
    uint32_t cur = i, seen = 1, n;
    hstate_t st;

    if (e->b.mark || e->b.owner != i) {
        return 0;
    }
    e->b.mark = 1;
    shs_shmi_hash_init(&st, s->seed);
    n = left < HEAD_ROOM ? (uint32_t)left : HEAD_ROOM;
    if (verify) {
        shs_shmi_hash_update(&st, (unsigned char *)e + sizeof(head_t), n);
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
            shs_shmi_hash_update(&st, (unsigned char *)b + sizeof(blk_t), n);
        }
        left -= n;
    }
    if (blk(s, cur)->next != NIL || left != 0 ||
        (verify && shs_shmi_csum_final(&st, e) != e->csum)) {
        chain_unmark(s, i, seen);
        return 0;
    }
    return 1;
}

/* Copy a whole entry's key (the chain checked) into buf. */
static void key_copy(shs_shmi_t *s, uint32_t i, char *buf)
{
    head_t *e = head(s, i);
    cur_t c;
    hstate_t st;

    shs_shmi_hash_init(&st, 0);
    shs_shmi_cur_init(&c, s, i, e->nblk);
    (void)shs_shmi_cur_read(&c, &st, buf, e->klen);
}

static uint32_t lru_merge(shs_shmi_t *s, uint32_t a, uint32_t b)
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
static uint32_t lru_sort(shs_shmi_t *s, uint32_t list, uint32_t n)
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

/* Bucket b's chain during a rebuild, first pass: walk it as a lookup does and decide which of
 * its entries stay (their blocks marked 1, claimed) and which go (head marked 2, visited).
 * Nothing is relinked yet.  Returns how many members were visited. */
static uint32_t chain_judge(shs_shmi_t *s, uint32_t b, int verify, apr_time_t now,
                            uint32_t *ndropped)
{
    uint32_t i, j, visited = 0;
    char key[SHS_SHM_KEY_MAX];

    for (i = s->buckets[b]; shs_shmi_chain_member(s, i, b) && !head(s, i)->b.mark;
         i = head(s, i)->hnext) {
        head_t *e = head(s, i);
        uint64_t *why = NULL;
        int keep = 0;
        visited++;
        if (e->b.kind != KIND_HEAD) {
            /* being written or removed when a process died: not an entry; else damage */
            why = e->b.kind == KIND_NEW || e->b.kind == KIND_GONE ? NULL : &s->h->corrupt;
        }
        else if (!shs_shmi_head_ok(s, e) || !chain_claim(s, i, verify)) {
            why = &s->h->corrupt;
        }
        else {
            key_copy(s, i, key);
            if (shs_shmi_key_hash(s->seed, key, e->klen) != e->khash) {
                why = &s->h->corrupt;
            }
            else if (expired(e, now)) {
                why = &s->h->expired;
            }
            else {
                /* behind an entry with the same key hash and length (only damage puts one
                 * there): a second copy of a key, which lookups never reached, or a key whose
                 * hash collides, too rare to keep apart; it goes, whatever the first became */
                for (j = s->buckets[b]; j != i; j = head(s, j)->hnext) {
                    if (head(s, j)->khash == e->khash && head(s, j)->klen == e->klen) {
                        break;
                    }
                }
                keep = j == i;
                *ndropped += !keep;
            }
            if (!keep) {
                chain_unmark(s, i, e->nblk);
            }
        }
        if (why) {
            count(why);
            (*ndropped)++;
        }
        e->b.mark = keep ? 1 : 2;
    }
    return visited;
}

/* Second pass: link the entries that stay, in their order, and cut the chain after the last.
 * Every step leaves a chain a rebuild can walk again, should this process die here. */
static void chain_relink(shs_shmi_t *s, uint32_t b, uint32_t visited)
{
    uint32_t i = s->buckets[b], last = NIL, k;

    for (k = 0; k < visited; k++) {
        uint32_t next = head(s, i)->hnext;
        if (head(s, i)->b.mark == 1) {
            if (last == NIL) {
                s->buckets[b] = i;
            }
            else {
                head(s, last)->hnext = i;
            }
            last = i;
        }
        i = next;
    }
    if (last == NIL) {
        s->buckets[b] = NIL;
    }
    else {
        head(s, last)->hnext = NIL;
    }
}

/* Rebuild every derived structure (the lock held, or the file exclusively ours).  Never fails:
 * what cannot be trusted is dropped.  The entries kept are exactly those lookups could reach:
 * each bucket's chain is walked as a lookup walks it, up to its first broken link (one that
 * leads out of range, to a free or data block, back into the chain or to another bucket's
 * entry); heads left behind by a death (being written or removed) and heads of damaged kind are
 * stepped over, as they are part of the chain.  An entry no chain reaches is dropped, never
 * relinked: a broken link can hide an entry from lookups while it stays whole, its key then
 * reported missing, written again and deleted again, and relinking it would bring back a
 * deleted session.  verify: check every entry's checksum too (a file nobody had open: the
 * machine may have crashed while it was written back).  A process that died under the lock
 * cannot have left a HEAD incomplete (write order), and every read checks the checksum anyway:
 * there the structural check suffices and the lock is held for less than half the time. */
void shs_shmi_rebuild(shs_shmi_t *s, int verify, apr_uint32_t *kept, apr_uint32_t *dropped)
{
    shm_hdr_t *h = s->h;
    apr_time_t now = shs_shmi_hooks.now ? shs_shmi_hooks.now() : apr_time_now();
    uint32_t i, b, n = s->nblocks, list = NIL, nkept = 0, ndropped = 0;
    uint64_t maxseq = h->seq;

    for (i = 0; i < n; i++) {
        blk(s, i)->mark = 0;
    }
    for (b = 0; b <= s->mask; b++) {
        chain_relink(s, b, chain_judge(s, b, verify, now, &ndropped));
    }
    /* the survivors, in one list; every other block is free */
    h->free_head = NIL;
    set32(&h->free_count, 0);
    for (i = n; i-- > 0;) {
        head_t *e = head(s, i);
        if (e->b.mark != 1) {
            if (e->b.kind == KIND_HEAD && !e->b.mark) { /* no chain reached it */
                count(expired(e, now) ? &h->expired : &h->corrupt);
                ndropped++;
            }
            shs_shmi_free_push(s, i);
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
    if (!verify) {
        count(&h->recoveries);
    }
}
