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

/* The directive table with its handlers, and the start-up checks that span several
 * directives. */

#ifndef SHS_CMD_H
#define SHS_CMD_H

#include <httpd.h>
#include <http_config.h>

#include "shs_config.h"

/* The directive table of the module record: every SharedSession* directive, its handler
 * beside it in shs_cmd.c. */
extern const command_rec shs_cmds[];

/* The id cookie names SharedSessionCookieName gives anywhere in the server configuration
 * (not in .htaccess files), or NULL. */
const apr_array_header_t *shs_cmd_cookie_names(void);

/* SharedSession On somewhere in the server configuration, or a group: the store is needed. */
int shs_cmd_in_use(const shs_srv_conf_t *main_conf);

/* pre_config: forget what the previous configuration pass saw. */
void shs_cmd_reset(void);

/* check_config: places every virtual host in its group (shs_srv_resolve_group), then checks
 * what spans several directives.  Errors (a group or SharedSessionStoreEncrypt without a key
 * file, SharedSessionStore memcache without a server) are each logged, then counted in one
 * last line, and the start is refused (!OK).  Warnings (SharedSession On where no Session On
 * applies) are logged and do not stop it. */
int shs_cmd_check(apr_pool_t *ptemp, server_rec *s);

#endif /* SHS_CMD_H */
