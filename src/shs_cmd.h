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

/* Directive handlers and the start-up checks that span several directives. */

#ifndef SHS_CMD_H
#define SHS_CMD_H

#include <httpd.h>
#include <http_config.h>

const char *shs_cmd_memcache(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *shs_cmd_memcache_timeout(cmd_parms *cmd, void *dc, const char *arg);
const char *shs_cmd_memcache_retry(cmd_parms *cmd, void *dc, const char *arg);
const char *shs_cmd_memcache_conns(cmd_parms *cmd, void *dc, const char *arg);
const char *shs_cmd_memcache_replicas(cmd_parms *cmd, void *dc, const char *arg);
const char *shs_cmd_key_prefix(cmd_parms *cmd, void *dc, const char *arg);
const char *shs_cmd_keyfile(cmd_parms *cmd, void *dc, const char *arg);
const char *shs_cmd_group(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *shs_cmd_enable(cmd_parms *cmd, void *dc, int flag);
const char *shs_cmd_cookie_name(cmd_parms *cmd, void *dc, const char *name, const char *attrs);
const char *shs_cmd_cookie_remove(cmd_parms *cmd, void *dc, int flag);
const char *shs_cmd_store_down(cmd_parms *cmd, void *dc, const char *arg);
const char *shs_cmd_ttl(cmd_parms *cmd, void *dc, const char *arg);
const char *shs_cmd_endpoint(cmd_parms *cmd, void *dc, const char *arg);
const char *shs_cmd_token_lifetime(cmd_parms *cmd, void *dc, const char *arg);
const char *shs_cmd_push_retry(cmd_parms *cmd, void *dc, const char *arg);
const char *shs_cmd_replace(cmd_parms *cmd, void *dc, int flag);
const char *shs_cmd_inject(cmd_parms *cmd, void *dc, int flag);
const char *shs_cmd_transport(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *shs_cmd_hub(cmd_parms *cmd, void *dc, const char *group, const char *site);
const char *shs_cmd_pull_retry(cmd_parms *cmd, void *dc, const char *arg);
const char *shs_cmd_store_encrypt(cmd_parms *cmd, void *dc, int flag);
const char *shs_cmd_store(cmd_parms *cmd, void *dc, const char *arg);
/* The id cookie names SharedSessionCookieName gives anywhere in the server configuration
 * (not in .htaccess files), or NULL. */
const apr_array_header_t *shs_cmd_cookie_names(void);

/* SharedSession On somewhere in the server configuration, or a group: the store is needed. */
int shs_cmd_in_use(const shs_srv_conf_t *main_conf);
const char *shs_cmd_app_cookie(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *shs_cmd_identity_keys(cmd_parms *cmd, void *dc, int argc, char *const argv[]);

/* pre_config: forget what the previous configuration pass saw. */
void shs_cmd_reset(void);

/* check_config: SharedSession On needs SharedSessionMemcache and, in the same place, Session On;
 * a group needs a key file.  Also finds the group (and own entry) of every virtual host.
 * Logs the problem and returns !OK when the configuration cannot work. */
int shs_cmd_check(apr_pool_t *ptemp, server_rec *s);

#endif /* SHS_CMD_H */
