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
 * memcached backend (src/shs_store_mc.c) against a real memcached (/usr/bin/memcached) that
 * the test runs on 127.0.0.1, freezes, kills and restarts. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/socket.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <netinet/in.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "shs_store.h"
#include "shs_store_mc.h"

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
                          apr_size_t len, apr_int64_t ttl)
{
    return f_put(key, val, 0);
}

static apr_status_t f_add(void *ctx, unsigned int slot, const char *key, const char *val,
                          apr_size_t len, apr_int64_t ttl)
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

/* ------------------------------------------------------------------ real memcached
 *
 * The memcached backend is tested against the real server, /usr/bin/memcached, which the
 * test runs as its own child process on a free port of 127.0.0.1 and stops by its pid.
 * SIGKILL is a crash: the kernel closes its connections, so the client's idle pooled ones
 * read EOF, and new ones are refused until it is started again on the same port.  SIGSTOP
 * freezes it: the kernel still completes TCP handshakes, so concurrent operations each open
 * a connection and wait on it for an answer.  What it received is read from its own `stats`
 * over a plain text-protocol connection. */

#ifndef MEMCACHED_BIN
#define MEMCACHED_BIN "/usr/bin/memcached"
#endif
#define MCD_WAIT_MS 5000 /* bound of every wait on memcached */

typedef struct mcd_t {
    pid_t pid; /* -1: not running */
    apr_port_t port;
} mcd_t;

static mcd_t mcd = { -1, 0 };

/* Without memcached these tests cannot run: a failure in CI, a skip elsewhere. */
static void mcd_require(void)
{
    const char *ci = getenv("CI");

    if (access(MEMCACHED_BIN, X_OK) == 0) {
        return;
    }
    if (ci && strcmp(ci, "true") == 0) {
        fail_msg(MEMCACHED_BIN " not found: install the Debian package memcached");
    }
    print_message(MEMCACHED_BIN " not found (install the Debian package memcached): "
                                "memcached backend test skipped\n");
    skip();
}

static int mcd_socket(void)
{
    return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static void mcd_addr(struct sockaddr_in *a, apr_port_t port)
{
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons(port);
}

/* A port of 127.0.0.1 nobody listens on at the moment. */
static apr_port_t mcd_free_port(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = mcd_socket();
    apr_port_t port = 0;

    assert_true(fd >= 0);
    mcd_addr(&a, 0);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0) {
        port = ntohs(a.sin_port);
    }
    close(fd);
    assert_true(port != 0);
    return port;
}

/* A connection to 127.0.0.1:port whose reads and writes give up after a second; -1 if
 * refused. */
static int mcd_connect(apr_port_t port)
{
    struct sockaddr_in a;
    struct timeval tv = { 1, 0 };
    int fd = mcd_socket();

    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    mcd_addr(&a, port);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One value of memcached's `stats` (each a "STAT name value" line, then END); -1 when the
 * server on that port does not answer or has no such statistic. */
static long long mcd_stat_at(apr_port_t port, const char *name)
{
    char buf[16384], want[64];
    size_t len = 0;
    const char *at;
    long long v = -1;
    int fd = mcd_connect(port), i;

    if (fd < 0) {
        return -1;
    }
    if (send(fd, "stats\r\n", 7, MSG_NOSIGNAL) != 7) {
        close(fd);
        return -1;
    }
    for (i = 0; i < 100 && len < sizeof(buf) - 1; i++) {
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
        buf[len] = '\0';
        if (strcmp(buf, "END\r\n") == 0 ||
            (len >= 7 && strcmp(buf + len - 7, "\r\nEND\r\n") == 0)) {
            snprintf(want, sizeof(want), "STAT %s ", name);
            at = strncmp(buf, want, strlen(want)) == 0 ? buf : NULL;
            if (!at) {
                snprintf(want, sizeof(want), "\nSTAT %s ", name);
                at = strstr(buf, want);
            }
            if (at) {
                v = strtoll(at + strlen(want), NULL, 10);
            }
            break;
        }
    }
    close(fd);
    return v;
}

static long long mcd_stat(const char *name)
{
    long long v = mcd_stat_at(mcd.port, name);

    if (v < 0) {
        fail_msg("memcached on port %u: no statistic %s", mcd.port, name);
    }
    return v;
}

/* Connections memcached has open besides the one asking (curr_connections counts that one,
 * not the listening socket), once it has seen `want` of them (closed connections are
 * noticed asynchronously): bounded, the last count when it never gets there. */
static long long mcd_client_conns(long long want)
{
    long long n = -1;
    int i;

    for (i = 0; i < MCD_WAIT_MS / 10; i++) {
        n = mcd_stat("curr_connections") - 1;
        if (n == want) {
            break;
        }
        usleep(10 * 1000);
    }
    return n;
}

/* fork + exec memcached on mcd.port.  The child gets stdout on stderr (cmocka's output stays
 * clean), no descriptor of the test, default signal handling, and dies with the test
 * process if that one goes away without reaping it. */
static pid_t mcd_spawn(void)
{
    char port[16];
    char *argv[16];
    int argc = 0;
    long maxfd = sysconf(_SC_OPEN_MAX);
    pid_t parent = getpid(), pid;

    snprintf(port, sizeof(port), "%u", mcd.port);
    argv[argc++] = (char *)MEMCACHED_BIN;
    argv[argc++] = (char *)"-l";
    argv[argc++] = (char *)"127.0.0.1";
    argv[argc++] = (char *)"-p";
    argv[argc++] = port;
    argv[argc++] = (char *)"-U";
    argv[argc++] = (char *)"0";
    argv[argc++] = (char *)"-m";
    argv[argc++] = (char *)"64";
    argv[argc++] = (char *)"-I"; /* the item size limit, explicit: see MC_TOO_LARGE */
    argv[argc++] = (char *)"1m";
    if (geteuid() == 0) {
        argv[argc++] = (char *)"-u"; /* memcached refuses to run as root otherwise */
        argv[argc++] = (char *)"root";
    }
    argv[argc] = NULL;
    if (maxfd < 0 || maxfd > 65536) {
        maxfd = 65536;
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        sigset_t none;
        int fd;

#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
#endif
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        fd = open("/dev/null", O_RDONLY);
        if (fd >= 0 && fd != 0) {
            dup2(fd, 0);
        }
        dup2(2, 1);
        for (fd = 3; fd < maxfd; fd++) {
            close(fd);
        }
        execv(MEMCACHED_BIN, argv);
        _exit(127);
    }
    (void)parent;
    return pid;
}

/* Start memcached on mcd.port and wait until it answers there (its own pid in `stats`, not
 * some other server's).  0: ready; -1: it exited (the port was taken); fails on a timeout. */
static int mcd_launch(void)
{
    int i, status;

    mcd.pid = mcd_spawn();
    if (mcd.pid < 0) {
        mcd.pid = -1;
        fail_msg("fork: %s", strerror(errno));
    }
    for (i = 0; i < MCD_WAIT_MS / 10; i++) {
        if (waitpid(mcd.pid, &status, WNOHANG) == mcd.pid) {
            mcd.pid = -1;
            return -1;
        }
        if (mcd_stat_at(mcd.port, "pid") == (long long)mcd.pid) {
            /* nobody else connected: curr_connections counts as this code expects */
            if (mcd_client_conns(0) != 0) {
                fail_msg("memcached on port %u: unexpected curr_connections", mcd.port);
            }
            return 0;
        }
        usleep(10 * 1000);
    }
    fail_msg("memcached (pid %d) did not answer on port %u within %d ms", (int)mcd.pid, mcd.port,
             MCD_WAIT_MS);
    return -1;
}

/* A new memcached on a free port (another one if that port gets taken meanwhile). */
static void mcd_start(void)
{
    int attempt;

    for (attempt = 0; attempt < 5; attempt++) {
        mcd.port = mcd_free_port();
        if (mcd_launch() == 0) {
            return;
        }
    }
    fail_msg("memcached exited at once 5 times (see its messages above)");
}

/* Again on the same port, as after a crash. */
static void mcd_restart(void)
{
    if (mcd_launch() != 0) {
        fail_msg("memcached could not be started again on port %u", mcd.port);
    }
}

/* Killed as in a crash, and reaped.  Nothing to do when it is not running. */
static void mcd_kill(void)
{
    if (mcd.pid > 0) {
        kill(mcd.pid, SIGKILL);
        while (waitpid(mcd.pid, NULL, 0) < 0 && errno == EINTR) {
        }
        mcd.pid = -1;
        usleep(20 * 1000); /* the FINs reach the client's sockets */
    }
}

/* SIGSTOP, and wait (bounded) until it is stopped. */
static void mcd_freeze(void)
{
    int i, status;

    assert_int_equal(kill(mcd.pid, SIGSTOP), 0);
    for (i = 0; i < MCD_WAIT_MS; i++) {
        if (waitpid(mcd.pid, &status, WUNTRACED | WNOHANG) == mcd.pid && WIFSTOPPED(status)) {
            return;
        }
        usleep(1000);
    }
    fail_msg("memcached (pid %d) did not stop", (int)mcd.pid);
}

/* Client connections to memcached in state ESTABLISHED, from Linux's /proc/net/tcp (remote
 * address 127.0.0.1:port): -1 when that cannot be read. */
static int mcd_tcp_clients(void)
{
    char line[512], rem[64], want[32];
    unsigned int st;
    int n = 0;
    FILE *f = fopen("/proc/net/tcp", "re");

    if (!f) {
        return -1;
    }
    snprintf(want, sizeof(want), "%08X:%04X", (unsigned int)htonl(INADDR_LOOPBACK), mcd.port);
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%*s %*s %63s %x", rem, &st) == 2 && strcmp(rem, want) == 0 && st == 1) {
            n++;
        }
    }
    fclose(f);
    return n;
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

    q->rv = q->ops->get(q->ctx, 0, "never-set", q->p, &v, &len);
    return NULL;
}

/* MC_CONNS operations at once while memcached is frozen: each takes a connection of the
 * client's pool (an idle one or a new one: the pool holds at most MC_CONNS) and waits on it
 * for the answer.  Once all of them are connected memcached goes on and answers them all:
 * the pool then holds MC_CONNS idle connections.  The operations are the backend's own
 * (shs_store_mc.c), called from threads as the executor's workers call them. */
static void warm_connections(const shs_store_ops_t *ops, void *ctx, apr_pool_t *p)
{
    pthread_t t[MC_CONNS];
    mc_req_t q[MC_CONNS];
    int i, started = 0, held = -1;

    mcd_freeze();
    for (i = 0; i < MC_CONNS; i++) {
        q[i] = (mc_req_t){ ops, ctx, NULL, -1 };
        apr_pool_create(&q[i].p, p);
        if (pthread_create(&t[i], NULL, do_mc_get, &q[i]) != 0) {
            apr_pool_destroy(q[i].p);
            break;
        }
        started++;
    }
    /* no assertion until every thread is joined: they use q[] */
    for (i = 0; started == MC_CONNS && i < MCD_WAIT_MS / 10; i++) {
        held = mcd_tcp_clients();
        if (held < 0) {
            usleep(300 * 1000); /* no /proc/net/tcp: give them time, checked below */
            break;
        }
        if (held == MC_CONNS) {
            break;
        }
        usleep(10 * 1000);
    }
    kill(mcd.pid, SIGCONT);
    for (i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(started, MC_CONNS);
    for (i = 0; i < MC_CONNS; i++) {
        assert_int_equal(q[i].rv, APR_NOTFOUND);
        apr_pool_destroy(q[i].p);
    }
    if (held >= 0) {
        assert_int_equal(held, MC_CONNS);
    }
    assert_int_equal(mcd_client_conns(MC_CONNS), MC_CONNS);
}

static void mc_backend(fixture_t *fx, const shs_store_ops_t **ops, void **ctx)
{
    shs_mc_server_spec_t spec = { "127.0.0.1", mcd.port };

    assert_int_equal(shs_store_mc_create(fx->p, &spec, 1, MC_CONNS, apr_time_from_sec(1), ops, ctx),
                     APR_SUCCESS);
}

static int mc_setup(void **state)
{
    mcd.pid = -1;
    mcd.port = 0;
    return fx_setup(state);
}

/* memcached is reaped whatever happened in the test, frozen or not. */
static int mc_teardown(void **state)
{
    mcd_kill();
    return fx_teardown(state);
}

static void assert_mc_value(const shs_store_ops_t *ops, void *ctx, apr_pool_t *p, const char *key,
                            const char *want)
{
    char *v = NULL;
    apr_size_t len = 0;

    assert_int_equal(ops->get(ctx, 0, key, p, &v, &len), APR_SUCCESS);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(v, want, len);
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
    apr_status_t rv;

    mcd_require();
    mcd_start();
    mc_backend(fx, &ops, &ctx);

    warm_connections(ops, ctx, fx->p);
    mcd_kill();
    mcd_restart();
    assert_int_equal(ops->set(ctx, 0, "k", "v", 1, 0), APR_SUCCESS);
    assert_mc_value(ops, ctx, fx->p, "k", "v");
    /* the stale ones are gone, one new connection */
    assert_int_equal(mcd_client_conns(1), 1);

    warm_connections(ops, ctx, fx->p);
    mcd_kill();
    rv = ops->set(ctx, 0, "k", "w", 1, 0);
    assert_true(APR_STATUS_IS_ECONNREFUSED(rv));
    mcd_restart();
    assert_int_equal(ops->del(ctx, 0, "k"), APR_NOTFOUND); /* a new memcached is empty */
    assert_int_equal(ops->add(ctx, 0, "k", "w", 1, 0), APR_SUCCESS);
    assert_mc_value(ops, ctx, fx->p, "k", "w");
    assert_int_equal(mcd_client_conns(1), 1);
}

#define MC_TOO_LARGE (1536 * 1024) /* above memcached's item size limit, -I 1m */

/* A real protocol error (SERVER_ERROR object too large for cache) is retried a bounded number
 * of times, then reported.  memcached counts a storage command whose item it could not
 * allocate in store_too_large, not in cmd_set: the commands it received are the sum. */
static void test_mc_server_error_bounded(void **state)
{
    fixture_t *fx = *state;
    const shs_store_ops_t *ops;
    void *ctx;
    char *big;
    long long sets, too_large, stores;
    char *v = NULL;
    apr_size_t len = 0;

    mcd_require();
    mcd_start();
    mc_backend(fx, &ops, &ctx);
    big = apr_palloc(fx->p, MC_TOO_LARGE);
    memset(big, 'x', MC_TOO_LARGE);

    sets = mcd_stat("cmd_set");
    too_large = mcd_stat("store_too_large");
    assert_int_equal(ops->set(ctx, 0, "big", big, MC_TOO_LARGE, 0), APR_EGENERAL);
    stores = mcd_stat("cmd_set") - sets + mcd_stat("store_too_large") - too_large;
    assert_true(stores >= 1 && stores <= MC_CONNS + 1);
    assert_int_equal(ops->get(ctx, 0, "big", fx->p, &v, &len), APR_NOTFOUND);

    assert_int_equal(ops->set(ctx, 0, "k", "v", 1, 0), APR_SUCCESS);
    assert_mc_value(ops, ctx, fx->p, "k", "v");
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
