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

/* Placement of keys on servers: rendezvous (highest random weight) hashing.
 *
 * Every server has an identity, "host:port" (shs_place_identity).  For a key, each server's
 * weight is SipHash-2-4 of the key under a 128-bit key derived from the server's identity; the
 * key lives on the server with the highest weight.  Hence:
 * - the answer depends only on the key and the set of identities: not on the order the servers
 *   are listed, the process, the machine or its byte order;
 * - adding a server moves only the keys it now wins (1/(n+1) of them, all to the new server);
 *   removing one moves only the keys it held, spread evenly over the others;
 * - the servers in decreasing weight (shs_place_order) are a key's preference list: a replica
 *   goes to the second, and when the first is removed the second becomes the first.
 *
 * Changing the hash, the derivation constants or the identity format moves every session on
 * an upgrade: tests/unit/test_place.c pins known answers, and tests/integration/
 * test_placement.py computes placement independently in Python. */

#ifndef SHS_PLACE_H
#define SHS_PLACE_H

#include <apr_pools.h>
#include <apr_errno.h>
#include <apr_network_io.h>

#define SHS_PLACE_MAX 64 /* servers in one placement */

typedef struct shs_place_t shs_place_t;

/* SipHash-2-4 (Aumasson, Bernstein) of data under the key (k0, k1): k0 is the little-endian
 * reading of the key's first 8 bytes, k1 of the last 8. */
apr_uint64_t shs_siphash24(apr_uint64_t k0, apr_uint64_t k1, const void *data, apr_size_t len);

/* The identity of a server as placement sees it: the host in lower case (an IPv6 address in
 * brackets), ':', the port in decimal.  "Cache1.example:11211" -> "cache1.example:11211",
 * ("::1", 11211) -> "[::1]:11211"; a unix socket (host an absolute path) is its path as written.
 * The same server must be written the same way (same name,
 * or same address) on every front end, or the front ends place keys differently. */
const char *shs_place_identity(apr_pool_t *p, const char *host, apr_port_t port);

/* A placement over n identities (1..SHS_PLACE_MAX; the strings are copied).  Server i of the
 * results is ids[i].  APR_EINVAL for a bad n or a NULL identity. */
apr_status_t shs_place_create(apr_pool_t *p, const char *const *ids, unsigned int n,
                              shs_place_t **out);

unsigned int shs_place_count(const shs_place_t *pl);
const char *shs_place_id(const shs_place_t *pl, unsigned int server);

/* The weight of a server for a key (for tests; higher wins). */
apr_uint64_t shs_place_weight(const shs_place_t *pl, unsigned int server, const char *key,
                              apr_size_t len);

/* The server that owns a key: the highest weight.  Equal weights (a chance of 2^-64, or the
 * same identity listed twice) go to the smaller identity, then the smaller index. */
unsigned int shs_place_pick(const shs_place_t *pl, const char *key, apr_size_t len);

/* The first `want` servers for a key in decreasing weight (out[0] is shs_place_pick's answer);
 * returns how many were written: min(want, number of servers).  The order of any subset of
 * servers is this order with the others left out. */
unsigned int shs_place_order(const shs_place_t *pl, const char *key, apr_size_t len,
                             unsigned int *out, unsigned int want);

#endif /* SHS_PLACE_H */
