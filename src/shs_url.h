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

/* The URLs the endpoints take from a request and send back in a redirect.  Pure C: no httpd
 * call, so it is unit-tested and fuzzed (fuzz/fuzz_url.c). */

#ifndef SHS_URL_H
#define SHS_URL_H

#include <apr_pools.h>

#define SHS_URL_RET_MAX 2048 /* longest return path accepted */

/* True when path may follow this site's own origin in a Location header and still name this
 * site: it starts with a single '/' (not "//", not "/\"), holds no control character, space,
 * backslash or byte >= 0x80 (a browser sends those percent-encoded), and has at most
 * SHS_URL_RET_MAX bytes.  Anything else is refused: the redirect then goes to "/". */
int shs_url_local_path_ok(const char *path);

/* True when origin ("scheme://host[:port]", as a browser sends it in Origin, or the part of a
 * Referer before its path) is exactly `want` (a site's configured origin), compared
 * case-insensitively, with the default port of the scheme written or not. */
int shs_url_same_origin(const char *url, const char *want);

/* The query string q with the value of every parameter `name` replaced by `with`, for logs
 * (a token in an access log is a token anyone who reads it may redeem).  NULL stays NULL. */
const char *shs_url_redact_param(apr_pool_t *p, const char *q, const char *name, const char *with);

#endif /* SHS_URL_H */
