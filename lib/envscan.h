/* SPDX-License-Identifier: MIT */
#pragma once

/* The pass-through: musl's getenv, over an explicit environment block.
 * An empty name or a name containing '=' gives NULL (as musl; glibc would
 * match "A=B" against "A=B=C"), and so does a NULL name (glibc crashes).
 * No allocation, no lock, no system call, no initialisation: safe from a
 * signal handler, before any constructor, and inside the shim's own work. */
char *ve_envscan(char **envp, const char *name);

/* How lib/ reads the environment: the shim passes its pass-through, the CLI
 * uses libc's getenv, unit tests pass a fake. */
typedef const char *(*ve_getenv_fn)(const char *name);
