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

/* Unit tests of src/shs_stats.c: counting, refusal reasons, both renderings. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "unit_pool.h"
#include "shs_stats.h"


/* A refusal counts in its row of the status page; the finer reasons in the row they belong to. */
static void test_refusals_counted_in_rows(void **state)
{
    shs_stats_t st;
    int i;

    shs_stats_init(&st);
    shs_stats_refused(&st, SHS_REFUSAL_REPLAYED);
    shs_stats_refused(&st, SHS_REFUSAL_BAD_AUTH);
    shs_stats_refused(&st, SHS_REFUSAL_WRONG_DESTINATION);
    shs_stats_refused(&st, SHS_REFUSAL_PUSH_TOKEN_IN_PULL);
    shs_stats_refused(&st, SHS_REFUSAL_PULL_TOKEN_IN_PUSH);
    shs_stats_refused(&st, SHS_REFUSAL_NO_ORIGIN);
    shs_stats_refused(&st, SHS_REFUSAL_NOT_CONFIGURED);
    shs_stats_refused(&st, SHS_REFUSAL_NONE);     /* not a refusal: not counted */
    shs_stats_refused(&st, (shs_refusal_e)12345); /* out of range: other */
    for (i = 0; i < SHS_REFUSAL_ROWS; i++) {
        apr_uint64_t want = i == SHS_REFUSAL_REPLAYED || i == SHS_REFUSAL_BAD_AUTH ||
                                    i == SHS_REFUSAL_WRONG_DESTINATION
                                ? 1
                            : i == SHS_REFUSAL_WRONG_TRANSPORT ? 2
                            : i == SHS_REFUSAL_OTHER           ? 3
                                                               : 0;
        assert_int_equal(st.refused[i], want);
    }
}

static void *hammer(void *arg)
{
    int i;

    for (i = 0; i < 100000; i++) {
        shs_stats_add(arg, SHS_C_LOADS, 1);
    }
    return NULL;
}

/* Increments from several threads are not lost (atomic, no lock). */
static void test_concurrent_adds(void **state)
{
    shs_stats_t st;
    pthread_t t[4];
    int i;

    shs_stats_init(&st);
    for (i = 0; i < 4; i++) {
        pthread_create(&t[i], NULL, hammer, &st);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(st.c[SHS_C_LOADS], 400000);
    /* NULL block: a no-op, not a crash */
    shs_stats_add(NULL, SHS_C_LOADS, 1);
    shs_stats_refused(NULL, SHS_REFUSAL_REPLAYED);
    shs_stats_server(NULL, 0, 1);
    shs_stats_server(&st, SHS_STATS_MAX_SERVERS, 1);
}

static void test_text(void **state)
{
    shs_stats_t st;
    const char *names[] = { "127.0.0.1:11211", "10.0.0.2:11211" };
    const char *out;

    shs_stats_init(&st);
    shs_stats_add(&st, SHS_C_HITS, 41);
    shs_stats_add(&st, SHS_C_HITS, 1);
    shs_stats_refused(&st, SHS_REFUSAL_REPLAYED);
    shs_stats_refused(&st, SHS_REFUSAL_REPLAYED);
    shs_stats_server(&st, 1, 1);
    out = shs_stats_text(pool, &st, names, 2, apr_time_now());
    assert_non_null(strstr(out, "sessions_found         42\n"));
    assert_non_null(strstr(out, "  replayed               2\n"));
    assert_non_null(strstr(out, "127.0.0.1:11211        up since start"));
    assert_non_null(strstr(out, "10.0.0.2:11211         down since "));
    assert_non_null(strstr(out, "failures 1, recoveries 0"));
}

static void test_replica_events(void **state)
{
    shs_stats_t st;
    const char *names[] = { "a:1", "b:2" };
    const char *out;
    int i;

    shs_stats_init(&st);
    for (i = 0; i < 3; i++) {
        shs_stats_replica(&st, 1, SHS_RE_REPAIR);
    }
    shs_stats_replica(&st, 1, SHS_RE_STALE);
    shs_stats_replica(&st, 0, SHS_RE_FALLBACK);
    shs_stats_replica(&st, 0, SHS_RE_TOMBSTONE);
    shs_stats_replica(&st, 0, SHS_RE_TOMBSTONE);
    shs_stats_replica(&st, SHS_STATS_MAX_SERVERS, SHS_RE_REPAIR); /* out of range: ignored */
    shs_stats_replica(&st, 0, SHS_RE_COUNT);
    shs_stats_replica(NULL, 0, SHS_RE_REPAIR);

    out = shs_stats_text(pool, &st, names, 2, apr_time_now());
    assert_non_null(strstr(out, "recoveries 0; copies: answered for another 1, repaired 0, "
                                "found missing or older 0, tombstones 2\n"));
    assert_non_null(strstr(out, "recoveries 0; copies: answered for another 0, repaired 3, "
                                "found missing or older 1, tombstones 0\n"));
    out = shs_stats_prometheus(pool, &st, names, 2);
    assert_non_null(
        strstr(out, "shs_memcached_replica_events_total{server=\"b:2\",event=\"repair\"} 3\n"));
    assert_non_null(
        strstr(out, "shs_memcached_replica_events_total{server=\"a:1\",event=\"tombstone\"} 2\n"));
    assert_non_null(
        strstr(out, "shs_memcached_replica_events_total{server=\"a:1\",event=\"repair\"} 0\n"));

    /* without events the server line says nothing of copies */
    shs_stats_init(&st);
    out = shs_stats_text(pool, &st, names, 2, apr_time_now());
    assert_null(strstr(out, "copies:"));
}

static void test_prometheus(void **state)
{
    shs_stats_t st;
    const char *names[] = { "127.0.0.1:11211", "we\"ird\\host:1" };
    const char *out;

    shs_stats_init(&st);
    shs_stats_add(&st, SHS_C_TAGS, 7);
    shs_stats_refused(&st, SHS_REFUSAL_EXPIRED);
    shs_stats_server(&st, 0, 1);
    shs_stats_server(&st, 0, 0);
    out = shs_stats_prometheus(pool, &st, names, 2);
    assert_non_null(
        strstr(out, "# TYPE shs_tags_injected_total counter\nshs_tags_injected_total 7\n"));
    assert_non_null(strstr(out, "shs_callbacks_refused_total{reason=\"expired\"} 1\n"));
    assert_non_null(strstr(out, "shs_memcached_up{server=\"127.0.0.1:11211\"} 1\n"));
    assert_non_null(strstr(out, "shs_memcached_failures_total{server=\"127.0.0.1:11211\"} 1\n"));
    assert_non_null(strstr(out, "{server=\"we\\\"ird\\\\host:1\"}"));
    /* every line is a comment or "name{labels} value" */
    {
        char *copy = apr_pstrdup(pool, out), *last = NULL, *line;
        for (line = apr_strtok(copy, "\n", &last); line; line = apr_strtok(NULL, "\n", &last)) {
            assert_true(line[0] == '#' || !strncmp(line, "shs_", 4));
            assert_non_null(strchr(line, ' '));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals_counted_in_rows),
        cmocka_unit_test(test_concurrent_adds),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_prometheus),
        cmocka_unit_test(test_replica_events),
    };
    return cmocka_run_group_tests_name("shs_stats", tests, unit_pool_setup, unit_pool_teardown);
}
