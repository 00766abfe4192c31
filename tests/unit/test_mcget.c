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

/* The bounded memcached get (shs_mcget.c): the parser on every shape of answer, and the
 * reader against a scripted server on 127.0.0.1 that answers in pieces, stalls, names another
 * key, says more than it was asked, or closes idle connections. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "shs_mcget.h"

static apr_pool_t *pool;

/* ------------------------------------------------------------------ the parser */

static apr_status_t parse(const char *s, const char *key, const char **v, apr_size_t *vl,
                          apr_size_t *need)
{
    apr_size_t used = 0;
    return shs_mcget_parse(s, strlen(s), key, v, vl, &used, need);
}

static void test_parse(void **state)
{
    const char *v;
    apr_size_t vl, need, used;
    const char *ok = "VALUE k 0 5\r\nhello\r\nEND\r\n";
    apr_size_t i;

    assert_int_equal(parse("END\r\n", "k", &v, &vl, &need), APR_NOTFOUND);
    assert_int_equal(parse(ok, "k", &v, &vl, &need), APR_SUCCESS);
    assert_int_equal(vl, 5);
    assert_memory_equal(v, "hello", 5);
    assert_int_equal(shs_mcget_parse(ok, strlen(ok), "k", &v, &vl, &used, &need), APR_SUCCESS);
    assert_int_equal(used, strlen(ok));
    /* a value holding CR LF and "END" is data, counted by its length */
    assert_int_equal(parse("VALUE k 7 9\r\na\r\nEND\r\nb\r\nEND\r\n", "k", &v, &vl, &need),
                     APR_SUCCESS);
    assert_memory_equal(v, "a\r\nEND\r\nb", 9);
    /* empty value, cas field */
    assert_int_equal(parse("VALUE k 0 0\r\n\r\nEND\r\n", "k", &v, &vl, &need), APR_SUCCESS);
    assert_int_equal(vl, 0);
    assert_int_equal(parse("VALUE k 0 1 99\r\nx\r\nEND\r\n", "k", &v, &vl, &need), APR_SUCCESS);
    /* every prefix of a good answer asks for more */
    for (i = 0; i < strlen(ok); i++) {
        assert_int_equal(shs_mcget_parse(ok, i, "k", &v, &vl, &used, &need), APR_INCOMPLETE);
    }
    assert_int_equal(shs_mcget_parse(ok, 14, "k", &v, &vl, &used, &need), APR_INCOMPLETE);
    assert_int_equal(need, strlen(ok));

    /* not an answer to this question */
    assert_int_equal(parse("VALUE other 0 5\r\nhello\r\nEND\r\n", "k", &v, &vl, &need),
                     APR_EGENERAL);
    assert_int_equal(parse("VALUE kk 0 5\r\nhello\r\nEND\r\n", "k", &v, &vl, &need), APR_EGENERAL);
    assert_int_equal(parse("VALUE k 0 4\r\nhello\r\nEND\r\n", "k", &v, &vl, &need), APR_EGENERAL);
    assert_int_equal(parse("VALUE k 0 5\r\nhelloXXEND\r\n", "k", &v, &vl, &need), APR_EGENERAL);
    assert_int_equal(parse("VALUE k 0 5\r\nhello\r\nEND\r\r", "k", &v, &vl, &need), APR_EGENERAL);
    assert_int_equal(parse("SERVER_ERROR out of memory\r\n", "k", &v, &vl, &need), APR_EGENERAL);
    assert_int_equal(parse("ERROR\r\n", "k", &v, &vl, &need), APR_EGENERAL);
    assert_int_equal(parse("END\n", "k", &v, &vl, &need), APR_EGENERAL);
    assert_int_equal(parse("VALUE k -1 5\r\n", "k", &v, &vl, &need), APR_EGENERAL);
    assert_int_equal(parse("VALUE k 0 +5\r\n", "k", &v, &vl, &need), APR_EGENERAL);
    assert_int_equal(parse("VALUE k 0 99999999999\r\n", "k", &v, &vl, &need), APR_EGENERAL);
    assert_int_equal(parse("VALUE k 0 1048577\r\n", "k", &v, &vl, &need), APR_EGENERAL);
    assert_int_equal(parse("VALUE k 0\r\n", "k", &v, &vl, &need), APR_EGENERAL);
    assert_int_equal(parse("VALUE k 0 1 x\r\n", "k", &v, &vl, &need), APR_EGENERAL);
    {
        char line[400];
        memset(line, 'A', sizeof(line));
        assert_int_equal(shs_mcget_parse(line, sizeof(line), "k", &v, &vl, &used, &need),
                         APR_EGENERAL); /* no end of line where a header must end */
    }
}

/* ------------------------------------------------------------------ a scripted server */

/* HOLD_STORED: the answer to a storage command is held back until a get follows it on the
 * connection (a client that waits for the answer before asking the get never gets it). */
typedef enum {
    ANSWER,
    PIECES,
    STALL,
    WRONG_KEY,
    TRAILING,
    CLOSE_AFTER,
    STRAY_LATE,
    HOLD_STORED,
    NOREPLY_IGNORED, /* answers a noreply command all the same (a broken server or proxy) */
    NOREPLY_LATE     /* the same, but only once the next command arrives, just before its answer */
} mode_e;

static struct {
    int lfd;
    int port;
    volatile mode_e mode;
    int accepted;
    volatile int stop;
    pthread_t tid;
} srv;

static void reply(int fd, const char *key)
{
    char out[256];
    int n;

    if (!strcmp(key, "missing")) {
        n = snprintf(out, sizeof(out), "END\r\n");
    }
    else if (srv.mode == WRONG_KEY) {
        n = snprintf(out, sizeof(out), "VALUE x%s 0 5\r\nhello\r\nEND\r\n", key);
    }
    else if (srv.mode == TRAILING) {
        n = snprintf(out, sizeof(out), "VALUE %s 0 5\r\nhello\r\nEND\r\nEND\r\n", key);
    }
    else {
        n = snprintf(out, sizeof(out), "VALUE %s 3 11\r\nhello world\r\nEND\r\n", key);
    }
    if (srv.mode == PIECES) {
        int i;
        for (i = 0; i < n; i += 3) {
            send(fd, out + i, (size_t)(n - i < 3 ? n - i : 3), MSG_NOSIGNAL);
            usleep(2000);
        }
    }
    else {
        send(fd, out, (size_t)n, MSG_NOSIGNAL);
    }
    if (srv.mode == STRAY_LATE) {
        usleep(50000); /* a second, unasked answer, after the first was read */
        send(fd, "END\r\n", 5, MSG_NOSIGNAL);
    }
}

/* One connection: answer its questions as the mode says. */
static void *serve_conn(void *arg)
{
    int fd = (int)(long)arg;
    char buf[512];
    size_t have = 0;
    const char *held = NULL;  /* HOLD_STORED: the answer not sent yet */
    const char *stray = NULL; /* NOREPLY_LATE: the answer to a noreply command, not sent yet */

    for (;;) {
        ssize_t r = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
        char *eol;
        if (r <= 0) {
            break;
        }
        have += (size_t)r;
        buf[have] = '\0';
        while ((eol = strstr(buf, "\r\n"))) {
            size_t skip = (size_t)(eol + 2 - buf);
            *eol = '\0';
            if (stray && srv.mode == NOREPLY_LATE) {
                send(fd, stray, strlen(stray), MSG_NOSIGNAL);
                stray = NULL;
            }
            if (!strcmp(buf, "version")) {
                if (srv.mode != STALL) {
                    send(fd, "VERSION 1.6.0-test\r\n", 20, MSG_NOSIGNAL);
                }
            }
            else if (!strncmp(buf, "add ", 4) || !strncmp(buf, "set ", 4)) {
                /* "add KEY 0 EXP LEN": the data and its CR LF follow */
                char k[64];
                unsigned int exp;
                size_t len;
                if (sscanf(buf + 4, "%63s 0 %u %zu", k, &exp, &len) != 3 || have < skip + len + 2) {
                    *eol = '\r';
                    break; /* wait for the rest */
                }
                skip += len + 2;
                if (srv.mode == NOREPLY_LATE && strstr(buf, " noreply")) {
                    stray = "STORED\r\n";
                }
                else if (srv.mode != STALL &&
                         (!strstr(buf, " noreply") || srv.mode == NOREPLY_IGNORED)) {
                    const char *a = !strncmp(buf, "add ", 4) && !strcmp(k, "exists")
                                        ? "NOT_STORED\r\n"
                                        : (!strcmp(k, "toolarge")
                                               ? "SERVER_ERROR object too large for cache\r\n"
                                               : "STORED\r\n");
                    if (srv.mode == HOLD_STORED) {
                        held = a;
                    }
                    else {
                        send(fd, a, strlen(a), MSG_NOSIGNAL);
                    }
                }
            }
            else if (srv.mode != STALL && !strncmp(buf, "get ", 4)) {
                if (held) {
                    send(fd, held, strlen(held), MSG_NOSIGNAL);
                    held = NULL;
                }
                reply(fd, buf + 4);
            }
            have -= skip;
            memmove(buf, buf + skip, have + 1);
        }
        if (srv.mode == CLOSE_AFTER) {
            break;
        }
    }
    close(fd);
    return NULL;
}

/* Accept until the listening socket is shut down; a thread per connection (the readers keep
 * idle connections open). */
static void *serve(void *arg)
{
    (void)arg;
    while (!srv.stop) {
        pthread_t t;
        int fd = accept(srv.lfd, NULL, NULL);
        if (fd < 0) {
            if (srv.stop) {
                break;
            }
            usleep(1000);
            continue;
        }
        __atomic_add_fetch(&srv.accepted, 1, __ATOMIC_SEQ_CST);
        if (pthread_create(&t, NULL, serve_conn, (void *)(long)fd) == 0) {
            pthread_detach(t);
        }
        else {
            close(fd);
        }
    }
    return NULL;
}

static int setup(void **state)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);

    apr_initialize();
    apr_pool_create(&pool, NULL);
    srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(srv.lfd >= 0);
    assert_int_equal(bind(srv.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(srv.lfd, 16), 0);
    assert_int_equal(getsockname(srv.lfd, (struct sockaddr *)&a, &alen), 0);
    srv.port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&srv.tid, NULL, serve, NULL), 0);
    return 0;
}

static int teardown(void **state)
{
    srv.stop = 1;
    shutdown(srv.lfd, SHUT_RDWR);
    close(srv.lfd);
    pthread_join(srv.tid, NULL);
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

static shs_mcget_t *reader(int max)
{
    shs_mcget_t *g = NULL;
    assert_int_equal(shs_mcget_create(pool, "127.0.0.1", (apr_port_t)srv.port, max, &g),
                     APR_SUCCESS);
    return g;
}

static apr_status_t get(shs_mcget_t *g, const char *key, char **v, apr_interval_time_t within)
{
    apr_size_t len;
    return shs_mcget_get(g, key, pool, v, &len, apr_time_now() + within);
}

static void test_answers(void **state)
{
    shs_mcget_t *g = reader(2);
    char *v = NULL;
    int before;

    srv.mode = ANSWER;
    before = srv.accepted;
    assert_int_equal(get(g, "k1", &v, apr_time_from_sec(5)), APR_SUCCESS);
    assert_string_equal(v, "hello world");
    assert_int_equal(get(g, "missing", &v, apr_time_from_sec(5)), APR_NOTFOUND);
    assert_int_equal(get(g, "k2", &v, apr_time_from_sec(5)), APR_SUCCESS);
    assert_int_equal(srv.accepted - before, 1); /* one connection, reused */
    srv.mode = PIECES;
    assert_int_equal(get(g, "k3", &v, apr_time_from_sec(5)), APR_SUCCESS);
    assert_string_equal(v, "hello world");
}

static void test_stall_is_bounded(void **state)
{
    shs_mcget_t *g = reader(2);
    char *v = NULL;
    apr_time_t t0;
    int before;

    srv.mode = STALL;
    t0 = apr_time_now();
    assert_int_equal(get(g, "k1", &v, apr_time_from_msec(150)), APR_TIMEUP);
    assert_true(apr_time_now() - t0 >= apr_time_from_msec(150));
    /* the bound itself, with room for a slow machine: an unbounded recv() would hang here */
    assert_true(apr_time_now() - t0 < apr_time_from_sec(3));
    /* the stalled connection is never reused: the next question gets a new one, and the late
     * answer to the first (had it come) can reach nobody */
    srv.mode = ANSWER;
    before = srv.accepted;
    assert_int_equal(get(g, "k2", &v, apr_time_from_sec(5)), APR_SUCCESS);
    assert_string_equal(v, "hello world");
    assert_true(srv.accepted > before);
}

static void test_wrong_answers_are_refused(void **state)
{
    shs_mcget_t *g = reader(2);
    char *v = NULL;
    int before;

    srv.mode = WRONG_KEY;
    assert_int_equal(get(g, "k1", &v, apr_time_from_sec(5)), APR_EGENERAL);
    srv.mode = TRAILING;
    assert_int_equal(get(g, "k1", &v, apr_time_from_sec(5)), APR_EGENERAL);
    /* neither connection went back to the pool */
    srv.mode = ANSWER;
    before = srv.accepted;
    assert_int_equal(get(g, "k1", &v, apr_time_from_sec(5)), APR_SUCCESS);
    assert_int_equal(srv.accepted - before, 1);
}

static void test_late_unasked_answer_reaches_nobody(void **state)
{
    shs_mcget_t *g = reader(2);
    char *v = NULL;
    int before;

    srv.mode = STRAY_LATE; /* each answer is followed 50 ms later by an "END" nobody asked for */
    assert_int_equal(get(g, "k1", &v, apr_time_from_sec(5)), APR_SUCCESS);
    usleep(150000);
    srv.mode = ANSWER;
    before = srv.accepted;
    /* the pooled connection holds the stray "END": it is not used, the question goes on a new
     * connection and gets its own answer, not "not found" */
    assert_int_equal(get(g, "k2", &v, apr_time_from_sec(5)), APR_SUCCESS);
    assert_string_equal(v, "hello world");
    assert_int_equal(srv.accepted - before, 1);
}

static void test_idle_connection_closed_by_the_server(void **state)
{
    shs_mcget_t *g = reader(3);
    char *v = NULL;

    srv.mode = CLOSE_AFTER; /* answers, then closes: the pooled connection is dead */
    assert_int_equal(get(g, "k1", &v, apr_time_from_sec(5)), APR_SUCCESS);
    usleep(20000);
    assert_int_equal(get(g, "k2", &v, apr_time_from_sec(5)), APR_SUCCESS);
    assert_string_equal(v, "hello world");
}

static void test_store(void **state)
{
    shs_mcget_t *g = reader(2);
    apr_size_t used;
    apr_time_t t0;
    int before;

    assert_int_equal(shs_mcget_parse_stored("STORED\r\n", 8, &used), APR_SUCCESS);
    assert_int_equal(shs_mcget_parse_stored("NOT_STORED\r\n", 12, &used), APR_EEXIST);
    assert_int_equal(shs_mcget_parse_stored("STORED\r", 7, &used), APR_INCOMPLETE);
    assert_int_equal(shs_mcget_parse_stored("STORED\n", 7, &used), APR_EGENERAL);
    assert_int_equal(shs_mcget_parse_stored("EXISTS\r\n", 8, &used), APR_EGENERAL);
    assert_int_equal(shs_mcget_parse_stored("SERVER_ERROR out of memory\r\n", 28, &used),
                     APR_EGENERAL);

    srv.mode = ANSWER;
    before = srv.accepted;
    assert_int_equal(
        shs_mcget_store(g, 1, "k1", "a b\r\nc", 6, 60, apr_time_now() + apr_time_from_sec(5)),
        APR_SUCCESS);
    assert_int_equal(shs_mcget_store(g, 0, "k1", "v", 1, 60, apr_time_now() + apr_time_from_sec(5)),
                     APR_SUCCESS);
    assert_int_equal(
        shs_mcget_store(g, 1, "exists", "v", 1, 60, apr_time_now() + apr_time_from_sec(5)),
        APR_EEXIST);
    assert_int_equal(srv.accepted - before, 1); /* answers in order on one connection */
    assert_int_equal(
        shs_mcget_store(g, 0, "toolarge", "v", 1, 60, apr_time_now() + apr_time_from_sec(5)),
        APR_EGENERAL);
    assert_int_equal(shs_mcget_store(g, 0, "k", "v", SHS_MCGET_VALUE_MAX + 1, 60,
                                     apr_time_now() + apr_time_from_sec(5)),
                     APR_EINVAL);
    srv.mode = STALL;
    t0 = apr_time_now();
    assert_int_equal(
        shs_mcget_store(g, 1, "k2", "v", 1, 60, apr_time_now() + apr_time_from_msec(150)),
        APR_TIMEUP);
    assert_true(apr_time_now() - t0 >= apr_time_from_msec(150));
    srv.mode = ANSWER;
}

/* add + get in one round trip: the server answers the add only once the get came (a client
 * that waited for the add's answer first would time out), both answers are read, the add's
 * NOT_STORED does not stop the get's answer from being read, and a missing key is NOTFOUND. */
static void test_add_get(void **state)
{
    shs_mcget_t *g = reader(1);
    apr_status_t added = APR_EINIT;
    apr_time_t t0;
    char *v = NULL;
    apr_size_t len = 0;

    srv.mode = HOLD_STORED;
    assert_int_equal(shs_mcget_add_get(g, "spent", "1", 1, 60, "sess", pool, &v, &len,
                                       apr_time_now() + apr_time_from_sec(5), &added),
                     APR_SUCCESS);
    assert_int_equal(added, APR_SUCCESS);
    assert_int_equal(len, 11);
    assert_string_equal(v, "hello world");
    added = APR_EINIT;
    assert_int_equal(shs_mcget_add_get(g, "exists", "1", 1, 60, "sess", pool, &v, &len,
                                       apr_time_now() + apr_time_from_sec(5), &added),
                     APR_SUCCESS);
    assert_int_equal(added, APR_EEXIST);
    assert_int_equal(shs_mcget_add_get(g, "spent2", "1", 1, 60, "missing", pool, &v, &len,
                                       apr_time_now() + apr_time_from_sec(5), &added),
                     APR_NOTFOUND);
    assert_int_equal(added, APR_SUCCESS);
    /* the held answer makes the plain add wait: what the pipelining saves */
    t0 = apr_time_now();
    assert_int_equal(
        shs_mcget_store(g, 1, "k", "v", 1, 60, apr_time_now() + apr_time_from_msec(150)),
        APR_TIMEUP);
    assert_true(apr_time_now() - t0 >= apr_time_from_msec(150));

    srv.mode = WRONG_KEY; /* the get's answer names another key: nothing is taken */
    added = APR_EINIT;
    assert_int_equal(shs_mcget_add_get(g, "spent3", "1", 1, 60, "sess", pool, &v, &len,
                                       apr_time_now() + apr_time_from_sec(5), &added),
                     APR_EGENERAL);
    srv.mode = STALL;
    t0 = apr_time_now();
    assert_int_equal(shs_mcget_add_get(g, "spent4", "1", 1, 60, "sess", pool, &v, &len,
                                       apr_time_now() + apr_time_from_msec(150), &added),
                     APR_TIMEUP);
    assert_true(apr_time_now() - t0 >= apr_time_from_msec(150));
    srv.mode = ANSWER;
}

/* set ... noreply: nothing awaited, the connection serves the next question at once (after
 * the VERSION of the `version` sent behind the set).  A server that answers the noreply set
 * anyway, at once or only when the next command comes, costs that connection, never a wrong
 * answer: in particular a plain add never takes the stray STORED for its own answer (which
 * made a spent token's mark look fresh). */
static void test_set_noreply(void **state)
{
    shs_mcget_t *g = reader(1);
    const mode_e broken[] = { NOREPLY_IGNORED, NOREPLY_LATE };
    char *v = NULL;
    int before, i;

    srv.mode = ANSWER;
    assert_int_equal(get(g, "k1", &v, apr_time_from_sec(5)), APR_SUCCESS); /* a connection */
    before = srv.accepted;
    assert_int_equal(
        shs_mcget_set_noreply(g, "conf", "123", 3, 60, apr_time_now() + apr_time_from_sec(5)),
        APR_SUCCESS);
    assert_int_equal(get(g, "k1", &v, apr_time_from_sec(5)), APR_SUCCESS);
    assert_string_equal(v, "hello world");
    assert_int_equal(srv.accepted, before); /* the same connection */

    for (i = 0; i < 2; i++) {
        srv.mode = broken[i];
        before = srv.accepted;
        assert_int_equal(
            shs_mcget_set_noreply(g, "conf", "123", 3, 60, apr_time_now() + apr_time_from_sec(5)),
            APR_SUCCESS);
        assert_int_equal(
            shs_mcget_store(g, 1, "exists", "1", 1, 60, apr_time_now() + apr_time_from_sec(5)),
            APR_EEXIST);
        assert_int_equal(srv.accepted, before + 1); /* that connection was dropped */
        assert_int_equal(
            shs_mcget_set_noreply(g, "conf", "123", 3, 60, apr_time_now() + apr_time_from_sec(5)),
            APR_SUCCESS);
        assert_int_equal(get(g, "k1", &v, apr_time_from_sec(5)), APR_SUCCESS);
        assert_string_equal(v, "hello world");
        assert_int_equal(srv.accepted, before + 2);
    }
    srv.mode = ANSWER;
}

static void *stalled_get(void *arg)
{
    shs_mcget_t *g = arg;
    char *v = NULL;
    apr_pool_t *p;
    apr_size_t len;
    apr_status_t rv;

    apr_pool_create(&p, NULL);
    rv = shs_mcget_get(g, "held", p, &v, &len, apr_time_now() + apr_time_from_msec(400));
    apr_pool_destroy(p);
    return (void *)(long)rv;
}

static void test_no_connection_to_spare(void **state)
{
    shs_mcget_t *g = reader(1);
    char *v = NULL;
    pthread_t t;
    void *rv;
    apr_time_t t0;

    /* another thread holds the only connection, stalled: this one is told at once, without
     * sending anything, so that it can take the worker path */
    srv.mode = STALL;
    assert_int_equal(pthread_create(&t, NULL, stalled_get, g), 0);
    usleep(100000);
    t0 = apr_time_now();
    assert_int_equal(get(g, "k1", &v, apr_time_from_sec(5)), APR_EAGAIN);
    assert_true(apr_time_now() - t0 < apr_time_from_msec(100));
    pthread_join(t, &rv);
    assert_int_equal((apr_status_t)(long)rv, APR_TIMEUP);
    /* the connection was closed: a new one may be opened */
    srv.mode = ANSWER;
    assert_int_equal(get(g, "k1", &v, apr_time_from_sec(5)), APR_SUCCESS);
}

static void test_refused(void **state)
{
    shs_mcget_t *g = NULL;
    char *v = NULL;
    apr_size_t len;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);

    /* a port nobody listens on: bound, then closed */
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    port = ntohs(a.sin_port);
    close(fd);
    assert_int_equal(shs_mcget_create(pool, "127.0.0.1", (apr_port_t)port, 1, &g), APR_SUCCESS);
    assert_true(APR_STATUS_IS_ECONNREFUSED(
        shs_mcget_get(g, "k", pool, &v, &len, apr_time_now() + apr_time_from_sec(2))));
    assert_int_equal(shs_mcget_create(pool, "127.0.0.1", 1, 0, &g), APR_EINVAL);
    /* a name that does not resolve: a reader that sends the caller to the workers */
    assert_int_equal(shs_mcget_create(pool, "no-such-host.invalid", 11211, 4, &g), APR_SUCCESS);
    assert_int_equal(shs_mcget_get(g, "k", pool, &v, &len, apr_time_now() + apr_time_from_sec(1)),
                     APR_EAGAIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_stall_is_bounded),
        cmocka_unit_test(test_wrong_answers_are_refused),
        cmocka_unit_test(test_idle_connection_closed_by_the_server),
        cmocka_unit_test(test_late_unasked_answer_reaches_nobody),
        cmocka_unit_test(test_no_connection_to_spare),
        cmocka_unit_test(test_store),
        cmocka_unit_test(test_add_get),
        cmocka_unit_test(test_set_noreply),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests_name("shs_mcget", tests, setup, teardown);
}
