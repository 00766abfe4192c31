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

/* base64url (RFC 4648 section 5) without padding, in canonical form only: the one codec of
 * the module, for session ids, tokens and key material. */

#include <string.h>

#include <apr_strings.h>

#include "shs_b64.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int shs_b64url_digit(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

apr_size_t shs_b64url_encoded_len(apr_size_t len)
{
    return (len / 3) * 4 + (len % 3 ? len % 3 + 1 : 0);
}

/* Write the encoding of in (len bytes) and a NUL to out (shs_b64url_encoded_len(len) + 1). */
void shs_b64url_encode_into(char *out, const unsigned char *in, apr_size_t len)
{
    apr_size_t i = 0, o = 0;
    unsigned long v;

    for (; len - i >= 3; i += 3) {
        v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8) | in[i + 2];
        out[o++] = b64url_alphabet[(v >> 18) & 63];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (len - i == 1) {
        v = (unsigned long)in[i] << 4;
        out[o++] = b64url_alphabet[(v >> 6) & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    else if (len - i == 2) {
        v = (((unsigned long)in[i] << 8) | in[i + 1]) << 2;
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    out[o] = '\0';
}

/* Decode inlen characters into out, which holds cap bytes.  Canonical form only. */
apr_status_t shs_b64url_decode_into(const char *in, apr_size_t inlen, unsigned char *out,
                                    apr_size_t cap, apr_size_t *outlen)
{
    apr_size_t rem = inlen % 4, need, i, o = 0;
    unsigned long v;
    int a, b, c, d;

    if (rem == 1) {
        return APR_EINVAL;
    }
    need = (inlen / 4) * 3 + (rem ? rem - 1 : 0);
    if (need > cap) {
        return APR_EINVAL;
    }
    for (i = 0; inlen - i >= 4; i += 4) {
        a = shs_b64url_digit((unsigned char)in[i]);
        b = shs_b64url_digit((unsigned char)in[i + 1]);
        c = shs_b64url_digit((unsigned char)in[i + 2]);
        d = shs_b64url_digit((unsigned char)in[i + 3]);
        if (a < 0 || b < 0 || c < 0 || d < 0) {
            return APR_EINVAL;
        }
        v = ((unsigned long)a << 18) | ((unsigned long)b << 12) | ((unsigned long)c << 6) |
            (unsigned long)d;
        out[o++] = (unsigned char)(v >> 16);
        out[o++] = (unsigned char)(v >> 8);
        out[o++] = (unsigned char)v;
    }
    if (rem == 2) {
        a = shs_b64url_digit((unsigned char)in[i]);
        b = shs_b64url_digit((unsigned char)in[i + 1]);
        /* 12 bits carry one byte: the 4 low bits must be zero. */
        if (a < 0 || b < 0 || (b & 15)) {
            return APR_EINVAL;
        }
        out[o++] = (unsigned char)((a << 2) | (b >> 4));
    }
    else if (rem == 3) {
        a = shs_b64url_digit((unsigned char)in[i]);
        b = shs_b64url_digit((unsigned char)in[i + 1]);
        c = shs_b64url_digit((unsigned char)in[i + 2]);
        /* 18 bits carry two bytes: the 2 low bits must be zero. */
        if (a < 0 || b < 0 || c < 0 || (c & 3)) {
            return APR_EINVAL;
        }
        v = ((unsigned long)a << 12) | ((unsigned long)b << 6) | (unsigned long)c;
        out[o++] = (unsigned char)(v >> 10);
        out[o++] = (unsigned char)(v >> 2);
    }
    *outlen = o;
    return APR_SUCCESS;
}

apr_status_t shs_b64url_encode(apr_pool_t *p, const unsigned char *in, apr_size_t len,
                               const char **out)
{
    char *buf;

    if (!p || !out || (!in && len) || len > APR_SIZE_MAX / 2) {
        return APR_EINVAL;
    }
    buf = apr_palloc(p, shs_b64url_encoded_len(len) + 1);
    shs_b64url_encode_into(buf, in, len);
    *out = buf;
    return APR_SUCCESS;
}

apr_status_t shs_b64url_decode(apr_pool_t *p, const char *in, apr_size_t inlen, unsigned char **out,
                               apr_size_t *outlen)
{
    apr_status_t rv;
    apr_size_t cap, n = 0;
    unsigned char *buf;

    if (!p || !out || !outlen || (!in && inlen)) {
        return APR_EINVAL;
    }
    cap = (inlen / 4) * 3 + 3;
    buf = apr_palloc(p, cap);
    rv = shs_b64url_decode_into(in, inlen, buf, cap, &n);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = buf;
    *outlen = n;
    return APR_SUCCESS;
}
