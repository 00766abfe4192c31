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
 * without any <Location> block: "cb", the landing of a pushed session. */

#ifndef SHS_ENDPOINT_H
#define SHS_ENDPOINT_H

#include <httpd.h>

/* quick_handler: answers requests under the endpoint prefix of a virtual host in a group. */
int shs_endpoint_handler(request_rec *r, int lookup);

#endif /* SHS_ENDPOINT_H */
