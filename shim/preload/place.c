/* SPDX-License-Identifier: MIT */
/* Eager mode: before main, the eager names are resolved and placed in the
 * environment (setenv), for runtimes that copy environ at start-up; exec.c
 * and shell.c keep them out of children's environments, except the names
 * marked inherit. */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "eager.h"
#include "exec.h"
#include "mapfile.h"
#include "reference.h"
#include "shim.h"

/* What the eager constructor placed in the environment; written before
 * main, immutable afterwards (exec.c reads it without a lock). */
static struct ve_eager_var *eager_vars;
static size_t n_eager_vars;

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
                inherit = ve_eager_list_has(shim_settings->inherit, name);
                e = ve_resolver_find(r, name);
                if ((!shim_settings->eager && !inherit) ||
                    (e && ve_eager_entry_wanted(ve_entry_map(e), shim_settings->eager, shim_settings->inherit)) ||
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
        (void) ve_resolver_prefetch_eager(r, shim_settings->eager, shim_settings->inherit);

        for (size_t i = 0; i < n; i++) {
                struct ve_entry *e = ve_resolver_entry(r, i);
                const struct ve_map_entry *m = ve_entry_map(e);
                const char *value = NULL;
                char *reason = NULL;
                int k;

                if (!ve_eager_entry_wanted(m, shim_settings->eager, shim_settings->inherit))
                        continue;
                k = ve_resolve(r, e, &value, NULL, &reason);
                if (k == -ENOENT)
                        shim_required_missing(m->name, reason);
                free(reason);
                if (k < 0 || !value)
                        continue;
                (void) eager_put(vars, &placed, m->name, value, ve_eager_entry_inherits(m, shim_settings->inherit));
        }
        if (shim_settings->eager || shim_settings->inherit)
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
        const char *p = shim_settings->inherit;

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

/* Runs before main and before the program's own constructors (other
 * libraries' constructors may run before or after it). Before main no
 * other thread exists, so setenv() is safe here. Under the guard: getenv()
 * calls made by libcurl and OpenSSL while they load and work pass through.
 * Called by the constructor (startup.c), not in secure mode, and only
 * when eager_possible() says yes. */
void shim_eager_init(void) {
        struct ve_resolver *r;

        shim_guard = true;
        shim_init_once();
        r = atomic_load_explicit(&shim_resolver, memory_order_acquire);
        if (r) {
                eager_check_inherit_list(r);
                eager_place(r);
        }
        shim_guard = false;
}
