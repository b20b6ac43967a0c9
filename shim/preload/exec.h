/* SPDX-License-Identifier: MIT */
#pragma once

#include <spawn.h>
#include <stddef.h>

#include "eager.h"

/* Exec hygiene (exec.c, shell.c): the exec family, posix_spawn, system and
 * popen hand children an environment without the variables the shim placed
 * in it (lib/resolve/eager.h). */

/* Records what the eager constructor placed in the environment, and looks
 * up the real exec functions now, so that an exec in a vfork() child need
 * not call into the loader. Call once, before main (no other thread
 * exists); the list is immutable afterwards and read without a lock. vars
 * is borrowed for the life of the process. */
void ve_exec_set_injected(const struct ve_eager_var *vars, size_t n_vars);

/* How many values were injected: 0 until ve_exec_set_injected(), constant
 * afterwards. */
extern size_t ve_exec_n_injected;

/* The libc functions the wrappers stand in front of. */
enum real_fn {
        REAL_EXECVE,
        REAL_EXECVPE,
        REAL_FEXECVE,
        REAL_EXECVEAT,
        REAL_POSIX_SPAWN,
        REAL_POSIX_SPAWNP,
        REAL_SYSTEM,
        REAL_POPEN,
        REAL_PCLOSE,
        _REAL_MAX,
};

/* The next definition after this object's (libc's), never this object's
 * own; NULL when there is none (the caller then fails with ENOSYS). */
void *ve_exec_real(enum real_fn f);

/* posix_spawn(p) (f) with envp stripped of the injected values: 0 or an
 * error number, as posix_spawn() returns. */
int ve_exec_spawn(enum real_fn f, pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                  const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);

/* fork() handlers for the locks of system() and popen()/pclose() (shell.c),
 * the first the shim's handlers take (neither is held while a shell runs,
 * only while one starts): prepare takes them, parent and child release
 * them. */
void ve_shell_atfork_prepare(void);
void ve_shell_atfork_parent(void);
void ve_shell_atfork_child(void);
