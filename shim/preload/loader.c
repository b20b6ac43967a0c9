/* SPDX-License-Identifier: MIT */
/* The loader of the core: libvaultenv-core.so, which carries libcurl, TLS
 * and cJSON, is dlopen()ed on the first read of a mapped name, never
 * before, so that a process which reads none pays nothing for it. The
 * resolver reads through shim_source; VAULTENV_REVOKE_ON_EXIT's handler is
 * registered after the first request. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "shim.h"
#include "util.h"

static pthread_once_t core_once = PTHREAD_ONCE_INIT;
static const struct ve_core_api *core;
static void *core_client;
static char core_path[PATH_MAX];

/* Where the core lives: beside this object. dladdr() is not cheap (a walk
 * of this object's symbol table), so this runs when the core is first
 * loaded; only when LD_PRELOAD lists an object by a relative path does the
 * constructor (startup.c) run it at load time, so that such a path
 * survives a later chdir(); only that case costs a system call (realpath).
 * (An object dlopen()ed by a relative path is located relative to the
 * working directory of the first mapped lookup.) */
static void locate_core(char *path, size_t size) {
        Dl_info info;
        const char *slash;
        char dir[PATH_MAX];

        if (!dladdr((void *) locate_core, &info) || !info.dli_fname)
                return;
        slash = strrchr(info.dli_fname, '/');
        if (!slash) {
                /* found through the library search path: dladdr gives the
                 * name only when the loader did; use the same search. */
                snprintf(path, size, "libvaultenv-core.so");
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
        if (strlen(dir) + sizeof "/libvaultenv-core.so" > size)
                return;
        strcpy(path, dir);
        strcat(path, "/libvaultenv-core.so");
}

void shim_locate_core_now(void) {
        locate_core(core_path, sizeof core_path);
}

/* The core is found, dlopen()ed and its entry point looked up by each
 * thread that needs it before the pthread_once() that opens the client,
 * never inside it: dlopen() and dlsym() take the dynamic loader's lock,
 * which a thread running a plugin's constructor (dlopen() of the plugin)
 * already holds; had that thread to wait in pthread_once() for one stuck
 * in dlopen(), both would wait for ever (rel-plugin.sh). Loading an object
 * already loaded only counts a reference. What the thread found, for
 * core_load() (which that thread runs, if any): */
/* initial-exec, as shim_guard: no __tls_get_addr (a preloaded object is
 * loaded at start-up, so its TLS is in the static block). */
static __thread const struct ve_core_api *found_api __attribute__((tls_model("initial-exec")));
static __thread char *found_error __attribute__((tls_model("initial-exec")));
static atomic_bool core_done;           /* core_load() ran: core is final */

static void core_find(void) {
        ve_core_entry_fn entry;
        char path[PATH_MAX] = "";
        void *h;

        found_api = NULL;
        found_error = NULL;
        if (core_path[0])
                strcpy(path, core_path);        /* set by the constructor */
        else
                locate_core(path, sizeof path);
        if (!path[0]) {
                found_error = strdup("cannot locate libvaultenv-core.so beside libvaultenv.so");
                return;
        }
        h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                found_error = ve_asprintf("cannot load %s: %s", path, dlerror());
                return;
        }
        entry = (ve_core_entry_fn) dlsym(h, VE_CORE_ENTRY);
        found_api = entry ? entry() : NULL;
        if (!found_api || found_api->abi != VE_CORE_ABI) {
                found_api = NULL;
                found_error = ve_asprintf("%s: not a matching vaultenv core", path);
        }
}

/* lib/'s process-wide state is this object's; the core uses it through
 * this table (core.h). */
static const struct ve_core_host core_host = {
        .logv = ve_logv,
        .log_get_level = ve_log_get_level,
        .secure_strdup = ve_secure_strdup,
        .secure_free = ve_secure_free,
        .secure_owns = ve_secure_owns,
};

static void core_load(void) {
        const struct ve_core_api *api = found_api;
        char *err = NULL;

        if (!api)
                ve_error("%s", found_error ? found_error : "cannot load libvaultenv-core.so");
        else if (api->open(shim_settings, &core_host, &core_client, &err) < 0) {
                ve_error("Vault client: %s", err ? err : "cannot be created");
                free(err);
        } else
                core = api;
        atomic_store_explicit(&core_done, true, memory_order_release);
}

/* Runs at exit() (never on the _exit() paths) when VAULTENV_REVOKE_ON_EXIT
 * is set: revokes the leases and the login token of this process. Under
 * the thread-local guard, so that getenv() calls made meanwhile (libcurl's
 * proxy variables) pass through. In a forked child that inherited the
 * registration, the core knows which leases and token are the child's own
 * (the parent's were forgotten at fork). */
static void revoke_at_exit(void) {
        bool was = shim_guard;

        if (!core)
                return;
        shim_guard = true;
        (void) core->at_exit(core_client);
        shim_guard = was;
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

        if (!atomic_load_explicit(&core_done, memory_order_acquire)) {
                core_find();
                pthread_once(&core_once, core_load);
                free(found_error);
                found_error = NULL;
        }
        if (!core) {
                *ret_error = strdup("the Vault client could not be loaded");
                return -ENOTCONN;
        }
        r = core->read(core_client, ref, ret_secret, ret_error);
        /* Whatever the result, a login may have happened. */
        if (shim_settings->revoke_on_exit)
                pthread_once(&at_exit_once, register_at_exit);
        return r;
}

/* As shim_vault_read(), for many paths at once (ve_resolver_prefetch()). */
static int shim_vault_read_many(void *userdata, struct ve_read_call *calls, size_t n) {
        int r;

        (void) userdata;
        if (!atomic_load_explicit(&core_done, memory_order_acquire)) {
                core_find();
                pthread_once(&core_once, core_load);
                free(found_error);
                found_error = NULL;
        }
        if (!core) {
                for (size_t i = 0; i < n; i++)
                        calls[i] = (struct ve_read_call) { .ref = calls[i].ref, .r = -ENOTCONN,
                                                           .error = strdup("the Vault client could not be loaded") };
                return 0;
        }
        r = core->read_many(core_client, calls, n);
        if (shim_settings->revoke_on_exit)
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

const struct ve_source shim_source = {
        .read = shim_vault_read,
        .read_many = shim_vault_read_many,
        .renew = shim_vault_renew,
};

/* The core's part of the fork handlers (init.c). The core the prepare
 * handler locked is remembered for the other two (it may appear
 * meanwhile): fork handlers run one fork at a time. */
static const struct ve_core_api *fork_core;
static void *fork_core_client;

void shim_core_atfork_prepare(void) {
        fork_core = atomic_load_explicit(&core_done, memory_order_acquire) ? core : NULL;
        fork_core_client = core_client;
        if (fork_core)
                fork_core->atfork_prepare(fork_core_client);
}

void shim_core_atfork_parent(void) {
        if (fork_core)
                fork_core->atfork_parent(fork_core_client);
}

void shim_core_atfork_child(void) {
        if (fork_core)
                fork_core->atfork_child(fork_core_client);
}
