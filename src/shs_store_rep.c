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

/* Replicas and the items they store (see shs_store.h): the version header, the comparison of
 * copies, and get / set / add / del over the copies of a key, on top of the executor
 * (shs_store.c, through shs_store_int.h).
 *
 * Why these rules (docs/architecture.md, "Replicas"):
 * - get reads every copy, not the first one only: a copy that missed writes while its server
 *   was cut off, or a server restarted from an old snapshot, must not be served just because
 *   it answers first.
 * - A tombstone wins over any value, whatever the versions: a session id is never written
 *   again after its deletion (logout and rotation give a new id), so a value next to a
 *   tombstone can only be an old copy (or a write racing the logout), and clocks of several
 *   front ends need not agree for a logout to hold.
 * - A missing copy is repaired with add, so that a write that got there after the read is
 *   kept; an older copy with set (a write racing that set can be undone on that copy, and the
 *   next read repairs it again from the other one).
 * - add is decided by the first slot that answers, then copied to the following ones, whose
 *   "exists" with another item vetoes it: adds of one key serialize on their first common
 *   slot.  A refused add repairs the copies: a used token's mark is never read, so nothing
 *   else would give it back to a slot restarted empty. */

#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "shs_store.h"
#include "shs_store_int.h"

/* ------------------------------------------------------------------ items */

#define ITEM_MAGIC "shsr1:"
#define ITEM_MAGIC_LEN 6
#define ITEM_VERSION_DIGITS 16
#define ITEM_EXPIRES_DIGITS 12

static const char hexdigits[] = "0123456789abcdef";

static void put_hex(char *out, apr_uint64_t v, int digits)
{
    int i;

    for (i = digits - 1; i >= 0; i--) {
        out[i] = hexdigits[v & 15];
        v >>= 4;
    }
}

static int get_hex(const char *in, int digits, apr_uint64_t *v)
{
    int i;

    *v = 0;
    for (i = 0; i < digits; i++) {
        char c = in[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) {
            return 0;
        }
        *v = (*v << 4) | (apr_uint64_t)d;
    }
    return 1;
}

void shs_store_item_header(char *out, int deleted, apr_uint64_t version, apr_int64_t expires)
{
    char *o = out;

    memcpy(o, ITEM_MAGIC, ITEM_MAGIC_LEN);
    o += ITEM_MAGIC_LEN;
    *o++ = deleted ? 'd' : 'v';
    *o++ = ':';
    put_hex(o, version, ITEM_VERSION_DIGITS);
    o += ITEM_VERSION_DIGITS;
    *o++ = ':';
    put_hex(o, expires > 0 ? (apr_uint64_t)expires : 0, ITEM_EXPIRES_DIGITS);
    o += ITEM_EXPIRES_DIGITS;
    *o++ = ':';
}

void shs_store_item_parse(const char *raw, apr_size_t len, shs_store_item_t *it)
{
    const char *h = raw;
    apr_uint64_t version, expires;

    memset(it, 0, sizeof(*it));
    it->data = raw;
    it->len = len;
    if (!raw || len < SHS_STORE_ITEM_HDR || memcmp(h, ITEM_MAGIC, ITEM_MAGIC_LEN) != 0) {
        return;
    }
    h += ITEM_MAGIC_LEN;
    if ((h[0] != 'v' && h[0] != 'd') || h[1] != ':' ||
        !get_hex(h + 2, ITEM_VERSION_DIGITS, &version) || h[2 + ITEM_VERSION_DIGITS] != ':' ||
        !get_hex(h + 3 + ITEM_VERSION_DIGITS, ITEM_EXPIRES_DIGITS, &expires) ||
        h[3 + ITEM_VERSION_DIGITS + ITEM_EXPIRES_DIGITS] != ':') {
        return;
    }
    it->versioned = 1;
    it->deleted = h[0] == 'd';
    it->version = version;
    it->expires = (apr_int64_t)expires;
    it->data = raw + SHS_STORE_ITEM_HDR;
    it->len = len - SHS_STORE_ITEM_HDR;
}

int shs_store_item_newer(const shs_store_item_t *a, const shs_store_item_t *b)
{
    if (a->deleted != b->deleted) {
        return a->deleted;
    }
    return a->version > b->version;
}

static apr_uint64_t version_last; /* atomic */
static apr_uint64_t version_salt; /* this process's 12 random bits */

void shs_store_version_init(void)
{
    unsigned char r[2] = { 0, 0 };
    apr_uint64_t salt;

    if (apr_generate_random_bytes(r, sizeof(r)) != APR_SUCCESS) {
        r[0] = (unsigned char)getpid();
        r[1] = (unsigned char)(apr_time_now() >> 8);
    }
    salt = ((apr_uint64_t)r[0] << 8 | r[1]) & 0xfff;
    __atomic_store_n(&version_salt, salt, __ATOMIC_RELAXED);
}

apr_uint64_t shs_store_version_next(void)
{
    apr_uint64_t now =
        ((apr_uint64_t)apr_time_now() << 12) | __atomic_load_n(&version_salt, __ATOMIC_RELAXED);
    apr_uint64_t last = __atomic_load_n(&version_last, __ATOMIC_RELAXED), v;

    do {
        v = now > last ? now : last + 1; /* a clock set back does not go back here */
    } while (!__atomic_compare_exchange_n(&version_last, &last, v, 0, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    return v;
}

/* ------------------------------------------------------------------ operations */

static apr_int64_t expiry_of(apr_int64_t ttl)
{
    return ttl > 0 ? apr_time_sec(apr_time_now()) + ttl : 0;
}

/* The first failure in the slots' order (every slot failed). */
static apr_status_t first_failure(const apr_status_t *rvs, unsigned int n)
{
    unsigned int i;

    for (i = 0; i < n; i++) {
        if (SHS_STORE_FAILED(rvs[i])) {
            return rvs[i];
        }
    }
    return n ? rvs[0] : SHS_STORE_EDOWN;
}

/* Read the copies of a key from its slots at once.  jobs[i] keeps the raw copy of slot i when
 * rvs[i] is APR_SUCCESS; items[i] is its parsed form. */
static apr_status_t read_copies(shs_store_t *st, const char *key, const unsigned int *slots,
                                unsigned int n, shs_job_t **jobs, apr_status_t *rvs,
                                shs_store_item_t *items, const struct timespec *deadline)
{
    unsigned int i;

    for (i = 0; i < n; i++) {
        jobs[i] = shs_job_on(st, SHS_JOB_GET, slots[i], key, NULL, 0, NULL, 0, 0);
        if (!jobs[i]) {
            shs_jobs_free(jobs, (int)i);
            return APR_ENOMEM;
        }
    }
    shs_jobs_run(st, jobs, rvs, (int)n, deadline);
    for (i = 0; i < n; i++) {
        if (rvs[i] == APR_SUCCESS) {
            apr_size_t len;
            const char *raw = shs_job_value(jobs[i], &len);
            shs_store_item_parse(raw, len, &items[i]);
        }
    }
    return APR_SUCCESS;
}

/* Write the winning copy again where it was missing (add: a write that got there meanwhile
 * is kept) or older (set), waiting no longer than the read's deadline.  Only items whose
 * lifetime is known are copied: a copy written without replicas (no header) is not. */
static void repair(shs_store_t *st, const char *key, const unsigned int *slots, unsigned int n,
                   shs_job_t **copies, const apr_status_t *rvs, const shs_store_item_t *items,
                   unsigned int win, const struct timespec *deadline)
{
    shs_job_t *jobs[SHS_STORE_MAX_REPLICAS];
    apr_status_t out[SHS_STORE_MAX_REPLICAS];
    unsigned int to[SHS_STORE_MAX_REPLICAS];
    const shs_store_item_t *w = &items[win];
    apr_int64_t ttl = 0;
    unsigned int i, k = 0;
    apr_size_t rawlen;
    const char *raw = shs_job_value(copies[win], &rawlen);

    if (!w->versioned) {
        return;
    }
    if (w->expires) {
        ttl = w->expires - apr_time_sec(apr_time_now());
        if (ttl <= 0) {
            return;
        }
    }
    for (i = 0; i < n; i++) {
        int missing = rvs[i] == APR_NOTFOUND;
        if (i == win ||
            !(missing || (rvs[i] == APR_SUCCESS && shs_store_item_newer(w, &items[i])))) {
            continue;
        }
        shs_store_event(st, SHS_STORE_EV_STALE, slots[i]);
        jobs[k] = shs_job_on(st, missing ? SHS_JOB_ADD : SHS_JOB_SET, slots[i], key, raw, rawlen,
                             NULL, 0, ttl);
        if (!jobs[k]) {
            break;
        }
        shs_job_best_effort(jobs[k]);
        to[k++] = slots[i];
    }
    if (!k) {
        return;
    }
    shs_jobs_run(st, jobs, out, (int)k, deadline);
    for (i = 0; i < k; i++) {
        if (out[i] == APR_SUCCESS) {
            shs_store_event(st, SHS_STORE_EV_REPAIR, to[i]);
        }
    }
    shs_jobs_free(jobs, (int)k);
}

/* Read every copy of a key and repair the slots missing it or holding an older one.
 * APR_SUCCESS when a copy was found (a value or a tombstone): *win is its index, and jobs[]
 * keep the raw copies until the caller frees them; APR_NOTFOUND when no slot holds one and at
 * least one answered; otherwise the first slot's failure. */
static apr_status_t read_and_repair(shs_store_t *st, const char *key, const unsigned int *slots,
                                    unsigned int n, shs_job_t **jobs, apr_status_t *rvs,
                                    shs_store_item_t *items, unsigned int *win)
{
    struct timespec deadline = shs_store_deadline(st);
    unsigned int i;
    int found = 0, answered = 0;
    apr_status_t rv;

    *win = 0;
    rv = read_copies(st, key, slots, n, jobs, rvs, items, &deadline);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < n; i++) {
        if (rvs[i] == APR_SUCCESS) {
            if (!found || shs_store_item_newer(&items[i], &items[*win])) {
                *win = i;
            }
            found = 1;
        }
        answered += rvs[i] == APR_SUCCESS || rvs[i] == APR_NOTFOUND;
    }
    if (!found) {
        return answered ? APR_NOTFOUND : first_failure(rvs, n);
    }
    repair(st, key, slots, n, jobs, rvs, items, *win, &deadline);
    return APR_SUCCESS;
}

apr_status_t shs_rep_get(shs_store_t *st, const char *key, apr_pool_t *p, char **val,
                         apr_size_t *len)
{
    unsigned int slots[SHS_STORE_MAX_REPLICAS], n, win;
    shs_job_t *jobs[SHS_STORE_MAX_REPLICAS] = { NULL };
    apr_status_t rvs[SHS_STORE_MAX_REPLICAS], rv;
    shs_store_item_t items[SHS_STORE_MAX_REPLICAS];

    n = shs_store_key_slots(st, key, slots);
    rv = read_and_repair(st, key, slots, n, jobs, rvs, items, &win);
    if (rv == APR_SUCCESS) {
        if (items[win].deleted) {
            rv = APR_NOTFOUND;
        }
        else {
            *val = apr_pstrmemdup(p, items[win].data, items[win].len);
            *len = items[win].len;
            if (win != 0) {
                shs_store_event(st, SHS_STORE_EV_FALLBACK, slots[win]);
            }
        }
    }
    shs_jobs_free(jobs, (int)n);
    return rv;
}

/* The copies of a new value (or tombstone), one per slot, at once. */
static apr_status_t write_copies(shs_store_t *st, const char *key, const unsigned int *slots,
                                 unsigned int n, shs_job_kind_e kind, const char *hdr,
                                 const char *val, apr_size_t len, apr_int64_t ttl,
                                 apr_status_t *rvs)
{
    shs_job_t *jobs[SHS_STORE_MAX_REPLICAS];
    struct timespec deadline;
    unsigned int i;

    for (i = 0; i < n; i++) {
        jobs[i] = shs_job_on(st, kind, slots[i], key, hdr, SHS_STORE_ITEM_HDR, val, len, ttl);
        if (!jobs[i]) {
            shs_jobs_free(jobs, (int)i);
            return APR_ENOMEM;
        }
    }
    deadline = shs_store_deadline(st);
    shs_jobs_run(st, jobs, rvs, (int)n, &deadline);
    shs_jobs_free(jobs, (int)n);
    return APR_SUCCESS;
}

apr_status_t shs_rep_set(shs_store_t *st, const char *key, const char *val, apr_size_t len,
                         apr_int64_t ttl)
{
    unsigned int slots[SHS_STORE_MAX_REPLICAS], n, i;
    apr_status_t rvs[SHS_STORE_MAX_REPLICAS], rv;
    char hdr[SHS_STORE_ITEM_HDR];

    shs_store_note_ttl(st, ttl);
    shs_store_item_header(hdr, 0, shs_store_version_next(), expiry_of(ttl));
    n = shs_store_key_slots(st, key, slots);
    rv = write_copies(st, key, slots, n, SHS_JOB_SET, hdr, val, len, ttl, rvs);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < n; i++) {
        if (rvs[i] == APR_SUCCESS) {
            return APR_SUCCESS;
        }
    }
    return first_failure(rvs, n);
}

/* After an add stored on the slot that decided it: did one of the following slots, which
 * answered "exists" (rvs[i] APR_EEXIST), hold another add's item?  Their copy may be this
 * very item, put there by a read or a refused add that repaired the slot meanwhile (the same
 * version): that is no other add.  Any other item, or one that cannot be read, is: this add
 * loses (it decided on a slot the other one could not reach). */
static int other_add_won(shs_store_t *st, const char *key, const unsigned int *slots,
                         const apr_status_t *rvs, unsigned int n, apr_uint64_t version)
{
    unsigned int exist[SHS_STORE_MAX_REPLICAS], i, k = 0;
    shs_job_t *jobs[SHS_STORE_MAX_REPLICAS] = { NULL };
    apr_status_t got[SHS_STORE_MAX_REPLICAS];
    shs_store_item_t items[SHS_STORE_MAX_REPLICAS];
    struct timespec deadline;
    int other = 0;

    for (i = 0; i < n; i++) {
        if (rvs[i] == APR_EEXIST) {
            exist[k++] = slots[i];
        }
    }
    if (!k) {
        return 0;
    }
    deadline = shs_store_deadline(st);
    if (read_copies(st, key, exist, k, jobs, got, items, &deadline) != APR_SUCCESS) {
        return 1;
    }
    for (i = 0; i < k; i++) {
        other |= got[i] != APR_SUCCESS || !items[i].versioned || items[i].deleted ||
                 items[i].version != version;
    }
    shs_jobs_free(jobs, (int)k);
    return other;
}

/* See "add" at the top of shs_store.h. */
apr_status_t shs_rep_add(shs_store_t *st, const char *key, const char *val, apr_size_t len,
                         apr_int64_t ttl)
{
    unsigned int slots[SHS_STORE_MAX_REPLICAS], n, i;
    apr_status_t rvs[SHS_STORE_MAX_REPLICAS], rv;
    char hdr[SHS_STORE_ITEM_HDR];
    apr_uint64_t version = shs_store_version_next();

    shs_store_note_ttl(st, ttl);
    shs_store_item_header(hdr, 0, version, expiry_of(ttl));
    n = shs_store_key_slots(st, key, slots);
    /* the first slot that answers decides */
    for (i = 0; i < n; i++) {
        rv = write_copies(st, key, slots + i, 1, SHS_JOB_ADD, hdr, val, len, ttl, &rvs[i]);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (!SHS_STORE_FAILED(rvs[i])) {
            break;
        }
    }
    if (i == n) {
        return first_failure(rvs, n);
    }
    if (rvs[i] == APR_EEXIST) {
        /* The key is there.  A slot after this one may have lost its copy (restarted empty)
         * while this one decided every add since: copy it back now, or losing this slot
         * later would lose the key (a used token would become usable again). */
        shs_job_t *jobs[SHS_STORE_MAX_REPLICAS] = { NULL };
        shs_store_item_t items[SHS_STORE_MAX_REPLICAS];
        unsigned int win;

        if (n > 1) {
            read_and_repair(st, key, slots, n, jobs, rvs, items, &win);
            shs_jobs_free(jobs, (int)n);
        }
        return APR_EEXIST;
    }
    if (i + 1 == n) {
        return rvs[i];
    }
    /* stored there: the slots after it get their copy */
    rv = write_copies(st, key, slots + i + 1, n - i - 1, SHS_JOB_ADD, hdr, val, len, ttl,
                      rvs + i + 1);
    if (rv != APR_SUCCESS) {
        return APR_SUCCESS; /* stored on one slot at least */
    }
    return other_add_won(st, key, slots + i + 1, rvs + i + 1, n - i - 1, version) ? APR_EEXIST
                                                                                  : APR_SUCCESS;
}

apr_status_t shs_rep_del(shs_store_t *st, const char *key)
{
    unsigned int slots[SHS_STORE_MAX_REPLICAS], n, i;
    shs_job_t *jobs[SHS_STORE_MAX_REPLICAS];
    apr_status_t rvs[SHS_STORE_MAX_REPLICAS], rv;
    shs_store_item_t items[SHS_STORE_MAX_REPLICAS];
    struct timespec deadline = shs_store_deadline(st);
    apr_uint64_t version = shs_store_version_next();
    apr_int64_t now = apr_time_sec(apr_time_now());
    apr_int64_t ttl = shs_store_max_ttl(st);
    int values = 0, answered = 0, unlimited = ttl < 0;
    char hdr[SHS_STORE_ITEM_HDR];

    n = shs_store_key_slots(st, key, slots);
    rv = read_copies(st, key, slots, n, jobs, rvs, items, &deadline);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (ttl == 0) {
        ttl = SHS_STORE_TOMBSTONE_TTL; /* nothing written by this store yet */
    }
    for (i = 0; i < n; i++) {
        answered += rvs[i] == APR_SUCCESS || rvs[i] == APR_NOTFOUND;
        if (rvs[i] != APR_SUCCESS) {
            continue;
        }
        values += !items[i].deleted;
        if (items[i].version >= version) {
            version = items[i].version + 1;
        }
        if (items[i].versioned && !items[i].expires) {
            unlimited = 1;
        }
        else if (items[i].expires - now > ttl) {
            ttl = items[i].expires - now;
        }
    }
    shs_jobs_free(jobs, (int)n);
    if (!values && answered == (int)n) {
        return APR_NOTFOUND; /* nothing anywhere: nothing to remember */
    }
    if (unlimited) {
        ttl = 0;
    }
    shs_store_item_header(hdr, 1, version, expiry_of(ttl));
    rv = write_copies(st, key, slots, n, SHS_JOB_SET, hdr, "", 0, ttl, rvs);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = first_failure(rvs, n);
    for (i = 0; i < n; i++) {
        if (rvs[i] == APR_SUCCESS) {
            shs_store_event(st, SHS_STORE_EV_TOMBSTONE, slots[i]);
            rv = APR_SUCCESS;
        }
    }
    return rv;
}
