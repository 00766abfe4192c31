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

/* The mod_session storage provider: session_load / session_save over the store, the per
 * request state, and the per process store that backs them. */

#ifndef SHS_PROVIDER_H
#define SHS_PROVIDER_H

#include <httpd.h>
#include <mod_session.h>
#include <util_filter.h>

apr_status_t shs_provider_load(request_rec *r, session_rec **z);
apr_status_t shs_provider_save(request_rec *r, session_rec *z);
int shs_provider_header_parser(request_rec *r);

/* The id of this request's session as loaded from the store: NULL when the browser sent
 * none, the store does not know it, or the store failed. */
const char *shs_provider_id(request_rec *r);

/* True when the store failed while loading this request's session. */
int shs_provider_store_failed(request_rec *r);

/* Our bookkeeping cookies as the browser sent them (captured before they are stripped from
 * the request): the push's sync cookie and the pull's marker.  NULL when absent. */
const char *shs_provider_sync_cookie(request_rec *r);
const char *shs_provider_marker_cookie(request_rec *r);

/* The id the browser sent in the cookie (well-formed, not checked against the store). */
const char *shs_provider_cookie_id(request_rec *r);

/* Is `id` a session memcached knows?  APR_SUCCESS, APR_NOTFOUND, or a store failure.  len
 * (may be NULL) gets the length of the session's encoding. */
apr_status_t shs_provider_lookup(request_rec *r, const char *id, apr_size_t *len);

/* shs_provider_lookup's second half, for a read the caller made itself (shs_ep_spend_get)
 * under skey, the session's store key (shs_id_store_key with the server's prefix): rv, val
 * and vlen as the store gave them; the value is opened (its seal checked). */
apr_status_t shs_provider_lookup_stored(request_rec *r, const char *skey, apr_status_t rv,
                                        char *val, apr_size_t vlen, apr_size_t *len);

/* A new, empty shared session (the hub's, for a browser that has none yet): stored for a short
 * time only (until a site takes it, shs_provider_keep_empty), and its cookie set on this
 * response.  *id gets the new id. */
apr_status_t shs_provider_new_empty(request_rec *r, const char **id);

/* A site took the empty session `id`: it now lives as long as any session of this scope. */
void shs_provider_keep_empty(request_rec *r, const char *id);

/* Lifetime in memcached of sessions of this scope: SessionMaxAge, else SharedSessionTTL. */
apr_int64_t shs_provider_ttl(request_rec *r);

/* Set the session cookie on this response, with the attributes configured for the scope. */
void shs_provider_set_cookie(request_rec *r, const char *id);

/* Give the session a new id when it is saved, as at a change of an identity key (the
 * application asked for it).  0 when this scope has no session to rotate. */
int shs_provider_ask_rotation(request_rec *r);

/* The store failed for this request, or this process knows a memcached server is down (its
 * breaker is open), or there is no store: the application's cookies stay with the browser. */
int shs_provider_store_down(request_rec *r);

#endif /* SHS_PROVIDER_H */
