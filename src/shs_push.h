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

/* The push: which sites of the group still need this visitor's session id, and the loader
 * tags that carry it to them. */

#ifndef SHS_PUSH_H
#define SHS_PUSH_H

#include <httpd.h>

#include "shs_config.h"
#include "shs_ep.h"

/* The loader tags to put into this HTML page, or NULL when no site needs one now.  Records
 * (in the sync cookie, on this site) that they were sent, so that an unconfirmed site is
 * tried again only after SharedSessionPushRetry.  dry: the same tags (same length), nothing
 * recorded (for a HEAD request, which must get the headers of the GET). */
const char *shs_push_tags(request_rec *r, const char *id, int dry);

/* The go endpoint (<prefix>go?to=SITE[&k=js]) on the pushing site: a loader tag of one of its
 * pages asks it; it answers a redirect to SITE's callback with a fresh token for the id in
 * this browser's id cookie, or, when it cannot, the push's empty answer. */
int shs_push_go(request_rec *r, const shs_srv_conf_t *sc, const shs_ep_args_t *a);

#endif /* SHS_PUSH_H */
