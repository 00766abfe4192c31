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
 * a fake backend that can answer, fail, or block on a gate the test controls; and of the
 * memcached backend (src/shs_store_mc.c) against a fake memcached on 127.0.0.1 that can be
 * killed and restarted. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
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
    int slot_gate_closed;   /* slot_of() blocks for keys starting with 'W' while set */
    int slot_waiting;       /* requesters waiting there */
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

/* The store asks for the slot after creating the job and before queueing it: a key starting
 * with 'W' waits here while slot_gate_closed is set (a requester descheduled in between). */
static unsigned int f_slot_of(void *ctx, const char *key)
{
    if (key[0] == 'W') {
        pthread_mutex_lock(&fake.lock);
        fake.slot_waiting++;
        while (fake.slot_gate_closed) {
            pthread_cond_wait(&fake.gate_cv, &fake.lock);
        }
        fake.slot_waiting--;
        pthread_mutex_unlock(&fake.lock);
    }
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

static void slot_gate(int closed)
{
    pthread_mutex_lock(&fake.lock);
    fake.slot_gate_closed = closed;
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

/* ------------------------------------------------------------------ fake memcached (TCP)
 *
 * A text-protocol server on 127.0.0.1, one thread polling the listening socket and every
 * connection: get answers END (a miss), set/add STORED (SERVER_ERROR with store_error),
 * delete NOT_FOUND.  fmc_kill() closes the listening socket and every connection, as a killed
 * memcached does: the client's pooled connections read EOF, new ones are refused;
 * fmc_restart() listens again on the same port.  With hold = n, answers are held back until
 * n connections wait for one, so that n concurrent operations take n pooled connections. */

#define FMC_MAX 32

typedef struct fmc_conn_t {
    int fd; /* -1: free slot */
    char in[4096];
    size_t inlen;
    size_t swallow; /* data block (and CRLF) of a storage command still to read */
    char out[256];
    size_t outlen; /* answer not sent yet */
} fmc_conn_t;

typedef struct fmc_t {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    pthread_t tid;
    int listen_fd; /* -1 while killed */
    apr_port_t port;
    int stop, kill_req, restart_req;
    int hold;
    int store_error;
    int accepted; /* connections accepted */
    int stores;   /* set/add commands received */
    fmc_conn_t conns[FMC_MAX];
} fmc_t;

static fmc_t fmc;

static int fmc_listen(fmc_t *f)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(f->port); /* 0 the first time: any free port */
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        close(fd);
        return -1;
    }
    f->port = ntohs(a.sin_port);
    f->listen_fd = fd;
    return 0;
}

static void fmc_close(fmc_conn_t *c)
{
    close(c->fd);
    c->fd = -1;
    c->inlen = c->swallow = c->outlen = 0;
}

static void fmc_answer(fmc_conn_t *c, const char *text)
{
    size_t n = strlen(text);

    if (c->outlen + n <= sizeof(c->out)) {
        memcpy(c->out + c->outlen, text, n);
        c->outlen += n;
    }
}

/* Complete commands in c->in, with the lock held. */
static void fmc_input(fmc_t *f, fmc_conn_t *c)
{
    for (;;) {
        char line[512], *eol;
        size_t n, bytes = 0;

        if (c->swallow) {
            n = c->inlen < c->swallow ? c->inlen : c->swallow;
            memmove(c->in, c->in + n, c->inlen - n);
            c->inlen -= n;
            c->swallow -= n;
            if (c->swallow) {
                return;
            }
            fmc_answer(c, f->store_error ? "SERVER_ERROR object too large for cache\r\n"
                                         : "STORED\r\n");
            continue;
        }
        eol = memchr(c->in, '\n', c->inlen);
        if (!eol) {
            return;
        }
        n = (size_t)(eol - c->in) + 1;
        memcpy(line, c->in, n < sizeof(line) ? n : sizeof(line) - 1);
        line[n < sizeof(line) ? n : sizeof(line) - 1] = '\0';
        memmove(c->in, c->in + n, c->inlen - n);
        c->inlen -= n;
        if (strncmp(line, "get ", 4) == 0) {
            fmc_answer(c, "END\r\n");
        }
        else if (strncmp(line, "set ", 4) == 0 || strncmp(line, "add ", 4) == 0) {
            f->stores++;
            sscanf(line, "%*s %*s %*s %*s %zu", &bytes);
            c->swallow = bytes + 2;
        }
        else if (strncmp(line, "delete ", 7) == 0) {
            fmc_answer(c, "NOT_FOUND\r\n");
        }
        else if (strncmp(line, "version", 7) == 0) {
            fmc_answer(c, "VERSION fake\r\n");
        }
        else {
            fmc_answer(c, "ERROR\r\n");
        }
    }
}

static void *fmc_main(void *arg)
{
    fmc_t *f = arg;
    struct pollfd pfd[FMC_MAX + 1];
    int i, waiting;

    pthread_mutex_lock(&f->lock);
    while (!f->stop) {
        if (f->kill_req || f->restart_req) {
            if (f->kill_req && f->listen_fd >= 0) {
                close(f->listen_fd);
                f->listen_fd = -1;
            }
            for (i = 0; f->kill_req && i < FMC_MAX; i++) {
                if (f->conns[i].fd >= 0) {
                    fmc_close(&f->conns[i]);
                }
            }
            if (f->restart_req && f->listen_fd < 0) {
                fmc_listen(f);
            }
            f->kill_req = f->restart_req = 0;
            pthread_cond_broadcast(&f->changed);
        }
        for (i = 0, waiting = 0; i < FMC_MAX; i++) {
            waiting += f->conns[i].fd >= 0 && f->conns[i].outlen > 0;
        }
        for (i = 0; waiting > 0 && waiting >= f->hold && i < FMC_MAX; i++) {
            fmc_conn_t *c = &f->conns[i];
            if (c->fd >= 0 && c->outlen > 0) {
                if (send(c->fd, c->out, c->outlen, MSG_NOSIGNAL) != (ssize_t)c->outlen) {
                    fmc_close(c);
                }
                c->outlen = 0;
            }
        }
        pfd[0].fd = f->listen_fd;
        pfd[0].events = POLLIN;
        for (i = 0; i < FMC_MAX; i++) {
            pfd[i + 1].fd = f->conns[i].fd;
            pfd[i + 1].events = POLLIN;
            pfd[i + 1].revents = 0;
        }
        pfd[0].revents = 0;
        pthread_mutex_unlock(&f->lock);
        poll(pfd, FMC_MAX + 1, 10);
        pthread_mutex_lock(&f->lock);
        if (pfd[0].fd >= 0 && pfd[0].fd == f->listen_fd && (pfd[0].revents & POLLIN)) {
            int fd = accept(f->listen_fd, NULL, NULL);
            for (i = 0; fd >= 0 && i < FMC_MAX && f->conns[i].fd >= 0; i++) {
            }
            if (fd >= 0 && i < FMC_MAX) {
                f->conns[i].fd = fd;
                f->accepted++;
            }
            else if (fd >= 0) {
                close(fd);
            }
        }
        for (i = 0; i < FMC_MAX; i++) {
            fmc_conn_t *c = &f->conns[i];
            ssize_t n;
            if (c->fd < 0 || c->fd != pfd[i + 1].fd || !pfd[i + 1].revents) {
                continue;
            }
            n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
            if (n <= 0) {
                fmc_close(c);
                continue;
            }
            c->inlen += (size_t)n;
            fmc_input(f, c);
            if (c->inlen == sizeof(c->in)) {
                fmc_close(c); /* a line longer than the buffer: not from apr_memcache */
            }
        }
    }
    for (i = 0; i < FMC_MAX; i++) {
        if (f->conns[i].fd >= 0) {
            fmc_close(&f->conns[i]);
        }
    }
    if (f->listen_fd >= 0) {
        close(f->listen_fd);
        f->listen_fd = -1;
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

static void fmc_start(void)
{
    int i;

    memset(&fmc, 0, sizeof(fmc));
    pthread_mutex_init(&fmc.lock, NULL);
    pthread_cond_init(&fmc.changed, NULL);
    for (i = 0; i < FMC_MAX; i++) {
        fmc.conns[i].fd = -1;
    }
    assert_int_equal(fmc_listen(&fmc), 0);
    assert_int_equal(pthread_create(&fmc.tid, NULL, fmc_main, &fmc), 0);
}

static void fmc_finish(void)
{
    pthread_mutex_lock(&fmc.lock);
    fmc.stop = 1;
    pthread_mutex_unlock(&fmc.lock);
    pthread_join(fmc.tid, NULL);
    pthread_cond_destroy(&fmc.changed);
    pthread_mutex_destroy(&fmc.lock);
}

/* Ask the server thread for a kill or a restart and wait until it is done. */
static void fmc_request(int *flag)
{
    pthread_mutex_lock(&fmc.lock);
    *flag = 1;
    while (*flag) {
        pthread_cond_wait(&fmc.changed, &fmc.lock);
    }
    pthread_mutex_unlock(&fmc.lock);
    usleep(20 * 1000); /* the FINs reach the client's sockets */
}

static void fmc_kill(void)
{
    fmc_request(&fmc.kill_req);
}

static void fmc_restart(void)
{
    fmc_request(&fmc.restart_req);
}

static int fmc_get(int *field)
{
    int v;

    pthread_mutex_lock(&fmc.lock);
    v = *field;
    pthread_mutex_unlock(&fmc.lock);
    return v;
}

static void fmc_set(int *field, int v)
{
    pthread_mutex_lock(&fmc.lock);
    *field = v;
    pthread_mutex_unlock(&fmc.lock);
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
    fake.slot_gate_closed = 0;
    fake.slot_waiting = 0;
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
    slot_gate(0);
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

typedef struct get_req_t {
    shs_store_t *st;
    apr_pool_t *p;
    const char *key;
    apr_status_t rv;
} get_req_t;

static void *do_get(void *arg)
{
    get_req_t *q = arg;
    char *v = NULL;
    apr_size_t len = 0;

    q->rv = shs_store_get(q->st, q->key, q->p, &v, &len);
    return NULL;
}

/* A requester delayed between creating its job and queueing it, past the failure that opens
 * the breaker and the retry interval, becomes the probe: its answer closes the breaker.
 * (It was once taken for an operation older than the failure and ignored: the breaker stayed
 * "probing", which skips every operation, and the slot was down for good.) */
static void test_late_requester_probe_closes(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st = make_store(fx, 2, 0, apr_time_from_msec(500), apr_time_from_msec(20));
    get_req_t q = { st, NULL, "Wk", -1 };
    pthread_t t;
    char *v;
    apr_size_t len;
    int i, waiting = 0;

    apr_pool_create(&q.p, fx->p);
    slot_gate(1);
    assert_int_equal(pthread_create(&t, NULL, do_get, &q), 0);
    for (i = 0; i < 2000 && !waiting; i++) {
        pthread_mutex_lock(&fake.lock);
        waiting = fake.slot_waiting;
        pthread_mutex_unlock(&fake.lock);
        usleep(1000);
    }
    assert_int_equal(waiting, 1); /* its job exists, not queued yet */

    fake.fail_with = APR_ECONNREFUSED;
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), APR_ECONNREFUSED);
    fake.fail_with = 0;
    assert_int_equal(shs_store_breaker(st, 0), SHS_BREAKER_OPEN);
    usleep(50 * 1000); /* past the retry interval */

    slot_gate(0);
    pthread_join(t, NULL);
    assert_int_equal(q.rv, APR_NOTFOUND); /* it was the probe, and got an answer */
    assert_int_equal(shs_store_breaker(st, 0), SHS_BREAKER_CLOSED);
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), APR_NOTFOUND);
    assert_int_equal(seen_count(2), 2);
    assert_int_equal(seen.to[0], SHS_BREAKER_OPEN);
    assert_int_equal(seen.from[1], SHS_BREAKER_PROBING);
    assert_int_equal(seen.to[1], SHS_BREAKER_CLOSED);
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

/* ------------------------------------------------------------------ memcached backend */

#define MC_CONNS 4

typedef struct mc_req_t {
    const shs_store_ops_t *ops;
    void *ctx;
    apr_pool_t *p;
    apr_status_t rv;
} mc_req_t;

static void *do_mc_get(void *arg)
{
    mc_req_t *q = arg;
    char *v = NULL;
    apr_size_t len = 0;

    q->rv = q->ops->get(q->ctx, 0, "k", q->p, &v, &len);
    return NULL;
}

static int fmc_open(void)
{
    int i, n = 0;

    pthread_mutex_lock(&fmc.lock);
    for (i = 0; i < FMC_MAX; i++) {
        n += fmc.conns[i].fd >= 0;
    }
    pthread_mutex_unlock(&fmc.lock);
    return n;
}

/* MC_CONNS operations at once (the server holds the answers until all of them wait): the
 * client's pool then holds MC_CONNS idle connections. */
static void warm_connections(const shs_store_ops_t *ops, void *ctx, apr_pool_t *p)
{
    pthread_t t[MC_CONNS];
    mc_req_t q[MC_CONNS];
    int i;

    fmc_set(&fmc.hold, MC_CONNS);
    for (i = 0; i < MC_CONNS; i++) {
        q[i] = (mc_req_t){ ops, ctx, NULL, -1 };
        apr_pool_create(&q[i].p, p);
        assert_int_equal(pthread_create(&t[i], NULL, do_mc_get, &q[i]), 0);
    }
    for (i = 0; i < MC_CONNS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(q[i].rv, APR_NOTFOUND);
        apr_pool_destroy(q[i].p);
    }
    fmc_set(&fmc.hold, 0);
    assert_int_equal(fmc_open(), MC_CONNS);
}

static void mc_backend(fixture_t *fx, const shs_store_ops_t **ops, void **ctx)
{
    shs_mc_server_spec_t spec = { "127.0.0.1", fmc.port };

    assert_int_equal(shs_store_mc_create(fx->p, &spec, 1, MC_CONNS, apr_time_from_sec(1), ops, ctx),
                     APR_SUCCESS);
}

static int mc_setup(void **state)
{
    fx_setup(state);
    fmc_start();
    return 0;
}

static int mc_teardown(void **state)
{
    fmc_finish();
    return fx_teardown(state);
}

/* memcached killed and restarted on the same port while the client's pooled connections were
 * idle: each of them reads EOF (apr_memcache: APR_EGENERAL).  One operation goes through all
 * of them and answers on a fresh connection; while memcached is down it fails as refused.
 * (Failing on each stale connection cost a process one breaker retry interval per pooled
 * connection after a memcached restart.) */
static void test_mc_stale_connections_after_restart(void **state)
{
    fixture_t *fx = *state;
    const shs_store_ops_t *ops;
    void *ctx;
    char *v = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    mc_backend(fx, &ops, &ctx);

    warm_connections(ops, ctx, fx->p);
    fmc_kill();
    fmc_restart();
    assert_int_equal(ops->get(ctx, 0, "k", fx->p, &v, &len), APR_NOTFOUND);
    assert_int_equal(fmc_open(), 1); /* the stale ones are gone, one new connection */

    warm_connections(ops, ctx, fx->p);
    fmc_kill();
    rv = ops->set(ctx, 0, "k", "v", 1, 0);
    assert_true(APR_STATUS_IS_ECONNREFUSED(rv));
    fmc_restart();
    assert_int_equal(ops->del(ctx, 0, "k"), APR_NOTFOUND);
    assert_int_equal(ops->add(ctx, 0, "k", "v", 1, 0), APR_SUCCESS);
}

/* A real protocol error is retried a bounded number of times, then reported. */
static void test_mc_server_error_bounded(void **state)
{
    fixture_t *fx = *state;
    const shs_store_ops_t *ops;
    void *ctx;
    int stores;

    mc_backend(fx, &ops, &ctx);
    fmc_set(&fmc.store_error, 1);
    assert_int_equal(ops->set(ctx, 0, "k", "v", 1, 0), APR_EGENERAL);
    stores = fmc_get(&fmc.stores);
    assert_true(stores >= 1 && stores <= MC_CONNS + 1);
    fmc_set(&fmc.store_error, 0);
    assert_int_equal(ops->set(ctx, 0, "k", "v", 1, 0), APR_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_timeout_then_breaker, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_breaker_probe, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_late_requester_probe_closes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_slots_independent, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_queue_limit_and_drop, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_args, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_with_stuck_worker, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_mc_stale_connections_after_restart, mc_setup,
                                        mc_teardown),
        cmocka_unit_test_setup_teardown(test_mc_server_error_bounded, mc_setup, mc_teardown),
    };
    int rc;

    apr_initialize();
    /* as in httpd: a write to a connection memcached has closed fails with EPIPE instead */
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&fake.lock, NULL);
    pthread_cond_init(&fake.gate_cv, NULL);
    rc = cmocka_run_group_tests_name("shs_store", tests, NULL, NULL);
    apr_terminate();
    return rc;
}
