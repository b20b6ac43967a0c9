/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

#include "eager.h"

/* Exec hygiene (exec.c): the exec family and posix_spawn hand children an
 * environment without the variables the shim placed in it (lib/resolve/eager.h). */

/* Records what the eager constructor placed in the environment, and looks
 * up the real exec functions now, so that an exec in a vfork() child need
 * not call into the loader. Call once, before main (no other thread
 * exists); the list is immutable afterwards and read without a lock. vars
 * is borrowed for the life of the process. */
void ve_exec_set_injected(const struct ve_eager_var *vars, size_t n_vars);

/* fork() handlers for the locks of system() and popen()/pclose(), the
 * first the shim's handlers take (neither is held while a shell runs, only
 * while one starts): prepare takes them, parent and child release them. */
void ve_exec_atfork_prepare(void);
void ve_exec_atfork_parent(void);
void ve_exec_atfork_child(void);
