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

/* The redirect pull: a peer without a live session bounces a top-level navigation once
 * through the group's hub, which hands back its session (browsers that block third-party
 * cookies all allow first-party cookies on top-level navigations). */

#ifndef SHS_PULL_H
#define SHS_PULL_H

#include <httpd.h>

#include "shs_ep.h"

/* header_parser: bounce this navigation through the hub when it should. */
int shs_pull_header_parser(request_rec *r);

/* GET <prefix>pull?r=URL on a peer. */
int shs_pull_start(request_rec *r, const shs_srv_conf_t *sc, const shs_ep_args_t *a);

/* GET <prefix>attach?t=TOKEN&r=URL on the hub. */
int shs_pull_attach(request_rec *r, const shs_srv_conf_t *sc, const shs_ep_args_t *a);

#endif /* SHS_PULL_H */
