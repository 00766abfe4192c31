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

/* Unit tests of src/shs_store_shm.c, the embedded store: the operations' semantics, expiry,
 * eviction, too-large values, the file's life across restarts (reused, checked, replaced),
 * damage detection, and several processes forked after the store is opened (as httpd's
 * children are) hammering it, one of them killed while it holds the lock.
 *
 * Values are self-describing: "key|writer|seq|" followed by bytes derived from those, so any
 * value read can be checked to have been written, whole, for the key it was read under. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "shs_store.h"
#include "shs_store_shm.h"

#define SMALL (64 * 1024)   /* ~230 blocks: eviction comes quickly */
#define MEDIUM (256 * 1024) /* the smallest size the directive accepts */
#define LARGE (4 * 1024 * 1024)
#define NPROC 4

static char tmpdir[64];

typedef struct fx_t {
    apr_pool_t *pool;
    char path[128];
} fx_t;

/* ------------------------------------------------------------------ helpers */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    while (*s) {
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    }
    return h;
}

/* A value of exactly len bytes (len >= the header) for key, by writer, number seq. */
static char *make_value(apr_pool_t *p, const char *key, int writer, unsigned seq, apr_size_t len)
{
    char *head = apr_psprintf(p, "%s|%d|%u|", key, writer, seq);
    apr_size_t hl = strlen(head), i;
    char *v = apr_palloc(p, len > hl ? len : hl);
    uint64_t x = mix64(str_hash(head));

    memcpy(v, head, hl);
    for (i = hl; i < len; i++) {
        x = mix64(x + i);
        v[i] = (char)(x & 0xff); /* any byte, NUL included */
    }
    return v;
}

/* Was v (len bytes) written by make_value for key?  Gives the writer and seq. */
static int value_ok(apr_pool_t *p, const char *key, const char *v, apr_size_t len, int *writer,
                    unsigned *seq)
{
    apr_size_t kl = strlen(key);
    int w;
    unsigned sq;
    char *expect;

    if (len < kl + 1 || memcmp(v, key, kl) != 0 || v[kl] != '|') {
        return 0;
    }
    if (sscanf(v + kl + 1, "%d|%u|", &w, &sq) != 2) {
        return 0;
    }
    expect = make_value(p, key, w, sq, len);
    if (memcmp(expect, v, len) != 0) {
        return 0;
    }
    if (writer) {
        *writer = w;
    }
    if (seq) {
        *seq = sq;
    }
    return 1;
}

static apr_time_t fake_now;

static apr_time_t fake_clock(void)
{
    return fake_now;
}

static void use_fake_clock(void)
{
    shs_shm_test_hooks_t h = { .at = NULL, .now = fake_clock };

    fake_now = apr_time_from_sec(1700000000);
    shs_store_shm_test_hooks(&h);
}

typedef struct st_t {
    shs_shm_t *shm;
    const shs_store_ops_t *ops;
    void *ctx;
    shs_shm_info_t info;
} st_t;

static void open_store(apr_pool_t *p, const char *path, apr_size_t bytes, st_t *st)
{
    assert_int_equal(shs_store_shm_create(p, path, bytes, &st->info, &st->shm), APR_SUCCESS);
    shs_store_shm_ops(st->shm, &st->ops, &st->ctx);
}

static apr_status_t st_get(st_t *st, apr_pool_t *p, const char *key, char **v, apr_size_t *len)
{
    return st->ops->get(st->ctx, 0, key, p, v, len);
}

static apr_status_t st_set(st_t *st, const char *key, const char *v, apr_size_t len,
                           apr_int64_t ttl)
{
    return st->ops->set(st->ctx, 0, key, v, len, ttl);
}

static apr_status_t st_add(st_t *st, const char *key, const char *v, apr_size_t len,
                           apr_int64_t ttl)
{
    return st->ops->add(st->ctx, 0, key, v, len, ttl);
}

static apr_status_t st_del(st_t *st, const char *key)
{
    return st->ops->del(st->ctx, 0, key);
}

static void want_value(st_t *st, apr_pool_t *p, const char *key, const char *want, apr_size_t wlen)
{
    char *v = NULL;
    apr_size_t len = 0;

    assert_int_equal(st_get(st, p, key, &v, &len), APR_SUCCESS);
    assert_int_equal(len, wlen);
    assert_memory_equal(v, want, wlen);
    assert_int_equal(v[len], '\0');
}

static void want_missing(st_t *st, apr_pool_t *p, const char *key)
{
    char *v;
    apr_size_t len;

    assert_int_equal(st_get(st, p, key, &v, &len), APR_NOTFOUND);
}

static shs_shm_stats_t stats_of(st_t *st)
{
    shs_shm_stats_t s;

    shs_store_shm_stats(st->shm, &s);
    return s;
}

/* Close a store as a restart does: the pool that owns it goes. */
static void close_store(apr_pool_t *sp)
{
    apr_pool_destroy(sp);
}

/* Wait for children with a deadline; those still running then are killed and fail the test. */
static void wait_children(pid_t *pids, int n, int seconds, int *status)
{
    apr_time_t until = apr_time_now() + apr_time_from_sec(seconds);
    int left = n, i;

    for (i = 0; i < n; i++) {
        status[i] = -1;
    }
    while (left > 0 && apr_time_now() < until) {
        for (i = 0; i < n; i++) {
            int stt;
            if (status[i] == -1 && waitpid(pids[i], &stt, WNOHANG) == pids[i]) {
                status[i] = stt;
                left--;
            }
        }
        if (left) {
            usleep(2000);
        }
    }
    for (i = 0; i < n; i++) {
        if (status[i] == -1) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
            fail_msg("child %d (pid %ld) did not finish within %d s", i, (long)pids[i], seconds);
        }
    }
}

/* In a forked child: cmocka's handlers would turn a crash into a failed test and go on
 * running the next tests in the child.  A crash must stay a crash. */
static void child_start(void)
{
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGILL, SIG_DFL);
    signal(SIGFPE, SIG_DFL);
    signal(SIGABRT, SIG_DFL);
    alarm(60); /* and a hang ends */
}

static void *shared_area(apr_size_t bytes)
{
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    assert_true(m != MAP_FAILED);
    memset(m, 0, bytes);
    return m;
}

/* ------------------------------------------------------------------ fixtures */

static int fx_setup(void **state)
{
    static int n;
    fx_t *fx = calloc(1, sizeof(*fx));

    if (!fx || apr_pool_create(&fx->pool, NULL) != APR_SUCCESS) {
        return -1;
    }
    snprintf(fx->path, sizeof(fx->path), "%s/store-%d", tmpdir, ++n);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;

    shs_store_shm_test_hooks(NULL);
    apr_pool_destroy(fx->pool);
    unlink(fx->path);
    free(fx);
    return 0;
}

static int group_setup(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/shs-shm-test.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ semantics */

static void test_new_file(void **state)
{
    fx_t *fx = *state;
    st_t st;
    struct stat sb;
    shs_shm_stats_t s;

    open_store(fx->pool, fx->path, MEDIUM, &st);
    assert_int_equal(st.info.how, SHS_SHM_NEW);
    assert_null(st.info.why);
    assert_int_equal(stat(fx->path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(sb.st_uid, geteuid());
    assert_int_equal(sb.st_size, MEDIUM);
    assert_true(st.ops->direct);
    assert_int_equal(st.ops->nslots(st.ctx), 1);
    assert_int_equal(st.ops->slot_of(st.ctx, "anything"), 0);
    assert_string_equal(st.ops->slot_name(st.ctx, 0),
                        apr_pstrcat(fx->pool, "shm:", fx->path, NULL));
    s = stats_of(&st);
    assert_int_equal(s.entries, 0);
    assert_int_equal(s.used, 0);
    assert_true(s.capacity > MEDIUM * 9 / 10 && s.capacity < MEDIUM);
    assert_int_equal(s.capacity, st.info.capacity);
    assert_int_equal(s.max_value, st.info.max_value);
    assert_int_equal(s.max_value, shs_store_shm_max_value(st.shm));
    /* bad arguments */
    assert_int_equal(shs_store_shm_create(fx->pool, fx->path, 1000, &st.info, &st.shm), APR_EINVAL);
    assert_int_equal(shs_store_shm_create(fx->pool, "", MEDIUM, &st.info, &st.shm), APR_EINVAL);
    assert_int_not_equal(
        shs_store_shm_create(fx->pool, "/nonexistent-dir/x", MEDIUM, &st.info, &st.shm),
        APR_SUCCESS);
}

static void test_get_set_add_del(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool;
    st_t st;
    char *v;
    apr_size_t len;

    open_store(p, fx->path, MEDIUM, &st);
    want_missing(&st, p, "k1");
    assert_int_equal(st_del(&st, "k1"), APR_NOTFOUND);
    assert_int_equal(st_set(&st, "k1", "one", 3, 0), APR_SUCCESS);
    want_value(&st, p, "k1", "one", 3);
    assert_int_equal(st_set(&st, "k1", "uno", 3, 0), APR_SUCCESS); /* set replaces */
    want_value(&st, p, "k1", "uno", 3);
    assert_int_equal(st_add(&st, "k1", "eins", 4, 0), APR_EEXIST); /* add does not */
    want_value(&st, p, "k1", "uno", 3);
    assert_int_equal(st_add(&st, "k2", "two", 3, 0), APR_SUCCESS);
    want_value(&st, p, "k2", "two", 3);
    assert_int_equal(st_add(&st, "k2", "zwei", 4, 0), APR_EEXIST);
    assert_int_equal(st_del(&st, "k1"), APR_SUCCESS);
    want_missing(&st, p, "k1");
    assert_int_equal(st_del(&st, "k1"), APR_NOTFOUND);
    assert_int_equal(st_add(&st, "k1", "again", 5, 0), APR_SUCCESS); /* free again after del */
    want_value(&st, p, "k1", "again", 5);
    want_value(&st, p, "k2", "two", 3);
    assert_int_equal(stats_of(&st).entries, 2);
    /* an empty value is a value */
    assert_int_equal(st_set(&st, "empty", "", 0, 0), APR_SUCCESS);
    assert_int_equal(st_get(&st, p, "empty", &v, &len), APR_SUCCESS);
    assert_int_equal(len, 0);
    assert_int_equal(st_set(&st, "null", NULL, 0, 0), APR_SUCCESS);
    assert_int_equal(st_set(&st, "null", NULL, 5, 0), APR_EINVAL);
    /* keys: 1..250 bytes */
    assert_int_equal(st_set(&st, "", "x", 1, 0), APR_EINVAL);
    assert_int_equal(st_get(&st, p, "", &v, &len), APR_EINVAL);
    assert_int_equal(st_del(&st, ""), APR_EINVAL);
    assert_int_equal(st.ops->get(st.ctx, 0, NULL, p, &v, &len), APR_EINVAL);
    {
        char *k250 = apr_palloc(p, 252), *k251 = apr_palloc(p, 252);
        memset(k250, 'a', 250);
        k250[250] = '\0';
        memset(k251, 'a', 251);
        k251[251] = '\0';
        assert_int_equal(st_set(&st, k250, "long key", 8, 0), APR_SUCCESS);
        want_value(&st, p, k250, "long key", 8);
        assert_int_equal(st_set(&st, k251, "x", 1, 0), APR_EINVAL);
        assert_int_equal(st_add(&st, k251, "x", 1, 0), APR_EINVAL);
        k250[249] = 'b'; /* differs in the last byte only, which lies in the second block */
        want_missing(&st, p, k250);
    }
}

/* Values across many blocks, binary bytes, keys spanning the head block. */
static void test_long_values(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool;
    st_t st;
    apr_size_t lens[] = { 0, 1, 150, 175, 176, 177, 420, 421, 1000, 4096, 8192, 30000, 65536 };
    unsigned i;
    char *k250 = apr_palloc(p, 251);

    memset(k250, 'z', 250);
    k250[250] = '\0';
    open_store(p, fx->path, LARGE, &st);
    assert_int_equal(shs_store_shm_max_value(st.shm), SHS_SHM_VALUE_MAX);
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        const char *key = apr_psprintf(p, "long-%u", i);
        char *v = make_value(p, key, 0, i, lens[i] + 20);
        char *v2 = make_value(p, k250, 0, i, lens[i] + 300 < 65536 ? lens[i] + 300 : 65536);
        apr_size_t l2 = lens[i] + 300 < 65536 ? lens[i] + 300 : 65536;
        if (lens[i] + 20 <= SHS_SHM_VALUE_MAX) {
            assert_int_equal(st_set(&st, key, v, lens[i] + 20, 0), APR_SUCCESS);
            want_value(&st, p, key, v, lens[i] + 20);
        }
        assert_int_equal(st_set(&st, k250, v2, l2, 0), APR_SUCCESS);
        want_value(&st, p, k250, v2, l2);
    }
    /* all blocks come back when everything is deleted: nothing leaked */
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        apr_status_t rv = st_del(&st, apr_psprintf(p, "long-%u", i));
        assert_true(rv == APR_SUCCESS || rv == APR_NOTFOUND);
    }
    assert_int_equal(st_del(&st, k250), APR_SUCCESS);
    assert_int_equal(stats_of(&st).entries, 0);
    assert_int_equal(stats_of(&st).used, 0);
}

static void test_ttl(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool;
    st_t st;
    shs_shm_stats_t s;

    use_fake_clock();
    open_store(p, fx->path, MEDIUM, &st);
    assert_int_equal(st_set(&st, "t10", "ten", 3, 10), APR_SUCCESS);
    assert_int_equal(st_add(&st, "t1", "one", 3, 1), APR_SUCCESS);
    assert_int_equal(st_set(&st, "forever", "f", 1, 0), APR_SUCCESS);
    assert_int_equal(st_set(&st, "negative", "n", 1, -5), APR_SUCCESS); /* no limit either */
    assert_int_equal(st_set(&st, "huge", "h", 1, APR_INT64_MAX), APR_SUCCESS);
    fake_now += apr_time_from_msec(999);
    want_value(&st, p, "t1", "one", 3);
    fake_now += apr_time_from_msec(1); /* exactly 1 s: gone */
    want_missing(&st, p, "t1");
    assert_int_equal(stats_of(&st).expired, 1);
    assert_int_equal(st_add(&st, "t1", "uno", 3, 5), APR_SUCCESS); /* free again */
    fake_now += apr_time_from_sec(8);
    want_value(&st, p, "t10", "ten", 3);
    assert_int_equal(st_add(&st, "t10", "x", 1, 0), APR_EEXIST);
    fake_now += apr_time_from_sec(1);
    /* expired: add succeeds, del finds nothing, as with memcached */
    assert_int_equal(st_add(&st, "t10", "new", 3, 0), APR_SUCCESS);
    want_value(&st, p, "t10", "new", 3);
    assert_int_equal(st_del(&st, "t1"), APR_NOTFOUND);
    fake_now += apr_time_from_sec(10 * 365 * 24 * 3600);
    want_value(&st, p, "forever", "f", 1);
    want_value(&st, p, "negative", "n", 1);
    want_value(&st, p, "huge", "h", 1);
    s = stats_of(&st);
    assert_int_equal(s.expired, 3);
    assert_int_equal(s.evictions, 0);
    assert_int_equal(s.entries, 4);
}

/* Expired entries nobody reads are reclaimed by the writes' sweep, before any live entry is
 * evicted, and not counted as evictions. */
static void test_expired_reclaimed_first(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool;
    st_t st;
    shs_shm_stats_t s;
    int i, n;

    use_fake_clock();
    open_store(p, fx->path, SMALL, &st);
    n = (int)(st.info.capacity / SHS_SHM_BLOCK);
    /* live entries first (the oldest), then short-lived ones until the store is nearly full */
    for (i = 0; i < n / 4; i++) {
        assert_int_equal(st_set(&st, apr_psprintf(p, "live-%03d", i), "v", 1, 0), APR_SUCCESS);
    }
    for (i = 0; i < n / 2; i++) {
        assert_int_equal(st_set(&st, apr_psprintf(p, "tok-%03d", i), "1", 1, 60), APR_SUCCESS);
    }
    fake_now += apr_time_from_sec(61);
    for (i = 0; i < n / 2; i++) {
        assert_int_equal(st_set(&st, apr_psprintf(p, "new-%03d", i), "v", 1, 0), APR_SUCCESS);
    }
    s = stats_of(&st);
    assert_int_equal(s.evictions, 0);
    assert_true(s.expired > 0);
    for (i = 0; i < n / 4; i++) {
        want_value(&st, p, apr_psprintf(p, "live-%03d", i), "v", 1);
    }
}

/* One block per entry: key "eNNN" and a value of 100 bytes. */
static void fill_one_block_entries(st_t *st, apr_pool_t *p, const char *prefix, int from, int to)
{
    int i;

    for (i = from; i < to; i++) {
        const char *k = apr_psprintf(p, "%s%04d", prefix, i);
        assert_int_equal(st_set(st, k, make_value(p, k, 0, 0, 100), 100, 0), APR_SUCCESS);
    }
}

static int present(st_t *st, apr_pool_t *p, const char *key)
{
    char *v;
    apr_size_t len;

    return st_get(st, p, key, &v, &len) == APR_SUCCESS;
}

static void test_eviction_oldest_first(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool;
    st_t st;
    int n, i, next;
    shs_shm_stats_t s;

    open_store(p, fx->path, SMALL, &st);
    n = (int)(st.info.capacity / SHS_SHM_BLOCK);
    fill_one_block_entries(&st, p, "e", 0, n); /* exactly full */
    s = stats_of(&st);
    assert_int_equal(s.evictions, 0);
    assert_int_equal(s.used, s.capacity);
    /* one more: the oldest goes, and only it */
    fill_one_block_entries(&st, p, "e", n, n + 1);
    assert_int_equal(stats_of(&st).evictions, 1);
    assert_false(present(&st, p, "e0000"));
    /* reading e0001 makes it recent: e0002 goes next, then e0003 */
    assert_true(present(&st, p, "e0001"));
    fill_one_block_entries(&st, p, "e", n + 1, n + 3);
    assert_int_equal(stats_of(&st).evictions, 3);
    assert_true(present(&st, p, "e0001"));
    assert_false(present(&st, p, "e0002"));
    assert_false(present(&st, p, "e0003"));
    assert_true(present(&st, p, "e0004"));
    /* a large value pushes out as many old entries as it needs, never fails */
    next = n + 3;
    for (i = 0; i < 20; i++, next++) {
        const char *k = apr_psprintf(p, "big%d", i);
        apr_size_t len = shs_store_shm_max_value(st.shm);
        assert_int_equal(st_set(&st, k, make_value(p, k, 0, 0, len), len, 0), APR_SUCCESS);
        want_value(&st, p, k, make_value(p, k, 0, 0, len), len);
    }
    s = stats_of(&st);
    assert_true(s.evictions > 3);
    assert_true(s.used <= s.capacity);
    assert_int_equal(s.corrupt, 0);
    assert_int_equal(s.recoveries, 0);
}

static void test_too_large(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool;
    st_t st, big;
    apr_size_t max;
    char *v;

    open_store(p, fx->path, SMALL, &st);
    max = shs_store_shm_max_value(st.shm);
    assert_true(max >= 8 * 1024); /* a few sessions' worth even in the smallest file */
    assert_true(max < SMALL / 4); /* one entry takes at most a quarter of the blocks */
    v = make_value(p, "k", 0, 0, SHS_SHM_VALUE_MAX + 1);
    assert_int_equal(st_set(&st, "k", v, max, 0), APR_SUCCESS);
    assert_int_equal(st_set(&st, "k", v, max + 1, 0), APR_ENOSPC);
    assert_int_equal(st_add(&st, "k2", v, max + 1, 0), APR_ENOSPC);
    assert_int_equal(stats_of(&st).too_large, 2);
    want_value(&st, p, "k", v, max); /* the refused set left the old value */

    open_store(p, apr_pstrcat(p, fx->path, "-big", NULL), LARGE, &big);
    assert_int_equal(shs_store_shm_max_value(big.shm), SHS_SHM_VALUE_MAX);
    assert_int_equal(st_set(&big, "k", v, SHS_SHM_VALUE_MAX + 1, 0), APR_ENOSPC);
    unlink(apr_pstrcat(p, fx->path, "-big", NULL));
}

/* ------------------------------------------------------------------ restarts */

static void test_restart_keeps_data(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool, *gen;
    st_t st;
    int i;
    shs_shm_stats_t before, after;

    use_fake_clock();
    apr_pool_create(&gen, p);
    open_store(gen, fx->path, LARGE, &st);
    for (i = 0; i < 100; i++) {
        const char *k = apr_psprintf(p, "s%03d", i);
        apr_size_t len = 50 + (apr_size_t)i * 37;
        assert_int_equal(
            st_set(&st, k, make_value(p, k, 1, (unsigned)i, len), len, i < 90 ? 0 : 30),
            APR_SUCCESS);
    }
    assert_int_equal(st_del(&st, "s000"), APR_SUCCESS);
    before = stats_of(&st);
    close_store(gen); /* the restart: nobody has the file open any more */

    fake_now += apr_time_from_sec(31); /* s090..s099 expire meanwhile */
    apr_pool_create(&gen, p);
    open_store(gen, fx->path, LARGE, &st);
    assert_int_equal(st.info.how, SHS_SHM_REUSED);
    assert_int_equal(st.info.kept, 89);
    assert_int_equal(st.info.dropped, 10);
    for (i = 1; i < 100; i++) {
        const char *k = apr_psprintf(p, "s%03d", i);
        apr_size_t len = 50 + (apr_size_t)i * 37;
        if (i < 90) {
            want_value(&st, p, k, make_value(p, k, 1, (unsigned)i, len), len);
        }
        else {
            want_missing(&st, p, k);
        }
    }
    want_missing(&st, p, "s000"); /* a deleted session stays deleted */
    after = stats_of(&st);
    assert_int_equal(after.entries, 89);
    assert_true(after.used < before.used);
    assert_int_equal(after.corrupt, 0);
    /* the add semantics still hold on the reused store */
    assert_int_equal(st_add(&st, "s001", "x", 1, 0), APR_EEXIST);
    assert_int_equal(st_add(&st, "s000", "x", 1, 0), APR_SUCCESS);
    close_store(gen);
}

/* The LRU order survives the check of a reused file. */
static void test_restart_keeps_lru_order(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool, *gen;
    st_t st;
    int n;

    apr_pool_create(&gen, p);
    open_store(gen, fx->path, SMALL, &st);
    n = (int)(st.info.capacity / SHS_SHM_BLOCK);
    fill_one_block_entries(&st, p, "e", 0, n - 10);
    assert_true(present(&st, p, "e0000")); /* now the most recent */
    close_store(gen);
    apr_pool_create(&gen, p);
    open_store(gen, fx->path, SMALL, &st);
    assert_int_equal(st.info.how, SHS_SHM_REUSED);
    fill_one_block_entries(&st, p, "n", 0, 11);
    assert_int_equal(stats_of(&st).evictions, 1);
    assert_false(present(&st, p, "e0001"));
    assert_true(present(&st, p, "e0000"));
    assert_true(present(&st, p, "e0002"));
    close_store(gen);
}

/* A graceful restart: processes of the old generation still have it open. */
static void test_in_use_reused_as_is(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool, *g1, *g2;
    st_t a, b;

    apr_pool_create(&g1, p);
    apr_pool_create(&g2, p);
    open_store(g1, fx->path, MEDIUM, &a);
    assert_int_equal(st_set(&a, "k", "old generation", 14, 0), APR_SUCCESS);
    open_store(g2, fx->path, MEDIUM, &b);
    assert_int_equal(b.info.how, SHS_SHM_INUSE);
    want_value(&b, p, "k", "old generation", 14);
    assert_int_equal(st_set(&b, "k2", "new generation", 14, 0), APR_SUCCESS);
    want_value(&a, p, "k2", "new generation", 14); /* one store, two mappings */
    assert_int_equal(st_add(&a, "once", "a", 1, 0), APR_SUCCESS);
    assert_int_equal(st_add(&b, "once", "b", 1, 0), APR_EEXIST);
    close_store(g1); /* the old generation is gone */
    want_value(&b, p, "k", "old generation", 14);
    close_store(g2);
}

/* A graceful restart with another size: the new generation gets a new file, the old one keeps
 * working on its own until it exits. */
static void test_resize_while_in_use(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool, *g1, *g2;
    st_t a, b;
    struct stat sb;

    apr_pool_create(&g1, p);
    apr_pool_create(&g2, p);
    open_store(g1, fx->path, MEDIUM, &a);
    assert_int_equal(st_set(&a, "k", "v", 1, 0), APR_SUCCESS);
    open_store(g2, fx->path, LARGE, &b);
    assert_int_equal(b.info.how, SHS_SHM_REINIT);
    assert_non_null(b.info.why);
    assert_int_equal(stat(fx->path, &sb), 0);
    assert_int_equal(sb.st_size, LARGE);
    want_missing(&b, p, "k");
    want_value(&a, p, "k", "v", 1);
    assert_int_equal(st_set(&a, "k", "w", 1, 0), APR_SUCCESS);
    want_missing(&b, p, "k");
    close_store(g1);
    close_store(g2);
}

static void write_file(const char *path, const void *data, apr_size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    fchmod(fd, mode);
    close(fd);
}

static void reopen_expect(apr_pool_t *p, const char *path, apr_size_t bytes, shs_shm_open_e how)
{
    apr_pool_t *gen;
    st_t st;

    apr_pool_create(&gen, p);
    open_store(gen, path, bytes, &st);
    assert_int_equal(st.info.how, how);
    if (how == SHS_SHM_REINIT) {
        assert_non_null(st.info.why);
        want_missing(&st, p, "k");
    }
    else {
        want_value(&st, p, "k", "v", 1);
    }
    close_store(gen);
}

static void test_unusable_files_replaced(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool, *gen;
    st_t st;
    char *junk = apr_pcalloc(p, MEDIUM);
    const char *target = apr_pstrcat(p, fx->path, "-target", NULL);
    struct stat sb;
    int fd;

    /* wrong magic, right size */
    memset(junk, 'J', MEDIUM);
    write_file(fx->path, junk, MEDIUM, 0600);
    reopen_expect(p, fx->path, MEDIUM, SHS_SHM_REINIT);
    /* a good file, then another configured size */
    apr_pool_create(&gen, p);
    open_store(gen, fx->path, MEDIUM, &st);
    assert_int_equal(st_set(&st, "k", "v", 1, 0), APR_SUCCESS);
    close_store(gen);
    reopen_expect(p, fx->path, MEDIUM, SHS_SHM_REUSED);
    reopen_expect(p, fx->path, MEDIUM * 2, SHS_SHM_REINIT);
    /* truncated */
    apr_pool_create(&gen, p);
    open_store(gen, fx->path, MEDIUM, &st);
    assert_int_equal(st_set(&st, "k", "v", 1, 0), APR_SUCCESS);
    close_store(gen);
    assert_int_equal(truncate(fx->path, MEDIUM / 2), 0);
    reopen_expect(p, fx->path, MEDIUM, SHS_SHM_REINIT);
    /* readable by others */
    apr_pool_create(&gen, p);
    open_store(gen, fx->path, MEDIUM, &st);
    assert_int_equal(st_set(&st, "k", "v", 1, 0), APR_SUCCESS);
    close_store(gen);
    chmod(fx->path, 0644);
    reopen_expect(p, fx->path, MEDIUM, SHS_SHM_REINIT);
    assert_int_equal(stat(fx->path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    /* the header's format version changed (another build) */
    apr_pool_create(&gen, p);
    open_store(gen, fx->path, MEDIUM, &st);
    assert_int_equal(st_set(&st, "k", "v", 1, 0), APR_SUCCESS);
    close_store(gen);
    fd = open(fx->path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "\x63", 1, 8), 1); /* the version field follows the magic */
    close(fd);
    reopen_expect(p, fx->path, MEDIUM, SHS_SHM_REINIT);
    /* a symbolic link: replaced by a file, its target untouched */
    unlink(fx->path);
    write_file(target, "precious", 8, 0600);
    assert_int_equal(symlink(target, fx->path), 0);
    reopen_expect(p, fx->path, MEDIUM, SHS_SHM_REINIT);
    assert_int_equal(lstat(fx->path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(stat(target, &sb), 0);
    assert_int_equal(sb.st_size, 8);
    unlink(target);
    /* a directory in the way cannot be replaced: an error, not a crash */
    unlink(fx->path);
    assert_int_equal(mkdir(fx->path, 0700), 0);
    apr_pool_create(&gen, p);
    assert_int_not_equal(shs_store_shm_create(gen, fx->path, MEDIUM, &st.info, &st.shm),
                         APR_SUCCESS);
    close_store(gen);
    rmdir(fx->path);
}

/* ------------------------------------------------------------------ damage */

static unsigned char *map_file_raw(const char *path, apr_size_t len, int *fd)
{
    void *m;

    *fd = open(path, O_RDWR);
    assert_true(*fd >= 0);
    m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
    assert_true(m != MAP_FAILED);
    return m;
}

static void test_corrupt_value_detected(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool;
    st_t st;
    unsigned char *raw, *hit;
    int fd;
    char *v = make_value(p, "victim", 0, 0, 3000);

    memcpy(v + 1500, "MARKER-MARKER", 13);
    open_store(p, fx->path, MEDIUM, &st);
    assert_int_equal(st_set(&st, "before", "b", 1, 0), APR_SUCCESS);
    assert_int_equal(st_set(&st, "victim", v, 3000, 0), APR_SUCCESS);
    assert_int_equal(st_set(&st, "after", "a", 1, 0), APR_SUCCESS);
    raw = map_file_raw(fx->path, MEDIUM, &fd);
    hit = memmem(raw, MEDIUM, "MARKER-MARKER", 13);
    assert_non_null(hit);
    hit[7] ^= 0x20; /* one bit, in the middle of the value */
    want_missing(&st, p, "victim");
    assert_int_equal(stats_of(&st).corrupt, 1);
    want_value(&st, p, "before", "b", 1);
    want_value(&st, p, "after", "a", 1);
    assert_int_equal(st_set(&st, "victim", v, 3000, 0), APR_SUCCESS);
    want_value(&st, p, "victim", v, 3000);
    /* a broken link between two blocks of an entry: found, repaired, no wrong answer */
    hit = memmem(raw, MEDIUM, "MARKER-MARKER", 13);
    assert_non_null(hit);
    {
        apr_size_t off = (apr_size_t)(hit - raw);
        apr_size_t blk_start = off - (off % SHS_SHM_BLOCK);
        memset(raw + blk_start, 0xEE, 4); /* the block's next index */
    }
    want_missing(&st, p, "victim");
    assert_true(stats_of(&st).recoveries >= 1);
    want_value(&st, p, "before", "b", 1);
    want_value(&st, p, "after", "a", 1);
    munmap(raw, MEDIUM);
    close(fd);
}

/* Random bytes written over the index and the blocks: every answer is the right value or
 * "missing", never a wrong value, never a crash; afterwards the store works fully.  The bytes
 * and places are the same at every run; the file's hash seed (random unless a test fixes it)
 * decides which entries share a chain, so what the damage hits differs from run to run. */
static void scribble_rounds(fx_t *fx)
{
    apr_pool_t *p = fx->pool, *it;
    st_t st;
    unsigned char *raw;
    int fd, round, i, nkeys = 200;
    uint64_t x = 12345;
    unsigned found_total = 0;

    open_store(p, fx->path, LARGE, &st);
    raw = map_file_raw(fx->path, LARGE, &fd);
    apr_pool_create(&it, p);
    for (round = 0; round < 30; round++) {
        unsigned found = 0;
        apr_pool_clear(it);
        for (i = 0; i < nkeys; i++) {
            const char *k = apr_psprintf(it, "key-%d", i);
            apr_size_t len = 30 + (apr_size_t)(mix64((uint64_t)(round * 1000 + i)) % 3000);
            assert_int_equal(st_set(&st, k, make_value(it, k, round, (unsigned)i, len), len, 0),
                             APR_SUCCESS);
        }
        for (i = 0; i < 20 + round * 10; i++) { /* up to 310 damaged bytes, past the header */
            apr_size_t off;
            x = mix64(x + (uint64_t)i);
            off = 4096 + (apr_size_t)(x % (LARGE - 4096));
            raw[off] ^= (unsigned char)(1 + (x >> 40) % 255);
        }
        for (i = 0; i < nkeys; i++) {
            const char *k = apr_psprintf(it, "key-%d", i);
            char *v;
            apr_size_t len;
            int w;
            unsigned sq;
            apr_status_t rv = st_get(&st, it, k, &v, &len);
            if (rv == APR_SUCCESS) {
                assert_true(value_ok(it, k, v, len, &w, &sq));
                assert_int_equal(w, round);
                assert_int_equal(sq, (unsigned)i);
                found++;
            }
            else {
                assert_int_equal(rv, APR_NOTFOUND);
            }
        }
        found_total += found;
        /* the store still works in full */
        for (i = 0; i < nkeys; i += 7) {
            const char *k = apr_psprintf(it, "key-%d", i);
            apr_status_t rv = st_del(&st, k);
            assert_true(rv == APR_SUCCESS || rv == APR_NOTFOUND);
            assert_int_equal(st_add(&st, k, "fresh", 5, 0), APR_SUCCESS);
            want_value(&st, it, k, "fresh", 5);
        }
    }
    assert_true(found_total > 30 * 150); /* damage costs a few entries, not the store */
    print_message("scribbles: %u of %d entries survived; %" APR_UINT64_T_FMT
                  " recoveries, %" APR_UINT64_T_FMT " corrupt\n",
                  found_total, 30 * nkeys, stats_of(&st).recoveries, stats_of(&st).corrupt);
    munmap(raw, LARGE);
    close(fd);
}

static void test_scribbles_never_give_wrong_values(void **state)
{
    scribble_rounds(*state);
}

static apr_uint64_t seed_238(void)
{
    return 238;
}

/* With this seed a bucket's first link was turned to another bucket's entry: its own entry,
 * unreachable, stayed; the key was added again and deleted, and the next rebuild brought the
 * old entry back, so add said the key existed right after del said it was gone. */
static void test_scribbles_fixed_seed(void **state)
{
    shs_shm_test_hooks_t h = { .seed = seed_238 };

    shs_store_shm_test_hooks(&h);
    scribble_rounds(*state);
}

/* Where fields lie in an entry's head block (shs_shmi_head_t in shs_store_shm_index_int.h):
 * white-box offsets, to damage one field on purpose.  A head's owner is its own block number. */
#define HEAD_OWNER_AT 4
#define HEAD_KIND_AT 8
#define HEAD_HNEXT_AT 12
#define HEAD_LRU_PREV_AT 16
#define HEAD_KLEN_AT 28
#define HEAD_KEY_AT 80
#define NO_BLOCK 0xffffffffu
#define BUCKETS_AT 4096 /* the bucket array follows the header page, the blocks follow it */

static unsigned char *head_of(unsigned char *raw, apr_size_t len, const char *key)
{
    unsigned char *k = memmem(raw, len, key, strlen(key));

    assert_non_null(k);
    return k - HEAD_KEY_AT;
}

/* Damage found in the middle of an operation: the index is rebuilt and the operation's answer
 * is still the true one (a del that happened says so, an add is not told it lost to itself). */
static void test_damage_mid_operation(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool;
    st_t st;
    unsigned char *raw, *h;
    int fd;

    open_store(p, fx->path, MEDIUM, &st);
    raw = map_file_raw(fx->path, MEDIUM, &fd);
    fill_one_block_entries(&st, p, "e", 0, 20);
    /* del: the entry is marked free, then its LRU link turns out broken */
    assert_int_equal(st_set(&st, "del-victim-key", "x", 1, 0), APR_SUCCESS);
    fill_one_block_entries(&st, p, "f", 0, 2); /* so it has neighbours on both sides */
    h = head_of(raw, MEDIUM, "del-victim-key");
    memset(h + HEAD_LRU_PREV_AT, 0x77, 4);
    assert_int_equal(st_del(&st, "del-victim-key"), APR_SUCCESS);
    want_missing(&st, p, "del-victim-key");
    assert_int_equal(stats_of(&st).recoveries, 1);
    /* add: the most recent entry (the LRU head) is damaged; found before the new entry is
     * visible, so the retried add still wins */
    assert_int_equal(st_set(&st, "most-recent-key", "m", 1, 0), APR_SUCCESS);
    h = head_of(raw, MEDIUM, "most-recent-key");
    h[HEAD_KIND_AT] ^= 0x5a;
    assert_int_equal(st_add(&st, "add-key", "a", 1, 0), APR_SUCCESS);
    want_value(&st, p, "add-key", "a", 1);
    assert_int_equal(st_add(&st, "add-key", "b", 1, 0), APR_EEXIST);
    want_missing(&st, p, "most-recent-key");
    assert_int_equal(stats_of(&st).recoveries, 2);
    /* the rest is intact */
    want_value(&st, p, "e0007", make_value(p, "e0007", 0, 0, 100), 100);
    munmap(raw, MEDIUM);
    close(fd);
}

/* The white-box view of a mapped MEDIUM store file used by the two tests below: the blocks,
 * found from an entry's head (its owner field is its number), and the bucket array before
 * them. */
typedef struct raw_t {
    unsigned char *base;
    unsigned char *blocks;
    uint32_t *buckets;
    uint32_t nbuckets;
} raw_t;

static uint32_t get32(const unsigned char *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static void raw_view(raw_t *r, unsigned char *base, const char *any_key)
{
    unsigned char *h = head_of(base, MEDIUM, any_key);

    r->base = base;
    r->blocks = h - (apr_size_t)get32(h + HEAD_OWNER_AT) * SHS_SHM_BLOCK;
    r->buckets = (uint32_t *)(void *)(base + BUCKETS_AT);
    r->nbuckets = (uint32_t)((r->blocks - (base + BUCKETS_AT)) / sizeof(uint32_t));
    assert_true(r->nbuckets >= 16 && r->nbuckets <= MEDIUM / SHS_SHM_BLOCK);
}

static unsigned char *raw_head(const raw_t *r, uint32_t blk)
{
    return r->blocks + (apr_size_t)blk * SHS_SHM_BLOCK;
}

/* The bucket whose chain starts at block blk, or -1. */
static int raw_bucket_of(const raw_t *r, uint32_t blk)
{
    uint32_t b;

    for (b = 0; b < r->nbuckets; b++) {
        if (r->buckets[b] == blk) {
            return (int)b;
        }
    }
    return -1;
}

static char *raw_key(apr_pool_t *p, const raw_t *r, uint32_t blk)
{
    unsigned char *h = raw_head(r, blk);

    return apr_pstrndup(p, (const char *)h + HEAD_KEY_AT, get32(h + HEAD_KLEN_AT));
}

/* Among entries prefix0000.. prefix<n-1>, one that starts its bucket's chain and has another
 * entry behind it: *first, *second and the bucket; fails the test if there is none. */
static int raw_chain_pair(const raw_t *r, apr_pool_t *p, const char *prefix, int n, uint32_t *first,
                          uint32_t *second)
{
    int i, b;

    for (i = 0; i < n; i++) {
        unsigned char *h = head_of(r->base, MEDIUM, apr_psprintf(p, "%s%04d", prefix, i));
        *first = get32(h + HEAD_OWNER_AT);
        *second = get32(h + HEAD_HNEXT_AT);
        if (*second != NO_BLOCK && (b = raw_bucket_of(r, *first)) >= 0) {
            return b;
        }
    }
    fail_msg("no chain of two entries among %d", n);
    return -1;
}

static apr_uint64_t seed_fixed(void)
{
    return 0x5eed;
}

/* After key's entry was lost to a broken link, the key is deleted, added, deleted again, then
 * damage elsewhere makes the store rebuild its index: the lost entry must not come back, the
 * key can be added and deleted as any other. */
static void delete_add_across_rebuild(st_t *st, apr_pool_t *p, unsigned char *raw, const char *key)
{
    apr_status_t rv = st_del(st, key);
    apr_uint64_t before;

    assert_true(rv == APR_SUCCESS || rv == APR_NOTFOUND);
    assert_int_equal(st_add(st, key, "fresh", 5, 0), APR_SUCCESS);
    want_value(st, p, key, "fresh", 5);
    assert_int_equal(st_del(st, key), APR_SUCCESS);
    /* the most recent entry damaged: the next write finds it and rebuilds before going on */
    assert_int_equal(st_set(st, "rebuild-trigger", "t", 1, 0), APR_SUCCESS);
    head_of(raw, MEDIUM, "rebuild-trigger")[HEAD_KIND_AT] ^= 0x5a;
    before = stats_of(st).recoveries;
    assert_int_equal(st_add(st, key, "again", 5, 0), APR_SUCCESS);
    assert_int_equal(stats_of(st).recoveries, before + 1);
    want_value(st, p, key, "again", 5);
    assert_int_equal(st_del(st, key), APR_SUCCESS);
    want_missing(st, p, key);
}

/* A bucket's first link damaged so that it skips its first entry and points at the second:
 * every lookup still ends well, but no lookup can reach the first entry any more.  A rebuild
 * must drop it, not bring it back: by then its key may have been added and deleted again, and
 * the old entry would resurrect a deleted session (and make add fail). */
static void test_orphan_never_comes_back(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool;
    shs_shm_test_hooks_t hk = { .seed = seed_fixed };
    st_t st;
    raw_t r;
    unsigned char *raw;
    int fd, i, b;
    uint32_t first, second;
    char *lost, *kept;

    shs_store_shm_test_hooks(&hk);
    open_store(p, fx->path, MEDIUM, &st);
    fill_one_block_entries(&st, p, "c", 0, 300); /* 300 keys in 512 buckets: chains of two */
    raw = map_file_raw(fx->path, MEDIUM, &fd);
    raw_view(&r, raw, "c0000");
    b = raw_chain_pair(&r, p, "c", 300, &first, &second);
    lost = raw_key(p, &r, first);
    kept = raw_key(p, &r, second);
    r.buckets[b] = second;
    want_missing(&st, p, lost);
    want_value(&st, p, kept, make_value(p, kept, 0, 0, 100), 100);
    delete_add_across_rebuild(&st, p, raw, lost);
    want_value(&st, p, kept, make_value(p, kept, 0, 0, 100), 100);
    for (i = 0; i < 300; i++) { /* every entry not behind a damaged link is intact */
        const char *k = apr_psprintf(p, "c%04d", i);
        if (strcmp(k, lost) != 0) {
            want_value(&st, p, k, make_value(p, k, 0, 0, 100), 100);
        }
    }
    munmap(raw, MEDIUM);
    close(fd);
}

/* A bucket's first link damaged so that it points at the first entry of another bucket: the
 * first lookup that walks it finds an entry that does not belong there and rebuilds the index
 * at once, instead of answering from another bucket's chain. */
static void test_link_into_other_bucket(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool;
    shs_shm_test_hooks_t hk = { .seed = seed_fixed };
    st_t st;
    raw_t r;
    unsigned char *raw;
    int fd, i, ba = -1, bx = -1;
    uint32_t a = NO_BLOCK, x = NO_BLOCK;
    char *lost, *other;

    shs_store_shm_test_hooks(&hk);
    open_store(p, fx->path, MEDIUM, &st);
    fill_one_block_entries(&st, p, "d", 0, 20);
    raw = map_file_raw(fx->path, MEDIUM, &fd);
    raw_view(&r, raw, "d0000");
    for (i = 0; i < 20 && bx < 0; i++) { /* two entries alone in their buckets */
        uint32_t blk = get32(head_of(raw, MEDIUM, apr_psprintf(p, "d%04d", i)) + HEAD_OWNER_AT);
        int bk = raw_bucket_of(&r, blk);
        if (bk < 0 || get32(raw_head(&r, blk) + HEAD_HNEXT_AT) != NO_BLOCK) {
            continue;
        }
        if (ba < 0) {
            ba = bk;
            a = blk;
        }
        else {
            bx = bk;
            x = blk;
        }
    }
    assert_true(ba >= 0 && bx >= 0 && ba != bx);
    lost = raw_key(p, &r, a);
    other = raw_key(p, &r, x);
    r.buckets[ba] = x;
    want_missing(&st, p, lost);
    assert_int_equal(stats_of(&st).recoveries, 1); /* found by that lookup */
    want_value(&st, p, other, make_value(p, other, 0, 0, 100), 100);
    delete_add_across_rebuild(&st, p, raw, lost);
    want_value(&st, p, other, make_value(p, other, 0, 0, 100), 100);
    munmap(raw, MEDIUM);
    close(fd);
}

#define KIND_GONE_VALUE 0x474fu /* an entry being removed (KIND_GONE of the index) */

/* A rebuild drops only what it cannot trust: a head left half removed by a process that died
 * (marked gone, still linked) or a head whose kind was damaged is stepped over, and the
 * entries behind it in the same chain are kept. */
static void test_rebuild_steps_over_dead_heads(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool;
    shs_shm_test_hooks_t hk = { .seed = seed_fixed };
    st_t st;
    raw_t r;
    unsigned char *raw, *h;
    int fd, round;
    uint16_t gone = KIND_GONE_VALUE;

    shs_store_shm_test_hooks(&hk);
    open_store(p, fx->path, MEDIUM, &st);
    fill_one_block_entries(&st, p, "g", 0, 300);
    raw = map_file_raw(fx->path, MEDIUM, &fd);
    raw_view(&r, raw, "g0000");
    for (round = 0; round < 2; round++) {
        uint32_t first, second;
        char *dead, *behind;
        apr_uint32_t entries = stats_of(&st).entries;
        apr_uint64_t recoveries = stats_of(&st).recoveries;
        raw_chain_pair(&r, p, "g", 300, &first, &second);
        dead = raw_key(p, &r, first);
        behind = raw_key(p, &r, second);
        h = raw_head(&r, first);
        if (round == 0) {
            memcpy(h + HEAD_KIND_AT, &gone, sizeof(gone));
        }
        else {
            h[HEAD_KIND_AT] ^= 0x5a;
        }
        /* the lookup meets the dead head first: a rebuild, then the answer */
        want_value(&st, p, behind, make_value(p, behind, 0, 0, 100), 100);
        assert_int_equal(stats_of(&st).recoveries, recoveries + 1);
        want_missing(&st, p, dead);
        assert_int_equal(stats_of(&st).entries, entries - 1);
        assert_int_equal(st_add(&st, dead, "back", 4, 0), APR_SUCCESS);
        want_value(&st, p, dead, "back", 4);
        assert_int_equal(st_del(&st, dead), APR_SUCCESS);
    }
    munmap(raw, MEDIUM);
    close(fd);
}

/* ------------------------------------------------------------------ processes */

typedef struct race_t {
    volatile int go;
    int wins[2048];
    int winner[2048];
    int errors;
    char msg[256];
} race_t;

static void child_fail(race_t *r, const char *fmt, ...)
{
    va_list ap;

    if (__atomic_fetch_add(&r->errors, 1, __ATOMIC_SEQ_CST) == 0) {
        va_start(ap, fmt);
        vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
        va_end(ap);
    }
    _exit(3);
}

static void wait_go(race_t *r)
{
    int spins = 0;

    while (!__atomic_load_n(&r->go, __ATOMIC_ACQUIRE) && spins++ < 200000) {
        sched_yield();
    }
}

/* Check a get's answer: the right value for key, or missing. */
static void child_check_get(race_t *r, st_t *st, apr_pool_t *p, const char *key)
{
    char *v;
    apr_size_t len;
    apr_status_t rv = st_get(st, p, key, &v, &len);

    if (rv == APR_SUCCESS && !value_ok(p, key, v, len, NULL, NULL)) {
        child_fail(r, "get %s returned a value not written for it (%lu bytes)", key,
                   (unsigned long)len);
    }
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        child_fail(r, "get %s: status %d", key, rv);
    }
}

#define ROUNDS 250
#define KEYS 8

static void add_race_child(race_t *r, st_t *st, int me)
{
    apr_pool_t *p;
    int round, k;
    unsigned n = 0;

    child_start();
    apr_pool_create(&p, NULL);
    wait_go(r);
    for (round = 0; round < ROUNDS; round++) {
        for (k = 0; k < KEYS; k++) {
            int idx = round * KEYS + k;
            const char *key = apr_psprintf(p, "win:%d:%d", round, k);
            const char *churn = apr_psprintf(p, "churn:%d", (k + me) % KEYS);
            apr_size_t len = 40 + (apr_size_t)(mix64((uint64_t)(idx * 7 + me)) % 1500);
            apr_status_t rv = st_add(st, key, make_value(p, key, me, (unsigned)idx, len), len, 0);
            if (rv == APR_SUCCESS) {
                __atomic_fetch_add(&r->wins[idx], 1, __ATOMIC_SEQ_CST);
                r->winner[idx] = me;
            }
            else if (rv != APR_EEXIST) {
                child_fail(r, "add %s: status %d", key, rv);
            }
            child_check_get(r, st, p, key);
            /* overlapping churn on a few shared keys */
            rv = st_set(st, churn, make_value(p, churn, me, n, len / 2 + 30), len / 2 + 30, 0);
            if (rv != APR_SUCCESS) {
                child_fail(r, "set %s: status %d", churn, rv);
            }
            child_check_get(r, st, p, churn);
            if ((int)(n++ % 5) == me) {
                rv = st_del(st, churn);
                if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
                    child_fail(r, "del %s: status %d", churn, rv);
                }
            }
            rv = st_add(st, churn, make_value(p, churn, me, n, 60), 60, 0);
            if (rv != APR_SUCCESS && rv != APR_EEXIST) {
                child_fail(r, "add %s: status %d", churn, rv);
            }
            child_check_get(r, st, p, churn);
            apr_pool_clear(p);
        }
    }
    _exit(0);
}

static void test_processes_add_exactly_once(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool;
    st_t st;
    race_t *r = shared_area(sizeof(race_t));
    pid_t pids[NPROC];
    int status[NPROC], i;
    shs_shm_stats_t s;
    apr_time_t t0;

    open_store(p, fx->path, LARGE, &st);
    for (i = 0; i < NPROC; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            add_race_child(r, &st, i);
        }
    }
    t0 = apr_time_now();
    __atomic_store_n(&r->go, 1, __ATOMIC_RELEASE);
    wait_children(pids, NPROC, 60, status);
    for (i = 0; i < NPROC; i++) {
        if (!WIFEXITED(status[i]) || WEXITSTATUS(status[i]) != 0) {
            fail_msg("child %d: status %#x: %s", i, status[i], r->msg);
        }
    }
    assert_int_equal(r->errors, 0);
    for (i = 0; i < ROUNDS * KEYS; i++) {
        const char *key = apr_psprintf(p, "win:%d:%d", i / KEYS, i % KEYS);
        char *v;
        apr_size_t len;
        int w;
        assert_int_equal(r->wins[i], 1);
        assert_int_equal(st_get(&st, p, key, &v, &len), APR_SUCCESS);
        assert_true(value_ok(p, key, v, len, &w, NULL));
        assert_int_equal(w, r->winner[i]); /* the value is the winner's */
    }
    s = stats_of(&st);
    assert_int_equal(s.evictions, 0); /* else a second add could rightly have won */
    assert_int_equal(s.corrupt, 0);
    assert_int_equal(s.recoveries, 0);
    print_message("add race: %d processes, %d keys, %d ops each, %" APR_TIME_T_FMT " ms\n", NPROC,
                  ROUNDS * KEYS, ROUNDS * KEYS * 6, apr_time_as_msec(apr_time_now() - t0));
    munmap(r, sizeof(race_t));
}

#define CHURN_OPS 3000

static void churn_child(race_t *r, st_t *st, int me, apr_interval_time_t budget)
{
    apr_pool_t *p;
    unsigned i;
    apr_time_t until;

    child_start();
    apr_pool_create(&p, NULL);
    wait_go(r);
    until = apr_time_now() + budget;
    for (i = 0; i < CHURN_OPS && apr_time_now() < until; i++) {
        uint64_t x = mix64(((uint64_t)me << 32) | i);
        const char *own = apr_psprintf(p, "c:%d:%u", me, i);
        const char *shared = apr_psprintf(p, "s:%u", (unsigned)(x % 32));
        apr_size_t len = 20 + (apr_size_t)((x >> 8) % 6000);
        apr_status_t rv;

        rv = st_set(st, own, make_value(p, own, me, i, len), len, (x >> 20) % 4 ? 0 : 3600);
        if (rv != APR_SUCCESS) {
            child_fail(r, "set %s: %d", own, rv);
        }
        child_check_get(r, st, p, own);
        if (i > 10) {
            child_check_get(r, st, p, apr_psprintf(p, "c:%d:%u", me, i - 1 - (unsigned)(x % 10)));
        }
        switch ((x >> 32) % 4) {
        case 0:
            rv = st_set(st, shared, make_value(p, shared, me, i, len / 3 + 30), len / 3 + 30, 0);
            break;
        case 1:
            rv = st_add(st, shared, make_value(p, shared, me, i, 100), 100, 0);
            rv = rv == APR_EEXIST ? APR_SUCCESS : rv;
            break;
        case 2:
            rv = st_del(st, shared);
            rv = rv == APR_NOTFOUND ? APR_SUCCESS : rv;
            break;
        default:
            rv = APR_SUCCESS;
        }
        if (rv != APR_SUCCESS) {
            child_fail(r, "op on %s: %d", shared, rv);
        }
        child_check_get(r, st, p, shared);
        apr_pool_clear(p);
    }
    _exit(0);
}

static void run_churn(fx_t *fx, st_t *st, race_t *r, apr_interval_time_t budget)
{
    pid_t pids[NPROC];
    int status[NPROC], i;

    for (i = 0; i < NPROC; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            churn_child(r, st, i, budget);
        }
    }
    __atomic_store_n(&r->go, 1, __ATOMIC_RELEASE);
    wait_children(pids, NPROC, 60, status);
    for (i = 0; i < NPROC; i++) {
        if (!WIFEXITED(status[i]) || WEXITSTATUS(status[i]) != 0) {
            fail_msg("child %d: status %#x: %s", i, status[i], r->msg);
        }
    }
    assert_int_equal(r->errors, 0);
}

/* A small store under writers in several processes: constant eviction, never a wrong value. */
static void test_processes_churn_with_eviction(void **state)
{
    fx_t *fx = *state;
    st_t st;
    race_t *r = shared_area(sizeof(race_t));
    shs_shm_stats_t s;
    int i;

    open_store(fx->pool, fx->path, MEDIUM, &st);
    run_churn(fx, &st, r, apr_time_from_msec(1500));
    s = stats_of(&st);
    assert_true(s.evictions > 0);
    assert_int_equal(s.corrupt, 0);
    assert_int_equal(s.recoveries, 0);
    assert_true(s.used <= s.capacity);
    for (i = 0; i < 32; i++) {
        const char *k = apr_psprintf(fx->pool, "s:%d", i);
        char *v;
        apr_size_t len;
        if (st_get(&st, fx->pool, k, &v, &len) == APR_SUCCESS) {
            assert_true(value_ok(fx->pool, k, v, len, NULL, NULL));
        }
    }
    print_message("churn: %u entries, %" APR_UINT64_T_FMT " evictions\n", s.entries, s.evictions);
    munmap(r, sizeof(race_t));
}

/* ------------------------------------------------------------------ a process dies holding the lock */

static shs_shm_point_e die_at;
static int ready_fd = -1;

static void hook_die(shs_shm_point_e point)
{
    if (point == die_at) {
        kill(getpid(), SIGKILL);
    }
}

static void hook_stall(shs_shm_point_e point)
{
    if (point == SHS_SHM_AT_LOCKED) {
        if (write(ready_fd, "x", 1) != 1) {
            _exit(4);
        }
        for (;;) {
            pause();
        }
    }
}

static void fill_sessions(st_t *st, apr_pool_t *p, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        const char *k = apr_psprintf(p, "sess%02d", i);
        apr_size_t len = 100 + (apr_size_t)i * 97;
        assert_int_equal(st_set(st, k, make_value(p, k, 9, (unsigned)i, len), len, 0), APR_SUCCESS);
    }
}

static void check_sessions(st_t *st, apr_pool_t *p, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        const char *k = apr_psprintf(p, "sess%02d", i);
        apr_size_t len = 100 + (apr_size_t)i * 97;
        want_value(st, p, k, make_value(p, k, 9, (unsigned)i, len), len);
    }
}

/* Run op in a child that dies at `point`, the lock held. */
static void die_in_child(st_t *st, shs_shm_point_e point, int del, const char *key, const char *val,
                         apr_size_t len)
{
    pid_t pid = fork();
    int stt;

    assert_true(pid >= 0);
    if (pid == 0) {
        shs_shm_test_hooks_t h = { .at = hook_die, .now = NULL };
        child_start();
        die_at = point;
        shs_store_shm_test_hooks(&h);
        if (del) {
            st_del(st, key);
        }
        else {
            st_set(st, key, val, len, 0);
        }
        _exit(5); /* the hook did not fire */
    }
    wait_children(&pid, 1, 30, &stt);
    assert_true(WIFSIGNALED(stt));
    assert_int_equal(WTERMSIG(stt), SIGKILL);
}

static void test_killed_while_writing(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool;
    st_t st;
    char *v = make_value(p, "victim", 1, 1, 5000);
    shs_shm_stats_t s;
    race_t *r = shared_area(sizeof(race_t));

    open_store(p, fx->path, MEDIUM, &st);
    fill_sessions(&st, p, 20);
    assert_int_equal(st_set(&st, "victim", "old", 3, 0), APR_SUCCESS);
    die_in_child(&st, SHS_SHM_AT_WRITING, 0, "victim", v, 5000);
    /* the next operation recovers: the old value was replaced, the new one never finished */
    want_missing(&st, p, "victim");
    s = stats_of(&st);
    assert_int_equal(s.recoveries, 1);
    assert_int_equal(s.entries, 20);
    check_sessions(&st, p, 20);
    /* nothing leaked: deleting everything frees every block */
    {
        int i;
        for (i = 0; i < 20; i++) {
            assert_int_equal(st_del(&st, apr_psprintf(p, "sess%02d", i)), APR_SUCCESS);
        }
    }
    assert_int_equal(stats_of(&st).used, 0);
    /* and several processes work on it as before */
    fill_sessions(&st, p, 20);
    run_churn(fx, &st, r, apr_time_from_msec(500));
    assert_int_equal(stats_of(&st).recoveries, 1);
    munmap(r, sizeof(race_t));
}

static void test_killed_while_freeing(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool;
    st_t st;
    shs_shm_stats_t s;
    char *v = make_value(p, "victim", 1, 1, 3000);

    open_store(p, fx->path, MEDIUM, &st);
    fill_sessions(&st, p, 20);
    assert_int_equal(st_set(&st, "victim", v, 3000, 0), APR_SUCCESS);
    die_in_child(&st, SHS_SHM_AT_FREEING, 1, "victim", NULL, 0);
    want_missing(&st, p, "victim"); /* a deletion is never undone */
    s = stats_of(&st);
    assert_int_equal(s.recoveries, 1);
    assert_int_equal(s.entries, 20);
    check_sessions(&st, p, 20);
    /* and again, dying while evicting (a set that needs room frees old entries) */
    {
        apr_size_t max = shs_store_shm_max_value(st.shm);
        char *big = make_value(p, "big", 1, 1, max);
        int i;
        for (i = 0; i < 6; i++) {
            const char *k = apr_psprintf(p, "big%d", i);
            assert_int_equal(st_set(&st, k, make_value(p, k, 1, 1, max), max, 0), APR_SUCCESS);
        }
        die_in_child(&st, SHS_SHM_AT_FREEING, 0, "big", big, max);
        for (i = 0; i < 6; i++) {
            const char *k = apr_psprintf(p, "big%d", i);
            char *got;
            apr_size_t len;
            apr_status_t rv = st_get(&st, p, k, &got, &len);
            assert_true(rv == APR_NOTFOUND ||
                        (rv == APR_SUCCESS && len == max && value_ok(p, k, got, len, NULL, NULL)));
        }
        assert_int_equal(stats_of(&st).recoveries, 2);
        assert_int_equal(st_set(&st, "big", big, max, 0), APR_SUCCESS);
        want_value(&st, p, "big", big, max);
    }
}

/* A process stopped with the lock: others wait the lock wait and fail (no hang); once it is
 * killed they recover at once. */
static void test_stalled_holder_then_killed(void **state)
{
    fx_t *fx = *state;
    apr_pool_t *p = fx->pool;
    st_t st;
    int fds[2], stt;
    pid_t pid;
    struct pollfd pfd;
    char c;
    apr_time_t t0, waited;
    char *v;
    apr_size_t len;

    open_store(p, fx->path, MEDIUM, &st);
    fill_sessions(&st, p, 10);
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        shs_shm_test_hooks_t h = { .at = hook_stall, .now = NULL };
        child_start();
        close(fds[0]);
        ready_fd = fds[1];
        shs_store_shm_test_hooks(&h);
        st_get(&st, p, "sess01", &v, &len);
        _exit(5);
    }
    close(fds[1]);
    pfd.fd = fds[0];
    pfd.events = POLLIN;
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    assert_int_equal(read(fds[0], &c, 1), 1);
    close(fds[0]);

    shs_store_shm_set_lock_wait(st.shm, apr_time_from_msec(300));
    t0 = apr_time_now();
    assert_int_equal(st_get(&st, p, "sess02", &v, &len), APR_TIMEUP);
    waited = apr_time_now() - t0;
    assert_true(waited >= apr_time_from_msec(250));
    assert_true(waited < apr_time_from_sec(5));

    kill(pid, SIGKILL);
    wait_children(&pid, 1, 10, &stt);
    assert_true(WIFSIGNALED(stt));
    check_sessions(&st, p, 10);
    assert_int_equal(stats_of(&st).recoveries, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_get_set_add_del, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_long_values, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_ttl, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_expired_reclaimed_first, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_eviction_oldest_first, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_too_large, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_data, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_lru_order, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_in_use_reused_as_is, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_resize_while_in_use, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unusable_files_replaced, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_value_detected, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_scribbles_never_give_wrong_values, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_scribbles_fixed_seed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_orphan_never_comes_back, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_link_into_other_bucket, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_steps_over_dead_heads, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_damage_mid_operation, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_processes_add_exactly_once, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_processes_churn_with_eviction, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_killed_while_writing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_killed_while_freeing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_stalled_holder_then_killed, fx_setup, fx_teardown),
    };
    int rc;

    apr_initialize();
    rc = cmocka_run_group_tests_name("shs_store_shm", tests, group_setup, group_teardown);
    apr_terminate();
    return rc;
}
