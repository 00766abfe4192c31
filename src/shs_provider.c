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

/* mod_session decides what a session holds and how it is encoded; this provider only keeps
 * the encoded string in memcached, under a random id carried in a cookie.
 *
 * The session_rec is cached in the request_config of the top-level request (sub-requests and
 * internal redirects share it), because mod_session calls session_load several times per
 * request and must get the same record back each time. */

#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_ssl.h>
#include <ap_mpm.h>
#include <util_cookies.h>
#include <util_filter.h>
#include <mod_session.h>

#include "shs_private.h"
#include "shs_provider.h"
#include "shs_cookies.h"
#include "shs_backend.h"
#include "shs_status.h"
#include "shs_id.h"
#include "shs_store.h"
#include "shs_token.h"
#include "shs_value.h"

/* memcached refuses items over 1 MB; keep a margin for the key and item header. */
#define SHS_STORED_MAX (1024 * 1024 - 512)
#define SHS_SESSION_EXPIRY_KEY "expiry" /* what mod_session adds to every encoding */

/* Per process: created in child_init, never shared with another process or server. */
static apr_uint32_t warned_no_session;

typedef struct shs_req_t {
    session_rec *z;
    const char *cookie_id;       /* the well-formed id the browser sent, if any */
    const char *sync;            /* the push's sync cookie as sent */
    const char *marker;          /* the pull's marker cookie as sent */
    int pushed;                  /* the id cookie came from a push (SameSite=None): rewrite it */
    int rotate;                  /* the application asked for a new id (SHS_ROTATE_HEADER) */
    int loaded;                  /* the store was asked (once per request) */
    const char *id;              /* the id the session lives under; NULL while it has none */
    const char *loaded_value;    /* the encoded session as it came from the store */
    apr_table_t *loaded_entries; /* loaded_value decoded, on demand */
    int store_failed;            /* the store did not answer when the session was loaded */
    apr_status_t load_rv;
} shs_req_t;

static long cookie_maxage(request_rec *r);

static int session_enabled(request_rec *r)
{
    session_dir_conf *c = ap_get_module_config(r->per_dir_config, &session_module);

    return c && c->enabled;
}

static const char *fp(request_rec *r, const char *id)
{
    return shs_id_fingerprint(r->pool, id);
}

/* ------------------------------------------------------------------ sealed values
 * With a key file, every session value goes to the store sealed (shs_value.c): authenticated
 * under the key file's MAC key and bound to its store key, encrypted too with
 * SharedSessionStoreEncrypt On.  Whoever can write to memcached cannot forge or move a
 * session; a value that does not open is not adopted. */

static apr_size_t sealed_len(const shs_srv_conf_t *sc, apr_size_t len)
{
    return sc->keys ? shs_value_sealed_len(shs_srv_store_encrypt(sc), len) : len;
}

static apr_status_t put(request_rec *r, const shs_srv_conf_t *sc, int add, const char *key,
                        const char *value, apr_size_t len, apr_int64_t ttl)
{
    apr_status_t rv;

    if (sc->keys) {
        rv = shs_value_seal(r->pool, sc->keys, shs_srv_store_encrypt(sc), key, value, len, &value,
                            &len);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return add ? shs_store_add(shs_backend_store(), key, value, len, ttl)
               : shs_store_set(shs_backend_store(), key, value, len, ttl);
}

/* get, and open what came back: APR_NOTFOUND for a value that does not open (logged). */
/* A value read from the store under key (rv: the read's status), its seal checked. */
static apr_status_t open_stored(request_rec *r, const shs_srv_conf_t *sc, const char *key,
                                apr_pool_t *pool, apr_status_t rv, char **val, apr_size_t *len)
{
    const char *opened;

    if (rv != APR_SUCCESS || !sc->keys) {
        return rv;
    }
    rv = shs_value_open(pool, sc->keys, key, *val, *len, &opened, len);
    if (rv == APR_SUCCESS) {
        *val = (char *)opened;
        return APR_SUCCESS;
    }
    shs_stats_add(shs_status_block(), SHS_C_STORE_REFUSED, 1);
    ap_log_rerror(APLOG_MARK, rv == SHS_VALUE_EUNSEALED ? APLOG_INFO : APLOG_WARNING, 0, r,
                  "SHS00122: a stored session was refused (%s): it is not adopted%s",
                  shs_value_strerror(rv),
                  rv == SHS_VALUE_EUNSEALED
                      ? " (written without a key file, or before the module sealed values)"
                      : "; someone who is not this group's servers wrote it, or it was altered");
    return APR_NOTFOUND;
}

static apr_status_t fetch(request_rec *r, const shs_srv_conf_t *sc, const char *key,
                          apr_pool_t *pool, char **val, apr_size_t *len)
{
    apr_status_t rv = shs_backend_store() ? shs_store_get(shs_backend_store(), key, pool, val, len)
                                          : SHS_STORE_EDOWN;

    return open_stored(r, sc, key, pool, rv, val, len);
}

static void load_from_store(request_rec *r, const shs_srv_conf_t *sc, shs_req_t *rq, const char *id,
                            apr_pool_t *pool)
{
    const char *key = shs_id_store_key(r->pool, shs_srv_key_prefix(sc), id);
    char *val = NULL;
    apr_size_t len = 0;
    apr_status_t rv;
    char buf[120];

    rv = fetch(r, sc, key, pool, &val, &len);
    shs_stats_add(shs_status_block(), SHS_C_LOADS, 1);
    shs_stats_add(shs_status_block(), rv == APR_SUCCESS ? SHS_C_HITS : SHS_C_MISSES,
                  rv == APR_SUCCESS || rv == APR_NOTFOUND);
    if (rv == APR_SUCCESS) {
        rq->id = id;
        rq->z->encoded = val;
        rq->loaded_value = val;
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "SHS00103: session %s loaded, %" APR_SIZE_T_FMT " bytes", fp(r, id), len);
    }
    else if (rv == APR_NOTFOUND) {
        /* strict mode: an id the store does not know is never adopted */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "SHS00104: session %s is unknown or "
                      "expired; it is not adopted, a new id is issued when data is written",
                      fp(r, id));
    }
    else {
        rq->id = id; /* kept, so that nothing is written over the visitor's session */
        rq->store_failed = 1;
        rq->load_rv = rv;
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, SHS_LOG_RV(rv), r,
                      "SHS00105: session %s not loaded, "
                      "memcached %s: %s",
                      fp(r, id),
                      shs_backend_store() ? shs_store_slot_name(shs_backend_store(), key) : "-",
                      shs_store_strerror(rv, buf, sizeof(buf)));
    }
}

/* The state of this request, kept on the top-level request.  Created on first use, which
 * reads (and, when configured, strips) the cookie; later calls only strip it again from the
 * current sub-request or redirect. */
static shs_req_t *request_state(request_rec *r, const shs_dir_conf_t *d)
{
    request_rec *m = shs_cookies_top(r);
    shs_req_t *rq = ap_get_module_config(m->request_config, &sharedsession_module);
    int strip = shs_dir_cookie_remove(d) || SHS_SRV_CONF(r->server)->group;
    const char *id, *name;

    if (rq) {
        if (strip) {
            shs_cookies_read_id(r, d, 1);
        }
        return rq;
    }
    rq = apr_pcalloc(m->pool, sizeof(*rq));
    rq->z = apr_pcalloc(m->pool, sizeof(session_rec));
    rq->z->pool = m->pool;
    rq->z->entries = apr_table_make(m->pool, 10);
    ap_set_module_config(m->request_config, &sharedsession_module, rq);
    /* our bookkeeping cookies are read before read_cookie hides them from the application */
    name = shs_dir_cookie_name(d);
    rq->sync = shs_cookies_get(r, shs_cookie_own_name(m->pool, name, SHS_COOKIE_SYNC), 64);
    rq->marker = shs_cookies_get(r, shs_cookie_own_name(m->pool, name, SHS_COOKIE_MARKER), 64);
    rq->pushed =
        shs_cookies_get(r, shs_cookie_own_name(m->pool, name, SHS_COOKIE_PUSHED), 8) != NULL;
    id = shs_cookies_read_id(r, d, strip);
    rq->cookie_id = id ? apr_pstrdup(m->pool, id) : NULL;
    return rq;
}

/* The state with the session read from the store (at most once per request). */
static shs_req_t *loaded_state(request_rec *r, const shs_dir_conf_t *d)
{
    shs_req_t *rq = request_state(r, d);

    if (!rq->loaded) {
        rq->loaded = 1;
        if (rq->cookie_id) {
            load_from_store(r, SHS_SRV_CONF(r->server), rq, rq->cookie_id, rq->z->pool);
        }
    }
    return rq;
}

const char *shs_provider_id(request_rec *r)
{
    shs_req_t *rq = ap_get_module_config(shs_cookies_top(r)->request_config, &sharedsession_module);

    return rq && rq->loaded && !rq->store_failed ? rq->id : NULL;
}

const char *shs_provider_sync_cookie(request_rec *r)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);

    return shs_dir_enabled(d) ? request_state(r, d)->sync : NULL;
}

const char *shs_provider_marker_cookie(request_rec *r)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);

    return shs_dir_enabled(d) ? request_state(r, d)->marker : NULL;
}

int shs_provider_store_failed(request_rec *r)
{
    shs_req_t *rq = ap_get_module_config(shs_cookies_top(r)->request_config, &sharedsession_module);

    return rq && rq->store_failed;
}

const char *shs_provider_cookie_id(request_rec *r)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);

    return shs_dir_enabled(d) ? request_state(r, d)->cookie_id : NULL;
}

int shs_provider_store_down(request_rec *r)
{
    shs_stats_t *st = shs_status_block();
    shs_store_t *store = shs_backend_store();
    unsigned int i, down = 0;
    int copies;

    if (!store || shs_provider_store_failed(r)) {
        return 1;
    }
    copies = shs_store_replicas(store);
    for (i = 0; i < shs_store_nslots(store); i++) {
        /* this process's breaker, or what any process reported last (the shared status
         * block): a visitor without an id asks no server, and must not find its own cookies
         * dropped just because this process has not met the outage yet */
        if (shs_store_breaker(store, i) != SHS_BREAKER_CLOSED ||
            (st && i < SHS_STATS_MAX_SERVERS && st->servers[i].down)) {
            down++;
        }
    }
    /* with N copies of every session, fewer than N servers down lose no session */
    return down > 0 && (int)down >= (copies > 1 ? copies : 1);
}

apr_status_t shs_provider_load(request_rec *r, session_rec **z)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);

    if (!shs_dir_enabled(d)) {
        return DECLINED;
    }
    *z = loaded_state(r, d)->z;
    return OK;
}

/* Nothing in it but the expiry mod_session adds by itself. */
static int session_is_empty(const session_rec *z)
{
    const apr_array_header_t *arr = apr_table_elts(z->entries);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key && strcmp(e[i].key, SHS_SESSION_EXPIRY_KEY)) {
            return 0;
        }
    }
    return 1;
}

/* A store that did not answer is reported once per outage by the breaker (on_breaker below), so a
 * request that meets it only says so at info; anything else is an error of its own. */
static int store_level(apr_status_t rv)
{
    return SHS_STORE_FAILED(rv) ? APLOG_INFO : APLOG_ERR;
}

/* Does an identity key (SharedSessionIdentityKeys) of a differ in b? */
static int identity_differs(const apr_array_header_t *keys, apr_table_t *a, apr_table_t *b)
{
    const apr_array_header_t *arr = apr_table_elts(a);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key && shs_identity_key_match(keys, e[i].key)) {
            const char *other = apr_table_get(b, e[i].key);
            if (!other || strcmp(other, e[i].val ? e[i].val : "")) {
                return 1;
            }
        }
    }
    return 0;
}

/* Did the application replace or delete a cookie of its own that the jar held (a new
 * PHPSESSID at a login, none at a logout)?  That is a change of identity.  A first value is
 * not: an anonymous visitor's first page must not move the session the sites already share. */
/* Had the jar's cookie under value key vkey expired (its meta key says so)?  Then its removal
 * is the browser's clock, not a logout. */
static int expired(apr_pool_t *p, apr_table_t *entries, const char *vkey)
{
    const char *meta = apr_table_get(
        entries, apr_pstrcat(p, SHS_JAR_META_KEY, vkey + sizeof(SHS_JAR_VALUE_KEY) - 1, NULL));
    apr_int64_t when = meta ? apr_atoi64(meta) : 0;

    return when > 0 && when <= apr_time_sec(apr_time_now());
}

static int app_cookie_replaced(apr_pool_t *p, apr_table_t *old, apr_table_t *now)
{
    const apr_array_header_t *arr = apr_table_elts(old);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key && !strncmp(e[i].key, SHS_JAR_VALUE_KEY, sizeof(SHS_JAR_VALUE_KEY) - 1)) {
            const char *v = apr_table_get(now, e[i].key);
            if (v ? strcmp(v, e[i].val ? e[i].val : "") != 0 : !expired(p, old, e[i].key)) {
                return 1;
            }
        }
    }
    return 0;
}

/* The session as it was loaded, decoded again through mod_session (mod_session_crypto
 * included); NULL when there was none or it does not decode.  Decoded once per request. */
static apr_table_t *loaded_entries(request_rec *r, shs_req_t *rq)
{
    session_rec old = { 0 };

    if (!rq->loaded_value) {
        return NULL;
    }
    if (!rq->loaded_entries) {
        old.pool = r->pool;
        old.entries = apr_table_make(r->pool, 10);
        old.encoded = apr_pstrdup(r->pool, rq->loaded_value);
        if (ap_run_session_decode(r, &old) != OK) {
            return NULL;
        }
        rq->loaded_entries = old.entries;
    }
    return rq->loaded_entries;
}

/* Did the authenticated identity change in this request (login, logout, user switch)? */
static int identity_changed(request_rec *r, shs_req_t *rq, session_rec *z)
{
    apr_table_t *old = loaded_entries(r, rq);

    const apr_array_header_t *keys = SHS_SRV_CONF(r->server)->identity_keys;

    return old &&
           (identity_differs(keys, old, z->entries) || identity_differs(keys, z->entries, old) ||
            app_cookie_replaced(r->pool, old, z->entries));
}

/* Did this request empty a session that held something (a logout)?  A session that was
 * empty already (the hub's shared anonymous session) stays. */
static int emptied(request_rec *r, shs_req_t *rq)
{
    apr_table_t *old = loaded_entries(r, rq);
    session_rec probe = { 0 };

    if (!old) {
        return rq->loaded_value && *rq->loaded_value; /* undecodable: treat as data */
    }
    probe.entries = old;
    return !session_is_empty(&probe);
}

/* The session was emptied (logout): its key goes, and so does the cookie. */
static int save_empty(request_rec *r, const shs_dir_conf_t *d, shs_req_t *rq, const char *key)
{
    apr_status_t rv = shs_store_del(shs_backend_store(), key);
    char buf[120];

    if (rv == APR_SUCCESS || rv == APR_NOTFOUND) {
        shs_stats_add(shs_status_block(), SHS_C_DELETES, 1);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "SHS00106: session %s emptied and deleted",
                      fp(r, rq->id));
    }
    else {
        ap_log_rerror(APLOG_MARK, store_level(rv), SHS_LOG_RV(rv), r,
                      "SHS00107: session %s emptied but its "
                      "memcached entry could not be deleted (%s); it expires after its TTL",
                      fp(r, rq->id), shs_store_strerror(rv, buf, sizeof(buf)));
    }
    shs_cookies_remove_id(r, d);
    rq->id = NULL;
    return rv == APR_SUCCESS || rv == APR_NOTFOUND;
}

/* A new session: a fresh id, stored with add so that an existing key is never replaced. */
static apr_status_t create_session(request_rec *r, const shs_dir_conf_t *d,
                                   const shs_srv_conf_t *sc, shs_req_t *rq, session_rec *z,
                                   const char *value, apr_size_t len, apr_int64_t ttl)
{
    char id[SHS_ID_LEN + 1], buf[120];
    apr_status_t rv = APR_EGENERAL;
    int attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        if ((rv = shs_id_generate(id)) != APR_SUCCESS) {
            break;
        }
        rv = put(r, sc, 1, shs_id_store_key(r->pool, shs_srv_key_prefix(sc), id), value, len, ttl);
        if (rv != APR_EEXIST) {
            break;
        }
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, store_level(rv), SHS_LOG_RV(rv), r,
                      "SHS00113: new session not created: %s",
                      shs_store_strerror(rv, buf, sizeof(buf)));
        return rv;
    }
    rq->id = apr_pstrdup(shs_cookies_top(r)->pool, id);
    shs_cookies_set_id(r, d, rq->id, z->maxage);
    shs_stats_add(shs_status_block(), SHS_C_CREATES, 1);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "SHS00114: new session %s created, %" APR_SIZE_T_FMT " bytes", fp(r, rq->id),
                  len);
    return APR_SUCCESS;
}

/* Store z; 0 when it could not be stored (the store keeps what it had). */
static int save(request_rec *r, const shs_dir_conf_t *d, session_rec *z)
{
    const shs_srv_conf_t *sc = SHS_SRV_CONF(r->server);
    shs_req_t *rq;
    const char *key, *value;
    apr_size_t len;
    apr_int64_t ttl;
    apr_status_t rv;
    char buf[120];

    rq = loaded_state(r, d);
    if (rq->store_failed) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, SHS_LOG_RV(rq->load_rv), r,
                      "SHS00108: session %s not "
                      "saved: memcached did not answer when it was loaded, so the stored session "
                      "is kept as it was and the visitor keeps their cookie",
                      fp(r, rq->id));
        return 0;
    }
    if (!shs_backend_store()) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "SHS00109: session not saved: no memcached "
                      "client in this process (see the start-up errors)");
        return 0;
    }
    if (session_is_empty(z) && (!rq->id || emptied(r, rq))) {
        return !rq->id ||
               save_empty(r, d, rq, shs_id_store_key(r->pool, shs_srv_key_prefix(sc), rq->id));
    }

    value = z->encoded ? z->encoded : "";
    len = strlen(value);
    if (sealed_len(sc, len) > SHS_STORED_MAX) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "SHS00110: session %s not saved: its "
                      "encoding has %" APR_SIZE_T_FMT
                      " bytes as stored, memcached takes at most %d",
                      fp(r, rq->id), sealed_len(sc, len), SHS_STORED_MAX);
        return 0;
    }
    ttl = z->maxage > 0 ? z->maxage : shs_dir_ttl(d);

    if (rq->id && (rq->rotate || identity_changed(r, rq, z))) {
        /* Login, logout or user switch: the session moves to a fresh id, so an id known
         * before (planted by an attacker, or seen by another site) is worth nothing now. */
        const char *old = rq->id;
        rq->id = NULL;
        if (create_session(r, d, sc, rq, z, value, len, ttl) != APR_SUCCESS) {
            rq->id = old;
            return 0;
        }
        shs_stats_add(shs_status_block(), SHS_C_ROTATIONS, 1);
        rv = shs_store_del(shs_backend_store(),
                           shs_id_store_key(r->pool, shs_srv_key_prefix(sc), old));
        ap_log_rerror(APLOG_MARK, rv == APR_SUCCESS ? APLOG_DEBUG : APLOG_INFO, SHS_LOG_RV(rv), r,
                      "SHS00117: %s: session %s moved to %s%s",
                      rq->rotate ? "the application asked for a new id" : "identity changed",
                      fp(r, old), fp(r, rq->id),
                      rv == APR_SUCCESS ? "" : " (the old entry expires by itself)");
        return 1;
    }
    if (rq->id) {
        key = shs_id_store_key(r->pool, shs_srv_key_prefix(sc), rq->id);
        rv = put(r, sc, 0, key, value, len, ttl);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, store_level(rv), SHS_LOG_RV(rv), r,
                          "SHS00111: session %s not saved to "
                          "memcached %s: %s",
                          fp(r, rq->id), shs_store_slot_name(shs_backend_store(), key),
                          shs_store_strerror(rv, buf, sizeof(buf)));
            return 0;
        }
        if (z->maxage > 0) {
            shs_cookies_set_id(r, d, rq->id, z->maxage); /* slide the cookie's expiry too */
        }
        shs_stats_add(shs_status_block(), SHS_C_SAVES, 1);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "SHS00112: session %s saved, %" APR_SIZE_T_FMT " bytes", fp(r, rq->id), len);
        return 1;
    }

    return create_session(r, d, sc, rq, z, value, len, ttl) == APR_SUCCESS;
}

static int give_back(void *baton, const char *key, const char *val)
{
    request_rec *r = baton;

    apr_table_addn(r->err_headers_out, "Set-Cookie", val);
    return 1;
}

apr_status_t shs_provider_save(request_rec *r, session_rec *z)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);
    apr_table_t *notes = shs_cookies_top(r)->notes;

    if (!shs_dir_enabled(d)) {
        return DECLINED;
    }
    if (!save(r, d, z) && apr_table_get(notes, SHS_NOTE_HELD_COOKIE)) {
        /* the application's cookies were taken for the jar, and the jar is not stored: the
         * browser gets them after all, so that this site works on its own */
        apr_table_do(give_back, r, notes, SHS_NOTE_HELD_COOKIE, NULL);
        apr_table_unset(notes, SHS_NOTE_HELD_COOKIE);
        shs_cookies_note_passed(r, "the session could not be stored");
    }
    return OK;
}

/* A browser that got its id cookie from a push holds it with SameSite=None (the only kind a
 * cross-site image response may set): give it the site's own attributes now, on a request
 * where the browser takes them (a navigation, or a same-site request). */
static void fix_pushed_cookie(request_rec *r, const shs_dir_conf_t *d, shs_req_t *rq)
{
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    const char *mode = apr_table_get(r->headers_in, "Sec-Fetch-Mode");
    APR_OPTIONAL_FN_TYPE(ap_session_load) * session_load;
    session_rec *z = NULL;

    if (r->main || r->prev ||
        (site && !strcasecmp(site, "cross-site") && !(mode && !strcasecmp(mode, "navigate")))) {
        return;
    }
    session_load = APR_RETRIEVE_OPTIONAL_FN(ap_session_load);
    if (session_load) {
        session_load(r, &z);
    }
    if (rq->store_failed) {
        return; /* ask again when the store answers */
    }
    if (rq->id) {
        shs_cookies_set_id(r, d, rq->id, cookie_maxage(r));
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "SHS00119: session %s: the pushed cookie now has this site's attributes",
                      fp(r, rq->id));
    }
    shs_cookies_drop_pushed_flag(r, d);
    rq->pushed = 0;
}

int shs_provider_header_parser(request_rec *r)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);
    APR_OPTIONAL_FN_TYPE(ap_session_load) * session_load;
    session_rec *z = NULL;
    shs_req_t *rq;

    if (!shs_dir_enabled(d)) {
        if (SHS_SRV_CONF(r->server)->group) {
            /* the id is valid on every site of the group: no scope of a site may show it to an
             * application, whatever an .htaccess says */
            shs_cookies_read_id(r, d, 1);
        }
        return DECLINED;
    }
    if (!session_enabled(r)) {
        if (apr_atomic_cas32(&warned_no_session, 1, 0) == 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "SHS00115: SharedSession is On (%s) but "
                          "'Session On' is not set here, so mod_session never asks for the "
                          "session (logged once per process)",
                          d->enabled_where);
        }
        shs_cookies_read_id(r, d, shs_dir_cookie_remove(d) || SHS_SRV_CONF(r->server)->group);
        return DECLINED;
    }
    /* read the cookie now, and hide it from the handler whatever happens next */
    rq = request_state(r, d);
    if (rq->pushed) {
        fix_pushed_cookie(r, d, rq);
    }
    if (shs_dir_down_policy(d) != SHS_DOWN_REFUSE) {
        return DECLINED;
    }
    /* Through mod_session, so that SessionInclude/SessionExclude are honoured. */
    session_load = APR_RETRIEVE_OPTIONAL_FN(ap_session_load);
    if (session_load) {
        session_load(r, &z);
    }
    if (rq->store_failed) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, SHS_LOG_RV(rq->load_rv), r,
                      "SHS00116: answering 503: the "
                      "session store is unavailable (SharedSessionStoreDown 503)");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    return DECLINED;
}

/* ------------------------------------------------------------------ asked by the application */

int shs_provider_ask_rotation(request_rec *r)
{
    const shs_dir_conf_t *d = SHS_DIR_CONF(r);
    APR_OPTIONAL_FN_TYPE(ap_session_load) *session_load = APR_RETRIEVE_OPTIONAL_FN(ap_session_load);
    session_rec *z = NULL;

    if (shs_dir_enabled(d) && session_load && session_load(r, &z) == APR_SUCCESS && z) {
        request_state(r, d)->rotate = 1;
        z->dirty = 1; /* so that mod_session saves it */
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ for the endpoints */

apr_status_t shs_provider_lookup(request_rec *r, const char *id, apr_size_t *len)
{
    const shs_srv_conf_t *sc = SHS_SRV_CONF(r->server);
    char *val;
    apr_size_t vlen = 0;
    apr_status_t rv;

    if (!shs_backend_store()) {
        return SHS_STORE_EDOWN;
    }
    rv = fetch(r, sc, shs_id_store_key(r->pool, shs_srv_key_prefix(sc), id), r->pool, &val, &vlen);
    if (len) {
        *len = vlen;
    }
    return rv;
}

apr_status_t shs_provider_lookup_stored(request_rec *r, const char *skey, apr_status_t rv,
                                        char *val, apr_size_t vlen, apr_size_t *len)
{
    rv = open_stored(r, SHS_SRV_CONF(r->server), skey, r->pool, rv, &val, &vlen);
    if (len) {
        *len = vlen;
    }
    return rv;
}

apr_int64_t shs_provider_ttl(request_rec *r)
{
    session_dir_conf *sd = ap_get_module_config(r->per_dir_config, &session_module);

    return sd && sd->maxage > 0 ? sd->maxage : shs_dir_ttl(SHS_DIR_CONF(r));
}

static long cookie_maxage(request_rec *r)
{
    session_dir_conf *sd = ap_get_module_config(r->per_dir_config, &session_module);

    return sd && sd->maxage > 0 ? sd->maxage : 0;
}

/* How long the hub's new empty session lives before a site took it: long enough for the
 * browser to reach the site's callback with it (a token lifetime and the clock skew, twice).
 * Replayed or forged attach requests therefore cannot fill the store for long. */
static apr_int64_t unconfirmed_ttl(request_rec *r)
{
    return 2 * (shs_srv_token_lifetime(SHS_SRV_CONF(r->server)) + SHS_TOKEN_SKEW);
}

apr_status_t shs_provider_new_empty(request_rec *r, const char **id)
{
    const shs_srv_conf_t *sc = SHS_SRV_CONF(r->server);
    char fresh[SHS_ID_LEN + 1];
    apr_status_t rv;

    if (!shs_backend_store()) {
        return SHS_STORE_EDOWN;
    }
    if ((rv = shs_id_generate(fresh)) != APR_SUCCESS) {
        return rv;
    }
    rv = put(r, sc, 1, shs_id_store_key(r->pool, shs_srv_key_prefix(sc), fresh), "", 0,
             unconfirmed_ttl(r));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *id = apr_pstrdup(r->pool, fresh);
    shs_provider_set_cookie(r, *id);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "SHS00118: new empty shared session %s",
                  fp(r, *id));
    return APR_SUCCESS;
}

void shs_provider_keep_empty(request_rec *r, const char *id)
{
    const shs_srv_conf_t *sc = SHS_SRV_CONF(r->server);
    apr_status_t rv;

    if (!shs_backend_store()) {
        return;
    }
    /* add would fail (it exists): set, with the lifetime of a session of this scope */
    rv = put(r, sc, 0, shs_id_store_key(r->pool, shs_srv_key_prefix(sc), id), "", 0,
             shs_provider_ttl(r));
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, SHS_LOG_RV(rv), r,
                  "SHS00121: empty shared session %s taken by this site%s", fp(r, id),
                  rv == APR_SUCCESS ? "" : "; its lifetime was not extended");
}

void shs_provider_set_cookie(request_rec *r, const char *id)
{
    shs_cookies_set_id(r, SHS_DIR_CONF(r), id, cookie_maxage(r));
}
