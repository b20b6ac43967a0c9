/* SPDX-License-Identifier: MIT */
/* libvaultenv.so: interposes getenv() and secure_getenv().
 *
 * Thin by design: all logic is in lib/ (resolve.c, mapfile.c, settings.c),
 * which knows nothing about being preloaded. What lives here is what only
 * makes sense inside a host process:
 *   - the pass-through (lib/envscan.c over environ): no initialisation, no
 *     dlsym, no lock, no allocation; safe before constructors and in signal
 *     handlers;
 *   - a thread-local guard: while the shim works (reading its mapping,
 *     loading the core, libcurl and OpenSSL reading their own variables),
 *     every getenv() of that thread passes straight through, so nothing
 *     recurses or deadlocks;
 *   - lazy one-time initialisation (pthread_once) on the first getenv(),
 *     and lazy dlopen() of the core on the first mapped lookup;
 *   - fork safety (pthread_atfork, registered once);
 *   - turning "required and missing" into a message and exit status 78;
 *   - VAULTENV_REVOKE_ON_EXIT: an atexit handler, registered once the
 *     first Vault request went out (a login or a lease may then exist).
 * Only getenv and secure_getenv are exported (shim.sym). */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "core.h"
#include "envscan.h"
#include "log.h"
#include "mapfile.h"
#include "resolve.h"
#include "settings.h"
#include "util.h"

#define EXPORT __attribute__((visibility("default")))

extern char **environ;

/* initial-exec: the shim is loaded at start-up (LD_PRELOAD), so the guard
 * sits in static TLS and reading it never calls into the loader. */
static __thread bool in_shim __attribute__((tls_model("initial-exec")));

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static _Atomic(struct ve_resolver *) resolver;     /* NULL: pass-through only */
static struct ve_settings *settings;

static pthread_once_t core_once = PTHREAD_ONCE_INIT;
static const struct ve_core_api *core;
static void *core_client;
static char core_path[PATH_MAX];

static const char *passthrough(const char *name) {
        return ve_envscan(environ, name);
}

/* stderr through one write(2): no stdio lock, no buffer shared with the host. */
static void write_line(const char *prefix, const char *msg) {
        char buf[1200];
        int n = snprintf(buf, sizeof buf, "vaultenv: %s%s\n", prefix, msg);
        ssize_t w;

        if (n < 0)
                return;
        if ((size_t) n >= sizeof buf) {
                n = sizeof buf - 1;
                buf[n - 1] = '\n';
        }
        do
                w = write(STDERR_FILENO, buf, (size_t) n);
        while (w < 0 && errno == EINTR);
}

static void log_stderr(void *userdata, enum ve_log_level level, const char *msg) {
        static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };

        write_line(prefix[level <= VE_LOG_DEBUG ? level : VE_LOG_DEBUG], msg);
}

/* Where the core lives: beside this object. Worked out at load time so
 * that a relative LD_PRELOAD path survives a later chdir(); only that case
 * costs a system call (realpath). */
__attribute__((constructor))
static void remember_location(void) {
        Dl_info info;
        const char *slash;
        char dir[PATH_MAX];

        if (!dladdr((void *) remember_location, &info) || !info.dli_fname)
                return;
        slash = strrchr(info.dli_fname, '/');
        if (!slash) {
                /* found through the library search path: dladdr gives the
                 * name only when the loader did; use the same search. */
                snprintf(core_path, sizeof core_path, "libvaultenv-core.so");
                return;
        }
        if ((size_t) (slash - info.dli_fname) >= sizeof dir)
                return;
        memcpy(dir, info.dli_fname, (size_t) (slash - info.dli_fname));
        dir[slash - info.dli_fname] = '\0';
        if (dir[0] != '/') {
                char abs[PATH_MAX];

                if (!realpath(dir[0] ? dir : "/", abs))
                        return;
                strcpy(dir, abs);
        }
        if (strlen(dir) + sizeof "/libvaultenv-core.so" > sizeof core_path)
                return;
        strcpy(core_path, dir);
        strcat(core_path, "/libvaultenv-core.so");
}

static void core_load(void) {
        ve_core_entry_fn entry;
        const struct ve_core_api *api;
        char *err = NULL;
        void *h;

        if (!core_path[0])
                remember_location();
        if (!core_path[0]) {
                ve_error("cannot locate libvaultenv-core.so beside libvaultenv.so");
                return;
        }
        h = dlopen(core_path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                ve_error("cannot load %s: %s", core_path, dlerror());
                return;
        }
        entry = (ve_core_entry_fn) dlsym(h, VE_CORE_ENTRY);
        api = entry ? entry() : NULL;
        if (!api || api->abi != VE_CORE_ABI) {
                ve_error("%s: not a matching vaultenv core", core_path);
                return;
        }
        if (api->open(settings, log_stderr, NULL, settings->log_level, &core_client, &err) < 0) {
                ve_error("Vault client: %s", err ? err : "cannot be created");
                free(err);
                return;
        }
        core = api;
}

/* Runs at exit() (never on the _exit() paths) when VAULTENV_REVOKE_ON_EXIT
 * is set: revokes the leases and the login token of this process. Under
 * the thread-local guard, so that getenv() calls made meanwhile (libcurl's
 * proxy variables) pass through. In a forked child that inherited the
 * registration, the core knows which leases and token are the child's own
 * (the parent's were forgotten at fork). */
static void revoke_at_exit(void) {
        bool was = in_shim;

        if (!core)
                return;
        in_shim = true;
        (void) core->at_exit(core_client);
        in_shim = was;
}

/* Registered after the first request, not before: atexit handlers run in
 * reverse order, so ours runs before the cleanup handlers that libcurl's
 * TLS library registered when the core was loaded. */
static void register_at_exit(void) {
        if (atexit(revoke_at_exit) != 0)
                ve_warn("cannot register the exit handler; VAULTENV_REVOKE_ON_EXIT will not revoke anything");
}

static pthread_once_t at_exit_once = PTHREAD_ONCE_INIT;

static int shim_vault_read(void *userdata, const struct ve_ref *ref,
                           struct ve_secret **ret_secret, char **ret_error) {
        int r;

        pthread_once(&core_once, core_load);
        if (!core) {
                *ret_error = strdup("the Vault client could not be loaded");
                return -ENOTCONN;
        }
        r = core->read(core_client, ref, ret_secret, ret_error);
        /* Whatever the result, a login may have happened. */
        if (settings->revoke_on_exit)
                pthread_once(&at_exit_once, register_at_exit);
        return r;
}

static int shim_vault_renew(void *userdata, const struct ve_ref *ref, const char *lease_id, uint64_t increment_s,
                            struct ve_lease *ret_lease, char **ret_error) {
        /* Only after a read, so the core is loaded. */
        if (!core) {
                *ret_error = strdup("the Vault client could not be loaded");
                return -ENOTCONN;
        }
        return core->renew(core_client, ref, lease_id, increment_s, ret_lease, ret_error);
}

static const struct ve_source shim_source = {
        .read = shim_vault_read,
        .renew = shim_vault_renew,
};

static void atfork_child(void) {
        ve_resolver_atfork_child(atomic_load(&resolver));
        if (core)
                core->atfork_child(core_client);
}

static void shim_init(void) {
        struct ve_resolver *r;
        struct ve_map *map;
        char *err = NULL;
        int k;

        /* Secure mode (setuid, file capabilities): pure pass-through. Do
         * not read a token or a mapping named by an untrusted environment. */
        if (getauxval(AT_SECURE))
                return;

        /* Bad values are reported while settings load: log to stderr at
         * the default level until VAULTENV_LOG is known. */
        ve_log_set(log_stderr, NULL, VE_LOG_ERROR);
        if (ve_settings_load(passthrough, &settings) < 0)
                return;
        ve_log_set(log_stderr, NULL, settings->log_level);

        k = ve_map_load(settings->map_path, &map, &err);
        if (k == -ENOENT && !settings->map_explicit) {
                /* No mapping anywhere: a no-op, silently. */
                free(err);
                return;
        }
        if (k < 0) {
                ve_error("%s; no variable is mapped", err ? err : "cannot load the mapping file");
                free(err);
                return;
        }
        if (ve_resolver_new(map, settings, &shim_source, passthrough, &r) < 0) {
                ve_error("out of memory; no variable is mapped");
                return;
        }
        ve_debug("%s: %zu variable(s) mapped", settings->map_path, ve_resolver_count(r));
        pthread_atfork(NULL, NULL, atfork_child);
        atomic_store_explicit(&resolver, r, memory_order_release);
}

static char *shim_getenv(const char *name) {
        struct ve_resolver *r;
        struct ve_entry *e;
        const char *value;
        char *reason = NULL;
        int k;

        if (in_shim)
                return (char *) passthrough(name);

        in_shim = true;
        pthread_once(&init_once, shim_init);
        r = atomic_load_explicit(&resolver, memory_order_acquire);
        e = r ? ve_resolver_find(r, name) : NULL;
        if (!e) {
                in_shim = false;
                return (char *) passthrough(name);
        }

        k = ve_resolve(r, e, &value, NULL, &reason);
        if (k == -ENOENT) {
                char msg[1100];

                snprintf(msg, sizeof msg, "%s: required variable is missing: %s", name,
                         reason ? reason : "no value");
                write_line("", msg);
                _exit(VE_EX_CONFIG);
        }
        free(reason);
        in_shim = false;
        return k < 0 ? NULL : (char *) value;
}

EXPORT char *getenv(const char *name) {
        return shim_getenv(name);
}

/* glibc: NULL in secure mode (AT_SECURE), else getenv(). */
EXPORT char *secure_getenv(const char *name) {
        if (getauxval(AT_SECURE))
                return NULL;
        return shim_getenv(name);
}
