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

/* The key ring: the secrets shared by every server of a group, read from a key file, and the
 * keys derived from them.  Pure C over APR and OpenSSL: no httpd calls, so it is unit-tested.
 *
 * Key file format, one key per line:
 *
 *     # comment
 *     <key-id> <secret>    # optional comment
 *
 * key-id is a decimal integer 0..255, unique in the file.  secret is standard base64 or
 * base64url (one alphabet per secret, '=' padding optional) decoding to SHS_KEY_MIN_BYTES to
 * SHS_KEY_MAX_BYTES bytes, e.g. the output of `openssl rand -base64 32`.  '#' starts a comment
 * at the start of a line or after whitespace.  Blank lines, spaces and tabs around the fields
 * and CRLF line ends are accepted.  The first key is the current one: new tokens are sealed with
 * it; the others are still accepted when opening, which is how keys are rotated (put the new
 * key first, keep the old one below it for a token lifetime, then remove it).
 *
 * The secrets themselves are never kept: each one is run through HKDF-SHA256 (salt
 * "mod_sharedsession") into independent 32-byte keys, one per use.  Derived keys live in the
 * pool given to the parser and are wiped (OPENSSL_cleanse) when that pool is cleared. */

#ifndef SHS_KEYS_H
#define SHS_KEYS_H

#include <apr_pools.h>
#include <apr_errno.h>

#define SHS_KEY_MIN_BYTES 32        /* minimum decoded secret length */
#define SHS_KEY_MAX_BYTES 1024      /* maximum decoded secret length */
#define SHS_KEYS_MAX 64             /* max keys in one file */
#define SHS_KEY_ID_MAX 255          /* largest key id */
#define SHS_KEYFILE_MAX (64 * 1024) /* largest key file accepted by shs_keyring_load() */
#define SHS_KEY_DERIVED_BYTES 32    /* length of each derived key */

typedef struct shs_key_t {
    unsigned int id; /* 0..255, from the file */
    /* Each derived key is HKDF-SHA256(secret, salt "mod_sharedsession", info), one info string
     * per use, so no key serves two purposes. */
    unsigned char aead[32];  /* AES-256-GCM key of transfer tokens, info "token-aead-v1" */
    unsigned char mac[32];   /* HMAC-SHA256 key of stored values (shs_value.c), info "mac-v1" */
    unsigned char store[32]; /* AES-256-GCM key of stored values, info "store-aead-v1" */
} shs_key_t;

typedef struct shs_keyring_t {
    int nkeys;       /* 1..SHS_KEYS_MAX */
    shs_key_t *keys; /* keys[0] is the current (signing) key = first in file */
} shs_keyring_t;

/* Parse the text of a key file: len bytes at text, which need not be NUL-terminated.  On
 * success *kr is a new key ring allocated from p (its keys are wiped when p is cleared) and
 * *err is left alone.  On error APR_EINVAL is returned, *kr is left alone, and *err is a message
 * from p naming the line ("line 3: ..."); it never contains secret material. */
apr_status_t shs_keyring_parse(apr_pool_t *p, const char *text, apr_size_t len, shs_keyring_t **kr,
                               const char **err);

/* Read and parse the key file at path.  The file must exist, be a regular file of at most
 * SHS_KEYFILE_MAX bytes, be readable, and be neither readable nor writable by "other" users.
 * Errors: the APR status of the failing call (APR_STATUS_IS_ENOENT() for a missing file),
 * APR_EACCES for a file that other users may read or write, APR_EINVAL for anything else
 * (not a regular file, too large, parse errors); *err then names the path and the cause.
 * The file's contents are wiped from memory once parsed. */
apr_status_t shs_keyring_load(apr_pool_t *p, const char *path, shs_keyring_t **kr,
                              const char **err);

/* The current (signing) key: the first one in the file.  NULL for a NULL or empty ring. */
const shs_key_t *shs_keyring_current(const shs_keyring_t *kr);

/* The key with this id, or NULL. */
const shs_key_t *shs_keyring_find(const shs_keyring_t *kr, unsigned int id);

#endif /* SHS_KEYS_H */
