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

/* The output filter that adds the loader tags to HTML pages (brigades only; the scanning is
 * shs_html.c's). */

#ifndef SHS_FILTER_H
#define SHS_FILTER_H

#include <httpd.h>
#include <util_filter.h>

#define SHS_FILTER_NAME "SHARED_SESSION_INJECT"
#define SHS_NOSTORE_FILTER_NAME "SHARED_SESSION_NOSTORE"

apr_status_t shs_filter_inject(ap_filter_t *f, apr_bucket_brigade *bb);

/* Added behind every tagged response, after the filters that edit headers (mod_headers,
 * mod_expires): the page carries tokens and stays uncacheable whatever they set. */
apr_status_t shs_filter_nostore(ap_filter_t *f, apr_bucket_brigade *bb);

/* child_init: the lock of this process's table of static files' insertion points. */
void shs_filter_child_init(apr_pool_t *pchild, server_rec *s);

/* insert_filter hook: add the filter where injection can apply. */
void shs_filter_insert(request_rec *r);

#endif /* SHS_FILTER_H */
