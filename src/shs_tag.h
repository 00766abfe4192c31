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

/* The loader tags of the push: one <img> or <script> tag for a URL of this site's go endpoint,
 * every attribute value escaped.  Pure C over APR: no httpd calls, so it is unit-tested. */

#ifndef SHS_TAG_H
#define SHS_TAG_H

#include <apr_pools.h>

/* Escape s for use inside a double-quoted HTML attribute value: & < > " ' ` = become character
 * references, control characters (< 0x20 and 0x7f) are dropped, other bytes are copied as they
 * are (UTF-8 passes through).  NULL gives "". */
const char *shs_tag_escape_attr(apr_pool_t *p, const char *s);

typedef enum { SHS_TAG_IMG = 0, SHS_TAG_SCRIPT = 1 } shs_tag_kind_e;

/* One loader tag for `url` (already fully formed; it is escaped here), on one line:
 *  IMG:    <img src="URL" alt="" width="1" height="1" style="display:none"
 *          crossorigin="use-credentials" referrerpolicy="origin"[ nonce="N"]>
 *  SCRIPT: <script async src="URL" crossorigin="use-credentials" referrerpolicy="origin"
 *          [ nonce="N"]></script>
 * The CSP nonce is optional: NULL or "" means none; it is escaped too.  Returns NULL when url
 * is NULL or kind is unknown. */
const char *shs_tag_make(apr_pool_t *p, shs_tag_kind_e kind, const char *url, const char *nonce);

#endif /* SHS_TAG_H */
