/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* Every key of one Vault path, from one response. Values are owned and are
 * wiped when freed. A non-string JSON value is kept as its compact JSON text
 * ("true", "5432", "{\"a\":1}"); a JSON null is kept as a missing key. */
struct ve_secret {
        size_t n;
        char **keys;
        char **values;
        long version;           /* KV v2 version; 0 for KV v1 */
};

struct ve_secret *ve_secret_new(void);
/* Copies key and value. 0 or -ENOMEM. A repeated key replaces the earlier one. */
int ve_secret_add(struct ve_secret *s, const char *key, const char *value);
/* NULL when the key is absent. */
const char *ve_secret_get(const struct ve_secret *s, const char *key);
void ve_secret_free(struct ve_secret *s);
