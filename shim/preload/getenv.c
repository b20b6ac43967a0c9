/* SPDX-License-Identifier: MIT */
/* libvaultenv.so: interposes getenv() and secure_getenv().
 *
 * Thin by design: all logic is in lib/, which knows nothing about being
 * preloaded. Here: the pass-through (lib/base/envscan.c over environ: no
 * initialisation, no dlsym, no lock, no allocation; safe before
 * constructors and in signal handlers); the hot path for names cached for
 * good; the slow path, under the thread-local guard (shim.h), which
 * initialises once (init.c), resolves, and turns "required and missing"
 * into a message and exit status 78. The rest of the object: init.c,
 * loader.c (the core), learning.c, startup.c and place.c (eager mode before
 * main), exec.c and shell.c (exec hygiene), stderr.c. Exported: getenv,
 * secure_getenv, the exec family, posix_spawn, system and popen/pclose
 * (shim.sym). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/auxv.h>

#include "mapfile.h"
#include "names.h"
#include "reference.h"
#include "shim.h"

/* The hot path, published (once, by the slow path) when a resolver serves
 * lookups: never in learning or secure mode. A copy of the resolver's name
 * filter (lib/base/envscan.h), then the resolver itself (release). */
static struct ve_name_filter fast_filter;
static _Atomic(struct ve_resolver *) fast_resolver;
static pthread_once_t fast_once = PTHREAD_ONCE_INIT;

static void fast_publish(void) {
        struct ve_resolver *r = atomic_load_explicit(&shim_resolver, memory_order_acquire);

        if (shim_learning || !r)
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
        struct ve_resolver *r = atomic_load_explicit(&shim_resolver, memory_order_acquire);
        struct ve_cached c;

        if (!r || !(shim_settings->fallback_off & VE_FALLBACK_ENV))
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

        if (shim_guard && ve_name_key_log(name))
                return NULL;
        if (ve_name_allocator_config(name))
                return (char *) passthrough(name);
        if (shim_guard)
                return (char *) guarded(name);

        shim_guard = true;
        shim_init_once();
        pthread_once(&fast_once, fast_publish);
        if (shim_learning) {
                shim_learn_note(name);
                shim_guard = false;
                return (char *) passthrough(name);
        }
        r = atomic_load_explicit(&shim_resolver, memory_order_acquire);
        e = r ? ve_resolver_find(r, name) : NULL;
        if (!e) {
                const char *env = passthrough(name);

                /* A reference in the environment: what it resolves to, or
                 * NULL; never its text. */
                value = env;
                if (r && ve_value_is_reference(env) && ve_resolve_reference(r, name, env, &value, NULL) < 0)
                        value = NULL;
                shim_guard = false;
                return (char *) value;
        }

        k = ve_resolve(r, e, &value, NULL, &reason);
        if (k == -ENOENT)
                shim_required_missing(name, reason);
        free(reason);
        shim_guard = false;
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

        if (shim_guard)
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
