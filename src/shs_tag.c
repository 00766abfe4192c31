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

/* The loader tags the push puts into pages: every value escaped for a double-quoted attribute,
 * so that no URL or nonce can end the attribute or the tag (see shs_tag.h). */

#include <string.h>

#include <apr_strings.h>

#include "shs_tag.h"

/* The character reference that replaces c in an attribute value, or NULL. */
static const char *attr_reference(unsigned char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    case '`':
        return "&#96;";
    case '=':
        return "&#61;";
    default:
        return NULL;
    }
}

static int is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

const char *shs_tag_escape_attr(apr_pool_t *p, const char *s)
{
    const unsigned char *in;
    const char *ref;
    apr_size_t n = 0, k;
    char *out, *o;

    if (s == NULL) {
        return "";
    }
    for (in = (const unsigned char *)s; *in; in++) {
        if ((ref = attr_reference(*in)) != NULL) {
            n += strlen(ref);
        }
        else if (!is_control(*in)) {
            n++;
        }
    }

    o = out = apr_palloc(p, n + 1);
    for (in = (const unsigned char *)s; *in; in++) {
        if ((ref = attr_reference(*in)) != NULL) {
            k = strlen(ref);
            memcpy(o, ref, k);
            o += k;
        }
        else if (!is_control(*in)) {
            *o++ = (char)*in;
        }
    }
    *o = '\0';
    return out;
}

const char *shs_tag_make(apr_pool_t *p, shs_tag_kind_e kind, const char *url, const char *nonce)
{
    const char *nonce_attr = "";

    if (url == NULL) {
        return NULL;
    }
    if (nonce != NULL && *nonce != '\0') {
        nonce_attr = apr_pstrcat(p, " nonce=\"", shs_tag_escape_attr(p, nonce), "\"", NULL);
    }
    switch (kind) {
    case SHS_TAG_IMG:
        return apr_pstrcat(p, "<img src=\"", shs_tag_escape_attr(p, url),
                           "\" alt=\"\" width=\"1\" height=\"1\" style=\"display:none\""
                           " crossorigin=\"use-credentials\" referrerpolicy=\"origin\"",
                           nonce_attr, ">", NULL);
    case SHS_TAG_SCRIPT:
        return apr_pstrcat(p, "<script async src=\"", shs_tag_escape_attr(p, url),
                           "\" crossorigin=\"use-credentials\" referrerpolicy=\"origin\"",
                           nonce_attr, "></script>", NULL);
    default:
        return NULL;
    }
}
