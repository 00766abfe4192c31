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
 * a fake backend that can answer, fail, or block on a gate the test controls (each of its
 * slots on its own too: replicas, item versions, repair, tombstones, add); and of the
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
#include <dirent.h>
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

#define FAKE_SLOTS 4

/* What a slot holds for a key: the bytes and the ttl they were stored with. */
typedef struct fake_item_t {
    char *val;
    apr_size_t len;
    apr_int64_t ttl;
} fake_item_t;

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
    apr_hash_t *data[FAKE_SLOTS]; /* key -> fake_item_t, per slot */
    unsigned int nslots;
    /* per slot: */
    apr_status_t slot_fail[FAKE_SLOTS]; /* non-zero: operations on the slot return it */
    int stalled[FAKE_SLOTS];            /* operations on the slot block while set */
    int slot_calls[FAKE_SLOTS];
} fake_t;

static fake_t fake;

static void fake_enter(unsigned int slot)
{
    pthread_mutex_lock(&fake.lock);
    fake.calls++;
    fake.slot_calls[slot]++;
    fake.blocked++;
    while (fake.gate_closed || fake.stalled[slot]) {
        pthread_cond_wait(&fake.gate_cv, &fake.lock);
    }
    fake.blocked--;
}

static apr_status_t fake_failure(unsigned int slot)
{
    return fake.fail_with ? fake.fail_with : fake.slot_fail[slot];
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

/* A key's slots in order: from slot_of's answer on, round the slots. */
static unsigned int f_slots_of(void *ctx, const char *key, unsigned int *out, unsigned int want)
{
    unsigned int first = f_slot_of(ctx, key), i;

    for (i = 0; i < want && i < fake.nslots; i++) {
        out[i] = (first + i) % fake.nslots;
    }
    return i;
}

static const char *f_slot_name(void *ctx, unsigned int slot)
{
    static const char *names[FAKE_SLOTS] = { "fake-a", "fake-b", "fake-c", "fake-d" };

    return slot < FAKE_SLOTS ? names[slot] : "?";
}

static apr_status_t f_get(void *ctx, unsigned int slot, const char *key, apr_pool_t *p, char **val,
                          apr_size_t *len)
{
    apr_status_t rv;
    const fake_item_t *it;

    fake_enter(slot);
    rv = fake_failure(slot);
    if (!rv) {
        it = apr_hash_get(fake.data[slot], key, APR_HASH_KEY_STRING);
        if (it) {
            *val = apr_pstrmemdup(p, it->val, it->len);
            *len = it->len;
        }
        rv = it ? APR_SUCCESS : APR_NOTFOUND;
    }
    pthread_mutex_unlock(&fake.lock);
    return rv;
}

/* With fake.lock held. */
static void fake_store(unsigned int slot, const char *key, const char *val, apr_size_t len,
                       apr_int64_t ttl)
{
    fake_item_t *it = apr_pcalloc(fake.pool, sizeof(*it));

    it->val = apr_pstrmemdup(fake.pool, val, len);
    it->len = len;
    it->ttl = ttl;
    apr_hash_set(fake.data[slot], apr_pstrdup(fake.pool, key), APR_HASH_KEY_STRING, it);
}

static apr_status_t f_put(unsigned int slot, const char *key, const char *val, apr_size_t len,
                          apr_int64_t ttl, int add)
{
    apr_status_t rv;

    fake_enter(slot);
    rv = fake_failure(slot);
    if (!rv) {
        if (add && apr_hash_get(fake.data[slot], key, APR_HASH_KEY_STRING)) {
            rv = APR_EEXIST;
        }
        else {
            fake_store(slot, key, val, len, ttl);
        }
    }
    pthread_mutex_unlock(&fake.lock);
    return rv;
}

static apr_status_t f_set(void *ctx, unsigned int slot, const char *key, const char *val,
                          apr_size_t len, apr_int64_t ttl)
{
    return f_put(slot, key, val, len, ttl, 0);
}

static apr_status_t f_add(void *ctx, unsigned int slot, const char *key, const char *val,
                          apr_size_t len, apr_int64_t ttl)
{
    return f_put(slot, key, val, len, ttl, 1);
}

static apr_status_t f_del(void *ctx, unsigned int slot, const char *key)
{
    apr_status_t rv;

    fake_enter(slot);
    rv = fake_failure(slot);
    if (!rv) {
        rv = apr_hash_get(fake.data[slot], key, APR_HASH_KEY_STRING) ? APR_SUCCESS : APR_NOTFOUND;
        apr_hash_set(fake.data[slot], key, APR_HASH_KEY_STRING, NULL);
    }
    pthread_mutex_unlock(&fake.lock);
    return rv;
}

static const shs_store_ops_t fake_ops = {
    .name = "fake",
    .nslots = f_nslots,
    .slot_of = f_slot_of,
    .slots_of = f_slots_of,
    .slot_name = f_slot_name,
    .get = f_get,
    .set = f_set,
    .add = f_add,
    .del = f_del,
};

/* The fake with add_get_within: both on one slot, the get run whatever the add said. */
static apr_status_t f_add_get_within(void *ctx, unsigned int slot, const char *addkey,
                                     const char *aval, apr_size_t alen, apr_int64_t ttl,
                                     const char *getkey, apr_pool_t *p, char **val, apr_size_t *len,
                                     apr_time_t deadline, apr_status_t *added)
{
    apr_status_t a = f_put(slot, addkey, aval, alen, ttl, 1);

    if (SHS_STORE_FAILED(a)) {
        return a; /* the exchange failed: *added untouched */
    }
    *added = a;
    return f_get(ctx, slot, getkey, p, val, len);
}

/* fake_ops with f_add_get_within: filled in by test_add_get_pipelined */
static shs_store_ops_t fake_pipe_ops;

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

/* Operations on a slot block (a stalled server) while on. */
static void stall(unsigned int slot, int on)
{
    pthread_mutex_lock(&fake.lock);
    fake.stalled[slot] = on;
    pthread_cond_broadcast(&fake.gate_cv);
    pthread_mutex_unlock(&fake.lock);
}

/* Operations on a slot fail with rv (0: they work again). */
static void slot_fails(unsigned int slot, apr_status_t rv)
{
    pthread_mutex_lock(&fake.lock);
    fake.slot_fail[slot] = rv;
    pthread_mutex_unlock(&fake.lock);
}

static int slot_calls(unsigned int slot)
{
    int n;

    pthread_mutex_lock(&fake.lock);
    n = fake.slot_calls[slot];
    pthread_mutex_unlock(&fake.lock);
    return n;
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

/* Every operation that waited at the gate or a stalled slot has left the backend: it has
 * released fake.lock after reading or writing fake.data (bounded). */
static void wait_unblocked(void)
{
    int i, b = 0;

    for (i = 0; i < 2000; i++) {
        pthread_mutex_lock(&fake.lock);
        b = fake.blocked;
        pthread_mutex_unlock(&fake.lock);
        if (b == 0) {
            return;
        }
        usleep(1000);
    }
    fail_msg("%d operation(s) still in the backend", b);
}

/* ------------------------------------------------------------------ the breakers' clock
 *
 * The store reads the time for its breakers (when a slot may be probed again) from this
 * clock, which only the test moves: "after the retry interval" is clock_advance(retry), never
 * a wait.  Operation timeouts keep the real clocks. */

static apr_time_t fake_time;

static apr_time_t fake_clock(void)
{
    return __atomic_load_n(&fake_time, __ATOMIC_ACQUIRE);
}

static void clock_advance(apr_interval_time_t d)
{
    __atomic_add_fetch(&fake_time, d, __ATOMIC_ACQ_REL);
}

/* The store's counters, and a bounded wait until its workers have finished `ops` operations
 * (a worker counts an operation, and records it in the breaker, once the backend returned). */
static shs_store_stats_t stats_of(shs_store_t *st)
{
    shs_store_stats_t s;

    shs_store_get_stats(st, &s);
    return s;
}

static void wait_ops(shs_store_t *st, apr_uint64_t ops)
{
    int i;

    for (i = 0; i < 2000 && stats_of(st).ops < ops; i++) {
        usleep(1000);
    }
    if (stats_of(st).ops < ops) {
        fail_msg("the store finished %llu operation(s), not %llu",
                 (unsigned long long)stats_of(st).ops, (unsigned long long)ops);
    }
}

/* Threads of this process named as the store's workers ("shs-store"): -1 when /proc cannot
 * be read. */
static int store_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    char path[300], comm[32];
    int n = 0;

    if (!d) {
        return -1;
    }
    while ((e = readdir(d))) {
        FILE *f;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        if ((f = fopen(path, "re"))) {
            if (fgets(comm, sizeof(comm), f) && strncmp(comm, "shs-store", 9) == 0) {
                n++;
            }
            fclose(f);
        }
    }
    closedir(d);
    return n;
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

static int mcd_tcp_clients(void);

/* Killed as in a crash, and reaped.  Nothing to do when it is not running.  Returns once the
 * client's sockets have seen memcached's FINs (none of them is ESTABLISHED any more). */
static void mcd_kill(void)
{
    int i, n = 0;

    if (mcd.pid > 0) {
        kill(mcd.pid, SIGKILL);
        while (waitpid(mcd.pid, NULL, 0) < 0 && errno == EINTR) {
        }
        mcd.pid = -1;
        for (i = 0; i < MCD_WAIT_MS && (n = mcd_tcp_clients()) > 0; i++) {
            usleep(1000);
        }
        if (n < 0) {
            usleep(20 * 1000); /* no /proc/net/tcp: give the FINs time to arrive */
        }
        else if (n > 0) {
            fail_msg("%d connection(s) to the killed memcached still established", n);
        }
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
    /* and make sure no extra one follows: a notification that should not happen cannot be
     * waited for, so this is the one fixed wait left (short, and only a negative: a late
     * extra one still makes the next count or assertion fail) */
    usleep(5000);
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

static shs_store_t *make_store_ops(fixture_t *fx, const shs_store_ops_t *ops, int workers,
                                   int max_queue, apr_interval_time_t timeout,
                                   apr_interval_time_t retry);

static shs_store_t *make_store(fixture_t *fx, int workers, int max_queue,
                               apr_interval_time_t timeout, apr_interval_time_t retry)
{
    return make_store_ops(fx, &fake_ops, workers, max_queue, timeout, retry);
}

static shs_store_t *make_store_ops(fixture_t *fx, const shs_store_ops_t *ops, int workers,
                                   int max_queue, apr_interval_time_t timeout,
                                   apr_interval_time_t retry)
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

    assert_int_equal(shs_store_create(fx->p, ops, NULL, &opts, &fx->st), APR_SUCCESS);
    return fx->st;
}

static int fx_setup(void **state)
{
    static fixture_t fx;
    int i;

    memset(&fx, 0, sizeof(fx));
    apr_pool_create(&fx.p, NULL);
    apr_pool_create(&fake.pool, NULL);
    for (i = 0; i < FAKE_SLOTS; i++) {
        fake.data[i] = apr_hash_make(fake.pool);
        fake.slot_fail[i] = 0;
        fake.stalled[i] = 0;
        fake.slot_calls[i] = 0;
    }
    fake.gate_closed = 0;
    fake.blocked = 0;
    fake.slot_gate_closed = 0;
    fake.slot_waiting = 0;
    fake.fail_with = 0;
    fake.calls = 0;
    fake.nslots = 1;
    __atomic_store_n(&fake_time, apr_time_from_sec(1000000), __ATOMIC_RELEASE);
    memset(&seen, 0, sizeof(seen));
    *state = &fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fixture_t *fx = *state;

    int i;

    gate(0);
    slot_gate(0);
    for (i = 0; i < FAKE_SLOTS; i++) {
        stall((unsigned int)i, 0);
    }
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

/* The answers of shs_store_add_get.  pipelined: both keys on a slot of a backend with
 * add_get_within: a fresh add gives the session's read, a replayed one leaves *got "not read",
 * a missing session is NOTFOUND.  Otherwise the add alone: *got always "not read".  The set and
 * three calls. */
static void expect_add_get(shs_store_t *st, apr_pool_t *p, int pipelined)
{
    apr_status_t got = APR_SUCCESS;
    char *v = NULL;
    apr_size_t len = 0;

    assert_int_equal(shs_store_set(st, "sess", "data", 4, 60), APR_SUCCESS);
    assert_int_equal(shs_store_add_get(st, "spent", "1", 1, 60, "sess", p, &v, &len, &got),
                     APR_SUCCESS);
    assert_int_equal(got, pipelined ? APR_SUCCESS : APR_EINIT);
    if (pipelined) {
        assert_int_equal(len, 4);
        assert_memory_equal(v, "data", 4);
    }
    assert_int_equal(shs_store_add_get(st, "spent", "1", 1, 60, "sess", p, &v, &len, &got),
                     APR_EEXIST);
    assert_int_equal(got, APR_EINIT);
    assert_int_equal(shs_store_add_get(st, "spent2", "1", 1, 60, "none", p, &v, &len, &got),
                     APR_SUCCESS);
    assert_int_equal(got, pipelined ? APR_NOTFOUND : APR_EINIT);
}

/* A backend without add_get_within: the add alone, nothing read before the caller's checks. */
static void test_add_get_one_after_the_other(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st = make_store(fx, 2, 0, apr_time_from_msec(500), apr_time_from_sec(1));
    shs_store_stats_t stats;

    expect_add_get(st, fx->p, 0);
    shs_store_get_stats(st, &stats);
    assert_int_equal(stats.ops, 4); /* set; three adds */
}

/* With add_get_within: one exchange when both keys share a slot, the add alone when they do
 * not; a failed exchange is one failure (not two), and while the slot is skipped the call says
 * so with nothing read (the add's status was once left unset there). */
static void test_add_get_pipelined(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st;
    shs_store_stats_t stats;
    apr_status_t got = APR_SUCCESS;
    char *v = NULL;
    apr_size_t len = 0;

    fake.nslots = 2;
    fake_pipe_ops = fake_ops;
    fake_pipe_ops.add_get_within = f_add_get_within;
    st = make_store_ops(fx, &fake_pipe_ops, 2, 0, apr_time_from_msec(500), apr_time_from_sec(60));
    expect_add_get(st, fx->p, 1);
    shs_store_get_stats(st, &stats);
    assert_int_equal(stats.ops, 7); /* set; add+get, add+get (the add refused), add+get */
    /* "B..." lives on slot 1, "sess" on slot 0: the add alone */
    assert_int_equal(shs_store_add_get(st, "Bspent", "1", 1, 60, "sess", fx->p, &v, &len, &got),
                     APR_SUCCESS);
    assert_int_equal(got, APR_EINIT);
    shs_store_get_stats(st, &stats);
    assert_int_equal(stats.ops, 8);

    slot_fails(0, APR_ECONNREFUSED);
    assert_int_equal(shs_store_add_get(st, "spent3", "1", 1, 60, "sess", fx->p, &v, &len, &got),
                     APR_ECONNREFUSED);
    assert_int_equal(got, APR_EINIT);
    shs_store_get_stats(st, &stats);
    assert_int_equal(stats.ops, 9);
    assert_int_equal(stats.failures, 1);
    assert_int_equal(shs_store_breaker(st, 0), SHS_BREAKER_OPEN);
    got = APR_SUCCESS;
    assert_int_equal(shs_store_add_get(st, "spent4", "1", 1, 60, "sess", fx->p, &v, &len, &got),
                     SHS_STORE_EDOWN);
    assert_int_equal(got, APR_EINIT);
    shs_store_get_stats(st, &stats);
    assert_int_equal(stats.failures, 1);
    assert_int_equal(stats.skipped, 1);
    slot_fails(0, 0);
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
    int before;
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

    /* the stalled call completes (its worker counted and recorded it): the breaker stays open */
    gate(0);
    wait_ops(st, 2);
    assert_int_equal(shs_store_breaker(st, 0), SHS_BREAKER_OPEN);

    /* just before the retry time: still skipped */
    clock_advance(apr_time_from_msec(300) - 1);
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), SHS_STORE_EDOWN);
    assert_int_equal(calls(), before);

    /* at the retry time the probe closes it */
    clock_advance(1);
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), APR_SUCCESS);
    assert_string_equal(v, "v"); /* the skipped set did not happen */
    assert_int_equal(shs_store_breaker(st, 0), SHS_BREAKER_CLOSED);
    shs_store_get_stats(st, &stats);
    assert_int_equal(stats.timeouts, 1);
    assert_int_equal(stats.skipped, 3);
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

    clock_advance(apr_time_from_msec(50));
    /* the probe reaches the backend, fails again: open again, no second "went down" */
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), APR_ECONNREFUSED);
    assert_int_equal(calls(), before + 1);
    assert_int_equal(shs_store_breaker(st, 0), SHS_BREAKER_OPEN);

    /* a new retry interval from the failed probe */
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), SHS_STORE_EDOWN);
    assert_int_equal(calls(), before + 1);
    clock_advance(apr_time_from_msec(50));
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
    clock_advance(apr_time_from_msec(20)); /* the retry interval has passed */

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
    shs_store_t *st = make_store(fx, 1, 1, apr_time_from_sec(1), apr_time_from_sec(60));
    pthread_t t1, t2;
    req_t q1 = { st, 0 }, q2 = { st, 0 };
    int before, i;
    apr_uint64_t queued;
    apr_status_t busy;

    gate(1);
    pthread_create(&t1, NULL, do_set, &q1);
    wait_blocked(1); /* the only worker is stuck */
    pthread_create(&t2, NULL, do_set, &q2);
    /* q2 is queued (the timeout leaves a loaded machine ample time to get there before q1's
     * timeout opens the breaker, which would refuse q2 instead) */
    for (i = 0; i < 2000 && stats_of(st).queued == 0; i++) {
        usleep(1000);
    }
    /* no assertion before the threads are joined: they use q1, q2 */
    queued = stats_of(st).queued;
    /* the queue is full */
    busy = shs_store_del(st, "x");
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_int_equal(queued, 1); /* q2 */
    assert_int_equal(busy, SHS_STORE_EBUSY);
    assert_int_equal(q1.rv, APR_TIMEUP);
    /* q2 was queued before q1 timed out: it timed out in the queue, and was taken out of it */
    assert_int_equal(q2.rv, APR_TIMEUP);
    assert_int_equal(stats_of(st).queued, 0);
    before = calls();
    gate(0);
    wait_ops(st, 1); /* the stuck call returned */
    /* only the stuck call finished; the dropped one never reached the backend (the queue is
     * empty and the only worker idle: nothing can call it later) */
    assert_int_equal(calls(), before);
    assert_int_equal(stats_of(st).ops, 1);
    assert_int_equal(stats_of(st).queued, 0);
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
    int before = store_threads(), n = -1, i;

    apr_pool_create(&p, NULL);
    assert_int_equal(shs_store_create(p, &fake_ops, NULL, &opts, &st), APR_SUCCESS);
    gate(1);
    assert_int_equal(shs_store_get(st, "k", p, &v, &len), APR_TIMEUP);
    wait_blocked(1);
    apr_pool_destroy(p);
    if (before >= 0) {
        /* shut down: the idle worker is gone, the stuck one left running */
        assert_int_equal(store_threads(), before + 1);
    }
    gate(0);
    /* the stuck worker returns, frees the store and exits (under valgrind or ASan a store
     * it failed to free, or freed twice, is reported) */
    for (i = 0; before >= 0 && i < 5000; i++) {
        if ((n = store_threads()) <= before) {
            break;
        }
        usleep(1000);
    }
    if (before >= 0) {
        assert_true(n >= 0 && n <= before);
    }
    else {
        wait_unblocked();
        usleep(100 * 1000); /* no /proc: the worker's exit cannot be seen; give it time */
    }
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

/* ------------------------------------------------------------------ replicas
 *
 * The fake with 3 slots; a key's slots are slot_of's answer, then the next ones round the
 * slots, so an ordinary key lives on slots 0 and 1 with replicas 2, and slot 2 never sees it. */

static int events[4];
static pthread_mutex_t events_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_event(void *baton, shs_store_event_e ev, unsigned int slot)
{
    pthread_mutex_lock(&events_lock);
    events[ev]++;
    pthread_mutex_unlock(&events_lock);
}

static int event_count(shs_store_event_e ev)
{
    int n;

    pthread_mutex_lock(&events_lock);
    n = events[ev];
    pthread_mutex_unlock(&events_lock);
    return n;
}

static shs_store_t *make_rstore(fixture_t *fx, const shs_store_ops_t *ops, int replicas,
                                unsigned int nslots, apr_interval_time_t timeout,
                                apr_interval_time_t retry, shs_store_t **out)
{
    shs_store_opts_t opts = {
        .timeout = timeout,
        .retry = retry,
        .workers = 4,
        .notify = on_notify,
        .free_on_shutdown = 1,
        .replicas = replicas,
        .event = on_event,
    };
    shs_store_t *st;

    fake.nslots = nslots;
    memset(events, 0, sizeof(events));
    assert_int_equal(shs_store_create(fx->p, ops, NULL, &opts, &st), APR_SUCCESS);
    if (out) {
        *out = st;
    }
    return fx->st = st;
}

/* What a slot holds for a key, parsed: 0 when nothing.  *ttl: the ttl it was stored with. */
static int held(unsigned int slot, const char *key, shs_store_item_t *it, apr_int64_t *ttl)
{
    const fake_item_t *f;

    pthread_mutex_lock(&fake.lock);
    f = apr_hash_get(fake.data[slot], key, APR_HASH_KEY_STRING);
    if (f) {
        shs_store_item_parse(f->val, f->len, it);
        if (ttl) {
            *ttl = f->ttl;
        }
    }
    pthread_mutex_unlock(&fake.lock);
    return f != NULL;
}

/* The value of a slot's copy as a string: NULL when none, "<deleted>" for a tombstone,
 * "<legacy>..." for a copy without a header. */
static const char *copy_on(unsigned int slot, const char *key)
{
    shs_store_item_t it;

    if (!held(slot, key, &it, NULL)) {
        return NULL;
    }
    if (it.deleted) {
        return "<deleted>";
    }
    return apr_pstrcat(fake.pool, it.versioned ? "" : "<legacy>",
                       apr_pstrmemdup(fake.pool, it.data, it.len), NULL);
}

/* The raw bytes a slot holds for a key (NULL: none), and putting bytes there directly: a
 * server restarted from an old state, or written by someone else. */
static const fake_item_t *raw_on(unsigned int slot, const char *key)
{
    const fake_item_t *f;

    pthread_mutex_lock(&fake.lock);
    f = apr_hash_get(fake.data[slot], key, APR_HASH_KEY_STRING);
    pthread_mutex_unlock(&fake.lock);
    return f;
}

static void plant(unsigned int slot, const char *key, const char *val, apr_size_t len,
                  apr_int64_t ttl)
{
    pthread_mutex_lock(&fake.lock);
    if (val) {
        fake_store(slot, key, val, len, ttl);
    }
    else {
        apr_hash_set(fake.data[slot], key, APR_HASH_KEY_STRING, NULL);
    }
    pthread_mutex_unlock(&fake.lock);
}

static void assert_get(shs_store_t *st, apr_pool_t *p, const char *key, const char *want)
{
    char *v = NULL;
    apr_size_t len = 0;
    apr_status_t rv = shs_store_get(st, key, p, &v, &len);

    if (!want) {
        assert_int_equal(rv, APR_NOTFOUND);
        return;
    }
    assert_int_equal(rv, APR_SUCCESS);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(v, want, len);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The header: its exact bytes, what is read back, what is not a header, and which copy wins. */
static void test_item_format(void **state)
{
    char buf[64];
    shs_store_item_t a, b, t, l;
    apr_uint64_t v0, v1;
    int i;

    shs_store_item_header(buf, 0, 0x0123456789abcdefULL, 0x6a0b1c2d);
    memcpy(buf + SHS_STORE_ITEM_HDR, "k=v", 3);
    assert_memory_equal(buf, "shsr1:v:0123456789abcdef:00006a0b1c2d:k=v", SHS_STORE_ITEM_HDR + 3);
    shs_store_item_parse(buf, SHS_STORE_ITEM_HDR + 3, &a);
    assert_true(a.versioned);
    assert_false(a.deleted);
    assert_true(a.version == 0x0123456789abcdefULL);
    assert_true(a.expires == 0x6a0b1c2d);
    assert_int_equal(a.len, 3);
    assert_memory_equal(a.data, "k=v", 3);

    shs_store_item_header(buf, 1, 5, 0);
    assert_memory_equal(buf, "shsr1:d:0000000000000005:000000000000:", SHS_STORE_ITEM_HDR);
    shs_store_item_parse(buf, SHS_STORE_ITEM_HDR, &t);
    assert_true(t.versioned && t.deleted && t.version == 5 && t.expires == 0 && t.len == 0);

    /* not a header: the whole is a value of version 0 (written without replicas) */
    {
        static const char *const not_hdr[] = {
            "k=v",
            "shs1:m:001:abc",                         /* a sealed value */
            "shsr1:v:0123456789abcdef:00006a0b1c2d",  /* one byte short */
            "shsr1:x:0123456789abcdef:00006a0b1c2d:", /* kind */
            "shsr1:v:0123456789ABCDEF:00006a0b1c2d:", /* upper case */
            "shsr1:v:0123456789abcdef-00006a0b1c2d:", /* separator */
            "shsr1:v:0123456789abcdef:00006a0b1c2d;", /* separator */
            "shsr2:v:0123456789abcdef:00006a0b1c2d:", /* another format */
        };
        for (i = 0; i < (int)(sizeof(not_hdr) / sizeof(*not_hdr)); i++) {
            shs_store_item_parse(not_hdr[i], strlen(not_hdr[i]), &l);
            assert_false(l.versioned);
            assert_true(l.version == 0);
            assert_ptr_equal(l.data, not_hdr[i]);
            assert_int_equal(l.len, strlen(not_hdr[i]));
        }
    }

    /* the higher version wins; the same version does not; a tombstone wins over any value;
     * any versioned value over one written without replicas */
    a = (shs_store_item_t){ .versioned = 1, .version = 2 };
    b = (shs_store_item_t){ .versioned = 1, .version = 1 };
    assert_true(shs_store_item_newer(&a, &b));
    assert_false(shs_store_item_newer(&b, &a));
    assert_false(shs_store_item_newer(&a, &a));
    t = (shs_store_item_t){ .versioned = 1, .deleted = 1, .version = 1 };
    a.version = 0xffffffffffffffffULL;
    assert_true(shs_store_item_newer(&t, &a));
    assert_false(shs_store_item_newer(&a, &t));
    l = (shs_store_item_t){ 0 };
    assert_true(shs_store_item_newer(&b, &l));
    assert_false(shs_store_item_newer(&l, &b));

    /* versions: the clock in microseconds above 12 bits, increasing */
    v0 = shs_store_version_next();
    assert_true((v0 >> 12) >= (apr_uint64_t)apr_time_now() - apr_time_from_sec(1));
    assert_true((v0 >> 12) <= (apr_uint64_t)apr_time_now());
    for (i = 0; i < 100000; i++) {
        v1 = shs_store_version_next();
        assert_true(v1 > v0);
        v0 = v1;
    }
}

/* Replicas 0 and 1: one copy, stored byte for byte as given; a header found there (written
 * with replicas) is removed on reading, a tombstone reads as a miss.  More replicas than
 * slots, or a backend without slots_of, keep what they can. */
static void test_replicas_one_is_unchanged(void **state)
{
    fixture_t *fx = *state;
    shs_store_ops_t noorder = fake_ops;
    shs_store_t *st;
    char hdr[SHS_STORE_ITEM_HDR + 8];
    int r;

    for (r = 0; r <= 1; r++) {
        const fake_item_t *f;
        make_rstore(fx, &fake_ops, r, 3, apr_time_from_msec(500), apr_time_from_sec(1), &st);
        assert_int_equal(shs_store_replicas(st), 1);
        assert_int_equal(shs_store_set(st, "k", "v1", 2, 60), APR_SUCCESS);
        f = raw_on(0, "k");
        assert_non_null(f);
        assert_int_equal(f->len, 2);
        assert_memory_equal(f->val, "v1", 2);
        assert_null(raw_on(1, "k"));
        assert_int_equal(shs_store_add(st, "n", "x", 1, 60), APR_SUCCESS);
        assert_int_equal(raw_on(0, "n")->len, 1);
        assert_null(raw_on(1, "n"));

        shs_store_item_header(hdr, 0, 7, 0);
        memcpy(hdr + SHS_STORE_ITEM_HDR, "v2", 2);
        plant(0, "k", hdr, SHS_STORE_ITEM_HDR + 2, 60);
        assert_get(st, fx->p, "k", "v2");
        shs_store_item_header(hdr, 1, 8, 0);
        plant(0, "k", hdr, SHS_STORE_ITEM_HDR, 60);
        assert_get(st, fx->p, "k", NULL);
        assert_int_equal(shs_store_del(st, "k"), APR_SUCCESS);
        assert_int_equal(shs_store_del(st, "k"), APR_NOTFOUND);
        plant(0, "n", NULL, 0, 0);
    }
    make_rstore(fx, &fake_ops, 3, 2, apr_time_from_msec(500), apr_time_from_sec(1), &st);
    assert_int_equal(shs_store_replicas(st), 2);
    make_rstore(fx, &fake_ops, 9, 4, apr_time_from_msec(500), apr_time_from_sec(1), &st);
    assert_int_equal(shs_store_replicas(st), SHS_STORE_MAX_REPLICAS);
    noorder.slots_of = NULL;
    make_rstore(fx, &noorder, 2, 3, apr_time_from_msec(500), apr_time_from_sec(1), &st);
    assert_int_equal(shs_store_replicas(st), 1);
}

/* Replicas 2: set writes the first two slots, each copy with its header, the same version
 * and the ttl given; get reads it back; del leaves tombstones; a key that is nowhere is not
 * remembered as deleted. */
static void test_replicas_write_read_delete(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st;
    shs_store_item_t a, b;
    apr_int64_t ttl_a = 0, ttl_b = 0;
    apr_uint64_t version;
    int before;

    make_rstore(fx, &fake_ops, 2, 3, apr_time_from_msec(500), apr_time_from_sec(1), &st);
    assert_int_equal(shs_store_replicas(st), 2);
    assert_get(st, fx->p, "k", NULL);
    assert_int_equal(shs_store_set(st, "k", "v1", 2, 600), APR_SUCCESS);
    assert_true(held(0, "k", &a, &ttl_a));
    assert_true(held(1, "k", &b, &ttl_b));
    assert_false(held(2, "k", &b, NULL));
    held(1, "k", &b, NULL);
    assert_true(a.versioned && !a.deleted && a.version == b.version);
    assert_int_equal(ttl_a, 600);
    assert_int_equal(ttl_b, 600);
    assert_true(a.expires >= apr_time_sec(apr_time_now()) + 599);
    assert_true(a.expires <= apr_time_sec(apr_time_now()) + 600);
    assert_string_equal(copy_on(0, "k"), "v1");
    assert_get(st, fx->p, "k", "v1");
    assert_int_equal(event_count(SHS_STORE_EV_FALLBACK), 0);
    assert_int_equal(event_count(SHS_STORE_EV_STALE), 0);

    /* a second key whose first slot is 1 lives on 1 and 2 */
    assert_int_equal(shs_store_set(st, "Bk", "b", 1, 60), APR_SUCCESS);
    assert_null(copy_on(0, "Bk"));
    assert_string_equal(copy_on(1, "Bk"), "b");
    assert_string_equal(copy_on(2, "Bk"), "b");

    assert_int_equal(shs_store_set(st, "k", "v2", 2, 600), APR_SUCCESS);
    version = a.version;
    held(0, "k", &a, NULL);
    assert_true(a.version > version);
    assert_get(st, fx->p, "k", "v2");

    assert_int_equal(shs_store_del(st, "k"), APR_SUCCESS);
    assert_string_equal(copy_on(0, "k"), "<deleted>");
    assert_string_equal(copy_on(1, "k"), "<deleted>");
    held(0, "k", &b, NULL);
    assert_true(b.version > a.version);
    assert_get(st, fx->p, "k", NULL);
    assert_int_equal(event_count(SHS_STORE_EV_TOMBSTONE), 2);
    /* deleted already everywhere: reported as not found, nothing written */
    before = calls();
    assert_int_equal(shs_store_del(st, "k"), APR_NOTFOUND);
    assert_int_equal(calls(), before + 2); /* the two reads */
    assert_int_equal(shs_store_del(st, "never"), APR_NOTFOUND);
    assert_null(copy_on(0, "never"));
    assert_null(copy_on(1, "never"));
}

/* The first slot fails, or comes back empty: the read falls back to the second copy, and
 * the empty one gets its copy back (the same bytes, for what remains of the lifetime).  A
 * failed slot is skipped at once until the retry interval has passed. */
static void test_replicas_fallback_and_repair(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st;
    shs_store_stats_t stats;
    apr_int64_t ttl = 0;
    double t0;
    int before;

    make_rstore(fx, &fake_ops, 2, 3, apr_time_from_msec(500), apr_time_from_sec(60), &st);
    assert_int_equal(shs_store_set(st, "k", "v1", 2, 600), APR_SUCCESS);

    /* restarted empty */
    plant(0, "k", NULL, 0, 0);
    assert_get(st, fx->p, "k", "v1");
    assert_int_equal(event_count(SHS_STORE_EV_FALLBACK), 1);
    assert_int_equal(event_count(SHS_STORE_EV_STALE), 1);
    assert_int_equal(event_count(SHS_STORE_EV_REPAIR), 1);
    assert_non_null(raw_on(0, "k"));
    assert_int_equal(raw_on(0, "k")->len, raw_on(1, "k")->len);
    assert_memory_equal(raw_on(0, "k")->val, raw_on(1, "k")->val, raw_on(1, "k")->len);
    held(0, "k", &(shs_store_item_t){ 0 }, &ttl);
    assert_true(ttl >= 598 && ttl <= 600);
    /* repaired: the next read finds both copies equal */
    assert_get(st, fx->p, "k", "v1");
    assert_int_equal(event_count(SHS_STORE_EV_STALE), 1);

    /* the first slot down */
    slot_fails(0, APR_ECONNREFUSED);
    assert_get(st, fx->p, "k", "v1");
    assert_int_equal(shs_store_breaker(st, 0), SHS_BREAKER_OPEN);
    assert_int_equal(shs_store_breaker(st, 1), SHS_BREAKER_CLOSED);
    before = slot_calls(0);
    t0 = now_s();
    assert_get(st, fx->p, "k", "v1");
    assert_int_equal(shs_store_set(st, "k", "v2", 2, 600), APR_SUCCESS);
    assert_get(st, fx->p, "k", "v2");
    assert_true(now_s() - t0 < 0.5);
    assert_int_equal(slot_calls(0), before);    /* skipped, not asked */
    assert_string_equal(copy_on(0, "k"), "v1"); /* it missed the write */
    shs_store_get_stats(st, &stats);
    assert_true(stats.fallbacks >= 3);
    assert_true(stats.skipped >= 3);
}

/* A slot that comes back with an old state (restarted from old data, or one that missed
 * writes) never wins over a newer copy, whichever slot it is; it is brought up to date. */
static void test_stale_replica_never_wins(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st;
    char *old0, *old1;
    apr_size_t len0, len1;
    int i;

    make_rstore(fx, &fake_ops, 2, 3, apr_time_from_msec(500), 0, &st);
    for (i = 0; i < 2; i++) {
        const char *key = i ? "k1" : "k0";
        /* slot i restarted from a state saved before the last write */
        assert_int_equal(shs_store_set(st, key, "old", 3, 600), APR_SUCCESS);
        old0 = apr_pstrmemdup(fx->p, raw_on((unsigned int)i, key)->val,
                              raw_on((unsigned int)i, key)->len);
        len0 = raw_on((unsigned int)i, key)->len;
        assert_int_equal(shs_store_set(st, key, "new", 3, 600), APR_SUCCESS);
        plant((unsigned int)i, key, old0, len0, 600);
        assert_get(st, fx->p, key, "new");
        assert_string_equal(copy_on((unsigned int)i, key), "new"); /* repaired (set) */
        assert_get(st, fx->p, key, "new");
    }

    /* slot 1 missed writes while it failed; back with what it had */
    slot_fails(1, APR_ECONNREFUSED);
    assert_int_equal(shs_store_set(st, "k0", "newer", 5, 600), APR_SUCCESS);
    assert_int_equal(shs_store_set(st, "k0", "newest", 6, 600), APR_SUCCESS);
    slot_fails(1, 0);
    assert_string_equal(copy_on(1, "k0"), "new");
    assert_get(st, fx->p, "k0", "newest");
    assert_string_equal(copy_on(1, "k0"), "newest");

    /* both orders of the same two copies give the same answer */
    assert_int_equal(shs_store_set(st, "k2", "a", 1, 600), APR_SUCCESS);
    old0 = apr_pstrmemdup(fx->p, raw_on(0, "k2")->val, raw_on(0, "k2")->len);
    len0 = raw_on(0, "k2")->len;
    assert_int_equal(shs_store_set(st, "k2", "b", 1, 600), APR_SUCCESS);
    old1 = apr_pstrmemdup(fx->p, raw_on(1, "k2")->val, raw_on(1, "k2")->len);
    len1 = raw_on(1, "k2")->len;
    plant(0, "k2", old1, len1, 600);
    plant(1, "k2", old0, len0, 600);
    assert_get(st, fx->p, "k2", "b");
    assert_string_equal(copy_on(1, "k2"), "b");

    /* a copy written without replicas (no version) loses to any versioned one, and is
     * not copied anywhere itself (its lifetime is unknown) */
    plant(0, "k3", "legacy", 6, 600);
    assert_get(st, fx->p, "k3", "legacy");
    assert_null(copy_on(1, "k3"));
    assert_int_equal(shs_store_set(st, "k3", "mine", 4, 600), APR_SUCCESS);
    plant(1, "k3", "legacy", 6, 600);
    assert_get(st, fx->p, "k3", "mine");
    assert_string_equal(copy_on(1, "k3"), "mine");
}

/* Logout while a replica was cut off: that replica comes back with the session; the
 * tombstone wins over it, whatever its version, and is copied over it.  The tombstone lives
 * at least as long as the session would have. */
static void test_tombstone_keeps_delete_global(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st, *fresh;
    shs_store_item_t t;
    apr_int64_t ttl = 0;
    char hdr[SHS_STORE_ITEM_HDR + 8];

    make_rstore(fx, &fake_ops, 2, 3, apr_time_from_msec(500), 0, &st);
    assert_int_equal(shs_store_set(st, "k", "session", 7, 7200), APR_SUCCESS);
    slot_fails(1, APR_ECONNREFUSED);
    assert_int_equal(shs_store_del(st, "k"), APR_SUCCESS);
    assert_string_equal(copy_on(0, "k"), "<deleted>");
    held(0, "k", &t, &ttl);
    assert_true(ttl >= 7200);
    assert_true(t.expires >= apr_time_sec(apr_time_now()) + 7199);
    slot_fails(1, 0);
    assert_string_equal(copy_on(1, "k"), "session"); /* it was cut off */
    assert_get(st, fx->p, "k", NULL);
    assert_string_equal(copy_on(1, "k"), "<deleted>"); /* repaired with the tombstone */
    assert_get(st, fx->p, "k", NULL);

    /* a write that reaches only the other replica after the delete (a request that loaded
     * the session before the logout) does not bring it back either */
    slot_fails(0, APR_ECONNREFUSED);
    assert_int_equal(shs_store_set(st, "k", "late", 4, 7200), APR_SUCCESS);
    slot_fails(0, 0);
    assert_string_equal(copy_on(1, "k"), "late");
    assert_get(st, fx->p, "k", NULL);
    assert_string_equal(copy_on(1, "k"), "<deleted>");

    /* the first slot deleted-from, the second cut off: same */
    assert_int_equal(shs_store_set(st, "k2", "s2", 2, 300), APR_SUCCESS);
    slot_fails(0, APR_ECONNREFUSED);
    assert_int_equal(shs_store_del(st, "k2"), APR_SUCCESS);
    slot_fails(0, 0);
    assert_string_equal(copy_on(0, "k2"), "s2");
    assert_get(st, fx->p, "k2", NULL);
    assert_string_equal(copy_on(0, "k2"), "<deleted>");
    held(1, "k2", &t, &ttl);
    assert_true(ttl >= 7200); /* the longest lifetime this store gave */

    /* a store that has written nothing (a new process): the lifetime of the copies it reads,
     * and at least SHS_STORE_TOMBSTONE_TTL */
    assert_int_equal(shs_store_create(fx->p, &fake_ops, NULL,
                                      &(shs_store_opts_t){ .timeout = apr_time_from_msec(500),
                                                           .workers = 2,
                                                           .replicas = 2,
                                                           .free_on_shutdown = 1 },
                                      &fresh),
                     APR_SUCCESS);
    assert_int_equal(shs_store_set(st, "long", "x", 1, 100000), APR_SUCCESS);
    assert_int_equal(shs_store_del(fresh, "long"), APR_SUCCESS);
    held(0, "long", &t, &ttl);
    assert_true(ttl >= 99998 && ttl <= 100000);
    plant(0, "legacy", "x", 1, 60);
    assert_int_equal(shs_store_del(fresh, "legacy"), APR_SUCCESS);
    held(0, "legacy", &t, &ttl);
    assert_int_equal(ttl, SHS_STORE_TOMBSTONE_TTL);
    assert_string_equal(copy_on(1, "legacy"), "<deleted>");
    /* a copy without a limit: a tombstone without one */
    shs_store_item_header(hdr, 0, 1, 0);
    plant(1, "forever", hdr, SHS_STORE_ITEM_HDR, 0);
    assert_int_equal(shs_store_del(fresh, "forever"), APR_SUCCESS);
    held(0, "forever", &t, &ttl);
    assert_int_equal(ttl, 0);
    assert_true(t.deleted && t.expires == 0 && t.version > 1);
}

typedef struct add_race_t {
    shs_store_t *st;
    pthread_barrier_t *go;
    const char *key;
    apr_status_t rv;
} add_race_t;

static void *do_add(void *arg)
{
    add_race_t *q = arg;

    pthread_barrier_wait(q->go);
    q->rv = shs_store_add(q->st, q->key, "1", 1, 60);
    return NULL;
}

#define RACERS 6

/* add, as the single use of tokens needs it: the first slot that answers decides, the
 * others get the mark too; a slot that lost the mark (restarted empty) or missed it (down)
 * is outvoted by the other; concurrent adds of one key: exactly one wins.  A partition that
 * cuts the two slots apart lets each side add once (documented). */
static void test_add_across_replicas(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st;
    int before, i, round;

    make_rstore(fx, &fake_ops, 2, 3, apr_time_from_msec(500), 0, &st);
    assert_int_equal(shs_store_add(st, "t1", "1", 1, 60), APR_SUCCESS);
    assert_string_equal(copy_on(0, "t1"), "1");
    assert_string_equal(copy_on(1, "t1"), "1");
    before = slot_calls(1);
    assert_int_equal(shs_store_add(st, "t1", "1", 1, 60), APR_EEXIST);
    assert_int_equal(slot_calls(1), before + 1); /* decided by the first slot, then the
                                                  * second only read (nothing to repair) */

    /* the first slot restarted empty: the second still knows */
    plant(0, "t1", NULL, 0, 0);
    assert_int_equal(shs_store_add(st, "t1", "1", 1, 60), APR_EEXIST);
    assert_string_equal(copy_on(0, "t1"), "1");

    /* the two restarted one after the other: the second lost the mark while the first
     * decided; the refused add copies it back, so losing the first later forgets nothing */
    plant(1, "t1", NULL, 0, 0);
    assert_int_equal(shs_store_add(st, "t1", "1", 1, 60), APR_EEXIST);
    assert_string_equal(copy_on(1, "t1"), "1");
    assert_int_equal(raw_on(1, "t1")->len, raw_on(0, "t1")->len);
    assert_memory_equal(raw_on(1, "t1")->val, raw_on(0, "t1")->val, raw_on(0, "t1")->len);
    plant(0, "t1", NULL, 0, 0);
    assert_int_equal(shs_store_add(st, "t1", "1", 1, 60), APR_EEXIST);

    /* the first slot down: the second decides; back (without the mark), it is outvoted */
    slot_fails(0, APR_ECONNREFUSED);
    assert_int_equal(shs_store_add(st, "t2", "1", 1, 60), APR_SUCCESS);
    assert_int_equal(shs_store_add(st, "t2", "1", 1, 60), APR_EEXIST);
    slot_fails(0, 0);
    assert_null(copy_on(0, "t2"));
    assert_int_equal(shs_store_add(st, "t2", "1", 1, 60), APR_EEXIST);

    /* the second slot down: decided and stored on the first */
    slot_fails(1, APR_ECONNREFUSED);
    assert_int_equal(shs_store_add(st, "t3", "1", 1, 60), APR_SUCCESS);
    slot_fails(1, 0);
    assert_int_equal(shs_store_add(st, "t3", "1", 1, 60), APR_EEXIST);

    /* a partition: one side reaches only slot 0, the other only slot 1: one add each */
    slot_fails(1, APR_ECONNREFUSED);
    assert_int_equal(shs_store_add(st, "t4", "1", 1, 60), APR_SUCCESS);
    slot_fails(1, 0);
    slot_fails(0, APR_ECONNREFUSED);
    assert_int_equal(shs_store_add(st, "t4", "1", 1, 60), APR_SUCCESS);
    slot_fails(0, 0);
    /* healed: both slots have it, no more adds */
    assert_int_equal(shs_store_add(st, "t4", "1", 1, 60), APR_EEXIST);

    /* every slot down: the first slot's failure */
    slot_fails(0, APR_ECONNREFUSED);
    slot_fails(1, APR_ETIMEDOUT);
    assert_int_equal(shs_store_add(st, "t5", "1", 1, 60), APR_ECONNREFUSED);
    slot_fails(0, 0);
    slot_fails(1, 0);

    /* concurrent adds of one key: exactly one succeeds, every time (a new store: with a
     * retry interval of 0 the breakers above are still probing, and an add that finds its
     * slot probing goes on to the next slot) */
    make_rstore(fx, &fake_ops, 2, 3, apr_time_from_msec(500), apr_time_from_sec(60), &st);
    for (round = 0; round < 40; round++) {
        pthread_t t[RACERS];
        add_race_t q[RACERS];
        pthread_barrier_t go;
        const char *key = apr_psprintf(fx->p, "race-%d", round);
        int wins = 0, exists = 0;

        pthread_barrier_init(&go, NULL, RACERS);
        for (i = 0; i < RACERS; i++) {
            q[i] = (add_race_t){ st, &go, key, -1 };
            assert_int_equal(pthread_create(&t[i], NULL, do_add, &q[i]), 0);
        }
        for (i = 0; i < RACERS; i++) {
            pthread_join(t[i], NULL);
            wins += q[i].rv == APR_SUCCESS;
            exists += q[i].rv == APR_EEXIST;
        }
        pthread_barrier_destroy(&go);
        for (i = 0; i < RACERS; i++) {
            if (q[i].rv != APR_SUCCESS && q[i].rv != APR_EEXIST) {
                fail_msg("round %d, racer %d: status %d", round, i, q[i].rv);
            }
        }
        assert_int_equal(wins, 1);
        assert_int_equal(exists, RACERS - 1);
    }
}

/* A stalled replica (first or second) costs one timeout, then is skipped; reads, writes,
 * adds and deletes go on with the other copy. */
static void test_replicas_stall_bounded(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st;
    /* generous: a loaded machine; a hang would last until the stall ends */
    const double timeout = 0.1, slack = 0.5;
    double t0, dt;
    unsigned int slot;
    int before;

    for (slot = 0; slot < 2; slot++) {
        make_rstore(fx, &fake_ops, 2, 3, apr_time_from_msec(100), apr_time_from_sec(60), &st);
        assert_int_equal(shs_store_set(st, "k", "v1", 2, 600), APR_SUCCESS);
        stall(slot, 1);
        t0 = now_s();
        assert_get(st, fx->p, "k", "v1");
        dt = now_s() - t0;
        assert_true(dt >= timeout - 0.005);
        assert_true(dt < timeout + slack);
        wait_blocked(1);
        assert_int_equal(shs_store_breaker(st, slot), SHS_BREAKER_OPEN);
        before = slot_calls(slot);
        t0 = now_s();
        assert_get(st, fx->p, "k", "v1");
        assert_int_equal(shs_store_set(st, "k", "v2", 2, 600), APR_SUCCESS);
        assert_get(st, fx->p, "k", "v2");
        assert_int_equal(shs_store_add(st, "t", "1", 1, 60), APR_SUCCESS);
        assert_int_equal(shs_store_add(st, "t", "1", 1, 60), APR_EEXIST);
        assert_int_equal(shs_store_del(st, "k"), APR_SUCCESS);
        assert_get(st, fx->p, "k", NULL);
        dt = now_s() - t0;
        assert_true(dt < slack);
        assert_int_equal(slot_calls(slot), before); /* skipped at once */
        stall(slot, 0);
        /* the stalled call has left fake.data before it is cleared under it */
        wait_unblocked();
        apr_pool_clear(fake.pool);
        fake.data[0] = apr_hash_make(fake.pool);
        fake.data[1] = apr_hash_make(fake.pool);
        fake.data[2] = apr_hash_make(fake.pool);
        fake.data[3] = apr_hash_make(fake.pool);
    }
}

#define READERS 16

/* A stalled replica holds at most its share of the workers: many reads at once while it is
 * stalled all get their answer from the other copy within the timeout, and the healthy slots'
 * breakers stay closed.  (Without the cap the stuck calls took every worker in turn, and the
 * healthy slots' jobs timed out in the queue: their breakers opened too.) */
static void test_stalled_replica_keeps_its_workers(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st;
    pthread_t t[READERS];
    get_req_t q[READERS];
    double t0, dt;
    int i, round;

    make_rstore(fx, &fake_ops, 2, 3, apr_time_from_msec(200), apr_time_from_sec(60), &st);
    assert_int_equal(shs_store_set(st, "k", "v", 1, 600), APR_SUCCESS);
    assert_int_equal(shs_store_set(st, "Bk", "b", 1, 600), APR_SUCCESS);
    stall(0, 1);
    for (round = 0; round < 2; round++) {
        t0 = now_s();
        for (i = 0; i < READERS; i++) {
            /* first every reader on the stalled slot (more than the workers), then on
             * the healthy ones */
            q[i] = (get_req_t){ st, NULL, round ? "Bk" : "k", -1 };
            apr_pool_create(&q[i].p, fx->p);
            assert_int_equal(pthread_create(&t[i], NULL, do_get, &q[i]), 0);
        }
        for (i = 0; i < READERS; i++) { /* no assertion before every thread is joined */
            pthread_join(t[i], NULL);
        }
        dt = now_s() - t0;
        for (i = 0; i < READERS; i++) {
            assert_int_equal(q[i].rv, APR_SUCCESS);
        }
        assert_true(dt < 0.2 + 0.5);
        assert_int_equal(shs_store_breaker(st, 0), SHS_BREAKER_OPEN);
        assert_int_equal(shs_store_breaker(st, 1), SHS_BREAKER_CLOSED);
        assert_int_equal(shs_store_breaker(st, 2), SHS_BREAKER_CLOSED);
    }
    stall(0, 0);
}

/* Nothing answers: the first slot's failure (the session is kept, not taken for unknown).
 * One slot answers "miss" and the other fails: not found (one fault at a time). */
static void test_replicas_all_down(void **state)
{
    fixture_t *fx = *state;
    shs_store_t *st;
    char *v;
    apr_size_t len;

    make_rstore(fx, &fake_ops, 2, 3, apr_time_from_msec(500), 0, &st);
    assert_int_equal(shs_store_set(st, "k", "v1", 2, 600), APR_SUCCESS);
    slot_fails(0, APR_ECONNREFUSED);
    slot_fails(1, APR_ECONNRESET);
    assert_int_equal(shs_store_get(st, "k", fx->p, &v, &len), APR_ECONNREFUSED);
    assert_int_equal(shs_store_set(st, "k", "v2", 2, 600), APR_ECONNREFUSED);
    assert_int_equal(shs_store_del(st, "k"), APR_ECONNREFUSED);
    slot_fails(0, 0);
    assert_int_equal(shs_store_get(st, "unknown", fx->p, &v, &len), APR_NOTFOUND);
    assert_get(st, fx->p, "k", "v1");
    slot_fails(1, 0);
    assert_get(st, fx->p, "k", "v1");
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

/* Over memcached, shs_store_add_get goes in one round trip (shs_mcget_add_get): the same
 * answers as one after the other, every get run (7 operations counted), the spent mark in
 * memcached. */
static void test_mc_add_get(void **state)
{
    fixture_t *fx = *state;
    shs_store_opts_t opts = { .timeout = apr_time_from_sec(2),
                              .retry = apr_time_from_sec(1),
                              .workers = 2,
                              .free_on_shutdown = 1 };
    const shs_store_ops_t *ops;
    shs_store_t *st;
    shs_store_stats_t stats;
    void *ctx;
    char *v = NULL;
    apr_size_t len = 0;

    mcd_require();
    mcd_start();
    mc_backend(fx, &ops, &ctx);
    assert_non_null(ops->add_get_within);
    assert_int_equal(shs_store_create(fx->p, ops, ctx, &opts, &st), APR_SUCCESS);
    expect_add_get(st, fx->p, 1);
    shs_store_get_stats(st, &stats);
    assert_int_equal(stats.ops, 7); /* set; add+get three times */
    assert_int_equal(stats.failures, 0);
    assert_mc_value(ops, ctx, fx->p, "spent", "1");
    /* the quiet set: sent on the connection the next question from this thread takes */
    assert_non_null(ops->set_quiet_within);
    assert_int_equal(shs_store_set_quiet(st, "conf", "123", 3, 60), APR_SUCCESS);
    assert_int_equal(shs_store_get(st, "conf", fx->p, &v, &len), APR_SUCCESS);
    assert_int_equal(len, 3);
    assert_memory_equal(v, "123", 3);
    shs_store_get_stats(st, &stats);
    assert_int_equal(stats.ops, 9);
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
        cmocka_unit_test_setup_teardown(test_add_get_one_after_the_other, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_add_get_pipelined, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_timeout_then_breaker, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_breaker_probe, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_late_requester_probe_closes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_slots_independent, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_queue_limit_and_drop, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_args, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_with_stuck_worker, fx_setup, fx_teardown),
        cmocka_unit_test(test_item_format),
        cmocka_unit_test_setup_teardown(test_replicas_one_is_unchanged, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_replicas_write_read_delete, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_replicas_fallback_and_repair, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_stale_replica_never_wins, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tombstone_keeps_delete_global, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_add_across_replicas, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_replicas_stall_bounded, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_stalled_replica_keeps_its_workers, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_replicas_all_down, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_mc_stale_connections_after_restart, mc_setup,
                                        mc_teardown),
        cmocka_unit_test_setup_teardown(test_mc_server_error_bounded, mc_setup, mc_teardown),
        cmocka_unit_test_setup_teardown(test_mc_add_get, mc_setup, mc_teardown),
    };
    int rc;

    apr_initialize();
    /* as in httpd: a write to a connection memcached has closed fails with EPIPE instead */
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&fake.lock, NULL);
    pthread_cond_init(&fake.gate_cv, NULL);
    shs_store_test_clock(fake_clock);
    rc = cmocka_run_group_tests_name("shs_store", tests, NULL, NULL);
    apr_terminate();
    return rc;
}
