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

#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "shs_stats.h"

/* The block is shared by the processes of a server, so its counters must be atomic across
 * processes: apr_atomic_*64 are lock-free where APR is built on the compiler's atomic builtins
 * (Debian's is: apr_atomic_add64 is one locked xadd).  An APR built without them falls back
 * to process-local mutexes: counts might then be lost between processes, never memory. */

typedef struct counter_info_t {
    const char *name; /* text and Prometheus name (without shs_ / _total) */
    const char *help;
} counter_info_t;

static const counter_info_t counters[SHS_C_COUNT] = {
    [SHS_C_LOADS] = { "sessions_loaded", "sessions asked from memcached" },
    [SHS_C_HITS] = { "sessions_found", "sessions found in memcached" },
    [SHS_C_MISSES] = { "sessions_unknown", "ids memcached did not know (not adopted)" },
    [SHS_C_SAVES] = { "sessions_saved", "sessions written" },
    [SHS_C_CREATES] = { "sessions_created", "new session ids issued" },
    [SHS_C_DELETES] = { "sessions_deleted", "sessions emptied and deleted (logouts)" },
    [SHS_C_ROTATIONS] = { "sessions_rotated", "ids changed at a change of identity" },
    [SHS_C_STORE_OPS] = { "store_operations", "memcached operations" },
    [SHS_C_STORE_ERRORS] = { "store_errors", "memcached operations that failed" },
    [SHS_C_STORE_TIMEOUTS] = { "store_timeouts", "memcached operations that timed out" },
    [SHS_C_STORE_SKIPPED] = { "store_skipped", "operations refused at once (server down)" },
    [SHS_C_PAGES_TAGGED] = { "pages_tagged", "HTML pages that got loader tags" },
    [SHS_C_TAGS] = { "tags_injected", "loader tags injected" },
    [SHS_C_CB_ACCEPTED] = { "callbacks_accepted", "sessions received by the callback" },
    [SHS_C_BOUNCES] = { "pull_bounces", "navigations bounced through the hub" },
    [SHS_C_NO_COOKIES] = { "pull_no_cookies", "bounced clients that kept no cookies" },
    [SHS_C_ATTACHES] = { "hub_attaches", "sessions handed out by the hub" },
    [SHS_C_ATTACH_REFUSED] = { "hub_attaches_refused", "attach requests refused" },
    [SHS_C_CLIENT_ERRORS] = { "client_errors", "malformed cookies and requests ignored" },
    [SHS_C_STORE_REFUSED] = { "store_values_refused", "stored sessions that did not open" },
};

static apr_uint64_t get(apr_uint64_t *v)
{
    return apr_atomic_read64(v);
}

void shs_stats_init(shs_stats_t *st)
{
    memset(st, 0, sizeof(*st));
    st->started = (apr_uint64_t)apr_time_now();
}

void shs_stats_add(shs_stats_t *st, shs_counter_e c, apr_uint64_t n)
{
    if (st && c < SHS_C_COUNT) {
        apr_atomic_add64(&st->c[c], n);
    }
}

void shs_stats_refused(shs_stats_t *st, shs_refusal_e why)
{
    shs_refusal_e row = shs_refusal_row(why);

    if (st && row != SHS_REFUSAL_NONE) {
        apr_atomic_inc64(&st->refused[row]);
    }
}

void shs_stats_server(shs_stats_t *st, unsigned int slot, int down)
{
    shs_stats_server_t *s;

    if (!st || slot >= SHS_STATS_MAX_SERVERS) {
        return;
    }
    s = &st->servers[slot];
    apr_atomic_set64(&s->down, (apr_uint64_t)(down ? 1 : 0));
    apr_atomic_set64(&s->since, (apr_uint64_t)apr_time_now());
    apr_atomic_inc64(down ? &s->failures : &s->recoveries);
}

/* The words of shs_replica_event_e, for both outputs. */
static const struct {
    const char *name;
    const char *text;
} replica_events[SHS_RE_COUNT] = {
    [SHS_RE_FALLBACK] = {"fallback", "answered for another"},
    [SHS_RE_REPAIR] = {"repair", "repaired"},
    [SHS_RE_STALE] = {"stale", "found missing or older"},
    [SHS_RE_TOMBSTONE] = {"tombstone", "tombstones"},
};

void shs_stats_replica(shs_stats_t *st, unsigned int slot, shs_replica_event_e ev)
{
    if (st && slot < SHS_STATS_MAX_SERVERS && (unsigned int)ev < SHS_RE_COUNT) {
        apr_atomic_inc64(&st->servers[slot].replica[ev]);
    }
}

/* ", copies: answered for another 3, ..." for a server whose copies did anything, else "". */
static const char *replica_text(apr_pool_t *p, shs_stats_server_t *s)
{
    const char *out = "";
    int i, any = 0;

    for (i = 0; i < SHS_RE_COUNT; i++) {
        any |= get(&s->replica[i]) != 0;
    }
    if (!any) {
        return "";
    }
    for (i = 0; i < SHS_RE_COUNT; i++) {
        out = apr_psprintf(p, "%s%s %s %" APR_UINT64_T_FMT, out, i ? "," : "; copies:",
                           replica_events[i].text, get(&s->replica[i]));
    }
    return out;
}

const char *shs_stats_text(apr_pool_t *p, shs_stats_t *st, const char *const *names, int nservers,
                           apr_time_t now)
{
    char date[APR_RFC822_DATE_LEN];
    const char *out;
    int i;

    apr_rfc822_date(date, (apr_time_t)get(&st->started));
    out = apr_psprintf(p,
                       "mod_sharedsession status, all processes of this server\n"
                       "since: %s (%" APR_TIME_T_FMT " s)\n\n",
                       date, apr_time_sec(now - (apr_time_t)get(&st->started)));
    for (i = 0; i < SHS_C_COUNT; i++) {
        out = apr_psprintf(p, "%s%-22s %" APR_UINT64_T_FMT "\n", out, counters[i].name,
                           get(&st->c[i]));
    }
    out = apr_pstrcat(p, out, "\ncallbacks refused, by reason:\n", NULL);
    for (i = SHS_REFUSAL_MALFORMED; i < SHS_REFUSAL_ROWS; i++) {
        out = apr_psprintf(p, "%s  %-22s %" APR_UINT64_T_FMT "\n", out,
                           shs_refusal_name((shs_refusal_e)i), get(&st->refused[i]));
    }
    out = apr_pstrcat(p, out, "\nmemcached servers (breaker state last reported):\n", NULL);
    for (i = 0; i < nservers && i < SHS_STATS_MAX_SERVERS; i++) {
        shs_stats_server_t *s = &st->servers[i];
        apr_uint64_t since = get(&s->since);
        if (since) {
            apr_rfc822_date(date, (apr_time_t)since);
        }
        out = apr_psprintf(p,
                           "%s  %-22s %s since %s, failures %" APR_UINT64_T_FMT
                           ", recoveries %" APR_UINT64_T_FMT "%s\n",
                           out, names[i], get(&s->down) ? "down" : "up", since ? date : "start",
                           get(&s->failures), get(&s->recoveries), replica_text(p, s));
    }
    return out;
}

/* Prometheus label values: backslash, double quote and newline escaped. */
static const char *label(apr_pool_t *p, const char *v)
{
    char *out = apr_palloc(p, 2 * strlen(v) + 1), *o = out;

    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            *o++ = '\\';
            *o++ = *v;
        }
        else if (*v == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        }
        else {
            *o++ = *v;
        }
    }
    *o = '\0';
    return out;
}

const char *shs_stats_prometheus(apr_pool_t *p, shs_stats_t *st, const char *const *names,
                                 int nservers)
{
    const char *out = "";
    int i;

    for (i = 0; i < SHS_C_COUNT; i++) {
        out = apr_psprintf(p,
                           "%s# HELP shs_%s_total %s\n# TYPE shs_%s_total counter\n"
                           "shs_%s_total %" APR_UINT64_T_FMT "\n",
                           out, counters[i].name, counters[i].help, counters[i].name,
                           counters[i].name, get(&st->c[i]));
    }
    out = apr_pstrcat(p, out,
                      "# HELP shs_callbacks_refused_total tokens refused by the callback\n"
                      "# TYPE shs_callbacks_refused_total counter\n",
                      NULL);
    for (i = SHS_REFUSAL_MALFORMED; i < SHS_REFUSAL_ROWS; i++) {
        out =
            apr_psprintf(p, "%sshs_callbacks_refused_total{reason=\"%s\"} %" APR_UINT64_T_FMT "\n",
                         out, shs_refusal_name((shs_refusal_e)i), get(&st->refused[i]));
    }
    out = apr_pstrcat(p, out,
                      "# HELP shs_memcached_up 1 unless a process last reported the server down\n"
                      "# TYPE shs_memcached_up gauge\n",
                      NULL);
    for (i = 0; i < nservers && i < SHS_STATS_MAX_SERVERS; i++) {
        out = apr_psprintf(p, "%sshs_memcached_up{server=\"%s\"} %d\n", out, label(p, names[i]),
                           get(&st->servers[i].down) ? 0 : 1);
    }
    out = apr_pstrcat(p, out,
                      "# HELP shs_memcached_failures_total times a process saw the server fail\n"
                      "# TYPE shs_memcached_failures_total counter\n",
                      NULL);
    for (i = 0; i < nservers && i < SHS_STATS_MAX_SERVERS; i++) {
        out =
            apr_psprintf(p, "%sshs_memcached_failures_total{server=\"%s\"} %" APR_UINT64_T_FMT "\n",
                         out, label(p, names[i]), get(&st->servers[i].failures));
    }
    out = apr_pstrcat(p, out,
                      "# HELP shs_memcached_replica_events_total what the server's copies did "
                      "(replicas): fallback, repair, stale, tombstone\n"
                      "# TYPE shs_memcached_replica_events_total counter\n",
                      NULL);
    for (i = 0; i < nservers && i < SHS_STATS_MAX_SERVERS; i++) {
        int e;
        for (e = 0; e < SHS_RE_COUNT; e++) {
            out = apr_psprintf(p,
                               "%sshs_memcached_replica_events_total{server=\"%s\",event=\"%s\"} "
                               "%" APR_UINT64_T_FMT "\n",
                               out, label(p, names[i]), replica_events[e].name,
                               get(&st->servers[i].replica[e]));
        }
    }
    return out;
}
