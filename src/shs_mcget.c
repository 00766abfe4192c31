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

/* A bounded memcached `get` on the requester's thread (see shs_mcget.h).
 *
 * POSIX sockets and poll() rather than apr_socket_t: a connection outlives any request pool
 * and moves between threads, and APR sockets are tied to a pool that is not thread-safe.  The
 * idle list is guarded by a pthread mutex for the same reason as shs_store.c's lock: it is
 * taken on request threads of a pool-less object that lives as long as the process. */

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <stdio.h>

#include <apr_strings.h>

#include "shs_mcget.h"

#define HEADER_MAX 320 /* "VALUE " + a 250-byte key + flags, length, cas */
#define BUF_START 4096 /* a session fits; longer values grow the buffer */

typedef struct conn_t {
    struct conn_t *next;
    int fd;
    apr_interval_time_t rcvtimeo; /* its SO_RCVTIMEO, 0 until set */
    int owes; /* a noreply command and `version` were sent: VERSION must come back first */
} conn_t;

struct shs_mcget_t {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    pthread_mutex_t lock;
    conn_t *idle; /* LIFO: the warmest connection first */
    int open;     /* connections open, idle or in use */
    int max_conns;
};

/* ------------------------------------------------------------------ the answer */

/* Digits only, no sign, at most 10 of them; *out <= limit. */
static int parse_uint(const char *s, apr_size_t n, apr_uint64_t limit, apr_uint64_t *out)
{
    apr_uint64_t v = 0;
    apr_size_t i;

    if (n == 0 || n > 10) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        v = v * 10 + (apr_uint64_t)(s[i] - '0');
    }
    if (v > limit) {
        return 0;
    }
    *out = v;
    return 1;
}

apr_status_t shs_mcget_parse(const char *buf, apr_size_t n, const char *key, const char **val,
                             apr_size_t *vlen, apr_size_t *used, apr_size_t *need)
{
    const char *eol, *p, *sp, *end;
    apr_size_t klen = strlen(key), hdr;
    apr_uint64_t flags, bytes;

    *need = 0;
    eol = memchr(buf, '\n', n < HEADER_MAX ? n : HEADER_MAX);
    if (!eol) {
        return n < HEADER_MAX ? APR_INCOMPLETE : APR_EGENERAL;
    }
    if (eol == buf || eol[-1] != '\r') {
        return APR_EGENERAL;
    }
    end = eol - 1; /* the '\r' */
    hdr = (apr_size_t)(eol - buf) + 1;
    if (end - buf == 3 && !memcmp(buf, "END", 3)) {
        *used = hdr;
        return APR_NOTFOUND;
    }
    /* VALUE <key> <flags> <bytes>[ <cas>] */
    if (end - buf < 6 || memcmp(buf, "VALUE ", 6)) {
        return APR_EGENERAL;
    }
    p = buf + 6;
    if ((apr_size_t)(end - p) <= klen || memcmp(p, key, klen) || p[klen] != ' ') {
        return APR_EGENERAL;
    }
    p += klen + 1;
    sp = memchr(p, ' ', (apr_size_t)(end - p));
    if (!sp || !parse_uint(p, (apr_size_t)(sp - p), 0xffffffffu, &flags)) {
        return APR_EGENERAL;
    }
    p = sp + 1;
    sp = memchr(p, ' ', (apr_size_t)(end - p));
    if (!parse_uint(p, (apr_size_t)((sp ? sp : end) - p), SHS_MCGET_VALUE_MAX, &bytes)) {
        return APR_EGENERAL;
    }
    if (sp && !parse_uint(sp + 1, (apr_size_t)(end - sp - 1), 0xffffffffffULL, &flags)) {
        return APR_EGENERAL; /* a cas field that is not a number */
    }
    *need = hdr + (apr_size_t)bytes + 2 + 5; /* data, "\r\n", "END\r\n" */
    if (n < *need) {
        return APR_INCOMPLETE;
    }
    p = buf + hdr;
    if (memcmp(p + bytes, "\r\nEND\r\n", 7)) {
        return APR_EGENERAL;
    }
    *val = p;
    *vlen = (apr_size_t)bytes;
    *used = *need;
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ connections */

static void conn_close(shs_mcget_t *g, conn_t *c)
{
    close(c->fd);
    free(c);
    pthread_mutex_lock(&g->lock);
    g->open--;
    pthread_mutex_unlock(&g->lock);
}

static void conn_release(shs_mcget_t *g, conn_t *c)
{
    pthread_mutex_lock(&g->lock);
    c->next = g->idle;
    g->idle = c;
    pthread_mutex_unlock(&g->lock);
}

/* Milliseconds left until the deadline, for poll(); 0 when past it. */
static int ms_left(apr_time_t deadline)
{
    apr_time_t left = deadline - apr_time_now();

    if (left <= 0) {
        return 0;
    }
    return left > apr_time_from_sec(3600) ? 3600000 : (int)((left + 999) / 1000);
}

/* Wait for events on fd until the deadline: APR_SUCCESS, APR_TIMEUP, or the error. */
static apr_status_t wait_fd(int fd, short events, apr_time_t deadline)
{
    struct pollfd pfd = { .fd = fd, .events = events };
    int rc, ms;

    for (;;) {
        ms = ms_left(deadline);
        if (ms == 0) {
            return APR_TIMEUP;
        }
        rc = poll(&pfd, 1, ms);
        if (rc > 0) {
            return APR_SUCCESS; /* readable, writable, or an error the next call reports */
        }
        if (rc == 0) {
            continue; /* rounding: check the clock again */
        }
        if (errno != EINTR) {
            return APR_FROM_OS_ERROR(errno);
        }
    }
}

/* A new connection, or APR_EAGAIN when max_conns are open already. */
static apr_status_t conn_open(shs_mcget_t *g, apr_time_t deadline, conn_t **out)
{
    conn_t *c;
    int fd, one = 1, err = 0;
    socklen_t elen = sizeof(err);
    apr_status_t rv;

    pthread_mutex_lock(&g->lock);
    if (g->open >= g->max_conns) {
        pthread_mutex_unlock(&g->lock);
        return APR_EAGAIN;
    }
    g->open++;
    pthread_mutex_unlock(&g->lock);

    c = malloc(sizeof(*c));
    fd = socket(g->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (!c || fd < 0) {
        rv = c ? APR_FROM_OS_ERROR(errno) : APR_ENOMEM;
        goto fail;
    }
    if (g->addr.ss_family != AF_UNIX) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (connect(fd, (struct sockaddr *)&g->addr, g->addrlen) != 0) {
        if (errno != EINPROGRESS) {
            rv = APR_FROM_OS_ERROR(errno);
            goto fail;
        }
        if ((rv = wait_fd(fd, POLLOUT, deadline)) != APR_SUCCESS) {
            goto fail;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err) {
            rv = APR_FROM_OS_ERROR(err ? err : errno);
            goto fail;
        }
    }
    /* Blocking from now on, with SO_RCVTIMEO (recv_within): a reply is waited for in the recv
     * itself, not in a poll() first.  Sends and the idle check say MSG_DONTWAIT. */
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        goto fail;
    }
    c->fd = fd;
    c->next = NULL;
    c->rcvtimeo = 0;
    c->owes = 0;
    *out = c;
    return APR_SUCCESS;

fail:
    if (fd >= 0) {
        close(fd);
    }
    free(c);
    pthread_mutex_lock(&g->lock);
    g->open--;
    pthread_mutex_unlock(&g->lock);
    return rv;
}

/* An idle connection with nothing waiting on it, or NULL.  Bytes that arrived on a connection
 * nobody asked anything on (a second answer of a broken server or proxy, late) would be taken
 * for the answer to the next question: such a connection is closed, as is one the server
 * closed (EOF), before anything is sent on it. */
static ssize_t recv_within(conn_t *c, char *buf, apr_size_t len, apr_time_t deadline,
                           apr_status_t *rv);

/* A connection after `set ... noreply` + `version` (shs_mcget_set_noreply): everything up to
 * the VERSION line is read, and it must be exactly that line.  Anything else before it (an
 * answer to the noreply command, from a server or proxy that answers them anyway) and the
 * connection is not used again: a stray answer never reaches the next question. */
static int conn_settle(conn_t *c, apr_time_t deadline)
{
    char buf[128];
    apr_size_t n = 0;
    apr_status_t rv;

    while (n < sizeof(buf)) {
        ssize_t r = recv_within(c, buf + n, sizeof(buf) - n, deadline, &rv);
        const char *eol;

        if (r <= 0) {
            return 0;
        }
        n += (apr_size_t)r;
        if ((eol = memchr(buf, '\n', n))) {
            return (apr_size_t)(eol - buf) + 1 == n && n > 10 && !memcmp(buf, "VERSION ", 8) &&
                   eol[-1] == '\r';
        }
    }
    return 0;
}

static conn_t *conn_idle(shs_mcget_t *g, apr_time_t deadline)
{
    conn_t *c;
    char byte;

    for (;;) {
        ssize_t r;

        pthread_mutex_lock(&g->lock);
        c = g->idle;
        if (c) {
            g->idle = c->next;
        }
        pthread_mutex_unlock(&g->lock);
        if (!c) {
            return NULL;
        }
        if (c->owes && !conn_settle(c, deadline)) {
            conn_close(g, c);
            continue;
        }
        c->owes = 0;
        r = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return c;
        }
        conn_close(g, c);
    }
}

/* ------------------------------------------------------------------ one question */

typedef struct {
    char *buf;
    apr_size_t cap, n;
} rbuf_t;

static apr_status_t send_all(int fd, const char *s, apr_size_t len, apr_time_t deadline)
{
    while (len > 0) {
        ssize_t w = send(fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            s += w;
            len -= (apr_size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            apr_status_t rv = wait_fd(fd, POLLOUT, deadline);
            if (rv != APR_SUCCESS) {
                return rv;
            }
            continue;
        }
        return w < 0 ? APR_FROM_OS_ERROR(errno) : APR_EOF;
    }
    return APR_SUCCESS;
}

/* The answer to a storage command: "STORED", or "NOT_STORED" (an add of a key that exists). */
apr_status_t shs_mcget_parse_stored(const char *buf, apr_size_t n, apr_size_t *used)
{
    const char *eol = memchr(buf, '\n', n < HEADER_MAX ? n : HEADER_MAX);

    if (!eol) {
        return n < HEADER_MAX ? APR_INCOMPLETE : APR_EGENERAL;
    }
    *used = (apr_size_t)(eol - buf) + 1;
    if (*used == 8 && !memcmp(buf, "STORED\r\n", 8)) {
        return APR_SUCCESS;
    }
    if (*used == 12 && !memcmp(buf, "NOT_STORED\r\n", 12)) {
        return APR_EEXIST;
    }
    return APR_EGENERAL; /* SERVER_ERROR (too large, out of memory), ERROR, ... */
}

/* recv() that waits for data at most until the deadline, in the call itself: the connection
 * blocks, with SO_RCVTIMEO no longer than the time left (reset only when it would run past the
 * deadline by more than a millisecond, poll()'s own rounding, or when it is far shorter than
 * needed: with a deadline of now + the store's timeout, once per connection).  One system
 * call per wait instead of a failed recv(), a poll() and the recv(). */
static ssize_t recv_within(conn_t *c, char *buf, apr_size_t len, apr_time_t deadline,
                           apr_status_t *rv)
{
    for (;;) {
        apr_interval_time_t left = deadline - apr_time_now();
        ssize_t r;

        if (left <= 0) {
            *rv = APR_TIMEUP;
            return -1;
        }
        if (c->rcvtimeo == 0 || c->rcvtimeo > left + 1000 || c->rcvtimeo < left / 2) {
            apr_interval_time_t t = left - left % 1000; /* whole ms: never 0 (no timeout) */
            struct timeval tv;

            t = t < 1000 ? 1000 : t;
            tv.tv_sec = (time_t)(t / APR_USEC_PER_SEC);
            tv.tv_usec = (suseconds_t)(t % APR_USEC_PER_SEC);
            if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
                *rv = APR_FROM_OS_ERROR(errno);
                return -1;
            }
            c->rcvtimeo = t;
        }
        r = recv(c->fd, buf, len, 0);
        if (r >= 0) {
            return r;
        }
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
            *rv = APR_FROM_OS_ERROR(errno);
            return -1;
        }
        /* interrupted, or SO_RCVTIMEO ran out: the clock decides */
    }
}

/* The answers to a storage command then `get key`, sent together: *stored is the first's
 * status (APR_SUCCESS or APR_EEXIST); the rest as for shs_mcget_parse, of both answers. */
static apr_status_t parse_stored_get(const char *buf, apr_size_t n, const char *key,
                                     const char **val, apr_size_t *vlen, apr_size_t *used,
                                     apr_size_t *need, apr_status_t *stored)
{
    apr_size_t first = 0, rest = 0;
    apr_status_t rv;

    *need = 0;
    rv = shs_mcget_parse_stored(buf, n, &first);
    if (rv != APR_SUCCESS && rv != APR_EEXIST) {
        return rv; /* incomplete, or not an answer */
    }
    *stored = rv;
    rv = shs_mcget_parse(buf + first, n - first, key, val, vlen, &rest, need);
    if (*need) {
        *need += first;
    }
    *used = first + rest;
    return rv;
}

/* Ask and read the whole answer: to `get key` when key is set (after the answer to a storage
 * command too when stored is not NULL), else to a storage command.  *got_any: some bytes of an
 * answer arrived (a failure before that, on a reused connection, is a connection memcached had
 * closed). */
static apr_status_t ask(conn_t *c, const char *cmd, apr_size_t cmdlen, const char *key, rbuf_t *b,
                        apr_time_t deadline, const char **val, apr_size_t *vlen, int *got_any,
                        apr_status_t *stored)
{
    apr_status_t rv;
    apr_size_t used = 0, need = 0;

    *got_any = 0;
    if ((rv = send_all(c->fd, cmd, cmdlen, deadline)) != APR_SUCCESS) {
        return rv;
    }
    b->n = 0;
    for (;;) {
        ssize_t r;

        rv = stored ? parse_stored_get(b->buf, b->n, key, val, vlen, &used, &need, stored)
             : key  ? shs_mcget_parse(b->buf, b->n, key, val, vlen, &used, &need)
                    : shs_mcget_parse_stored(b->buf, b->n, &used);
        if (rv != APR_INCOMPLETE) {
            /* exactly one answer: anything after it was not asked for */
            return (rv == APR_SUCCESS || rv == APR_NOTFOUND || rv == APR_EEXIST) && used != b->n
                       ? APR_EGENERAL
                       : rv;
        }
        if (need > b->cap || b->n == b->cap) {
            apr_size_t cap = need > b->cap ? need : b->cap * 2;
            char *nb = realloc(b->buf, cap);
            if (!nb) {
                return APR_ENOMEM;
            }
            b->buf = nb;
            b->cap = cap;
        }
        r = recv_within(c, b->buf + b->n, b->cap - b->n, deadline, &rv);
        if (r > 0) {
            b->n += (apr_size_t)r;
            *got_any = 1;
            continue;
        }
        return r == 0 ? APR_EOF : rv;
    }
}

/* One question and its answer on a pooled or new connection (see ask()). */
static apr_status_t exchange(shs_mcget_t *g, const char *cmd, apr_size_t cmdlen, const char *key,
                             rbuf_t *b, apr_time_t deadline, const char **v, apr_size_t *vlen,
                             apr_status_t *stored)
{
    apr_status_t rv;
    int got_any, reused, attempts = 0;
    conn_t *c;

    for (;;) {
        c = conn_idle(g, deadline);
        reused = c != NULL;
        if (!c && (rv = conn_open(g, deadline, &c)) != APR_SUCCESS) {
            return rv;
        }
        rv = ask(c, cmd, cmdlen, key, b, deadline, v, vlen, &got_any, stored);
        if (rv == APR_SUCCESS || rv == APR_NOTFOUND || rv == APR_EEXIST) {
            conn_release(g, c);
            return rv;
        }
        conn_close(g, c);
        /* An idle connection memcached closed (restarted, or its idle timeout) fails before
         * any answer: try the next one, or a new one.  Bounded: each try uses up a
         * connection, and the deadline still holds. */
        if (!(reused && !got_any && rv != APR_TIMEUP) || ++attempts > g->max_conns) {
            return rv;
        }
    }
}

apr_status_t shs_mcget_get(shs_mcget_t *g, const char *key, apr_pool_t *p, char **val,
                           apr_size_t *len, apr_time_t deadline)
{
    apr_size_t klen = strlen(key), vlen = 0;
    char *cmd = apr_palloc(p, klen + 7);
    const char *v = NULL;
    rbuf_t b = { 0 };
    apr_status_t rv;

    memcpy(cmd, "get ", 4);
    memcpy(cmd + 4, key, klen);
    memcpy(cmd + 4 + klen, "\r\n", 3);
    b.cap = BUF_START;
    b.buf = malloc(b.cap);
    if (!b.buf) {
        return APR_ENOMEM;
    }
    rv = exchange(g, cmd, klen + 6, key, &b, deadline, &v, &vlen, NULL);
    if (rv == APR_SUCCESS) {
        *val = apr_pstrmemdup(p, v, vlen);
        *len = vlen;
    }
    free(b.buf);
    return rv;
}

/* A storage command (verb "add" or "set", with "noreply" when noreply) for len bytes of val,
 * then the command `then` word + arg (arg may be NULL) when then is set, into a new malloc'd
 * *cmd of *cmdlen bytes. */
static apr_status_t store_cmd(const char *verb, int noreply, const char *key, const char *val,
                              apr_size_t len, apr_uint32_t exptime, const char *then,
                              const char *arg, char **cmd, apr_size_t *cmdlen)
{
    char head[HEADER_MAX];
    apr_size_t tlen = then ? strlen(then) : 0, alen = arg ? strlen(arg) + 1 : 0, n;
    apr_size_t glen = then ? tlen + alen + 2 : 0;
    int hlen;

    if (len > SHS_MCGET_VALUE_MAX) {
        return APR_EINVAL;
    }
    hlen = snprintf(head, sizeof(head), "%s %s 0 %u %" APR_SIZE_T_FMT "%s\r\n", verb, key,
                    (unsigned int)exptime, len, noreply ? " noreply" : "");
    if (hlen < 0 || (apr_size_t)hlen >= sizeof(head)) {
        return APR_EINVAL;
    }
    n = (apr_size_t)hlen + len + 2;
    if (!(*cmd = malloc(n + glen + 1))) {
        return APR_ENOMEM;
    }
    memcpy(*cmd, head, (apr_size_t)hlen);
    memcpy(*cmd + hlen, val, len);
    memcpy(*cmd + n - 2, "\r\n", 2);
    if (then) {
        memcpy(*cmd + n, then, tlen);
        if (arg) {
            (*cmd)[n + tlen] = ' ';
            memcpy(*cmd + n + tlen + 1, arg, alen - 1);
        }
        memcpy(*cmd + n + glen - 2, "\r\n", 2);
    }
    *cmdlen = n + glen;
    return APR_SUCCESS;
}

apr_status_t shs_mcget_store(shs_mcget_t *g, int add, const char *key, const char *val,
                             apr_size_t len, apr_uint32_t exptime, apr_time_t deadline)
{
    char *cmd = NULL;
    apr_size_t cmdlen = 0;
    rbuf_t b = { 0 };
    apr_status_t rv;

    if ((rv = store_cmd(add ? "add" : "set", 0, key, val, len, exptime, NULL, NULL, &cmd,
                        &cmdlen)) != APR_SUCCESS) {
        return rv;
    }
    b.cap = 64;
    if (!(b.buf = malloc(b.cap))) {
        free(cmd);
        return APR_ENOMEM;
    }
    rv = exchange(g, cmd, cmdlen, NULL, &b, deadline, NULL, NULL, NULL);
    if (rv == APR_EEXIST && !add) {
        rv = APR_EGENERAL; /* NOT_STORED to a set: the server refused it */
    }
    free(cmd);
    free(b.buf);
    return rv;
}

apr_status_t shs_mcget_set_noreply(shs_mcget_t *g, const char *key, const char *val, apr_size_t len,
                                   apr_uint32_t exptime, apr_time_t deadline)
{
    char *cmd = NULL;
    apr_size_t cmdlen = 0;
    apr_status_t rv;
    conn_t *c;

    if ((rv = store_cmd("set", 1, key, val, len, exptime, "version", NULL, &cmd, &cmdlen)) !=
        APR_SUCCESS) {
        return rv;
    }
    c = conn_idle(g, deadline);
    if (!c && (rv = conn_open(g, deadline, &c)) != APR_SUCCESS) {
        free(cmd);
        return rv;
    }
    /* memcached answers nothing to the set, not even a failure to store, and VERSION to the
     * `version` behind it: the connection is free again at once, and its next user first reads
     * up to that VERSION (conn_settle), so that an answer to the set from a server that sends
     * one anyway is seen for what it is. */
    rv = send_all(c->fd, cmd, cmdlen, deadline);
    if (rv == APR_SUCCESS) {
        c->owes = 1;
        conn_release(g, c);
    }
    else {
        conn_close(g, c);
    }
    free(cmd);
    return rv;
}

apr_status_t shs_mcget_add_get(shs_mcget_t *g, const char *addkey, const char *aval,
                               apr_size_t alen, apr_uint32_t exptime, const char *getkey,
                               apr_pool_t *p, char **val, apr_size_t *len, apr_time_t deadline,
                               apr_status_t *added)
{
    char *cmd = NULL;
    const char *v = NULL;
    apr_size_t cmdlen = 0, vlen = 0;
    rbuf_t b = { 0 };
    apr_status_t rv;

    if ((rv = store_cmd("add", 0, addkey, aval, alen, exptime, "get", getkey, &cmd, &cmdlen)) !=
        APR_SUCCESS) {
        return rv;
    }
    b.cap = BUF_START;
    if (!(b.buf = malloc(b.cap))) {
        free(cmd);
        return APR_ENOMEM;
    }
    rv = exchange(g, cmd, cmdlen, getkey, &b, deadline, &v, &vlen, added);
    if (rv == APR_SUCCESS) {
        *val = apr_pstrmemdup(p, v, vlen);
        *len = vlen;
    }
    free(cmd);
    free(b.buf);
    return rv;
}

/* ------------------------------------------------------------------ set-up */

/* With the pool given to shs_mcget_create: the idle connections and the reader.  The module
 * creates its readers from a pool that is never destroyed, so this runs in tests only, when
 * no question is in flight. */
static apr_status_t reader_cleanup(void *data)
{
    shs_mcget_t *g = data;
    conn_t *c;

    while ((c = g->idle)) {
        g->idle = c->next;
        close(c->fd);
        free(c);
    }
    pthread_mutex_destroy(&g->lock);
    free(g);
    return APR_SUCCESS;
}

apr_status_t shs_mcget_create(apr_pool_t *p, const char *host, apr_port_t port, int max_conns,
                              shs_mcget_t **out)
{
    apr_sockaddr_t *sa = NULL;
    shs_mcget_t *g;
    apr_status_t rv;

    if (max_conns < 1) {
        return APR_EINVAL;
    }
    g = calloc(1, sizeof(*g)); /* malloc, not p: connections move between threads */
    if (!g) {
        return APR_ENOMEM;
    }
    /* Resolved once, here (child start): a name that does not resolve now leaves the reader
     * off (max_conns 0: every get says APR_EAGAIN), and apr_memcache, which resolves at each
     * connection, does the reads on the workers as before. */
    if (host[0] == '/') {
        /* a unix socket (apr_memcache takes the same spelling) */
        struct sockaddr_un *un = (struct sockaddr_un *)&g->addr;

        if (strlen(host) < sizeof(un->sun_path)) {
            un->sun_family = AF_UNIX;
            memcpy(un->sun_path, host, strlen(host) + 1);
            g->addrlen = (socklen_t)sizeof(*un);
            g->max_conns = max_conns;
        }
    }
    else if ((rv = apr_sockaddr_info_get(&sa, host, APR_UNSPEC, port, 0, p)) == APR_SUCCESS &&
             (apr_size_t)sa->salen <= sizeof(g->addr)) {
        memcpy(&g->addr, &sa->sa, (size_t)sa->salen);
        g->addrlen = (socklen_t)sa->salen;
        g->max_conns = max_conns;
    }
    if (pthread_mutex_init(&g->lock, NULL) != 0) {
        free(g);
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(p, g, reader_cleanup, apr_pool_cleanup_null);
    *out = g;
    return APR_SUCCESS;
}
