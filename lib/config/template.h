/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "mapfile.h"

/* Templates: a mapped value composed of literal text and references,
 *
 *     DATABASE_URL = "postgresql://{{secret/app/db#user}}:{{secret/app/db#password | urlencode}}@db/app"
 *
 * The rule: a mapping's value (after the file's shell-like unquoting) that
 * contains "{{" is a template; anything else is a plain reference. (Quote a
 * template that contains blanks, as any value.)
 *   - "{{" opens a part and the first "}}" after it closes it; blanks
 *     around the part's contents are ignored.
 *   - A part is REF [| FILTER]..., REF in the grammar of ve_ref_parse()
 *     (kv1:/kv2:, #KEY, @VERSION). Filters apply left to right.
 *   - A part that is a quoted string, {{"..."}} or {{'...'}}, is that text
 *     literally (no escapes, no filters): {{"{{"}} writes "{{".
 *   - Text outside parts, "}}" included, is copied as is.
 *   - A template needs at least one reference.
 * Filters: urlencode, RFC 3986 percent-encoding of every byte but the
 * unreserved characters A-Z a-z 0-9 - . _ ~ (upper-case hex digits). */

#define VE_TEMPLATE_MAX_FILTERS 4

enum ve_filter {
        VE_FILTER_URLENCODE = 1,
};

struct ve_template_part {
        char *text;                     /* literal text; NULL for a reference */
        struct ve_ref ref;              /* a reference (text == NULL) */
        unsigned n_filters;
        enum ve_filter filters[VE_TEMPLATE_MAX_FILTERS];
};

struct ve_template {
        struct ve_template_part *parts;
        size_t n_parts;
        size_t n_refs;                  /* parts with text == NULL; at least 1 */
};

/* Whether s is a template (contains "{{"). */
bool ve_template_is(const char *s);

/* Parses s. On error returns -EINVAL with a one-line heap message (never
 * the template's literal text, which may hold credentials) and the byte
 * offset in s where the problem is; -ENOMEM. */
int ve_template_parse(const char *s, struct ve_template **ret_template,
                      size_t *ret_offset, char **ret_error);
void ve_template_free(struct ve_template *t);

/* The i-th reference part (0 <= i < n_refs), or NULL. */
const struct ve_template_part *ve_template_ref(const struct ve_template *t, size_t i);

/* Renders t with values[i] the value of the i-th reference (all non-NULL).
 * 0 and a heap string (wipe it), or -ENOMEM. */
int ve_template_render(const struct ve_template *t, const char *const *values, char **ret_value);

/* RFC 3986 percent-encoding (see above). Heap string or NULL (no memory). */
char *ve_urlencode(const char *s);
