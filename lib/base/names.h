/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/* The rules for environment variable names that the mapping file, the
 * resolver, the dotenv reader and the shim share. None allocates, takes a
 * lock or depends on the locale (explicit ASCII ranges, not <ctype.h>): the
 * shim calls some of them before it is initialised. */

#define VE_NAME_MAX 255

static inline bool ve_is_name_start(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static inline bool ve_is_name_char(char c) {
        return ve_is_name_start(c) || (c >= '0' && c <= '9');
}

/* [A-Za-z_][A-Za-z0-9_]*, at most VE_NAME_MAX bytes; false for NULL. */
bool ve_name_valid(const char *name);

/* Whether name is reserved: one of vaultenv's own configuration names
 * (VAULT_*, VAULTENV_*), or a name the shim passes through to the real
 * environment because libraries read it during the shim's own work (every
 * name ending in MALLOC_CONF, SSLKEYLOGFILE). Never mapped: the parser
 * refuses such a name, and a bulk prefix that could give a VAULT_* or
 * VAULTENV_* name, with FILE:LINE:COL; a bulk rule never serves a reserved
 * name (the resolver leaves it to the environment). */
bool ve_name_reserved(const char *name);

/* The names the shim passes through (shim/preload/getenv.c), defined once here so
 * that the parser refuses exactly those. An allocator's configuration:
 * every name ending in MALLOC_CONF (jemalloc reads MALLOC_CONF, or with its
 * prefix _RJEM_MALLOC_CONF, JE_MALLOC_CONF..., under its init lock, often
 * before the shim can answer). And SSLKEYLOGFILE: libcurl and OpenSSL would
 * write the TLS keys of the shim's own connections to the file it names.
 * Both false for NULL; neither allocates nor takes a lock (the shim calls
 * them before it is initialised). */
#define VE_KEY_LOG_NAME "SSLKEYLOGFILE"
bool ve_name_allocator_config(const char *name);
bool ve_name_key_log(const char *name);

/* One of vaultenv's configuration names (VAULT_*, VAULTENV_*). */
bool ve_name_config(const char *name);
/* Why the shim passes name through from the real environment (for a
 * parser's message), or NULL. */
const char *ve_name_passthrough_why(const char *name);
/* Whether a bulk rule's prefix could give one of vaultenv's configuration
 * names: it starts with a reserved prefix, or one starts with it ("VAULT*",
 * "V*"). The names passed through are not refused here: every prefix could
 * give a name ending in MALLOC_CONF; the resolver never serves such a name
 * from a bulk rule instead. */
bool ve_name_prefix_reserved(const char *prefix);

/* Whether key, under the bulk name rule, gives name_suffix (the name with
 * the rule's prefix taken off). */
bool ve_bulk_name_matches(const char *key, const char *name_suffix);
