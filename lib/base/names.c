/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <string.h>

#include "names.h"

bool ve_name_valid(const char *name) {
        /* Also bounds the length, so a valid name is always a valid mapped
         * name. */
        size_t n;

        if (!name || !ve_is_name_start(name[0]))
                return false;
        for (n = 1; name[n]; n++)
                if (!ve_is_name_char(name[n]))
                        return false;
        return n <= VE_NAME_MAX;
}

/* The shim's configuration (VAULT_TOKEN, VAULT_SECRET_ID, VAULT_ADDR,
 * VAULTENV_MAP, ...) comes from the real environment only: served through a
 * mapping, a secret would become a credential or a setting, and the
 * application could read the token through getenv(). */
static const char *const reserved_prefixes[] = { "VAULT_", "VAULTENV_" };

bool ve_name_config(const char *name) {
        for (size_t i = 0; i < sizeof reserved_prefixes / sizeof reserved_prefixes[0]; i++)
                if (strncmp(name, reserved_prefixes[i], strlen(reserved_prefixes[i])) == 0)
                        return true;
        return false;
}

#define ALLOCATOR_CONF_SUFFIX "MALLOC_CONF"
bool ve_name_allocator_config(const char *name) {
        size_t n = name ? strlen(name) : 0, sn = strlen(ALLOCATOR_CONF_SUFFIX);

        return n >= sn && memcmp(name + n - sn, ALLOCATOR_CONF_SUFFIX, sn) == 0;
}

bool ve_name_key_log(const char *name) {
        return name && strcmp(name, VE_KEY_LOG_NAME) == 0;
}

/* Names the shim passes through to the real environment, never through
 * a mapping, because libraries read them during the shim's own work; a
 * mapping of one would never be served, or only outside that work. NULL,
 * or why (for the parser's message). */
const char *ve_name_passthrough_why(const char *name) {
        if (ve_name_allocator_config(name))
                return "an allocator's configuration (every name ending in " ALLOCATOR_CONF_SUFFIX ")";
        if (ve_name_key_log(name))
                return "read by the TLS library of vaultenv's own connections";
        return NULL;
}

bool ve_name_reserved(const char *name) {
        if (!name)
                return false;
        return ve_name_config(name) || ve_name_passthrough_why(name);
}

bool ve_name_prefix_reserved(const char *prefix) {
        size_t n = strlen(prefix);

        if (ve_name_config(prefix))
                return true;
        for (size_t i = 0; i < sizeof reserved_prefixes / sizeof reserved_prefixes[0]; i++)
                if (strncmp(reserved_prefixes[i], prefix, n) == 0)
                        return true;
        return false;
}

bool ve_bulk_name_matches(const char *key, const char *name_suffix) {
        const char *k = key, *n = name_suffix;

        for (; *k && *n; k++, n++) {
                char c = *k;

                if (c >= 'a' && c <= 'z')
                        c = (char) (c - 'a' + 'A');
                else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
                        c = '_';
                if (c != *n)
                        return false;
        }
        return *k == '\0' && *n == '\0' && key[0] != '\0';
}
