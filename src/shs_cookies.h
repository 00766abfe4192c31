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

/* The cookies of a request: reading the module's own from the Cookie header(s), hiding them
 * from the application, and writing them with their attributes.  The one place that talks to
 * httpd about cookies; the syntax is shs_cookie.c's.  Depends on nothing of the module but the
 * configuration, so that the provider, the push, the pull and the callback all build on it. */

#ifndef SHS_COOKIES_H
#define SHS_COOKIES_H

#include <httpd.h>

#include "shs_config.h"
#include "shs_cookie.h"

/* The request came over TLS (cookies get Secure). */
int shs_cookies_secure(request_rec *r);

/* The name of this scope's own cookie of `kind`. */
const char *shs_cookies_name(request_rec *r, shs_cookie_kind_e kind);

/* The value of cookie `name` as the browser sent it (the first one, at most max bytes), or
 * NULL. */
const char *shs_cookies_get(request_rec *r, const char *name, apr_size_t max);

/* The well-formed id this browser sends in cookie `name`, or NULL. */
const char *shs_cookies_id(request_rec *r, const char *name);

/* The one well-formed id this browser sends in cookie `name`; NULL when none, or when it sends
 * several different ones (*several set): one may have been planted with a narrower Path by a
 * related domain, and which one is the visitor's cannot be told. */
const char *shs_cookies_id_unique(request_rec *r, const char *name, int *several);

/* The well-formed id this browser sends in cookie `name` whose fingerprint is fp, or NULL. */
const char *shs_cookies_id_with_fp(request_rec *r, const char *name, const char *fp);

/* Our id from the Cookie header(s) of this scope (cookie name of d), or NULL.  When strip is
 * set the module's cookies are removed from r->headers_in, so the application (CGI, PHP, a
 * proxied backend) never sees them: those of this scope's cookie name and of the virtual
 * host's (an .htaccess that renames the cookie must not expose the real one).  Malformed and
 * repeated ids are logged at debug and counted. */
const char *shs_cookies_read_id(request_rec *r, const shs_dir_conf_t *d, int strip);

/* The id cookie with the scope's attributes (SharedSessionCookie*), for maxage seconds (0:
 * a browser-session cookie), and its removal. */
void shs_cookies_set_id(request_rec *r, const shs_dir_conf_t *d, const char *id, long maxage);
void shs_cookies_remove_id(request_rec *r, const shs_dir_conf_t *d);

/* The id cookie set by a push callback (SameSite=None; Secure: the only kind a browser keeps
 * from a cross-site image or script response), with the flag cookie that has the site put its
 * own attributes back at the next first-party request; and the flag's removal. */
void shs_cookies_set_pushed(request_rec *r, const char *id);
void shs_cookies_drop_pushed_flag(request_rec *r, const shs_dir_conf_t *d);

/* A first-party bookkeeping cookie: Path=path; HttpOnly; SameSite=Lax (Secure on TLS), with
 * Max-Age maxage when maxage > 0; and its removal. */
void shs_cookies_set_lax(request_rec *r, const char *name, const char *value, const char *path,
                         apr_int64_t maxage);
void shs_cookies_remove_lax(request_rec *r, const char *name, const char *path);

/* True when name is one of the module's own cookies in this request's scope (see
 * shs_cookies_read_id): never an application's, whatever a scope names. */
int shs_cookies_is_own(request_rec *r, const char *name);

/* The top-level request of r (the one the browser sent). */
request_rec *shs_cookies_top(request_rec *r);

/* The note (of the top-level request) under which the application's Set-Cookie headers taken
 * for the jar are kept, so that they go to the browser after all if the session cannot be
 * stored. */
#define SHS_NOTE_HELD_COOKIE "shs-held-set-cookie"

/* The application's cookies went to the browser instead of the jar (why): logged at warn at
 * most once a minute per process. */
void shs_cookies_note_passed(request_rec *r, const char *why);

#endif /* SHS_COOKIES_H */
