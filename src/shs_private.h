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

/* Included by every file that talks to httpd: the module declaration, so that
 * `LogLevel sharedsession:debug` works for all of them, and the shared runtime state. */

#ifndef SHS_PRIVATE_H
#define SHS_PRIVATE_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "shs_config.h"

extern module AP_MODULE_DECLARE_DATA sharedsession_module;

/* mod_sharedsession.c gets it from AP_DECLARE_MODULE */
#if defined(APLOG_USE_MODULE) && !defined(SHS_MODULE_FILE)
APLOG_USE_MODULE(sharedsession);
#endif

#define SHS_DIR_CONF(r)                                                                            \
    ((shs_dir_conf_t *)ap_get_module_config((r)->per_dir_config, &sharedsession_module))
#define SHS_SRV_CONF(s)                                                                            \
    ((shs_srv_conf_t *)ap_get_module_config((s)->module_config, &sharedsession_module))

#endif /* SHS_PRIVATE_H */
