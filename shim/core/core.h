/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "mapfile.h"
#include "secret.h"
#include "settings.h"

/* The interface between the preloaded object and its lazily loaded core
 * (libvaultenv-core.so, which carries libcurl, TLS and cJSON). Both are
 * built from the same headers in the same build, so structs cross it as is.
 * What the core hands back (a struct ve_secret, its keys, error strings) is
 * ordinary libc heap, freed by the shim with free() / ve_secret_free();
 * secret values live in the shim's secure-memory arena, which the core
 * reaches through struct ve_core_host (core_host.c), as it does the log. */

#define VE_CORE_ABI 4

/* What the shim lends the core: lib/'s process-wide state (the log
 * callback and level, the secure-memory arena) exists once per process, in
 * the shim (lib_state); the core carries none of it and forwards its
 * ve_log() and ve_secure_*() calls here (core_host.c). */
struct ve_core_host {
        void (*logv)(enum ve_log_level level, const char *fmt, va_list ap);
        enum ve_log_level (*log_get_level)(void);
        char *(*secure_strdup)(const char *s);
        void (*secure_free)(char *s);
        bool (*secure_owns)(const void *p);
};

struct ve_core_api {
        unsigned abi;           /* VE_CORE_ABI */
        /* Creates the Vault client. No I/O. host (static, never NULL) is
         * installed first: the core logs and allocates through it. */
        int (*open)(const struct ve_settings *settings, const struct ve_core_host *host,
                    void **ret_client, char **ret_error);
        /* As ve_vault_read(). Thread-safe. */
        int (*read)(void *client, const struct ve_ref *ref,
                    struct ve_secret **ret_secret, char **ret_error);
        /* As ve_vault_read_many(): the paths at once. Thread-safe. */
        int (*read_many)(void *client, struct ve_read_call *calls, size_t n);
        /* As ve_vault_renew(). Thread-safe. */
        int (*renew)(void *client, const struct ve_ref *ref, const char *lease_id, uint64_t increment_s,
                     struct ve_lease *ret_lease, char **ret_error);
        /* fork() handlers for the client's locks, called by the shim's
         * (which takes its own locks before and the arena's after these):
         * prepare takes them in a fixed order, parent releases them, child
         * releases or re-creates them and forgets the parent's threads. */
        void (*atfork_prepare)(void *client);
        void (*atfork_parent)(void *client);
        void (*atfork_child)(void *client);
        /* As ve_vault_at_exit(): revokes this process's leases and login
         * token (VAULTENV_REVOKE_ON_EXIT). Called once, from the shim's
         * atexit handler. */
        int (*at_exit)(void *client);
};

typedef const struct ve_core_api *(*ve_core_entry_fn)(void);
#define VE_CORE_ENTRY "vaultenv_core_v1"
