/* SPDX-License-Identifier: MIT */
/* The shim's one-time initialisation, on the first getenv() that needs it
 * (or before main in eager mode): the settings, the mapping, the resolver;
 * the fork handlers, registered once; the process hardening the settings
 * ask for. Secure mode (AT_SECURE) and learning mode stop early. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/prctl.h>

#include "exec.h"
#include "genpage.h"
#include "mapfile.h"
#include "shim.h"
#include "util.h"

__thread bool shim_guard __attribute__((tls_model("initial-exec")));
_Atomic(struct ve_resolver *) shim_resolver;
struct ve_settings *shim_settings;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* fork() safety: the handlers take every lock of the shim and the core in
 * one fixed order (shell.c's; the resolver's; the core's; the secure-memory
 * arena's, which any of them may take while holding theirs), so that no
 * other thread is inside a locked section at fork(); the parent releases
 * them, the child releases or re-creates them. None of these locks is held
 * across network I/O (a local file read at most: a NAME_FILE fallback, a
 * token file), so fork() waits for no request. The resolver the
 * prepare handler locked is remembered for the other two (it may appear
 * meanwhile): fork handlers run one fork at a time, serialised by the
 * first lock they take. */
static struct ve_resolver *fork_resolver;

static void atfork_prepare(void) {
        ve_shell_atfork_prepare();
        fork_resolver = atomic_load(&shim_resolver);
        ve_resolver_atfork_prepare(fork_resolver);
        shim_core_atfork_prepare();
        ve_secure_atfork_prepare();
}

static void atfork_parent(void) {
        ve_secure_atfork_parent();
        shim_core_atfork_parent();
        ve_resolver_atfork_parent(fork_resolver);
        ve_shell_atfork_parent();
}

static void atfork_child(void) {
        ve_secure_atfork_child();
        shim_core_atfork_child();
        ve_resolver_atfork_child(fork_resolver);
        ve_shell_atfork_child();
}

/* Registered once per process, by the first shim_init(): a child forked
 * while another thread ran shim_init() runs it again (pthread_once), and
 * inherits the registration. */
static void register_atfork(void) {
        static atomic_bool registered;

        if (!atomic_exchange(&registered, true) && pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0)
                shim_write_line("warning: ", "cannot register the fork handlers; a child forked while another thread "
                           "reads a secret may hang");
}

/* VAULTENV_NODUMP and VAULTENV_SCRUB, once the settings hold
 * their own copies of the credentials (in memory kept out of core dumps).
 * Scrubbing happens at the shim's first lookup (before main in eager mode):
 * from then on neither the environment, nor /proc/PID/environ, nor a child
 * shows VAULT_TOKEN / VAULT_SECRET_ID. */
static void harden_process(void) {
        static const char *const credentials[] = { "VAULT_TOKEN", "VAULT_SECRET_ID" };

        if (shim_settings->nodump && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                ve_warn("VAULTENV_NODUMP: cannot make the process non-dumpable: %m");
        if (!shim_settings->scrub)
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

        if (shim_learn_start())
                return;

        /* Before anything takes a lock (the settings take the arena's). */
        register_atfork();

        /* Bad values are reported while settings load: log to stderr at
         * the default level until VAULTENV_LOG is known. */
        ve_log_set(shim_log_stderr, NULL, VE_LOG_ERROR);
        if (ve_settings_load(passthrough, &shim_settings) < 0)
                return;
        ve_log_set(shim_log_stderr, NULL, shim_settings->log_level);
        harden_process();

        k = ve_map_load(shim_settings->map_path, &map, &err);
        if (k < 0) {
                /* No mapping anywhere: silently, nothing is mapped. A bad
                 * one: said once. Either way references in the environment
                 * ("vault:...", lib/config/reference.h) are still served, by a
                 * resolver with an empty map, so that their text is never
                 * handed out as a value. */
                if (k != -ENOENT || shim_settings->map_explicit)
                        ve_error("%s; no variable is mapped", err ? err : "cannot load the mapping file");
                free(err);
                err = NULL;
                if (ve_map_parse(shim_settings->map_path, "", 0, &map, NULL) < 0) {
                        ve_error("out of memory; nothing is resolved");
                        return;
                }
        }
        if (ve_resolver_new(map, shim_settings, &shim_source, passthrough, &r) < 0) {
                ve_error("out of memory; no variable is mapped");
                return;
        }
        if (k >= 0)
                ve_debug("%s: %zu variable(s) mapped", shim_settings->map_path, ve_resolver_count(r));
        if (shim_genpage)
                ve_resolver_follow_generation(r, &shim_genpage->generation);
        atomic_store_explicit(&shim_resolver, r, memory_order_release);
}

void shim_init_once(void) {
        pthread_once(&init_once, shim_init);
}
