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

/* shs-token: mint and open the module's cross-domain tokens, and store sealed sessions, from the
 * command line.
 *
 *   shs-token mint --keyfile F --src SITE --dst SITE (--sid ID | --new-sid | --sids FILE)
 *                  [--lifetime S] [--nonce N] [--count N]
 *   shs-token open --keyfile F [--now UNIXTIME] TOKEN
 *   shs-token sessions --keyfile F --sids FILE --value V [--prefix P] [--encrypt] [--ttl S]
 *                      [--store shm:PATH]
 *
 * Everything goes through the module's own core (libshs_core): the key file is read by
 * shs_keyring_load (same checks as httpd: regular file, not readable or writable by others),
 * tokens are sealed by shs_token_seal and opened by shs_token_open with the module's clock
 * skew, sites are parsed like SharedSessionGroup members and named as the module names them
 * in tokens (host, or host:port when a port is given). */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "shs_config.h"
#include "shs_id.h"
#include "shs_keys.h"
#include "shs_store_shm.h"
#include "shs_token.h"
#include "shs_value.h"

#define PROG "shs-token"
#define COUNT_MAX 10000000L
#define DEFAULT_LIFETIME SHS_DEFAULT_TOKEN_LIFETIME

static void usage(FILE *out)
{
    fprintf(out,
            "usage:\n"
            "  " PROG " mint --keyfile FILE --src SITE --dst SITE\n"
            "            (--sid ID | --new-sid | --sids FILE) [--lifetime SECONDS]\n"
            "            [--nonce NONCE] [--count N]\n"
            "  " PROG " open --keyfile FILE [--now UNIXTIME] TOKEN\n"
            "  " PROG " sessions --keyfile FILE --sids FILE --value VALUE [--prefix PREFIX]\n"
            "            [--encrypt] [--ttl SECONDS] [--store shm:PATH]\n"
            "  " PROG " --help\n"
            "\n"
            "mint   print tokens, one per line, sealed with the first key of the key file,\n"
            "       exactly as the module seals the tokens of its loader tags.\n"
            "         --src, --dst  sites as in SharedSessionGroup: host or host:port (a\n"
            "                       scheme, if given, is ignored: tokens carry host[:port])\n"
            "         --sid ID      the 43-character session id carried by the token\n"
            "         --new-sid     a fresh random id instead, printed on stderr\n"
            "         --sids FILE   one token per id read from FILE ('-': stdin), one id a\n"
            "                       line, in order (for load tests: a callback accepts one\n"
            "                       token per session and site)\n"
            "         --lifetime S  seconds the token is valid, 1..3600 (default %d)\n"
            "         --nonce N     a state nonce (pull tokens), at most %d chars of\n"
            "                       [A-Za-z0-9_-]; push tokens have none\n"
            "         --count N     print N tokens for the same id (default 1)\n"
            "open   decode a token (e.g. from a refused request in the log) and print what it\n"
            "       carries; a refused token prints the reason and exits with status 1.\n"
            "         --now T       check the time window as of unix time T (default: now),\n"
            "                       with the module's clock skew of %d s\n"
            "sessions  store VALUE (as mod_session encodes a session: user=alice&cart=3) as\n"
            "       the session of every id of --sids, sealed with the key file exactly as\n"
            "       the module seals what it stores (load tests, seeding).\n"
            "         without --store  print 'KEY SEALED-VALUE' a line, for a memcached client\n"
            "         --store shm:PATH write into the embedded store file PATH of a running\n"
            "                       server (SharedSessionStore shm:PATH); never creates it\n"
            "         --prefix P    SharedSessionKeyPrefix (default " SHS_DEFAULT_KEY_PREFIX ")\n"
            "         --encrypt     seal encrypted (SharedSessionStoreEncrypt On); the module\n"
            "                       opens either\n"
            "         --ttl S       seconds the sessions live in the store (default %d)\n"
            "\n"
            "The key file is read with the module's own loader: it must not be readable or\n"
            "writable by other users.\n",
            DEFAULT_LIFETIME, SHS_TOKEN_MAX_NONCE, SHS_TOKEN_SKEW, SHS_DEFAULT_TTL);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
    va_list ap;

    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

/* An option's value: "--name value" or "--name=value".  Returns the value and advances *i, or
 * NULL when argv[*i] is not this option. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    const char *a = argv[*i];

    if (strncmp(a, name, n)) {
        return NULL;
    }
    if (a[n] == '=') {
        return a + n + 1;
    }
    if (a[n] != '\0') {
        return NULL;
    }
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    (*i)++;
    return argv[*i];
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (!s || !*s || !(*s >= '0' && *s <= '9')) {
        return 0;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        return 0;
    }
    *out = v;
    return 1;
}

static int nonce_ok(const char *n)
{
    size_t len = strlen(n);

    return len <= SHS_TOKEN_MAX_NONCE && strspn(n,
                                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                "0123456789_-") == len;
}

/* A site as SharedSessionGroup takes it, named as the module names it in tokens. */
static const char *site_name(apr_pool_t *p, const char *opt, const char *arg, int *rc)
{
    shs_member_t m;
    const char *err;

    if (!arg) {
        *rc = fail("mint: %s SITE is required", opt);
        return NULL;
    }
    if ((err = shs_parse_member(p, arg, &m))) {
        *rc = fail("mint: %s: %s", opt, err);
        return NULL;
    }
    return shs_member_name(p, &m);
}

static shs_keyring_t *load_keys(apr_pool_t *p, const char *cmd, const char *path)
{
    shs_keyring_t *kr = NULL;
    const char *err = NULL;

    if (!path) {
        fail("%s: --keyfile FILE is required", cmd);
        return NULL;
    }
    if (shs_keyring_load(p, path, &kr, &err) != APR_SUCCESS) {
        fail("%s", err ? err : "cannot read the key file");
        return NULL;
    }
    return kr;
}

/* Seal one token for sid (43 chars, already checked) and print it. */
static int mint_one(apr_pool_t *p, const shs_keyring_t *kr, shs_token_t *tmpl, const char *sid)
{
    shs_token_t t = *tmpl;
    unsigned char *raw;
    apr_size_t rawlen;
    const char *out;
    apr_status_t rv;

    if (shs_b64url_decode(p, sid, strlen(sid), &raw, &rawlen) != APR_SUCCESS ||
        rawlen != SHS_SID_BYTES) {
        return fail("mint: cannot decode session id");
    }
    memcpy(t.sid, raw, SHS_SID_BYTES);
    rv = shs_token_seal(p, kr, &t, &out);
    if (rv == APR_EINVAL) {
        return fail("mint: the token was refused by shs_token_seal (bad site, nonce or lifetime)");
    }
    if (rv != APR_SUCCESS) {
        return fail("mint: sealing failed (OpenSSL error)");
    }
    if (puts(out) == EOF) {
        return fail("mint: cannot write to stdout: %s", strerror(errno));
    }
    return 0;
}

/* Call fn for every id of the file ('-': stdin), one a line (blank lines skipped), with iter
 * cleared after each; stops at the first failure.  An empty file is an error. */
static int each_sid(apr_pool_t *iter, const char *cmd, const char *path,
                    int (*fn)(apr_pool_t *p, void *baton, const char *sid), void *baton)
{
    FILE *in = strcmp(path, "-") ? fopen(path, "r") : stdin;
    char line[256];
    long lineno = 0, n = 0;
    int rc = 0;

    if (!in) {
        return fail("%s: --sids %s: %s", cmd, path, strerror(errno));
    }
    while (!rc && fgets(line, sizeof(line), in)) {
        size_t len = strcspn(line, "\r\n");
        lineno++;
        if (len == 0) {
            continue;
        }
        line[len] = '\0';
        if (!shs_id_is_valid(line, len)) {
            rc = fail("%s: --sids %s, line %ld: not a session id", cmd, path, lineno);
            break;
        }
        rc = fn(iter, baton, line);
        apr_pool_clear(iter);
        n++;
    }
    if (!rc && ferror(in)) {
        rc = fail("%s: --sids %s: read error", cmd, path);
    }
    if (in != stdin) {
        fclose(in);
    }
    if (!rc && n == 0) {
        rc = fail("%s: --sids %s: no session id in the file", cmd, path);
    }
    return rc;
}

typedef struct {
    const shs_keyring_t *kr;
    shs_token_t *tmpl;
} mint_baton_t;

static int mint_line(apr_pool_t *p, void *baton, const char *sid)
{
    mint_baton_t *b = baton;
    return mint_one(p, b->kr, b->tmpl, sid);
}

static int cmd_mint(apr_pool_t *p, int argc, char **argv)
{
    const char *keyfile = NULL, *src = NULL, *dst = NULL, *sid = NULL, *sids = NULL;
    const char *lifetime_s = NULL, *nonce = NULL, *count_s = NULL, *v;
    long lifetime = DEFAULT_LIFETIME, count = 1, i;
    int new_sid = 0, missing = 0, rc = 0, idx;
    char idbuf[SHS_ID_LEN + 1];
    shs_keyring_t *kr;
    shs_token_t tmpl;
    apr_pool_t *iter;
    apr_int64_t now;

    for (idx = 0; idx < argc; idx++) {
        if ((v = opt_value(argc, argv, &idx, "--keyfile", &missing))) {
            keyfile = v;
        }
        else if ((v = opt_value(argc, argv, &idx, "--src", &missing))) {
            src = v;
        }
        else if ((v = opt_value(argc, argv, &idx, "--dst", &missing))) {
            dst = v;
        }
        else if ((v = opt_value(argc, argv, &idx, "--sids", &missing))) {
            sids = v;
        }
        else if ((v = opt_value(argc, argv, &idx, "--sid", &missing))) {
            sid = v;
        }
        else if ((v = opt_value(argc, argv, &idx, "--lifetime", &missing))) {
            lifetime_s = v;
        }
        else if ((v = opt_value(argc, argv, &idx, "--nonce", &missing))) {
            nonce = v;
        }
        else if ((v = opt_value(argc, argv, &idx, "--count", &missing))) {
            count_s = v;
        }
        else if (!missing && !strcmp(argv[idx], "--new-sid")) {
            new_sid = 1;
        }
        else if (!missing && (!strcmp(argv[idx], "--help") || !strcmp(argv[idx], "-h"))) {
            usage(stdout);
            return 0;
        }
        if (missing) {
            return fail("mint: %s needs a value", argv[idx]);
        }
        if (!v && strcmp(argv[idx], "--new-sid")) {
            return fail("mint: unknown argument '%s' (see --help)", argv[idx]);
        }
    }

    if ((sid != NULL) + new_sid + (sids != NULL) != 1) {
        return fail("mint: give exactly one of --sid ID, --new-sid, --sids FILE");
    }
    if (sid && !shs_id_is_valid(sid, strlen(sid))) {
        return fail("mint: --sid: not a session id (43 characters of base64url, as in the "
                    "session cookie)");
    }
    if (lifetime_s && !parse_long(lifetime_s, 1, SHS_TOKEN_MAX_LIFETIME, &lifetime)) {
        return fail("mint: --lifetime: a number of seconds from 1 to %d", SHS_TOKEN_MAX_LIFETIME);
    }
    if (count_s && !parse_long(count_s, 1, COUNT_MAX, &count)) {
        return fail("mint: --count: a number from 1 to %ld", COUNT_MAX);
    }
    if (count_s && sids) {
        return fail("mint: --count does not go with --sids (one token per id of the file)");
    }
    if (nonce && !nonce_ok(nonce)) {
        return fail("mint: --nonce: at most %d characters of [A-Za-z0-9_-]", SHS_TOKEN_MAX_NONCE);
    }
    if (!(src = site_name(p, "--src", src, &rc)) || !(dst = site_name(p, "--dst", dst, &rc))) {
        return rc;
    }
    if (strlen(src) > SHS_TOKEN_MAX_HOST || strlen(dst) > SHS_TOKEN_MAX_HOST) {
        return fail("mint: a site name is longer than %d characters", SHS_TOKEN_MAX_HOST);
    }
    if (!strcasecmp(src, dst)) {
        fprintf(stderr, PROG ": warning: --src and --dst are the same site; the callback "
                        "refuses such a token (source-is-destination)\n");
    }
    if (!(kr = load_keys(p, "mint", keyfile))) {
        return 2;
    }
    if (new_sid) {
        if (shs_id_generate(idbuf) != APR_SUCCESS) {
            return fail("mint: cannot generate a session id (OpenSSL RNG)");
        }
        sid = idbuf;
        fprintf(stderr, "%s\n", sid);
    }

    now = apr_time_sec(apr_time_now());
    memset(&tmpl, 0, sizeof(tmpl));
    tmpl.issued = now;
    tmpl.expires = now + lifetime;
    tmpl.src = src;
    tmpl.dst = dst;
    tmpl.nonce = nonce;
    apr_pool_create(&iter, p);

    if (sids) {
        rc = each_sid(iter, "mint", sids, mint_line, &(mint_baton_t){kr, &tmpl});
    }
    else {
        for (i = 0; i < count && !rc; i++) {
            rc = mint_one(iter, kr, &tmpl, sid);
            apr_pool_clear(iter);
        }
    }
    if (fflush(stdout) == EOF) {
        return fail("mint: cannot write to stdout: %s", strerror(errno));
    }
    return rc;
}

static const char *utc(apr_pool_t *p, apr_int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    char buf[64];

    if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm)) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT, t);
    }
    return apr_psprintf(p, "%s (%" APR_INT64_T_FMT ")", buf, t);
}

static void print_token(apr_pool_t *p, const shs_token_t *t, apr_int64_t now)
{
    const char *sid = NULL, *tid = NULL;

    shs_b64url_encode(p, t->sid, SHS_SID_BYTES, &sid);
    shs_b64url_encode(p, t->tid, sizeof(t->tid), &tid);
    printf("key id:      %u\n", t->key_id);
    printf("issued:      %s\n", utc(p, t->issued));
    printf("expires:     %s, lifetime %" APR_INT64_T_FMT " s", utc(p, t->expires),
           t->expires - t->issued);
    if (now > t->expires) {
        printf(", expired %" APR_INT64_T_FMT " s ago\n", now - t->expires);
    }
    else if (now < t->issued) {
        printf(", issued %" APR_INT64_T_FMT " s in the future\n", t->issued - now);
    }
    else {
        printf(", %" APR_INT64_T_FMT " s left\n", t->expires - now);
    }
    printf("src:         %s\n", t->src);
    printf("dst:         %s\n", t->dst);
    printf("sid:         %s\n", sid ? sid : "?");
    printf("fingerprint: %s (as the log names the session)\n",
           sid ? shs_id_fingerprint(p, sid) : "?");
    printf("nonce:       %s\n", t->nonce && *t->nonce ? t->nonce : "(none: a push token)");
    printf("token id:    %s\n", tid ? tid : "?");
}

static int cmd_open(apr_pool_t *p, int argc, char **argv)
{
    const char *keyfile = NULL, *token = NULL, *now_s = NULL, *v;
    shs_refusal_e why = SHS_REFUSAL_NONE;
    shs_token_t *t = NULL;
    shs_keyring_t *kr;
    apr_int64_t now = apr_time_sec(apr_time_now());
    int missing = 0, idx;
    long nowl;

    for (idx = 0; idx < argc; idx++) {
        if ((v = opt_value(argc, argv, &idx, "--keyfile", &missing))) {
            keyfile = v;
        }
        else if ((v = opt_value(argc, argv, &idx, "--now", &missing))) {
            now_s = v;
        }
        else if (missing) {
            return fail("open: %s needs a value", argv[idx]);
        }
        else if (!strcmp(argv[idx], "--help") || !strcmp(argv[idx], "-h")) {
            usage(stdout);
            return 0;
        }
        else if (argv[idx][0] == '-' && argv[idx][1] == '-') {
            return fail("open: unknown option '%s' (see --help)", argv[idx]);
        }
        else if (token) {
            return fail("open: give one token");
        }
        else {
            token = argv[idx];
        }
        if (missing) {
            return fail("open: %s needs a value", argv[idx]);
        }
    }
    if (!token) {
        return fail("open: no token given (see --help)");
    }
    if (now_s) {
        if (!parse_long(now_s, 0, 0x7fffffffL, &nowl)) {
            return fail("open: --now: a unix time in seconds");
        }
        now = nowl;
    }
    /* a token copied from a URL or a log line: t=... and a trailing &... are tolerated */
    if (!strncmp(token, "t=", 2)) {
        token += 2;
    }
    token = apr_pstrndup(p, token, strcspn(token, "& \t\r\n\""));
    if (!(kr = load_keys(p, "open", keyfile))) {
        return 2;
    }
    if (shs_token_open(p, kr, token, now, SHS_TOKEN_SKEW, &t, &why) == APR_SUCCESS) {
        printf("status:      accepted by the key file (the callback still checks destination, "
               "group, replay and the session)\n");
        print_token(p, t, now);
        return 0;
    }
    printf("refused:     %s\n", shs_refusal_name(why));
    if (why == SHS_REFUSAL_EXPIRED || why == SHS_REFUSAL_NOT_YET_VALID) {
        /* authentic but outside its window: show what it carries anyway */
        if (shs_token_open(p, kr, token, now, APR_INT64_MAX, &t, &why) == APR_SUCCESS) {
            print_token(p, t, now);
        }
    }
    return 1;
}

/* ------------------------------------------------------------------ sessions */

typedef struct {
    const shs_keyring_t *kr;
    const char *prefix;
    const char *value;
    int encrypt;
    apr_int64_t ttl;
    const shs_store_ops_t *ops; /* NULL: print */
    void *ctx;
    long stored;
} sessions_baton_t;

static int session_line(apr_pool_t *p, void *baton, const char *sid)
{
    sessions_baton_t *b = baton;
    const char *key = shs_id_store_key(p, b->prefix, sid), *sealed;
    apr_size_t len;
    apr_status_t rv;

    rv = shs_value_seal(p, b->kr, b->encrypt, key, b->value, strlen(b->value), &sealed, &len);
    if (rv != APR_SUCCESS) {
        return fail("sessions: sealing failed (%s)",
                    rv == APR_EINVAL ? "refused: key or value" : "OpenSSL error");
    }
    if (!b->ops) {
        if (printf("%s %.*s\n", key, (int)len, sealed) < 0) {
            return fail("sessions: cannot write to stdout: %s", strerror(errno));
        }
        return 0;
    }
    rv = b->ops->set(b->ctx, 0, key, sealed, len, b->ttl);
    if (rv != APR_SUCCESS) {
        char buf[120];
        return fail("sessions: the store refused session %ld: %s", b->stored + 1,
                    apr_strerror(rv, buf, sizeof(buf)));
    }
    b->stored++;
    return 0;
}

static int cmd_sessions(apr_pool_t *p, int argc, char **argv)
{
    const char *keyfile = NULL, *sids = NULL, *store = NULL, *ttl_s = NULL, *v;
    sessions_baton_t b = {.prefix = SHS_DEFAULT_KEY_PREFIX, .ttl = SHS_DEFAULT_TTL};
    int missing = 0, rc, idx;
    apr_pool_t *iter;
    long ttl;

    for (idx = 0; idx < argc; idx++) {
        if ((v = opt_value(argc, argv, &idx, "--keyfile", &missing))) {
            keyfile = v;
        }
        else if ((v = opt_value(argc, argv, &idx, "--sids", &missing))) {
            sids = v;
        }
        else if ((v = opt_value(argc, argv, &idx, "--value", &missing))) {
            b.value = v;
        }
        else if ((v = opt_value(argc, argv, &idx, "--prefix", &missing))) {
            b.prefix = v;
        }
        else if ((v = opt_value(argc, argv, &idx, "--ttl", &missing))) {
            ttl_s = v;
        }
        else if ((v = opt_value(argc, argv, &idx, "--store", &missing))) {
            store = v;
        }
        else if (!missing && !strcmp(argv[idx], "--encrypt")) {
            b.encrypt = 1;
            v = argv[idx];
        }
        else if (!missing && (!strcmp(argv[idx], "--help") || !strcmp(argv[idx], "-h"))) {
            usage(stdout);
            return 0;
        }
        if (missing) {
            return fail("sessions: %s needs a value", argv[idx]);
        }
        if (!v) {
            return fail("sessions: unknown argument '%s' (see --help)", argv[idx]);
        }
    }
    if (!sids || !b.value) {
        return fail("sessions: --sids FILE and --value VALUE are required");
    }
    if (ttl_s) {
        if (!parse_long(ttl_s, 1, 30L * 24 * 3600, &ttl)) {
            return fail("sessions: --ttl: a number of seconds from 1 to %ld", 30L * 24 * 3600);
        }
        b.ttl = ttl;
    }
    if (!(b.kr = load_keys(p, "sessions", keyfile))) {
        return 2;
    }
    if (store) {
        shs_shm_t *shm;
        const char *why = NULL;
        apr_status_t rv;
        char buf[120];

        if (strncmp(store, "shm:", 4) || !store[4]) {
            return fail("sessions: --store: shm:PATH (the file of SharedSessionStore shm:PATH)");
        }
        rv = shs_store_shm_attach(p, store + 4, &shm, &why);
        if (rv != APR_SUCCESS) {
            return fail("sessions: --store %s: %s", store,
                        why ? why : apr_strerror(rv, buf, sizeof(buf)));
        }
        shs_store_shm_ops(shm, &b.ops, &b.ctx);
    }
    apr_pool_create(&iter, p);
    rc = each_sid(iter, "sessions", sids, session_line, &b);
    if (fflush(stdout) == EOF) {
        return fail("sessions: cannot write to stdout: %s", strerror(errno));
    }
    if (!rc && b.ops) {
        fprintf(stderr, PROG ": %ld session(s) stored in %s\n", b.stored, store);
    }
    return rc;
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    int rc;

    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        fprintf(stderr, PROG ": cannot initialise APR\n");
        return 2;
    }
    if (!strcmp(argv[1], "mint")) {
        rc = cmd_mint(p, argc - 2, argv + 2);
    }
    else if (!strcmp(argv[1], "open")) {
        rc = cmd_open(p, argc - 2, argv + 2);
    }
    else if (!strcmp(argv[1], "sessions")) {
        rc = cmd_sessions(p, argc - 2, argv + 2);
    }
    else {
        rc = fail("unknown command '%s': mint, open or sessions (see --help)", argv[1]);
    }
    apr_pool_destroy(p); /* wipes the derived keys */
    apr_terminate();
    return rc;
}
