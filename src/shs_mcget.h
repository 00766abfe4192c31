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

/* memcached `get`, `add` and `set` that the request's own thread can run within a deadline.
 *
 * Reads are the hot path: every page with a session costs one.  apr_memcache's sockets block
 * without any I/O timeout, so its operations run on worker threads (shs_store.c) and each one
 * costs the request thread a hand-off and two more context switches.  This reader owns its
 * connections and waits for an answer only until the deadline (SO_RCVTIMEO, no longer than the
 * time left): the stall bound is kept without a worker.  Deletes, and everything with replicas, stay with apr_memcache on the
 * workers.
 *
 * A connection is reused only after a complete, well-formed answer to its own question (the
 * key in the VALUE line is checked), or after a noreply set once the VERSION of the `version`
 * sent behind it came back alone, and only while nothing has arrived on it since: one that
 * timed out, failed, answered anything else or says more unasked is closed, so a late answer
 * cannot reach the next request.  (A broken server that answers twice can still confuse the
 * one question sent at the very moment its extra answer arrives: a get of another key is
 * refused by the key check; an extra "END" or "STORED" is indistinguishable.)  When every connection it may open
 * is in use it says so (APR_EAGAIN) and the caller takes the worker path instead. */

#ifndef SHS_MCGET_H
#define SHS_MCGET_H

#include <apr_pools.h>
#include <apr_errno.h>
#include <apr_network_io.h>
#include <apr_time.h>

#define SHS_MCGET_VALUE_MAX (1024 * 1024) /* memcached's default item size limit */

typedef struct shs_mcget_t shs_mcget_t;

/* A reader for one server.  The address is resolved now, from p (a name that does not
 * resolve now makes a reader that always answers APR_EAGAIN); connections are opened on
 * demand, at most max_conns at a time (in use or idle).  It is freed with p, which must
 * outlive every question: the module gives it a pool that lives as long as the process. */
apr_status_t shs_mcget_create(apr_pool_t *p, const char *host, apr_port_t port, int max_conns,
                              shs_mcget_t **out);

/* Get key (already checked: no spaces or control characters).  *val (NUL-terminated) and
 * *len come from p.  APR_SUCCESS, APR_NOTFOUND, APR_TIMEUP at the deadline (apr_time_now()
 * clock), APR_EAGAIN when no connection is free (nothing was sent), or the system's error
 * (connection refused, reset...), or APR_EGENERAL for an answer that is not one. */
apr_status_t shs_mcget_get(shs_mcget_t *g, const char *key, apr_pool_t *p, char **val,
                           apr_size_t *len, apr_time_t deadline);

/* Store len bytes of val under key: add (APR_EEXIST when the key exists) or set.  exptime as
 * memcached takes it (seconds, or an absolute unix time beyond 30 days).  Same statuses and
 * deadline as shs_mcget_get; a timed-out write may still have been stored. */
apr_status_t shs_mcget_store(shs_mcget_t *g, int add, const char *key, const char *val,
                             apr_size_t len, apr_uint32_t exptime, apr_time_t deadline);

/* `set key ... noreply`: sent, no answer awaited (memcached sends none, not even for a failure
 * to store), with `version` behind it: the connection's next user reads up to its VERSION
 * first, and drops the connection when anything else comes before it.  APR_SUCCESS once the
 * whole command was written; otherwise as shs_mcget_store. */
apr_status_t shs_mcget_set_noreply(shs_mcget_t *g, const char *key, const char *val, apr_size_t len,
                                   apr_uint32_t exptime, apr_time_t deadline);

/* `add addkey` (alen bytes of aval) and `get getkey` sent together: one round trip for both.
 * *added: the add's status (APR_SUCCESS, APR_EEXIST) when both answers came; the return value:
 * the get's (APR_SUCCESS with *val and *len from p, APR_NOTFOUND), or the failure of the whole
 * exchange as for shs_mcget_get (*added then untouched).  memcached runs the two in order. */
apr_status_t shs_mcget_add_get(shs_mcget_t *g, const char *addkey, const char *aval,
                               apr_size_t alen, apr_uint32_t exptime, const char *getkey,
                               apr_pool_t *p, char **val, apr_size_t *len, apr_time_t deadline,
                               apr_status_t *added);

/* The parser of the answer to a storage command: APR_SUCCESS (STORED), APR_EEXIST
 * (NOT_STORED), APR_INCOMPLETE, APR_EGENERAL; *used as for shs_mcget_parse. */
apr_status_t shs_mcget_parse_stored(const char *buf, apr_size_t n, apr_size_t *used);

/* The parser, for tests: buf[0..n) holds the start of the answer to `get key`.
 * APR_INCOMPLETE: more bytes are needed (*need: how many in all, when the header said, else 0);
 * APR_NOTFOUND: "END"; APR_SUCCESS: *val and *vlen point into buf, *used bytes were the answer;
 * APR_EGENERAL: not an answer to this question (an error line, another key, a bad length). */
apr_status_t shs_mcget_parse(const char *buf, apr_size_t n, const char *key, const char **val,
                             apr_size_t *vlen, apr_size_t *used, apr_size_t *need);

#endif /* SHS_MCGET_H */
