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

/* Key file parsing and key derivation; see shs_keys.h for the file format. */

#include <string.h>

#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "shs_keys.h"
#include "shs_b64.h"

#define SHS_HKDF_SALT "mod_sharedsession"
#define SHS_HKDF_INFO_AEAD "token-aead-v1"
#define SHS_HKDF_INFO_MAC "mac-v1"
#define SHS_HKDF_INFO_STORE "store-aead-v1"

#define SHS_KEYFILE_SYNTAX "expected '<key-id> <base64 secret>'"

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Value of one base64 or base64url character; -1 for any other character, -2 for a character
 * of the other alphabet.  *alphabet remembers which alphabet the secret uses so far: 0 not yet
 * known, 1 standard ('+' '/'), 2 url ('-' '_'). */
static int b64_value(unsigned char c, int *alphabet)
{
    int want, v = shs_b64url_digit(c);

    if (v >= 0 && v < 62) {
        return v; /* letters and digits: both alphabets */
    }
    if (c == '+' || c == '/') {
        want = 1;
        v = c == '+' ? 62 : 63;
    }
    else if (v >= 62) {
        want = 2;
    }
    else {
        return -1;
    }
    if (*alphabet && *alphabet != want) {
        return -2;
    }
    *alphabet = want;
    return v;
}

/* Check the shape of a base64 secret of n characters (padding, length) and compute the length
 * it decodes to, without looking at the characters.  *ndigits is n without the padding. */
static apr_status_t secret_decoded_len(const char *s, apr_size_t n, apr_size_t *ndigits,
                                       apr_size_t *len, const char **why)
{
    apr_size_t npad = 0;

    while (npad < n && s[n - 1 - npad] == '=') {
        npad++;
    }
    if (npad > 2 || (npad > 0 && n % 4 != 0)) {
        *why = "its '=' padding is wrong";
        return APR_EINVAL;
    }
    n -= npad;
    if (n % 4 == 1) {
        *why = "its length is impossible for base64 (truncated?)";
        return APR_EINVAL;
    }
    *ndigits = n;
    *len = (n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0);
    return APR_SUCCESS;
}

/* Decode the n base64 digits of a secret (padding already removed by secret_decoded_len())
 * into out, which has room for all of them.  Bits left over in the last character are
 * ignored: a secret is just a string of bits to us. */
static apr_status_t decode_secret(const char *s, apr_size_t n, unsigned char *out, const char **why)
{
    apr_size_t i, o = 0;
    unsigned long acc = 0;
    int bits = 0, alphabet = 0;

    for (i = 0; i < n; i++) {
        int v = b64_value((unsigned char)s[i], &alphabet);
        if (v == -2) {
            *why = "it mixes the base64 ('+', '/') and base64url ('-', '_') alphabets";
            return APR_EINVAL;
        }
        if (v < 0) {
            *why = "it contains a character that is not base64";
            return APR_EINVAL;
        }
        acc = ((acc << 6) | (unsigned long)v) & 0xffffffUL;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return APR_SUCCESS;
}

/* HKDF-SHA256(secret, salt "mod_sharedsession", info) -> SHS_KEY_DERIVED_BYTES bytes. */
static apr_status_t derive_key(const unsigned char *secret, apr_size_t slen, const char *info,
                               unsigned char *out)
{
    apr_status_t rv = APR_EGENERAL;
    EVP_PKEY_CTX *pctx;
    size_t outlen = SHS_KEY_DERIVED_BYTES;

    pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    if (!pctx) {
        goto leave;
    }
    if (EVP_PKEY_derive_init(pctx) <= 0 || EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()) <= 0 ||
        EVP_PKEY_CTX_set1_hkdf_salt(pctx, (const unsigned char *)SHS_HKDF_SALT,
                                    (int)strlen(SHS_HKDF_SALT)) <= 0 ||
        EVP_PKEY_CTX_set1_hkdf_key(pctx, secret, (int)slen) <= 0 ||
        EVP_PKEY_CTX_add1_hkdf_info(pctx, (const unsigned char *)info, (int)strlen(info)) <= 0 ||
        EVP_PKEY_derive(pctx, out, &outlen) <= 0 || outlen != SHS_KEY_DERIVED_BYTES) {
        OPENSSL_cleanse(out, SHS_KEY_DERIVED_BYTES);
        goto leave;
    }
    rv = APR_SUCCESS;

leave:
    EVP_PKEY_CTX_free(pctx);
    return rv;
}

/* Pool cleanup: wipe every derived key of a ring. */
static apr_status_t keys_wipe(void *data)
{
    shs_key_t *keys = data;

    OPENSSL_cleanse(keys, sizeof(*keys) * SHS_KEYS_MAX);
    return APR_SUCCESS;
}

/* Parse a key id: decimal digits only, 0..SHS_KEY_ID_MAX.  On error *why completes the
 * sentence "the key id ...". */
static apr_status_t parse_key_id(const char *s, apr_size_t n, unsigned int *id, const char **why)
{
    apr_size_t i;
    unsigned int v = 0;
    int too_big = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            *why = "is not a decimal number";
            return APR_EINVAL;
        }
        if (!too_big) {
            v = v * 10 + (unsigned int)(s[i] - '0');
            if (v > SHS_KEY_ID_MAX) {
                too_big = 1;
            }
        }
    }
    if (too_big) {
        *why = "is out of range (must be 0 to 255)";
        return APR_EINVAL;
    }
    *id = v;
    return APR_SUCCESS;
}

apr_status_t shs_keyring_parse(apr_pool_t *p, const char *text, apr_size_t len, shs_keyring_t **kr,
                               const char **err)
{
    apr_status_t rv = APR_SUCCESS;
    shs_keyring_t *ring;
    const char *pos, *end;
    const char *dummy;
    apr_size_t lineno = 0;
    apr_size_t defined_on[SHS_KEY_ID_MAX + 1];
    unsigned char secret[SHS_KEY_MAX_BYTES];
    apr_size_t slen = 0;

    if (!err) {
        err = &dummy;
    }
    if (!p || !kr || (!text && len)) {
        *err = "invalid arguments";
        return APR_EINVAL;
    }
    memset(defined_on, 0, sizeof(defined_on));
    ring = apr_pcalloc(p, sizeof(*ring));
    ring->keys = apr_pcalloc(p, sizeof(*ring->keys) * SHS_KEYS_MAX);
    apr_pool_cleanup_register(p, ring->keys, keys_wipe, apr_pool_cleanup_null);

    pos = text;
    end = text ? text + len : text;
    while (pos < end) {
        const char *eol = memchr(pos, '\n', (apr_size_t)(end - pos));
        const char *lend = eol ? eol : end;
        const char *s, *field[3];
        apr_size_t flen[3];
        int nf = 0;
        unsigned int id = 0;
        apr_size_t ndigits = 0;
        const char *why = NULL;
        shs_key_t *key;

        lineno++;
        if (memchr(pos, '\0', (apr_size_t)(lend - pos))) {
            *err = apr_psprintf(p, "line %" APR_SIZE_T_FMT ": contains a NUL byte", lineno);
            rv = APR_EINVAL;
            goto leave;
        }
        if (lend > pos && lend[-1] == '\r') {
            lend--;
        }

        /* Split into at most three fields; a third one means there is extra text. */
        s = pos;
        for (;;) {
            while (s < lend && is_blank(*s)) {
                s++;
            }
            /* Here s is at the start of the line or right after a blank. */
            if (s >= lend || *s == '#' || nf == 3) {
                break;
            }
            field[nf] = s;
            while (s < lend && !is_blank(*s)) {
                s++;
            }
            flen[nf] = (apr_size_t)(s - field[nf]);
            nf++;
        }
        pos = eol ? eol + 1 : end;
        if (nf == 0) {
            continue;
        }

        rv = parse_key_id(field[0], flen[0], &id, &why);
        if (rv != APR_SUCCESS) {
            *err = apr_psprintf(p, "line %" APR_SIZE_T_FMT ": the key id %s (%s)", lineno, why,
                                SHS_KEYFILE_SYNTAX);
            goto leave;
        }
        if (nf == 1) {
            *err = apr_psprintf(p, "line %" APR_SIZE_T_FMT ": key %u has no secret (%s)", lineno,
                                id, SHS_KEYFILE_SYNTAX);
            rv = APR_EINVAL;
            goto leave;
        }
        if (nf == 3) {
            *err = apr_psprintf(p,
                                "line %" APR_SIZE_T_FMT ": extra field after the secret of "
                                "key %u (%s; comments start with '#')",
                                lineno, id, SHS_KEYFILE_SYNTAX);
            rv = APR_EINVAL;
            goto leave;
        }
        if (defined_on[id]) {
            *err = apr_psprintf(p,
                                "line %" APR_SIZE_T_FMT ": duplicate key id %u (already "
                                "defined on line %" APR_SIZE_T_FMT ")",
                                lineno, id, defined_on[id]);
            rv = APR_EINVAL;
            goto leave;
        }
        if (ring->nkeys >= SHS_KEYS_MAX) {
            *err = apr_psprintf(p,
                                "line %" APR_SIZE_T_FMT ": too many keys (at most %d in "
                                "one file)",
                                lineno, SHS_KEYS_MAX);
            rv = APR_EINVAL;
            goto leave;
        }

        slen = 0;
        rv = secret_decoded_len(field[1], flen[1], &ndigits, &slen, &why);
        if (rv == APR_SUCCESS && slen > SHS_KEY_MAX_BYTES) {
            *err = apr_psprintf(p,
                                "line %" APR_SIZE_T_FMT ": the secret of key %u is too long "
                                "(%" APR_SIZE_T_FMT " bytes, at most %d allowed)",
                                lineno, id, slen, SHS_KEY_MAX_BYTES);
            rv = APR_EINVAL;
            goto leave;
        }
        if (rv == APR_SUCCESS) {
            rv = decode_secret(field[1], ndigits, secret, &why);
        }
        if (rv != APR_SUCCESS) {
            *err = apr_psprintf(p,
                                "line %" APR_SIZE_T_FMT ": the secret of key %u is not "
                                "valid base64: %s",
                                lineno, id, why);
            goto leave;
        }
        if (slen < SHS_KEY_MIN_BYTES) {
            *err = apr_psprintf(p,
                                "line %" APR_SIZE_T_FMT ": the secret of key %u is too short "
                                "(%" APR_SIZE_T_FMT " bytes, at least %d are needed; "
                                "e.g. openssl rand -base64 %d)",
                                lineno, id, slen, SHS_KEY_MIN_BYTES, SHS_KEY_MIN_BYTES);
            rv = APR_EINVAL;
            goto leave;
        }

        key = &ring->keys[ring->nkeys];
        key->id = id;
        if (derive_key(secret, slen, SHS_HKDF_INFO_AEAD, key->aead) != APR_SUCCESS ||
            derive_key(secret, slen, SHS_HKDF_INFO_MAC, key->mac) != APR_SUCCESS ||
            derive_key(secret, slen, SHS_HKDF_INFO_STORE, key->store) != APR_SUCCESS) {
            *err = apr_psprintf(p,
                                "line %" APR_SIZE_T_FMT ": key derivation (HKDF-SHA256) "
                                "failed in OpenSSL",
                                lineno);
            rv = APR_EGENERAL;
            goto leave;
        }
        OPENSSL_cleanse(secret, slen);
        slen = 0;
        defined_on[id] = lineno;
        ring->nkeys++;
    }

    if (ring->nkeys == 0) {
        *err = apr_psprintf(p, "no key found in %" APR_SIZE_T_FMT " line(s) (%s)", lineno,
                            SHS_KEYFILE_SYNTAX);
        rv = APR_EINVAL;
        goto leave;
    }
    *kr = ring;

leave:
    OPENSSL_cleanse(secret, sizeof(secret));
    if (rv != APR_SUCCESS) {
        keys_wipe(ring->keys);
        ring->nkeys = 0;
    }
    return rv;
}

/* Permission bits of an APR protection value, in the usual octal form (e.g. 0640). */
static unsigned int unix_mode(apr_fileperms_t prot)
{
    return (unsigned int)((((prot >> 8) & 7) << 6) | (((prot >> 4) & 7) << 3) | (prot & 7));
}

/* Checks shared by the stat() before opening and the fstat() after. */
static apr_status_t check_finfo(apr_pool_t *p, const char *path, const apr_finfo_t *fi,
                                const char **err)
{
    if (!(fi->valid & APR_FINFO_TYPE) || fi->filetype != APR_REG) {
        *err = apr_psprintf(p, "key file %s is not a regular file", path);
        return APR_EINVAL;
    }
    if (!(fi->valid & APR_FINFO_PROT)) {
        *err = apr_psprintf(p, "key file %s: cannot read its permissions", path);
        return APR_EACCES;
    }
    if (fi->protection & (APR_FPROT_WREAD | APR_FPROT_WWRITE)) {
        *err = apr_psprintf(p,
                            "key file %s is readable or writable by other users "
                            "(mode %04o): run chmod 600 on it, or chmod 640 with the "
                            "server's group",
                            path, unix_mode(fi->protection));
        return APR_EACCES;
    }
    if (!(fi->valid & APR_FINFO_SIZE) || fi->size > SHS_KEYFILE_MAX) {
        *err = apr_psprintf(p,
                            "key file %s is too large (%" APR_OFF_T_FMT " bytes, at most "
                            "%d)",
                            path, fi->size, SHS_KEYFILE_MAX);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t shs_keyring_load(apr_pool_t *p, const char *path, shs_keyring_t **kr, const char **err)
{
    apr_status_t rv;
    apr_pool_t *tmp = NULL;
    apr_file_t *f = NULL;
    apr_finfo_t fi;
    char *buf = NULL;
    apr_size_t nread = 0;
    const char *perr = NULL;
    const char *dummy;
    char ebuf[256];
    const apr_int32_t wanted = APR_FINFO_TYPE | APR_FINFO_PROT | APR_FINFO_SIZE;

    if (!err) {
        err = &dummy;
    }
    if (!p || !kr || !path || !*path) {
        *err = "no key file name given";
        return APR_EINVAL;
    }
    rv = apr_pool_create(&tmp, p);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "key file %s: out of memory", path);
        tmp = NULL;
        goto leave;
    }

    rv = apr_stat(&fi, path, wanted, tmp);
    if (APR_STATUS_IS_ENOENT(rv)) {
        *err = apr_psprintf(p, "key file %s does not exist", path);
        goto leave;
    }
    if (rv != APR_SUCCESS && rv != APR_INCOMPLETE) {
        *err = apr_psprintf(p, "key file %s: cannot stat it: %s", path,
                            apr_strerror(rv, ebuf, sizeof(ebuf)));
        goto leave;
    }
    rv = check_finfo(p, path, &fi, err);
    if (rv != APR_SUCCESS) {
        goto leave;
    }

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, APR_FPROT_OS_DEFAULT, tmp);
    if (rv != APR_SUCCESS) {
        f = NULL;
        *err = apr_psprintf(p, "key file %s cannot be opened for reading: %s", path,
                            apr_strerror(rv, ebuf, sizeof(ebuf)));
        goto leave;
    }
    /* The file may have been replaced between stat and open: check what was opened. */
    rv = apr_file_info_get(&fi, wanted, f);
    if (rv != APR_SUCCESS && rv != APR_INCOMPLETE) {
        *err = apr_psprintf(p, "key file %s: cannot stat it: %s", path,
                            apr_strerror(rv, ebuf, sizeof(ebuf)));
        goto leave;
    }
    rv = check_finfo(p, path, &fi, err);
    if (rv != APR_SUCCESS) {
        goto leave;
    }

    /* One byte more than allowed, to notice a file that grew after the check. */
    buf = apr_palloc(tmp, SHS_KEYFILE_MAX + 1);
    rv = apr_file_read_full(f, buf, SHS_KEYFILE_MAX + 1, &nread);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        *err = apr_psprintf(p, "key file %s cannot be read: %s", path,
                            apr_strerror(rv, ebuf, sizeof(ebuf)));
        goto leave;
    }
    if (nread > SHS_KEYFILE_MAX) {
        *err =
            apr_psprintf(p, "key file %s is too large (more than %d bytes)", path, SHS_KEYFILE_MAX);
        rv = APR_EINVAL;
        goto leave;
    }

    rv = shs_keyring_parse(p, buf, nread, kr, &perr);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "key file %s: %s", path, perr);
    }

leave:
    if (buf) {
        OPENSSL_cleanse(buf, SHS_KEYFILE_MAX + 1);
    }
    if (f) {
        apr_file_close(f);
    }
    if (tmp) {
        apr_pool_destroy(tmp);
    }
    return rv;
}

const shs_key_t *shs_keyring_current(const shs_keyring_t *kr)
{
    if (!kr || kr->nkeys <= 0 || !kr->keys) {
        return NULL;
    }
    return &kr->keys[0];
}

const shs_key_t *shs_keyring_find(const shs_keyring_t *kr, unsigned int id)
{
    int i;

    if (!kr || !kr->keys) {
        return NULL;
    }
    for (i = 0; i < kr->nkeys; i++) {
        if (kr->keys[i].id == id) {
            return &kr->keys[i];
        }
    }
    return NULL;
}
