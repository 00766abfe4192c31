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

#include "shs_refusal.h"

typedef struct refusal_info_t {
    const char *name;
    shs_refusal_e row; /* NONE: its own row */
} refusal_info_t;

static const refusal_info_t refusals[SHS_REFUSAL_COUNT] = {
    [SHS_REFUSAL_NONE] = { "none", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_MALFORMED] = { "malformed", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_BAD_VERSION] = { "bad-version", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_UNKNOWN_KEY] = { "unknown-key", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_BAD_AUTH] = { "bad-auth", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_EXPIRED] = { "expired", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_NOT_YET_VALID] = { "not-yet-valid", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_BAD_LIFETIME] = { "bad-lifetime", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_NO_TOKEN] = { "no-token", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_WRONG_DESTINATION] = { "wrong-destination", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_SOURCE_NOT_IN_GROUP] = { "source-not-in-group", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_SOURCE_IN_OTHER_GROUP] = { "source-in-other-group", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_SOURCE_IS_DESTINATION] = { "source-is-destination", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_WRONG_TRANSPORT] = { "wrong-transport", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_LOCAL_SESSION_KEPT] = { "local-session-kept", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_REPLAYED] = { "replayed", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_UNKNOWN_SESSION] = { "unknown-session", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_STATE_MISMATCH] = { "state-mismatch", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_NOT_FROM_HUB] = { "not-from-hub", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_STORE_UNAVAILABLE] = { "store-unavailable", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_WRONG_CONTEXT] = { "wrong-context", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_NO_REFERER] = { "no-referer", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_WRONG_REFERER] = { "wrong-referer", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_OTHER] = { "other", SHS_REFUSAL_NONE },
    [SHS_REFUSAL_PUSH_TOKEN_IN_PULL] = { "push-token-in-pull", SHS_REFUSAL_WRONG_TRANSPORT },
    [SHS_REFUSAL_PULL_TOKEN_IN_PUSH] = { "pull-token-in-push", SHS_REFUSAL_WRONG_TRANSPORT },
    [SHS_REFUSAL_NO_ORIGIN] = { "no-origin", SHS_REFUSAL_OTHER },
    [SHS_REFUSAL_WRONG_ORIGIN] = { "wrong-origin", SHS_REFUSAL_OTHER },
    [SHS_REFUSAL_NOT_CONFIGURED] = { "not-configured", SHS_REFUSAL_OTHER },
    [SHS_REFUSAL_NO_NONCE] = { "no-nonce", SHS_REFUSAL_OTHER },
    [SHS_REFUSAL_UNKNOWN_SITE] = { "unknown-site", SHS_REFUSAL_OTHER },
    [SHS_REFUSAL_NO_SESSION] = { "no-session", SHS_REFUSAL_OTHER },
};

static int in_range(shs_refusal_e why)
{
    return (unsigned int)why < SHS_REFUSAL_COUNT;
}

const char *shs_refusal_name(shs_refusal_e why)
{
    return in_range(why) ? refusals[why].name : "unknown";
}

shs_refusal_e shs_refusal_row(shs_refusal_e why)
{
    if (!in_range(why)) {
        return SHS_REFUSAL_OTHER;
    }
    return refusals[why].row != SHS_REFUSAL_NONE ? refusals[why].row : why;
}
