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

/* The application's own cookies, shared (SharedSessionAppCookie): a server-side cookie jar
 * inside the group's session.
 *
 *   on the way out   the application sets PHPSESSID=v  ->  v goes into the session; the
 *                    Set-Cookie does not reach the browser (capture, shs_jar_out_filter)
 *   on the way in    the browser sends only the module's id  ->  the Cookie header the
 *                    application sees carries PHPSESSID=v (replay, shs_jar_header_parser)
 *
 * Only the module's id crosses domains; the values stay on the server.  A changed value is a
 * change of identity (shs_provider.c rotates the session id).  When the store cannot keep them
 * (memcached down, a value too large) the Set-Cookie passes to the browser as if the module
 * were not there. */

#ifndef SHS_JAR_H
#define SHS_JAR_H

#include <httpd.h>
#include <util_filter.h>

/* Longest name=value taken into the jar: what a browser keeps of one cookie.  At most so many
 * cookies and bytes in one session's jar (the application's CGI environment and the session
 * must stay within httpd's and memcached's limits); beyond, cookies go to the browser. */
#define SHS_JAR_VALUE_MAX 4096
#define SHS_JAR_COOKIES_MAX 20
#define SHS_JAR_BYTES_MAX 16384

/* header_parser, after the provider's: the application's cookies into the Cookie header. */
int shs_jar_header_parser(request_rec *r);

/* The response header by which an application asks for a new session id (after its own login,
 * for identities kept under keys SharedSessionIdentityKeys does not name).  Removed from every
 * response. */
#define SHS_ROTATE_HEADER "X-SharedSession-Rotate"

/* What the application says on the way out, before mod_session's MOD_SESSION_OUT
 * (AP_FTYPE_CONTENT_SET) saves: the rotate header, and its Set-Cookie headers for the jar.
 * Added for normal and for error responses. */
#define SHS_JAR_FILTER "SHAREDSESSION_APP"
apr_status_t shs_jar_out_filter(ap_filter_t *f, apr_bucket_brigade *bb);
void shs_jar_insert_filter(request_rec *r);

#endif /* SHS_JAR_H */
