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

/* The endpoints every site of a group answers under SharedSessionEndpoint (default /_shs/),
 * without any <Location> block:
 *   go      the first step of a push, on the pushing site: a loader tag of its own page asks
 *           for it; it mints the token for one peer from the visitor's id cookie and
 *           redirects to that peer's cb (the token is never in the page)
 *   cb      the landing of a session: from go (push) or from the hub (pull)
 *   pull    a peer's first step of the pull: checks that the browser keeps cookies
 *   attach  the hub's step of the pull: hands its session to the peer */

#ifndef SHS_ENDPOINT_H
#define SHS_ENDPOINT_H

#include <httpd.h>

/* quick_handler: answers requests under the endpoint prefix of a virtual host in a group. */
int shs_endpoint_handler(request_rec *r, int lookup);

#endif /* SHS_ENDPOINT_H */
