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

/* Unit tests of src/shs_store.c: the bounded executor and the circuit breaker, driven through
 * a fake backend that can answer, fail, or block on a gate the test controls. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "shs_store.h"

/* ------------------------------------------------------------------ fake backend */

typedef struct fake_t {
    pthread_mutex_t lock;
    pthread_cond_t gate_cv;
    int gate_closed;        /* operations block while set */
    int blocked;            /* operations currently waiting at the gate */
    apr_status_t fail_with; /* non-zero: every operation returns it */
    int calls;
    apr_pool_t *pool;
    apr_hash_t *data;
    unsigned int nslots;
} fake_t;

static fake_t fake;

static void fake_enter(void)
{
    pthread_mutex_lock(&fake.lock);
    fake.calls++;
    fake.blocked++;
    while (fake.gate_closed) {
        pthread_cond_wait(&fake.gate_cv, &fake.lock);
    }
    fake.blocked--;
}

static unsigned int f_nslots(void *ctx)
{
    return fake.nslots;
}

static unsigned int f_slot_of(void *ctx, const char *key)
{
    return key[0] == 'B' && fake.nslots > 1 ? 1 : 0;
}

static const char *f_slot_name(void *ctx, unsigned int slot)
{
    return slot ? "fake-b" : "fake-a";
}

static apr_status_t f_get(void *ctx, unsigned int slot, const char *key, apr_pool_t *p, char **val,
                          apr_size_t *len)
{
    apr_status_t rv = fake.fail_with;
    const char *v;

    fake_enter();
    if (!rv) {
        v = apr_hash_get(fake.data, key, APR_HASH_KEY_STRING);
        if (v) {
            *val = apr_pstrdup(p, v);
            *len = strlen(v);
        }
        rv = v ? APR_SUCCESS : APR_NOTFOUND;
    }
    pthread_mutex_unlock(&fake.lock);
    return rv;
}

static apr_status_t f_put(const char *key, const char *val, int add)
{
    apr_status_t rv = fake.fail_with;

    fake_enter();
    if (!rv) {
        if (add && apr_hash_get(fake.data, key, APR_HASH_KEY_STRING)) {
            rv = APR_EEXIST;
        }
        else {
            apr_hash_set(fake.data, apr_pstrdup(fake.pool, key), APR_HASH_KEY_STRING,
                         apr_pstrdup(fake.pool, val));
        }
    }
    pthread_mutex_unlock(&fake.lock);
    return rv;
}

static apr_status_t f_set(void *ctx, unsigned int slot, const char *key, const char *val,
                          apr_size_t len, apr_uint32_t exptime)
{
    return f_put(key, val, 0);
}

static apr_status_t f_add(void *ctx, unsigned int slot, const char *key, const char *val,
                          apr_size_t len, apr_uint32_t exptime)
{
    return f_put(key, val, 1);
}

static apr_status_t f_del(void *ctx, unsigned int slot, const char *key)
{
    apr_status_t rv = fake.fail_with;

    fake_enter();
    if (!rv) {
        rv = apr_hash_get(fake.data, key, APR_HASH_KEY_STRING) ? APR_SUCCESS : APR_NOTFOUND;
        apr_hash_set(fake.data, key, APR_HASH_KEY_STRING, NULL);
    }
    pthread_mutex_unlock(&fake.lock);
    return rv;
}

static const shs_store_ops_t fake_ops = {
    .name = "fake",
    .nslots = f_nslots,
    .slot_of = f_slot_of,
    .slot_name = f_slot_name,
    .get = f_get,
    .set = f_set,
    .add = f_add,
    .del = f_del,
};

static void gate(int closed)
{
    pthread_mutex_lock(&fake.lock);
    fake.gate_closed = closed;
    pthread_cond_broadcast(&fake.gate_cv);
    pthread_mutex_unlock(&fake.lock);
}

static int calls(void)
{
    int n;

    pthread_mutex_lock(&fake.lock);
    n = fake.calls;
    pthread_mutex_unlock(&fake.lock);
    return n;
}

static void wait_blocked(int n)
{
    int i, b = 0;

    for (i = 0; i < 2000; i++) {
        pthread_mutex_lock(&fake.lock);
        b = fake.blocked;
        pthread_mutex_unlock(&fake.lock);
        if (b >= n) {
            return;
        }
        usleep(1000);
    }
    fail_msg("only %d operation(s) reached the backend", b);
}

/* ------------------------------------------------------------------ notifications */

typedef struct seen_t {
    int n;
    shs_breaker_state_e from[16], to[16];
    apr_status_t cause[16];
} seen_t;

static seen_t seen;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_notify(void *baton, unsigned int slot, const char *name, shs_breaker_state_e from,
                      shs_breaker_state_e to, apr_status_t cause)
{
    pthread_mutex_lock(&seen_lock);
    if (seen.n < 16) {
        seen.from[seen.n] = from;
        seen.to[seen.n] = to;
        seen.cause[seen.n] = cause;
        seen.n++;
    }
    pthread_mutex_unlock(&seen_lock);
}

/* Notifications are sent after the worker hands the result back: wait for them (bounded). */
static int seen_count(int want)
{
    int i, n = 0;

    for (i = 0; i < 2000; i++) {
        pthread_mutex_lock(&seen_lock);
        n = seen.n;
        pthread_mutex_unlock(&seen_lock);
        if (n >= want) {
            break;
        }
        usleep(1000);
    }
    usleep(5000); /* and make sure no extra one follows */
    pthread_mutex_lock(&seen_lock);
    n = seen.n;
    pthread_mutex_unlock(&seen_lock);
    return n;
}

/* ------------------------------------------------------------------ fixtures */

typedef struct fixture_t {
    apr_pool_t *p;
    shs_store_t *st;
} fixture_t;

static shs_store_t *make_store(fixture_t *fx, int workers, int max_queue,
                               apr_interval_time_t timeout, apr_interval_time_t retry)
{
    shs_store_opts_t opts = {
        .timeout = timeout,
        .retry = retry,
        .workers = workers,
        .max_queue = max_queue,
        .notify = on_notify,
        .notify_baton = NULL,
        .free_on_shutdown = 1,
    };

    assert_int_equal(shs_store_create(fx->p, &fake_ops, NULL, &opts, &fx->st), APR_SUCCESS);
    return fx->st;
}

static int fx_setup(void **state)
{
    static fixture_t fx;

    memset(&fx, 0, sizeof(fx));
    apr_pool_create(&fx.p, NULL);
    apr_pool_create(&fake.pool, NULL);
    fake.data = apr_hash_make(fake.pool);
    fake.gate_closed = 0;
    fake.blocked = 0;
    fake.fail_with = 0;
    fake.calls = 0;
    fake.nslots = 1;
    memset(&seen, 0, sizeof(seen));
    *state = &fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fixture_t *fx = *state;

    gate(0);
    apr_pool_destroy(fx->p); /* shuts the store down */
    apr_pool_destroy(fake.pool);
    return 0;
}

/* ------------------------------------------------------------------ tests */

static void test_round_trip(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st = make_store(fx, 2, 0, apr_time_from_msec(500), apr_time_from_sec(1));
    char *v = NULL;
    apr_size_t len = 0;
    shs_store_stats_t stats;

    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), APR_NOTFOUND);
    assert_int_equal(shs_store_add(st, "k", "v1", 2, 60), APR_SUCCESS);
    assert_int_equal(shs_store_add(st, "k", "v2", 2, 60), APR_EEXIST);
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), APR_SUCCESS);
    assert_string_equal(v, "v1");
    assert_int_equal(len, 2);
    assert_int_equal(shs_store_set(st, "k", "longer value", 12, 60), APR_SUCCESS);
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), APR_SUCCESS);
    assert_string_equal(v, "longer value");
    assert_int_equal(shs_store_del(st, "k"), APR_SUCCESS);
    assert_int_equal(shs_store_del(st, "k"), APR_NOTFOUND);
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), APR_NOTFOUND);
    /* answers, even negative ones, keep the breaker closed */
    assert_int_equal(shs_store_breaker(st, 0), SHS_BREAKER_CLOSED);
    assert_int_equal(seen_count(0), 0);
    shs_store_get_stats(st, &stats);
    assert_int_equal(stats.ops, 9);
    assert_int_equal(stats.failures, 0);
    assert_int_equal(stats.timeouts, 0);
}

/* A stalled backend costs one timeout, then the slot is skipped.  The stalled call returning
 * later says nothing about the server now (it started before the breaker opened): only the
 * probe after the retry interval closes the breaker. */
static void test_timeout_then_breaker(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st = make_store(fx, 2, 0, apr_time_from_msec(100), apr_time_from_msec(300));
    char *v = NULL;
    apr_size_t len;
    int before, i;
    shs_store_stats_t stats;

    assert_int_equal(shs_store_set(st, "k", "v", 1, 0), APR_SUCCESS);
    gate(1);
    /* returns although the backend call is still blocked */
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), APR_TIMEUP);
    wait_blocked(1);
    assert_int_equal(shs_store_breaker(st, 0), SHS_BREAKER_OPEN);
    assert_int_equal(seen_count(1), 1);
    assert_int_equal(seen.from[0], SHS_BREAKER_CLOSED);
    assert_int_equal(seen.to[0], SHS_BREAKER_OPEN);
    assert_int_equal(seen.cause[0], APR_TIMEUP);

    /* skipped at once: the backend is not called */
    before = calls();
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), SHS_STORE_EDOWN);
    assert_int_equal(shs_store_set(st, "k", "w", 1, 0), SHS_STORE_EDOWN);
    assert_int_equal(calls(), before);

    /* the stalled call completes: the breaker stays open */
    gate(0);
    for (i = 0; i < 100 && calls() == before; i++) {
        usleep(1000);
    }
    usleep(20 * 1000);
    assert_int_equal(shs_store_breaker(st, 0), SHS_BREAKER_OPEN);

    /* after the retry interval the probe closes it */
    usleep(350 * 1000);
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), APR_SUCCESS);
    assert_string_equal(v, "v"); /* the skipped set did not happen */
    assert_int_equal(shs_store_breaker(st, 0), SHS_BREAKER_CLOSED);
    shs_store_get_stats(st, &stats);
    assert_int_equal(stats.timeouts, 1);
    assert_int_equal(stats.skipped, 2);
}

/* A failing server: one failure opens the breaker; after the retry interval one probe goes
 * through; when it succeeds the breaker closes and it is reported. */
static void test_breaker_probe(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st = make_store(fx, 1, 0, apr_time_from_msec(500), apr_time_from_msec(50));
    char *v;
    apr_size_t len;
    int before;

    fake.fail_with = APR_ECONNREFUSED;
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), APR_ECONNREFUSED);
    before = calls();
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), SHS_STORE_EDOWN);
    assert_int_equal(calls(), before);

    usleep(80 * 1000);
    /* the probe reaches the backend, fails again: open again, no second "went down" */
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), APR_ECONNREFUSED);
    assert_int_equal(calls(), before + 1);
    assert_int_equal(shs_store_breaker(st, 0), SHS_BREAKER_OPEN);

    usleep(80 * 1000);
    fake.fail_with = 0;
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), APR_NOTFOUND);
    assert_int_equal(shs_store_breaker(st, 0), SHS_BREAKER_CLOSED);

    assert_int_equal(seen_count(3), 3);
    assert_int_equal(seen.from[0], SHS_BREAKER_CLOSED);
    assert_int_equal(seen.to[0], SHS_BREAKER_OPEN);
    assert_int_equal(seen.from[1], SHS_BREAKER_PROBING);
    assert_int_equal(seen.to[1], SHS_BREAKER_OPEN);
    assert_int_equal(seen.from[2], SHS_BREAKER_PROBING);
    assert_int_equal(seen.to[2], SHS_BREAKER_CLOSED);
}

/* One slot down does not affect another. */
static void test_slots_independent(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st;
    char *v;
    apr_size_t len;

    fake.nslots = 2;
    st = make_store(fx, 2, 0, apr_time_from_msec(500), apr_time_from_sec(60));
    fake.fail_with = APR_ECONNREFUSED;
    assert_int_equal(shs_store_get(st, "A", fx->p, &v, &len), APR_ECONNREFUSED);
    fake.fail_with = 0;
    assert_int_equal(shs_store_breaker(st, 0), SHS_BREAKER_OPEN);
    assert_int_equal(shs_store_get(st, "A", fx->p, &v, &len), SHS_STORE_EDOWN);
    assert_int_equal(shs_store_get(st, "B", fx->p, &v, &len), APR_NOTFOUND);
    assert_int_equal(shs_store_breaker(st, 1), SHS_BREAKER_CLOSED);
    assert_string_equal(shs_store_slot_name(st, "B"), "fake-b");
}

typedef struct req_t {
    shs_store_t *st;
    apr_status_t rv;
} req_t;

static void *do_set(void *arg)
{
    req_t *q = arg;

    q->rv = shs_store_set(q->st, "k", "v", 1, 0);
    return NULL;
}

/* Jobs beyond the queue limit are refused rather than piling up; a queued job whose requester
 * gave up is dropped and never runs. */
static void test_queue_limit_and_drop(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st = make_store(fx, 1, 1, apr_time_from_msec(300), apr_time_from_sec(60));
    pthread_t t1, t2;
    req_t q1 = { st, 0 }, q2 = { st, 0 };
    int before;

    gate(1);
    pthread_create(&t1, NULL, do_set, &q1);
    wait_blocked(1); /* the only worker is stuck */
    pthread_create(&t2, NULL, do_set, &q2);
    usleep(50 * 1000); /* q2 is queued */
    /* the queue is full */
    assert_int_equal(shs_store_del(st, "x"), SHS_STORE_EBUSY);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_int_equal(q1.rv, APR_TIMEUP);
    /* q2 timed out in the queue (or was skipped by the open breaker) */
    assert_true(q2.rv == APR_TIMEUP || q2.rv == SHS_STORE_EDOWN);
    before = calls();
    gate(0);
    usleep(50 * 1000);
    /* only the stuck call finished; the dropped one never reached the backend */
    assert_int_equal(calls(), before);
}

/* Shutting down with a worker stuck in the backend neither hangs nor crashes; the worker
 * frees the store when it returns. */
static void test_shutdown_with_stuck_worker(void **state)
{
    apr_pool_t *p;
    shs_store_t *st;
    shs_store_opts_t opts = {
        .timeout = apr_time_from_msec(50),
        .retry = apr_time_from_sec(1),
        .workers = 2,
        .free_on_shutdown = 1,
    };
    char *v;
    apr_size_t len;

    apr_pool_create(&p, NULL);
    assert_int_equal(shs_store_create(p, &fake_ops, NULL, &opts, &st), APR_SUCCESS);
    gate(1);
    assert_int_equal(shs_store_get(st, "k", p, &v, &len), APR_TIMEUP);
    wait_blocked(1);
    apr_pool_destroy(p);
    gate(0);
    usleep(100 * 1000); /* let the worker finish and free */
}

static void test_bad_args(void **state)
{
    fixture_t *fx = *state;
    shs_store_opts_t opts = { .timeout = 0, .workers = 1 };
    shs_store_t *st;
    char buf[64];

    assert_int_equal(shs_store_create(fx->p, &fake_ops, NULL, &opts, &st), APR_EINVAL);
    opts.timeout = 1000;
    opts.workers = 0;
    assert_int_equal(shs_store_create(fx->p, &fake_ops, NULL, &opts, &st), APR_EINVAL);
    assert_int_equal(shs_store_get(NULL, "k", fx->p, NULL, NULL), APR_EINVAL);
    assert_non_null(strstr(shs_store_strerror(APR_TIMEUP, buf, sizeof(buf)), "timeout"));
    assert_non_null(strstr(shs_store_strerror(SHS_STORE_EDOWN, buf, sizeof(buf)), "down"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_timeout_then_breaker, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_breaker_probe, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_slots_independent, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_queue_limit_and_drop, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_args, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_with_stuck_worker, fx_setup, fx_teardown),
    };
    int rc;

    apr_initialize();
    pthread_mutex_init(&fake.lock, NULL);
    pthread_cond_init(&fake.gate_cv, NULL);
    rc = cmocka_run_group_tests_name("shs_store", tests, NULL, NULL);
    apr_terminate();
    return rc;
}
