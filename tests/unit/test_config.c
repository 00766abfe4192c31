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

/* Unit tests of src/shs_config.c: create/merge, defaults, value parsers, group lookup. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "unit_pool.h"
#include "shs_config.h"

static void test_parse_store(void **state)
{
    shs_store_kind_e kind;
    const char *path;
    apr_size_t bytes;

    (void)state;
    assert_null(shs_parse_store(pool, "memcache", &kind, &path, &bytes));
    assert_int_equal(kind, SHS_STORE_MEMCACHE);
    assert_null(shs_parse_store(pool, "shm", &kind, &path, &bytes));
    assert_int_equal(kind, SHS_STORE_SHM);
    assert_null(path);
    assert_int_equal(bytes, 0);
    assert_null(shs_parse_store(pool, "shm:/var/lib/x.shm(64M)", &kind, &path, &bytes));
    assert_string_equal(path, "/var/lib/x.shm");
    assert_int_equal(bytes, 64 * 1024 * 1024);
    assert_null(shs_parse_store(pool, "shm(1048576)", &kind, &path, &bytes));
    assert_null(path);
    assert_int_equal(bytes, 1048576);
    assert_null(shs_parse_store(pool, "shm:run/s.shm", &kind, &path, &bytes));
    assert_string_equal(path, "run/s.shm");
    /* refused */
    assert_non_null(shs_parse_store(pool, "redis", &kind, &path, &bytes));
    assert_non_null(shs_parse_store(pool, "shmx", &kind, &path, &bytes));
    assert_non_null(shs_parse_store(pool, "shm:", &kind, &path, &bytes));
    assert_non_null(shs_parse_store(pool, "shm(12)", &kind, &path, &bytes)); /* too small */
    assert_non_null(shs_parse_store(pool, "shm(1X)", &kind, &path, &bytes));
    assert_non_null(shs_parse_store(pool, "shm(64M", &kind, &path, &bytes));
    assert_non_null(shs_parse_store(pool, "shm(-5M)", &kind, &path, &bytes));
    assert_non_null(shs_parse_store(pool, "shm(65G)", &kind, &path, &bytes));
}

static void test_dir_defaults(void **state)
{
    shs_dir_conf_t *d = shs_dir_conf_create(pool);

    assert_false(shs_dir_enabled(d));
    assert_string_equal(shs_dir_cookie_name(d), SHS_DEFAULT_COOKIE_NAME);
    assert_string_equal(shs_dir_cookie_attrs(pool, d, 0), "Path=/; HttpOnly; SameSite=Lax");
    assert_string_equal(shs_dir_cookie_attrs(pool, d, 1), "Path=/; HttpOnly; SameSite=Lax; Secure");
    assert_true(shs_dir_cookie_remove(d));
    assert_int_equal(shs_dir_down_policy(d), SHS_DOWN_ANONYMOUS);
    assert_int_equal(shs_dir_ttl(d), SHS_DEFAULT_TTL);
}

static void test_dir_merge(void **state)
{
    shs_dir_conf_t *base = shs_dir_conf_create(pool), *add = shs_dir_conf_create(pool), *m;

    base->enabled = 1;
    base->enabled_where = "httpd.conf:10";
    base->cookie_name = "sid";
    base->cookie_attrs = "Path=/app";
    base->ttl = 600;
    base->down_policy = SHS_DOWN_REFUSE;

    /* an empty child inherits everything */
    m = shs_dir_conf_merge(pool, base, add);
    assert_true(shs_dir_enabled(m));
    assert_string_equal(m->enabled_where, "httpd.conf:10");
    assert_string_equal(shs_dir_cookie_name(m), "sid");
    assert_string_equal(shs_dir_cookie_attrs(pool, m, 1), "Path=/app");
    assert_int_equal(shs_dir_ttl(m), 600);
    assert_int_equal(shs_dir_down_policy(m), SHS_DOWN_REFUSE);
    assert_true(shs_dir_cookie_remove(m));

    /* a child overrides what it sets, and only that (.htaccess: SharedSession Off) */
    add->enabled = 0;
    add->enabled_where = ".htaccess:1";
    add->cookie_remove = 0;
    m = shs_dir_conf_merge(pool, base, add);
    assert_false(shs_dir_enabled(m));
    assert_false(shs_dir_cookie_remove(m));
    assert_string_equal(shs_dir_cookie_name(m), "sid");
    assert_int_equal(shs_dir_ttl(m), 600);

    /* a cookie name given without attributes resets the attributes to the defaults */
    add->cookie_name = "other";
    add->cookie_attrs = "";
    m = shs_dir_conf_merge(pool, base, add);
    assert_string_equal(shs_dir_cookie_name(m), "other");
    assert_string_equal(shs_dir_cookie_attrs(pool, m, 0), "Path=/; HttpOnly; SameSite=Lax");
}

static void test_srv_merge(void **state)
{
    shs_srv_conf_t *base = shs_srv_conf_create(pool), *add = shs_srv_conf_create(pool), *m;
    shs_mc_addr_t *a;

    assert_int_equal(shs_srv_timeout(base), SHS_DEFAULT_TIMEOUT);
    assert_int_equal(shs_srv_retry(base), SHS_DEFAULT_RETRY);
    assert_string_equal(shs_srv_key_prefix(base), "shs:");

    base->servers = apr_array_make(pool, 1, sizeof(shs_mc_addr_t));
    a = apr_array_push(base->servers);
    a->host = "127.0.0.1";
    a->port = 11211;
    base->timeout = apr_time_from_msec(100);
    base->retry = 0; /* 0 is a value, not "unset" */
    base->key_prefix = "x:";
    m = shs_srv_conf_merge(pool, base, add);
    assert_ptr_equal(m->servers, base->servers);
    assert_int_equal(shs_srv_timeout(m), apr_time_from_msec(100));
    assert_int_equal(shs_srv_retry(m), 0);
    assert_string_equal(shs_srv_key_prefix(m), "x:");
}

static void test_parse_mc_addr(void **state)
{
    shs_mc_addr_t a;
    const char *err;

    assert_null(shs_parse_mc_addr(pool, "127.0.0.1:11211", &a));
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(a.port, 11211);
    assert_null(shs_parse_mc_addr(pool, "cache-1.example:1", &a));
    assert_string_equal(a.host, "cache-1.example");
    assert_null(shs_parse_mc_addr(pool, "[::1]:11211", &a));
    assert_string_equal(a.host, "::1");

    err = shs_parse_mc_addr(pool, "localhost:99999", &a);
    assert_non_null(err);
    assert_non_null(strstr(err, "65535"));
    assert_non_null(shs_parse_mc_addr(pool, "localhost", &a));
    assert_non_null(shs_parse_mc_addr(pool, ":11211", &a));
    assert_non_null(shs_parse_mc_addr(pool, "localhost:", &a));
    assert_non_null(shs_parse_mc_addr(pool, "localhost:0", &a));
    assert_non_null(shs_parse_mc_addr(pool, "localhost:12x", &a));
    assert_non_null(shs_parse_mc_addr(pool, "bad host:11211", &a));
    assert_non_null(shs_parse_mc_addr(pool, "a\r\nb:11211", &a));
    assert_non_null(shs_parse_mc_addr(pool, "[]:11211", &a));
    assert_non_null(shs_parse_mc_addr(pool, "-a.b:1", &a));
}

static void test_parse_mc_socket(void **state)
{
    char longest[SHS_MC_SOCKET_MAX + 2];
    shs_mc_addr_t a;
    const char *err;

    assert_null(shs_parse_mc_addr(pool, "/run/memcached/memcached.sock", &a));
    assert_string_equal(a.host, "/run/memcached/memcached.sock");
    assert_int_equal(a.port, 0);
    /* a colon in a path is part of it, not a port */
    assert_null(shs_parse_mc_addr(pool, "/run/mc:1.sock", &a));
    assert_string_equal(a.host, "/run/mc:1.sock");
    assert_int_equal(a.port, 0);

    memset(longest, 's', sizeof(longest));
    longest[0] = '/';
    longest[SHS_MC_SOCKET_MAX] = '\0'; /* 107 bytes: the most a sockaddr_un holds */
    assert_null(shs_parse_mc_addr(pool, longest, &a));
    longest[SHS_MC_SOCKET_MAX] = 's';
    longest[SHS_MC_SOCKET_MAX + 1] = '\0';
    err = shs_parse_mc_addr(pool, longest, &a);
    assert_non_null(err);
    assert_non_null(strstr(err, "at most 107 bytes"));
    err = shs_parse_mc_addr(pool, "/tmp/a b.sock", &a);
    assert_non_null(err);
    assert_string_equal(err, "'/tmp/a?b.sock': a socket path may not contain spaces or control "
                             "characters (shown as '?')");
    err = shs_parse_mc_addr(pool, "/tmp/a\nb\x7f.sock", &a);
    assert_non_null(err);
    assert_non_null(strstr(err, "'/tmp/a?b?.sock'"));
    /* any other byte is the file system's business: UTF-8 names are paths too */
    assert_null(shs_parse_mc_addr(pool, "/tmp/m\xc3\xa9mcached.sock", &a));
    err = shs_parse_mc_addr(pool, "run/memcached.sock", &a);
    assert_non_null(err);
    assert_non_null(strstr(err, "absolute path of a unix socket"));
}

/* Whether a and b, as written in SharedSessionMemcache, are one server. */
static int same(const char *a, const char *b)
{
    shs_mc_addr_t x, y;

    assert_null(shs_parse_mc_addr(pool, a, &x));
    assert_null(shs_parse_mc_addr(pool, b, &y));
    return shs_mc_addr_same(pool, &x, &y);
}

static void test_mc_addr_same(void **state)
{
    (void)state;
    assert_true(same("localhost:11211", "127.0.0.1:11211"));
    assert_true(same("127.0.0.1:11211", "LOCALHOST:11211"));
    assert_false(same("127.0.0.1:11211", "127.0.0.1:11212"));
    assert_false(same("localhost:11211", "/run/memcached.sock"));
    /* sockets that do not exist: the path with // and /./ collapsed */
    assert_true(same("/run/shs-none//mc.sock", "/run/shs-none/mc.sock"));
    assert_true(same("/run/./shs-none/mc.sock", "//run/shs-none/mc.sock"));
    assert_false(same("/run/shs-none/mc.sock", "/run/shs-none/mc2.sock"));
    assert_false(same("/run/shs-none/../mc.sock", "/run/mc.sock")); /* ".." is not resolved */
}

static void test_parse_member(void **state)
{
    shs_member_t m;
    const char *err;

    assert_null(shs_parse_member(pool, "Shop-A.example", &m));
    assert_string_equal(m.host, "shop-a.example");
    assert_int_equal(m.port, 0);
    assert_string_equal(m.scheme, "https");
    assert_string_equal(m.origin, "https://shop-a.example");

    assert_null(shs_parse_member(pool, "http://a.test:8080", &m));
    assert_string_equal(m.host, "a.test");
    assert_int_equal(m.port, 8080);
    assert_string_equal(m.origin, "http://a.test:8080");

    assert_null(shs_parse_member(pool, "HTTPS://b.test:8443", &m));
    assert_string_equal(m.scheme, "https");

    err = shs_parse_member(pool, "ftp://a.test", &m);
    assert_non_null(err);
    assert_non_null(strstr(err, "http"));
    assert_non_null(shs_parse_member(pool, "a.test/path", &m));
    assert_non_null(shs_parse_member(pool, "a.test:0", &m));
    /* HTML and header injection through names never passes */
    assert_non_null(shs_parse_member(pool, "a.test\"><script>", &m));
    assert_non_null(shs_parse_member(pool, "a.test\r\nX: y", &m));
    assert_non_null(shs_parse_member(pool, "a..test", &m));
    assert_non_null(shs_parse_member(pool, "", &m));
}

static void test_parse_seconds_and_attrs(void **state)
{
    apr_int64_t v = 0;
    const char *out;

    assert_null(shs_parse_seconds("300", 1, 1000, &v));
    assert_int_equal(v, 300);
    assert_non_null(shs_parse_seconds("0", 1, 1000, &v));
    assert_non_null(shs_parse_seconds("1001", 1, 1000, &v));
    assert_non_null(shs_parse_seconds("-1", 1, 1000, &v));
    assert_non_null(shs_parse_seconds("12s", 1, 1000, &v));
    assert_non_null(shs_parse_seconds("", 1, 1000, &v));
    assert_non_null(shs_parse_seconds("99999999999999999999999", 1, 1000, &v));

    assert_null(shs_parse_cookie_attrs(pool, "Path=/; Secure; SameSite=None", &out));
    assert_string_equal(out, "Path=/; Secure; SameSite=None");
    assert_non_null(shs_parse_cookie_attrs(pool, "Path=/\r\nSet-Cookie: x=y", &out));
}

static void test_group_find(void **state)
{
    shs_srv_conf_t *s = shs_srv_conf_create(pool);
    shs_group_t *g;
    shs_member_t *m;

    assert_null(shs_group_find_host(s, "a.test"));
    s->groups = apr_array_make(pool, 1, sizeof(shs_group_t));
    g = apr_array_push(s->groups);
    g->name = "shops";
    g->members = apr_array_make(pool, 2, sizeof(shs_member_t));
    m = apr_array_push(g->members);
    assert_null(shs_parse_member(pool, "a.test", m));
    m = apr_array_push(g->members);
    assert_null(shs_parse_member(pool, "http://b.test:8080", m));
    assert_ptr_equal(shs_group_find_host(s, "a.test"), g);
    assert_ptr_equal(shs_group_find_host(s, "B.TEST"), g);
    assert_null(shs_group_find_host(s, "c.test"));
    assert_null(shs_group_find_host(s, NULL));
}

/* Two groups, the first with a hub: what a request of each virtual host may look up. */
static shs_srv_conf_t *two_groups(void)
{
    static const char *const sites[2][3] = { { "a.test", "http://b.test:8080", "c.test" },
                                             { "x.test", "y.test", NULL } };
    shs_srv_conf_t *s = shs_srv_conf_create(pool);
    int i, j;

    s->groups = apr_array_make(pool, 2, sizeof(shs_group_t));
    for (i = 0; i < 2; i++) {
        shs_group_t *g = apr_array_push(s->groups);
        g->name = i ? "other" : "shops";
        g->members = apr_array_make(pool, 3, sizeof(shs_member_t));
        for (j = 0; j < 3 && sites[i][j]; j++) {
            assert_null(shs_parse_member(pool, sites[i][j], apr_array_push(g->members)));
        }
    }
    /* SharedSessionHub shops a.test */
    APR_ARRAY_IDX(s->groups, 0, shs_group_t).hub =
        &APR_ARRAY_IDX(APR_ARRAY_IDX(s->groups, 0, shs_group_t).members, 0, shs_member_t);
    return s;
}

static void test_group_resolve_and_lookups(void **state)
{
    shs_srv_conf_t *main_conf = two_groups();
    const shs_group_t *shops = &APR_ARRAY_IDX(main_conf->groups, 0, shs_group_t);
    const shs_group_t *other = &APR_ARRAY_IDX(main_conf->groups, 1, shs_group_t);
    const shs_member_t *a = &APR_ARRAY_IDX(shops->members, 0, shs_member_t);
    const shs_member_t *b = &APR_ARRAY_IDX(shops->members, 1, shs_member_t);
    shs_srv_conf_t *va = shs_srv_conf_create(pool), *vb = shs_srv_conf_create(pool);
    shs_srv_conf_t *vx = shs_srv_conf_create(pool), *vn = shs_srv_conf_create(pool);
    apr_array_header_t *aliases = apr_array_make(pool, 2, sizeof(const char *));

    /* by ServerName; else the first alias that is a site of a group */
    assert_true(shs_srv_resolve_group(va, main_conf, "A.test", NULL));
    assert_ptr_equal(va->group, shops);
    assert_ptr_equal(va->self, a);
    APR_ARRAY_PUSH(aliases, const char *) = "www.b.example";
    APR_ARRAY_PUSH(aliases, const char *) = "b.test";
    assert_true(shs_srv_resolve_group(vb, main_conf, "b.example", aliases));
    assert_ptr_equal(vb->group, shops);
    assert_ptr_equal(vb->self, b);
    assert_true(shs_srv_resolve_group(vx, main_conf, "x.test", aliases));
    assert_ptr_equal(vx->group, other);
    /* no site of any group: cleared, even when set before */
    vn->group = shops;
    vn->self = a;
    assert_false(shs_srv_resolve_group(vn, main_conf, "nowhere.test", NULL));
    assert_null(vn->group);
    assert_null(vn->self);
    assert_false(shs_srv_resolve_group(vn, main_conf, NULL, NULL));

    /* the names tokens carry: host, or host:port when the group gives a port */
    assert_ptr_equal(shs_group_of_site(pool, main_conf, "b.test:8080"), shops);
    assert_null(shs_group_of_site(pool, main_conf, "b.test"));
    assert_ptr_equal(shs_group_of_site(pool, main_conf, "Y.TEST"), other);
    assert_null(shs_group_of_site(pool, main_conf, "z.test"));
    assert_null(shs_group_of_site(pool, main_conf, NULL));

    /* peers: another site of the own group, never the site itself or another group's */
    assert_ptr_equal(shs_srv_peer_named(pool, va, "b.test:8080"), b);
    assert_ptr_equal(shs_srv_peer_named(pool, vb, "a.test"), a);
    assert_null(shs_srv_peer_named(pool, va, "a.test"));
    assert_null(shs_srv_peer_named(pool, va, "x.test"));
    assert_null(shs_srv_peer_named(pool, va, NULL));
    assert_null(shs_srv_peer_named(pool, vn, "a.test"));

    /* the hub: a pulls from nobody (it is the hub), b from a, x's group has none */
    assert_true(shs_srv_is_hub(va));
    assert_false(shs_srv_is_hub(vb));
    assert_false(shs_srv_is_hub(vx));
    assert_false(shs_srv_is_hub(vn));
    assert_null(shs_srv_pull_hub(va));
    assert_ptr_equal(shs_srv_pull_hub(vb), a);
    assert_null(shs_srv_pull_hub(vx));
    assert_null(shs_srv_pull_hub(vn));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dir_defaults),
        cmocka_unit_test(test_dir_merge),
        cmocka_unit_test(test_srv_merge),
        cmocka_unit_test(test_parse_mc_addr),
        cmocka_unit_test(test_parse_mc_socket),
        cmocka_unit_test(test_mc_addr_same),
        cmocka_unit_test(test_parse_member),
        cmocka_unit_test(test_parse_seconds_and_attrs),
        cmocka_unit_test(test_group_find),
        cmocka_unit_test(test_parse_store),
        cmocka_unit_test(test_group_resolve_and_lookups),
    };
    return cmocka_run_group_tests_name("shs_config", tests, unit_pool_setup, unit_pool_teardown);
}
