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

/* Sealed session values: what is written to the session store (memcached) instead of the bare
 * mod_session value, so that whoever can write to the store cannot forge or alter a session,
 * nor move one session's value under another session's key, and (in encrypt mode) whoever can
 * read the store does not see the sessions.  Pure C over APR and OpenSSL: no httpd calls, so it
 * is unit-tested and fuzzed.
 *
 * Stored format, version 1: an 11-character header, then the mode's body.
 *
 *     header   "shs1:" MODE ":" KID ":"
 *              MODE  'm' (authenticated, value in clear) or 'e' (encrypted and authenticated)
 *              KID   the key id, exactly three decimal digits "000".."255"
 *
 *     'm'      header, base64url HMAC-SHA256 (43 characters), ':', the value as it is
 *              HMAC key: the key's "mac" key; message:
 *                  "mod_sharedsession/store-mac/v1" NUL, the 11 header bytes,
 *                  the store key's length (4 bytes, big-endian), the store key, the value
 *
 *     'e'      header, base64url of IV (12 random bytes) || ciphertext || GCM tag (16 bytes)
 *              AES-256-GCM with the key's "store" key; additional data: the 11 header bytes
 *              followed by the store key
 *
 * Overhead: 'm' adds SHS_VALUE_MAC_OVERHEAD (55) bytes to the value; 'e' stores
 * 11 + ceil(4 * (len + 28) / 3) bytes (49 for an empty value, about 4/3 of the value for
 * large ones).  shs_value_sealed_len() gives the exact figure.
 *
 * A value is sealed with the key ring's current key and opened with whichever key of the ring
 * its header names, so keys rotate as they do for tokens.  Either mode opens regardless of
 * the mode the caller seals with, so switching encryption on or off needs no flush of the
 * store.  Values of mod_session are URL-encoded, so they never contain ':' and can never be
 * mistaken for a sealed value (a legacy, unsealed value is refused as SHS_VALUE_EUNSEALED).
 *
 * Not covered: freshness.  A sealed value stays valid for its store key, so someone who can
 * write to the store can put back an older value of the same session (mod_session's own
 * expiry inside the value still applies). */

#ifndef SHS_VALUE_H
#define SHS_VALUE_H

#include <apr_pools.h>
#include <apr_errno.h>

#include "shs_keys.h"

#define SHS_VALUE_MAX (1024 * 1024)   /* longest value sealed or opened: 1 MiB */
#define SHS_VALUE_STORE_KEY_MAX 1024  /* longest store key (memcached allows 250) */
#define SHS_VALUE_HEADER_LEN 11       /* "shs1:m:007:" */
#define SHS_VALUE_MAC_OVERHEAD 55     /* header + 43 characters of MAC + ':' */
#define SHS_VALUE_ENC_RAW_OVERHEAD 28 /* IV + GCM tag, before base64url */

/* Why shs_value_open() refused a stored value (besides APR_EINVAL for bad arguments and
 * APR_EGENERAL when OpenSSL fails).  APR has no text for these: log them with
 * shs_value_strerror(). */
#define SHS_VALUE_EUNSEALED (APR_OS_START_USERERR + 20)   /* not a sealed value: legacy or alien */
#define SHS_VALUE_EMALFORMED (APR_OS_START_USERERR + 21)  /* "shs<digit>:" but not a valid v1 */
#define SHS_VALUE_EUNKNOWNKEY (APR_OS_START_USERERR + 22) /* its key id is not in the ring */
#define SHS_VALUE_EBADMAC (APR_OS_START_USERERR + 23)     /* 'm': MAC mismatch */
#define SHS_VALUE_EDECRYPT (APR_OS_START_USERERR + 24)    /* 'e': GCM authentication failed */

/* True for the statuses above: the stored value is refused (treat it as no session). */
#define SHS_VALUE_REFUSED(rv) ((rv) >= SHS_VALUE_EUNSEALED && (rv) <= SHS_VALUE_EDECRYPT)

/* Seal len bytes at value (any bytes; NULL is allowed when len is 0) for the store key
 * store_key (NUL-terminated, 1..SHS_VALUE_STORE_KEY_MAX characters), with the current key of
 * kr; encrypt nonzero selects mode 'e', zero mode 'm'.  On success *out is the stored form from
 * p, NUL-terminated, and *outlen its length without the NUL.  In mode 'e' it is ASCII text; in
 * mode 'm' it contains the value verbatim, so it has no NUL before the end exactly when the
 * value has none.  Returns APR_EINVAL for a NULL or empty ring, a missing argument, a store key
 * that is empty or too long, or len > SHS_VALUE_MAX (outputs then untouched); APR_EGENERAL
 * when OpenSSL fails, APR_ENOMEM when no scratch pool can be made. */
apr_status_t shs_value_seal(apr_pool_t *p, const shs_keyring_t *kr, int encrypt,
                            const char *store_key, const char *value, apr_size_t len,
                            const char **out, apr_size_t *outlen);

/* Open len bytes at stored (need not be NUL-terminated) that were read under store_key.  On
 * success *value is the value from p, NUL-terminated, and *vlen its length without the NUL.
 * On failure *value and *vlen are untouched and the status is one of SHS_VALUE_E* (see above),
 * or APR_EINVAL for a NULL or empty ring or a missing argument (store key as for sealing), or
 * APR_EGENERAL when OpenSSL fails.  Safe on any input; the MAC is compared in constant time. */
apr_status_t shs_value_open(apr_pool_t *p, const shs_keyring_t *kr, const char *store_key,
                            const char *stored, apr_size_t len, const char **value,
                            apr_size_t *vlen);

/* Length (without the NUL) of the stored form of a value of len bytes; 0 when len is over
 * SHS_VALUE_MAX. */
apr_size_t shs_value_sealed_len(int encrypt, apr_size_t len);

/* Short stable words for logs: "ok", "unsealed", "malformed", "unknown-key", "bad-mac",
 * "decrypt-failed", "invalid-argument" (APR_EINVAL), "error" for anything else. */
const char *shs_value_strerror(apr_status_t rv);

#endif /* SHS_VALUE_H */
