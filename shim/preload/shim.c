/* SPDX-License-Identifier: MIT */
/* libvaultenv.so: interposes getenv() and secure_getenv().
 *
 * Thin by design: all logic is in lib/ (resolve.c, mapfile.c, settings.c),
 * which knows nothing about being preloaded. What lives here is what only
 * makes sense inside a host process:
 *   - the pass-through (lib/base/envscan.c over environ): no initialisation, no
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
 *     first Vault request went out (a login or a lease may then exist);
 *   - eager mode: a constructor that resolves the eager names before main
 *     and places them in the environment (setenv), for runtimes that copy
 *     environ at start-up; exec.c keeps them out of children;
 *   - learning mode (VAULTENV_LEARN, set by `vaultenv learn`): nothing is
 *     resolved, no mapping is read, Vault is never contacted; each distinct
 *     name asked for is appended to the learn file (lib/tools/learn.h). Children
 *     inherit the mode through LD_PRELOAD and VAULTENV_LEARN.
 * Exported: getenv, secure_getenv, and the exec family, posix_spawn,
 * system and popen/pclose (exec.c; shim.sym). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"
#include "eager.h"
#include "envscan.h"
#include "exec.h"
#include "learn.h"
#include "log.h"
#include "mapfile.h"
#include "reference.h"
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

/* Learning mode: decided once in shim_init(), read-only afterwards. The
 * path is copied: the program may change its environment. */
static bool learning;
static char learn_file[PATH_MAX];
static struct ve_learn_seen learn_seen;
static atomic_bool learn_failed;

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

/* Where the core lives: beside this object. dladdr() is not cheap (a walk
 * of this object's symbol table), so this runs when the core is first
 * loaded; only when LD_PRELOAD lists an object by a relative path does the
 * constructor (shim_start()) run it at load time, so that such a path
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

static void remember_location(void) {
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
/* initial-exec, as in_shim: no __tls_get_addr (a preloaded object is
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
        else if (api->open(settings, &core_host, &core_client, &err) < 0) {
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
        if (settings->revoke_on_exit)
                pthread_once(&at_exit_once, register_at_exit);
        return r;
}

/* As shim_vault_read(), for many paths at once (ve_resolver_prefetch()). */
static int shim_vault_read_many(void *userdata, struct ve_read_call *calls, size_t n) {
        int r;

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
        .read_many = shim_vault_read_many,
        .renew = shim_vault_renew,
};

/* fork() safety: the handlers take every lock of the shim and the core in
 * one fixed order (exec.c's; the resolver's; the core's; the secure-memory
 * arena's, which any of them may take while holding theirs), so that no
 * other thread is inside a locked section at fork(); the parent releases
 * them, the child releases or re-creates them. None of these locks is held
 * across network I/O (a local file read at most: a NAME_FILE fallback, a
 * token file), so fork() waits for no request. The resolver and the
 * core the prepare handler locked are remembered for the other two (either
 * may appear meanwhile): fork handlers run one fork at a time, serialised
 * by the first lock they take. */
static struct ve_resolver *fork_resolver;
static const struct ve_core_api *fork_core;
static void *fork_core_client;

static void atfork_prepare(void) {
        ve_exec_atfork_prepare();
        fork_resolver = atomic_load(&resolver);
        ve_resolver_atfork_prepare(fork_resolver);
        fork_core = atomic_load_explicit(&core_done, memory_order_acquire) ? core : NULL;
        fork_core_client = core_client;
        if (fork_core)
                fork_core->atfork_prepare(fork_core_client);
        ve_secure_atfork_prepare();
}

static void atfork_parent(void) {
        ve_secure_atfork_parent();
        if (fork_core)
                fork_core->atfork_parent(fork_core_client);
        ve_resolver_atfork_parent(fork_resolver);
        ve_exec_atfork_parent();
}

static void atfork_child(void) {
        ve_secure_atfork_child();
        if (fork_core)
                fork_core->atfork_child(fork_core_client);
        ve_resolver_atfork_child(fork_resolver);
        ve_exec_atfork_child();
}

/* Registered once per process, by the first shim_init(): a child forked
 * while another thread ran shim_init() runs it again (pthread_once), and
 * inherits the registration. */
static void register_atfork(void) {
        static atomic_bool registered;

        if (!atomic_exchange(&registered, true) && pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0)
                write_line("warning: ", "cannot register the fork handlers; a child forked while another thread "
                           "reads a secret may hang");
}

/* Learning mode, when VAULTENV_LEARN names a file: then the shim only
 * records names (learn_note()) and never loads settings or a mapping. */
static bool learn_start(void) {
        const char *f = passthrough("VAULTENV_LEARN");

        if (!f || !*f)
                return false;
        if (strlen(f) >= sizeof learn_file) {
                write_line("error: ", "VAULTENV_LEARN: path too long; recording nothing");
                atomic_store(&learn_failed, true);
        } else
                strcpy(learn_file, f);
        learning = true;
        return true;
}

/* Appends "NAME\tPROGRAM\n" for a name this process did not ask for yet:
 * no lock, no allocation, one write(2) on a descriptor opened for it (a
 * descriptor kept open could be closed or reused by the program). A
 * failure is said once; recording then stops for this process. */
static void learn_note(const char *name) {
        char line[VE_LEARN_NAME_MAX + VE_LEARN_PROGRAM_MAX + 4];
        int fd, n, saved_errno = errno;     /* getenv() leaves errno alone */
        ssize_t w;

        if (atomic_load_explicit(&learn_failed, memory_order_relaxed) || !name)
                return;
        n = ve_learn_format(name, program_invocation_short_name, line, sizeof line);
        if (n < 0 || !ve_learn_seen_add(&learn_seen, name))
                return;
        fd = open(learn_file, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                char msg[PATH_MAX + 128];

                if (!atomic_exchange(&learn_failed, true)) {
                        snprintf(msg, sizeof msg, "VAULTENV_LEARN: cannot open %s: %s; recording nothing more",
                                 learn_file, strerror(errno));
                        write_line("error: ", msg);
                }
        } else {
                do
                        w = write(fd, line, (size_t) n);
                while (w < 0 && errno == EINTR);
                (void) close(fd);
        }
        errno = saved_errno;
}

/* VAULTENV_NODUMP and VAULTENV_SCRUB, once the settings hold
 * their own copies of the credentials (in memory kept out of core dumps).
 * Scrubbing happens at the shim's first lookup (before main in eager mode):
 * from then on neither the environment, nor /proc/PID/environ, nor a child
 * shows VAULT_TOKEN / VAULT_SECRET_ID. */
static void harden_process(void) {
        static const char *const credentials[] = { "VAULT_TOKEN", "VAULT_SECRET_ID" };

        if (settings->nodump && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                ve_warn("VAULTENV_NODUMP: cannot make the process non-dumpable: %m");
        if (!settings->scrub)
                return;
        for (size_t i = 0; i < sizeof credentials / sizeof credentials[0]; i++) {
                int k = ve_env_scrub(credentials[i]);

                if (k < 0) {
                        errno = -k;
                        ve_warn("VAULTENV_SCRUB: %s is out of the environment, but its original bytes could not "
                                "be overwritten (/proc/self/stat: %m)", credentials[i]);
                }
        }
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

        if (learn_start())
                return;

        /* Before anything takes a lock (the settings take the arena's). */
        register_atfork();

        /* Bad values are reported while settings load: log to stderr at
         * the default level until VAULTENV_LOG is known. */
        ve_log_set(log_stderr, NULL, VE_LOG_ERROR);
        if (ve_settings_load(passthrough, &settings) < 0)
                return;
        ve_log_set(log_stderr, NULL, settings->log_level);
        harden_process();

        k = ve_map_load(settings->map_path, &map, &err);
        if (k < 0) {
                /* No mapping anywhere: silently, nothing is mapped. A bad
                 * one: said once. Either way references in the environment
                 * ("vault:...", lib/config/reference.h) are still served, by a
                 * resolver with an empty map, so that their text is never
                 * handed out as a value. */
                if (k != -ENOENT || settings->map_explicit)
                        ve_error("%s; no variable is mapped", err ? err : "cannot load the mapping file");
                free(err);
                err = NULL;
                if (ve_map_parse(settings->map_path, "", 0, &map, NULL) < 0) {
                        ve_error("out of memory; nothing is resolved");
                        return;
                }
        }
        if (ve_resolver_new(map, settings, &shim_source, passthrough, &r) < 0) {
                ve_error("out of memory; no variable is mapped");
                return;
        }
        if (k >= 0)
                ve_debug("%s: %zu variable(s) mapped", settings->map_path, ve_resolver_count(r));
        atomic_store_explicit(&resolver, r, memory_order_release);
}

/* A required name that nothing resolved: the foundation's message, and the
 * process ends with status 78 through _exit(): atexit handlers might ask
 * for the same name again. */
_Noreturn static void required_missing(const char *name, const char *reason) {
        char msg[1100];

        snprintf(msg, sizeof msg, "%s: required variable is missing: %s", name,
                 reason ? reason : "no value");
        write_line("", msg);
        _exit(VE_EX_CONFIG);
}

/* The hot path, published (once, by the slow path) when a resolver serves
 * lookups: never in learning or secure mode. A copy of the resolver's name
 * filter (lib/base/envscan.h), then the resolver itself (release). */
static struct ve_name_filter fast_filter;
static _Atomic(struct ve_resolver *) fast_resolver;
static pthread_once_t fast_once = PTHREAD_ONCE_INIT;

static void fast_publish(void) {
        struct ve_resolver *r = atomic_load_explicit(&resolver, memory_order_acquire);

        if (learning || !r)
                return;
        fast_filter = *ve_resolver_filter(r);
        /* So that the guard sees it (ve_name_key_log()). */
        ve_name_filter_add_name(&fast_filter, VE_KEY_LOG_NAME);
        atomic_store_explicit(&fast_resolver, r, memory_order_release);
}

/* A lookup under the guard (the shim's own work on this thread, or a signal
 * handler that interrupted it): unmapped names (libcurl's, OpenSSL's) pass
 * through; a mapped name still obeys VAULTENV_FALLBACK: without the env
 * step it gets its value cached for good, else NULL, never its environment
 * value. Async-signal-safe: atomic loads and ve_resolver_cached() only. */
static const char *guarded(const char *name) {
        struct ve_resolver *r = atomic_load_explicit(&resolver, memory_order_acquire);
        struct ve_cached c;

        if (!r || !(settings->fallback_off & VE_FALLBACK_ENV))
                return passthrough(name);
        c = ve_resolver_cached(r, name);
        if (c.k == 0)
                return passthrough(name);
        return c.k > 0 ? c.value : NULL;
}

/* Two kinds of names pass through (lib/config/mapfile.h, which also keeps them
 * out of mappings). An allocator's own configuration
 * (ve_name_allocator_config()): jemalloc reads MALLOC_CONF (or, built with
 * a prefix, e.g. _RJEM_MALLOC_CONF) through secure_getenv() while it holds
 * its non-recursive init lock, often in a constructor that runs before the
 * shim's. Initialising the shim there would allocate, re-enter the
 * allocator and hang the process (rel-malloc.sh): such a name passes
 * through without initialising the shim. And under the guard, SSLKEYLOGFILE
 * (ve_name_key_log()) reads as unset: libcurl (at curl_global_init()) and
 * newer OpenSSL would write the TLS keys of the shim's own connections to
 * that file (rel-transport.sh). The hot path sends the name here (it is in
 * fast_filter); the program itself, outside the guard, still gets its
 * value.
 *
 * shim_getenv_slow() answers everything the hot path does not: before and
 * during initialisation, under the guard, learning mode, secure mode,
 * references, and mapped names whose value is not cached for good. */
static char *shim_getenv_slow(const char *name) {
        struct ve_resolver *r;
        struct ve_entry *e;
        const char *value;
        char *reason = NULL;
        int k;

        if (in_shim && ve_name_key_log(name))
                return NULL;
        if (ve_name_allocator_config(name))
                return (char *) passthrough(name);
        if (in_shim)
                return (char *) guarded(name);

        in_shim = true;
        pthread_once(&init_once, shim_init);
        pthread_once(&fast_once, fast_publish);
        if (learning) {
                learn_note(name);
                in_shim = false;
                return (char *) passthrough(name);
        }
        r = atomic_load_explicit(&resolver, memory_order_acquire);
        e = r ? ve_resolver_find(r, name) : NULL;
        if (!e) {
                const char *env = passthrough(name);

                /* A reference in the environment: what it resolves to, or
                 * NULL; never its text. */
                value = env;
                if (r && ve_value_is_reference(env) && ve_resolve_reference(r, name, env, &value, NULL) < 0)
                        value = NULL;
                in_shim = false;
                return (char *) value;
        }

        k = ve_resolve(r, e, &value, NULL, &reason);
        if (k == -ENOENT)
                required_missing(name, reason);
        free(reason);
        in_shim = false;
        return k < 0 ? NULL : (char *) value;
}

/* The environment value of an unmapped name: served unless it is a
 * reference ("vault:..."), which the slow path resolves. */
__attribute__((noinline))
static char *unmapped_value(const char *name, char *env) {
        return ve_value_is_reference(env) ? shim_getenv_slow(name) : env;
}

/* A name the filter passed: from the cache, or not mapped after all. */
__attribute__((noinline))
static char *maybe_mapped(struct ve_resolver *r, const char *name) {
        struct ve_cached c;
        char *env;

        if (in_shim)
                return shim_getenv_slow(name);
        c = ve_resolver_cached(r, name);
        if (c.k > 0)
                return (char *) c.value;
        if (c.k < 0)
                return shim_getenv_slow(name);
        env = ve_envscan(environ, name);
        return env && env[0] == 'v' ? unmapped_value(name, env) : env;
}

/* Once initialised: a name that the filter rejects, or that the name table
 * does not hold, is not mapped, and its environment value is the answer
 * unless it is a reference; a mapped name whose value is cached for good
 * is answered from the cache. No lock, no allocation, no system call, no
 * clock; the guard is read only for a name the filter passes (the slow
 * path reads it for a reference). Only tail calls here: no stack frame on
 * the way of an unmapped name. */
static char *shim_getenv(const char *name) {
        struct ve_resolver *r = atomic_load_explicit(&fast_resolver, memory_order_acquire);
        char *env;

        if (!r || !name)
                return shim_getenv_slow(name);
        if (ve_name_filter_may_match(&fast_filter, name))
                return maybe_mapped(r, name);
        env = ve_envscan_inline(environ, name);
        return env && env[0] == 'v' ? unmapped_value(name, env) : env;
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

/* ---- eager mode ---- */

/* What the eager constructor placed in the environment; written before
 * main, immutable afterwards (exec.c reads it without a lock). */
static struct ve_eager_var *eager_vars;
static size_t n_eager_vars;

/* A system call of up to three arguments: the result, or -errno (errno is
 * left alone). Inline where the calling convention is known: the first call
 * of a libc function from the shim costs a symbol lookup by the dynamic
 * loader (some 700 instructions), and the constructor runs in every
 * process. Elsewhere through libc's syscall(). */
static long raw_syscall3(long n, long a, long b, long c) {
#if defined(__x86_64__)
        long r;

        __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
        return r;
#elif defined(__aarch64__)
        register long x8 __asm__("x8") = n;
        register long x0 __asm__("x0") = a;
        register long x1 __asm__("x1") = b;
        register long x2 __asm__("x2") = c;

        __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory", "cc");
        return x0;
#else
        int saved_errno = errno;
        long r = syscall(n, a, b, c);

        if (r < 0)
                r = -errno;
        errno = saved_errno;
        return r;
#endif
}

/* Whether the file at path contains "eager" or "inherit". Reads it in
 * chunks into a stack buffer: no malloc (a process that never allocated
 * would pay for malloc's set-up), no stdio, no libc function at all (see
 * raw_syscall3(); the scan is ve_eager_mentioned(), the wipe is inline).
 * Unreadable: false (the lazy path reports it on the first lookup, as
 * without eager mode). At most VE_MAP_MAX_SIZE bytes, as the parser takes. */
static bool file_mentions_eager(const char *path) {
        typedef unsigned char chunk __attribute__((vector_size(16)));
        _Alignas(16) char buf[4096 + 16];
        size_t keep = 0, total = 0, used = 0;
        bool found = false;
        int fd;

        /* no mode: without O_CREAT the kernel does not read it */
        fd = (int) raw_syscall3(SYS_openat, AT_FDCWD, (long) path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return false;
        while (!found && total <= VE_MAP_MAX_SIZE) {
                ssize_t n = (ssize_t) raw_syscall3(SYS_read, fd, (long) (buf + keep), (long) (sizeof buf - keep));
                size_t len;

                if (n == -EINTR)
                        continue;
                if (n <= 0)
                        break;
                total += (size_t) n;
                len = keep + (size_t) n;
                if (len > used)
                        used = len;
                found = ve_eager_mentioned(buf, len);
                /* a word may straddle two reads: carry the last 6 bytes */
                keep = len < 6 ? len : 6;
                for (size_t i = 0; i < keep; i++)
                        buf[i] = buf[len - keep + i];
        }
        (void) raw_syscall3(SYS_close, fd, 0, 0);
        /* A default= in it may be a credential: wipe what was used, 16
         * bytes a store; volatile, so that the stores are neither dropped
         * nor turned into a memset() call. */
        for (size_t i = 0; i < used; i += sizeof(chunk))
                *(volatile chunk *) (void *) (buf + i) = (chunk) { 0 };
        return found;
}

/* Whether this process may have eager names, decided without loading the
 * settings or parsing the mapping, so that a process without eager names
 * pays (almost) nothing before main: VAULTENV_EAGER or VAULTENV_INHERIT set
 * (inherit implies eager), or the mapping file (VAULTENV_MAP, else the
 * default path) mentions "eager" or "inherit" somewhere. The latter is a
 * pre-filter only (it may be a comment): the parsed mapping decides. Without
 * a mapping file this costs one failing open(). Learning mode: no. */
static bool eager_possible(const struct ve_eager_env *env) {
        bool b = false;

        if (env->learning)
                return false;   /* nothing is resolved */
        if (env->eager && env->eager[0] && (ve_bool_parse(env->eager, &b) < 0 || b))
                return true;    /* a bad value is reported when the settings load */
        if (env->inherit && env->inherit[0])
                return true;
        return file_mentions_eager(env->map && env->map[0] ? env->map : VE_DEFAULT_MAP_PATH);
}

/* The entry "NAME=..." of the environment, or NULL. */
static const char *env_entry(const char *name) {
        size_t n = strlen(name);

        for (char **e = environ; e && *e; e++)
                if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
                        return *e;
        return NULL;
}

typedef int (*setenv_fn)(const char *, const char *, int);

/* libc's setenv(), which edits environ. Not a plain setenv() call: that
 * binds to the first definition in the global scope, the executable's if
 * it has one, and bash exports its own setenv() (and unsetenv, putenv,
 * getenv): it binds a shell variable, which before main the shell's
 * start-up then overwrites from environ, so a name already in the
 * environment kept its old text in $NAME. RTLD_NEXT searches only the
 * objects loaded after this one; the executable comes before every
 * preloaded object, so it is skipped. Looked up by eager_place() only: no
 * cost for a process without eager names. */
static setenv_fn real_setenv;

/* Places name=value in the environment and records it in vars[*placed],
 * unless the environment already holds exactly that value (then it is the
 * process's own, not injected). Whether it was placed. name must then live
 * for the whole process. */
static bool eager_put(struct ve_eager_var *vars, size_t *placed, const char *name, const char *value,
                      bool inherit) {
        const char *original = env_entry(name);

        if (original && strcmp(original + strlen(name) + 1, value) == 0)
                return false;
        if (!real_setenv) {
                ve_error("%s: cannot place it in the environment: no setenv() after libvaultenv.so", name);
                return false;
        }
        if (real_setenv(name, value, 1) < 0) {
                ve_error("%s: cannot place it in the environment: %s", name, strerror(errno));
                return false;
        }
        vars[(*placed)++] = (struct ve_eager_var) {
                .name = name,
                .value = value,
                .original = original,
                .inherit = inherit,
        };
        return true;
}

/* References in the environment (NAME=vault:..., lib/config/reference.h) of names
 * that no map entry made eager: with VAULTENV_EAGER (or the name in
 * VAULTENV_INHERIT) they are resolved and replaced too; a child gets the
 * reference text back (the original entry) and resolves it itself. A
 * reference nothing resolves keeps its text in the environment (getenv()
 * still gives NULL for it). */
static void eager_place_references(struct ve_resolver *r, char **snapshot, struct ve_eager_var *vars,
                                   size_t *placed) {
        for (char **p = snapshot; *p; p++) {
                const char *eq = strchr(*p, '='), *value = NULL;
                struct ve_entry *e;
                bool inherit;
                char *name;

                if (!eq || eq == *p || !ve_value_is_reference(eq + 1))
                        continue;
                name = strndup(*p, (size_t) (eq - *p));
                if (!name)
                        return;
                inherit = ve_eager_list_has(settings->inherit, name);
                e = ve_resolver_find(r, name);
                if ((!settings->eager && !inherit) ||
                    (e && ve_eager_entry_wanted(ve_entry_map(e), settings->eager, settings->inherit)) ||
                    env_entry(name) != *p) {
                        /* not eager; or done with the mapped names; or not
                         * the entry getenv() sees */
                        free(name);
                        continue;
                }
                if (e) {
                        /* a bulk name: its own chain, whose step 2 resolves the reference */
                        char *reason = NULL;

                        if (ve_resolve(r, e, &value, NULL, &reason) < 0)
                                value = NULL;
                        free(reason);
                } else if (ve_resolve_reference(r, name, eq + 1, &value, NULL) < 0)
                        value = NULL;
                if (!value) {
                        free(name);
                        continue;
                }
                if (!eager_put(vars, placed, name, value, inherit))
                        free(name);
        }
}

/* Resolves every eager name and places it in the environment. A required
 * one that nothing resolves ends the process as getenv() would. */
static void eager_place(struct ve_resolver *r) {
        size_t n = ve_resolver_count(r), n_env = ve_eager_env_count(environ), placed = 0;
        struct ve_eager_var *vars;
        char **snapshot;

        vars = calloc(n + n_env + 1, sizeof *vars);
        /* setenv() may move environ: walk a copy of its entries */
        snapshot = calloc(n_env + 1, sizeof *snapshot);
        if (!vars || !snapshot) {
                ve_error("out of memory; eager names are not placed in the environment");
                free(vars);
                free(snapshot);
                return;
        }
        for (size_t i = 0; i < n_env; i++)
                snapshot[i] = environ[i];
        real_setenv = (setenv_fn) dlsym(RTLD_NEXT, "setenv");
        /* The eager names' paths at once; the loop finds them cached. */
        (void) ve_resolver_prefetch_eager(r, settings->eager, settings->inherit);

        for (size_t i = 0; i < n; i++) {
                struct ve_entry *e = ve_resolver_entry(r, i);
                const struct ve_map_entry *m = ve_entry_map(e);
                const char *value = NULL;
                char *reason = NULL;
                int k;

                if (!ve_eager_entry_wanted(m, settings->eager, settings->inherit))
                        continue;
                k = ve_resolve(r, e, &value, NULL, &reason);
                if (k == -ENOENT)
                        required_missing(m->name, reason);
                free(reason);
                if (k < 0 || !value)
                        continue;
                (void) eager_put(vars, &placed, m->name, value, ve_eager_entry_inherits(m, settings->inherit));
        }
        if (settings->eager || settings->inherit)
                eager_place_references(r, snapshot, vars, &placed);
        free(snapshot);

        ve_debug("eager: %zu variable(s) placed in the environment", placed);
        if (placed == 0) {
                free(vars);
                return;
        }
        eager_vars = vars;
        n_eager_vars = placed;
        ve_exec_set_injected(eager_vars, n_eager_vars);
}

/* Names in VAULTENV_INHERIT that are neither mapped nor references: a typo
 * would silently pass nothing on. */
static void eager_check_inherit_list(struct ve_resolver *r) {
        const char *p = settings->inherit;

        while (p && *p) {
                size_t len = strcspn(p, ",");
                char name[256];
                size_t a = 0, b = len;

                while (a < b && (p[a] == ' ' || p[a] == '\t'))
                        a++;
                while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'))
                        b--;
                if (b > a && b - a < sizeof name) {
                        memcpy(name, p + a, b - a);
                        name[b - a] = '\0';
                        if (!ve_resolver_find(r, name) && !ve_value_is_reference(passthrough(name)))
                                ve_error("VAULTENV_INHERIT: %s is not mapped; nothing to pass on", name);
                }
                p += len;
                if (*p == ',')
                        p++;
        }
}

/* The shim's one constructor. It runs in every process, so its common
 * path is one pass over environ (ve_eager_env_scan(): no libc call), one
 * getauxval() and the mapping file's pre-filter (file_mentions_eager()).
 * Learning mode: nothing (no name is resolved, the core is never loaded).
 * Secure mode: nothing (the file is named by an untrusted environment; the
 * shim only passes through). A relative LD_PRELOAD: the core's location,
 * now (remember_location()). Then eager mode (eager_init()). */
static void eager_init(void);

__attribute__((constructor))
static void shim_start(void) {
        struct ve_eager_env env;

        ve_eager_env_scan(environ, &env);
        if (env.learning || getauxval(AT_SECURE))
                return;
        if (env.relative_preload)
                remember_location();
        if (eager_possible(&env))
                eager_init();
}

/* Runs before main and before the program's own constructors (other
 * libraries' constructors may run before or after it). Before main no
 * other thread exists, so setenv() is safe here. Under the guard: getenv()
 * calls made by libcurl and OpenSSL while they load and work pass through.
 * Called by shim_start(), not in secure mode, and only when
 * eager_possible() says yes. */
static void eager_init(void) {
        struct ve_resolver *r;

        in_shim = true;
        pthread_once(&init_once, shim_init);
        r = atomic_load_explicit(&resolver, memory_order_acquire);
        if (r) {
                eager_check_inherit_list(r);
                eager_place(r);
        }
        in_shim = false;
}
