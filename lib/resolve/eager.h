/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "mapfile.h"

/* Eager mode and exec hygiene, the pure half.
 *
 * In eager mode the shim resolves names before main and places them in the
 * process's environment (setenv) for runtimes that copy environ at start-up.
 * Those values must not reach exec'ed children through their environment
 * block (it would show in the child's /proc/PID/environ): every exec wrapper
 * hands the kernel an environment from which the injected entries were
 * stripped. The child still has LD_PRELOAD and the mapping and resolves for
 * itself. Names marked inherit (the option, or VAULTENV_INHERIT) are passed
 * on, for children that cannot resolve (Go, static binaries).
 *
 * Everything here is pure: no allocation, no lock, no system call, no
 * libc string function, so the strip is safe in a vfork() child and from a
 * signal handler. */

/* One variable the shim placed in the environment. All strings are borrowed
 * and must stay valid for the life of the process (the shim's resolver keeps
 * its values and its mapping for that long). */
struct ve_eager_var {
        const char *name;       /* the mapped name */
        const char *value;      /* the value placed */
        const char *original;   /* the entry "NAME=..." the environment held before, or NULL */
        bool inherit;           /* passed on to exec'ed children as is */
};

/* Whether name is one of list, a comma-separated list of names
 * ("A,B, C"): blanks around a name are ignored, empty items skipped. A NULL
 * list or name holds nothing. */
bool ve_eager_list_has(const char *list, const char *name);

/* Whether the entry is passed on to children: its inherit option, or its
 * name in inherit_list (VAULTENV_INHERIT). */
bool ve_eager_entry_inherits(const struct ve_map_entry *e, const char *inherit_list);

/* Whether the entry is resolved before main: VAULTENV_EAGER (all), its
 * eager option, or inheriting (a value can only be passed on through the
 * environment once it was placed there). */
bool ve_eager_entry_wanted(const struct ve_map_entry *e, bool all_eager, const char *inherit_list);

/* The number of entries of a NULL-terminated environment (0 for NULL). */
size_t ve_eager_env_count(char *const *envp);

/* Writes to out (room for ve_eager_env_count(envp) + 1 pointers) envp's
 * entries in order, NULL-terminated, except that an entry NAME=VALUE of an
 * injected, not inherited variable whose VALUE is still the injected value is
 * left out, or replaced by the variable's original entry when it had one. An
 * entry whose value differs (the program set it itself) stays as it is.
 * Returns true when out differs from envp, false when nothing was stripped
 * (then the caller may pass envp on unchanged). envp NULL: out gets an
 * empty environment, false returned. */
bool ve_eager_strip(char *const *envp, const struct ve_eager_var *vars, size_t n_vars, char **out);

/* ---- the shim's start-up check ----
 * The shim's constructor runs in every process, most of which have no eager
 * name; these two decide cheaply whether it has more to do. Pure as well:
 * they call nothing in libc (each first call of a libc function from the
 * shim costs a symbol lookup by the dynamic loader). */

/* What the constructor needs from the environment, found in one pass. */
struct ve_eager_env {
        const char *eager;      /* value of the first VAULTENV_EAGER entry, or NULL */
        const char *inherit;    /* of the first VAULTENV_INHERIT entry, or NULL */
        const char *map;        /* of the first VAULTENV_MAP entry, or NULL */
        bool learning;          /* some VAULTENV_LEARN entry has a value */
        bool relative_preload;  /* some LD_PRELOAD entry lists an object by a
                                 * relative path with a slash ("lib/x.so") */
};

/* Fills out from envp (NULL: nothing found). The first entry of a name
 * wins, as in getenv(); LD_PRELOAD items are separated by blanks or colons,
 * as the dynamic loader splits them, and every LD_PRELOAD entry counts. */
void ve_eager_env_scan(char *const *envp, struct ve_eager_env *out);

/* Whether buf[0..len) contains "eager" or "inherit" (the mapping options
 * that make a name eager): a pre-filter, exact as two memmem() calls would
 * be. NUL bytes are ordinary bytes. */
bool ve_eager_mentioned(const char *buf, size_t len);
