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
 *
 * Writes the seed corpora of the fuzzers: gen_seeds DIR fills DIR/fuzz_token, DIR/fuzz_cookie,
 * DIR/fuzz_html and DIR/fuzz_keyfile (`make fuzz-seeds` runs it on fuzz/corpus).  Tokens and
 * ids are made with the module's own code (shs_token_seal, shs_id_generate), so they are real;
 * being random, they differ on every run.  Seeds found by fuzzing (crash regressions) are other
 * files of the same directories and are left alone. */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>

#include "fuzz_common.h"
#include "shs_id.h"
#include "shs_keys.h"
#include "shs_token.h"

static const char *outdir;
static apr_pool_t *pool;

static void put(const char *target, const char *name, const void *data, size_t len)
{
    const char *dir = apr_pstrcat(pool, outdir, "/", target, NULL);
    const char *path = apr_pstrcat(pool, dir, "/", name, NULL);
    FILE *f;

    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        perror(dir);
        exit(1);
    }
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void puts_(const char *target, const char *name, const char *text)
{
    put(target, name, text, strlen(text));
}

static shs_keyring_t *ring(const char *text)
{
    shs_keyring_t *kr = NULL;
    const char *err = NULL;

    if (shs_keyring_parse(pool, text, strlen(text), &kr, &err) != APR_SUCCESS) {
        fprintf(stderr, "gen_seeds: key file refused: %s\n", err);
        exit(1);
    }
    return kr;
}

static const char *seal(const shs_keyring_t *kr, const char *src, const char *dst,
                        const char *nonce, apr_int64_t lifetime)
{
    shs_token_t t;
    const char *out = NULL;

    memset(&t, 0, sizeof(t));
    t.issued = FUZZ_NOW;
    t.expires = FUZZ_NOW + lifetime;
    memset(t.sid, 0x5a, sizeof(t.sid));
    t.src = src;
    t.dst = dst;
    t.nonce = nonce;
    if (shs_token_seal(pool, kr, &t, &out) != APR_SUCCESS) {
        fprintf(stderr, "gen_seeds: shs_token_seal failed\n");
        exit(1);
    }
    return out;
}

static void put_be64(unsigned char *b, uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--) {
        b[i] = (unsigned char)v;
        v >>= 8;
    }
}

/* A body-mode input of fuzz_token (see its header comment). */
static void body_seed(const char *name, unsigned char selector, apr_int64_t now, apr_int64_t skew,
                      apr_int64_t issued, unsigned lifetime, const char *src, const char *dst,
                      const char *nonce)
{
    unsigned char b[1024];
    size_t n = 0, l;

    b[n++] = selector;
    put_be64(b + n, (uint64_t)now);
    n += 8;
    put_be64(b + n, (uint64_t)skew);
    n += 8;
    memset(b + n, 0x11, 12); /* IV */
    n += 12;
    put_be64(b + n, (uint64_t)issued);
    n += 8;
    b[n++] = (unsigned char)(lifetime >> 8);
    b[n++] = (unsigned char)lifetime;
    memset(b + n, 0x22, 16); /* tid */
    n += 16;
    memset(b + n, 0x33, 32); /* sid */
    n += 32;
    l = strlen(src);
    b[n++] = (unsigned char)l;
    memcpy(b + n, src, l);
    n += l;
    l = strlen(dst);
    b[n++] = (unsigned char)l;
    memcpy(b + n, dst, l);
    n += l;
    l = strlen(nonce);
    b[n++] = (unsigned char)l;
    memcpy(b + n, nonce, l);
    n += l;
    put("fuzz_token", name, b, n);
}

static void token_seeds(void)
{
    shs_keyring_t *k7 = ring(FUZZ_KEYFILE), *k3 = ring(FUZZ_KEYFILE_KEY3_FIRST);

    puts_("fuzz_token", "token-key7", seal(k7, "a.test:8443", "b.test:8443", NULL, 300));
    puts_("fuzz_token", "token-key7-nonce",
          seal(k7, "shop.example", "www.example.org", "Zm9vYmFyX2Jhei0x", 60));
    puts_("fuzz_token", "token-key3", seal(k3, "a.test", "b.test", NULL, 3600));
    puts_("fuzz_token", "token-key3-1s", seal(k3, "x", "y", "n", 1));
    puts_("fuzz_token", "not-a-token", "AAAA");

    body_seed("body-ok", 0x00, FUZZ_NOW, 60, FUZZ_NOW, 300, "a.test:8443", "b.test:8443", "");
    body_seed("body-ok-key3-nonce", 0x01, FUZZ_NOW + 10, 0, FUZZ_NOW, 3600, "a.test", "b.test",
              "state_nonce-1");
    body_seed("body-expired", 0x00, FUZZ_NOW + 7200, 60, FUZZ_NOW, 300, "a", "b", "");
    body_seed("body-bad-lifetime", 0x01, FUZZ_NOW, 60, FUZZ_NOW, 0, "a", "b", "");
    body_seed("body-bad-version", 0x02, FUZZ_NOW, 60, FUZZ_NOW, 300, "a", "b", "");
}

static void cookie_seeds(void)
{
    char id[SHS_ID_LEN + 1], id2[SHS_ID_LEN + 1];

    if (shs_id_generate(id) != APR_SUCCESS || shs_id_generate(id2) != APR_SUCCESS) {
        fprintf(stderr, "gen_seeds: shs_id_generate failed\n");
        exit(1);
    }
    puts_("fuzz_cookie", "alone", apr_pstrcat(pool, FUZZ_COOKIE_NAME "=", id, NULL));
    puts_("fuzz_cookie", "among-others",
          apr_pstrcat(pool, "lang=en; " FUZZ_COOKIE_NAME "=", id, "; PHPSESSID=abc123", NULL));
    puts_("fuzz_cookie", "quoted-ows",
          apr_pstrcat(pool, " a=1 ;\t" FUZZ_COOKIE_NAME " = \"", id, "\" ;; b", NULL));
    puts_("fuzz_cookie", "twice-first-bad",
          apr_pstrcat(pool, FUZZ_COOKIE_NAME "=short; " FUZZ_COOKIE_NAME "=", id,
                      "; " FUZZ_COOKIE_NAME "=", id2, NULL));
    puts_("fuzz_cookie", "prefix-names",
          apr_pstrcat(pool, "shs=1; shs_session_x=2; " FUZZ_COOKIE_NAME "2=", id, NULL));
    puts_("fuzz_cookie", "bare-id", id);
    puts_("fuzz_cookie", "empty-pairs", ";;  ; =; ==; " FUZZ_COOKIE_NAME "=");
}

static void html_seeds(void)
{
    /* first byte: number of chunk sizes | flags (see fuzz_html.c), then the sizes */
    static const char one[] = "\x00<html><head><title>t</title></head><body><p>hi</p></body></html>";
    static const char split[] = "\x03\x05\x01\x02<html><body>x</BODY ></html>";
    static const char comment[] = "\x12\x04\x00<!-- </body> --><p>a</p></body>";
    static const char script[] =
        "\x21\x07<script>document.write('</body>');<!-- <script></script> --></script>"
        "<style></body></style><textarea></body></textarea>tail</body\n>";
    static const char tricky[] = "\x02\x01\x03<<</body/><![CDATA[</body>]]></bod</bodyx>";
    static const char none[] = "\x01\x00<html><body><img alt='</body>' title=\"x>\">no end tag";

    put("fuzz_html", "one-chunk", one, sizeof(one) - 1);
    put("fuzz_html", "split", split, sizeof(split) - 1);
    put("fuzz_html", "comment-flush", comment, sizeof(comment) - 1);
    put("fuzz_html", "raw-text-pairs", script, sizeof(script) - 1);
    put("fuzz_html", "tricky", tricky, sizeof(tricky) - 1);
    put("fuzz_html", "not-found", none, sizeof(none) - 1);
}

static void keyfile_seeds(void)
{
    puts_("fuzz_keyfile", "one-key", "1 QMLMML0QRDcr03+2znWoxeRELpsWNZ/ND+N4tU5xb9o=\n");
    puts_("fuzz_keyfile", "rotation", FUZZ_KEYFILE);
    puts_("fuzz_keyfile", "comments-crlf",
          "# keys of the shop group\r\n\r\n  2\tvVwIJnQgqgeI_VMmf8VpHjJkeXgeIX7KwpLrhEUEKh5v_eh8Z_"
          "3VrB5iM4jujDpl # new\r\n\t1 QMLMML0QRDcr03+2znWoxeRELpsWNZ/ND+N4tU5xb9o #old\r\n");
    puts_("fuzz_keyfile", "no-newline", "255 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    puts_("fuzz_keyfile", "duplicate",
          "1 QMLMML0QRDcr03+2znWoxeRELpsWNZ/ND+N4tU5xb9o=\n"
          "1 QMLMML0QRDcr03+2znWoxeRELpsWNZ/ND+N4tU5xb9o=\n");
    puts_("fuzz_keyfile", "short-secret", "3 c2hvcnQ=\n");
    puts_("fuzz_keyfile", "mixed-alphabets", "4 ab+/cd-_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds DIR\n");
        return 2;
    }
    outdir = argv[1];
    pool = fuzz_root_pool();
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
        perror(outdir);
        return 1;
    }
    token_seeds();
    cookie_seeds();
    html_seeds();
    keyfile_seeds();
    apr_pool_destroy(pool); /* runs the cleanups that free what fuzz_pool.h allocated */
    apr_terminate();
    return 0;
}
